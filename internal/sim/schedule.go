package sim

import "fmt"

// workerRole draws the job of a working adult.
func (g *gen) workerRole() uint8 {
	switch r := g.rng.Float64(); {
	case r < 0.035:
		return roleTeacher
	case r < 0.105:
		return roleShop
	case r < 0.165:
		return roleRestaurant
	case r < 0.172:
		return roleTaxi
	case r < 0.182:
		return roleHospital
	}
	return roleOffice
}

// builder lays out one person's day as a chain of presences. Every stop
// starts no earlier than the previous one ended plus the travel time
// between the two sites, so a day built this way is physically consistent
// by construction. The first stop also writes the night at home that it
// ends.
type builder struct {
	g     *gen
	pi    int32
	p     *person
	day   int64 // start of the day, seconds since the world's start
	cur   int32 // current site
	t     int64 // when the person is free to leave cur
	first bool  // still at home since p.since
}

func (b *builder) ready(site int32) int64 { return b.t + b.g.travel(b.cur, site) }

// place records a presence at site over [in, out]. in must be >= ready(site).
func (b *builder) place(site int32, in, out int64, via, ref uint8, staff bool) {
	if in < b.ready(site) {
		panic(fmt.Sprintf("sim: stop at %s planned before it can be reached", b.g.wd.sites[site].rec.Site))
	}
	if b.first {
		homeOut := in - b.g.travel(b.cur, site)
		via := viaFace
		if b.g.chance(0.3) {
			via = viaIDCard
		}
		b.g.wd.visit(b.p.home, b.pi, b.p.since, homeOut, via, 0, false)
		b.first = false
	}
	b.g.wd.visit(site, b.pi, in, out, via, ref, staff)
	b.cur, b.t = site, out
}

// visit goes to site as a customer no earlier than earliest and stays dur.
func (b *builder) visit(site int32, earliest, dur int64) {
	via, ref := b.g.customerVia(b.p, b.g.wd.sites[site].rec.Kind)
	in := max(earliest, b.ready(site))
	b.place(site, in, in+dur, via, ref, false)
}

// stay goes to site no earlier than earliest and stays until until, and at
// least minDur.
func (b *builder) stay(site int32, earliest, until, minDur int64, via, ref uint8, staff bool) {
	in := max(earliest, b.ready(site))
	b.place(site, in, max(until, in+minDur), via, ref, staff)
}

// home ends the day: the person reaches home after the last stop.
func (b *builder) home() {
	if b.first {
		panic("sim: a day without any stop") // would make a home stay of more than a day
	}
	b.p.since = b.t + b.g.travel(b.cur, b.p.home)
}

// taxi rides a free taxi for dur, boarding no earlier than earliest: the
// one that can pick the person up first among a few on the road, or among
// the station rank's when fromTrain. The ride must fall within the driver's
// shift and not overlap another ride of the same taxi. With fromTrain the
// passenger comes straight off a train and a move from the carriage to the
// taxi is recorded too. It reports whether a taxi was found.
func (b *builder) taxi(earliest, dur int64, fromTrain bool) bool {
	g := b.g
	if len(g.taxis) == 0 {
		return false
	}
	best, bestIn := -1, int64(0)
	for range 6 {
		ti := g.rng.IntN(len(g.taxis))
		if fromTrain && len(g.stationTaxis) > 0 {
			ti = g.stationTaxis[g.rng.IntN(len(g.stationTaxis))]
		}
		tx := &g.taxis[ti]
		in := max(earliest, b.ready(tx.site))
		if in < tx.in || in+dur > tx.out || best >= 0 && in >= bestIn || busy(tx.rides, in, in+dur) {
			continue
		}
		best, bestIn = ti, in
	}
	if best < 0 {
		return false
	}
	tx := &g.taxis[best]
	tx.rides = append(tx.rides, [2]int64{bestIn, bestIn + dur})
	via, ref := g.customerVia(b.p, "taxi")
	if fromTrain {
		g.wd.move(b.pi, b.cur, tx.site, b.t, bestIn, via, ref)
	}
	b.place(tx.site, bestIn, bestIn+dur, via, ref, false)
	return true
}

// busy reports whether [in, out) overlaps one of the rides.
func busy(rides [][2]int64, in, out int64) bool {
	for _, r := range rides {
		if in < r[1] && r[0] < out {
			return true
		}
	}
	return false
}

// customerVia picks how a site of the given kind identifies a visitor, and
// which of the person's refs it writes: mostly the canonical id, sometimes a
// bound alias that matches the method.
func (g *gen) customerVia(p *person, kind string) (via, ref uint8) {
	r := g.rng.Float64()
	switch kind {
	case "shop", "restaurant", "venue":
		switch {
		case r < 0.3:
			return g.payment(p)
		case r < 0.45:
			return viaPhone, p.phone
		}
		return viaFace, 0
	case "mall":
		switch {
		case r < 0.2:
			return viaPhone, p.phone
		case r < 0.35 && p.plate != 0:
			return viaPlate, p.plate
		}
		return viaFace, 0
	case "metro":
		switch {
		case r < 0.25:
			return viaPhone, p.phone
		case r < 0.4:
			return g.payment(p)
		}
		return viaFace, 0
	case "taxi":
		if r < 0.7 {
			return g.payment(p)
		}
		return viaPhone, p.phone
	case "office":
		switch {
		case r < 0.25 && p.plate != 0:
			return viaPlate, p.plate
		case r < 0.6:
			return viaStaffCard, 0
		}
		return viaFace, 0
	case "school":
		return viaFace, 0
	}
	return viaIDCard, 0 // hospital, train carriage
}

// workVia is how p's workplace records p: office workers like visitors,
// pupils by face, everyone else as staff by staff card.
func (g *gen) workVia(p *person) (via, ref uint8, staff bool) {
	switch p.role {
	case roleOffice:
		via, ref = g.customerVia(p, "office")
		return via, ref, false
	case roleChild:
		return viaFace, 0, false
	}
	return viaStaffCard, 0, true
}

// payment identifies by a payment account: WeChat or Alipay when bound,
// otherwise the phone number behind the payment.
func (g *gen) payment(p *person) (uint8, uint8) {
	switch {
	case p.wechat != 0 && (p.alipay == 0 || g.chance(0.5)):
		return viaPayment, p.wechat
	case p.alipay != 0:
		return viaPayment, p.alipay
	}
	return viaPayment, p.phone
}

// planDay lays out person pi's day d.
func (g *gen) planDay(pi int32, d int) {
	p := &g.people[pi]
	if p.done {
		return
	}
	b := &builder{g: g, pi: pi, p: p, day: int64(d) * secPerDay, cur: p.home, t: p.since + minHome, first: true}
	switch {
	case p.isCase && d == p.caseDay:
		g.planCase(b, d)
		return // isolated in hospital: never comes home
	case g.tripToday(p, d):
		g.planTrip(b)
	case g.works(p, d):
		g.planWork(b)
	default:
		g.planLeisure(b)
	}
	b.home()
}

// tripToday decides whether p makes a day trip by train on day d: cases on
// their chosen day, other adults rarely when they are free or on business.
func (g *gen) tripToday(p *person, d int) bool {
	if p.role == roleChild || len(g.outbound) == 0 {
		return false
	}
	if p.isCase {
		return d == p.tripDay
	}
	if g.works(p, d) && p.role != roleOffice {
		return false
	}
	return g.chance(0.006)
}

// taxiChance is how often a person takes a taxi on a given leg: cases more
// often, so that they have transport contacts.
func (g *gen) taxiChance(p *person) bool {
	if p.isCase {
		return g.chance(0.25)
	}
	return g.chance(0.02)
}

func (g *gen) planWork(b *builder) {
	p := b.p
	switch p.role {
	case roleOffice:
		arrive := b.day + p.arrive + g.jitter(15)
		leave := b.day + p.leave + g.jitter(20)
		metro := p.metro[0] >= 0 && g.chance(0.9)
		switch {
		case metro:
			ride := g.between(6, 40)
			b.visit(p.metro[0], arrive-ride-g.travel(p.metro[0], p.work), ride)
		case g.taxiChance(p):
			ride := g.between(10, 30)
			b.taxi(arrive-ride-hm(0, 20), ride, false)
		}
		via, ref := g.customerVia(p, "office")
		if p.lunchOut && g.chance(0.75) {
			b.stay(p.work, arrive, b.day+hm(12, 0)+g.jitter(15), hm(1, 0), via, ref, false)
			b.visit(p.lunch, 0, g.between(30, 60))
			b.stay(p.work, 0, leave, hm(1, 0), via, ref, false)
		} else {
			b.stay(p.work, arrive, leave, hm(4, 0), via, ref, false)
		}
		if metro {
			b.visit(p.metro[1], 0, g.between(6, 40))
		}
		g.evening(b)
	case roleChild:
		arrive := b.day + p.arrive + g.jitter(10)
		metro := p.metro[0] >= 0
		if metro {
			ride := g.between(5, 25)
			b.visit(p.metro[0], arrive-ride-g.travel(p.metro[0], p.work), ride)
		}
		b.stay(p.work, arrive, b.day+p.leave+g.jitter(20), hm(6, 0), viaFace, 0, false)
		if metro {
			b.visit(p.metro[1], 0, g.between(5, 25))
		}
		if g.chance(0.25) {
			b.visit(p.shops[g.rng.IntN(2)], 0, g.between(15, 40))
		}
	case roleTaxi:
		g.morningErrand(b)
		tx := &g.taxis[g.taxiOf[b.pi]]
		in := b.day + p.arrive
		b.place(tx.site, in, b.day+p.leave, viaStaffCard, 0, true)
		tx.in, tx.out = in, b.day+p.leave
		if b.t < b.day+hm(20, 30) && g.chance(0.1) {
			b.visit(p.shops[0], 0, g.between(10, 30))
		}
	default: // teachers and staff of shops, restaurants and hospitals
		g.morningErrand(b)
		b.stay(p.work, b.day+p.arrive+g.jitter(10), b.day+p.leave+g.jitter(10), hm(4, 0), viaStaffCard, 0, true)
		g.evening(b)
	}
}

// morningErrand sends someone who starts work in the afternoon shopping in
// the morning: sometimes by choice, always when the night at home began
// early the day before, so that no stay at home lasts a whole day.
func (g *gen) morningErrand(b *builder) {
	p := b.p
	if p.arrive < hm(12, 0) {
		return
	}
	if p.since < b.day-hm(4, 0) || g.chance(0.3) {
		b.visit(p.shops[0], b.day+hm(10, 0)+g.jitter(30), g.between(15, 45))
	}
}

// evening is the optional part of a day after work: shopping or dinner,
// sometimes a taxi home.
func (g *gen) evening(b *builder) {
	p := b.p
	if b.t < b.day+hm(20, 30) {
		switch r := g.rng.Float64(); {
		case r < 0.35:
			b.visit(p.shops[g.rng.IntN(2)], 0, g.between(15, 45))
		case r < 0.5:
			b.visit(p.dinner, 0, g.between(45, 90))
		}
	}
	if b.t < b.day+hm(22, 0) && g.taxiChance(p) {
		b.taxi(0, g.between(10, 30), false)
	}
	g.stepOut(b)
}

// stepOut sometimes has the person come home and go out once more before
// the night, to a shop near home.
func (g *gen) stepOut(b *builder) {
	p := b.p
	if b.t >= b.day+hm(19, 30) || !g.chance(0.3) {
		return
	}
	b.stay(p.home, 0, 0, g.between(30, 90), viaFace, 0, false)
	b.visit(p.shops[g.rng.IntN(2)], 0, g.between(10, 30))
}

// planLeisure is a day off: a morning errand, then perhaps the mall, a meal
// out or more shopping.
func (g *gen) planLeisure(b *builder) {
	p := b.p
	if p.role != roleChild && g.chance(0.004) {
		b.visit(p.hospital, b.day+hm(9, 0)+g.jitter(60), g.between(60, 150))
	}
	b.visit(p.shops[g.rng.IntN(2)], b.day+hm(9, 30)+g.jitter(60), g.between(20, 60))
	if g.chance(0.5) {
		b.stay(p.home, b.day+hm(11, 0), b.day+hm(13, 0)+g.jitter(45), hm(0, 30), viaFace, 0, false)
	}
	switch r := g.rng.Float64(); {
	case r < 0.45:
		if g.taxiChance(p) {
			b.taxi(b.day+hm(13, 0), g.between(10, 30), false)
		}
		m := &g.malls[p.mall]
		b.visit(m.site, b.day+hm(14, 0)+g.jitter(90), g.between(15, 40))
		if g.chance(0.7) {
			b.visit(m.venues[g.rng.IntN(len(m.venues))], 0, g.between(30, 120))
			if g.chance(0.5) {
				b.visit(m.site, 0, g.between(10, 30))
			}
		}
	case r < 0.65:
		b.visit(p.dinner, b.day+hm(12, 0)+g.jitter(30), g.between(45, 90))
	case r < 0.85:
		b.visit(p.shops[g.rng.IntN(2)], b.day+hm(16, 0)+g.jitter(60), g.between(20, 45))
	}
	switch {
	case b.t < b.day+hm(19, 0) && g.chance(0.35):
		b.visit(p.dinner, b.day+hm(18, 30)+g.jitter(30), g.between(45, 90))
	case b.t < b.day+hm(15, 0):
		// Out again in the afternoon, so that no night at home lasts a day.
		b.visit(p.shops[g.rng.IntN(2)], b.day+hm(16, 0)+g.jitter(60), g.between(15, 40))
	}
	if b.t < b.day+hm(22, 0) && g.taxiChance(p) {
		b.taxi(0, g.between(10, 30), false)
	}
	g.stepOut(b)
}

// planTrip is a day trip by train: out in the morning, back in the evening
// on a train whose passengers boarded at various stations, and for some a
// taxi straight from the carriage.
func (g *gen) planTrip(b *builder) {
	out := &g.trains[g.outbound[g.rng.IntN(len(g.outbound))]]
	car := out.cars[g.rng.IntN(len(out.cars))]
	dep := b.day + out.at
	if b.ready(car) > dep {
		g.planLeisure(b) // cannot make the train
		return
	}
	b.place(car, dep, dep+g.between(90, 240), viaIDCard, 0, false)
	back := &g.trains[g.inbound[g.rng.IntN(len(g.inbound))]]
	car = back.cars[g.rng.IntN(len(back.cars))]
	arr := b.day + back.at
	in := max(arr-g.between(90, 240), b.ready(car))
	b.place(car, in, max(arr, in+hm(0, 30)), viaIDCard, 0, false)
	if b.p.isCase || g.chance(0.4) {
		b.taxi(0, g.between(15, 40), true)
	}
}

// planCase is the day of diagnosis: a normal morning, then the hospital
// (often by taxi), where the case is confirmed and isolated.
func (g *gen) planCase(b *builder, d int) {
	p := b.p
	if g.works(p, d) && p.role != roleTaxi {
		if p.role == roleOffice && p.metro[0] >= 0 {
			ride := g.between(6, 40)
			b.visit(p.metro[0], b.day+p.arrive-ride-g.travel(p.metro[0], p.work), ride)
		}
		via, ref, staff := g.workVia(p)
		b.stay(p.work, b.day+p.arrive, b.day+hm(11, 30)+g.jitter(60), hm(1, 0), via, ref, staff)
	} else {
		b.visit(p.shops[0], b.day+hm(9, 30)+g.jitter(60), g.between(20, 40))
	}
	if g.chance(0.5) {
		b.taxi(0, g.between(10, 25), false)
	}
	in := max(b.day+hm(8, 0), b.ready(p.hospital))
	dur := g.between(120, 240)
	b.place(p.hospital, in, in+dur, viaIDCard, 0, false)
	g.wd.caseReport(b.pi, p.hospital, in+g.between(30, int(dur/secPerMin)), d-1-g.rng.IntN(2))
	p.done = true
}
