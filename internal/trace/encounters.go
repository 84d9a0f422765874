package trace

import (
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// EncounterKind is the SiteKind of a contact that a proximity device
// reported (an encounter); its Site is the device.
const EncounterKind = "encounter"

// EncounterVia is the Via of an encounter contact.
const EncounterVia = "proximity"

// Encounters returns the person's encounters that overlap [from, to] by a
// positive time, in start order. Encounters start at most
// state.MaxEncounter before they end, which bounds the range read.
func (q *Querier) Encounters(person ledger.Pseudonym, from, to int64) ([]state.Encounter, error) {
	lo, hi := store.EncounterRange(person, from-state.MaxEncounter, to)
	var out []state.Encounter
	var derr error
	err := q.r.Scan(lo, hi, func(k, v []byte) bool {
		var e state.Encounter
		if derr = state.DecodeEncounterInto(k, v, &e); derr != nil {
			return false
		}
		if e.Visible() && e.End > from && e.Start < to {
			out = append(out, e)
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// encounterContacts returns the person's encounters in [from, to] as
// contacts: the device as the site, kind EncounterKind, the meeting
// clipped to the window. Any positive time together counts: the device
// already judged the persons close enough.
func (q *Querier) encounterContacts(person ledger.Pseudonym, from, to int64) ([]Contact, error) {
	es, err := q.Encounters(person, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]Contact, 0, len(es))
	for i := range es {
		e := &es[i]
		s, err := q.Site(e.Device)
		if err != nil {
			return nil, err
		}
		out = append(out, Contact{Person: e.Other, Site: s.ID, SiteKind: EncounterKind, From: max(e.Start, from), To: min(e.End, to),
			Via: EncounterVia, TxID: e.TxID, CaseTxID: e.TxID})
	}
	return out, nil
}
