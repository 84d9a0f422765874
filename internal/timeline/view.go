package timeline

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

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
	v.visits(s.idx, from, to, fn)
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

// key is entry ref's site index key.
func (v *View) key(ref int32) []byte {
	e := v.t.entry(ref)
	var id ledger.Hash
	binary.BigEndian.PutUint64(id[:8], e.ID8)
	return store.SiteIdxKey(e.Site, e.In, id)
}

// TxIDs returns the full record ids of entries refs (SiteVisits,
// PersonVisits), in the same order; refs may repeat. An entry keeps only
// its id's first 8 bytes, so the ids are read from the store's site
// index: sorted by key and read with one iterator, each seek moving
// forward from the last. It is meant for what an answer shows, after a
// query has decided it.
//
// The store may be newer than the view. An entry it no longer holds as
// the view has it (same key, same person) is ErrStale: the caller
// answers from the store (Fallback); it never gets a wrong id. Safe for
// concurrent use within Read.
func (v *View) TxIDs(refs []int32) ([]ledger.Hash, error) {
	out := make([]ledger.Hash, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	type want struct {
		key []byte
		i   int32
	}
	ws := make([]want, len(refs))
	for i, ref := range refs {
		ws[i] = want{v.key(ref), int32(i)}
	}
	slices.SortFunc(ws, func(a, b want) int {
		if c := bytes.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	lo, hi := store.TablePrefix(store.TabSiteIdx)
	cur, err := v.t.db.Cursor(lo, hi)
	if err != nil {
		return nil, err
	}
	defer cur.Close()
	var c state.PresenceCore
	for j, w := range ws {
		if j > 0 && bytes.Equal(w.key, ws[j-1].key) {
			out[w.i] = out[ws[j-1].i]
			continue
		}
		found := false
		var derr error
		// fn stops at the first key, so the cursor's last move is a seek
		// and the next one can go on from there.
		err := cur.Range(w.key, append(bytes.Clone(w.key), 0), func(k, val []byte) bool {
			found = true
			derr = state.DecodePresenceCore(val, &c)
			return false
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return nil, fmt.Errorf("timeline: site index entry %x: %w", w.key, err)
		}
		e := v.t.entry(refs[w.i])
		if !found || c.Site != e.Site || c.In != e.In || ID8(&c.TxID) != e.ID8 || c.Person != v.t.persons[e.Person] {
			return nil, fmt.Errorf("%w: site index entry %x", ErrStale, w.key)
		}
		out[w.i] = c.TxID
	}
	return out, nil
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
