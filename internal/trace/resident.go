package trace

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/record"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/timeline"
)

// contactRow is a contact before it is a Contact: small, so that sorting
// thousands of them moves little. For a visit, otx is the other's record
// (copied while its entry is at hand) and p the case's entry; for an
// encounter, o indexes encs.
type contactRow struct {
	f, t      int64
	srank     int32 // the site's (or device's) rank in id order
	pj        int32 // the other person's index in the persons met
	other     int32
	site      uint32
	o, p      int32
	strs      timeline.StringsRef
	encounter bool
	otx       ledger.Hash
}

// met is a person a contact query met: how many rows, and who.
type met struct {
	p     int32
	count int32
	pseud ledger.Pseudonym
}

// contactScratch is memory a contact query reuses: its rows, and a
// table from person number to index in the persons met (valid where
// seen holds the query's stamp, so it is never cleared).
type contactScratch struct {
	rows  []contactRow
	ps    []met
	stamp int32
	seen  []int32
	at    []int32
}

var contactScratches = sync.Pool{New: func() any { return &contactScratch{} }}

// begin starts a query over n persons.
func (s *contactScratch) begin(n int) {
	if len(s.seen) < n || s.stamp == math.MaxInt32 {
		s.seen, s.at = make([]int32, n), make([]int32, n)
		s.stamp = 0
	}
	s.stamp++
}

func (s *contactScratch) get(p int32) (int32, bool) {
	if s.seen[p] == s.stamp {
		return s.at[p], true
	}
	return 0, false
}

func (s *contactScratch) set(p, j int32) { s.seen[p], s.at[p] = s.stamp, j }

// residentContacts is Contacts read from a resident timeline: the same
// ranges, from memory. Rows are gathered small, put in order by a
// counting sort on the other person's rank and a short sort within each
// person, and only then made Contacts.
func (q *Querier) residentContacts(v *timeline.View, person ledger.Pseudonym, from, to, min int64) ([]Contact, error) {
	pn, ok := v.Number(person)
	if !ok {
		return nil, nil // no visit, no encounter
	}
	sc := contactScratches.Get().(*contactScratch)
	defer contactScratches.Put(sc)
	rows := sc.rows[:0]
	defer func() { sc.rows = rows[:0] }()
	var err error
	sites := map[uint32]*state.Site{}
	site := func(num uint32) (*state.Site, bool) {
		s := sites[num]
		if s == nil {
			if s, err = q.Site(num); err != nil {
				return nil, false
			}
			sites[num] = s
		}
		return s, true
	}
	// The case's visits, clipped; then the presences at each visit's
	// site that meet it.
	type visitAt struct {
		pref      int32
		site      uint32
		a, b      int64
		transport bool
	}
	var vs []visitAt
	v.PersonVisits(pn, from-int64(q.rules.MaxPresence/time.Second), to, func(pref int32, p *timeline.Entry) bool {
		if !p.Visible() || p.Out < from {
			return true
		}
		a, b := max(p.In, from), min2(p.Out, to)
		if b < a {
			return true
		}
		s, ok := site(p.Site)
		if !ok {
			return false
		}
		vs = append(vs, visitAt{pref: pref, site: p.Site, a: a, b: b, transport: record.TransportKinds[s.Kind]})
		return true
	})
	if err != nil {
		return nil, err
	}
	collect := func(vs []visitAt, rows []contactRow) []contactRow {
		for _, x := range vs {
			v.SiteVisits(x.site, x.a-v.Longest(x.site), x.b, func(oref int32, o *timeline.Entry) bool {
				if o.Person == pn || !o.Visible() {
					return true
				}
				f, t := max(x.a, o.In), min2(x.b, o.Out)
				if x.transport && t > f || !x.transport && t-f >= min && t > f {
					rows = append(rows, contactRow{f: f, t: t, other: o.Person, site: x.site, o: oref, p: x.pref, strs: o.Strings(), otx: o.TxID})
				}
				return true
			})
		}
		return rows
	}
	rows = collect(vs, rows)
	encs := v.Encounters(pn, from-state.MaxEncounter, to)
	for i := range encs {
		e := &encs[i]
		if !e.Visible() || e.End <= from || e.Start >= to {
			continue
		}
		if _, ok := site(e.Device); !ok {
			return nil, err
		}
		rows = append(rows, contactRow{f: max(e.Start, from), t: min2(e.End, to), other: e.Other, site: e.Device, o: int32(i), encounter: true, otx: e.TxID})
	}
	if len(rows) == 0 {
		return nil, nil
	}
	// Sites by id.
	nums := make([]uint32, 0, len(sites))
	for n := range sites {
		nums = append(nums, n)
	}
	slices.SortFunc(nums, func(a, b uint32) int { return cmp.Compare(sites[a].ID, sites[b].ID) })
	srank := make(map[uint32]int32, len(nums))
	byRank := make([]*state.Site, len(nums))
	for r, n := range nums {
		srank[n], byRank[r] = int32(r), sites[n]
	}
	// The persons met, numbered j in the order first met, then ranked by
	// pseudonym: sorted by their first 44 bits with j in the low 20,
	// then runs that share those bits by the whole pseudonym.
	sc.begin(v.Persons())
	ps := sc.ps[:0]
	defer func() { sc.ps = ps[:0] }()
	for i := range rows {
		r := &rows[i]
		r.srank = srank[r.site]
		j, ok := sc.get(r.other)
		if !ok {
			j = int32(len(ps))
			sc.set(r.other, j)
			ps = append(ps, met{p: r.other, pseud: v.Pseudonym(r.other)})
		}
		r.pj = j
		ps[j].count++
	}
	if len(ps) >= 1<<20 {
		return nil, fmt.Errorf("trace: a contact query met %d persons, more than it can rank", len(ps))
	}
	keys := make([]uint64, len(ps))
	for j := range ps {
		keys[j] = binary.BigEndian.Uint64(ps[j].pseud[:8])>>20<<20 | uint64(j)
	}
	slices.Sort(keys)
	for i := 0; i < len(keys); {
		k := i + 1
		for k < len(keys) && keys[k]>>20 == keys[i]>>20 {
			k++
		}
		if k-i > 1 {
			slices.SortFunc(keys[i:k], func(a, b uint64) int {
				return bytes.Compare(ps[a&(1<<20-1)].pseud[:], ps[b&(1<<20-1)].pseud[:])
			})
		}
		i = k
	}
	// Counting sort by person, then each person's rows by site, start,
	// end and record ids.
	start := make([]int32, len(ps))
	var n int32
	for _, k := range keys {
		j := int32(k & (1<<20 - 1))
		start[j] = n
		n += ps[j].count
	}
	order := make([]int32, len(rows))
	next := make([]int32, len(ps))
	for i := range rows {
		j := rows[i].pj
		order[start[j]+next[j]] = int32(i)
		next[j]++
	}
	ptx := func(r *contactRow) ledger.Hash {
		if r.encounter {
			return r.otx
		}
		return v.Entry(r.p).TxID
	}
	less := func(a, b *contactRow) bool {
		if a.srank != b.srank {
			return a.srank < b.srank
		}
		if a.f != b.f {
			return a.f < b.f
		}
		if a.t != b.t {
			return a.t < b.t
		}
		if a.otx != b.otx {
			return bytes.Compare(a.otx[:], b.otx[:]) < 0
		}
		x, y := ptx(a), ptx(b)
		return bytes.Compare(x[:], y[:]) < 0
	}
	for j, m := range ps {
		seg := order[start[j] : start[j]+m.count]
		if len(seg) < 16 {
			for i := 1; i < len(seg); i++ {
				for j := i; j > 0 && less(&rows[seg[j]], &rows[seg[j-1]]); j-- {
					seg[j], seg[j-1] = seg[j-1], seg[j]
				}
			}
			continue
		}
		slices.SortFunc(seg, func(a, b int32) int {
			if less(&rows[a], &rows[b]) {
				return -1
			}
			if less(&rows[b], &rows[a]) {
				return 1
			}
			return 0
		})
	}
	out := make([]Contact, len(rows))
	fill := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := &rows[order[i]]
			s := byRank[r.srank]
			c := &out[i]
			c.Person, c.Site, c.From, c.To, c.TxID = ps[r.pj].pseud, s.ID, r.f, r.t, r.otx
			if r.encounter {
				c.SiteKind, c.Via, c.CaseTxID = EncounterKind, EncounterVia, r.otx
				continue
			}
			c.SiteKind, c.CaseTxID = s.Kind, v.Entry(r.p).TxID
			c.Via, c.Role = v.StringsOf(r.strs)
		}
	}
	fill(0, len(out))
	return out, nil
}
