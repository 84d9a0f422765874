package trace

import (
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/record"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/timeline"
)

// residentContacts is Contacts read from a resident timeline: the same
// ranges, in the same order, from memory.
func (q *Querier) residentContacts(v *timeline.View, person ledger.Pseudonym, from, to, min int64) ([]Contact, error) {
	pn, ok := v.Number(person)
	if !ok {
		return nil, nil // no visit, no encounter
	}
	var out []Contact
	var err error
	v.PersonVisits(pn, from-int64(q.rules.MaxPresence/time.Second), to, func(p *timeline.Entry) bool {
		if !p.Visible() || p.Out < from {
			return true
		}
		a, b := max(p.In, from), min2(p.Out, to)
		if b < a {
			return true
		}
		var s *state.Site
		if s, err = q.Site(p.Site); err != nil {
			return false
		}
		transport := record.TransportKinds[s.Kind]
		v.SiteVisits(p.Site, a-v.Longest(p.Site), b, func(o *timeline.Entry) bool {
			if o.Person == pn || !o.Visible() {
				return true
			}
			f, t := max(a, o.In), min2(b, o.Out)
			if transport && t > f || !transport && t-f >= min && t > f {
				via, role := v.Strings(o)
				out = append(out, Contact{Person: v.Pseudonym(o.Person), Site: s.ID, SiteKind: s.Kind, From: f, To: t,
					Role: role, Via: via, TxID: o.TxID, CaseTxID: p.TxID})
			}
			return true
		})
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, e := range v.Encounters(pn, from-state.MaxEncounter, to) {
		if !e.Visible() || e.End <= from || e.Start >= to {
			continue
		}
		s, err := q.Site(e.Device)
		if err != nil {
			return nil, err
		}
		out = append(out, Contact{Person: v.Pseudonym(e.Other), Site: s.ID, SiteKind: EncounterKind, From: max(e.Start, from), To: min2(e.End, to),
			Via: EncounterVia, TxID: e.TxID, CaseTxID: e.TxID})
	}
	SortContacts(out)
	return out, nil
}
