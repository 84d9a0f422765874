package investigate

import (
	"cmp"
	"slices"
	"sort"
)

// bestIndex finds, for each presence at a site in turn (by start), the
// best of the layer's probes there that meet it (chainRun.better: the
// earliest exposure, then the longest time together, then the smaller
// record id of the probe's visit), without comparing every probe it
// meets. Where a site holds many of a layer's persons at once (an office,
// a carriage), every presence meets most of them, and comparing each
// pair was most of a deep chain's time.
//
// A meeting of presence o and probe p exposes o's person at f = max(p.a,
// o.in), until t = min(p.b, o.out). The probes that started by o.in
// (reach has taken them in) all give f = o.in, the earliest there is, so
// one of them wins if any is a contact: the one that gives the greatest
// t. That is a probe ending at or after o.out (then every such probe
// ties, and the smallest record id wins: a Fenwick tree over the probes
// by end, each node the best two of its range by record id, of two
// persons, so that the presence's own person can be passed over), or
// else the probe ending last (the best two by (end, record id), kept as
// they are taken in). Otherwise the first probe starting after o.in
// that is a contact, and of those that start with it, the longest.
type bestIndex struct {
	c         *chainRun
	ps        []probe // by start
	transport bool
	in        int     // ps[:in] are taken in
	byEnd     []int32 // probes by end, latest first
	rank      []int32 // a probe's place in byEnd, from 1
	fen       []top2  // over byEnd, by record id
	last      top2    // of the probes taken in, by (end desc, record id)
}

// top2 is the best probe of a set and the best of another person's; -1
// is none.
type top2 struct{ a, b int32 }

var none = top2{-1, -1}

func (c *chainRun) newBestIndex(ps []probe, transport bool) *bestIndex {
	x := &bestIndex{c: c, ps: ps, transport: transport, byEnd: make([]int32, len(ps)), rank: make([]int32, len(ps)),
		fen: make([]top2, len(ps)+1), last: none}
	for i := range x.byEnd {
		x.byEnd[i] = int32(i)
	}
	slices.SortFunc(x.byEnd, func(i, j int32) int { return cmp.Compare(ps[j].b, ps[i].b) })
	for r, i := range x.byEnd {
		x.rank[i] = int32(r) + 1
	}
	for i := range x.fen {
		x.fen[i] = none
	}
	return x
}

// cmpID orders probes by their visit's record id.
func (x *bestIndex) cmpID(i, j int32) int {
	p, q := &x.ps[i], &x.ps[j]
	return x.c.cmpFrom(&cand{u: p.who, fref: p.fref, ftx8: p.tx8}, &cand{u: q.who, fref: q.fref, ftx8: q.tx8})
}

// later orders probes by end, latest first, then by record id.
func (x *bestIndex) later(i, j int32) int {
	if x.ps[i].b != x.ps[j].b {
		return cmp.Compare(x.ps[j].b, x.ps[i].b)
	}
	return x.cmpID(i, j)
}

// with is t with probe i added, by order.
func (x *bestIndex) with(t top2, i int32, order func(i, j int32) int) top2 {
	switch {
	case t.a < 0:
		return top2{i, -1}
	case order(i, t.a) < 0:
		if x.ps[i].who == x.ps[t.a].who {
			return top2{i, t.b}
		}
		return top2{i, t.a}
	case x.ps[i].who == x.ps[t.a].who:
		return t
	case t.b < 0 || order(i, t.b) < 0:
		return top2{t.a, i}
	}
	return t
}

// merge is the best two of s and t together.
func (x *bestIndex) merge(s, t top2, order func(i, j int32) int) top2 {
	for _, i := range [2]int32{t.a, t.b} {
		if i >= 0 {
			s = x.with(s, i, order)
		}
	}
	return s
}

// pick is t's best probe not of person v, or -1.
func (x *bestIndex) pick(t top2, v int32) int32 {
	if t.a >= 0 && x.ps[t.a].who != v {
		return t.a
	}
	return t.b
}

// reach takes in the probes that start by in; in never decreases.
func (x *bestIndex) reach(in int64) {
	if x == nil {
		return
	}
	for ; x.in < len(x.ps) && x.ps[x.in].a <= in; x.in++ {
		i := int32(x.in)
		for r := int(x.rank[i]); r < len(x.fen); r += r & -r {
			x.fen[r] = x.with(x.fen[r], i, x.cmpID)
		}
		x.last = x.with(x.last, i, x.later)
	}
}

// ending returns the best two, by record id, of the probes taken in
// that end at or after end.
func (x *bestIndex) ending(end int64) top2 {
	n := sort.Search(len(x.byEnd), func(r int) bool { return x.ps[x.byEnd[r]].b < end })
	t := none
	for r := n; r > 0; r -= r & -r {
		t = x.merge(t, x.fen[r], x.cmpID)
	}
	return t
}

// contact reports whether [f, t] is a contact at the site.
func (x *bestIndex) contact(f, t int64) bool {
	return t > f && (x.transport || t-f >= x.c.min)
}

// best returns the probe that meets o best and the meeting's start and
// end, or -1. Probes that start by o.in must have been taken in (reach)
// and no later ones.
func (x *bestIndex) best(o *sitePresence) (j int32, f, t int64) {
	if i := x.pick(x.last, o.person); i >= 0 && x.ps[i].b > o.in {
		j, f, t = i, o.in, x.ps[i].b
		if t >= o.out {
			j, t = x.pick(x.ending(o.out), o.person), o.out
		}
		if x.contact(f, t) {
			return j, f, t
		}
	}
	j = -1
	for i := x.in; i < len(x.ps) && x.ps[i].a < o.out; i++ {
		p := &x.ps[i]
		if j >= 0 && p.a > f {
			break
		}
		if p.who == o.person {
			continue
		}
		pf, pt := p.a, min2(p.b, o.out)
		if !x.contact(pf, pt) {
			if !x.transport && o.out-p.a < x.c.min {
				break // nor will a later one be
			}
			continue
		}
		if j < 0 || pt > t || pt == t && x.cmpID(int32(i), j) < 0 {
			j, f, t = int32(i), pf, pt
		}
	}
	return j, f, t
}
