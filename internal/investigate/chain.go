package investigate

import (
	"errors"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/trace"
)

// MaxDepth bounds a chain's depth.
const MaxDepth = 10

// ErrDepth is returned for a depth outside 1..MaxDepth.
var ErrDepth = errors.New("investigate: depth must be 1 to 10")

// ChainQuery asks for the chains of transmission from a case.
type ChainQuery struct {
	Person   ledger.Pseudonym
	From, To int64 // Unix seconds: only meetings inside [From, To] count
	// Depth is how many layers of contacts to follow, 1..MaxDepth.
	Depth int
	// MinOverlap is the least time together off transport (negative: the
	// rules' default). Transport and encounters count with any overlap.
	MinOverlap time.Duration
	// Latent is how long (seconds) after their exposure a contact starts
	// to pass the infection on, and Infectious how long they then stay
	// infectious (0: until To). The case itself is infectious over the
	// whole window.
	Latent, Infectious int64
}

// Node is a person in a chain: the fewest layers (meetings) from the case
// and the earliest time they can have been exposed, over every chain of
// at most Depth layers. The case is layer 0 with exposure From.
type Node struct {
	Person   ledger.Pseudonym
	Layer    int
	Exposure int64
}

// Edge is a meeting through which From can have exposed To: at Site (a
// device for an encounter, SiteKind trace.EncounterKind), the time
// together [Start, End] clipped to From's infectious window, Start being
// the exposure it gives To (the earliest over all chains through this
// person, site and pair). TxID is To's record of the meeting, FromTxID
// From's (the same for an encounter). One edge per pair and site.
type Edge struct {
	From, To   ledger.Pseudonym
	Site       string
	SiteKind   string
	Start, End int64
	TxID       ledger.Hash
	FromTxID   ledger.Hash
}

// Graph is the result of Chain: nodes ordered by layer, exposure and
// pseudonym, the case first; edges ordered by start, from, to and site.
type Graph struct {
	Nodes []Node
	Edges []Edge
}

// label is one way a person was reached: exposure x after h meetings.
type label struct {
	x int64
	h int
}

type edgeKey struct {
	from, to ledger.Pseudonym
	site     string
}

// chainRun is the state of one Chain computation.
type chainRun struct {
	cq      ChainQuery
	min     int64
	labels  map[ledger.Pseudonym][]label
	edges   map[edgeKey]*Edge
	meets   map[ledger.Pseudonym][]trace.Contact
	fetched int
}

// window is the infectious window of a person exposed at x.
func (c *chainRun) window(p ledger.Pseudonym, x int64) (lo, hi int64) {
	if p == c.cq.Person {
		return c.cq.From, c.cq.To
	}
	lo, hi = x+c.cq.Latent, c.cq.To
	if c.cq.Infectious > 0 {
		hi = min2(hi, lo+c.cq.Infectious)
	}
	return lo, hi
}

// dominates reports whether label a makes b useless: reached in no more
// meetings, and every chain continuing from b has a counterpart from a
// that is no later. That holds when a and b have the same exposure, or a
// is earlier and every window from a on runs to To (so windows only grow
// earlier).
func (c *chainRun) dominates(a, b label) bool {
	if a.h > b.h || a.x > b.x {
		return false
	}
	return a.x == b.x || c.cq.Infectious == 0 || a.x+c.cq.Latent+c.cq.Infectious >= c.cq.To
}

// add inserts a label for p unless one it has dominates it, dropping the
// labels it dominates. It reports whether the label was added.
func (c *chainRun) add(p ledger.Pseudonym, l label) bool {
	ls := c.labels[p]
	for _, o := range ls {
		if c.dominates(o, l) {
			return false
		}
	}
	keep := ls[:0]
	for _, o := range ls {
		if !c.dominates(l, o) {
			keep = append(keep, o)
		}
	}
	c.labels[p] = append(keep, l)
	return true
}

// Chain traces the chains of transmission from a case up to cq.Depth
// layers, time-respecting: a person reached at exposure x passes it on
// only in meetings during their infectious window (from x + Latent, for
// Infectious seconds or until To); the case over all of [From, To]. A
// meeting counts if the part of it inside the window is still a contact
// (any overlap on transport and for encounters, MinOverlap elsewhere),
// and exposes the other person at the start of that part.
//
// It reads each reached person's contacts once (the persons of a layer in
// parallel), for persons less than Depth layers out.
func (iv *Investigator) Chain(cq ChainQuery) (*Graph, error) {
	if cq.Depth < 1 || cq.Depth > MaxDepth {
		return nil, ErrDepth
	}
	c := &chainRun{cq: cq, min: iv.minOverlap(cq.MinOverlap), labels: map[ledger.Pseudonym][]label{},
		edges: map[edgeKey]*Edge{}, meets: map[ledger.Pseudonym][]trace.Contact{}}
	c.labels[cq.Person] = []label{{x: cq.From, h: 0}}
	frontier := []ledger.Pseudonym{cq.Person}
	for k := 1; k <= cq.Depth && len(frontier) > 0; k++ {
		if err := iv.fetchMeetings(c, frontier); err != nil {
			return nil, err
		}
		next := map[ledger.Pseudonym]bool{}
		for _, u := range frontier {
			for _, l := range append([]label(nil), c.labels[u]...) {
				if l.h != k-1 {
					continue
				}
				lo, hi := c.window(u, l.x)
				for i := range c.meets[u] {
					m := &c.meets[u][i]
					if m.Person == cq.Person {
						continue
					}
					f, t, ok := counts(m, lo, hi, c.min)
					if !ok {
						continue
					}
					c.edge(u, m, f, t)
					if c.add(m.Person, label{x: f, h: k}) {
						next[m.Person] = true
					}
				}
			}
		}
		frontier = frontier[:0]
		for p := range next {
			frontier = append(frontier, p)
		}
		sortPersons(frontier)
	}
	return c.graph(), nil
}

// edge records a meeting of u as an edge, keeping per pair and site the
// earliest exposure (then the longest time together, then the smaller
// record id).
func (c *chainRun) edge(u ledger.Pseudonym, m *trace.Contact, f, t int64) {
	k := edgeKey{from: u, to: m.Person, site: m.Site}
	e := c.edges[k]
	if e != nil && (e.Start < f || e.Start == f && (e.End > t || e.End == t && string(e.TxID[:]) <= string(m.TxID[:]))) {
		return
	}
	c.edges[k] = &Edge{From: u, To: m.Person, Site: m.Site, SiteKind: m.SiteKind, Start: f, End: t, TxID: m.TxID, FromTxID: m.CaseTxID}
}

// fetchMeetings reads the contacts of the persons not read yet, over the
// whole window, on all CPUs.
func (iv *Investigator) fetchMeetings(c *chainRun, ps []ledger.Pseudonym) error {
	var todo []ledger.Pseudonym
	for _, p := range ps {
		if _, ok := c.meets[p]; !ok {
			todo = append(todo, p)
		}
	}
	res := make([][]trace.Contact, len(todo))
	errs := make([]error, len(todo))
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	var wg sync.WaitGroup
	var next int
	var mu sync.Mutex
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(todo) {
					return
				}
				res[i], errs[i] = iv.q.Contacts(todo[i], c.cq.From, c.cq.To, time.Duration(c.min)*time.Second)
			}
		}()
	}
	wg.Wait()
	for i, p := range todo {
		if errs[i] != nil {
			return errs[i]
		}
		c.meets[p] = res[i]
	}
	c.fetched += len(todo)
	return nil
}

func (c *chainRun) graph() *Graph {
	g := &Graph{}
	for p, ls := range c.labels {
		n := Node{Person: p, Layer: ls[0].h, Exposure: ls[0].x}
		for _, l := range ls[1:] {
			n.Layer, n.Exposure = min(n.Layer, l.h), min2(n.Exposure, l.x)
		}
		g.Nodes = append(g.Nodes, n)
	}
	sort.Slice(g.Nodes, func(i, j int) bool {
		a, b := &g.Nodes[i], &g.Nodes[j]
		if a.Layer != b.Layer {
			return a.Layer < b.Layer
		}
		if a.Exposure != b.Exposure {
			return a.Exposure < b.Exposure
		}
		return lessP(a.Person, b.Person)
	})
	for _, e := range c.edges {
		g.Edges = append(g.Edges, *e)
	}
	sort.Slice(g.Edges, func(i, j int) bool {
		a, b := &g.Edges[i], &g.Edges[j]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.From != b.From {
			return lessP(a.From, b.From)
		}
		if a.To != b.To {
			return lessP(a.To, b.To)
		}
		return a.Site < b.Site
	})
	return g
}
