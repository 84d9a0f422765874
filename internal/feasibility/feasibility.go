// Package feasibility decides which of a person's records are physically
// possible together: the feasibility of two presences in sequence or at the
// same time, and the longest-chain rule of seed 000 sec. 2.6 — of all
// sequences of records in which every step is feasible, the one with the
// greatest total reliability wins; records off it are rejected. It is pure
// and deterministic (integers only), so the state machine can call it.
//
// It was "validate", the name of the CLI command that shows its
// decisions; it holds the rule, so it is named for it.
package feasibility

import (
	"sort"

	"github.com/epiledger/epiledger/internal/geo"
)

// Rec is one record of a person as validation sees it.
type Rec struct {
	In, Out int64 // Unix seconds
	// Start and End are where the person was at In and at Out, and
	// During where they were in between: a point (a fixed place), a
	// segment (somewhere on a vehicle's route, or between the two ends of
	// a movement), or nil when unknown (a vehicle whose route nobody gave).
	Start, End, During *geo.Segment
	// Group identifies the place for "same place" tests: the site and its
	// parent. Overlapping records that share a group member are always
	// compatible (a mall and the Ferris-wheel cabin inside it).
	Group [2]uint32
	// Vehicle marks a presence in a vehicle (or a movement): the person
	// is inside it, so cannot at the same time be at another place,
	// wherever the vehicle is.
	Vehicle bool
	// Speed bounds travel while the person is in this record's vehicle
	// with unknown positions (km/h); 0 for fixed places.
	Speed int64
	// Weight is the record's reliability (how it identified the person).
	Weight int64
	// Forced records must be on the chain: records already settled, and
	// the last accepted record before the window (the anchor).
	Forced bool
	// Key breaks ties in ordering: records are ordered by In, then Key.
	Key string
}

// Rules are the physical limits.
type Rules struct {
	// Speed is the fastest travel between records that no record covers
	// (km/h).
	Speed int64
	// Radius is how far apart two places may be and still count as the
	// same place (metres).
	Radius int64
	// Slack is how much two consecutive presences may overlap and still
	// count as one after the other (seconds): clocks of sites differ. It
	// buys no travel time: places more than Radius apart need a gap.
	Slack int64
}

// Sort orders records as the chain walks them.
func Sort(rs []Rec) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].In != rs[j].In {
			return rs[i].In < rs[j].In
		}
		return rs[i].Key < rs[j].Key
	})
}

// at returns where the person was at time t during r, if known.
func at(r *Rec, t int64) *geo.Segment {
	switch {
	case t <= r.In:
		return r.Start
	case t >= r.Out:
		return r.End
	}
	return r.During
}

// Simultaneous reports whether two records overlap beyond the slack: each
// starts more than Slack before the other ends. An instant (a card swipe)
// in the middle of a ride is simultaneous with it; two visits whose ends
// touch within the slack are one after the other.
func Simultaneous(a, b *Rec, rules Rules) bool {
	return a.In+rules.Slack < b.Out && b.In+rules.Slack < a.Out
}

// Compatible reports whether two records can both be true. Records that
// are not simultaneous always can (reachability is checked separately);
// simultaneous ones only at the same place (shared group), or, when
// neither is a vehicle, with positions within the radius over the whole
// overlap (checked at its ends and middle) or unknown.
func Compatible(a, b *Rec, rules Rules) bool {
	if !Simultaneous(a, b, rules) {
		return true
	}
	lo, hi := max(a.In, b.In), min(a.Out, b.Out)
	for _, x := range a.Group {
		for _, y := range b.Group {
			if x != 0 && x == y {
				return true
			}
		}
	}
	if a.Vehicle || b.Vehicle {
		return false
	}
	for _, t := range []int64{lo, (lo + hi) / 2, hi} {
		pa, pb := at(a, t), at(b, t)
		if pa != nil && pb != nil && geo.SegMeters(*pa, *pb) > rules.Radius {
			return false
		}
	}
	return true
}

// Anchor is the last place and time the chain knows the person was, and
// the fastest way they may have travelled since.
type Anchor struct {
	OK    bool
	T     int64
	P     geo.Segment
	Speed int64
}

type anchor = Anchor

// reach reports whether the person can be at r's start when r begins,
// given the anchor.
func (a anchor) reach(r *Rec, rules Rules) bool {
	if !a.OK || r.Start == nil {
		return true
	}
	// The two facts (the anchor's place at its time, r's start at r.In)
	// must be reachable from one another in the time between them, in
	// whichever order they come: the anchor may be the end of a shift that
	// r falls within.
	dt := r.In - a.T
	if dt < 0 {
		dt = -dt
	}
	return geo.Reachable(geo.SegMeters(a.P, *r.Start), dt, max(a.Speed, rules.Speed), rules.Radius)
}

// after is the anchor once r is on the chain: the latest fact known, r's
// end (or start) unless the anchor is later still (r nested in a longer
// stay whose end is the anchor).
func (a anchor) after(r *Rec, rules Rules) anchor {
	var f anchor
	switch {
	case r.End != nil:
		f = anchor{OK: true, T: r.Out, P: *r.End, Speed: rules.Speed}
	case r.Start != nil:
		f = anchor{OK: true, T: r.In, P: *r.Start, Speed: max(rules.Speed, r.Speed)}
	default:
		if a.OK {
			a.Speed = max(a.Speed, r.Speed)
		}
		return a
	}
	if a.OK && a.T > f.T {
		return a
	}
	return f
}

// Tail is the state of a chain after its last record: the record itself,
// the chain's record that ends last (the "cover": a long ride or stay that
// may still be going on), and the anchor. It is all a next record must be
// checked against, so a settled chain can be extended without reading it
// again. The zero Tail is the empty chain.
type Tail struct {
	Last, Cover *Rec
	Anchor      Anchor
}

// Empty reports whether the tail is of an empty chain.
func (t *Tail) Empty() bool { return t.Last == nil }

// Extend checks that r can follow the chain and returns the new tail.
func (t Tail) Extend(r *Rec, rules Rules) (Tail, bool) {
	if t.Last != nil && (t.Last.In > r.In || !Compatible(t.Last, r, rules) || !Compatible(t.Cover, r, rules)) {
		return t, false
	}
	if !t.Anchor.reach(r, rules) {
		return t, false
	}
	// A record that starts within the cover (a long stay or shift) must
	// be reachable from where the cover began, too.
	if c := t.Cover; c != nil && c.Out > r.In && c.Start != nil && r.Start != nil {
		if !geo.Reachable(geo.SegMeters(*c.Start, *r.Start), r.In-c.In, max(rules.Speed, c.Speed), rules.Radius) {
			return t, false
		}
	}
	cover := r
	if t.Cover != nil && t.Cover.Out > r.Out {
		cover = t.Cover
	}
	return Tail{Last: r, Cover: cover, Anchor: t.Anchor.after(r, rules)}, true
}

// Valid reports whether chain (indexes into sorted rs, increasing) is
// feasible from the empty chain: every record compatible with the one
// before it and with the cover, and reachable from the last known position
// in the time between.
func Valid(rs []Rec, chain []int, rules Rules) bool { return ValidFrom(Tail{}, rs, chain, rules) }

// ValidFrom is Valid for a chain that continues start.
func ValidFrom(start Tail, rs []Rec, chain []int, rules Rules) bool {
	return FirstInvalidFrom(start, rs, chain, rules) < 0
}

// FirstInvalid returns the position in chain of the first record that
// breaks feasibility, or -1 when the chain is valid.
func FirstInvalid(rs []Rec, chain []int, rules Rules) int {
	return FirstInvalidFrom(Tail{}, rs, chain, rules)
}

// FirstInvalidFrom is FirstInvalid for a chain that continues start.
func FirstInvalidFrom(start Tail, rs []Rec, chain []int, rules Rules) int {
	t := start
	for i, k := range chain {
		if i > 0 && chain[i-1] >= k {
			return i
		}
		var ok bool
		if t, ok = t.Extend(&rs[k], rules); !ok {
			return i
		}
	}
	return -1
}

// Result is a chosen chain.
type Result struct {
	Chain  []int // indexes into the sorted records
	Weight int64
	Tail   Tail // the chain's state after its last record (start's if empty)
	OK     bool // false when no chain holds every forced record
}

// Best returns the feasible chain of greatest total weight that holds
// every forced record (rs sorted by Sort) and continues start. Among equal
// weights the first found wins, which is deterministic for the same input.
// The search keeps, for each last record, cover and anchor, the best chain
// so far: exact, and small for the handful of records a person has in a
// window.
func Best(rs []Rec, rules Rules) Result { return BestFrom(Tail{}, rs, rules) }

// state is a chain's tail in terms of indexes: -1 stands for the start
// tail's record.
type state struct {
	last, cover int
	a           anchor
}

// BestFrom is Best for chains that continue start.
func BestFrom(start Tail, rs []Rec, rules Rules) Result {
	n := len(rs)
	rec := func(i int, tailRec *Rec) *Rec {
		if i < 0 {
			return tailRec
		}
		return &rs[i]
	}
	type entry struct {
		st     state
		weight int64
		prev   int // index into entries, -1 for none
	}
	var entries []entry
	byLast := make([][]int, n)
	firstForced, lastForced := n, -1
	for i := range rs {
		if rs[i].Forced {
			firstForced = min(firstForced, i)
			lastForced = i
		}
	}
	tailState := func(st state, k int) (state, bool) {
		t := Tail{Last: rec(st.last, start.Last), Cover: rec(st.cover, start.Cover), Anchor: st.a}
		nt, ok := t.Extend(&rs[k], rules)
		if !ok {
			return st, false
		}
		cover := k
		if nt.Cover != &rs[k] {
			cover = st.cover
		}
		return state{last: k, cover: cover, a: nt.Anchor}, true
	}
	startState := state{last: -1, cover: -1, a: start.Anchor}
	// Starts: any record up to the first forced one that can follow start.
	for k := 0; k <= min(firstForced, n-1); k++ {
		st, ok := tailState(startState, k)
		if !ok {
			if rs[k].Forced {
				break
			}
			continue
		}
		entries = append(entries, entry{st: st, weight: rs[k].Weight, prev: -1})
		byLast[k] = append(byLast[k], len(entries)-1)
	}
	for j := 0; j < n; j++ {
		// Collapse entries at j with the same state to the heaviest: the
		// future of a chain depends only on its tail.
		best := map[state]int{}
		var keep []int
		for _, e := range byLast[j] {
			b, ok := best[entries[e].st]
			if !ok {
				best[entries[e].st] = len(keep)
				keep = append(keep, e)
			} else if entries[e].weight > entries[keep[b]].weight {
				keep[b] = e
			}
		}
		byLast[j] = keep
		for _, e := range keep {
			cur := entries[e]
			for k := j + 1; k < n; k++ {
				st, ok := tailState(cur.st, k)
				if !ok {
					if rs[k].Forced {
						break // cannot skip a forced record
					}
					continue
				}
				entries = append(entries, entry{st: st, weight: cur.weight + rs[k].Weight, prev: e})
				byLast[k] = append(byLast[k], len(entries)-1)
				if rs[k].Forced {
					break // a chain that skips it is not allowed
				}
			}
		}
	}
	bestE := -1
	for j := max(lastForced, 0); j < n; j++ {
		for _, e := range byLast[j] {
			if bestE < 0 || entries[e].weight > entries[bestE].weight {
				bestE = e
			}
		}
	}
	if bestE < 0 {
		if lastForced < 0 {
			// The empty chain: nothing can follow start.
			return Result{Tail: start, OK: true}
		}
		return Result{}
	}
	var chain []int
	for e := bestE; e >= 0; e = entries[e].prev {
		chain = append(chain, entries[e].st.last)
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	st := entries[bestE].st
	return Result{Chain: chain, Weight: entries[bestE].weight, OK: true,
		Tail: Tail{Last: rec(st.last, start.Last), Cover: rec(st.cover, start.Cover), Anchor: st.a}}
}
