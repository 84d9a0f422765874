package investigate

import (
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

// siteSweeper is a chainSource that can give a layer's probes site by
// site (chainRun.sweepProbes): one pass over every site's visits in the
// window, where reading the persons' records one by one costs a cache
// miss or two a visit (a resident timeline holds a person's visits spread
// over the whole of it, and a site's in a row). On the 100,000-person
// city a chain's third layer reads most persons.
type siteSweeper interface {
	// sites returns the numbers of the sites with visits, in order.
	sites() []uint32
	// persons is how many persons the source numbers.
	persons() int
	// encountered reports whether any person has an encounter.
	encountered() bool
	// encounters are person n's visible encounters overlapping [from, to].
	encounters(n int32, from, to int64) []encRec
}

// sweepShare is the share of the source's persons (1/sweepShare) from
// which a layer's probes are set out site by site.
const sweepShare = 16

// sweepMin is the fewest persons a layer sets out site by site: fewer
// are read one by one whatever the source's size.
const sweepMin = 256

func (s *residentSource) sites() []uint32   { return s.v.Sites() }
func (s *residentSource) persons() int      { return s.v.Persons() }
func (s *residentSource) encountered() bool { return s.v.Encountered() }
