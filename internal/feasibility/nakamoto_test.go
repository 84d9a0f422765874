package feasibility

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// catchUpExact is eq. (4) summed as the seed writes it, term by term with
// a fresh Poisson product each time: the twin CatchUp is checked against
// where float64 holds it (small z, q not tiny). It is quadratic in z.
func catchUpExact(q float64, z int) float64 {
	p := 1 - q
	if z <= 0 || q >= p {
		return 1
	}
	lambda := float64(z) * q / p
	sum := 1.0
	for k := 0; k <= z; k++ {
		poisson := math.Exp(-lambda)
		for i := 1; i <= k; i++ {
			poisson *= lambda / float64(i)
		}
		sum -= poisson * (1 - math.Pow(q/p, float64(z-k)))
	}
	return sum
}

// randomQ draws q in (0, 0.5): uniform, near 0 on a log scale, or just
// below 0.5.
func randomQ(rng *rand.Rand) float64 {
	switch rng.IntN(3) {
	case 0:
		return 0.001 + 0.498*rng.Float64()
	case 1:
		return math.Pow(10, -1-300*rng.Float64())
	default:
		return 0.5 - math.Pow(10, -1-14*rng.Float64())
	}
}

// TestCatchUpMatchesExact: for z up to 40 and q in [0.01, 0.49], CatchUp
// agrees with the seed's sum to 1e-13.
func TestCatchUpMatchesExact(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		q := 0.01 + 0.48*rng.Float64()
		z := rng.IntN(41)
		if got, want := CatchUp(q, z), catchUpExact(q, z); math.Abs(got-want) > 1e-13 {
			t.Fatalf("CatchUp(%v, %d) = %v, the seed's sum %v", q, z, got, want)
		}
	}
}

// TestCatchUpProperties: for random q in (0, 0.5) the probability is in
// [0, 1], below 1 once the rival is behind, and does not grow with z.
func TestCatchUpProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		q := randomQ(rng)
		start := rng.IntN(5000)
		prev := CatchUp(q, start)
		for z := start + 1; z <= start+50; z++ {
			f := CatchUp(q, z)
			if !(f >= 0 && f < 1) {
				t.Fatalf("CatchUp(%v, %d) = %v, not in [0, 1)", q, z, f)
			}
			if f > prev*(1+1e-12) {
				t.Fatalf("CatchUp(%v, %d) = %v > CatchUp at z-1 = %v", q, z, f, prev)
			}
			prev = f
		}
	}
}

// TestCatchUpExtremes: the inputs that once pinned the node or gave
// nonsense.
func TestCatchUpExtremes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		q    float64
		z    int
		ok   func(float64) bool
	}{
		{"q=0.45,z=10000: tiny, not 1", 0.45, 10000, func(f float64) bool { return f > 0 && f < 1e-80 }},
		{"q=0.1,z=10000: below float64, 0", 0.1, 10000, func(f float64) bool { return f == 0 }},
		{"q=1e-320,z=1: about 2q, subnormal", 1e-320, 1, func(f float64) bool { return f > 1.99e-320 && f < 2.01e-320 }},
		{"q=5e-324,z=3", 5e-324, 3, func(f float64) bool { return f == 0 }},
		{"q=NaN", math.NaN(), 3, func(f float64) bool { return f == 1 }},
		{"q=+Inf", math.Inf(1), 3, func(f float64) bool { return f == 1 }},
		{"q=-0.1", -0.1, 3, func(f float64) bool { return f == 1 }},
		{"q=0.5", 0.5, 3, func(f float64) bool { return f == 1 }},
		{"z=-5", 0.1, -5, func(f float64) bool { return f == 1 }},
		{"z=MaxInt32", 0.4999999, math.MaxInt32, func(f float64) bool { return f > 0 && f < 1 }},
	} {
		if f := CatchUp(c.q, c.z); !c.ok(f) {
			t.Errorf("%s: %v", c.name, f)
		}
	}
	if l := LogCatchUp(0.1, 10000); !(l < -13000 && l > -13100) {
		t.Errorf("LogCatchUp(0.1, 10000) = %v, want about -13084 (10^-5682)", l)
	}
}

// TestCatchUpSteps: a row costs about sqrt(z) terms, not z^2: z = 2e9,
// which once pinned both cores until the node was killed, sums a few
// hundred thousand terms (counted, not timed).
func TestCatchUpSteps(t *testing.T) {
	t.Parallel()
	for _, z := range []int{1, 10, 1000, 1_000_000, 2_000_000_000, math.MaxInt32} {
		for _, q := range []float64{1e-9, 0.1, 0.3, 0.49} {
			_, steps := logCatchUp(q, z)
			if limit := 30*int(math.Sqrt(float64(z))) + 100; steps > limit {
				t.Errorf("q=%g z=%d: %d terms, want at most %d", q, z, steps, limit)
			}
		}
	}
	if f := CatchUp(0.49, 2_000_000_000); f != 0 {
		t.Errorf("CatchUp(0.49, 2e9) = %v", f)
	}
}

func BenchmarkCatchUp(b *testing.B) {
	for _, z := range []int{10, 10_000, 1_000_000} {
		b.Run(fmt.Sprintf("z=%d", z), func(b *testing.B) {
			for b.Loop() {
				CatchUp(0.45, z)
			}
		})
	}
}
