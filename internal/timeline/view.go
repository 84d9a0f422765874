package timeline

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// View reads a timeline while Read holds it. It must not be kept after
// Read's function returns.
type View struct{ t *Timeline }

// Read calls fn with a view that holds every write committed before Read
// was called. It returns ErrNotReady, without calling fn, when the
// timeline is not loaded (or failed): the caller then reads the store.
// Writers are never held up: commits during fn queue.
func (t *Timeline) Read(fn func(v *View) error) error {
	if !t.ready.Load() {
		return ErrNotReady
	}
	t.qmu.Lock()
	n := len(t.queued)
	t.qmu.Unlock()
	if n > 0 {
		t.mu.Lock()
		t.drainLocked()
		t.mu.Unlock()
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !t.ready.Load() {
		return ErrNotReady
	}
	return fn(&View{t: t})
}

// Persons is how many persons the timeline numbers: every Person is
// below it.
func (v *View) Persons() int { return len(v.t.persons) }

// Number returns a person's number; ok is false for a person with no
// visit or encounter.
func (v *View) Number(p ledger.Pseudonym) (int32, bool) {
	n, ok := v.t.pnum[p]
	return n, ok
}

// Pseudonym returns the pseudonym of person number n.
func (v *View) Pseudonym(n int32) ledger.Pseudonym { return v.t.persons[n] }

// Strings returns an entry's via and role.
func (v *View) Strings(e *Entry) (via, role string) { return v.StringsOf(e.Strings()) }

// StringsOf returns the via and role an entry's StringsRef names.
func (v *View) StringsOf(r StringsRef) (via, role string) { return v.t.vias[r], v.t.roles[r] }

// Longest is the longest visit at a site, in seconds: a visit that
// overlaps [a, b] starts in [a - Longest, b].
func (v *View) Longest(site uint32) int64 {
	if s := v.t.sites[site]; s != nil {
		return s.longest
	}
	return 0
}

// Sites returns the numbers of the sites with visits, in order: with
// SiteVisits, a query that needs most persons' visits in a window reads
// them site by site, entries in a row, rather than person by person.
func (v *View) Sites() []uint32 {
	nums := make([]uint32, 0, len(v.t.sites))
	for n := range v.t.sites {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums
}

// Encountered reports whether any person has an encounter.
func (v *View) Encountered() bool { return len(v.t.encs) > 0 }

// from returns the entries of idx from the first that starts at or
// after from: a caller reads on while they start by its end, with no
// second search (the entry it stops at is one it reads anyway).
func (v *View) from(idx []int32, from int64) []int32 {
	lo, hi := 0, len(idx)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v.t.entry(idx[m]).In < from {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return idx[lo:]
}

// SiteVisits calls fn for each visit at a site that starts in [from,
// to], in the site index's order, until fn returns false: the entry and
// its number (Entry). Every status is included.
func (v *View) SiteVisits(site uint32, from, to int64, fn func(ref int32, e *Entry) bool) {
	s := v.t.sites[site]
	if s == nil {
		return
	}
	if s.n == 0 {
		v.visits(s.idx, from, to, fn)
		return
	}
	// A numbered line (siteLine): entries base.. in a row.
	lo, hi := 0, int(s.n)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v.t.entry(s.base+int32(m)).In < from {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i := s.base + int32(lo); i < s.base+s.n; i++ {
		e := v.t.entry(i)
		if e.In > to || !fn(i, e) {
			return
		}
	}
}

// PersonVisits calls fn for each visit of person number p that starts in
// [from, to], by start, until fn returns false: the entry and its number
// (Entry). Every status is included.
func (v *View) PersonVisits(p int32, from, to int64, fn func(ref int32, e *Entry) bool) {
	v.visits(v.t.byPerson[p], from, to, fn)
}

func (v *View) visits(idx []int32, from, to int64, fn func(ref int32, e *Entry) bool) {
	for _, i := range v.from(idx, from) {
		e := v.t.entry(i)
		if e.In > to || !fn(i, e) {
			return
		}
	}
}

// Entry returns entry number ref (SiteVisits, PersonVisits).
func (v *View) Entry(ref int32) *Entry { return v.t.entry(ref) }

// Encounters returns person number p's encounters that start in [from,
// to], by start; every status is included. The slice is the timeline's:
// read it, do not keep or change it.
func (v *View) Encounters(p int32, from, to int64) []Encounter {
	es := v.t.encs[p]
	i := sort.Search(len(es), func(i int) bool { return es[i].Start >= from })
	j := sort.Search(len(es)-i, func(j int) bool { return es[i+j].Start > to }) + i
	return es[i:j]
}

// idWant is an entry whose full id TxIDs reads: its site index key as
// numbers (so that sorting compares integers), and where its id goes.
type idWant struct {
	site    uint32
	tk, id8 uint64 // store.TimeKey(In), ID8
	i       int32
}

func (w *idWant) key(b *[keyLen]byte) []byte {
	b[0] = store.TabSiteIdx
	binary.BigEndian.PutUint32(b[1:5], w.site)
	binary.BigEndian.PutUint64(b[5:13], w.tk)
	binary.BigEndian.PutUint64(b[13:21], w.id8)
	return b[:]
}

func (w *idWant) sameKey(o *idWant) bool { return w.site == o.site && w.tk == o.tk && w.id8 == o.id8 }

// keyLen is the length of a site index key.
const keyLen = 1 + 4 + 8 + 8

// maxSkip is how many site index entries TxIDs steps over to the next
// one it wants before it seeks instead: a step costs a fraction of a
// seek, and the entries a query shows are often near each other (8, 32
// and 128 measured on a 10,000-person city: 32 was best for contacts
// and as good for chains).
const maxSkip = 32

// TxIDs returns the full record ids of entries refs (SiteVisits,
// PersonVisits), in the same order; refs may repeat, and a ref of -1
// (no entry) gets a zero id. Runs of refs in the site index's order
// (as SiteVisits gives them) read fastest. A timeline that keeps ids in
// memory (the default) answers from there. One with Options.IDsInStore
// keeps only each id's first 8 bytes in an entry, so the ids are read
// from the store's site index: sorted by key and read with one
// iterator, stepping to the next key wanted when it is near and seeking
// when not. It is meant for what an answer shows, after a query has
// decided it.
//
// With IDsInStore, the store may be newer than the view. An entry it no longer holds as
// the view has it (same key, same person) is ErrStale: the caller
// answers from the store (Fallback); it never gets a wrong id. Safe for
// concurrent use within Read.
func (v *View) TxIDs(refs []int32) ([]ledger.Hash, error) {
	out := make([]ledger.Hash, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	if v.t.keepIDs {
		for i, ref := range refs {
			if ref >= 0 {
				out[i] = v.t.id(ref)
			}
		}
		return out, nil
	}
	ws := make([]idWant, 0, len(refs))
	for i, ref := range refs {
		if ref >= 0 {
			e := v.t.entry(ref)
			ws = append(ws, idWant{site: e.Site, tk: store.TimeKey(e.In), id8: e.ID8, i: int32(i)})
		}
	}
	if len(ws) == 0 {
		return out, nil
	}
	// Sorted runs merge: a query's refs are often runs of a site's line.
	slices.SortStableFunc(ws, func(a, b idWant) int {
		if a.site != b.site {
			return cmp.Compare(a.site, b.site)
		}
		if a.tk != b.tk {
			return cmp.Compare(a.tk, b.tk)
		}
		return cmp.Compare(a.id8, b.id8)
	})
	// A large set is read in parts, each with its own iterator, on the
	// CPUs: a chain's edges want tens of thousands of ids, a seek each.
	parts := 1
	if len(ws) >= parallelIDs {
		parts = min(runtime.GOMAXPROCS(0), len(ws)/(parallelIDs/2), 8)
	}
	if parts <= 1 {
		return out, v.readIDs(ws, refs, out)
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[p] = v.readIDs(ws[p*len(ws)/parts:(p+1)*len(ws)/parts], refs, out)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parallelIDs is how many ids TxIDs reads before it splits the work.
const parallelIDs = 4096

// readIDs reads the ids ws want, sorted by key, into out (by ws[j].i)
// with one iterator.
func (v *View) readIDs(ws []idWant, refs []int32, out []ledger.Hash) error {
	lo, hi := store.TablePrefix(store.TabSiteIdx)
	cur, err := v.t.db.Cursor(lo, hi)
	if err != nil {
		return err
	}
	defer cur.Close()
	var c state.PresenceCore
	var want, seek [keyLen]byte
	j := 0
	for j < len(ws) {
		at := j
		skipped := 0
		wk := ws[j].key(&want)
		var ferr error
		// Each Range seeks to the key wanted next and steps on while the
		// next one is near; it returns having found at least that one,
		// or with ferr.
		err := cur.Range(ws[j].key(&seek), hi, func(k, val []byte) bool {
			switch bytes.Compare(k, wk) {
			case -1:
				skipped++
				return skipped < maxSkip
			case 1:
				ferr = fmt.Errorf("%w: site index entry %x is gone", ErrStale, wk)
				return false
			}
			if err := state.DecodePresenceCore(val, &c); err != nil {
				ferr = fmt.Errorf("timeline: site index entry %x: %w", k, err)
				return false
			}
			e := v.t.entry(refs[ws[j].i])
			if c.Site != e.Site || c.In != e.In || ID8(&c.TxID) != e.ID8 || c.Person != v.t.persons[e.Person] {
				ferr = fmt.Errorf("%w: site index entry %x is another visit", ErrStale, k)
				return false
			}
			out[ws[j].i] = c.TxID
			for j++; j < len(ws) && ws[j].sameKey(&ws[j-1]); j++ {
				out[ws[j].i] = c.TxID
			}
			if j == len(ws) {
				return false
			}
			skipped = 0
			wk = ws[j].key(&want)
			return true
		})
		if err == nil {
			err = ferr
		}
		if err != nil {
			return err
		}
		if j == at {
			return fmt.Errorf("%w: site index entry %x is gone", ErrStale, ws[j].key(&want))
		}
	}
	return nil
}

// TxID is TxIDs of one entry.
func (v *View) TxID(ref int32) (ledger.Hash, error) {
	ids, err := v.TxIDs([]int32{ref})
	if err != nil {
		return ledger.Hash{}, err
	}
	return ids[0], nil
}

// CompareIDs compares two record ids as bytes.Compare does, knowing
// their first 8 bytes (ID8): those decide, but for a tie, when full is
// called for both ids. A tie is rare (for random ids, 2^-64 a pair), so
// a query keeps 8 bytes and fetches the rest then; its order is exactly
// the order of the full ids.
func CompareIDs(a8, b8 uint64, full func() (a, b ledger.Hash, err error)) (int, error) {
	if a8 != b8 {
		return cmp.Compare(a8, b8), nil
	}
	a, b, err := full()
	if err != nil {
		return 0, err
	}
	return bytes.Compare(a[:], b[:]), nil
}
