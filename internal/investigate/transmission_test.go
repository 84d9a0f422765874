package investigate_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/ledger"
)

type bNode struct {
	layer int
	exp   int64
}

type bEdge struct {
	from, to int
	site     string
}

// bruteWalks enumerates every walk of at most depth meetings from root,
// each meeting inside the infectious window of the person it leaves from
// (anchored at that person's exposure on this walk), and keeps per person
// the fewest meetings and the earliest exposure, per pair and site the
// earliest exposure. With no infectious limit this is what Chain
// computes (hop-bounded earliest arrival); it shares nothing with Chain
// but the definitions.
func (w *world) bruteWalks(root int, from, to int64, depth int, minOv, latent, infectious int64) (map[int]bNode, map[bEdge]int64) {
	nodes := map[int]bNode{root: {0, from}}
	edges := map[bEdge]int64{}
	contacts := map[int][]meeting{}
	for p := 0; p < w.npeople; p++ {
		contacts[p] = w.contactsOf(p, from, to, minOv)
	}
	var walk func(u int, x int64, h int)
	walk = func(u int, x int64, h int) {
		if h == depth {
			return
		}
		lo, hi := from, to
		if u != root {
			lo, hi = x+latent, to
			if infectious > 0 && lo+infectious < hi {
				hi = lo + infectious
			}
		}
		for _, m := range contacts[u] {
			if m.other == root {
				continue
			}
			f, t := max(m.start, lo), minI(m.end, hi)
			if t <= f || !(m.kind == "encounter" || slices.Contains(ledger.DefaultTransportKinds, m.kind)) && t-f < minOv {
				continue
			}
			k := bEdge{u, m.other, m.site}
			if e, ok := edges[k]; !ok || f < e {
				edges[k] = f
			}
			n, ok := nodes[m.other]
			if !ok {
				n = bNode{h + 1, f}
			}
			nodes[m.other] = bNode{min(n.layer, h+1), minI(n.exp, f)}
			walk(m.other, f, h+1)
		}
	}
	walk(root, from, 0)
	return nodes, edges
}

// bruteChain is the hop-bounded earliest-arrival recurrence written out:
// e[0] = {root: from}; e[k] = e[k-1] improved by every meeting of every
// person u of e[k-1] inside u's window anchored at e[k-1][u]. Layer is
// the first k with e[k][v]; exposure e[depth][v]; edges every such
// meeting, with the earliest exposure per pair and site.
func (w *world) bruteChain(root int, from, to int64, depth int, minOv, latent, infectious int64) (map[int]bNode, map[bEdge]int64) {
	contacts := map[int][]meeting{}
	for p := 0; p < w.npeople; p++ {
		contacts[p] = w.contactsOf(p, from, to, minOv)
	}
	e := map[int]int64{root: from}
	nodes := map[int]bNode{root: {0, from}}
	edges := map[bEdge]int64{}
	for k := 1; k <= depth; k++ {
		next := map[int]int64{}
		for p, x := range e {
			next[p] = x
		}
		for u, x := range e {
			lo, hi := from, to
			if u != root {
				lo, hi = x+latent, to
				if infectious > 0 && lo+infectious < hi {
					hi = lo + infectious
				}
			}
			for _, m := range contacts[u] {
				f, t := max(m.start, lo), minI(m.end, hi)
				if m.other == root || t <= f || !(m.kind == "encounter" || slices.Contains(ledger.DefaultTransportKinds, m.kind)) && t-f < minOv {
					continue
				}
				if old, ok := edges[bEdge{u, m.other, m.site}]; !ok || f < old {
					edges[bEdge{u, m.other, m.site}] = f
				}
				if old, ok := next[m.other]; !ok || f < old {
					next[m.other] = f
				}
			}
		}
		e = next
		for p, x := range e {
			n, ok := nodes[p]
			if !ok {
				n = bNode{k, x}
			}
			nodes[p] = bNode{n.layer, minI(n.exp, x)}
		}
	}
	return nodes, edges
}

// TestChainMatchesBruteForce: on random small worlds (visits of every
// kind, encounters), Chain from random persons with random windows,
// depths 1-3, minimum overlaps, latent and infectious periods gives
// exactly the persons, layers, earliest exposures and edges (all of them,
// or those giving each person's earliest exposure) of the brute-force
// recurrence, which for no infectious limit equals the enumeration of
// every walk.
func TestChainMatchesBruteForce(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 4))
			w := randomWorld(rng)
			n, iv := w.load(t)
			// The same chains found by comparing every probe a presence
			// meets: the same graphs, to the edge chosen among ties.
			scan := investigate.New(n.DB, n.Query)
			investigate.SetScanBest(scan, true)
			for q := 0; q < 12; q++ {
				root := rng.IntN(w.npeople)
				from, to := w.window(rng)
				depth := 1 + rng.IntN(3)
				min := int64([]int{0, 15, 30}[rng.IntN(3)]) * 60
				var latent, infectious int64
				if rng.IntN(2) == 0 {
					latent = int64(rng.IntN(3)) * 3600
					infectious = int64(rng.IntN(3)) * 6 * 3600
				}
				all := rng.IntN(2) == 0
				g, err := iv.Chain(investigate.ChainQuery{Person: w.p(n, root), From: from, To: to, Depth: depth,
					MinOverlap: time.Duration(min) * time.Second, Latent: latent, Infectious: infectious, AllEdges: all})
				if err != nil {
					t.Fatal(err)
				}
				gs, err := scan.Chain(investigate.ChainQuery{Person: w.p(n, root), From: from, To: to, Depth: depth,
					MinOverlap: time.Duration(min) * time.Second, Latent: latent, Infectious: infectious, AllEdges: all})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(g, gs) {
					t.Fatalf("query %d: the best index and the comparison of every probe disagree:\n%+v\n%+v", q, g, gs)
				}
				wantN, wantE := w.bruteChain(root, from, to, depth, min, latent, infectious)
				if infectious == 0 {
					// Two twins, one definition.
					if wn, we := w.bruteWalks(root, from, to, depth, min, latent, 0); !reflect.DeepEqual(wn, wantN) || !reflect.DeepEqual(we, wantE) {
						t.Fatalf("query %d: the walk enumeration and the recurrence disagree:\n%v %v\n%v %v", q, wn, we, wantN, wantE)
					}
				}
				if !all {
					// Only the meetings that give a person their earliest exposure.
					for k, x := range wantE {
						if x != wantN[k.to].exp {
							delete(wantE, k)
						}
					}
				}
				what := fmt.Sprintf("query %d: P%d depth %d min %d latent %d infectious %d all edges %v", q, root, depth, min, latent, infectious, all)
				if len(g.Nodes) != len(wantN) {
					t.Fatalf("%s: %d nodes, want %d", what, len(g.Nodes), len(wantN))
				}
				if g.Nodes[0].Person != w.p(n, root) || g.Nodes[0].Layer != 0 || g.Nodes[0].Exposure != from {
					t.Fatalf("%s: first node %+v is not the case", what, g.Nodes[0])
				}
				for i := 0; i < w.npeople; i++ {
					want, ok := wantN[i]
					var got *investigate.Node
					for j := range g.Nodes {
						if g.Nodes[j].Person == w.p(n, i) {
							got = &g.Nodes[j]
						}
					}
					if ok != (got != nil) || ok && (got.Layer != want.layer || got.Exposure != want.exp) {
						t.Fatalf("%s: P%d: got %+v, want %v %+v", what, i, got, ok, want)
					}
				}
				if all && len(g.Edges) != len(wantE) {
					t.Fatalf("%s: %d edges, want %d", what, len(g.Edges), len(wantE))
				}
				if !all {
					// A tree: one edge into each person, one of the
					// meetings that give the earliest exposure, the
					// longest of them (all edges list every one).
					if len(g.Edges) != len(g.Nodes)-1 {
						t.Fatalf("%s: %d edges for %d persons, want one into each", what, len(g.Edges), len(g.Nodes))
					}
					ga, err := iv.Chain(investigate.ChainQuery{Person: w.p(n, root), From: from, To: to, Depth: depth,
						MinOverlap: time.Duration(min) * time.Second, Latent: latent, Infectious: infectious, AllEdges: true})
					if err != nil {
						t.Fatal(err)
					}
					into := map[ledger.Pseudonym]bool{}
					for _, e := range g.Edges {
						if into[e.To] {
							t.Fatalf("%s: two edges into %s", what, e.To)
						}
						into[e.To] = true
						for _, o := range ga.Edges {
							if o.To == e.To && o.Start == e.Start && o.End > e.End {
								t.Fatalf("%s: edge %+v: a longer meeting gives the same exposure: %+v", what, e, o)
							}
						}
					}
				}
				for _, e := range g.Edges {
					k := bEdge{w.index(n, e.From), w.index(n, e.To), e.Site}
					if x, ok := wantE[k]; !ok || x != e.Start {
						t.Fatalf("%s: edge %+v: want %v %d", what, k, ok, x)
					}
					if e.End <= e.Start {
						t.Fatalf("%s: edge %+v ends before it starts", what, e)
					}
				}
			}
		})
	}
}

func TestChainDepthBounds(t *testing.T) {
	t.Parallel()
	w := &world{kinds: []string{"shop"}, npeople: 2, base: worldBase, loc: worldLoc}
	n, iv := w.load(t)
	for _, d := range []int{0, -1, investigate.MaxDepth + 1} {
		if _, err := iv.Chain(investigate.ChainQuery{Person: w.p(n, 0), From: w.base, To: w.base + 1, Depth: d}); err != investigate.ErrDepth {
			t.Errorf("depth %d: %v, want ErrDepth", d, err)
		}
	}
}
