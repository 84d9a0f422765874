// Package timeline keeps a resident copy of the site and encounter
// indexes: every visit, by site and by person, and every proximity
// encounter, by person, in memory. Contact and chain queries over a
// whole city read millions of presences; from Pebble each costs about
// 1.5-2 µs, from here a few nanoseconds (issue 4's targets).
//
// The copy is derived, never authoritative: the store is. A Timeline is
// filled by one scan of the indexes and then kept current by a store tap
// (store.DB.Tap) that hands it every committed write to those tables, in
// commit order. Writes that commit while the scan runs are queued and
// applied after it as upserts, so the copy ends equal to the store
// whatever the interleaving (TestLoadWhileCommitting). Nothing in the
// state machine knows it exists.
//
// A query sees every write committed before it started: Read first
// applies what is queued. Writers never wait for readers: the tap only
// queues.
//
// Memory is what limits a resident timeline, and bytes per visit also
// decide how fast a chain scans millions of them: a visit is a 32-byte
// Entry and a 4-byte slot in its person's index, and a site's line
// needs no index until a write changes it after Load (siteLine). An
// Entry keeps only the first 8 bytes of its record id: they order the
// site index, and they order records as the full ids do but for a tie,
// which is rare and then resolved by reading the full ids
// (CompareIDs). The rest of each id (24 bytes: ID8 holds the first 8)
// is kept beside the entries, in chunks of its own that the scans never
// touch (about 61 bytes a visit in all, from about 80 before issue 18),
// or, with Options.IDsInStore, read
// from the store's site index for what an answer shows (View.TxIDs;
// about 38 bytes a visit, but a query reads thousands of ids).
//
// With IDsInStore the store may be ahead of a view: a commit after Read may have
// deleted or moved an entry whose id a query then reads. TxIDs then
// fails with ErrStale rather than give a wrong or partial answer, and
// the query answers from the store instead (Fallback), as when the
// timeline is not loaded: the store holds every write the view holds.
// A retry on a new view would also do, but a query that keeps meeting
// changes could retry without end; the store path always answers.
package timeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// ErrNotReady is returned by Read before Load has finished, or after the
// copy failed (Err says why). Callers then read the store.
var ErrNotReady = errors.New("timeline: not loaded")

// ErrStale is returned by View.TxIDs when the store no longer holds an
// entry of the view as the view has it: a commit after Read deleted or
// moved it. The view cannot give that entry's full record id, so a
// query that needs it answers from the store instead (Fallback), which
// holds at least every write the view holds.
var ErrStale = errors.New("timeline: an entry changed in the store after the view was taken")

// Fallback reports whether a query that read a timeline must answer
// from the store instead: the timeline is not loaded, or an entry it
// showed has since changed in the store. Any other error is the answer.
func Fallback(err error) bool { return errors.Is(err, ErrNotReady) || errors.Is(err, ErrStale) }

// Entry is one visit at a site, as its site-index entry says. It is 32
// bytes (TestEntrySize): a city holds tens of millions, and a chain's
// scan reads millions, so bytes per visit decide both memory and time.
// It keeps only the first 8 bytes of the record id, which order the
// site index and almost always decide an order by record id; the full
// id is read from the store for what an answer shows (View.TxIDs).
type Entry struct {
	In   int64
	dur  uint32 // Out - In: a presence is at most MaxPresence, checked on entry
	Site uint32
	// Person is the person's number in this timeline (View.Pseudonym).
	Person int32
	ss     uint32 // StringsRef<<8 | Status
	// ID8 is the first 8 bytes of the record id, big-endian: as numbers
	// they order as the ids' first 8 bytes do.
	ID8 uint64
}

// Out is the end of the visit.
func (e *Entry) Out() int64 { return e.In + int64(e.dur) }

// Status is the visit's status.
func (e *Entry) Status() state.Status { return state.Status(e.ss) }

// Visible reports whether the visit counts in contacts and chains.
func (e *Entry) Visible() bool { return e.Status() == state.StatusRecorded }

// StringsRef names an entry's via and role (View.StringsOf), so that a
// query can keep it instead of the strings. There are fewer than
// MaxStrings.
type StringsRef uint32

// MaxStrings bounds the distinct (via, role) pairs a timeline holds:
// an Entry packs their number in 24 bits. A store with more fails the
// timeline (queries then read the store).
const MaxStrings = 1 << 24

// Strings returns the entry's StringsRef.
func (e *Entry) Strings() StringsRef { return StringsRef(e.ss >> 8) }

// ID8 returns the first 8 bytes of a record id as Entry.ID8 holds them.
func ID8(h *ledger.Hash) uint64 { return binary.BigEndian.Uint64(h[:8]) }

// Encounter is a proximity encounter of a person, with the other person
// by number.
type Encounter struct {
	state.Encounter
	Other int32
}

// chunkBits sizes the chunks entries live in: growing never copies
// what is there (a city's entries take most of a gigabyte). A chunk's
// length is the entries it holds: all but the last are full, and the
// last is trimmed after Load (trim) and grows again by appending.
const chunkBits = 16

// siteLine is a site's entries by (In, ID8), the site index's order.
// Load reads the site index in order, so each site's entries are
// numbered one after the other: the line is then base, base+1, ...
// base+n-1, with no index (4 bytes a visit saved, and a scan reads
// entries in a row). The first write that inserts into or removes from
// a line gives it an index, idx (materialize); n is then 0. A line with
// n == 0 is idx (nil when empty).
type siteLine struct {
	base, n int32
	idx     []int32
	longest int64 // the longest visit, seconds
}

// len is how many entries the line holds.
func (s *siteLine) len() int {
	if s.n > 0 {
		return int(s.n)
	}
	return len(s.idx)
}

// at is the line's j-th entry.
func (s *siteLine) at(j int) int32 {
	if s.n > 0 {
		return s.base + int32(j)
	}
	return s.idx[j]
}

// materialize gives a numbered line an index, before a write changes it.
func (s *siteLine) materialize() {
	if s.n == 0 {
		return
	}
	s.idx = make([]int32, s.n)
	for j := range s.idx {
		s.idx[j] = s.base + int32(j)
	}
	s.n = 0
}

// Timeline is the resident copy. It is safe for concurrent use.
type Timeline struct {
	db    *store.DB
	untap func()

	mu       sync.RWMutex
	chunks   [][]Entry
	ids      [][]idTail // the entries' record ids past ID8, as chunks does, unless IDsInStore
	keepIDs  bool
	n        int32
	persons  []ledger.Pseudonym
	pnum     map[ledger.Pseudonym]int32
	byPerson [][]int32 // entries by (In, ID8)
	sites    map[uint32]*siteLine
	encs     map[int32][]Encounter // by (Start, TxID[:8])
	strs     []string              // via "\x00" role
	vias     []string              // by the same number
	roles    []string
	snum     map[string]uint32

	qmu    sync.Mutex
	queued [][]store.Op
	wake   chan struct{}
	stop   chan struct{}
	closed sync.Once

	ready atomic.Bool
	err   atomic.Pointer[error]
}

// Tables are the store tables a timeline copies.
var Tables = []byte{store.TabSiteIdx, store.TabEncounter}

// Options choose where a timeline keeps its entries' record ids.
type Options struct {
	// IDsInStore keeps 8 bytes of each record id in memory and reads
	// the rest from the store's site index when an answer shows them
	// (View.TxIDs): about 38 bytes a visit, where ids in memory take 68,
	// but contacts and chains read thousands of ids each from the store
	// (on a 100,000-person city, contacts p50 4.4 ms instead of 0.5, a
	// depth-3 chain 0.7 s instead of 0.3: docs/BENCHMARKS.md). For a
	// node whose memory is what limits it (trace.resident_ids = "store").
	IDsInStore bool
}

// New starts a timeline of db: it taps db's commits at once and queues
// them until Load. Close stops the tap.
func New(db *store.DB, o Options) *Timeline {
	t := &Timeline{db: db, keepIDs: !o.IDsInStore, pnum: map[ledger.Pseudonym]int32{}, sites: map[uint32]*siteLine{},
		encs: map[int32][]Encounter{}, snum: map[string]uint32{},
		wake: make(chan struct{}, 1), stop: make(chan struct{})}
	t.untap = db.Tap(Tables, t.tap)
	return t
}

// Close stops following the store; the timeline is no longer ready.
// Call it before closing the store.
func (t *Timeline) Close() {
	t.closed.Do(func() {
		t.untap()
		t.ready.Store(false)
		close(t.stop)
	})
}

// Err is why the timeline stopped (a damaged entry), or nil.
func (t *Timeline) Err() error {
	if p := t.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Ready reports whether Read answers.
func (t *Timeline) Ready() bool { return t.ready.Load() }

// tap queues a commit's writes and wakes the applier: the committer
// never waits for a query, nor spends its time applying.
func (t *Timeline) tap(ops []store.Op) {
	t.qmu.Lock()
	t.queued = append(t.queued, ops)
	t.qmu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// applier applies queued writes as they come, once loaded, until Close.
func (t *Timeline) applier() {
	for {
		select {
		case <-t.stop:
			return
		case <-t.wake:
			t.mu.Lock()
			t.drainLocked()
			t.mu.Unlock()
		}
	}
}

// drainLocked applies the queue in commit order; t.mu is held for
// writing, so the queue taken here is applied before any taken later.
func (t *Timeline) drainLocked() {
	t.qmu.Lock()
	q := t.queued
	t.queued = nil
	t.qmu.Unlock()
	for _, ops := range q {
		for i := range ops {
			if err := t.apply(&ops[i]); err != nil {
				t.fail(err)
				return
			}
		}
	}
}

func (t *Timeline) fail(err error) {
	err = fmt.Errorf("timeline: %w", err)
	t.err.Store(&err)
	t.ready.Store(false)
}

// Progress reports a load's progress: entries read so far.
type Progress func(entries int)

// Load fills the timeline from the store, then applies what committed
// meanwhile, and makes it ready. It reads every entry of the two
// indexes once. progress, if not nil, is called every million entries.
func (t *Timeline) Load(ctx context.Context, progress Progress) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	lo, hi := store.TablePrefix(store.TabSiteIdx)
	var derr error
	count := 0
	var core state.PresenceCore
	err := t.db.Scan(lo, hi, func(k, v []byte) bool {
		via, role, err := state.DecodePresenceBytes(v, &core)
		if err != nil {
			derr = fmt.Errorf("site index entry %x: %w", k, err)
			return false
		}
		if derr = t.appendSorted(&core, via, role); derr != nil {
			return false
		}
		count++
		if count%(1<<20) == 0 {
			if derr = ctx.Err(); derr != nil {
				return false
			}
			if progress != nil {
				progress(count)
			}
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("timeline: load: %w", err)
	}
	for _, idx := range t.byPerson {
		t.sortIdx(idx)
	}
	t.trim()
	lo, hi = store.TablePrefix(store.TabEncounter)
	err = t.db.Scan(lo, hi, func(k, v []byte) bool {
		var e state.Encounter
		if derr = state.DecodeEncounterInto(k, v, &e); derr != nil {
			return false
		}
		p := t.person(e.Person)
		t.encs[p] = append(t.encs[p], Encounter{Encounter: e, Other: t.person(e.Other)})
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("timeline: load: %w", err)
	}
	t.drainLocked()
	if err := t.Err(); err != nil {
		return err
	}
	if progress != nil {
		progress(count)
	}
	t.ready.Store(true)
	go t.applier()
	return nil
}

// Stats say what a timeline holds.
type Stats struct {
	Entries, Persons, Sites, Encounters int
	// Bytes is the memory the entries and their indexes take, roughly.
	Bytes int64
}

// Stats counts what the timeline holds.
func (t *Timeline) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := Stats{Entries: int(t.n), Persons: len(t.persons), Sites: len(t.sites)}
	for _, es := range t.encs {
		s.Encounters += len(es)
	}
	// An entry, and an int32 in its site's and its person's index.
	var entries int64
	for _, c := range t.chunks {
		entries += int64(cap(c))
	}
	idx := int64(t.n) // the persons' indexes
	for _, s := range t.sites {
		idx += int64(len(s.idx))
	}
	var ids int64
	for _, c := range t.ids {
		ids += int64(cap(c))
	}
	s.Bytes = entries*int64(unsafe.Sizeof(Entry{})) + ids*int64(len(idTail{})) + 4*idx +
		int64(s.Encounters)*int64(unsafe.Sizeof(Encounter{})) + int64(len(t.persons))*(32+8+24+48)
	return s
}

func (t *Timeline) entry(i int32) *Entry { return &t.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

// idTail is a record id past its first 8 bytes, which are its entry's
// ID8: kept beside the entries, 24 bytes a visit rather than 32.
type idTail [len(ledger.Hash{}) - 8]byte

func tailOf(h *ledger.Hash) (t idTail) {
	copy(t[:], h[8:])
	return t
}

// id is entry i's record id, when the timeline keeps ids: its ID8 and
// the tail beside it.
func (t *Timeline) id(i int32) ledger.Hash {
	var h ledger.Hash
	binary.BigEndian.PutUint64(h[:8], t.entry(i).ID8)
	copy(h[8:], t.ids[i>>chunkBits][i&(1<<chunkBits-1)][:])
	return h
}

// person numbers a pseudonym, adding it if new.
func (t *Timeline) person(p ledger.Pseudonym) int32 {
	if n, ok := t.pnum[p]; ok {
		return n
	}
	n := int32(len(t.persons))
	t.persons = append(t.persons, p)
	t.byPerson = append(t.byPerson, nil)
	t.pnum[p] = n
	return n
}

// trim gives the site and person indexes the capacity they need: a load
// grows them by appending, which leaves up to half of each unused, and
// they are a quarter of the timeline's memory.
func (t *Timeline) trim() {
	if n := len(t.chunks); n > 0 {
		t.chunks[n-1] = slices.Clip(slices.Clone(t.chunks[n-1]))
	}
	if n := len(t.ids); n > 0 {
		t.ids[n-1] = slices.Clip(slices.Clone(t.ids[n-1]))
	}
	t.persons = slices.Clip(slices.Clone(t.persons))
	t.byPerson = slices.Clip(slices.Clone(t.byPerson))
	for _, s := range t.sites {
		if s.idx != nil {
			s.idx = clip(s.idx)
		}
	}
	for i, idx := range t.byPerson {
		t.byPerson[i] = clip(idx)
	}
}

// clip returns idx in an array of its length (or idx, when that is it).
func clip(idx []int32) []int32 {
	if cap(idx) == len(idx) {
		return idx
	}
	out := make([]int32, len(idx))
	copy(out, idx)
	return out
}

// errTooManyStrings stops a timeline whose (via, role) pairs do not fit
// an Entry.
var errTooManyStrings = fmt.Errorf("more than %d distinct via and role pairs", MaxStrings)

func (t *Timeline) intern(via, role []byte) (StringsRef, error) {
	k := make([]byte, 0, len(via)+1+len(role))
	k = append(append(append(k, via...), 0), role...)
	if n, ok := t.snum[string(k)]; ok {
		return StringsRef(n), nil
	}
	if len(t.strs) >= MaxStrings {
		return 0, errTooManyStrings
	}
	n := uint32(len(t.strs))
	t.strs = append(t.strs, string(k))
	t.vias, t.roles = append(t.vias, string(via)), append(t.roles, string(role))
	t.snum[string(k)] = n
	return StringsRef(n), nil
}

// duration is a presence's length as an Entry keeps it. The consensus
// rule (MaxPresence, 30 days by default) keeps it far below 2^32
// seconds (136 years), and never negative. A negative one is a damaged
// entry; a longer one a chain whose MaxPresence is more than an Entry
// holds. Either stops the timeline (queries then read the store).
func duration(c *state.PresenceCore) (uint32, error) {
	switch d := c.Out - c.In; {
	case d < 0:
		return 0, fmt.Errorf("a presence from %d to %d ends before it starts: %w", c.In, c.Out, store.ErrCorrupt)
	case d > math.MaxUint32:
		return 0, fmt.Errorf("a presence from %d to %d is longer than the %d s an entry holds", c.In, c.Out, uint32(math.MaxUint32))
	default:
		return uint32(d), nil
	}
}

// fill sets what an entry takes from a presence but its person.
func (t *Timeline) fill(e *Entry, c *state.PresenceCore, via, role []byte) error {
	d, err := duration(c)
	if err != nil {
		return err
	}
	r, err := t.intern(via, role)
	if err != nil {
		return err
	}
	e.In, e.dur, e.Site, e.ss, e.ID8 = c.In, d, c.Site, uint32(r)<<8|uint32(c.Status), ID8(&c.TxID)
	return nil
}

// newEntry stores a new entry and returns its number.
func (t *Timeline) newEntry(c *state.PresenceCore, via, role []byte) (int32, error) {
	var e Entry
	if err := t.fill(&e, c, via, role); err != nil {
		return 0, err
	}
	e.Person = t.person(c.Person)
	t.chunks = appendChunked(t.chunks, t.n, e)
	if t.keepIDs {
		t.ids = appendChunked(t.ids, t.n, tailOf(&c.TxID))
	}
	i := t.n
	t.n++
	return i, nil
}

// appendChunked puts v at number i, the next, of chunks of 1<<chunkBits:
// growing never copies a whole chunk, and a chunk trimmed after Load
// grows in steps, to a whole chunk at most.
func appendChunked[T any](chunks [][]T, i int32, v T) [][]T {
	k := int(i) >> chunkBits
	if k == len(chunks) {
		chunks = append(chunks, make([]T, 0, 1<<chunkBits))
	}
	ch := chunks[k]
	if len(ch) == cap(ch) {
		ch = slices.Grow(ch, min(max(len(ch), 1024), 1<<chunkBits-len(ch)))
	}
	chunks[k] = append(ch, v)
	return chunks
}

func (t *Timeline) site(num uint32) *siteLine {
	s := t.sites[num]
	if s == nil {
		s = &siteLine{}
		t.sites[num] = s
	}
	return s
}

// appendSorted adds an entry that comes after every entry of its site
// (a load reads the site index in order); person lists are sorted after.
func (t *Timeline) appendSorted(c *state.PresenceCore, via, role []byte) error {
	i, err := t.newEntry(c, via, role)
	if err != nil {
		return err
	}
	e := t.entry(i)
	s := t.site(c.Site)
	switch {
	case s.n > 0 && s.base+s.n == i:
		s.n++
	case s.n == 0 && len(s.idx) == 0:
		s.base, s.n = i, 1
	default: // not in a row: cannot be, when the scan is in key order
		s.materialize()
		s.idx = append(s.idx, i)
	}
	s.longest = max(s.longest, int64(e.dur))
	t.byPerson[e.Person] = append(t.byPerson[e.Person], i)
	return nil
}

// less orders entries as their index keys do: by start, then record id.
func (t *Timeline) less(a, b int32) bool {
	x, y := t.entry(a), t.entry(b)
	if x.In != y.In {
		return x.In < y.In
	}
	return x.ID8 < y.ID8
}

func (t *Timeline) sortIdx(idx []int32) {
	sort.Slice(idx, func(i, j int) bool { return t.less(idx[i], idx[j]) })
}

// find returns where an entry keyed (in, id8) is or belongs in idx.
func (t *Timeline) find(idx []int32, in int64, id8 uint64) (int, bool) {
	return t.search(len(idx), func(j int) int32 { return idx[j] }, in, id8)
}

// findLine is find in a site's line.
func (t *Timeline) findLine(s *siteLine, in int64, id8 uint64) (int, bool) {
	return t.search(s.len(), s.at, in, id8)
}

func (t *Timeline) search(n int, at func(j int) int32, in int64, id8 uint64) (int, bool) {
	j := sort.Search(n, func(j int) bool {
		e := t.entry(at(j))
		return e.In > in || e.In == in && e.ID8 >= id8
	})
	if j < n {
		e := t.entry(at(j))
		return j, e.In == in && e.ID8 == id8
	}
	return j, false
}

func insertAt(idx []int32, j int, v int32) []int32 {
	idx = append(idx, 0)
	copy(idx[j+1:], idx[j:])
	idx[j] = v
	return idx
}

func removeAt(idx []int32, j int) []int32 {
	return append(idx[:j], idx[j+1:]...)
}

// apply applies one committed write: an upsert or delete of a site
// index or encounter entry.
func (t *Timeline) apply(op *store.Op) error {
	switch op.Key[0] {
	case store.TabSiteIdx:
		return t.applyVisit(op)
	case store.TabEncounter:
		return t.applyEncounter(op)
	}
	return nil
}

func (t *Timeline) applyVisit(op *store.Op) error {
	if len(op.Key) != 1+4+8+8 {
		return fmt.Errorf("site index key %x: %w", op.Key, store.ErrCorrupt)
	}
	num := binary.BigEndian.Uint32(op.Key[1:5])
	in := store.TimeFromKey(binary.BigEndian.Uint64(op.Key[5:13]))
	id8 := binary.BigEndian.Uint64(op.Key[13:21])
	s := t.site(num)
	j, ok := t.findLine(s, in, id8)
	var c state.PresenceCore
	var via, role []byte
	if !op.Delete {
		var err error
		if via, role, err = state.DecodePresenceBytes(op.Value, &c); err != nil {
			return fmt.Errorf("site index entry %x: %w", op.Key, err)
		}
		if c.Site != num || c.In != in || ID8(&c.TxID) != id8 {
			return fmt.Errorf("site index entry %x names another key: %w", op.Key, store.ErrCorrupt)
		}
	}
	if ok && !op.Delete {
		// A new status (a window closed, a correction): in place, when
		// the entry is still the same person's.
		if e := t.entry(s.at(j)); e.Person == t.person(c.Person) {
			if err := t.fill(e, &c, via, role); err != nil {
				return err
			}
			if t.keepIDs {
				t.ids[s.at(j)>>chunkBits][s.at(j)&(1<<chunkBits-1)] = tailOf(&c.TxID)
			}
			s.longest = max(s.longest, int64(e.dur))
			return nil
		}
	}
	if ok || !op.Delete {
		s.materialize()
	}
	if ok {
		old := t.entry(s.idx[j])
		pl := t.byPerson[old.Person]
		if k, found := t.find(pl, in, id8); found {
			t.byPerson[old.Person] = removeAt(pl, k)
		}
		s.idx = removeAt(s.idx, j)
	}
	if op.Delete {
		return nil
	}
	i, err := t.newEntry(&c, via, role)
	if err != nil {
		return err
	}
	e := t.entry(i)
	s.idx = insertAt(s.idx, j, i)
	s.longest = max(s.longest, int64(e.dur))
	pl := t.byPerson[e.Person]
	k, _ := t.find(pl, in, id8)
	t.byPerson[e.Person] = insertAt(pl, k, i)
	return nil
}

func (t *Timeline) applyEncounter(op *store.Op) error {
	if len(op.Key) != 1+32+8+8 {
		return fmt.Errorf("encounter key %x: %w", op.Key, store.ErrCorrupt)
	}
	var pp ledger.Pseudonym
	copy(pp[:], op.Key[1:33])
	start := store.TimeFromKey(binary.BigEndian.Uint64(op.Key[33:41]))
	id8 := op.Key[41:49]
	p := t.person(pp)
	es := t.encs[p]
	j := sort.Search(len(es), func(j int) bool {
		e := &es[j]
		return e.Start > start || e.Start == start && bytes.Compare(e.TxID[:8], id8) >= 0
	})
	found := j < len(es) && es[j].Start == start && bytes.Equal(es[j].TxID[:8], id8)
	if op.Delete {
		if found {
			t.encs[p] = append(es[:j], es[j+1:]...)
		}
		return nil
	}
	var e state.Encounter
	if err := state.DecodeEncounterInto(op.Key, op.Value, &e); err != nil {
		return fmt.Errorf("encounter entry %x: %w", op.Key, err)
	}
	ne := Encounter{Encounter: e, Other: t.person(e.Other)}
	if found {
		es[j] = ne
		return nil
	}
	es = append(es, Encounter{})
	copy(es[j+1:], es[j:])
	es[j] = ne
	t.encs[p] = es
	return nil
}
