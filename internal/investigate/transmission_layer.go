package investigate

import (
	"cmp"
	"runtime"
	"slices"
	"time"
)

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
