package investigate

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBestIndexMatchesComparingAll: on random sites (few persons, several
// probes each, times on a small grid so that starts, ends and overlaps
// tie), every presence in start order gets from bestIndex the meeting
// that comparing it with every probe of another person picks: the
// earliest start, then the latest end, then the smaller record id.
func TestBestIndexMatchesComparingAll(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 400; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		c := &chainRun{min: int64([]int{0, 3, 10}[rng.IntN(3)])}
		transport := rng.IntN(3) == 0
		persons := 1 + rng.IntN(5)
		span := func() (int64, int64) {
			a := int64(rng.IntN(60))
			return a, a + 1 + int64(rng.IntN(30))
		}
		ps := make([]probe, rng.IntN(30))
		tx := rng.Perm(len(ps) + 1000) // distinct record ids
		for i := range ps {
			a, b := span()
			ps[i] = probe{a: a, b: b, who: int32(rng.IntN(persons)), fref: int32(i), tx8: uint64(tx[i])}
		}
		slices.SortFunc(ps, func(x, y probe) int { return cmp.Compare(x.a, y.a) })
		pres := make([]sitePresence, 1+rng.IntN(30))
		for i := range pres {
			pres[i].in, pres[i].out = span()
			pres[i].person = int32(rng.IntN(persons + 1))
		}
		slices.SortFunc(pres, func(x, y sitePresence) int { return cmp.Compare(x.in, y.in) })
		x := c.newBestIndex(ps, transport)
		for oi := range pres {
			o := &pres[oi]
			x.reach(o.in)
			j, f, tt := x.best(o)
			want, wf, wt := int32(-1), int64(0), int64(0)
			for i := range ps {
				p := &ps[i]
				pf, pt := max(p.a, o.in), min2(p.b, o.out)
				if p.who == o.person || pt <= pf || !transport && pt-pf < c.min {
					continue
				}
				if want < 0 || pf < wf || pf == wf && (pt > wt || pt == wt && p.tx8 < ps[want].tx8) {
					want, wf, wt = int32(i), pf, pt
				}
			}
			what := fmt.Sprintf("seed %d: presence %+v (min %d, transport %v) among %+v", seed, *o, c.min, transport, ps)
			if j != want || want >= 0 && (f != wf || tt != wt) {
				t.Fatalf("%s: got probe %d [%d, %d], want %d [%d, %d]", what, j, f, tt, want, wf, wt)
			}
		}
	}
}

// TestSortOnCPUs: the halves sorted apart and merged are the sort.
func TestSortOnCPUs(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 4095, 4096, 10001} {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		xs := make([]int, n)
		for i := range xs {
			xs[i] = rng.IntN(n/3 + 1) // ties
		}
		want := slices.Clone(xs)
		slices.Sort(want)
		if got := sortOnCPUs(xs, cmp.Compare[int]); !slices.Equal(got, want) {
			t.Fatalf("n=%d: not sorted", n)
		}
	}
}
