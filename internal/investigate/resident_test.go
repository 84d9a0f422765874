package investigate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/testnode"
	"github.com/epiledger/epiledger/internal/timeline"
	"github.com/epiledger/epiledger/internal/trace"
)

// resident returns an investigator on n that reads a resident timeline,
// loaded before fill runs (kept current by the store's tap) or after.
func resident(t testing.TB, n *node.Node, early bool, o timeline.Options, fill func()) *investigate.Investigator {
	t.Helper()
	tl := timeline.New(n.DB, o)
	t.Cleanup(tl.Close) // before the node closes
	load := func() {
		if err := tl.Load(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if early {
		load()
	}
	fill()
	if !early {
		load()
	}
	q := trace.New(n.DB, n.Query.Rules())
	q.SetTimeline(tl)
	return investigate.New(n.DB, q)
}

// storeOnly returns an investigator on n that reads the store's indexes.
func storeOnly(n *node.Node) *investigate.Investigator {
	return investigate.New(n.DB, trace.New(n.DB, n.Query.Rules()))
}

// TestResidentMatchesStore runs every investigation on random worlds
// twice, from the store's indexes and from a resident timeline, and
// expects the same answers: the brute-force twins check the store's.
func TestResidentMatchesStore(t *testing.T) {
	t.Parallel()
	var hidden atomic.Int64
	t.Cleanup(func() {
		if !t.Failed() && hidden.Load() == 0 {
			t.Error("no validated world held a record that does not count: the statuses went untested")
		}
	})
	for seed := uint64(1); seed <= 16; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 11))
			w := randomWorld(rng)
			w.moreCases(rng)
			// Odd seeds with validation: records of every status.
			opts := []testnode.Option{testnode.StoreOnly, testnode.NoValidation}
			if w.validated = seed%2 == 1; w.validated {
				opts = opts[:1]
			}
			h, n := testnode.New(t, opts...)
			ivr := resident(t, n, seed%4 < 2, timeline.Options{IDsInStore: seed%3 == 0}, func() { w.fill(t, h, n) })
			// Chains read a layer's persons site by site or person by
			// person: both, as the worlds are too small for the
			// default to sweep.
			investigate.SetSweep(ivr, []int{1, -1}[(seed/2)%2])
			// And half of them find a person's best meeting by comparing
			// every probe, where the store's chains ask a bestIndex.
			investigate.SetScanBest(ivr, seed%4 >= 2)
			if w.validated {
				hidden.Add(int64(countHidden(t, ivr)))
			}
			ivs := storeOnly(n)
			same := func(what string, a, b any, errA, errB error) {
				t.Helper()
				if errA != nil || errB != nil {
					t.Fatalf("%s: %v / %v", what, errA, errB)
				}
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("%s: resident\n%+v\nstore\n%+v", what, a, b)
				}
			}
			for q := 0; q < 12; q++ {
				p := w.p(n, rng.IntN(w.npeople+1)) // one past the world: nobody's visits
				from, to := w.window(rng)
				min := time.Duration([]int{0, 15, 30}[rng.IntN(3)]) * time.Minute
				cq := investigate.ChainQuery{Person: p, From: from, To: to, Depth: 1 + rng.IntN(3), MinOverlap: min, AllEdges: rng.IntN(2) == 0}
				if rng.IntN(2) == 0 {
					cq.Latent, cq.Infectious = int64(rng.IntN(3))*3600, int64(rng.IntN(3))*6*3600
				}
				g1, e1 := ivr.Chain(cq)
				g2, e2 := ivs.Chain(cq)
				same(fmt.Sprintf("chain %d %+v", q, cq), g1, g2, e1, e2)
				c1, e1 := ivr.Querier().Contacts(p, from, to, min)
				c2, e2 := ivs.Querier().Contacts(p, from, to, min)
				same(fmt.Sprintf("contacts %d", q), c1, c2, e1, e2)
				sq := investigate.SourcesQuery{Cases: []investigate.SourceCase{{Person: p, From: from, To: to}}, MinOverlap: min}
				s1, e1 := ivr.Sources(sq)
				s2, e2 := ivs.Sources(sq)
				same(fmt.Sprintf("sources %d", q), s1, s2, e1, e2)
				fq := investigate.FollowUpQuery{Person: p, From: from, To: to, Days: 14, MinOverlap: min}
				f1, e1 := ivr.FollowUp(fq)
				f2, e2 := ivs.FollowUp(fq)
				same(fmt.Sprintf("follow-up %d", q), f1, f2, e1, e2)
				kq := investigate.ClusterQuery{From: from, To: to, MinOverlap: min}
				k1, e1 := ivr.Clusters(kq)
				k2, e2 := ivs.Clusters(kq)
				same(fmt.Sprintf("clusters %d", q), k1, k2, e1, e2)
			}
		})
	}
}

// countHidden counts the visits of the timeline that do not count
// (rejected, annulled or amended).
func countHidden(t *testing.T, iv *investigate.Investigator) int {
	t.Helper()
	n := 0
	err := iv.Querier().Timeline().Read(func(v *timeline.View) error {
		for p := int32(0); p < int32(v.Persons()); p++ {
			v.PersonVisits(p, -1<<62, 1<<62, func(_ int32, e *timeline.Entry) bool {
				if !e.Visible() {
					n++
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
