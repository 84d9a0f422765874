// Package sim builds synthetic input for epiledger: a city of people, sites
// and daily schedules written as NDJSON import records (package record),
// together with the ground truth of every confirmed case's close contacts.
//
// The truth is computed from the simulator's own knowledge of who was where,
// with a plain per-site sweep that shares no code with the ledger, so that
// tests and benchmarks can compare the ledger's indexed contact query against
// an independent reference. Generate writes a whole city; WorkedCase writes
// the worked example of seed 000, sec. 3.1 (train, taxi, Ferris wheel,
// hospital, a toll gate that must fail validation, 52 close contacts).
//
// Everything here is deterministic: the same Config writes the same bytes
// and returns the same Truth. Nothing is global, so separate calls may run
// concurrently on separate writers.
package sim

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
)

// Via codes: how a site identified the person. viaNone writes no via.
const (
	viaNone uint8 = iota
	viaIDCard
	viaFace
	viaPayment
	viaPhone
	viaStaffCard
	viaPlate
	viaWechat
)

// Event kinds held in the output buffer.
const (
	evVisit uint8 = iota
	evMove
	evCase
)

// viaName is the via field written for a via code.
func viaName(v uint8) string {
	switch v {
	case viaIDCard:
		return "id_card"
	case viaFace:
		return "face"
	case viaPayment:
		return "payment"
	case viaPhone:
		return "phone"
	case viaStaffCard:
		return "staff_card"
	case viaPlate:
		return "plate"
	case viaWechat:
		return "wechat"
	}
	return ""
}

const (
	secPerMin = 60
	secPerDay = 24 * 3600

	// earthRadiusKm is the mean Earth radius used by haversine.
	earthRadiusKm = 6371.0
)

// site is a registered site plus what the simulator needs to reason about it:
// its position in radians (for travel times) and whether any overlap on it
// counts as a contact.
type site struct {
	rec       ndjson.Site
	lat, lon  float64 // radians
	cosLat    float64
	transport bool
}

// ident is one person as the import format sees it: refs[0] is
// "id:<canonical>", refs[1:] are the bound aliases in identity order. A
// record's person field is refs[i] for some i, so it can never name an
// unbound alias.
type ident struct {
	id   string
	refs []string
}

// event is one visit, move or case waiting in the output buffer. Times are
// seconds since the world's start; key is the time the output is ordered by
// (visit in, move depart, case reported), seq breaks ties in generation
// order so that output order never depends on the sort algorithm.
type event struct {
	key    int64
	t2     int64 // visit out, move arrive, case onset (days since start)
	seq    uint64
	person int32
	site   int32 // visit site, move from, case by
	site2  int32 // move to
	kind   uint8
	via    uint8
	ref    uint8 // index into ident.refs
	staff  bool
}

// world is the part shared by Generate and WorkedCase: the tables of sites
// and identities, the buffer that restores time order before writing, and
// the sweep that derives the truth from exactly the visits written.
type world struct {
	start  time.Time
	end    time.Time
	sites  []site
	idents []ident
	events []event
	seq    uint64
	w      *ndjson.Writer
	sweep  *sweeper
	cases  []int32
}

func newWorld(start, end time.Time, w *ndjson.Writer) *world {
	return &world{start: start, end: end, w: w}
}

// addSite registers a site and returns its index. Coordinates are rounded
// to 1e-6 degrees first, so that travel times are computed from exactly the
// coordinates written.
func (wd *world) addSite(s ndjson.Site) int32 {
	s.Lat = math.Round(s.Lat*1e6) / 1e6
	s.Lon = math.Round(s.Lon*1e6) / 1e6
	lat := s.Lat * math.Pi / 180
	wd.sites = append(wd.sites, site{
		rec:       s,
		lat:       lat,
		lon:       s.Lon * math.Pi / 180,
		cosLat:    math.Cos(lat),
		transport: slices.Contains(ledger.DefaultTransportKinds, s.Kind),
	})
	return int32(len(wd.sites) - 1)
}

// addIdent registers a person and returns its index.
func (wd *world) addIdent(id string, aliases ...string) int32 {
	refs := make([]string, 0, 1+len(aliases))
	refs = append(refs, "id:"+id)
	refs = append(refs, aliases...)
	wd.idents = append(wd.idents, ident{id: id, refs: refs})
	return int32(len(wd.idents) - 1)
}

// distKm is the haversine distance between two sites.
func distKm(a, b *site) float64 {
	s1 := math.Sin((b.lat - a.lat) / 2)
	s2 := math.Sin((b.lon - a.lon) / 2)
	h := s1*s1 + a.cosLat*b.cosLat*s2*s2
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(min(1, h)))
}

func (wd *world) visit(site, person int32, in, out int64, via, ref uint8, staff bool) {
	if out < in || out-in >= secPerDay {
		panic(fmt.Sprintf("sim: bad presence %d..%d at %s", in, out, wd.sites[site].rec.Site))
	}
	wd.push(event{key: in, t2: out, kind: evVisit, person: person, site: site, via: via, ref: ref, staff: staff})
}

func (wd *world) move(person, from, to int32, depart, arrive int64, via, ref uint8) {
	wd.push(event{key: depart, t2: arrive, kind: evMove, person: person, site: from, site2: to, via: via, ref: ref})
}

func (wd *world) caseReport(person, by int32, reported int64, onsetDay int) {
	wd.push(event{key: reported, t2: int64(onsetDay), kind: evCase, person: person, site: by})
}

func (wd *world) push(e event) {
	e.seq = wd.seq
	wd.seq++
	wd.events = append(wd.events, e)
}

func (wd *world) at(sec int64) time.Time {
	return wd.start.Add(time.Duration(sec) * time.Second)
}

// writeDirectory writes every site, then every identity, and prepares the
// sweep. It must be called once, before any flush.
func (wd *world) writeDirectory(minOverlap time.Duration) error {
	for i := range wd.sites {
		if err := wd.w.Write(&wd.sites[i].rec); err != nil {
			return fmt.Errorf("sim: write site: %w", err)
		}
	}
	for i := range wd.idents {
		id := &wd.idents[i]
		if err := wd.w.Write(&ndjson.Identity{ID: id.id, Aliases: id.refs[1:]}); err != nil {
			return fmt.Errorf("sim: write identity: %w", err)
		}
	}
	wd.sweep = newSweeper(wd, int64(minOverlap/time.Second))
	return nil
}

// flush writes, in time order, every buffered event whose key is before
// until, and keeps the rest. The caller promises that no event generated
// later has a key before until; that is what makes the output globally
// ordered while only about a day of events is held in memory.
func (wd *world) flush(until int64) error {
	slices.SortFunc(wd.events, func(a, b event) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	n, _ := slices.BinarySearchFunc(wd.events, until, func(e event, t int64) int { return cmp.Compare(e.key, t) })
	for i := range wd.events[:n] {
		if err := wd.writeEvent(&wd.events[i]); err != nil {
			return err
		}
	}
	wd.events = wd.events[:copy(wd.events, wd.events[n:])]
	return nil
}

func (wd *world) writeEvent(e *event) error {
	ref := wd.idents[e.person].refs[e.ref]
	var err error
	switch e.kind {
	case evVisit:
		v := ndjson.Visit{Site: wd.sites[e.site].rec.Site, Person: ref, In: wd.at(e.key), Out: wd.at(e.t2), Via: viaName(e.via)}
		if e.staff {
			v.Role = "staff"
		}
		wd.sweep.add(e.site, e.person, e.key, e.t2)
		err = wd.w.Write(&v)
	case evMove:
		err = wd.w.Write(&ndjson.Move{
			Person: ref, From: wd.sites[e.site].rec.Site, To: wd.sites[e.site2].rec.Site,
			Depart: wd.at(e.key), Arrive: wd.at(e.t2), Via: viaName(e.via),
		})
	case evCase:
		err = wd.w.Write(&ndjson.Case{
			Person: ref, Status: "confirmed",
			Onset:    wd.start.Add(time.Duration(e.t2) * 24 * time.Hour).Format("2006-01-02"),
			Reported: wd.at(e.key), By: wd.sites[e.site].rec.Site,
		})
	}
	if err != nil {
		return fmt.Errorf("sim: write record: %w", err)
	}
	return nil
}

// idNumber makes a synthetic 18-character ID number: a 10-digit prefix, a
// 7-digit serial and an ISO 7064 MOD 11-2 check character, the layout of a
// resident ID number. Distinct serials give distinct numbers.
func idNumber(prefix string, serial int) string {
	body := fmt.Sprintf("%s%07d", prefix, serial)
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, wt := range weights {
		sum += int(body[i]-'0') * wt
	}
	return body + string("10X98765432"[sum%11])
}
