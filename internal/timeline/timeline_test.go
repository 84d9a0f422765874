package timeline_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/timeline"
)

// history writes random blocks to a store as the state machine would:
// new visits (site and person index), status rewrites of earlier ones,
// the odd delete, and encounters under both persons.
type history struct {
	rng     *rand.Rand
	persons []ledger.Pseudonym
	visits  []state.Presence
	nextTx  uint64
	// wide draws some starts far from the others: before 1970, about
	// 2106 (where Unix seconds leave uint32), and farther.
	wide bool
}

func newHistory(seed uint64) *history {
	h := &history{rng: rand.New(rand.NewPCG(seed, 9))}
	for i := 0; i < 12; i++ {
		var p ledger.Pseudonym
		p[0], p[1] = byte(i), 0xAB
		h.persons = append(h.persons, p)
	}
	return h
}

func (h *history) txid() ledger.Hash {
	h.nextTx++
	var id ledger.Hash
	id[0] = byte(h.rng.IntN(256)) // record ids are random: keys interleave
	id[1] = byte(h.nextTx >> 8)
	id[2] = byte(h.nextTx)
	return id
}

func (h *history) block(t testing.TB, db *store.DB, async bool) {
	t.Helper()
	b := db.NewBatch()
	for i := 0; i < 1+h.rng.IntN(8); i++ {
		switch r := h.rng.IntN(10); {
		case r < 6 || len(h.visits) == 0:
			in := int64(1_600_000_000 + h.rng.IntN(200)*60) // few distinct times: ties on start
			if h.wide && h.rng.IntN(2) == 0 {
				in = []int64{-1 << 40, -7200, -60, 0, 60, 1<<32 - 60, 1 << 32, 1<<32 + 3600, 1 << 40}[h.rng.IntN(9)]
			}
			p := state.Presence{Kind: state.PresenceVisit, Site: uint32(1 + h.rng.IntN(4)), Person: h.persons[h.rng.IntN(len(h.persons))],
				In: in, Out: in + int64(h.rng.IntN(300))*60, Via: []string{"card", "face", "qr"}[h.rng.IntN(3)], Role: []string{"", "staff"}[h.rng.IntN(2)], TxID: h.txid()}
			h.visits = append(h.visits, p)
			set(t, b, store.SiteIdxKey(p.Site, p.In, p.TxID), state.EncodePresence(&p))
			set(t, b, store.PersonKey(p.Person, p.In, p.TxID), state.EncodePresence(&p))
		case r < 8:
			p := &h.visits[h.rng.IntN(len(h.visits))]
			p.Status = state.Status(h.rng.IntN(4))
			set(t, b, store.SiteIdxKey(p.Site, p.In, p.TxID), state.EncodePresence(p))
		case r < 9:
			k := h.rng.IntN(len(h.visits))
			p := h.visits[k]
			h.visits = append(h.visits[:k], h.visits[k+1:]...)
			if err := b.Delete(store.SiteIdxKey(p.Site, p.In, p.TxID)); err != nil {
				t.Fatal(err)
			}
		default:
			a, c := h.persons[h.rng.IntN(len(h.persons))], h.persons[h.rng.IntN(len(h.persons))]
			start := int64(1_600_000_000 + h.rng.IntN(200)*60)
			e := state.Encounter{Person: a, Other: c, Device: 9, Start: start, End: start + 1 + int64(h.rng.IntN(3600)), TxID: h.txid()}
			set(t, b, store.EncounterKey(a, e.Start, e.TxID), state.EncodeEncounter(&e))
			e.Person, e.Other = c, a
			set(t, b, store.EncounterKey(c, e.Start, e.TxID), state.EncodeEncounter(&e))
		}
	}
	if !async {
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		return
	}
	wait, err := b.CommitAsync()
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

func set(t testing.TB, b *store.Batch, k, v []byte) {
	t.Helper()
	if err := b.Set(k, v); err != nil {
		t.Fatal(err)
	}
}

// dump renders what the timeline holds, site by site and person by
// person, in index order.
func dump(t *testing.T, tl *timeline.Timeline, persons []ledger.Pseudonym) string {
	t.Helper()
	var b bytes.Buffer
	err := tl.Read(func(v *timeline.View) error {
		for site := uint32(0); site < 6; site++ {
			var ferr error
			v.SiteVisits(site, -1<<62, 1<<62, func(ref int32, e *timeline.Entry) bool {
				via, role := v.Strings(e)
				// The full id, read from the store, as an answer reads it.
				id, err := v.TxID(ref)
				if err != nil {
					ferr = err
					return false
				}
				if timeline.ID8(&id) != e.ID8 {
					ferr = fmt.Errorf("entry %d: id %x, ID8 %x", ref, id, e.ID8)
					return false
				}
				fmt.Fprintf(&b, "site %d %x %d %d %x %s %s %d\n", site, v.Pseudonym(e.Person), e.In, e.Out(), id[:3], via, role, e.Status())
				return true
			})
			if ferr != nil {
				return ferr
			}
			fmt.Fprintf(&b, "site %d longest >= %v\n", site, v.Longest(site) >= 0)
		}
		for _, p := range persons {
			n, ok := v.Number(p)
			if !ok {
				continue
			}
			v.PersonVisits(n, -1<<62, 1<<62, func(_ int32, e *timeline.Entry) bool {
				fmt.Fprintf(&b, "person %x %d %d %06x %d\n", p, e.Site, e.In, e.ID8>>40, e.Status())
				return true
			})
			for _, e := range v.Encounters(n, -1<<62, 1<<62) {
				fmt.Fprintf(&b, "enc %x %x %d %d %x\n", p, v.Pseudonym(e.Other), e.Start, e.End, e.TxID[:3])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// want renders what the store holds the same way.
func want(t *testing.T, db *store.DB, persons []ledger.Pseudonym) string {
	t.Helper()
	var b bytes.Buffer
	var byPerson = map[ledger.Pseudonym][]string{}
	for site := uint32(0); site < 6; site++ {
		lo, hi := store.SiteIdxRange(site, -1<<62, 1<<62)
		err := db.Scan(lo, hi, func(k, v []byte) bool {
			p, err := state.DecodePresence(v)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "site %d %x %d %d %x %s %s %d\n", site, p.Person, p.In, p.Out, p.TxID[:3], p.Via, p.Role, p.Status)
			byPerson[p.Person] = append(byPerson[p.Person], string(store.PersonKey(p.Person, p.In, p.TxID))+fmt.Sprintf("person %x %d %d %x %d\n", p.Person, p.Site, p.In, p.TxID[:3], p.Status))
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "site %d longest >= true\n", site)
	}
	for _, p := range persons {
		rows := byPerson[p]
		sortStrings(rows)
		for _, r := range rows {
			b.WriteString(r[len(store.PersonKey(p, 0, ledger.Hash{})):])
		}
		lo, hi := store.EncounterRange(p, -1<<62, 1<<62)
		err := db.Scan(lo, hi, func(k, v []byte) bool {
			var e state.Encounter
			if err := state.DecodeEncounterInto(k, v, &e); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "enc %x %x %d %d %x\n", p, e.Other, e.Start, e.End, e.TxID[:3])
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestLoadWhileCommitting loads a timeline while blocks commit (from
// another goroutine, sync and async commits mixed), keeps committing,
// and expects the timeline to equal the store after every block.
func TestLoadWhileCommitting(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			db, err := store.Open(t.TempDir(), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			h := newHistory(seed)
			for i := 0; i < 40; i++ {
				h.block(t, db, i%2 == 0)
			}
			// Odd seeds keep the ids in the store.
			tl := timeline.New(db, timeline.Options{IDsInStore: seed%2 == 1})
			defer tl.Close()
			if err := tl.Read(func(*timeline.View) error { return nil }); err != timeline.ErrNotReady {
				t.Fatalf("Read before Load: %v, want ErrNotReady", err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; i < 40; i++ {
					h.block(t, db, i%2 == 1)
				}
			}()
			if err := tl.Load(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			<-done
			if got, w := dump(t, tl, h.persons), want(t, db, h.persons); got != w {
				t.Fatalf("after the load:\n got %s\nwant %s", got, w)
			}
			for i := 0; i < 60; i++ {
				h.block(t, db, i%3 == 0)
				if got, w := dump(t, tl, h.persons), want(t, db, h.persons); got != w {
					t.Fatalf("block %d:\n got %s\nwant %s", i, got, w)
				}
			}
			tl.Close()
			h.block(t, db, false)
			if err := tl.Read(func(*timeline.View) error { return nil }); err != timeline.ErrNotReady {
				t.Fatalf("Read after Close: %v, want ErrNotReady", err)
			}
		})
	}
}

// newTimeline opens a store in a scratch directory and a timeline of it,
// not loaded; both close when the test ends.
func newTimeline(t *testing.T, o timeline.Options) (*store.DB, *timeline.Timeline) {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tl := timeline.New(db, o)
	t.Cleanup(func() {
		tl.Close()
		db.Close()
	})
	return db, tl
}

// TestDamagedEntryStops: an entry the timeline cannot decode stops it
// (queries then read the store) and Err says why.
func TestDamagedEntryStops(t *testing.T) {
	t.Parallel()
	db, tl := newTimeline(t, timeline.Options{})
	if err := tl.Load(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	set(t, b, store.SiteIdxKey(1, 5, ledger.Hash{1}), []byte{0, 1, 2})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tl.Read(func(*timeline.View) error { return nil }); err != timeline.ErrNotReady {
		t.Fatalf("Read after a damaged entry: %v, want ErrNotReady", err)
	}
	if tl.Err() == nil || !bytes.Contains([]byte(tl.Err().Error()), []byte("corrupt")) {
		t.Fatalf("Err = %v, want a corrupt-entry error", tl.Err())
	}
}

// TestSiteVisitsWindows checks SiteVisits over random windows against the
// site's whole line filtered by start, with starts far from the others
// (before 1970, about 2106, farther) and windows that begin among them,
// on a line loaded and then kept by upserts.
func TestSiteVisitsWindows(t *testing.T) {
	t.Parallel()
	db, tl := newTimeline(t, timeline.Options{})
	h := newHistory(3)
	h.wide = true
	for i := 0; i < 60; i++ {
		h.block(t, db, false)
	}
	if err := tl.Load(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		h.block(t, db, false) // after the load: applied as upserts
	}
	edges := []int64{-1 << 62, -1 << 40, -7200, -61, -60, 0, 1, 60, 1_600_000_000, 1_600_006_000, 1<<32 - 61, 1<<32 - 60, 1 << 32, 1<<32 + 1, 1 << 40, 1 << 62}
	rng := rand.New(rand.NewPCG(4, 5))
	err := tl.Read(func(v *timeline.View) error {
		extreme := 0
		for site := uint32(1); site <= 4; site++ {
			var all []int32
			v.SiteVisits(site, -1<<62, 1<<62, func(ref int32, e *timeline.Entry) bool {
				all = append(all, ref)
				if e.In < 0 || e.In > 1<<32-1 {
					extreme++
				}
				return true
			})
			for q := 0; q < 400; q++ {
				a, b := edges[rng.IntN(len(edges))], edges[rng.IntN(len(edges))]
				if q%2 == 0 {
					a = edges[rng.IntN(len(edges))] + int64(rng.IntN(121)) - 60
				}
				a, b = min(a, b), max(a, b)
				var want, got []int32
				for _, ref := range all {
					if in := v.Entry(ref).In; in >= a && in <= b {
						want = append(want, ref)
					}
				}
				v.SiteVisits(site, a, b, func(ref int32, _ *timeline.Entry) bool {
					got = append(got, ref)
					return true
				})
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("site %d, starts in [%d, %d]: SiteVisits gives %v, the line filtered %v", site, a, b, got, want)
				}
			}
		}
		if extreme == 0 {
			t.Fatal("no start before 1970 or after 2106: the worlds are too narrow")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
