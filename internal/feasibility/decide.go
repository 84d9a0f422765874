package feasibility

// Decision is the outcome of the longest-chain rule for one person and
// window.
type Decision struct {
	Chain    []int // the winning chain (indexes into the sorted records)
	Rejected []int // records off it
	Weight   int64
	// Rival is the strongest other story: the feasible chain that holds
	// as many of the rejected records as possible, and among those the
	// heaviest (seed 000 fig. 12: the branch of the lent card's swipes).
	// Empty when nothing was rejected.
	Rival       []int
	RivalWeight int64
	// Z is the winner's lead over the rival in records: the z of eq. (1)-(4).
	Z int
	// Tail is the winning chain's state after its last record.
	Tail Tail
}

// Decide applies the longest-chain rule to rs (sorted by Sort). ok is false
// when the forced records cannot all be on one chain, which the state
// machine's admission checks rule out.
func Decide(rs []Rec, rules Rules) (Decision, bool) { return DecideFrom(Tail{}, rs, rules) }

// DecideFrom is Decide for chains that continue start (the person's
// settled chain).
func DecideFrom(start Tail, rs []Rec, rules Rules) (Decision, bool) {
	// The common case: every record follows the last, no conflict, and
	// the chain of all of them is the heaviest there is (weights are not
	// negative). Only a conflict needs the search.
	all := make([]int, len(rs))
	for i := range all {
		all[i] = i
	}
	t, ok := start, true
	var w int64
	for i := range rs {
		if t, ok = t.Extend(&rs[i], rules); !ok || rs[i].Weight < 0 {
			ok = false
			break
		}
		w += rs[i].Weight
	}
	if ok {
		return Decision{Chain: all, Weight: w, Tail: t}, true
	}
	res := BestFrom(start, rs, rules)
	if !res.OK {
		return Decision{}, false
	}
	d := Decision{Chain: res.Chain, Weight: res.Weight, Tail: res.Tail}
	on := make([]bool, len(rs))
	for _, k := range res.Chain {
		on[k] = true
	}
	for i := range rs {
		if !on[i] {
			d.Rejected = append(d.Rejected, i)
		}
	}
	if len(d.Rejected) == 0 {
		return d, true
	}
	// Each rejected record earns a bonus larger than all weights together,
	// so the best chain under the bonus holds the most rejected records.
	var bonus int64 = 1
	for i := range rs {
		bonus += rs[i].Weight
	}
	alt := make([]Rec, len(rs))
	copy(alt, rs)
	for i := range alt {
		alt[i].Forced = false
		if !on[i] {
			alt[i].Weight += bonus
		}
	}
	b := BestFrom(start, alt, rules)
	d.Rival = b.Chain
	for _, k := range b.Chain {
		d.RivalWeight += rs[k].Weight
	}
	d.Z = len(d.Chain) - len(d.Rival)
	return d, true
}
