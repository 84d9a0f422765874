package privacy

import (
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// device is a test device: its periods' visits and randomness.
type device struct {
	cs []Commitment
	rs []*scalar.Scalar
	vs [][]bool
}

func commitPeriods(t *testing.T, gs *Generators, periods int, p float64, seed uint64) *device {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	d := &device{}
	for k := 0; k < periods; k++ {
		v := make([]bool, gs.Places())
		for i := range v {
			v[i] = rng.Float64() < p
		}
		c, r, err := gs.Commit(v, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.cs, d.rs, d.vs = append(d.cs, c), append(d.rs, r), append(d.vs, v)
	}
	return d
}

func (d *device) opening(m int) *Opening {
	o := &Opening{Counts: make([]uint32, m), R: SumR(d.rs)}
	for _, v := range d.vs {
		for i, b := range v {
			if b {
				o.Counts[i]++
			}
		}
	}
	return o
}

// TestOpeningMatches: the product of a window's commitments opens to the
// per-place visit counts and the sum of r (idle periods included);
// changing any count, r, or a commitment is detected.
func TestOpeningMatches(t *testing.T) {
	t.Parallel()
	gs := NewGenerators(sha256.Sum256([]byte("city")), 40)
	d := commitPeriods(t, gs, 24, 0.05, 1)
	o := d.opening(40)
	if _, _, err := gs.Check(d.cs, o); err != nil {
		t.Fatalf("honest opening: %v", err)
	}
	for name, alter := range map[string]func(o *Opening, cs []Commitment){
		"count+1":        func(o *Opening, _ []Commitment) { o.Counts[3]++ },
		"two counts off": func(o *Opening, _ []Commitment) { o.Counts[3]++; o.Counts[4]++; o.Counts[5] = 0 },
		"hidden visit":   func(o *Opening, _ []Commitment) { o.Counts = make([]uint32, 40) },
		"r+1":            func(o *Opening, _ []Commitment) { o.R = new(scalar.Scalar).Add(o.R, scalar.One()) },
		"commitment":     func(_ *Opening, cs []Commitment) { cs[0] = cs[1] },
	} {
		o2 := &Opening{Counts: append([]uint32(nil), o.Counts...), R: new(scalar.Scalar).Set(o.R)}
		cs := append([]Commitment(nil), d.cs...)
		alter(o2, cs)
		if _, _, err := gs.Check(cs, o2); !errors.Is(err, ErrOpening) {
			t.Errorf("%s: got %v, want ErrOpening", name, err)
		}
	}
}

// TestIdleCommitmentsUnlinkable: a device that did not move still
// produces a different commitment every period (fresh r).
func TestIdleCommitmentsUnlinkable(t *testing.T) {
	t.Parallel()
	gs := NewGenerators(sha256.Sum256([]byte("city")), 10)
	d := commitPeriods(t, gs, 50, 0, 2)
	seen := map[Commitment]bool{}
	for _, c := range d.cs {
		if seen[c] {
			t.Fatal("two idle periods gave the same commitment")
		}
		seen[c] = true
	}
	if _, _, err := gs.Check(d.cs, d.opening(10)); err != nil {
		t.Fatal(err)
	}
}

// TestGeneratorsIndependent: generators differ per place and per universe.
func TestGeneratorsIndependent(t *testing.T) {
	t.Parallel()
	a := NewGenerators(sha256.Sum256([]byte("a")), 100)
	b := NewGenerators(sha256.Sum256([]byte("b")), 1)
	seen := map[string]bool{string(encodeElement(&a.h)): true}
	for i := range a.g {
		k := string(encodeElement(&a.g[i]))
		if seen[k] {
			t.Fatalf("generator %d repeats", i)
		}
		seen[k] = true
	}
	if seen[string(encodeElement(&b.g[0]))] || seen[string(encodeElement(&b.h))] {
		t.Fatal("universes share a generator")
	}
}
