package state

import (
	"cmp"
	"encoding/binary"
	"slices"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/store"
)

// First reports straight from the doctor (issue 16, docs/WARNING.md). A
// hospital registers its doctors' keys; a doctor's report card is counted
// in the block that holds it, with no review to wait for; reviews make
// its later versions and move its count when they change what it says.
// The counts are per home region, disease and reporting day, by
// classification: what the warning rules and the public statistics read.

// DayOffset is the offset of the reporting day: China Standard Time, the
// one time zone of every region's GB/T 2260 code. Fixed in the state
// machine, so that every node cuts days alike.
const DayOffset = 8 * 3600

// DayOf is the reporting day of Unix time t: days since 1970-01-01 at
// +08:00.
func DayOf(t int64) uint32 { return uint32((t + DayOffset) / 86400) }

// Doctor is a doctor's key as its hospital registered it.
type Doctor struct {
	Key, Hospital [32]byte
	Unit          string
}

// DoctorOf returns doctor key's registration, if it has one.
func DoctorOf(rd store.Reader, key [32]byte) (Doctor, bool, error) {
	v, ok, err := rd.Get(store.DoctorKey(key))
	if err != nil || !ok {
		return Doctor{}, false, err
	}
	x := r2(v)
	d := Doctor{Key: key}
	copy(d.Hospital[:], x.take(32))
	d.Unit = x.str()
	return d, true, x.err("doctor")
}

// registerDoctor registers (or withdraws) a doctor's key: signed by a
// hospital; a key registered by another hospital, or holding another
// role, is refused. The doctor holds the role doctor from the next block.
func (blk *Block) registerDoctor(tx *ledger.Tx, b *ledger.RegisterDoctor) error {
	hospital := tx.Sigs[0].Key
	role, _, err := RoleOf(blk.b, &blk.m.gen, hospital)
	if err != nil {
		return err
	}
	if role != ledger.RoleHospital && role != "authority" {
		return reject(CodeWrongSigner, "signature", "doctors are registered by their hospital's key (role hospital)")
	}
	if b.Key == blk.m.gen.Authority {
		return reject(CodeInvalid, "key", "the chain authority holds every role already")
	}
	d, known, err := DoctorOf(blk.b, b.Key)
	if err != nil {
		return err
	}
	if known && d.Hospital != hospital {
		return reject(CodeConflict, "key", "this doctor is registered by another hospital")
	}
	if b.Revoke {
		if !known {
			return reject(CodeInvalid, "key", "no doctor of this hospital has this key")
		}
		if err := blk.del(store.DoctorKey(b.Key)); err != nil {
			return err
		}
		return blk.setRole(b.Key, ledger.RoleNone, "")
	}
	if held, _, err := RoleOf(blk.b, &blk.m.gen, b.Key); err != nil {
		return err
	} else if held != ledger.RoleNone && held != ledger.RoleDoctor {
		return reject(CodeConflict, "key", "the key holds the role %s: a doctor's key is a key of its own", held)
	}
	var x w
	x.raw(hospital[:])
	x.str(b.Unit)
	if err := blk.set(store.DoctorKey(b.Key), x.b); err != nil {
		return err
	}
	return blk.setRole(b.Key, ledger.RoleDoctor, b.Unit)
}

// Card is a report card as it now stands.
type Card struct {
	ID ledger.Hash
	// Version counts the reviews that made it (0: as filed); Latest is
	// the latest version's transaction (the card's id for version 0).
	Version uint32
	Latest  ledger.Hash
	// Doctor filed it for Unit of Hospital at Reported (the block's
	// time, Unix seconds), counted on reporting day Day.
	Doctor, Hospital [32]byte
	Unit             string
	Reported         int64
	Day              uint32
	// Status is the last review's action ("reported" before any):
	// a discarded card counts no more.
	Status string
	ledger.CardFields
}

func encodeCard(c *Card) []byte {
	var x w
	x.u32(c.Version)
	x.raw(c.Latest[:])
	x.raw(c.Doctor[:])
	x.raw(c.Hospital[:])
	x.str(c.Unit)
	x.i64(c.Reported)
	x.u32(c.Day)
	x.str(c.Status)
	f := &c.CardFields
	x.str(f.Disease)
	x.str(f.Class)
	x.str(f.Onset)
	x.raw(f.Patient[:])
	x.u8(f.AgeBand)
	x.str(f.Sex)
	x.str(f.Home)
	if f.Placed {
		x.u8(1)
		x.u32(uint32(f.Place.Lat))
		x.u32(uint32(f.Place.Lon))
	}
	return x.b
}

// CardOf returns card id as it now stands.
func CardOf(rd store.Reader, id ledger.Hash) (Card, bool, error) {
	v, ok, err := rd.Get(store.CardKey(id))
	if err != nil || !ok {
		return Card{}, false, err
	}
	c, err := decodeCard(id, v)
	return c, err == nil, err
}

func decodeCard(id ledger.Hash, v []byte) (Card, error) {
	x := r2(v)
	c := Card{ID: id, Version: x.u32()}
	copy(c.Latest[:], x.take(32))
	copy(c.Doctor[:], x.take(32))
	copy(c.Hospital[:], x.take(32))
	c.Unit, c.Reported, c.Day, c.Status = x.str(), x.i64(), x.u32(), x.str()
	f := &c.CardFields
	f.Disease, f.Class, f.Onset = x.str(), x.str(), x.str()
	copy(f.Patient[:], x.take(32))
	f.AgeBand, f.Sex, f.Home = x.u8(), x.str(), x.str()
	if len(x.b) > 0 && x.u8() == 1 {
		f.Placed, f.Place = true, ledger.Cell{Lat: int32(x.u32()), Lon: int32(x.u32())}
	}
	return c, x.err("card")
}

// CardVersions returns the transactions of card id's versions, from the
// report itself.
func CardVersions(rd store.Reader, id ledger.Hash) ([]ledger.Hash, error) {
	lo, hi := store.CardVersionRange(id)
	var out []ledger.Hash
	err := rd.Scan(lo, hi, func(_, v []byte) bool {
		out = append(out, ledger.Hash(v))
		return true
	})
	return out, err
}

// checkCard checks what a card says against the block: a district as the
// home region, an onset not after the reporting day.
func (blk *Block) checkCard(f *ledger.CardFields) error {
	code, err := region.Parse(f.Home)
	if err != nil || code.Level() != region.LevelDistrict || string(code) != f.Home {
		return reject(CodeInvalid, "home", "the patient's home district, a six-digit GB/T 2260 code")
	}
	if onset, err := ledgerDay(f.Onset); err != nil || onset > DayOf(blk.now) {
		return reject(CodeInvalid, "onset", "after the day of the report")
	}
	return nil
}

// ledgerDay is the day of a YYYY-MM-DD date (validated by the ledger).
func ledgerDay(s string) (uint32, error) {
	t, err := time.Parse(ledger.OnsetLayout, s)
	if err != nil {
		return 0, err
	}
	return uint32(t.Unix() / 86400), nil
}

// reportCard files a doctor's report card and counts it at once.
func (blk *Block) reportCard(tx *ledger.Tx, id ledger.Hash, b *ledger.ReportCard) error {
	d, ok, err := DoctorOf(blk.b, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	role, _, err := RoleOf(blk.b, &blk.m.gen, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if !ok || role != ledger.RoleDoctor {
		return reject(CodeWrongSigner, "signature", "report cards are filed by a doctor's key its hospital registered")
	}
	if err := blk.checkCard(&b.CardFields); err != nil {
		return err
	}
	c := &Card{ID: id, Latest: id, Doctor: d.Key, Hospital: d.Hospital, Unit: d.Unit, Reported: blk.now, Day: DayOf(blk.now),
		Status: "reported", CardFields: b.CardFields}
	if err := blk.count(id, id, &c.CardFields, c.Day, 1); err != nil {
		return err
	}
	if err := blk.set(store.CardVersionKey(id, 0), id[:]); err != nil {
		return err
	}
	if err := blk.set(store.CardKey(id), encodeCard(c)); err != nil {
		return err
	}
	return blk.runRules(id, &c.CardFields, c.Day)
}

// cardReview makes a card's next version.
func (blk *Block) cardReview(tx *ledger.Tx, id ledger.Hash, b *ledger.CardReview) error {
	c, ok, err := CardOf(blk.b, b.Card)
	if err != nil {
		return err
	}
	if !ok {
		return reject(CodeInvalid, "card", "no report card %s on this chain", b.Card.String()[:16])
	}
	signer := tx.Sigs[0].Key
	role, _, err := RoleOf(blk.b, &blk.m.gen, signer)
	if err != nil {
		return err
	}
	switch {
	case role == "authority", role == ledger.RoleInvestigator:
	case role == ledger.RoleHospital && signer == c.Hospital:
	default:
		return reject(CodeWrongSigner, "signature", "a card is reviewed by the hospital that reported it or the CDC (an investigator)")
	}
	if c.Status == ledger.ReviewDiscarded {
		return reject(CodeConflict, "card", "the card was discarded")
	}
	if b.Prev != c.Latest {
		return reject(CodeConflict, "prev", "not the card's latest version (%s): review what it now says", c.Latest.String()[:16])
	}
	switch b.Action {
	case ledger.ReviewDiscarded:
		if err := blk.count(id, c.ID, &c.CardFields, c.Day, -1); err != nil {
			return err
		}
	case ledger.ReviewSupplemented, ledger.ReviewRevised:
		if err := blk.checkCard(&b.Fields); err != nil {
			return err
		}
		if err := blk.count(id, c.ID, &c.CardFields, c.Day, -1); err != nil {
			return err
		}
		c.CardFields = b.Fields
		if err := blk.count(id, c.ID, &c.CardFields, c.Day, 1); err != nil {
			return err
		}
		if err := blk.runRules(c.ID, &c.CardFields, c.Day); err != nil {
			return err
		}
	}
	c.Version++
	c.Latest, c.Status = id, b.Action
	if err := blk.set(store.CardVersionKey(c.ID, c.Version), id[:]); err != nil {
		return err
	}
	return blk.set(store.CardKey(c.ID), encodeCard(&c))
}

// Classification indexes in a count.
const (
	classSuspected = iota
	classClinical
	classConfirmed
	nClasses
)

func classIndex(class string) int {
	switch class {
	case "clinical":
		return classClinical
	case "confirmed":
		return classConfirmed
	}
	return classSuspected
}

// DayCount is the cases of one disease reported on one day in one home
// region, by classification.
type DayCount struct {
	Day                            uint32
	Suspected, Clinical, Confirmed uint32
	// Last is the transaction that last changed the bucket (a district's
	// only; zero in a sum over districts).
	Last ledger.Hash
}

// Total is the day's cases of every classification.
func (d DayCount) Total() uint32 { return d.Suspected + d.Clinical + d.Confirmed }

func (d *DayCount) slot(i int) *uint32 {
	return [...]*uint32{&d.Suspected, &d.Clinical, &d.Confirmed}[i]
}

// count adds delta to f's bucket on day, card entering (1) or leaving
// (-1) it by transaction cause (the report, or a review).
func (blk *Block) count(cause, card ledger.Hash, f *ledger.CardFields, day uint32, delta int) error {
	ik := store.CardDayKey(f.Disease, f.Home, day, card)
	var err error
	if delta > 0 {
		err = blk.set(ik, nil)
	} else {
		err = blk.del(ik)
	}
	if err != nil {
		return err
	}
	if f.Placed {
		pk := store.CardPlaceKey(f.Disease, store.TileOf(f.Place.Lat), store.TileOf(f.Place.Lon), day, card)
		if delta > 0 {
			err = blk.set(pk, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(f.Place.Lat)), uint32(f.Place.Lon)))
		} else {
			err = blk.del(pk)
		}
		if err != nil {
			return err
		}
	}
	if day != DayOf(blk.now) {
		// A day before this block's changed: what was read of it, here
		// and in the blocks before, is stale.
		blk.past, blk.bounds, blk.least, blk.pastChanged = nil, nil, nil, true
	}
	k := store.CountKey(f.Disease, f.Home, day)
	d, err := blk.bucket(k, day)
	if err != nil {
		return err
	}
	p := d.slot(classIndex(f.Class))
	if delta < 0 && *p == 0 {
		return store.ErrCorrupt // a card leaving a bucket it is not in
	}
	*p = uint32(int64(*p) + int64(delta))
	d.Last = cause
	if err := blk.putBucket(k, d); err != nil {
		return err
	}
	var deltas [nClasses]int64
	deltas[classIndex(f.Class)] = int64(delta)
	return blk.moveTotals(cause, f.Disease, f.Home, day, deltas)
}

// putBucket writes count d at key k, as this block now sees it.
func (blk *Block) putBucket(k []byte, d DayCount) error {
	var x w
	for i := 0; i < nClasses; i++ {
		x.u32(*d.slot(i))
	}
	x.raw(d.Last[:])
	blk.noteBucket(k, d)
	return blk.set(k, x.b)
}

// noteBucket keeps d as the count at key k in this block.
func (blk *Block) noteBucket(k []byte, d DayCount) {
	if blk.buckets == nil {
		blk.buckets = map[string]DayCount{}
	}
	blk.buckets[string(k)] = d
}

// bucket is the count at key k (day's), as this block sees it.
func (blk *Block) bucket(k []byte, day uint32) (DayCount, error) {
	if d, ok := blk.buckets[string(k)]; ok {
		return d, nil
	}
	if blk.buckets == nil {
		blk.buckets = map[string]DayCount{}
	}
	blk.m.c.mu.Lock()
	d, ok := blk.m.c.buckets[string(k)]
	complete := blk.m.c.bucketsFrom != 0 && day >= blk.m.c.bucketsFrom
	blk.m.c.mu.Unlock()
	if ok {
		// Committed, and this block has not written it (else it would
		// be in blk.buckets): not copied, so Committed has less to merge.
		return d, nil
	}
	d = DayCount{Day: day}
	if complete {
		// A day the cache holds every bucket of: none yet.
		blk.buckets[string(k)] = d
		return d, nil
	}
	v, ok, err := blk.b.Get(k)
	if err != nil {
		return d, err
	}
	if ok {
		if d, err = decodeCount(day, v); err != nil {
			return d, err
		}
	}
	blk.buckets[string(k)] = d
	return d, nil
}

func decodeCount(day uint32, v []byte) (DayCount, error) {
	x := r2(v)
	d := DayCount{Day: day}
	for i := 0; i < nClasses; i++ {
		*d.slot(i) = x.u32()
	}
	copy(d.Last[:], x.take(32))
	return d, x.err("count")
}

// Counts returns the days from from to to on which disease was reported
// in home region home (a district), in day order; days without a report
// are left out.
func Counts(rd store.Reader, disease, home string, from, to uint32) ([]DayCount, error) {
	return countsIn(rd, store.CountRange, disease, home, from, to)
}

// countsIn is Counts on the table rangeOf bounds (district counts, or
// the totals rules run over).
func countsIn(rd store.Reader, rangeOf func(string, string, uint32, uint32) ([]byte, []byte), disease, home string, from, to uint32) ([]DayCount, error) {
	lo, hi := rangeOf(disease, home, from, to)
	var out []DayCount
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		var d DayCount
		d, derr = decodeCount(beU32(k[len(k)-4:]), v)
		out = append(out, d)
		return derr == nil
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// CountsWithin returns, day by day from from to to, the cases of disease
// reported with a home district within region (the district itself, or
// a city, province or the nation), summed over its districts.
func CountsWithin(rd store.Reader, disease string, within region.Code, from, to uint32) ([]DayCount, error) {
	lo, hi := store.CountPrefix(disease)
	byDay := map[uint32]*DayCount{}
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		rest := k[len(lo):]
		if len(rest) < 1 || len(rest) != 1+int(rest[0])+4 {
			derr = store.ErrCorrupt
			return false
		}
		home, day := region.Code(rest[1:1+int(rest[0])]), beU32(rest[len(rest)-4:])
		if day < from || day > to || !home.Within(within) {
			return true
		}
		var d DayCount
		if d, derr = decodeCount(day, v); derr != nil {
			return false
		}
		sum := byDay[day]
		if sum == nil {
			sum = &DayCount{Day: day}
			byDay[day] = sum
		}
		sum.Suspected += d.Suspected
		sum.Clinical += d.Clinical
		sum.Confirmed += d.Confirmed
		return true
	})
	if err == nil {
		err = derr
	}
	out := make([]DayCount, 0, len(byDay))
	for _, d := range byDay {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b DayCount) int { return cmp.Compare(a.Day, b.Day) })
	return out, err
}

// Publication is one version of a bucket's published figures.
type Publication struct {
	Version                        uint32
	Tx                             ledger.Hash
	Suspected, Clinical, Confirmed uint32
	Last                           ledger.Hash
}

// Publications returns the publications of a bucket, the first first.
func Publications(rd store.Reader, disease, home string, day uint32) ([]Publication, error) {
	lo, hi := store.StatsPubRange(disease, home, day)
	var out []Publication
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		x := r2(v)
		p := Publication{Version: beU32(k[len(k)-4:])}
		copy(p.Tx[:], x.take(32))
		p.Suspected, p.Clinical, p.Confirmed = x.u32(), x.u32(), x.u32()
		copy(p.Last[:], x.take(32))
		derr = x.err("publication")
		out = append(out, p)
		return derr == nil
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// BucketOf returns the counts of one bucket (zero if none).
func BucketOf(rd store.Reader, disease, home string, day uint32) (DayCount, error) {
	cs, err := Counts(rd, disease, home, day, day)
	if err != nil || len(cs) == 0 {
		return DayCount{Day: day}, err
	}
	return cs[0], nil
}

// publishStats keeps a publication of a bucket: signed by a node (or the
// chain authority), its figures this state's counts, its version the
// bucket's next, its Last the bucket's last change; refused otherwise, so
// that what is published is what every node counted.
func (blk *Block) publishStats(tx *ledger.Tx, id ledger.Hash, b *ledger.PublishStats) error {
	role, _, err := RoleOf(blk.b, &blk.m.gen, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if role != ledger.RoleNode && role != "authority" {
		return reject(CodeWrongSigner, "signature", "the statistics are published by a node")
	}
	d, err := BucketOf(blk.b, b.Disease, b.Region, b.Day)
	if err != nil {
		return err
	}
	if d.Last == (ledger.Hash{}) {
		return reject(CodeInvalid, "day", "nothing was reported for this disease, district and day")
	}
	pubs, err := Publications(blk.b, b.Disease, b.Region, b.Day)
	if err != nil {
		return err
	}
	if want := uint32(len(pubs)) + 1; b.Version != want {
		return reject(CodeConflict, "version", "the bucket's next publication is version %d", want)
	}
	if len(pubs) > 0 && pubs[len(pubs)-1].Last == d.Last {
		return reject(CodeConflict, "last", "the bucket has not changed since version %d", len(pubs))
	}
	if b.Last != d.Last || b.Suspected != d.Suspected || b.Clinical != d.Clinical || b.Confirmed != d.Confirmed {
		return reject(CodeInvalid, "last", "not the bucket's counts as they now stand")
	}
	var x w
	x.raw(id[:])
	x.u32(b.Suspected)
	x.u32(b.Clinical)
	x.u32(b.Confirmed)
	x.raw(b.Last[:])
	if err := blk.set(store.StatsPubKey(b.Disease, b.Region, b.Day, b.Version), x.b); err != nil {
		return err
	}
	// Listed with the confirmations, for the relay to carry up: the
	// parent counts its children's districts as its own level's.
	return blk.set(store.IntelConfirmKey(blk.height, id), []byte{confirmStats})
}

// confirmStats marks a publication among the confirmations a relay
// carries up (0: a confirmation, 1: a broadcast).
const confirmStats = 2

// carriedStats takes in a child's publication of a bucket (made on the
// child itself): its figures replace the child's earlier version's in
// this chain's counts, and this chain's rules run on them.
func (blk *Block) carriedStats(carrier ledger.Hash, from, origin string, b *ledger.PublishStats, fromParent bool) error {
	if fromParent || origin != from {
		return reject(CodeInvalid, "tx", "statistics come up from the child that published them")
	}
	k := store.CarriedStatsKey(from, b.Disease, b.Region, b.Day)
	var old [nClasses]uint32
	var oldVersion uint32
	if v, ok, err := blk.b.Get(k); err != nil {
		return err
	} else if ok {
		x := r2(v)
		oldVersion = x.u32()
		for i := range old {
			old[i] = x.u32()
		}
		if err := x.err("carried statistics"); err != nil {
			return err
		}
	}
	if b.Version <= oldVersion {
		return reject(CodeConflict, "tx", "version %d of this bucket of %q is here already", oldVersion, from)
	}
	if b.Day > DayOf(blk.now)+1 {
		// No chain counts a day after tomorrow (the machine's cache of
		// the counts relies on it: bucketsFrom).
		return reject(CodeInvalid, "tx", "the publication's day is after tomorrow here")
	}
	if _, err := region.Parse(b.Region); err != nil {
		return reject(CodeInvalid, "tx", "the publication's district: %v", err)
	}
	now := [nClasses]uint32{b.Suspected, b.Clinical, b.Confirmed}
	var x w
	x.u32(b.Version)
	for _, n := range now {
		x.u32(n)
	}
	if err := blk.set(k, x.b); err != nil {
		return err
	}
	ck := store.CountKey(b.Disease, b.Region, b.Day)
	d, err := blk.bucket(ck, b.Day)
	if err != nil {
		return err
	}
	for i := range now {
		p := d.slot(i)
		v := int64(*p) + int64(now[i]) - int64(old[i])
		if v < 0 {
			return store.ErrCorrupt // the child's figures were in this bucket
		}
		*p = uint32(v)
	}
	d.Last = carrier
	if b.Day != DayOf(blk.now) {
		blk.past, blk.bounds, blk.least, blk.pastChanged = nil, nil, nil, true
	}
	if err := blk.putBucket(ck, d); err != nil {
		return err
	}
	var deltas [nClasses]int64
	for i := range now {
		deltas[i] = int64(now[i]) - int64(old[i])
	}
	if err := blk.moveTotals(carrier, b.Disease, b.Region, b.Day, deltas); err != nil {
		return err
	}
	return blk.runRules(carrier, &ledger.CardFields{Disease: b.Disease, Home: b.Region}, b.Day)
}

// HomesReporting returns the home districts within region with a bucket
// of disease on day (cases reported, or once reported and revised away),
// in code order.
func HomesReporting(rd store.Reader, disease string, within region.Code, day uint32) ([]string, error) {
	lo, hi := store.CountPrefix(disease)
	var out []string
	var derr error
	err := rd.Scan(lo, hi, func(k, _ []byte) bool {
		rest := k[len(lo):]
		if len(rest) < 1 || len(rest) != 1+int(rest[0])+4 {
			derr = store.ErrCorrupt
			return false
		}
		home := region.Code(rest[1 : 1+int(rest[0])])
		if beU32(rest[len(rest)-4:]) == day && home.Within(within) {
			out = append(out, string(home))
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}
