package detect

import (
	"fmt"
	"math/big"
)

// Fixed is a decimal fixed-point number: the value times 10^6 in an int64
// (so 1.5 is Fixed(1_500_000)), with a range of about ±9.2e12. Results are
// Fixed rather than float64 because they are computed inside a replicated
// state machine, where every node must reach bit-identical values: integer
// arithmetic is exact and the same on every machine and compiler, while
// floating point leaves room (fused multiply-add, x87 precision, library
// functions such as sqrt and math.Erfinv that may differ in the last bit).
type Fixed int64

// One is 1 as a Fixed.
const One Fixed = 1_000_000

// String writes f with all six decimals, as "-1.500000".
func (f Fixed) String() string {
	u := uint64(f) // two's complement: correct for math.MinInt64 too
	sign := ""
	if f < 0 {
		sign, u = "-", -u
	}
	return fmt.Sprintf("%s%d.%06d", sign, u/uint64(One), u%uint64(One))
}

// Kind says whether a Value is a number and, if not, what R would hold in
// its place (Inf, -Inf or NaN).
type Kind uint8

// The kinds of Value.
const (
	// Finite: Value.Fixed holds the number.
	Finite Kind = iota
	// PosInf: a positive count divided by a zero spread, R's Inf.
	PosInf
	// NegInf: a negative difference divided by a zero spread, R's -Inf.
	NegInf
	// Undefined: zero divided by zero, or a product of zero and an
	// infinity: R's NaN (an alarm of NA).
	Undefined
)

func (k Kind) String() string {
	switch k {
	case Finite:
		return "finite"
	case PosInf:
		return "Inf"
	case NegInf:
		return "-Inf"
	case Undefined:
		return "NaN"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Value is a Fixed that may also be infinite or undefined, where the
// reference, R's surveillance::earsC, divides by a zero standard deviation
// (minSigma 0 and a baseline of equal counts). Fixed is meaningful only
// when Kind is Finite, and is then the number rounded down to 10^-6.
type Value struct {
	Kind  Kind
	Fixed Fixed
}

// String writes v as R would name it: a decimal, "Inf", "-Inf" or "NaN".
func (v Value) String() string {
	if v.Kind == Finite {
		return v.Fixed.String()
	}
	return v.Kind.String()
}

// Internally the package computes with math/big integers scaled by 10^24
// ("wide" values), far finer than the 10^-6 of a Fixed, and then rounds
// down once. math/big is exact integer arithmetic (its square root is
// Newton's method on integers), so counts up to 2^32-1 and every baseline
// allowed need no overflow analysis. Each step rounds down (floor), so a
// wide value is at most a few 10^-24 below the exact one (with the
// package's quantile constants); a Fixed is then the exact value rounded
// down to 10^-6, unless the exact value lies within about 10^-23 above a
// multiple of 10^-6.
const (
	wideDigits  = 24
	fixedDigits = 6
	// quantileDigits: the decimals of the z constants (zOf).
	quantileDigits = 15
)

// wide holds the powers of ten the computation needs, made once per call
// (no package-level mutable state).
type wide struct {
	one      *big.Int // 10^24: 1 as a wide value
	perFixed *big.Int // 10^18: one Fixed unit (10^-6) in wide units
	fromZ    *big.Int // 10^9: a quantile constant (10^-15) to wide
	// fixedSquared is 10^12: the scale of a Fixed squared.
	fixedSquared *big.Int
}

func newWide() wide {
	return wide{
		one:      pow10(wideDigits),
		perFixed: pow10(wideDigits - fixedDigits),
		fromZ:    pow10(wideDigits - quantileDigits),

		fixedSquared: pow10(2 * fixedDigits),
	}
}

func pow10(k int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil)
}

// ext is a wide value, or one of R's non-finite numbers.
type ext struct {
	kind Kind
	v    *big.Int // the value times 10^24, when kind is Finite
}

func finite(v *big.Int) ext { return ext{kind: Finite, v: v} }

// add returns x + y with IEEE 754's rules for the non-finite: NaN wins, and
// Inf + -Inf is NaN.
func add(x, y ext) ext {
	switch {
	case x.kind == Undefined || y.kind == Undefined:
		return ext{kind: Undefined}
	case x.kind == Finite && y.kind == Finite:
		return finite(new(big.Int).Add(x.v, y.v))
	case x.kind == Finite:
		return y
	case y.kind == Finite || x.kind == y.kind:
		return x
	}
	return ext{kind: Undefined}
}

// value rounds x down to a Value. A finite number beyond the range of Fixed
// becomes an infinity of its sign: only a statistic divided by a tiny
// minimum sigma gets there.
func (w wide) value(x ext) Value {
	if x.kind != Finite {
		return Value{Kind: x.kind}
	}
	f := new(big.Int).Div(x.v, w.perFixed) // Euclidean: floor for a positive divisor
	switch {
	case f.IsInt64():
		return Value{Fixed: Fixed(f.Int64())}
	case f.Sign() > 0:
		return Value{Kind: PosInf}
	}
	return Value{Kind: NegInf}
}

// fromFixed returns f as a wide value.
func (w wide) fromFixed(f Fixed) *big.Int {
	return new(big.Int).Mul(big.NewInt(int64(f)), w.perFixed)
}

// quantile is z = Φ^-1(1 - alpha), the standard normal quantile, times
// 10^15.
type quantile int64

// zOf returns the quantile constant for alpha (a Fixed: 0.001 is 1000), or
// false when alpha is not one of those precomputed. Each constant is R's
// qnorm(1 - alpha) (the value earsC uses) rounded to the nearest 10^-15:
// computing a normal quantile at run time would take floating point.
func zOf(alpha Fixed) (quantile, bool) {
	switch alpha {
	case 1_000: // 0.001: qnorm(0.999) = 3.0902323061678132
		return 3_090232306167813, true
	case 5_000: // 0.005: qnorm(0.995) = 2.5758293035488999
		return 2_575829303548900, true
	case 10_000: // 0.01: qnorm(0.99) = 2.3263478740408408
		return 2_326347874040841, true
	case 25_000: // 0.025: qnorm(0.975) = 1.9599639845400536
		return 1_959963984540054, true
	case 50_000: // 0.05: qnorm(0.95) = 1.6448536269514715
		return 1_644853626951472, true
	}
	return 0, false
}

// maxThreshold bounds a threshold given directly: far above any normal
// quantile in use (z = 8.3 is alpha = 5e-17), and small enough that its
// 10^-15 form fits an int64.
const maxThreshold = 1000 * One

// quantileOf returns a threshold given as a Fixed as a quantile constant
// (exactly: 10^-6 is a multiple of 10^-15).
func quantileOf(threshold Fixed) quantile {
	const perFixed = 1_000_000_000 // 10^(quantileDigits-fixedDigits)
	return quantile(int64(threshold) * perFixed)
}
