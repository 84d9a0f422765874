package trace

import (
	"bytes"
	"cmp"
	"slices"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/record"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/timeline"
)

// contactRow is a contact before it is a Contact: small, so that sorting
// thousands of them moves little. For a visit, o and p are the other's
// and the case's entries; for an encounter, o indexes encs.
type contactRow struct {
	f, t      int64
	prank     int32 // the other person's rank in pseudonym order
	srank     int32 // the site's (or device's) rank in id order
	other     int32
	site      uint32
	o, p      int32
	encounter bool
}

// residentContacts is Contacts read from a resident timeline: the same
// ranges, from memory. Rows are gathered small, sorted by ranks, and
// only then made Contacts, in order.
func (q *Querier) residentContacts(v *timeline.View, person ledger.Pseudonym, from, to, min int64) ([]Contact, error) {
	pn, ok := v.Number(person)
	if !ok {
		return nil, nil // no visit, no encounter
	}
	var rows []contactRow
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
		transport := record.TransportKinds[s.Kind]
		v.SiteVisits(p.Site, a-v.Longest(p.Site), b, func(oref int32, o *timeline.Entry) bool {
			if o.Person == pn || !o.Visible() {
				return true
			}
			f, t := max(a, o.In), min2(b, o.Out)
			if transport && t > f || !transport && t-f >= min && t > f {
				rows = append(rows, contactRow{f: f, t: t, other: o.Person, site: p.Site, o: oref, p: pref})
			}
			return true
		})
		return true
	})
	if err != nil {
		return nil, err
	}
	encs := v.Encounters(pn, from-state.MaxEncounter, to)
	for i := range encs {
		e := &encs[i]
		if !e.Visible() || e.End <= from || e.Start >= to {
			continue
		}
		if _, ok := site(e.Device); !ok {
			return nil, err
		}
		rows = append(rows, contactRow{f: max(e.Start, from), t: min2(e.End, to), other: e.Other, site: e.Device, o: int32(i), encounter: true})
	}
	if len(rows) == 0 {
		return nil, nil
	}
	// Ranks: the persons met by pseudonym, the sites by id.
	var ps []int32
	prank := map[int32]int32{}
	for i := range rows {
		if _, ok := prank[rows[i].other]; !ok {
			prank[rows[i].other] = 0
			ps = append(ps, rows[i].other)
		}
	}
	slices.SortFunc(ps, func(a, b int32) int {
		x, y := v.Pseudonym(a), v.Pseudonym(b)
		return bytes.Compare(x[:], y[:])
	})
	for r, p := range ps {
		prank[p] = int32(r)
	}
	nums := make([]uint32, 0, len(sites))
	for n := range sites {
		nums = append(nums, n)
	}
	slices.SortFunc(nums, func(a, b uint32) int { return cmp.Compare(sites[a].ID, sites[b].ID) })
	srank := make(map[uint32]int32, len(nums))
	for r, n := range nums {
		srank[n] = int32(r)
	}
	for i := range rows {
		rows[i].prank, rows[i].srank = prank[rows[i].other], srank[rows[i].site]
	}
	tx := func(r *contactRow) (other, own ledger.Hash) {
		if r.encounter {
			return encs[r.o].TxID, encs[r.o].TxID
		}
		return v.Entry(r.o).TxID, v.Entry(r.p).TxID
	}
	slices.SortFunc(rows, func(a, b contactRow) int {
		if c := cmp.Compare(a.prank, b.prank); c != 0 {
			return c
		}
		if c := cmp.Compare(a.srank, b.srank); c != 0 {
			return c
		}
		if c := cmp.Compare(a.f, b.f); c != 0 {
			return c
		}
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		ao, ap := tx(&a)
		bo, bp := tx(&b)
		if c := bytes.Compare(ao[:], bo[:]); c != 0 {
			return c
		}
		return bytes.Compare(ap[:], bp[:])
	})
	out := make([]Contact, len(rows))
	for i := range rows {
		r := &rows[i]
		s := sites[r.site]
		c := &out[i]
		c.Person, c.Site, c.From, c.To = v.Pseudonym(r.other), s.ID, r.f, r.t
		if r.encounter {
			c.SiteKind, c.Via, c.TxID, c.CaseTxID = EncounterKind, EncounterVia, encs[r.o].TxID, encs[r.o].TxID
			continue
		}
		o := v.Entry(r.o)
		c.SiteKind, c.TxID, c.CaseTxID = s.Kind, o.TxID, v.Entry(r.p).TxID
		c.Via, c.Role = v.Strings(o)
	}
	return out, nil
}
