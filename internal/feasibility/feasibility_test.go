package feasibility

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/epiledger/epiledger/internal/geo"
)

// TestTable2 checks eq. (4) against the seed's Table 2 (q = 0.1) to 7
// decimals.
func TestTable2(t *testing.T) {
	t.Parallel()
	want := []float64{0.2045873, 0.0509779, 0.0131722, 0.0034552, 0.0009137, 0.0002428, 0.0000647, 0.0000173, 0.0000046, 0.0000012}
	for i, w := range want {
		z := i + 1
		if got := CatchUp(0.1, z); math.Abs(got-w) >= 5e-8 {
			t.Errorf("z=%d: %.7f, Table 2 says %.7f", z, got, w)
		}
	}
	if CatchUp(0.1, 0) != 1 || CatchUp(0.5, 3) != 1 || CatchUp(0.6, 3) != 1 {
		t.Error("a rival not behind, or q >= p, must give 1")
	}
}

var rules = Rules{Speed: 150, Radius: 2000, Slack: 300}

func pt(lat, lon float64) *geo.Segment {
	s := geo.At(geo.Point{LatE6: int64(lat * 1e6), LonE6: int64(lon * 1e6)})
	return &s
}

func seg(a, b *geo.Segment) *geo.Segment { return &geo.Segment{A: a.A, B: b.B} }

// brute finds the best weight over every subset (the empty one included)
// that continues start: the independent twin of BestFrom.
func brute(start Tail, rs []Rec, rules Rules) (int64, bool) {
	n := len(rs)
	best, found := int64(-1), false
	for mask := 0; mask < 1<<n; mask++ {
		var chain []int
		var w int64
		ok := true
		for i := 0; i < n; i++ {
			if mask&(1<<i) != 0 {
				chain = append(chain, i)
				w += rs[i].Weight
			} else if rs[i].Forced {
				ok = false
			}
		}
		if ok && ValidFrom(start, rs, chain, rules) && w > best {
			best, found = w, true
		}
	}
	return best, found
}

func randomRecs(rng *rand.Rand, n int) []Rec {
	places := []*geo.Segment{pt(30.59, 114.30), pt(30.60, 114.31), pt(30.70, 114.50), pt(31.23, 121.47), nil}
	var rs []Rec
	for i := 0; i < n; i++ {
		in := int64(rng.IntN(24*60)) * 60
		r := Rec{In: in, Out: in + int64([]int{0, 5, 20, 60, 240}[rng.IntN(5)])*60, Weight: int64(30 + rng.IntN(71)), Key: fmt.Sprint(i)}
		switch rng.IntN(4) {
		case 0: // a vehicle with a route: somewhere on it throughout
			route := seg(places[rng.IntN(4)], places[rng.IntN(4)])
			r.Start, r.End, r.During, r.Speed, r.Vehicle = route, route, route, 400, true
		case 1: // a vehicle without one
			r.Speed, r.Vehicle = []int64{150, 400}[rng.IntN(2)], true
		default:
			r.Start = places[rng.IntN(4)]
			r.End, r.During = r.Start, r.Start
		}
		r.Group = [2]uint32{uint32(1 + rng.IntN(6)), uint32(rng.IntN(3))}
		r.Forced = rng.IntN(8) == 0
		rs = append(rs, r)
	}
	Sort(rs)
	return rs
}

// TestBestMatchesBruteForce: on random small inputs the chosen chain is
// feasible, holds every forced record and weighs exactly as much as the
// best of all subsets.
func TestBestMatchesBruteForce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		rs := randomRecs(rng, 1+rng.IntN(10))
		check(t, rs)
	}
}

func check(t *testing.T, rs []Rec) { checkFrom(t, Tail{}, rs) }

func checkFrom(t *testing.T, start Tail, rs []Rec) {
	t.Helper()
	res := BestFrom(start, rs, rules)
	want, found := brute(start, rs, rules)
	if res.OK != found {
		t.Fatalf("Best OK=%v, brute force found=%v\n%+v", res.OK, found, rs)
	}
	if !found {
		return
	}
	if !ValidFrom(start, rs, res.Chain, rules) {
		t.Fatalf("Best chose an infeasible chain %v", res.Chain)
	}
	var w int64
	on := map[int]bool{}
	for _, k := range res.Chain {
		w += rs[k].Weight
		on[k] = true
	}
	for i := range rs {
		if rs[i].Forced && !on[i] {
			t.Fatalf("forced record %d left out", i)
		}
	}
	if w != res.Weight || w != want {
		t.Fatalf("Best weight %d (sum %d), brute force %d\nchain %v\n%+v", res.Weight, w, want, res.Chain, rs)
	}
}

// randomTail is the tail of a random feasible chain of records that end
// before the ones the test decides, or the empty tail.
func randomTail(rng *rand.Rand) Tail {
	if rng.IntN(3) == 0 {
		return Tail{}
	}
	prior := randomRecs(rng, 1+rng.IntN(4))
	for i := range prior {
		prior[i].In -= 2 * 86400
		prior[i].Out -= 2 * 86400
		prior[i].Forced = false
	}
	res := Best(prior, rules)
	return res.Tail
}

// TestBestFromTailMatchesBruteForce: chains that continue a settled tail.
func TestBestFromTailMatchesBruteForce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 3000; i++ {
		start := randomTail(rng)
		checkFrom(t, start, randomRecs(rng, 1+rng.IntN(9)))
	}
}

// FuzzBest feeds random record sequences (from the fuzzer's seed) to the
// chooser, from an empty or a random settled tail, and checks it against
// brute force.
func FuzzBest(f *testing.F) {
	f.Add(uint64(1), uint8(5))
	f.Add(uint64(42), uint8(10))
	f.Fuzz(func(t *testing.T, seed uint64, n uint8) {
		rng := rand.New(rand.NewPCG(seed, 9))
		start := randomTail(rng)
		checkFrom(t, start, randomRecs(rng, 1+int(n)%11))
	})
}

// TestLentCard is the seed's example (sec. 2.6): a colleague swipes the
// person's office card at 21:00 and 21:40 while the person pays in the
// metro, is seen by a mall camera, pays by face in a restaurant and opens
// the door at home. The office swipes lose.
func TestLentCard(t *testing.T) {
	t.Parallel()
	office, metro, mall, restaurant, home := pt(30.58, 114.27), pt(30.60, 114.35), pt(30.62, 114.42), pt(30.621, 114.421), pt(30.63, 114.43)
	h := func(hh, mm int) int64 { return int64(hh*3600 + mm*60) }
	rs := []Rec{
		{Key: "office-18:00 own swipe", In: h(18, 0), Out: h(18, 0), Start: office, End: office, During: office, Weight: 40},
		{Key: "metro 20:50-21:20", In: h(20, 50), Out: h(21, 20), Weight: 80, Speed: 120, Vehicle: true},
		{Key: "office-21:00 colleague", In: h(21, 0), Out: h(21, 0), Start: office, End: office, During: office, Weight: 40},
		{Key: "mall camera 21:30", In: h(21, 30), Out: h(21, 35), Start: mall, End: mall, During: mall, Weight: 90},
		{Key: "office-21:40 colleague", In: h(21, 40), Out: h(21, 40), Start: office, End: office, During: office, Weight: 40},
		{Key: "restaurant face pay 21:45", In: h(21, 45), Out: h(22, 30), Start: restaurant, End: restaurant, During: restaurant, Weight: 90},
		{Key: "home door 22:45", In: h(22, 45), Out: h(22, 45), Start: home, End: home, During: home, Weight: 30},
	}
	_ = metro
	Sort(rs)
	res := Best(rs, rules)
	var got []string
	for _, k := range res.Chain {
		got = append(got, rs[k].Key)
	}
	want := "[office-18:00 own swipe metro 20:50-21:20 mall camera 21:30 restaurant face pay 21:45 home door 22:45]"
	if fmt.Sprint(got) != want {
		t.Fatalf("chain %v", got)
	}
	check(t, rs)
}

// TestDecideLentCard: the office swipes are rejected, the rival chain is
// the one through them, and z counts the winner's lead in records.
func TestDecideLentCard(t *testing.T) {
	t.Parallel()
	office, mall, restaurant, home := pt(30.58, 114.27), pt(30.62, 114.42), pt(30.621, 114.421), pt(30.63, 114.43)
	h := func(hh, mm int) int64 { return int64(hh*3600 + mm*60) }
	rs := []Rec{
		{Key: "a", In: h(18, 0), Out: h(18, 0), Start: office, End: office, During: office, Weight: 40},
		{Key: "b metro", In: h(20, 50), Out: h(21, 20), Weight: 80, Speed: 120, Vehicle: true},
		{Key: "c office", In: h(21, 0), Out: h(21, 0), Start: office, End: office, During: office, Weight: 40},
		{Key: "d mall", In: h(21, 30), Out: h(21, 35), Start: mall, End: mall, During: mall, Weight: 90},
		{Key: "e office", In: h(21, 40), Out: h(21, 40), Start: office, End: office, During: office, Weight: 40},
		{Key: "f restaurant", In: h(21, 45), Out: h(22, 30), Start: restaurant, End: restaurant, During: restaurant, Weight: 90},
		{Key: "g home", In: h(22, 45), Out: h(22, 45), Start: home, End: home, During: home, Weight: 30},
	}
	Sort(rs)
	d, ok := Decide(rs, rules)
	if !ok {
		t.Fatal("no decision")
	}
	keys := func(ix []int) (out []string) {
		for _, i := range ix {
			out = append(out, rs[i].Key[:1])
		}
		return out
	}
	if fmt.Sprint(keys(d.Rejected)) != "[c e]" {
		t.Fatalf("rejected %v", keys(d.Rejected))
	}
	// The strongest story with the swipes: at the office at 18:00, 21:00
	// and 21:40, home at 22:45 (4 records); the winner has 5.
	if fmt.Sprint(keys(d.Rival)) != "[a c e g]" || d.Z != 1 {
		t.Fatalf("rival %v, z %d", keys(d.Rival), d.Z)
	}
}
