package investigate

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/timeline"
)

// sitePresence is a presence at a site as a chain reads it: its record
// id's first 8 bytes, and a reference by which the source gives the
// whole id (chainSource.keep).
type sitePresence struct {
	person  int32
	in, out int64
	tx8     uint64
	ref     int32       // the timeline's entry, or -1
	txid    ledger.Hash // the record id, when ref is -1 (the store)
}

// chainSource is where a chain reads presences and encounters: the
// store's indexes, or the resident timeline. Persons are numbered by the
// source. records, scan and number may be called from several
// goroutines.
type chainSource interface {
	// number returns a person's number.
	number(p ledger.Pseudonym) int32
	// pseudonym returns the person numbered n.
	pseudonym(n int32) ledger.Pseudonym
	// records returns person n's visible visits overlapping [from, to]
	// by a positive time, clipped to it, in start order; and their
	// visible encounters overlapping it, unclipped.
	records(n int32, from, to int64) (*personRecs, error)
	// scan calls fn for each visible visit at a site that starts in
	// [lo, hi], in the site index's order, but those of person skip.
	scan(site uint32, lo, hi int64, skip int32, fn func(o *sitePresence)) error
	// longest is the longest visit at a site, in seconds.
	longest(site uint32) (int64, error)
	// keep returns a reference to o's record for txids, valid for the
	// chain: o itself is not kept.
	keep(o *sitePresence) int32
	// txids returns the record ids of refs, in order: refs keep gave,
	// and refs of visits records gave when it left personRecs.txids
	// nil. A resident timeline reads them from the store and may fail
	// with timeline.ErrStale.
	txids(refs []int32) ([]ledger.Hash, error)
}

// storeSource reads the store's indexes and numbers persons as they come.
type storeSource struct {
	iv   *Investigator
	mu   sync.Mutex
	n    map[ledger.Pseudonym]int32
	ps   []ledger.Pseudonym
	kept []ledger.Hash // by keep's ref
}

func newStoreSource(iv *Investigator) *storeSource {
	return &storeSource{iv: iv, n: map[ledger.Pseudonym]int32{}}
}

func (s *storeSource) number(p ledger.Pseudonym) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.n[p]; ok {
		return n
	}
	n := int32(len(s.ps))
	s.ps = append(s.ps, p)
	s.n[p] = n
	return n
}

func (s *storeSource) pseudonym(n int32) ledger.Pseudonym {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ps[n]
}

func (s *storeSource) records(n int32, from, to int64) (*personRecs, error) {
	p := s.pseudonym(n)
	r := &personRecs{txids: []ledger.Hash{}}
	lo, hi := store.PersonRange(p, from-int64(s.iv.q.Rules().MaxPresence/time.Second), to)
	var o state.PresenceCore
	var derr error
	err := s.iv.r.Scan(lo, hi, func(_, v []byte) bool {
		if derr = state.DecodePresenceCore(v, &o); derr != nil {
			return false
		}
		if o.Kind == state.PresenceVisit && o.Status == state.StatusRecorded && o.Out > from && o.In < to {
			r.visits = append(r.visits, visitRec{site: o.Site, ref: int32(len(r.txids)), in: max(o.In, from), out: min2(o.Out, to), tx8: tx8(&o.TxID)})
			r.txids = append(r.txids, o.TxID)
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, err
	}
	es, err := s.iv.q.Encounters(p, from, to)
	if err != nil {
		return nil, err
	}
	for i := range es {
		e := &es[i]
		r.encs = append(r.encs, encRec{other: s.number(e.Other), device: e.Device, start: e.Start, end: e.End, txid: e.TxID})
	}
	return r, nil
}

func (s *storeSource) scan(site uint32, lo, hi int64, skip int32, fn func(o *sitePresence)) error {
	klo, khi := store.SiteIdxRange(site, lo, hi)
	var derr error
	var o state.PresenceCore
	var sp sitePresence
	err := s.iv.r.Scan(klo, khi, func(_, v []byte) bool {
		if derr = state.DecodePresenceCore(v, &o); derr != nil {
			return false
		}
		if o.Status != state.StatusRecorded {
			return true
		}
		if sp.person = s.number(o.Person); sp.person == skip {
			return true
		}
		sp.in, sp.out, sp.tx8, sp.ref, sp.txid = o.In, o.Out, tx8(&o.TxID), -1, o.TxID
		fn(&sp)
		return true
	})
	if err == nil {
		err = derr
	}
	return err
}

func (s *storeSource) longest(site uint32) (int64, error) { return s.iv.longest(site) }

func (s *storeSource) keep(o *sitePresence) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kept = append(s.kept, o.txid)
	return int32(len(s.kept) - 1)
}

func (s *storeSource) txids(refs []int32) ([]ledger.Hash, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ledger.Hash, len(refs))
	for i, r := range refs {
		out[i] = s.kept[r]
	}
	return out, nil
}

// residentSource reads a resident timeline: persons are numbered by the
// timeline, and a person it does not know (a case with no visit) gets a
// number past its own.
type residentSource struct {
	iv    *Investigator
	v     *timeline.View
	mu    sync.Mutex
	extra []ledger.Pseudonym
}

func newResidentSource(iv *Investigator, v *timeline.View) *residentSource {
	return &residentSource{iv: iv, v: v}
}

func (s *residentSource) number(p ledger.Pseudonym) int32 {
	if n, ok := s.v.Number(p); ok {
		return n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.extra {
		if q == p {
			return int32(s.v.Persons() + i)
		}
	}
	s.extra = append(s.extra, p)
	return int32(s.v.Persons() + len(s.extra) - 1)
}

func (s *residentSource) pseudonym(n int32) ledger.Pseudonym {
	if int(n) < s.v.Persons() {
		return s.v.Pseudonym(n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.extra[int(n)-s.v.Persons()]
}

func (s *residentSource) records(n int32, from, to int64) (*personRecs, error) {
	r := &personRecs{}
	if int(n) >= s.v.Persons() {
		return r, nil
	}
	s.v.PersonVisits(n, from-int64(s.iv.q.Rules().MaxPresence/time.Second), to, func(ref int32, e *timeline.Entry) bool {
		if e.Visible() && e.Out() > from && e.In < to {
			r.visits = append(r.visits, visitRec{site: e.Site, ref: ref, in: max(e.In, from), out: min2(e.Out(), to), tx8: e.ID8})
		}
		return true
	})
	r.encs = s.encounters(n, from, to)
	return r, nil
}

// encounters are person n's visible encounters overlapping [from, to].
func (s *residentSource) encounters(n int32, from, to int64) []encRec {
	var encs []encRec
	for _, e := range s.v.Encounters(n, from-state.MaxEncounter, to) {
		if e.Visible() && e.End > from && e.Start < to {
			encs = append(encs, encRec{other: e.Other, device: e.Device, start: e.Start, end: e.End, txid: e.TxID})
		}
	}
	return encs
}

func (s *residentSource) scan(site uint32, lo, hi int64, skip int32, fn func(o *sitePresence)) error {
	var sp sitePresence
	s.v.SiteVisits(site, lo, hi, func(ref int32, e *timeline.Entry) bool {
		if e.Visible() && e.Person != skip {
			sp.person, sp.in, sp.out, sp.tx8, sp.ref = e.Person, e.In, e.Out(), e.ID8, ref
			fn(&sp)
		}
		return true
	})
	return nil
}

func (s *residentSource) longest(site uint32) (int64, error) { return s.v.Longest(site), nil }

func (s *residentSource) keep(o *sitePresence) int32 { return o.ref }

func (s *residentSource) txids(refs []int32) ([]ledger.Hash, error) { return s.v.TxIDs(refs) }

// bulkSource is a chainSource that reads the records of many persons at
// once faster than one by one.
type bulkSource interface {
	// recordsOf is records of each of ps, in order.
	recordsOf(ps []int32, from, to int64) ([]*personRecs, error)
}

// sweepShare is the share of the timeline's persons (1/sweepShare) from
// which recordsOf reads their visits site by site. A person's visits are
// entries spread over the whole timeline (it holds them in site order),
// so reading them person by person costs a cache miss or two a visit;
// the sites' lines over the window are entries in a row. On the
// 100,000-person city a chain's third layer reads most persons: in its
// CPU profile the sweep took a third of the time reading them one by one
// did (docs/BENCHMARKS.md).
const sweepShare = 16

// sweepMin is the fewest persons read by a sweep: fewer are read one by
// one whatever the timeline's size.
const sweepMin = 256

// recordsOf reads the records of ps: person by person (records) for a
// few; for many, in one sweep of every site's visits over the window
// (two passes, on all CPUs: the first counts each person's visits, the
// second puts them in place), each person's then sorted as their line
// is, by (In, ID8). Both give the same records.
func (s *residentSource) recordsOf(ps []int32, from, to int64) ([]*personRecs, error) {
	out := make([]*personRecs, len(ps))
	n := s.v.Persons()
	sweep := len(ps) >= sweepMin && len(ps)*sweepShare >= n
	switch s.iv.sweep {
	case 1:
		sweep = true
	case -1:
		sweep = false
	}
	if !sweep {
		return out, parallel(len(ps), func(i int) error {
			r, err := s.records(ps[i], from, to)
			out[i] = r
			return err
		})
	}
	recs := make([]personRecs, len(ps))
	slot := make([]int32, n) // 1 + a person's place in ps; 0: not read
	for i, p := range ps {
		out[i] = &recs[i]
		if int(p) < n {
			slot[p] = int32(i) + 1
		}
	}
	earliest := from - int64(s.iv.q.Rules().MaxPresence/time.Second) // as records reads
	sites := s.v.Sites()
	parts := min(len(sites), 4*runtime.GOMAXPROCS(0))
	each := func(part int, fn func(sl, ref int32, e *timeline.Entry)) {
		for _, site := range sites[part*len(sites)/parts : (part+1)*len(sites)/parts] {
			s.v.SiteVisits(site, max(earliest, from-s.v.Longest(site)), to, func(ref int32, e *timeline.Entry) bool {
				if sl := slot[e.Person]; sl != 0 && e.Visible() && e.Out() > from && e.In < to {
					fn(sl, ref, e)
				}
				return true
			})
		}
	}
	// at[part][sl]: first the visits of person sl in the part, then
	// where the part's next one goes.
	at := make([][]int32, parts)
	_ = parallel(parts, func(part int) error {
		c := make([]int32, len(ps)+1)
		each(part, func(sl, _ int32, _ *timeline.Entry) { c[sl]++ })
		at[part] = c
		return nil
	})
	start := make([]int32, len(ps)+2) // person sl's visits are flat[start[sl]:start[sl+1]]
	var total int32
	for sl := 1; sl <= len(ps); sl++ {
		start[sl] = total
		for part := range at {
			c := at[part][sl]
			at[part][sl] = total
			total += c
		}
	}
	start[len(ps)+1] = total
	flat := make([]visitRec, total)
	_ = parallel(parts, func(part int) error {
		pos := at[part]
		each(part, func(sl, ref int32, e *timeline.Entry) {
			flat[pos[sl]] = visitRec{site: e.Site, ref: ref, in: e.In, out: e.Out(), tx8: e.ID8}
			pos[sl]++
		})
		return nil
	})
	const chunk = 1024
	return out, parallel((len(ps)+chunk-1)/chunk, func(c int) error {
		for i := c * chunk; i < min(len(ps), (c+1)*chunk); i++ {
			vs := flat[start[i+1]:start[i+2]:start[i+2]]
			slices.SortFunc(vs, func(a, b visitRec) int {
				if a.in != b.in {
					return cmp.Compare(a.in, b.in)
				}
				if a.tx8 != b.tx8 {
					return cmp.Compare(a.tx8, b.tx8)
				}
				return cmp.Compare(a.ref, b.ref)
			})
			for j := range vs {
				vs[j].in, vs[j].out = max(vs[j].in, from), min2(vs[j].out, to)
			}
			if len(vs) > 0 {
				recs[i].visits = vs
			}
			if p := ps[i]; int(p) < n && s.v.Encountered() {
				recs[i].encs = s.encounters(p, from, to)
			}
		}
		return nil
	})
}
