package timeline

import (
	"errors"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// empty is a timeline with no store: apply only.
func empty() *Timeline {
	return &Timeline{pnum: map[ledger.Pseudonym]int32{}, sites: map[uint32]*siteLine{}, encs: map[int32][]Encounter{}, snum: map[string]uint32{}}
}

// FuzzApply feeds the timeline arbitrary committed writes: it must apply
// them or refuse them as corrupt, never panic, and keep its indexes
// sorted and consistent.
func FuzzApply(f *testing.F) {
	p := state.Presence{Kind: state.PresenceVisit, Site: 3, Person: ledger.Pseudonym{1}, In: 100, Out: 200, Via: "face", TxID: ledger.Hash{9}}
	f.Add(store.SiteIdxKey(p.Site, p.In, p.TxID), state.EncodePresence(&p), false)
	f.Add(store.SiteIdxKey(p.Site, p.In, p.TxID), []byte(nil), true)
	e := state.Encounter{Person: ledger.Pseudonym{1}, Other: ledger.Pseudonym{2}, Device: 4, Start: 50, End: 60, TxID: ledger.Hash{8}}
	f.Add(store.EncounterKey(e.Person, e.Start, e.TxID), state.EncodeEncounter(&e), false)
	f.Add([]byte{store.TabSiteIdx}, []byte{1, 2}, false)
	f.Fuzz(func(t *testing.T, k, v []byte, del bool) {
		if len(k) == 0 {
			return // a commit never writes an empty key
		}
		tl := empty()
		// A valid entry first, so that the write may update it.
		seed := &store.Op{Key: store.SiteIdxKey(p.Site, p.In, p.TxID), Value: state.EncodePresence(&p)}
		if err := tl.apply(seed); err != nil {
			t.Fatal(err)
		}
		if err := tl.apply(&store.Op{Key: k, Value: v, Delete: del}); err != nil && !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("apply: %v is not store.ErrCorrupt", err)
		}
		for num, s := range tl.sites {
			for i := 1; i < s.len(); i++ {
				if tl.less(s.at(i), s.at(i-1)) {
					t.Fatalf("site %d out of order", num)
				}
			}
			for j := 0; j < s.len(); j++ {
				i := s.at(j)
				if e := tl.entry(i); e.Site != num || e.Out()-e.In > s.longest {
					t.Fatalf("site %d: entry %+v, longest %d", num, e, s.longest)
				}
			}
		}
		n := 0
		for _, idx := range tl.byPerson {
			n += len(idx)
			for i := 1; i < len(idx); i++ {
				if tl.less(idx[i], idx[i-1]) {
					t.Fatal("a person's visits out of order")
				}
			}
		}
		m := 0
		for _, s := range tl.sites {
			m += s.len()
		}
		if n != m {
			t.Fatalf("%d visits by person, %d by site", n, m)
		}
	})
}
