package investigate

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/timeline"
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
	// infectious (0: until To). A person's window is anchored at their
	// earliest exposure (see Chain). The case itself is infectious over
	// the whole window.
	Latent, Infectious int64
	// AllEdges keeps every meeting through which one person of the chain
	// can have exposed another. By default a chain is a tree: one edge
	// into each person, the best meeting of their earliest exposure
	// (chainRun.better: then the longest time together).
	AllEdges bool
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
// pair and site). TxID is To's record of the meeting, FromTxID From's
// (the same for an encounter). With AllEdges, one edge per pair and
// site; without, one edge into each person but the case: of the meetings
// that give To's earliest exposure, the longest together, then the
// smaller record ids (To's, then From's).
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

// visitRec is one visit of a person, clipped to the query window. Its
// record id is the source's to give (chainSource.txids) from ref; tx8 is
// its first 8 bytes, enough to order meetings almost always.
type visitRec struct {
	site    uint32
	ref     int32
	in, out int64
	tx8     uint64
}

// encRec is one encounter of a person, the other person by number.
type encRec struct {
	other      int32
	device     uint32
	start, end int64
	txid       ledger.Hash
}

// personRecs are the records of a person a chain reads once.
type personRecs struct {
	visits []visitRec
	encs   []encRec
	// partial records hold the encounters only: a layer that set out
	// its probes site by site (chainRun.sweepProbes) read no visits.
	partial bool
	// txids are the visits' record ids when the source keeps them here
	// (ref indexes them); nil when ref is the source's own reference.
	txids []ledger.Hash
}

// probe is a visit of a person being expanded, clipped to one of their
// infectious windows.
type probe struct {
	a, b int64
	who  int32  // the person's number
	fref int32  // the visit's record: its visitRec.ref
	tx8  uint64 // the visit's tx8
}

// cand is a meeting that exposes v: from u at site, together [f, t].
// A chain over a city makes millions, so it is kept small: u's record is
// fref, as visitRec.ref refers to it; v's is vref, the source's
// reference to it (chainSource.keep). An encounter (site is then the
// device) has fref encounter: its one record is u's encounter number
// vref. Record ids
// are kept as their first 8 bytes, which order meetings but for a tie;
// the full ids are read for a tie (cmpV, cmpFrom) and for the answer.
type cand struct {
	v, u int32
	site uint32
	fref int32
	f, t int64
	vref int32
	vtx8 uint64 // the first 8 bytes of v's record
	ftx8 uint64 // the first 8 bytes of u's record
}

// encounter is the fref of a cand that is an encounter.
const encounter = -1

func (m *cand) enc() bool { return m.fref == encounter }

// recID names a record of a meeting for txidOf: a value, so that
// comparing meetings moves no cand to the heap.
type recID struct {
	kind recKind
	u    int32 // the person whose records hold it (recEnc, recOwn)
	ref  int32
}

type recKind uint8

const (
	recSource recKind = iota // ref is the source's (chainSource.txids)
	recEnc                   // ref is u's encounter number
	recOwn                   // ref indexes u's personRecs.txids
)

// vRec is v's record of the meeting.
func (c *chainRun) vRec(m *cand) recID {
	if m.enc() {
		return recID{kind: recEnc, u: m.u, ref: m.vref}
	}
	return recID{kind: recSource, ref: m.vref}
}

// fromRec is u's record of the meeting.
func (c *chainRun) fromRec(m *cand) recID {
	if m.enc() {
		return recID{kind: recEnc, u: m.u, ref: m.vref}
	}
	if r := c.recs[m.u]; r != nil && r.txids != nil {
		return recID{kind: recOwn, u: m.u, ref: m.fref}
	}
	return recID{kind: recSource, ref: m.fref}
}

// txidOf is a record's id.
func (c *chainRun) txidOf(r recID) (ledger.Hash, error) {
	switch r.kind {
	case recEnc:
		return c.recs[r.u].encs[r.ref].txid, nil
	case recOwn:
		return c.recs[r.u].txids[r.ref], nil
	}
	ids, err := c.src.txids([]int32{r.ref})
	if err != nil {
		return ledger.Hash{}, err
	}
	return ids[0], nil
}

// cmpV compares two meetings by v's record id, as full ids order.
func (c *chainRun) cmpV(a, b *cand) int {
	if a.vtx8 != b.vtx8 {
		return cmp.Compare(a.vtx8, b.vtx8)
	}
	return c.cmpIDs(a.vtx8, b.vtx8, c.vRec(a), c.vRec(b))
}

// cmpFrom compares two meetings by u's record id, as full ids order.
func (c *chainRun) cmpFrom(a, b *cand) int {
	if a.ftx8 != b.ftx8 {
		return cmp.Compare(a.ftx8, b.ftx8)
	}
	return c.cmpIDs(a.ftx8, b.ftx8, c.fromRec(a), c.fromRec(b))
}

// cmpIDs compares records x and y, knowing their first 8 bytes
// (timeline.CompareIDs); the same record is equal without a read. An
// error reading full ids is kept (c.fail) and ends the chain.
func (c *chainRun) cmpIDs(a8, b8 uint64, x, y recID) int {
	if x == y {
		return 0
	}
	r, err := timeline.CompareIDs(a8, b8, func() (hx, hy ledger.Hash, err error) {
		if hx, err = c.txidOf(x); err == nil {
			hy, err = c.txidOf(y)
		}
		return hx, hy, err
	})
	if err != nil {
		c.fail(err)
	}
	return r
}

// fail keeps the first error of a comparison; the chain returns it.
func (c *chainRun) fail(err error) {
	c.emu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.emu.Unlock()
}

// failed is the error fail kept, or nil.
func (c *chainRun) failed() error {
	c.emu.Lock()
	defer c.emu.Unlock()
	return c.err
}

// tx8 is the first 8 bytes of a record id, as a number that orders the
// same way.
func tx8(h *ledger.Hash) uint64 { return binary.BigEndian.Uint64(h[:8]) }

type edgeKey struct {
	from, to int32
	site     uint32
	enc      bool
}

// chainRun is the state of one Chain computation. Persons are numbered
// by the source (src.number); the slices are indexed by number and grow
// as numbers appear.
type chainRun struct {
	iv     *Investigator
	src    chainSource
	cq     ChainQuery
	min    int64
	root   int32
	labels [][]label
	edges  map[edgeKey]*cand // with AllEdges
	into   [][]cand          // otherwise: the best meeting into each person (at most one)
	recs   []*personRecs
	mark   []int32 // the layer a person last joined the next frontier in
	// minX is each person's earliest exposure so far (math.MaxInt64:
	// not reached); without all edges, into[p][0].f.
	minX []int64
	// longest and transport are per site, filled before a layer's
	// parallel scan.
	sites []siteRun // by site number

	smu   sync.Mutex
	spool []*scratch

	emu sync.Mutex
	err error // the first error reading record ids to order meetings
}

// grow makes room for person number n.
// siteRun is what a chain knows of a site: its longest visit, whether
// it is transport (any overlap is a contact), and the probes of the
// layer being searched.
type siteRun struct {
	longest   int64
	transport bool
	known     bool
	probes    []probe
}

func (c *chainRun) grow(n int32) {
	for int(n) >= len(c.labels) {
		c.labels = append(c.labels, nil)
		c.into = append(c.into, nil)
		c.recs = append(c.recs, nil)
		c.mark = append(c.mark, 0)
		c.minX = append(c.minX, math.MaxInt64)
	}
}

// window is the infectious window of a person exposed at x.
func (c *chainRun) window(p int32, x int64) (lo, hi int64) {
	if p == c.root {
		return c.cq.From, c.cq.To
	}
	lo, hi = x+c.cq.Latent, c.cq.To
	if c.cq.Infectious > 0 {
		hi = min2(hi, lo+c.cq.Infectious)
	}
	return lo, hi
}

// dominates reports whether label a makes b useless: reached as early
// and in no more meetings. A person's window is anchored at their
// exposure within the layers a label allows, so a later label of the
// same or a deeper layer adds nothing.
func dominates(a, b label) bool {
	return a.h <= b.h && a.x <= b.x
}

// add inserts a label for p unless one it has dominates it, dropping the
// labels it dominates. It reports whether the label was added.
func (c *chainRun) add(p int32, l label) bool {
	c.grow(p)
	ls := c.labels[p]
	for _, o := range ls {
		if dominates(o, l) {
			return false
		}
	}
	keep := ls[:0]
	for _, o := range ls {
		if !dominates(l, o) {
			keep = append(keep, o)
		}
	}
	c.labels[p] = append(keep, l)
	return true
}

// Chain traces the chains of transmission from a case up to cq.Depth
// layers, time-respecting. Layer by layer (k = 1..Depth), every person
// reached within k-1 layers passes the infection on in the meetings of
// their infectious window, anchored at their earliest exposure within
// k-1 layers: from that exposure + Latent, for Infectious seconds or
// until To; the case over all of [From, To]. A meeting counts if its
// part inside the window is still a contact (any overlap on transport
// and for encounters, MinOverlap elsewhere), and exposes the other person
// at the start of that part. A person's layer is the first k that
// reaches them; their exposure the earliest within Depth layers. (This
// is the hop-bounded earliest-arrival of temporal networks; with no
// infectious limit it equals the earliest exposure over all chains of at
// most Depth meetings.)
//
// It works layer by layer: the records of the persons whose exposure
// improved in the last layer are read once each; their visits, clipped
// to their windows, are the layer's probes, grouped by site (on a
// resident timeline, when they are many, read site by site instead:
// sweepProbes), and each site's presences are read once per layer over
// the merged ranges the probes need (sites in parallel). A presence
// whose person already has an exposure no later than its start is
// skipped without looking at the probes; otherwise, unless all edges
// are asked for, a bestIndex gives its best meeting without comparing
// every probe it meets. With a resident timeline loaded
// (trace.Querier.SetTimeline) everything is read from memory; otherwise
// from the store's indexes.
func (iv *Investigator) Chain(cq ChainQuery) (*Graph, error) {
	if cq.Depth < 1 || cq.Depth > MaxDepth {
		return nil, ErrDepth
	}
	if tl := iv.q.Timeline(); tl != nil {
		var g *Graph
		err := tl.Read(func(v *timeline.View) error {
			var err error
			g, err = iv.chain(cq, newResidentSource(iv, v))
			return err
		})
		// Not loaded, or a visit it showed changed in the store since
		// (timeline.ErrStale): the store answers, as it holds every write
		// the timeline held.
		if !timeline.Fallback(err) {
			return g, err
		}
	}
	return iv.chain(cq, newStoreSource(iv))
}

func (iv *Investigator) chain(cq ChainQuery, src chainSource) (*Graph, error) {
	c := &chainRun{iv: iv, src: src, cq: cq, min: iv.minOverlap(cq.MinOverlap), edges: map[edgeKey]*cand{}}
	c.root = src.number(cq.Person)
	c.grow(c.root)
	c.labels[c.root] = []label{{x: cq.From, h: 0}}
	frontier := []int32{c.root}
	for k := 1; k <= cq.Depth && len(frontier) > 0; k++ {
		var nums []uint32
		var cands []cand
		if sw := c.sweeper(frontier); sw != nil {
			var err error
			if nums, cands, err = c.sweepProbes(sw, frontier, k); err != nil {
				return nil, err
			}
		} else {
			if err := c.load(frontier); err != nil {
				return nil, err
			}
			nums, cands = c.probes(frontier, k)
		}
		met, err := c.meet(nums, k)
		if err == nil {
			err = c.failed()
		}
		if err != nil {
			return nil, err
		}
		next := c.settle(append(met, cands), k)
		if err := c.failed(); err != nil {
			return nil, err
		}
		frontier = next
	}
	return c.graph()
}

// probes sets out, site by site (siteRun.probes), the visits of the
// persons of frontier in their infectious windows, their labels of layer
// k-1 give; it returns the sites with probes, in order, and the
// meetings their encounters give. The sites are shared among the CPUs by
// number, so each site's probes come in frontier order.
func (c *chainRun) probes(frontier []int32, k int) ([]uint32, []cand) {
	var cands []cand
	c.windows(frontier, k, func(u int32, r *personRecs, lo, hi int64) {
		for _, v := range r.visits {
			if int(v.site) >= len(c.sites) {
				c.sites = append(c.sites, make([]siteRun, int(v.site)+1-len(c.sites))...)
			}
		}
		cands = c.encounterCands(cands, u, r, lo, hi)
	})
	workers := runtime.GOMAXPROCS(0)
	touched := make([][]uint32, workers)
	_ = parallel(workers, func(w int) error {
		c.windows(frontier, k, func(u int32, r *personRecs, lo, hi int64) {
			for _, v := range r.visits {
				if int(v.site)%workers != w {
					continue
				}
				if a, b := max(v.in, lo), min2(v.out, hi); b > a {
					sr := &c.sites[v.site]
					if len(sr.probes) == 0 {
						touched[w] = append(touched[w], v.site)
					}
					sr.probes = append(sr.probes, probe{a: a, b: b, who: u, fref: v.ref, tx8: v.tx8})
				}
			}
		})
		return nil
	})
	nums := slices.Concat(touched...)
	slices.Sort(nums)
	return nums, cands
}

// encounterCands appends the meetings u's encounters in r give in u's
// window [lo, hi].
func (c *chainRun) encounterCands(cands []cand, u int32, r *personRecs, lo, hi int64) []cand {
	for i := range r.encs {
		e := &r.encs[i]
		if f, t := max(e.start, lo), min2(e.end, hi); t > f {
			cands = append(cands, cand{v: e.other, u: u, site: e.device, fref: encounter, vref: int32(i), f: f, t: t, vtx8: tx8(&e.txid), ftx8: tx8(&e.txid)})
		}
	}
	return cands
}

// sweeper returns the source as a siteSweeper when a layer of frontier
// should set out its probes site by site: a source that can, and a
// frontier of at least 1/sweepShare of its persons (Investigator.sweep
// can say always or never); nil otherwise.
func (c *chainRun) sweeper(frontier []int32) siteSweeper {
	sw, ok := c.src.(siteSweeper)
	if !ok || c.iv.sweep < 0 {
		return nil
	}
	if c.iv.sweep > 0 || len(frontier) >= sweepMin && len(frontier)*sweepShare >= sw.persons() {
		return sw
	}
	return nil
}

// sweepProbes is probes for a large frontier, without reading its
// persons' visits one by one: every site's visits in the query's window
// are read once (sites on all CPUs), and a visit of a person of the
// frontier, clipped to their window, is a probe. The persons' encounters
// are read one by one, into partial records (personRecs.partial).
func (c *chainRun) sweepProbes(sw siteSweeper, frontier []int32, k int) ([]uint32, []cand, error) {
	type window struct{ lo, hi int64 }
	wins := make([]window, len(c.labels)) // hi <= lo: not of the frontier
	enc := sw.encountered()
	var cands []cand
	for _, u := range frontier {
		for _, l := range c.labels[u] {
			if l.h != k-1 {
				continue
			}
			lo, hi := c.window(u, l.x)
			wins[u] = window{lo, hi}
			if !enc {
				continue
			}
			r := c.recs[u]
			if r == nil {
				r = &personRecs{encs: sw.encounters(u, c.cq.From, c.cq.To), partial: true}
				c.recs[u] = r
			}
			cands = c.encounterCands(cands, u, r, lo, hi)
		}
	}
	sites := sw.sites()
	if len(sites) == 0 {
		return nil, cands, nil
	}
	if top := int(sites[len(sites)-1]); top >= len(c.sites) {
		c.sites = append(c.sites, make([]siteRun, top+1-len(c.sites))...)
	}
	// As records reads a person's visits: those that start at most
	// MaxPresence before the window.
	earliest := c.cq.From - int64(c.iv.q.Rules().MaxPresence/time.Second)
	parts := min(len(sites), 8*runtime.GOMAXPROCS(0))
	touched := make([][]uint32, parts)
	err := parallel(parts, func(part int) error {
		for _, num := range sites[part*len(sites)/parts : (part+1)*len(sites)/parts] {
			longest, err := c.src.longest(num)
			if err != nil {
				return err
			}
			sr := &c.sites[num]
			err = c.src.scan(num, max(earliest, c.cq.From-longest), c.cq.To, -1, func(o *sitePresence) {
				if int(o.person) >= len(wins) {
					return
				}
				w := wins[o.person]
				if a, b := max(o.in, w.lo), min2(o.out, w.hi); b > a {
					sr.probes = append(sr.probes, probe{a: a, b: b, who: o.person, fref: o.ref, tx8: o.tx8})
				}
			})
			if err != nil {
				return err
			}
			if len(sr.probes) > 0 {
				touched[part] = append(touched[part], num)
			}
		}
		return nil
	})
	return slices.Concat(touched...), cands, err
}

// windows calls fn with each person of frontier whose label of layer
// k-1 opens an infectious window, their records and the window.
func (c *chainRun) windows(frontier []int32, k int, fn func(u int32, r *personRecs, lo, hi int64)) {
	for _, u := range frontier {
		for _, l := range c.labels[u] {
			if l.h == k-1 {
				lo, hi := c.window(u, l.x)
				fn(u, c.recs[u], lo, hi)
			}
		}
	}
}

// settle makes the meetings of layer k edges and labels, and returns the
// persons whose labels changed, in order: the next frontier. The persons
// are shared among the CPUs by number, each CPU taking every meeting
// into its persons in the order they came (by site, then as met): what
// a person gets does not depend on the others'. With all edges asked
// for, one CPU does it all, as the edges share one map.
func (c *chainRun) settle(met [][]cand, k int) []int32 {
	top := int32(-1)
	for _, cs := range met {
		for i := range cs {
			top = max(top, cs[i].v)
		}
	}
	c.grow(top) // nothing grows while the CPUs share them
	workers := runtime.GOMAXPROCS(0)
	if c.cq.AllEdges {
		workers = 1
	}
	nexts := make([][]int32, workers)
	_ = parallel(workers, func(w int) error {
		for _, cs := range met {
			for i := range cs {
				m := &cs[i]
				if m.v == c.root || int(m.v)%workers != w {
					continue
				}
				c.edge(m)
				if c.add(m.v, label{x: m.f, h: k}) && c.mark[m.v] != int32(k) {
					c.mark[m.v] = int32(k)
					nexts[w] = append(nexts[w], m.v)
				}
			}
		}
		return nil
	})
	next := slices.Concat(nexts...)
	slices.Sort(next)
	return next
}

// better reports whether meeting a is a better edge into its person
// than b: an earlier exposure, then a longer time together (the more
// likely transmission), then the smaller record ids, the person's then
// the other's. It is a total order on the meetings into a person, so the
// edge chosen does not depend on the order meetings are found in.
func (c *chainRun) better(a, b *cand) bool {
	if a.f != b.f {
		return a.f < b.f
	}
	if a.t != b.t {
		return a.t > b.t
	}
	if x := c.cmpV(a, b); x != 0 {
		return x < 0
	}
	return c.cmpFrom(a, b) < 0
}

// edge records a meeting as an edge. Unless all edges are asked for, a
// person keeps one: the best meeting into them (better), which gives
// their earliest exposure. With all edges, one per pair and site: the
// earliest exposure, then the longest time together, then the smaller
// record id.
func (c *chainRun) edge(m *cand) {
	c.grow(m.v)
	c.minX[m.v] = min(c.minX[m.v], m.f)
	if !c.cq.AllEdges {
		if es := c.into[m.v]; len(es) == 0 || c.better(m, &es[0]) {
			c.into[m.v] = append(es[:0], *m)
		}
		return
	}
	k := edgeKey{from: m.u, to: m.v, site: m.site, enc: m.enc()}
	e := c.edges[k]
	if e != nil && (e.f < m.f || e.f == m.f && (e.t > m.t || e.t == m.t && c.cmpV(e, m) <= 0)) {
		return
	}
	cp := *m
	c.edges[k] = &cp
}

// useful reports whether a meeting that exposes v at f in layer k can
// change the result: give v a label or an edge. It reads the labels of
// the layers before, so it may run while a layer is searched.
//
// Without all edges it is one comparison: while layer k is searched,
// every label is of a layer before k, so a label dominates (f, k) when
// it is no later than f; and the earliest label is the edge's exposure
// (minX). A meeting no later than that may give a new label or a better
// edge; a later one neither.
func (c *chainRun) useful(v int32, f int64, k int) bool {
	if c.cq.AllEdges || v == c.root {
		return v != c.root
	}
	return int(v) >= len(c.minX) || f <= c.minX[v]
}

// load reads the visits and encounters of the persons not read yet, on
// all CPUs.
func (c *chainRun) load(ps []int32) error {
	var todo []int32
	for _, p := range ps {
		if r := c.recs[p]; r == nil || r.partial {
			todo = append(todo, p)
		}
	}
	out := make([]*personRecs, len(todo))
	err := parallel(len(todo), func(i int) error {
		r, err := c.src.records(todo[i], c.cq.From, c.cq.To)
		out[i] = r
		return err
	})
	if err != nil {
		return err
	}
	for i, p := range todo {
		c.grow(p)
		c.recs[p] = out[i]
	}
	return nil
}

// meet finds, site by site, every presence that meets a probe by the
// contact rules, reading each site's presences once over the merged
// ranges the probes need. Results come by site, in site order; each
// site's probes are then cleared for the next layer.
func (c *chainRun) meet(nums []uint32, k int) ([][]cand, error) {
	res := make([][]cand, len(nums))
	err := parallel(len(nums), func(i int) error {
		sr := &c.sites[nums[i]]
		if !sr.known {
			l, err := c.src.longest(nums[i])
			if err != nil {
				return err
			}
			s, err := c.iv.q.Site(nums[i])
			if err != nil {
				return err
			}
			sr.longest, sr.transport, sr.known = l, c.iv.q.Transport(s.Kind), true
		}
		var err error
		res[i], err = c.meetSite(nums[i], sr, k)
		sr.probes = sr.probes[:0]
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// meetSite is meet at one site.
func (c *chainRun) meetSite(num uint32, sr *siteRun, k int) ([]cand, error) {
	ps := sr.probes
	// By start; the rest only makes the order total, so that equal
	// meetings are found in the same order however the probes came.
	slices.SortFunc(ps, func(x, y probe) int {
		if x.a != y.a {
			return cmp.Compare(x.a, y.a)
		}
		if x.who != y.who {
			return cmp.Compare(x.who, y.who)
		}
		if x.tx8 != y.tx8 {
			return cmp.Compare(x.tx8, y.tx8)
		}
		return cmp.Compare(x.fref, y.fref)
	})
	longest, transport := sr.longest, sr.transport
	if !transport && c.min > 0 {
		// A probe shorter than a contact meets no one.
		ps = slices.DeleteFunc(ps, func(p probe) bool { return p.b-p.a < c.min })
		if len(ps) == 0 {
			return nil, nil
		}
	}
	var span int64 // longest probe
	for _, p := range ps {
		span = max(span, p.b-p.a)
	}
	var out []cand
	// Unless all edges are asked for, a person gets at most one meeting
	// here: the best (c.better) found so far, out[best(person)].
	sc := c.scratch()
	defer c.release(sc)
	sc.stamp++
	best := func(p int32) (int32, bool) {
		if int(p) < len(sc.by) && sc.by[p].seen == sc.stamp {
			return sc.by[p].at, true
		}
		return 0, false
	}
	var bi *bestIndex
	if !c.cq.AllEdges && !c.iv.scanBest {
		bi = c.newBestIndex(ps, transport)
	}
	visit := func(o *sitePresence) {
		if !c.cq.AllEdges {
			// Every meeting of this presence exposes its person at
			// o.in or later: when that cannot matter, skip the probes
			// (useful first: one array, where best is two).
			bi.reach(o.in)
			if !c.useful(o.person, o.in, k) {
				return
			}
			if i, ok := best(o.person); ok && out[i].f < o.in {
				return
			}
		}
		if bi != nil {
			j, f, t := bi.best(o)
			if j < 0 {
				return
			}
			p := &ps[j]
			m := cand{v: o.person, u: p.who, site: num, fref: p.fref, f: f, t: t, vref: c.src.keep(o), vtx8: o.tx8, ftx8: p.tx8}
			if i, ok := best(o.person); ok {
				if c.better(&m, &out[i]) {
					out[i] = m
				}
			} else if c.useful(o.person, f, k) {
				sc.set(o.person, int32(len(out)))
				out = append(out, m)
			}
			return
		}
		// Probes that start after o.in - span and before o.out.
		j, hi := 0, len(ps)
		for j < hi {
			m := int(uint(j+hi) >> 1)
			if ps[m].a > o.in-span {
				hi = m
			} else {
				j = m + 1
			}
		}
		for ; j < len(ps) && ps[j].a < o.out; j++ {
			p := &ps[j]
			if p.b <= o.in || p.who == o.person {
				continue
			}
			f, t := max(p.a, o.in), min2(p.b, o.out)
			if t <= f || !transport && t-f < c.min {
				continue
			}
			if !c.cq.AllEdges {
				if i, ok := best(o.person); ok {
					if b := &out[i]; f < b.f || f == b.f && t >= b.t {
						m := cand{v: o.person, u: p.who, site: num, fref: p.fref, f: f, t: t, vref: c.src.keep(o), vtx8: o.tx8, ftx8: p.tx8}
						if c.better(&m, b) {
							*b = m
						}
					}
					continue
				}
				if !c.useful(o.person, f, k) {
					continue
				}
				sc.set(o.person, int32(len(out)))
			}
			out = append(out, cand{v: o.person, u: p.who, site: num, fref: p.fref, f: f, t: t, vref: c.src.keep(o), vtx8: o.tx8, ftx8: p.tx8})
		}
	}
	// Presences are keyed by start: one that overlaps [a, b] starts in
	// [a - longest, b). Merge those ranges and read each once.
	lo, hi := ps[0].a-longest, ps[0].b
	for j := 1; j <= len(ps); j++ {
		if j < len(ps) && ps[j].a-longest <= hi {
			hi = max(hi, ps[j].b)
			continue
		}
		if err := c.src.scan(num, lo, hi, c.root, visit); err != nil {
			return nil, err
		}
		if j < len(ps) {
			lo, hi = ps[j].a-longest, ps[j].b
		}
	}
	return out, nil
}

// scratch is a worker's per-person table for meetSite: by[p].at is
// valid when by[p].seen is the current stamp, so a site needs no
// clearing. (The two side by side: one cache miss a presence, not two.)
type scratch struct {
	stamp int32
	by    []struct{ seen, at int32 }
}

func (s *scratch) set(p, i int32) {
	if int(p) >= len(s.by) {
		s.by = append(s.by, make([]struct{ seen, at int32 }, max(int(p)+1, 2*len(s.by))-len(s.by))...)
	}
	s.by[p].seen, s.by[p].at = s.stamp, i
}

// scratch takes a worker's scratch table; release gives it back.
func (c *chainRun) scratch() *scratch {
	c.smu.Lock()
	defer c.smu.Unlock()
	if n := len(c.spool); n > 0 {
		s := c.spool[n-1]
		c.spool = c.spool[:n-1]
		return s
	}
	return &scratch{}
}

func (c *chainRun) release(s *scratch) {
	c.smu.Lock()
	c.spool = append(c.spool, s)
	c.smu.Unlock()
}

// sortOnCPUs sorts xs by a total order, as slices.SortFunc does, for a
// large xs its halves on two CPUs and then merged into a new slice,
// which it returns.
func sortOnCPUs[T any](xs []T, order func(a, b T) int) []T {
	if len(xs) < 1<<12 || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(xs, order)
		return xs
	}
	h := len(xs) / 2
	_ = parallel(2, func(half int) error {
		slices.SortFunc(xs[half*h:h+half*(len(xs)-h)], order)
		return nil
	})
	out := make([]T, 0, len(xs))
	i, j := 0, h
	for i < h && j < len(xs) {
		if order(xs[j], xs[i]) < 0 {
			out = append(out, xs[j])
			j++
		} else {
			out = append(out, xs[i])
			i++
		}
	}
	return append(append(out, xs[i:h]...), xs[j:]...)
}

// parallel runs fn(0..n-1) on all CPUs and returns the first error.
func parallel(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	var first error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// personRanks numbers the persons of the chain (those with labels) in
// pseudonym order: sorts then compare integers, not pseudonyms.
func (c *chainRun) personRanks() (rank []int32, persons []int32) {
	for p, ls := range c.labels {
		if len(ls) > 0 {
			persons = append(persons, int32(p))
		}
	}
	// Sorted by their first 8 bytes as a number, the rest read only for
	// a tie (pseudonyms are hashes: next to never).
	type named struct {
		p8 uint64
		id int32
	}
	ns := make([]named, len(persons))
	for i, p := range persons {
		ps := c.src.pseudonym(p)
		ns[i] = named{binary.BigEndian.Uint64(ps[:8]), p}
	}
	ns = sortOnCPUs(ns, func(a, b named) int {
		if a.p8 != b.p8 {
			return cmp.Compare(a.p8, b.p8)
		}
		pa, pb := c.src.pseudonym(a.id), c.src.pseudonym(b.id)
		return bytes.Compare(pa[:], pb[:])
	})
	rank = make([]int32, len(c.labels))
	for r, n := range ns {
		rank[n.id] = int32(r)
	}
	return rank, persons
}

func (c *chainRun) graph() (*Graph, error) {
	rank, persons := c.personRanks()
	type nodeKey struct {
		x       int64
		h, r, p int32
	}
	g := &Graph{Nodes: make([]Node, len(persons))}
	// The nodes on one CPU, the edges on another: each is mostly a sort.
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		nks := make([]nodeKey, len(persons))
		for i, p := range persons {
			ls := c.labels[p]
			k := nodeKey{x: ls[0].x, h: int32(ls[0].h), r: rank[p], p: p}
			for _, l := range ls[1:] {
				k.h, k.x = min(k.h, int32(l.h)), min2(k.x, l.x)
			}
			nks[i] = k
		}
		slices.SortFunc(nks, func(a, b nodeKey) int {
			if a.h != b.h {
				return cmp.Compare(a.h, b.h)
			}
			if a.x != b.x {
				return cmp.Compare(a.x, b.x)
			}
			return cmp.Compare(a.r, b.r)
		})
		for i, k := range nks {
			g.Nodes[i] = Node{Person: c.src.pseudonym(k.p), Layer: int(k.h), Exposure: k.x}
		}
	}()
	es := make([]*cand, 0, len(c.edges))
	for _, e := range c.edges {
		es = append(es, e)
	}
	for _, in := range c.into {
		for i := range in {
			es = append(es, &in[i])
		}
	}
	// Sort the meetings, small, before making them edges, large: by
	// start, from, to (pseudonyms), site id and kind, all as ranks.
	type site struct {
		id, kind string
		rank     int32
	}
	sites := map[uint32]*site{}
	devices := map[uint32]*site{}
	var ids []string
	for _, e := range es {
		m := sites
		if e.enc() {
			m = devices
		}
		if m[e.site] != nil {
			continue
		}
		s, err := c.iv.q.Site(e.site)
		if err != nil {
			return nil, err
		}
		kind := s.Kind
		if e.enc() {
			kind = trace.EncounterKind
		}
		m[e.site] = &site{id: s.ID, kind: kind}
		ids = append(ids, s.ID+"\x00"+kind)
	}
	slices.Sort(ids)
	for _, m := range []map[uint32]*site{sites, devices} {
		for _, s := range m {
			i, _ := slices.BinarySearch(ids, s.id+"\x00"+s.kind)
			s.rank = int32(i)
		}
	}
	siteOf := func(e *cand) *site {
		if e.enc() {
			return devices[e.site]
		}
		return sites[e.site]
	}
	type sortKey struct {
		f              int64
		from, to, site int32
		i              int32
	}
	// The record ids are read while the meetings sort.
	var txs []ledger.Hash
	var txErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		txs, txErr = c.edgeTxs(es)
	}()
	keys := make([]sortKey, len(es))
	for i, e := range es {
		keys[i] = sortKey{f: e.f, from: rank[e.u], to: rank[e.v], site: siteOf(e).rank, i: int32(i)}
	}
	keys = sortOnCPUs(keys, func(a, b sortKey) int {
		if a.f != b.f {
			return cmp.Compare(a.f, b.f)
		}
		if a.from != b.from {
			return cmp.Compare(a.from, b.from)
		}
		if a.to != b.to {
			return cmp.Compare(a.to, b.to)
		}
		return cmp.Compare(a.site, b.site)
	})
	wg.Wait()
	if txErr != nil {
		return nil, txErr
	}
	g.Edges = make([]Edge, len(es))
	_ = parallel(2, func(half int) error {
		for i := half * len(keys) / 2; i < (half+1)*len(keys)/2; i++ {
			k := keys[i]
			e := es[k.i]
			s := siteOf(e)
			g.Edges[i] = Edge{From: c.src.pseudonym(e.u), To: c.src.pseudonym(e.v), Site: s.id, SiteKind: s.kind, Start: e.f, End: e.t, TxID: txs[2*k.i], FromTxID: txs[2*k.i+1]}
		}
		return nil
	})
	return g, nil
}

// edgeTxs returns the record ids of the meetings es, v's then u's, two
// a meeting: what the source keeps by reference is read in one call
// (chainSource.txids; from a resident timeline, one pass over the
// store), once the meetings are decided.
func (c *chainRun) edgeTxs(es []*cand) ([]ledger.Hash, error) {
	ids := make([]ledger.Hash, 2*len(es))
	var refs []int32
	var at []int // where each of refs goes in ids
	for i, e := range es {
		if e.enc() {
			ids[2*i] = c.recs[e.u].encs[e.vref].txid
			ids[2*i+1] = ids[2*i]
			continue
		}
		refs, at = append(refs, e.vref), append(at, 2*i)
		if r := c.recs[e.u]; r != nil && r.txids != nil {
			ids[2*i+1] = r.txids[e.fref]
			continue
		}
		refs, at = append(refs, e.fref), append(at, 2*i+1)
	}
	got, err := c.src.txids(refs)
	if err != nil {
		return nil, err
	}
	for j, h := range got {
		ids[at[j]] = h
	}
	return ids, nil
}
