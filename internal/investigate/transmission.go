package investigate

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/timeline"
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
