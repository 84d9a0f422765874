package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/epiledger/epiledger/internal/ndjson"
)

// Config describes a synthetic city. The zero values of Start, MinOverlap
// and Cases select defaults.
type Config struct {
	// People is the population, 1..MaxPeople.
	People int
	// Days is the length of the period, 1..MaxDays; the period is
	// [Start, Start + Days*24h].
	Days int
	// Seed selects the city; the same Config always gives the same output.
	Seed uint64
	// Start is the first midnight of the period. Zero means
	// 2020-01-06T00:00:00+08:00, a Monday.
	Start time.Time
	// MinOverlap is the overlap that makes a contact on a site that is not a
	// transport kind. Zero means 15 minutes.
	MinOverlap time.Duration
	// Cases is the number of confirmed cases, at most People. Zero means
	// about People/2000, at least 3 (or People, if fewer). Cases are
	// diagnosed in the second half of the period and report an onset one
	// or two days before. When Days is 5 or more, every onset is at least
	// two days after Start, so the default window of a source search (2 to
	// 14 days before onset) overlaps the period; when Days is 6 or more, by
	// at least two days.
	Cases int
}

// Limits on Config, so that ids keep their 18 characters and the period
// stays a plausible tracing window.
const (
	MaxPeople = 9_999_999
	MaxDays   = 3660
)

// ErrConfig is wrapped by Generate when the Config is unusable.
var ErrConfig = errors.New("sim: invalid config")

// The city: a disc of about 15 km radius around central Wuhan.
const (
	cityLat    = 30.59
	cityLon    = 114.30
	cityRegion = "420100"
	stationLat = 30.6068 // Wuhan railway station, where trains are registered
	stationLon = 114.4246
)

// Travel rules. Gaps between consecutive presences are planned at
// planSpeedKmh, a margin under the 20 km/h that trajectory validation may
// assume, and never shorter than minTransfer.
const (
	planSpeedKmh = 18.0
	minTransfer  = 3 * secPerMin
	minHome      = 30 * secPerMin
)

// DefaultStart is the first day of a simulation when Config.Start is zero.
func DefaultStart() time.Time { return defaultStart() }

func defaultStart() time.Time {
	return time.Date(2020, 1, 6, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
}

// normalized fills in defaults and checks the limits.
func (c Config) normalized() (Config, error) {
	switch {
	case c.People < 1 || c.People > MaxPeople:
		return c, fmt.Errorf("%w: People must be within 1..%d", ErrConfig, MaxPeople)
	case c.Days < 1 || c.Days > MaxDays:
		return c, fmt.Errorf("%w: Days must be within 1..%d", ErrConfig, MaxDays)
	case c.MinOverlap < 0:
		return c, fmt.Errorf("%w: MinOverlap is negative", ErrConfig)
	case c.Cases < 0 || c.Cases > c.People:
		return c, fmt.Errorf("%w: Cases must be within 0..People", ErrConfig)
	}
	if c.Start.IsZero() {
		c.Start = defaultStart()
	}
	if c.MinOverlap == 0 {
		c.MinOverlap = 15 * time.Minute
	}
	if c.Cases == 0 {
		c.Cases = min(max(3, (c.People+1000)/2000), c.People)
	}
	return c, nil
}

// Generate simulates the city described by cfg and writes it to w: every
// site, then every identity, then visits, moves and case reports in
// non-decreasing time order (visit in, move depart, case reported). It
// returns the ground truth of the cases' contacts over the whole period.
//
// The output is a function of cfg alone. w must not be nil; Generate does
// not buffer, so wrap a file in a bufio.Writer. Memory grows with People,
// with one day of records and with the contacts found, but not otherwise
// with Days. An invalid cfg gives an error wrapping ErrConfig and writes
// nothing; a write error is returned wrapped, after which w holds a prefix
// of the output.
func Generate(cfg Config, w *ndjson.Writer) (*Truth, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	g := newGen(cfg, w)
	if err := g.run(); err != nil {
		return nil, err
	}
	return g.wd.truth(), nil
}

// Roles of people; the role decides the daily schedule.
const (
	roleChild uint8 = iota
	roleOffice
	roleTeacher
	roleShop
	roleRestaurant
	roleTaxi
	roleHospital
	roleRetired
)

// person is the simulator's view of one inhabitant: habits fixed at
// creation and the state carried from one day to the next.
type person struct {
	role     uint8
	phone    uint8 // ref indexes of aliases; 0 when the person has none
	wechat   uint8
	alipay   uint8
	plate    uint8
	lunchOut bool
	isCase   bool
	done     bool // isolated after diagnosis: no more presences
	restDay  time.Weekday
	home     int32
	work     int32 // office, school, shop, venue, restaurant, taxi or hospital
	shops    [2]int32
	dinner   int32 // restaurant near home
	lunch    int32 // restaurant near work
	mall     int32 // index into gen.malls
	hospital int32
	metro    [2]int32 // morning and evening car; -1 when not a commuter
	arrive   int64    // usual start of work, seconds after midnight
	leave    int64    // usual end of work
	caseDay  int
	tripDay  int   // forced train trip day for cases; -1 otherwise
	since    int64 // when the person last came home (seconds since start)
}

type mall struct {
	site   int32
	venues []int32
}

// train is one daily train through the city's station. Outbound trains
// leave at the same time every day, inbound ones arrive at the same time.
type train struct {
	cars     []int32
	at       int64 // departure (outbound) or arrival (inbound), seconds after midnight
	outbound bool
}

// taxi is one cab and its driver's shift today. The driver (a person with
// roleTaxi, work = site) keeps the same day or late shift every day.
type taxi struct {
	site    int32
	in, out int64      // today's shift; out <= in when not on the road
	rides   [][2]int64 // today's passenger rides
}

type gen struct {
	cfg    Config
	rng    *rand.Rand
	wd     *world
	people []person

	// Sites by use.
	homes, offices, schools, shops, restaurants, hospitals, metro []int32
	retail                                                        []int32 // shops and mall venues, where shop staff work
	malls                                                         []mall
	trains                                                        []train
	inbound, outbound                                             []int // indexes into trains

	taxis        []taxi
	stationTaxis []int         // indexes into taxis of the station rank
	taxiOf       map[int32]int // driver -> index into taxis
	drivers      []int32
}

// pcgStream is the PCG stream constant; the Seed selects the state.
const pcgStream = 0x65706c6467722f31 // "epldgr/1"

func newGen(cfg Config, w *ndjson.Writer) *gen {
	g := &gen{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed, pcgStream)),
		wd:  newWorld(cfg.Start, cfg.Start.Add(time.Duration(cfg.Days)*24*time.Hour), w),
	}
	g.populate()
	return g
}

// between returns a uniform duration in [lo, hi] minutes, in seconds.
func (g *gen) between(lo, hi int) int64 {
	return int64(lo+g.rng.IntN(hi-lo+1)) * secPerMin
}

// jitter returns a uniform offset in [-m, m] minutes, in seconds.
func (g *gen) jitter(m int) int64 { return g.between(-m, m) }

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func hm(h, m int) int64 { return int64(h*3600 + m*60) }

// spot returns a random point within radiusKm of (lat, lon), uniform over
// the disc.
func (g *gen) spot(lat, lon, radiusKm float64) (float64, float64) {
	r := radiusKm * math.Sqrt(g.rng.Float64())
	th := 2 * math.Pi * g.rng.Float64()
	const kmPerDeg = 111.32
	return lat + r*math.Cos(th)/kmPerDeg, lon + r*math.Sin(th)/(kmPerDeg*math.Cos(lat*math.Pi/180))
}

func (g *gen) addSites(n int, kind, idFmt, nameFmt string, radiusKm float64) []int32 {
	out := make([]int32, n)
	for i := range out {
		lat, lon := g.spot(cityLat, cityLon, radiusKm)
		s := ndjson.Site{Site: fmt.Sprintf(idFmt, i+1), Kind: kind, Lat: lat, Lon: lon, Region: cityRegion}
		if nameFmt != "" {
			s.Name = fmt.Sprintf(nameFmt, i+1)
		}
		out[i] = g.wd.addSite(s)
	}
	return out
}

// nearest returns the candidate closest to from among k random picks, so
// that people favour places near them without a spatial index.
func (g *gen) nearest(from int32, cands []int32, k int) int32 {
	best, bestD := int32(-1), math.Inf(1)
	for range k {
		c := cands[g.rng.IntN(len(cands))]
		if d := distKm(&g.wd.sites[from], &g.wd.sites[c]); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// travel is the planned gap between leaving site a and entering site b:
// at least minTransfer, and enough to cover the distance at planSpeedKmh,
// rounded up to whole minutes.
func (g *gen) travel(a, b int32) int64 {
	d := distKm(&g.wd.sites[a], &g.wd.sites[b])
	sec := minTransfer + int64(math.Ceil(d/planSpeedKmh*3600))
	return (sec + secPerMin - 1) / secPerMin * secPerMin
}

// populate draws households and roles, creates the sites they need, then
// fixes everyone's habits and the cases.
func (g *gen) populate() {
	n := g.cfg.People
	g.people = make([]person, n)
	household := make([]int32, n) // household number of each person
	nHomes := 0
	for i := 0; i < n; {
		size := 1
		switch r := g.rng.Float64(); {
		case r < 0.20:
			size = 1
		case r < 0.50:
			size = 2
		case r < 0.78:
			size = 3
		case r < 0.93:
			size = 4
		default:
			size = 5
		}
		for k := 0; k < size && i < n; k++ {
			p := &g.people[i]
			switch {
			case k >= 2 && g.chance(0.8) || k >= 1 && size == 2 && g.chance(0.05):
				p.role = roleChild
			case k >= 2 || g.chance(0.16):
				p.role = roleRetired
			default:
				p.role = g.workerRole()
			}
			household[i] = int32(nHomes)
			i++
		}
		nHomes++
	}
	count := map[uint8]int{}
	for i := range g.people {
		count[g.people[i].role]++
	}
	// Small towns still get a couple of taxis and a hospital worker.
	for _, want := range []struct {
		role uint8
		n    int
	}{{roleTaxi, 2}, {roleHospital, 1}, {roleShop, 1}, {roleRestaurant, 1}} {
		for i := range g.people {
			if count[want.role] >= want.n || count[roleOffice] <= 4 {
				break
			}
			if g.people[i].role == roleOffice {
				g.people[i].role = want.role
				count[roleOffice]--
				count[want.role]++
			}
		}
	}

	// Sites, in the order they are written: parents before children.
	g.homes = g.addSites(nHomes, "home", "home-%06d", "", 12)
	g.offices = g.addSites(max(1, (count[roleOffice]+24)/25), "office", "office-%04d", "Office %d", 8)
	g.schools = g.addSites(max(1, (count[roleChild]+249)/250), "school", "school-%03d", "School %d", 11)
	g.shops = g.addSites(max(2, n/120), "shop", "shop-%04d", "Shop %d", 12)
	g.restaurants = g.addSites(max(2, n/100), "restaurant", "restaurant-%04d", "Restaurant %d", 10)
	g.retail = append([]int32(nil), g.shops...)
	venueNames := []string{"cinema", "food-court", "arcade", "ferris-wheel-cabin-01", "ferris-wheel-cabin-02",
		"shop-01", "shop-02", "shop-03", "shop-04", "shop-05", "shop-06", "shop-07"}
	nMalls := max(1, min(n/5000, 50)) // one or two for a town, more for a metropolis
	for m := 1; m <= nMalls; m++ {
		lat, lon := g.spot(cityLat, cityLon, 5)
		id := fmt.Sprintf("mall-%d", m)
		ml := mall{site: g.wd.addSite(ndjson.Site{Site: id, Kind: "mall", Name: fmt.Sprintf("Mall %d", m), Lat: lat, Lon: lon, Region: cityRegion})}
		for _, v := range venueNames {
			vi := g.wd.addSite(ndjson.Site{Site: id + "/" + v, Kind: "venue", Lat: lat, Lon: lon, Region: cityRegion, Parent: id})
			ml.venues = append(ml.venues, vi)
			if v != "ferris-wheel-cabin-01" && v != "ferris-wheel-cabin-02" {
				g.retail = append(g.retail, vi)
			}
		}
		g.malls = append(g.malls, ml)
	}
	carsPerLine := max(2, n/800)
	for line := 1; line <= 4; line++ {
		for c := 1; c <= carsPerLine; c++ {
			lat, lon := g.spot(cityLat, cityLon, 7)
			g.metro = append(g.metro, g.wd.addSite(ndjson.Site{
				Site: fmt.Sprintf("M%d-%02d", line, c), Kind: "metro",
				Name: fmt.Sprintf("Metro line %d car %d", line, c), Lat: lat, Lon: lon, Region: cityRegion,
			}))
		}
	}
	nPairs := max(1, min(12, n/3000))
	for i := range 2 * nPairs {
		num := fmt.Sprintf("G%d", 1001+(i/2)*26+i%2) // odd outbound, even inbound
		ts := g.wd.addSite(ndjson.Site{Site: num, Kind: "train", Name: num, Lat: stationLat, Lon: stationLon, Region: cityRegion})
		tr := train{outbound: i%2 == 0}
		if tr.outbound {
			tr.at = hm(6, 30) + int64((i/2)*37%240)*secPerMin
			g.outbound = append(g.outbound, len(g.trains))
		} else {
			tr.at = hm(16, 30) + int64((i/2)*41%300)*secPerMin
			g.inbound = append(g.inbound, len(g.trains))
		}
		for c := 1; c <= 8; c++ {
			tr.cars = append(tr.cars, g.wd.addSite(ndjson.Site{
				Site: fmt.Sprintf("%s/%02d", num, c), Kind: "train_carriage", Name: fmt.Sprintf("%s car %d", num, c),
				Lat: stationLat, Lon: stationLon, Region: cityRegion, Parent: g.wd.sites[ts].rec.Site,
			}))
		}
		g.trains = append(g.trains, tr)
	}
	// Every third taxi works the station rank; the others roam the centre.
	taxiSites := make([]int32, count[roleTaxi])
	for i := range taxiSites {
		lat, lon, radius := cityLat, cityLon, 8.0
		if i%3 == 0 {
			lat, lon, radius = stationLat, stationLon, 1.5
		}
		lat, lon = g.spot(lat, lon, radius)
		taxiSites[i] = g.wd.addSite(ndjson.Site{
			Site: fmt.Sprintf("taxi-%04d", i+1), Kind: "taxi", Name: fmt.Sprintf("Taxi %d", i+1),
			Lat: lat, Lon: lon, Region: cityRegion,
		})
	}
	g.hospitals = g.addSites(max(1, n/5000), "hospital", "hospital-%d", "Hospital %d", 7)

	// Habits, identities and workplaces.
	g.taxiOf = make(map[int32]int, len(taxiSites))
	nPlates := 0
	for i := range g.people {
		p := &g.people[i]
		pi := int32(i)
		p.home = g.homes[household[i]]
		p.metro = [2]int32{-1, -1}
		p.tripDay = -1
		p.restDay = time.Weekday(g.rng.IntN(7))
		aliases := []string{fmt.Sprintf("phone:137%08d", i)}
		p.phone = 1
		if g.chance(0.6) {
			aliases = append(aliases, fmt.Sprintf("wechat:wx_%08x", uint32(i)*2654435761^0x5bd1e995))
			p.wechat = uint8(len(aliases))
		}
		if g.chance(0.4) {
			aliases = append(aliases, fmt.Sprintf("alipay:2089%012d", i))
			p.alipay = uint8(len(aliases))
		}
		if p.role != roleChild && g.chance(0.25) {
			aliases = append(aliases, fmt.Sprintf("plate:E%c%05d", 'A'+nPlates/100000%26, nPlates%100000))
			p.plate = uint8(len(aliases))
			nPlates++
		}
		g.wd.addIdent(idNumber("4201001990", i), aliases...)

		switch p.role {
		case roleOffice:
			p.work = g.nearest(p.home, g.offices, 2)
			p.arrive = hm(8, 0) + g.between(0, 90)
			p.leave = p.arrive + hm(9, 0) + g.jitter(30)
			p.lunchOut = g.chance(0.55)
		case roleChild:
			p.work = g.nearest(p.home, g.schools, 4)
			p.arrive, p.leave = hm(7, 40), hm(16, 30)
		case roleTeacher:
			p.work = g.nearest(p.home, g.schools, 3)
			p.arrive, p.leave = hm(7, 20), hm(17, 0)
		case roleShop:
			p.work = g.retail[g.rng.IntN(len(g.retail))]
			p.arrive, p.leave = hm(9, 0), hm(17, 0)
			if g.chance(0.5) {
				p.arrive, p.leave = hm(13, 0), hm(21, 30)
			}
		case roleRestaurant:
			p.work = g.restaurants[g.rng.IntN(len(g.restaurants))]
			p.arrive, p.leave = hm(10, 0)+g.jitter(30), hm(20, 0)+g.jitter(30)
		case roleHospital:
			p.work = g.hospitals[g.rng.IntN(len(g.hospitals))]
			p.arrive, p.leave = hm(7, 45), hm(17, 0)
			if g.chance(0.4) {
				p.arrive, p.leave = hm(15, 30), hm(23, 0)
			}
		case roleTaxi:
			t := taxi{site: taxiSites[len(g.taxis)]}
			p.work = t.site
			p.arrive, p.leave = hm(7, 0), hm(19, 0)
			if g.chance(0.5) {
				p.arrive, p.leave = hm(15, 0), hm(23, 30)
			}
			g.taxiOf[pi] = len(g.taxis)
			if len(g.taxis)%3 == 0 {
				g.stationTaxis = append(g.stationTaxis, len(g.taxis))
			}
			g.taxis = append(g.taxis, t)
			g.drivers = append(g.drivers, pi)
		default:
			p.work = -1
		}
		near := p.home
		if p.work >= 0 {
			near = p.work
		}
		p.shops[0] = g.nearest(p.home, g.shops, 5)
		p.shops[1] = g.nearest(p.home, g.shops, 5)
		p.dinner = g.nearest(p.home, g.restaurants, 4)
		p.lunch = g.nearest(near, g.restaurants, 4)
		p.mall = int32(g.rng.IntN(len(g.malls)))
		p.hospital = g.nearest(p.home, g.hospitals, 3)
		switch {
		case (p.role == roleOffice || p.role == roleTeacher) && g.chance(0.6),
			p.role == roleChild && g.chance(0.35):
			g.assignMetro(p)
		}
	}
	g.pickCases()
}

// assignMetro gives a commuter two metro cars that lie roughly on the way
// to work.
func (g *gen) assignMetro(p *person) {
	for k := range p.metro {
		best, bestD := int32(-1), math.Inf(1)
		for range 6 {
			c := g.metro[g.rng.IntN(len(g.metro))]
			d := distKm(&g.wd.sites[p.home], &g.wd.sites[c]) + distKm(&g.wd.sites[c], &g.wd.sites[p.work])
			if d < bestD {
				best, bestD = c, d
			}
		}
		p.metro[k] = best
	}
}

// Cases fall late enough to be traced back. A case reports an onset one
// or two days before its diagnosis day, and a source search looks at the
// days from incubation 14 down to 2 days before the onset (the defaults
// of internal/investigate). With the onset on day minOnsetDay or later,
// that window holds at least the period's first minOnsetDay-1 days, so a
// source search on every case has data to search. The diagnosis day is
// therefore at least firstCaseDay, when the period is long enough.
const (
	minOnsetDay  = 3
	firstCaseDay = minOnsetDay + 2
)

// pickCases chooses the confirmed cases, office workers first because they
// ride the metro and meet many people, and fixes each case's diagnosis day
// in the second half of the period, and not before firstCaseDay when the
// period allows, and, for most, a train trip before it.
func (g *gen) pickCases() {
	order := g.rng.Perm(len(g.people))
	var picked []int32
	for pass := 0; pass < 2 && len(picked) < g.cfg.Cases; pass++ {
		for _, i := range order {
			p := &g.people[i]
			if len(picked) == g.cfg.Cases {
				break
			}
			if p.isCase || pass == 0 && p.role != roleOffice {
				continue
			}
			p.isCase = true
			picked = append(picked, int32(i))
		}
	}
	days := g.cfg.Days
	first := min(max(days/2, firstCaseDay), days-1)
	for _, i := range picked {
		p := &g.people[i]
		p.caseDay = first + g.rng.IntN(days-first)
		if p.role == roleOffice && p.metro[0] < 0 {
			g.assignMetro(p)
		}
		if p.caseDay > 0 && p.role != roleChild && g.chance(0.6) {
			p.tripDay = g.rng.IntN(p.caseDay)
		}
	}
	g.wd.cases = picked
}

func (g *gen) weekday(d int) time.Weekday {
	return g.cfg.Start.Add(time.Duration(d) * 24 * time.Hour).Weekday()
}

// works reports whether p works on day d.
func (g *gen) works(p *person, d int) bool {
	wd := g.weekday(d)
	switch p.role {
	case roleChild, roleOffice, roleTeacher:
		return wd != time.Saturday && wd != time.Sunday
	case roleShop, roleRestaurant, roleHospital, roleTaxi:
		return wd != p.restDay
	}
	return false
}

// run simulates day after day. Within a day taxi drivers go first, so that
// passengers can only book a taxi whose driver is on the road. After each
// day, everything that starts before the earliest possible later record is
// written.
func (g *gen) run() error {
	if err := g.wd.writeDirectory(g.cfg.MinOverlap); err != nil {
		return err
	}
	for d := 0; d < g.cfg.Days; d++ {
		for i := range g.taxis {
			t := &g.taxis[i]
			t.in, t.out, t.rides = 0, 0, t.rides[:0]
		}
		for _, pi := range g.drivers {
			g.planDay(pi, d)
		}
		for i := range g.people {
			if g.people[i].role != roleTaxi {
				g.planDay(int32(i), d)
			}
		}
		next := int64(d+1) * secPerDay
		for i := range g.people {
			if p := &g.people[i]; !p.done {
				next = min(next, p.since)
			}
		}
		if err := g.wd.flush(next); err != nil {
			return err
		}
	}
	end := int64(g.cfg.Days) * secPerDay
	for i := range g.people {
		p := &g.people[i]
		if !p.done && p.since < end {
			g.wd.visit(p.home, int32(i), p.since, end, viaFace, 0, false)
		}
	}
	return g.wd.flush(math.MaxInt64)
}
