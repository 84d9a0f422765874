package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/epiledger/epiledger/internal/feasibility"
	"github.com/epiledger/epiledger/internal/geo"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// PersonHead is the tip of a person's chain: the end of the last closed
// window, the number of person blocks and the last one's hash. It is kept
// at the front of the person's validation state (table T); the chain
// itself is the person blocks.
type PersonHead struct {
	ClosedEnd int64
	Seq       uint64
	Hash      ledger.Hash
}

// ReadPersonHead reads a person's chain head from r; a person with no
// closed window has the zero head (with ClosedEnd before every record).
func ReadPersonHead(r store.Reader, p ledger.Pseudonym) (PersonHead, error) {
	v, ok, err := r.Get(store.PersonValKey(p))
	if err != nil || !ok {
		return PersonHead{ClosedEnd: minTime}, err
	}
	return DecodePersonHead(v)
}

// DecodePersonHead decodes the chain head at the front of a validation
// state record.
func DecodePersonHead(v []byte) (PersonHead, error) {
	if len(v) < 48 {
		return PersonHead{}, fmt.Errorf("%w: person chain head", store.ErrCorrupt)
	}
	h := PersonHead{ClosedEnd: int64(binary.BigEndian.Uint64(v)), Seq: binary.BigEndian.Uint64(v[8:])}
	copy(h.Hash[:], v[16:48])
	return h, nil
}

// personVal is a person's validation state: the end of the last closed
// window; the settled chain's tail, against which a record of a still-open
// window is checked at the door without reading the settled records again
// (Stale after a late record changed the settled chain: the door then
// reads them); and the span of the person's movements, outside which no
// movement can be open. It is derived state, like the indexes.
type personVal struct {
	ClosedEnd int64
	Seq       uint64      // person blocks sealed so far
	Hash      ledger.Hash // the last person block's hash
	Tail      feasibility.Tail
	Stale     bool
	MoveLo    int64
	MoveHi    int64
}

func emptyVal() personVal {
	return personVal{ClosedEnd: minTime, MoveLo: maxTime, MoveHi: minTime}
}

// maxTime is after every record.
const maxTime = 1 << 62

func encodePersonVal(h personVal) []byte {
	var x w
	x.i64(h.ClosedEnd)
	x.i64(int64(h.Seq))
	x.raw(h.Hash[:])
	x.i64(h.MoveLo)
	x.i64(h.MoveHi)
	var flags uint8
	if h.Stale {
		flags |= 1
	}
	if h.Tail.Last != nil {
		flags |= 2
	}
	if h.Tail.Cover != nil && h.Tail.Cover != h.Tail.Last {
		flags |= 4
	}
	x.u8(flags)
	if h.Tail.Last != nil {
		encodeRec(&x, h.Tail.Last)
		if flags&4 != 0 {
			encodeRec(&x, h.Tail.Cover)
		}
	}
	a := h.Tail.Anchor
	if a.OK {
		x.u8(1)
		x.i64(a.T)
		encodeSeg(&x, &a.P)
		x.i64(a.Speed)
	} else {
		x.u8(0)
	}
	return x.b
}

func decodePersonVal(v []byte) (personVal, error) {
	x := r{b: v}
	h := personVal{ClosedEnd: x.i64(), Seq: uint64(x.i64())}
	copy(h.Hash[:], x.take(32))
	h.MoveLo, h.MoveHi = x.i64(), x.i64()
	flags := x.u8()
	h.Stale = flags&1 != 0
	if flags&2 != 0 {
		h.Tail.Last = decodeRec(&x)
		h.Tail.Cover = h.Tail.Last
		if flags&4 != 0 {
			h.Tail.Cover = decodeRec(&x)
		}
	}
	if x.u8() == 1 {
		h.Tail.Anchor = feasibility.Anchor{OK: true, T: x.i64(), P: decodeSeg(&x), Speed: x.i64()}
	}
	if err := x.err("validation state"); err != nil {
		return personVal{}, err
	}
	return h, nil
}

func encodeSeg(x *w, s *geo.Segment) {
	x.i64(s.A.LatE6)
	x.i64(s.A.LonE6)
	x.i64(s.B.LatE6)
	x.i64(s.B.LonE6)
}

func decodeSeg(x *r) geo.Segment {
	return geo.Segment{A: geo.Point{LatE6: x.i64(), LonE6: x.i64()}, B: geo.Point{LatE6: x.i64(), LonE6: x.i64()}}
}

func encodeRec(x *w, rc *feasibility.Rec) {
	x.i64(rc.In)
	x.i64(rc.Out)
	x.raw([]byte(rc.Key))
	x.u32(rc.Group[0])
	x.u32(rc.Group[1])
	x.i64(rc.Speed)
	if rc.Vehicle {
		x.u8(1)
	} else {
		x.u8(0)
	}
	for _, sg := range []*geo.Segment{rc.Start, rc.End, rc.During} {
		if sg == nil {
			x.u8(0)
			continue
		}
		x.u8(1)
		encodeSeg(x, sg)
	}
}

func decodeRec(x *r) *feasibility.Rec {
	rc := &feasibility.Rec{In: x.i64(), Out: x.i64()}
	rc.Key = string(x.take(32))
	rc.Group = [2]uint32{x.u32(), x.u32()}
	rc.Speed = x.i64()
	rc.Vehicle = x.u8() == 1
	for _, dst := range []**geo.Segment{&rc.Start, &rc.End, &rc.During} {
		if x.u8() == 1 {
			sg := decodeSeg(x)
			*dst = &sg
		}
	}
	return rc
}

// minTime is before every record: no window of a new person is closed.
const minTime = -1 << 62

// personVal reads a person's validation state, through the block's
// overlay and the machine's cache.
func (blk *Block) personVal(p ledger.Pseudonym) (personVal, error) {
	if h, ok := blk.vals[p]; ok {
		return h, nil
	}
	blk.m.c.mu.Lock()
	h, ok := blk.m.c.vals[p]
	complete := blk.m.c.valsComplete
	blk.m.c.mu.Unlock()
	if ok {
		return h, nil
	}
	if complete {
		return emptyVal(), nil
	}
	v, ok, err := blk.b.Get(store.PersonValKey(p))
	if err != nil {
		return personVal{}, err
	}
	h = emptyVal()
	if ok {
		if h, err = decodePersonVal(v); err != nil {
			return h, err
		}
	}
	// Not in this block's overlay, so what the store holds is committed:
	// it may go to the machine's cache now.
	blk.m.c.mu.Lock()
	blk.m.c.resetValsIfFull()
	blk.m.c.vals[p] = h
	blk.m.c.mu.Unlock()
	return h, nil
}

// setVal writes a person's validation state.
func (blk *Block) setVal(p ledger.Pseudonym, h personVal) error {
	blk.vals[p] = h
	return blk.set(store.PersonValKey(p), encodePersonVal(h))
}

// seal writes a person block with the given entries and records val with
// the chain advanced (sequence, hash, closed end).
func (blk *Block) seal(p ledger.Pseudonym, val personVal, start, end int64, entries []ledger.Hash) (ledger.Hash, uint64, error) {
	pb := &ledger.PersonBlock{Version: ledger.PersonBlockVersion, Person: p, Seq: val.Seq, WindowStart: start, WindowEnd: end,
		PrevHash: val.Hash, EntryRoot: ledger.EntriesRoot(entries), Count: uint32(len(entries)), Height: blk.height, Entries: entries}
	if err := blk.set(store.PersonBlockKey(p, val.Seq), pb.Bytes()); err != nil {
		return ledger.Hash{}, 0, err
	}
	seq := val.Seq
	val.Seq++
	val.Hash = pb.Hash()
	val.ClosedEnd = max(val.ClosedEnd, end)
	return val.Hash, seq, blk.setVal(p, val)
}

// advanceClock moves the data clock: the latest record time seen. Windows
// close only once the block time and the data clock have both passed
// their end plus the grace period, so a backfill of old records is not
// decided before its days have arrived.
func (blk *Block) advanceClock(t int64) {
	if t > blk.clock {
		blk.clock = t
		blk.clockDirty = true
	}
}

// closeWindows decides every open window that has closed: block time and
// data clock past its end plus grace. Windows close in order of their
// end, then person. Then the window log entries whose windows have all
// closed go, and the block's own entry is written.
func (blk *Block) closeWindows() error {
	v := &blk.m.params.Validation
	until := min(blk.now, blk.clock) - int64(v.Grace/time.Second)
	var keys []winKey
	c := &blk.m.c
	c.mu.Lock()
	if until >= c.minEnd {
		next := int64(maxTime)
		for k := range c.open {
			if k.end <= until {
				if _, mine := blk.open[k]; !mine {
					keys = append(keys, k)
				}
			} else {
				next = min(next, k.end)
			}
		}
		blk.closedAll, blk.nextMinEnd = true, next
	}
	var logsDone []uint64
	for h, last := range c.logs {
		if last <= until {
			logsDone = append(logsDone, h)
		}
	}
	c.mu.Unlock()
	for k := range blk.open {
		if k.end <= until {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, cmpWinKey)
	if len(keys) > 0 {
		// One cursor over the person index for all the closes (windows
		// read back from the store): keys come in (window end, person)
		// order, so most seeks move forward.
		plo, phi := store.TablePrefix(store.TabPerson)
		cur, err := blk.b.Cursor(plo, phi)
		if err != nil {
			return err
		}
		defer cur.Close()
		for _, wk := range keys {
			w, _ := blk.openWindow(wk)
			if err := blk.closeWindow(cur, wk); err != nil {
				return err
			}
			if w.legacy {
				if err := blk.del(wk.storeKey()); err != nil {
					return err
				}
			}
			blk.closed = append(blk.closed, wk)
			delete(blk.open, wk)
		}
		blk.Closed += len(keys)
	}
	slices.Sort(logsDone)
	for _, h := range logsDone {
		if err := blk.del(store.WinLogKey(h)); err != nil {
			return err
		}
	}
	blk.logsDone = logsDone
	if until > blk.closedUntil {
		blk.closedUntil, blk.closedUntilDirty = until, true
	}
	// The block's log entry: the windows it opened that are still open
	// (a late record's window closed above is decided already).
	var still []winKey
	for _, k := range blk.opened {
		if k.end > until {
			still = append(still, k)
			blk.logEnd = max(blk.logEnd, k.end)
		}
	}
	blk.opened = still
	if len(still) == 0 {
		return nil
	}
	return blk.set(store.WinLogKey(blk.height), encodeWinLog(still))
}

// readWindow reads the visible records of a person's window [start, end)
// from the person index.
func readWindow(cur *store.Cursor, p ledger.Pseudonym, start, end int64) ([]Presence, error) {
	var ps []Presence
	var derr error
	lo, hi := store.PersonRange(p, start, end-1)
	if err := cur.Range(lo, hi, func(k, val []byte) bool {
		var o Presence
		if derr = DecodePresenceInto(val, &o); derr != nil {
			return false
		}
		if o.Visible() {
			ps = append(ps, o)
		}
		return true
	}); err != nil {
		return nil, err
	}
	return ps, derr
}

// checkWindowCache makes every close with a cached window also read the
// window from the store and compare (tests set it: the cache must change
// speed, never results).
var checkWindowCache bool

// sameRecords compares a cached window with the stored one: the same
// records, and the same validation view of each.
func sameRecords(cached, stored []Presence, cachedRs, storedRs []feasibility.Rec) error {
	if len(cached) != len(stored) {
		return fmt.Errorf("%d records cached, %d stored", len(cached), len(stored))
	}
	byID := map[ledger.Hash]int{}
	for i := range stored {
		byID[stored[i].TxID] = i
	}
	for i := range cached {
		j, ok := byID[cached[i].TxID]
		if !ok {
			return fmt.Errorf("record %s is cached, not stored", cached[i].TxID.String()[:16])
		}
		if !bytes.Equal(encodePresence(&cached[i]), encodePresence(&stored[j])) {
			return fmt.Errorf("record %s differs from the store", cached[i].TxID.String()[:16])
		}
		if !reflect.DeepEqual(cachedRs[i], storedRs[j]) {
			return fmt.Errorf("record %s: the cached validation view differs", cached[i].TxID.String()[:16])
		}
	}
	return nil
}

// Decision is the stored outcome of the longest-chain rule for a person's
// window that had conflicting records.
type Decision struct {
	Person       ledger.Pseudonym
	WindowStart  int64
	WindowEnd    int64
	Height       uint64
	Chain        []ledger.Hash // the winning chain's records
	Rejected     []ledger.Hash
	Rival        []ledger.Hash // the strongest other story
	Weight       int64
	RivalWeight  int64
	Z            int64
	PersonBlock  uint64 // seq of the person block that sealed the winner
	PersonBlockH ledger.Hash
}

func encodeDecision(d *Decision) []byte {
	var x w
	x.raw(d.Person[:])
	x.i64(d.WindowStart)
	x.i64(d.WindowEnd)
	x.i64(int64(d.Height))
	x.i64(d.Weight)
	x.i64(d.RivalWeight)
	x.i64(d.Z)
	x.i64(int64(d.PersonBlock))
	x.raw(d.PersonBlockH[:])
	for _, l := range [][]ledger.Hash{d.Chain, d.Rejected, d.Rival} {
		x.u32(uint32(len(l)))
		for _, h := range l {
			x.raw(h[:])
		}
	}
	return x.b
}

// DecodeDecision decodes a stored decision.
func DecodeDecision(b []byte) (*Decision, error) {
	x := r{b: b}
	d := &Decision{}
	copy(d.Person[:], x.take(32))
	d.WindowStart, d.WindowEnd = x.i64(), x.i64()
	d.Height = uint64(x.i64())
	d.Weight, d.RivalWeight, d.Z = x.i64(), x.i64(), x.i64()
	d.PersonBlock = uint64(x.i64())
	copy(d.PersonBlockH[:], x.take(32))
	for _, l := range []*[]ledger.Hash{&d.Chain, &d.Rejected, &d.Rival} {
		n := int(x.u32())
		if n > len(x.b)/32 {
			x.bad = true
			break
		}
		for i := 0; i < n; i++ {
			var h ledger.Hash
			copy(h[:], x.take(32))
			*l = append(*l, h)
		}
	}
	if err := x.err("decision"); err != nil {
		return nil, err
	}
	return d, nil
}

// closeWindow applies the longest-chain rule to a person's window ending
// at end: its undecided records, anchored on the last accepted record
// before it, are reduced to the heaviest feasible chain; the rest are
// rejected (they stay on the ledger, marked, with the decision as the
// reason); the winners are sealed into a person block.
func (blk *Block) closeWindow(cur *store.Cursor, wk winKey) error {
	v := &blk.m.params.Validation
	p, end := wk.person, wk.end
	start := end - int64(v.Window/time.Second)
	val, err := blk.personVal(p)
	if err != nil {
		return err
	}
	var ps []Presence
	var rs []feasibility.Rec
	cached, ok := blk.windowRecords(wk)
	if ok {
		ps, rs = make([]Presence, len(cached), len(cached)+1), make([]feasibility.Rec, len(cached), len(cached)+1)
		for i := range cached {
			ps[i], rs[i] = cached[i].pr, cached[i].rec
		}
	}
	if !ok || checkWindowCache {
		stored, err := readWindow(cur, p, start, end)
		if err != nil {
			return err
		}
		storedRs := make([]feasibility.Rec, len(stored), len(stored)+1)
		for i := range stored {
			if storedRs[i], err = blk.recOf(&stored[i], blk.siteAt); err != nil {
				return err
			}
		}
		if ok {
			if err := sameRecords(ps, stored, rs, storedRs); err != nil {
				return fmt.Errorf("state: window cache of %s ending %d: %w", p.String()[:16], end, err)
			}
		}
		ps, rs = stored, storedRs
	}
	// The settled chain's tail, or (after a late record changed the
	// settled chain) its last accepted record read back as a forced anchor.
	var anchor *Presence
	if val.Stale {
		if anchor, err = blk.lastAccepted(p, start); err != nil {
			return err
		}
	}
	byKey := make(map[string]int, len(rs))
	for i := range rs {
		byKey[rs[i].Key] = i
	}
	if anchor != nil {
		r, err := blk.recOf(anchor, blk.siteAt)
		if err != nil {
			return err
		}
		r.Forced, r.Weight = true, 0
		rs = append(rs, r)
	}
	feasibility.Sort(rs)
	startTail := val.Tail
	if val.Stale {
		startTail = feasibility.Tail{}
	}
	d, ok := feasibility.DecideFrom(startTail, rs, blk.m.rules())
	if !ok {
		// Cannot happen: a single forced anchor is always a chain.
		return fmt.Errorf("state: no chain holds the anchor of a window")
	}
	var winners, rejected, rival []ledger.Hash
	for _, k := range d.Chain {
		if i, ok := byKey[rs[k].Key]; ok {
			winners = append(winners, ps[i].TxID)
		}
	}
	for _, k := range d.Rejected {
		rejected = append(rejected, ps[byKey[rs[k].Key]].TxID)
	}
	for _, k := range d.Rival {
		if i, ok := byKey[rs[k].Key]; ok {
			rival = append(rival, ps[i].TxID)
		}
	}
	val.Tail, val.Stale = d.Tail, false
	sealed, seq, err := blk.seal(p, val, start, end, winners)
	if err != nil {
		return err
	}
	if len(rejected) == 0 {
		return nil
	}
	dec := &Decision{Person: p, WindowStart: start, WindowEnd: end, Height: blk.height, Chain: winners, Rejected: rejected,
		Rival: rival, Weight: d.Weight, RivalWeight: d.RivalWeight, Z: int64(d.Z), PersonBlock: seq, PersonBlockH: sealed}
	dk := store.DecisionKey(p, end)
	if err := blk.set(dk, encodeDecision(dec)); err != nil {
		return err
	}
	for _, k := range d.Rejected {
		if err := blk.setStatus(&ps[byKey[rs[k].Key]], StatusRejected); err != nil {
			return err
		}
		if err := blk.set(store.RejectedKey(ps[byKey[rs[k].Key]].TxID), dk); err != nil {
			return err
		}
	}
	return nil
}

// setStatus rewrites a record's index entries with a new status.
func (blk *Block) setStatus(pr *Presence, st Status) error {
	pr.Status = st
	enc := encodePresence(pr)
	if err := blk.set(store.PersonKey(pr.Person, pr.In, pr.TxID), enc); err != nil {
		return err
	}
	if pr.Kind == PresenceVisit {
		return blk.set(store.SiteIdxKey(pr.Site, pr.In, pr.TxID), enc)
	}
	return nil
}

// lastAccepted is the person's last visible record that starts before t,
// looking back at most MaxPresence; nil if none.
func (blk *Block) lastAccepted(p ledger.Pseudonym, t int64) (*Presence, error) {
	lo, _ := store.PersonRange(p, t-int64(blk.m.params.MaxPresence/time.Second), t)
	_, hi := store.PersonRange(p, t-1, t-1)
	for tries := 0; tries < 64; tries++ {
		k, val, ok, err := blk.b.Last(lo, hi)
		if err != nil || !ok {
			return nil, err
		}
		var o Presence
		if err := DecodePresenceInto(val, &o); err != nil {
			return nil, err
		}
		if o.Visible() {
			return &o, nil
		}
		hi = k
	}
	return nil, nil
}

// flush writes what the block cached: site chain heads (in site order)
// and the data clock.
func (blk *Block) flush() error {
	nums := make([]uint32, 0, len(blk.siteHeads))
	for n := range blk.siteHeads {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	for _, n := range nums {
		h := blk.siteHeads[n]
		v := binary.BigEndian.AppendUint64(nil, h.seq)
		if err := blk.set(store.SiteHeadKey(n), append(v, h.link[:]...)); err != nil {
			return err
		}
	}
	if blk.clockDirty {
		if err := blk.set(store.CounterKey("clock"), binary.BigEndian.AppendUint64(nil, uint64(blk.clock))); err != nil {
			return err
		}
	}
	if blk.closedUntilDirty {
		return blk.set(store.CounterKey("closeduntil"), binary.BigEndian.AppendUint64(nil, uint64(blk.closedUntil)))
	}
	return nil
}

// rules converts the validation parameters for the validate package.
func (m *Machine) rules() feasibility.Rules {
	v := &m.params.Validation
	return feasibility.Rules{Speed: v.Speed, Radius: v.Radius, Slack: int64(v.Slack / time.Second)}
}
