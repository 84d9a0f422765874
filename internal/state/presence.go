package state

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/epiledger/epiledger/internal/feasibility"
	"github.com/epiledger/epiledger/internal/geo"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

func (blk *Block) visit(tx *ledger.Tx, id ledger.Hash, b *ledger.Visit) error {
	s, err := blk.signingSite("site", b.Site, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if err := blk.checkTimes("in", "out", b.In, b.Out); err != nil {
		return err
	}
	p, err := blk.person("person", b.Person)
	if err != nil {
		return err
	}
	pr := &Presence{Kind: PresenceVisit, Site: s.Num, Person: p, In: b.In, Out: b.Out, Via: b.Via, Role: b.Role, TxID: id}
	adm, err := blk.admit(pr)
	if err != nil {
		return err
	}
	enc := encodePresence(pr)
	if err := blk.set(store.PersonKey(p, b.In, id), enc); err != nil {
		return err
	}
	if err := blk.set(store.SiteIdxKey(s.Num, b.In, id), enc); err != nil {
		return err
	}
	if err := blk.growSiteDur(s.Num, b.Out-b.In); err != nil {
		return err
	}
	return blk.recorded(pr, adm, s.Num)
}

func (blk *Block) move(tx *ledger.Tx, id ledger.Hash, b *ledger.Move) error {
	from, err := blk.signingSite("from", b.From, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	to, err := blk.signingSite("to", b.To, tx.Sigs[1].Key)
	if err != nil {
		return err
	}
	if err := blk.checkTimes("depart", "arrive", b.Depart, b.Arrive); err != nil {
		return err
	}
	p, err := blk.person("person", b.Person)
	if err != nil {
		return err
	}
	pr := &Presence{Kind: PresenceMove, Site: from.Num, Site2: to.Num, Person: p, In: b.Depart, Out: b.Arrive, Via: b.Via, TxID: id}
	adm, err := blk.admit(pr)
	if err != nil {
		return err
	}
	if err := blk.set(store.PersonKey(p, b.Depart, id), encodePresence(pr)); err != nil {
		return err
	}
	return blk.recorded(pr, adm, from.Num, to.Num)
}

// growSiteDur keeps the longest presence per site, which bounds how far
// back a contact query must scan a site's index.
func (blk *Block) growSiteDur(num uint32, d int64) error {
	k := store.SiteDurKey(num)
	cur, ok := blk.dur[num]
	if !ok {
		blk.m.c.mu.Lock()
		cur, ok = blk.m.c.dur[num]
		blk.m.c.mu.Unlock()
	}
	if !ok {
		v, found, err := blk.b.Get(k)
		if err != nil {
			return err
		}
		cur = -1
		if found {
			cur = int64(binary.BigEndian.Uint64(v))
		}
		blk.dur[num] = cur
	}
	if cur >= d {
		return nil
	}
	blk.dur[num] = d
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(d))
	return blk.set(k, n[:])
}

// recorded does the bookkeeping of an admitted record: the site chains of
// its sites, the data clock, and either its open window or, when the
// window has already closed, an immediate person block.
func (blk *Block) recorded(pr *Presence, a *admitted, sites ...uint32) error {
	for _, num := range sites {
		if err := blk.appendSiteChain(num, pr.TxID); err != nil {
			return err
		}
	}
	blk.advanceClock(pr.In)
	v := &blk.m.params.Validation
	if !v.Enabled {
		return nil
	}
	_, end := v.WindowOf(pr.In)
	val := a.val
	if pr.Kind == PresenceMove {
		val.MoveLo, val.MoveHi = min(val.MoveLo, pr.In), max(val.MoveHi, pr.Out)
		if err := blk.setVal(pr.Person, val); err != nil {
			return err
		}
	}
	if end <= val.ClosedEnd {
		// A late record for a closed window: admission already checked it
		// against the settled records, so it is accepted and sealed now;
		// the settled chain's tail no longer describes it.
		val.Stale = true
		_, _, err := blk.seal(pr.Person, val, end-int64(v.Window/time.Second), end, []ledger.Hash{pr.TxID})
		return err
	}
	return blk.pendingWindow(pr, &a.rec, end)
}

// pendingWindow notes a record of a person's open window ending at end
// (rec is the record as validation sees it): the window's first record
// opens it (so that it is decided when it closes; the block's window log
// makes that durable) and starts its cache entry; later ones join the
// entry.
func (blk *Block) pendingWindow(pr *Presence, rec *feasibility.Rec, end int64) error {
	k := winKey{end: end, person: pr.Person}
	if w, ok := blk.openWindow(k); ok {
		if w.cached && !blk.noWin[k.person] {
			blk.open[k] = openWindow{recs: append(w.recs, winRec{pr: *pr, rec: *rec}), cached: true}
		}
		return nil
	}
	w := openWindow{cached: !blk.noWin[k.person] && blk.m.mayCacheWindow(k.person, len(blk.open))}
	if w.cached {
		// Most people leave a handful of records a day.
		w.recs = append(make([]winRec, 0, 8), winRec{pr: *pr, rec: *rec})
	}
	blk.open[k] = w
	// Durable through the block's window log entry (written in Finish),
	// not a marker per window.
	blk.opened = append(blk.opened, k)
	return nil
}

// siteHead is the tip of a site chain.
type siteHead struct {
	seq  uint64
	link ledger.Hash
}

// appendSiteChain adds txid to the site's chain. Heads are cached for the
// block and written once in Finish, in site order.
func (blk *Block) appendSiteChain(num uint32, txid ledger.Hash) error {
	h, ok := blk.siteHeads[num]
	if !ok {
		v, found, err := blk.b.Get(store.SiteHeadKey(num))
		if err != nil {
			return err
		}
		h = &siteHead{}
		if found {
			if len(v) != 40 {
				return fmt.Errorf("%w: site chain head", store.ErrCorrupt)
			}
			h.seq = binary.BigEndian.Uint64(v)
			copy(h.link[:], v[8:])
		}
		blk.siteHeads[num] = h
	}
	h.link = ledger.SiteLink(h.link, txid)
	val := make([]byte, 64)
	copy(val, txid[:])
	copy(val[32:], h.link[:])
	// The entry is txid||link in the state hash, but the store keeps
	// where the record is on the chain (height, index: 12 bytes that
	// compress, where the two hashes were 64 that do not): the txid is
	// that of the transaction there, each link follows from the one
	// before and the txid, and verify walks the chain from its start
	// with the blocks in hand, recomputing them, to the head, which keeps
	// the last (blocks/double.go).
	var loc [12]byte
	binary.BigEndian.PutUint64(loc[:8], blk.height)
	binary.BigEndian.PutUint32(loc[8:], blk.idx)
	if err := blk.setStored(store.SiteChainKey(num, h.seq), val, loc[:]); err != nil {
		return err
	}
	h.seq++
	return nil
}

// admit is the door: a record that is physically impossible given what the
// ledger holds for the person is refused, naming the conflicting record.
// "Holds" means the records of windows that have closed (settled: the
// longest-chain rule already chose them) and movements of any window,
// which two sites confirmed. Records of still-open windows are not judged
// here but by the longest-chain rule when the window closes, so that the
// order in which records arrive does not decide.
func (blk *Block) admit(pr *Presence) (*admitted, error) {
	if !blk.m.params.Validation.Enabled {
		return nil, nil
	}
	a := &admitted{}
	var err error
	if a.rec, err = blk.recOf(pr, blk.siteAt); err != nil {
		return nil, err
	}
	if a.val, err = blk.personVal(pr.Person); err != nil {
		return nil, err
	}
	if err := blk.door(pr, &a.rec, &a.val); err != nil {
		return nil, err
	}
	return a, nil
}

// admitted is what admission learned of a record, for its bookkeeping:
// the record as validation sees it and the person's validation state.
type admitted struct {
	rec feasibility.Rec
	val personVal
}

// door checks an admitted record, as validation sees it (rec), against
// the person's settled records and open movements (head is the person's
// validation state).
func (blk *Block) door(pr *Presence, rec *feasibility.Rec, head *personVal) error {
	v := &blk.m.params.Validation
	rules := blk.m.rules()
	// A movement between two known places must be possible in itself.
	if pr.Kind == PresenceMove && rec.Start != nil && rec.End != nil {
		m := geo.SegMeters(*rec.Start, *rec.End)
		if !geo.Reachable(m, rec.Out-rec.In, rules.Speed, rules.Radius) {
			return reject(CodeConflict, "arrive", "the movement covers %d km in %s, faster than %d km/h", m/1000, time.Duration(rec.Out-rec.In)*time.Second, rules.Speed)
		}
	}
	slack := int64(v.Slack / time.Second)
	movesNear := pr.Out+slack >= head.MoveLo && pr.In-slack <= head.MoveHi
	if _, end := v.WindowOf(pr.In); end > head.ClosedEnd && !head.Stale {
		// A record of an open window comes after every settled record:
		// checking it against them is extending the settled chain, whose
		// tail the head keeps.
		if head.Tail.Last != nil {
			if _, ok := head.Tail.Extend(rec, rules); !ok {
				return blk.conflictTail(pr.Person, &head.Tail, rec, rules)
			}
		}
		if !movesNear {
			return nil
		}
	}
	horizon := int64(v.Horizon / time.Second)
	lo, hi := store.PersonRange(pr.Person, pr.In-horizon, pr.Out+horizon)
	var settled []feasibility.Rec
	var settledP []Presence
	var derr error
	err := blk.b.Scan(lo, hi, func(k, val []byte) bool {
		var o Presence
		if derr = DecodePresenceInto(val, &o); derr != nil {
			return false
		}
		if !o.Visible() {
			return true
		}
		_, end := v.WindowOf(o.In)
		settledRec := end <= head.ClosedEnd
		if !settledRec && o.Kind != PresenceMove {
			return true
		}
		r, e := blk.recOf(&o, blk.siteAt)
		if e != nil {
			derr = e
			return false
		}
		if !settledRec {
			// An open movement: the person is travelling between two
			// sites that both confirmed it.
			if !feasibility.Compatible(&r, rec, rules) {
				derr = blk.conflict(&o, "while the person is travelling on it")
				return false
			}
			return true
		}
		settled = append(settled, r)
		settledP = append(settledP, o)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	if len(settled) == 0 {
		return nil
	}
	// Insert the new record into the settled sequence and check it.
	rs := append(settled, *rec)
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	sortIdx(rs, idx)
	chain := make([]int, len(rs))
	for i := range chain {
		chain[i] = i
	}
	if bad := feasibility.FirstInvalid(sortedRecs(rs, idx), chain, rules); bad >= 0 {
		// The culprit is the settled record next to the new one.
		pos := -1
		for i, j := range idx {
			if j == len(rs)-1 {
				pos = i
			}
		}
		if bad < pos {
			// The settled records alone break the rules (after a
			// correction, say): that is not the new record's fault.
			return nil
		}
		other := bad
		if bad == pos {
			other = pos - 1
		}
		if other < 0 {
			other = pos + 1
		}
		if other >= len(idx) {
			other = len(idx) - 1
		}
		return blk.conflict(&settledP[idx[other]], "")
	}
	return nil
}

// conflictTail names the settled record a new record conflicts with: the
// last one or the cover when incompatible, else the last.
func (blk *Block) conflictTail(p ledger.Pseudonym, t *feasibility.Tail, rec *feasibility.Rec, rules feasibility.Rules) error {
	culprit := t.Last
	if feasibility.Compatible(t.Last, rec, rules) && !feasibility.Compatible(t.Cover, rec, rules) {
		culprit = t.Cover
	}
	id := ledger.Hash([]byte(culprit.Key))
	v, ok, err := blk.b.Get(store.PersonKey(p, culprit.In, id))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: a settled record has no index entry", store.ErrCorrupt)
	}
	o, err := DecodePresence(v)
	if err != nil {
		return err
	}
	return blk.conflict(o, "")
}

// conflict builds the refusal naming a conflicting record (its kind, site,
// times and transaction id; never the person).
func (blk *Block) conflict(o *Presence, how string) error {
	s, err := blk.siteAt(o.Site)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("a visit at %q %s to %s", s.ID, ts(o.In), ts(o.Out))
	if o.Kind == PresenceMove {
		s2, err := blk.siteAt(o.Site2)
		if err != nil {
			return err
		}
		what = fmt.Sprintf("a movement from %q to %q %s to %s", s.ID, s2.ID, ts(o.In), ts(o.Out))
	}
	if how != "" {
		how = " " + how
	}
	return reject(CodeConflict, "person", "physically impossible given %s (tx %s)%s", what, o.TxID.String()[:16], how)
}

func ts(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01-02T15:04Z") }

func sortIdx(rs []feasibility.Rec, idx []int) {
	// Insertion sort by (In, Key): the slices are short.
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0; j-- {
			a, b := &rs[idx[j-1]], &rs[idx[j]]
			if a.In < b.In || a.In == b.In && a.Key <= b.Key {
				break
			}
			idx[j-1], idx[j] = idx[j], idx[j-1]
		}
	}
}

func sortedRecs(rs []feasibility.Rec, idx []int) []feasibility.Rec {
	out := make([]feasibility.Rec, len(idx))
	for i, j := range idx {
		out[i] = rs[j]
	}
	return out
}

// recOf turns a presence into what validation sees: where the person was
// at the start and end, the place group, whether it is a vehicle, the
// speed bound and the reliability.
func (blk *Block) recOf(pr *Presence, site func(uint32) (*Site, error)) (feasibility.Rec, error) {
	return recOf(&blk.m.params.Validation, pr, site)
}

func recOf(v *Validation, pr *Presence, site func(uint32) (*Site, error)) (feasibility.Rec, error) {
	r := feasibility.Rec{In: pr.In, Out: pr.Out, Key: string(pr.TxID[:])}
	s, err := site(pr.Site)
	if err != nil {
		return r, err
	}
	if pr.Kind == PresenceVisit {
		r.Group = [2]uint32{s.Num, s.ParentNum}
		r.Weight = v.Weight(pr.Via)
		if v.IsVehicle(s.Kind) {
			// Somewhere on the route, if known: a rider may board and
			// alight anywhere along it.
			r.Vehicle, r.Speed = true, v.VehicleSpeeds[s.Kind]
			r.Start = corridor(s)
		} else {
			r.Start = place(s)
		}
		r.End, r.During = r.Start, r.Start
		if pr.Role != "" {
			// A shift (staff, driver) is coarse: the worker steps out
			// of the taxi or the shop, so it is exclusive of nothing and
			// places them only at its start and end.
			r.Vehicle, r.During = false, nil
		}
		return r, nil
	}
	// A movement: in transit from the first site to the second, by means
	// nobody recorded (the unrecorded speed applies: Speed 0).
	s2, err := site(pr.Site2)
	if err != nil {
		return r, err
	}
	r.Group = [2]uint32{s.Num, s2.Num}
	r.Weight = v.MoveWeight
	r.Vehicle = true
	r.Start, r.End = whereAt(v, s), whereAt(v, s2)
	if r.Start != nil && r.End != nil {
		r.During = &geo.Segment{A: r.Start.A, B: r.End.B}
	}
	return r, nil
}

// place is a fixed site's point. The segment is the site's own, shared:
// validation never changes a segment.
func place(s *Site) *geo.Segment { return s.at }

// corridor is a vehicle's route as a segment, or nil when unknown.
func corridor(s *Site) *geo.Segment { return s.route }

// whereAt is where a person entering or leaving site s is: the site, the
// vehicle's route, or unknown.
func whereAt(v *Validation, s *Site) *geo.Segment {
	if v.IsVehicle(s.Kind) {
		return corridor(s)
	}
	return place(s)
}
