package timeline

import (
	"sort"

	"github.com/epiledger/epiledger/internal/ledger"
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
func (v *View) Strings(e *Entry) (via, role string) { return v.StringsOf(e.strs) }

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
