package state

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/validate"
)

// PersonHead is the tip of a person's chain: the end of the last closed
// window, the number of person blocks and the last one's hash.
type PersonHead struct {
	ClosedEnd int64
	Seq       uint64
	Hash      ledger.Hash
}

func encodePersonHead(h PersonHead) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(h.ClosedEnd))
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	return append(b, h.Hash[:]...)
}

// DecodePersonHead decodes a person chain head.
func DecodePersonHead(v []byte) (PersonHead, error) {
	if len(v) != 48 {
		return PersonHead{}, fmt.Errorf("%w: person chain head", store.ErrCorrupt)
	}
	h := PersonHead{ClosedEnd: int64(binary.BigEndian.Uint64(v)), Seq: binary.BigEndian.Uint64(v[8:])}
	copy(h.Hash[:], v[16:])
	return h, nil
}

// ReadPersonHead reads a person's chain head from r; a person with no
// closed window has the zero head.
func ReadPersonHead(r store.Reader, p ledger.Pseudonym) (PersonHead, error) {
	v, ok, err := r.Get(store.PersonHeadKey(p))
	if err != nil || !ok {
		return PersonHead{ClosedEnd: minTime}, err
	}
	return DecodePersonHead(v)
}

// minTime is before every record: no window of a new person is closed.
const minTime = -1 << 62

func (blk *Block) personHead(p ledger.Pseudonym) (PersonHead, error) {
	return ReadPersonHead(blk.b, p)
}

// seal writes a person block with the given entries and advances the
// person's head.
func (blk *Block) seal(p ledger.Pseudonym, head PersonHead, start, end int64, entries []ledger.Hash) error {
	_, err := blk.sealBlock(p, head, start, end, entries)
	return err
}

func (blk *Block) sealBlock(p ledger.Pseudonym, head PersonHead, start, end int64, entries []ledger.Hash) (ledger.Hash, error) {
	pb := &ledger.PersonBlock{Version: ledger.PersonBlockVersion, Person: p, Seq: head.Seq, WindowStart: start, WindowEnd: end,
		PrevHash: head.Hash, EntryRoot: ledger.EntriesRoot(entries), Count: uint32(len(entries)), Height: blk.height, Entries: entries}
	if err := blk.set(store.PersonBlockKey(p, head.Seq), pb.Bytes()); err != nil {
		return ledger.Hash{}, err
	}
	head.Seq++
	head.Hash = pb.Hash()
	head.ClosedEnd = max(head.ClosedEnd, end)
	return head.Hash, blk.set(store.PersonHeadKey(p), encodePersonHead(head))
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

// closeWindows decides every pending window that has closed: block time
// and data clock past its end plus grace. Windows close in order of their
// end, then person.
func (blk *Block) closeWindows() error {
	v := &blk.m.params.Validation
	until := min(blk.now, blk.clock) - int64(v.Grace/time.Second)
	lo, hi := store.PendingUpTo(until)
	var keys [][]byte
	if err := blk.b.Scan(lo, hi, func(k, _ []byte) bool {
		keys = append(keys, append([]byte(nil), k...))
		return true
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if len(k) != 1+8+32 {
			return fmt.Errorf("%w: pending marker", store.ErrCorrupt)
		}
		end := store.TimeFromKey(binary.BigEndian.Uint64(k[1:9]))
		var p ledger.Pseudonym
		copy(p[:], k[9:])
		if err := blk.closeWindow(p, end); err != nil {
			return err
		}
		if err := blk.del(k); err != nil {
			return err
		}
	}
	blk.Closed += len(keys)
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
func (blk *Block) closeWindow(p ledger.Pseudonym, end int64) error {
	v := &blk.m.params.Validation
	start := end - int64(v.Window/time.Second)
	head, err := blk.personHead(p)
	if err != nil {
		return err
	}
	var ps []Presence
	var derr error
	lo, hi := store.PersonRange(p, start, end-1)
	if err := blk.b.Scan(lo, hi, func(k, val []byte) bool {
		var o Presence
		if derr = DecodePresenceInto(val, &o); derr != nil {
			return false
		}
		if o.Visible() {
			ps = append(ps, o)
		}
		return true
	}); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	anchor, err := blk.lastAccepted(p, start)
	if err != nil {
		return err
	}
	rs := make([]validate.Rec, 0, len(ps)+1)
	byKey := map[string]int{}
	for i := range ps {
		r, err := blk.recOf(&ps[i], blk.siteAt)
		if err != nil {
			return err
		}
		byKey[r.Key] = i
		rs = append(rs, r)
	}
	if anchor != nil {
		r, err := blk.recOf(anchor, blk.siteAt)
		if err != nil {
			return err
		}
		r.Forced, r.Weight = true, 0
		rs = append(rs, r)
	}
	validate.Sort(rs)
	d, ok := validate.Decide(rs, blk.m.rules())
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
	seq := head.Seq
	sealed, err := blk.sealBlock(p, head, start, end, winners)
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
		return blk.set(store.CounterKey("clock"), binary.BigEndian.AppendUint64(nil, uint64(blk.clock)))
	}
	return nil
}

// rules converts the validation parameters for the validate package.
func (m *Machine) rules() validate.Rules {
	v := &m.params.Validation
	return validate.Rules{Speed: v.Speed, Radius: v.Radius, Slack: int64(v.Slack / time.Second)}
}
