package timeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/timeline"
)

// TestEntrySize: an Entry is 32 bytes; with its two index slots, 40 a
// visit (issue 18).
func TestEntrySize(t *testing.T) {
	t.Parallel()
	if n := unsafe.Sizeof(timeline.Entry{}); n != 32 {
		t.Fatalf("Entry is %d bytes, want 32", n)
	}
}

// twinIDs are two record ids that share their first 8 bytes, and so
// tie on ID8, the second the larger.
var twinIDs = [2]ledger.Hash{
	{1, 2, 3, 4, 5, 6, 7, 8, 0x10},
	{1, 2, 3, 4, 5, 6, 7, 8, 0x20},
}

// writeVisits commits visits to the site and person indexes.
func writeVisits(t *testing.T, db *store.DB, ps ...state.Presence) {
	t.Helper()
	b := db.NewBatch()
	for i := range ps {
		p := &ps[i]
		set(t, b, store.SiteIdxKey(p.Site, p.In, p.TxID), state.EncodePresence(p))
		set(t, b, store.PersonKey(p.Person, p.In, p.TxID), state.EncodePresence(p))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

// refsOf returns the refs of a person's visits, by start.
func refsOf(v *timeline.View, p ledger.Pseudonym) []int32 {
	n, ok := v.Number(p)
	if !ok {
		return nil
	}
	var refs []int32
	v.PersonVisits(n, -1<<62, 1<<62, func(ref int32, _ *timeline.Entry) bool {
		refs = append(refs, ref)
		return true
	})
	return refs
}

// TestTxIDs: the full ids come back, from memory or the store, for refs in any
// order and repeated, also for two entries whose ids tie on ID8, at the
// same site and start (they differ only by person) or not.
func TestTxIDs(t *testing.T) {
	t.Parallel()
	for _, o := range []timeline.Options{{}, {IDsInStore: true}} {
		t.Run(fmt.Sprintf("ids in store %v", o.IDsInStore), func(t *testing.T) { testTxIDs(t, o) })
	}
}

func testTxIDs(t *testing.T, o timeline.Options) {
	db, tl := newTimeline(t, o)
	a, b := ledger.Pseudonym{0xA}, ledger.Pseudonym{0xB}
	ps := []state.Presence{
		{Kind: state.PresenceVisit, Site: 7, Person: a, In: 100, Out: 200, Via: "qr", TxID: twinIDs[0]},
		{Kind: state.PresenceVisit, Site: 7, Person: a, In: 300, Out: 400, Via: "qr", TxID: ledger.Hash{9, 9}},
		{Kind: state.PresenceVisit, Site: 8, Person: b, In: 100, Out: 250, Via: "card", TxID: twinIDs[1]},
	}
	writeVisits(t, db, ps...)
	if err := tl.Load(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	err := tl.Read(func(v *timeline.View) error {
		ra, rb := refsOf(v, a), refsOf(v, b)
		refs := []int32{rb[0], ra[1], ra[0], rb[0], ra[1]}
		want := []ledger.Hash{twinIDs[1], {9, 9}, twinIDs[0], twinIDs[1], {9, 9}}
		ids, err := v.TxIDs(refs)
		if err != nil {
			return err
		}
		for i := range want {
			if ids[i] != want[i] {
				t.Errorf("TxIDs[%d] = %x, want %x", i, ids[i], want[i])
			}
		}
		if v.Entry(ra[0]).ID8 != v.Entry(rb[0]).ID8 {
			t.Errorf("the twins' ID8 differ")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTxIDsStale: when a commit after Read deletes an entry, or puts
// another person's visit under its key, the view cannot give its id:
// TxIDs says ErrStale (Fallback), never a wrong id.
func TestTxIDsStale(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, db *store.DB, p state.Presence)
	}{
		{"deleted", func(t *testing.T, db *store.DB, p state.Presence) {
			b := db.NewBatch()
			if err := b.Delete(store.SiteIdxKey(p.Site, p.In, p.TxID)); err != nil {
				t.Fatal(err)
			}
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
		}},
		{"another person", func(t *testing.T, db *store.DB, p state.Presence) {
			p.Person = ledger.Pseudonym{0xC}
			writeVisits(t, db, p)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, tl := newTimeline(t, timeline.Options{IDsInStore: true})
			p := state.Presence{Kind: state.PresenceVisit, Site: 7, Person: ledger.Pseudonym{0xA}, In: 100, Out: 200, Via: "qr", TxID: twinIDs[0]}
			writeVisits(t, db, p)
			if err := tl.Load(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			err := tl.Read(func(v *timeline.View) error {
				refs := refsOf(v, p.Person)
				tc.change(t, db, p) // commits after the view was taken
				_, err := v.TxIDs(refs)
				return err
			})
			if !errors.Is(err, timeline.ErrStale) || !timeline.Fallback(err) {
				t.Fatalf("TxIDs after the store changed: %v, want ErrStale", err)
			}
			// A new view holds the change and answers.
			err = tl.Read(func(v *timeline.View) error {
				_, err := v.TxIDs(refsOf(v, p.Person))
				return err
			})
			if err != nil {
				t.Fatalf("TxIDs in a new view: %v", err)
			}
		})
	}
}

// TestCompareIDs: the first 8 bytes decide; on a tie, and only then,
// the full ids; an error fetching them is the answer.
func TestCompareIDs(t *testing.T) {
	t.Parallel()
	fetchErr := errors.New("fetch failed")
	for _, tc := range []struct {
		name   string
		a, b   ledger.Hash
		err    error
		want   int
		called bool
	}{
		{"first 8 smaller", ledger.Hash{1}, ledger.Hash{2}, nil, -1, false},
		{"first 8 larger", ledger.Hash{3, 0, 0, 0, 0, 0, 0, 0, 0}, ledger.Hash{2, 0xFF}, nil, 1, false},
		{"tie then smaller", twinIDs[0], twinIDs[1], nil, -1, true},
		{"tie then larger", twinIDs[1], twinIDs[0], nil, 1, true},
		{"equal", twinIDs[0], twinIDs[0], nil, 0, true},
		{"tie and fetch fails", twinIDs[0], twinIDs[1], fetchErr, 0, true},
		{"no tie, fetch would fail", ledger.Hash{1}, ledger.Hash{2}, fetchErr, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			called := false
			got, err := timeline.CompareIDs(timeline.ID8(&tc.a), timeline.ID8(&tc.b), func() (ledger.Hash, ledger.Hash, error) {
				called = true
				return tc.a, tc.b, tc.err
			})
			if called != tc.called {
				t.Errorf("full ids fetched: %v, want %v", called, tc.called)
			}
			if tc.called && tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Errorf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want || got != bytes.Compare(tc.a[:], tc.b[:]) {
				t.Errorf("CompareIDs = %d, %v, want %d", got, err, tc.want)
			}
		})
	}
}

// TestTxIDsSubsets: the ids of random subsets of a random history's
// visits, dense (where TxIDs steps) and sparse (where it seeks), in any
// order and with repeats, are the records'.
func TestTxIDsSubsets(t *testing.T) {
	t.Parallel()
	for _, o := range []timeline.Options{{}, {IDsInStore: true}} {
		t.Run(fmt.Sprintf("ids in store %v", o.IDsInStore), func(t *testing.T) { testTxIDsSubsets(t, o) })
	}
}

func testTxIDsSubsets(t *testing.T, o timeline.Options) {
	db, tl := newTimeline(t, o)
	h := newHistory(11)
	for i := 0; i < 80; i++ {
		h.block(t, db, false)
	}
	if err := tl.Load(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	type key struct {
		site uint32
		in   int64
		id8  uint64
	}
	want := map[key]ledger.Hash{}
	for _, p := range h.visits {
		want[key{p.Site, p.In, timeline.ID8(&p.TxID)}] = p.TxID
	}
	rng := rand.New(rand.NewPCG(1, 2))
	err := tl.Read(func(v *timeline.View) error {
		var all []int32
		for site := uint32(0); site < 6; site++ {
			v.SiteVisits(site, -1<<62, 1<<62, func(ref int32, _ *timeline.Entry) bool {
				all = append(all, ref)
				return true
			})
		}
		if len(all) != len(h.visits) {
			t.Fatalf("%d entries, %d visits", len(all), len(h.visits))
		}
		for _, keep := range []int{1, 2, 3, 10, 30} {
			var refs []int32
			for _, r := range all {
				if rng.IntN(keep) == 0 {
					refs = append(refs, r)
				}
				if rng.IntN(20) == 0 {
					refs = append(refs, all[rng.IntN(len(all))])
				}
			}
			rng.Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
			if keep == 1 {
				// Enough to be read in parts (parallelIDs), repeats
				// across their edges.
				for len(refs) < 20000 {
					refs = append(refs, all[rng.IntN(len(all))])
				}
			}
			ids, err := v.TxIDs(refs)
			if err != nil {
				return err
			}
			for i, r := range refs {
				e := v.Entry(r)
				if w := want[key{e.Site, e.In, e.ID8}]; ids[i] != w {
					t.Fatalf("one in %d: entry %d: id %x, want %x", keep, r, ids[i], w)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDurationOutOfRange: a visit that ends before it starts (damaged),
// or lasts 2^32 s or more (more than an Entry holds; the rules allow 30
// days by default), stops the timeline, and queries read the store.
func TestDurationOutOfRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		in, out       int64
		fits, corrupt bool
	}{
		{"ends before it starts", 100, 99, false, true},
		{"longer than 2^32 s", 0, 1 << 32, false, false},
		{"longest an entry holds", 0, 1<<32 - 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, tl := newTimeline(t, timeline.Options{})
			if err := tl.Load(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			writeVisits(t, db, state.Presence{Kind: state.PresenceVisit, Site: 1, Person: ledger.Pseudonym{1}, In: tc.in, Out: tc.out, TxID: ledger.Hash{3}})
			err := tl.Read(func(v *timeline.View) error {
				var out int64
				v.SiteVisits(1, -1<<62, 1<<62, func(_ int32, e *timeline.Entry) bool {
					out = e.Out()
					return true
				})
				if out != tc.out {
					t.Errorf("Out = %d, want %d", out, tc.out)
				}
				return nil
			})
			if tc.fits {
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				return
			}
			if !errors.Is(err, timeline.ErrNotReady) {
				t.Fatalf("Read: %v, want ErrNotReady", err)
			}
			if tl.Err() == nil || errors.Is(tl.Err(), store.ErrCorrupt) != tc.corrupt {
				t.Fatalf("Err = %v, want an error, corrupt %v", tl.Err(), tc.corrupt)
			}
		})
	}
}
