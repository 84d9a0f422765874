// Package validate decides which of a person's records are physically
// possible together: the feasibility of two presences in sequence or at the
// same time, and the longest-chain rule of seed 000 sec. 2.6 — of all
// sequences of records in which every step is feasible, the one with the
// greatest total reliability wins; records off it are rejected. It is pure
// and deterministic (integers only), so the state machine can call it.
package validate

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

// anchor is the last place and time the chain knows the person was, and
// the fastest way they may have travelled since.
type anchor struct {
	ok    bool
	t     int64
	p     geo.Segment
	speed int64
}

// reach reports whether the person can be at r's start when r begins,
// given the anchor.
func (a anchor) reach(r *Rec, rules Rules) bool {
	if !a.ok || r.Start == nil {
		return true
	}
	return geo.Reachable(geo.SegMeters(a.p, *r.Start), r.In-a.t, max(a.speed, rules.Speed), rules.Radius)
}

// after is the anchor once r is on the chain.
func (a anchor) after(r *Rec, rules Rules) anchor {
	switch {
	case r.End != nil:
		return anchor{ok: true, t: r.Out, p: *r.End, speed: rules.Speed}
	case r.Start != nil:
		return anchor{ok: true, t: r.In, p: *r.Start, speed: max(rules.Speed, r.Speed)}
	case a.ok:
		a.speed = max(a.speed, r.Speed)
		return a
	}
	return a
}

// Valid reports whether chain (indexes into sorted rs, increasing) is
// feasible: every record compatible with the one before it and with the
// record of the chain that ends last so far (the "cover": a long ride or
// stay that may still be going on), and reachable from the last known
// position in the time between.
func Valid(rs []Rec, chain []int, rules Rules) bool {
	var a anchor
	cover := -1
	for i, k := range chain {
		if i > 0 {
			if chain[i-1] >= k || !Compatible(&rs[chain[i-1]], &rs[k], rules) || !Compatible(&rs[cover], &rs[k], rules) {
				return false
			}
		}
		if !a.reach(&rs[k], rules) {
			return false
		}
		a = a.after(&rs[k], rules)
		cover = covering(rs, cover, k)
	}
	return true
}

// covering is whichever of the current cover and k ends later (k on ties).
func covering(rs []Rec, cover, k int) int {
	if cover < 0 || rs[k].Out >= rs[cover].Out {
		return k
	}
	return cover
}

// Result is a chosen chain.
type Result struct {
	Chain  []int // indexes into the sorted records
	Weight int64
	OK     bool // false when no chain holds every forced record
}

type state struct {
	last  int // last record on the chain
	cover int // the chain's record that ends last
	a     anchor
}

// Best returns the feasible chain of greatest total weight that holds
// every forced record (rs sorted by Sort). Among equal weights the first
// found wins, which is deterministic for the same input. The search keeps,
// for each last record and each distinct anchor, the best chain so far:
// exact, and small for the handful of records a person has in a window.
func Best(rs []Rec, rules Rules) Result {
	n := len(rs)
	type entry struct {
		st     state
		weight int64
		prev   int // index into entries, -1 for none
	}
	var entries []entry
	byLast := make([][]int, n) // entries ending at each record
	firstForced := n
	for i := range rs {
		if rs[i].Forced {
			firstForced = i
			break
		}
	}
	// Starts: any record up to the first forced one.
	for k := 0; k <= min(firstForced, n-1); k++ {
		st := state{last: k, cover: k, a: anchor{}.after(&rs[k], rules)}
		entries = append(entries, entry{st: st, weight: rs[k].Weight, prev: -1})
		byLast[k] = append(byLast[k], len(entries)-1)
	}
	for j := 0; j < n; j++ {
		// Collapse entries at j with the same state to the heaviest: the
		// future of a chain depends only on its last record, its cover
		// and its anchor.
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
				if !Compatible(&rs[j], &rs[k], rules) || !Compatible(&rs[cur.st.cover], &rs[k], rules) || !cur.st.a.reach(&rs[k], rules) {
					if rs[k].Forced {
						break // cannot skip a forced record
					}
					continue
				}
				st := state{last: k, cover: covering(rs, cur.st.cover, k), a: cur.st.a.after(&rs[k], rules)}
				entries = append(entries, entry{st: st, weight: cur.weight + rs[k].Weight, prev: e})
				byLast[k] = append(byLast[k], len(entries)-1)
				if rs[k].Forced {
					break // a chain that skips it is not allowed
				}
			}
		}
	}
	lastForced := -1
	for i := range rs {
		if rs[i].Forced {
			lastForced = i
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
		return Result{}
	}
	var chain []int
	for e := bestE; e >= 0; e = entries[e].prev {
		chain = append(chain, entries[e].st.last)
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return Result{Chain: chain, Weight: entries[bestE].weight, OK: true}
}

// FirstInvalid returns the position in chain of the first record that
// breaks feasibility (as Valid defines it), or -1 when the chain is valid.
func FirstInvalid(rs []Rec, chain []int, rules Rules) int {
	var a anchor
	cover := -1
	for i, k := range chain {
		if i > 0 && (chain[i-1] >= k || !Compatible(&rs[chain[i-1]], &rs[k], rules) || !Compatible(&rs[cover], &rs[k], rules)) {
			return i
		}
		if !a.reach(&rs[k], rules) {
			return i
		}
		a = a.after(&rs[k], rules)
		cover = covering(rs, cover, k)
	}
	return -1
}
