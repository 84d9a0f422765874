package investigate

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"runtime"
	"slices"
	"sync"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/trace"
)

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
