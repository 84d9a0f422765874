// Package detect holds outbreak-detection rules for the early warning of
// issue 16: given a region's daily (or weekly) counts, say on which days
// the count is higher than its recent past makes likely.
//
// The rules run inside the replicated state machine, so the same counts
// must give bit-identical results on every node: the package uses no
// floating point, only integers (see Fixed). Its EARS C1, C2 and C3 follow
// R's surveillance::earsC (version 1.20.3, Debian's r-cran-surveillance)
// exactly, including its choices where the literature differs, and
// reference_test.go checks them time point by time point against it on the
// package's real data sets (docs/WARNING.md has the result).
package detect

import (
	"errors"
	"fmt"
	"math/big"
	"math/bits"
)

// Method is one of the three EARS rules of the CDC's Early Aberration
// Reporting System.
type Method uint8

// The EARS methods.
const (
	// C1 compares a day with the Baseline days just before it.
	C1 Method = iota + 1
	// C2 compares a day with Baseline days ending 3 days before it (a gap
	// of 2 days, so that the start of an outbreak does not raise the
	// baseline).
	C2
	// C3 adds up the excesses of C2 over 1 on the day and the 2 days
	// before.
	C3
)

func (m Method) String() string {
	switch m {
	case C1, C2, C3:
		return fmt.Sprintf("C%d", uint8(m))
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// Limits and defaults of EARS's parameters.
const (
	// DefaultBaseline is the baseline length when EARS.Baseline is 0, as
	// in earsC.
	DefaultBaseline = 7
	// MinBaseline is the shortest baseline earsC accepts.
	MinBaseline = 3
	// MaxBaseline bounds the baseline (earsC has no bound): EARS is made for
	// short baselines, and the bound keeps a transaction from asking for
	// an absurd amount of work.
	MaxBaseline = 1000
	// MaxMinSigma bounds MinSigma: the largest count.
	MaxMinSigma = Fixed(1<<32-1) * One
)

// The errors of EARS.Check, wrapped with the offending value.
var (
	ErrMethod    = errors.New("detect: unknown EARS method")
	ErrBaseline  = errors.New("detect: EARS baseline out of range")
	ErrAlpha     = errors.New("detect: no precomputed quantile for this alpha (0.001, 0.005, 0.01, 0.025 or 0.05)")
	ErrThreshold = errors.New("detect: EARS threshold out of range")
	ErrMinSigma  = errors.New("detect: EARS minimum sigma out of range")
	// ErrTooShort is returned by At for a day the method cannot judge: too
	// early for a full baseline, or past the end of the counts.
	ErrTooShort = errors.New("detect: day outside what the counts allow")
)

// EARS is the parameter set of one EARS rule, as earsC's control list. The
// zero value of each field but Method means earsC's default. An EARS is a
// plain value: safe to copy and to use from several goroutines.
type EARS struct {
	Method Method
	// Baseline is the number of past time points the mean and standard
	// deviation are taken from (earsC's baseline): 0 means 7, else
	// MinBaseline to MaxBaseline.
	Baseline int
	// Alpha sets the threshold z = Φ^-1(1 - Alpha) of C1 and C2 and the
	// level of C3, as earsC's alpha. Only the values with a precomputed
	// quantile are accepted: 0.001, 0.005, 0.01, 0.025 and 0.05 (1000,
	// 5000, 10000, 25000 and 50000 as Fixed). 0 means earsC's default:
	// 0.001 for C1 and C2, 0.025 for C3.
	Alpha Fixed
	// Threshold gives z directly instead of Alpha (which must then be 0),
	// for a level without a precomputed quantile: 0 < Threshold <= 1000.
	Threshold Fixed
	// MinSigma is the smallest standard deviation used (earsC's minSigma,
	// default 0): with a baseline of equal counts and MinSigma 0 the
	// spread is 0, and C1 and C2 alarm on any count above the mean.
	// Burkom suggests 0.5 or 1 for sparse data.
	MinSigma Fixed
}

// Day is the verdict of a rule on one time point.
type Day struct {
	// Index is the time point's position in the counts.
	Index int
	// Observed is the count at Index.
	Observed uint32
	// Stat is the method's statistic: for C1 and C2 (y - mean) / sigma;
	// for C3 the sum of max(0, C2 - 1) over the day and the 2 days before.
	// It is infinite or undefined where sigma is 0 (R's Inf, -Inf, NaN).
	// Stat is for people to read: the alarm follows Upper (for C3 earsC's
	// alarm is not Stat >= z, see Upper).
	Stat Value
	// Upper is earsC's upperbound: for C1 and C2 mean + z sigma, the
	// largest count that does not alarm. For C3 it is, as earsC 1.20.3
	// computes it, max(0, y + sigma (z - P)), where y is the day's count,
	// sigma that of the day's C2 and P the sum of max(0, C2 - 1) over the
	// 2 days before: so C3 alarms when P > z, y > 0 and sigma > 0,
	// whatever the day's own excess. Upper is Undefined where earsC's is NaN (only C3
	// with MinSigma 0: a C2 of 0/0 on one of those 2 days, or an infinite
	// P with a zero sigma), and then Alarm is false where earsC's is NA.
	Upper Value
	// Alarm is Observed > Upper (false when Upper is Undefined).
	Alarm bool
}

// params are an EARS's parameters after Check, defaults filled in.
type params struct {
	method   Method
	n        int
	z        quantile
	minSigma Fixed
}

// Check reports whether e is a valid parameter set, wrapping one of
// ErrMethod, ErrBaseline, ErrAlpha, ErrThreshold or ErrMinSigma.
func (e EARS) Check() error {
	_, err := e.params()
	return err
}

func (e EARS) params() (params, error) {
	p := params{method: e.Method, n: e.Baseline, minSigma: e.MinSigma}
	switch e.Method {
	case C1, C2, C3:
	default:
		return p, fmt.Errorf("%w: %d", ErrMethod, uint8(e.Method))
	}
	if p.n == 0 {
		p.n = DefaultBaseline
	}
	if p.n < MinBaseline || p.n > MaxBaseline {
		return p, fmt.Errorf("%w: %d (%d to %d)", ErrBaseline, p.n, MinBaseline, MaxBaseline)
	}
	if p.minSigma < 0 || p.minSigma > MaxMinSigma {
		return p, fmt.Errorf("%w: %v", ErrMinSigma, p.minSigma)
	}
	switch {
	case e.Threshold != 0 && e.Alpha != 0:
		return p, fmt.Errorf("%w: both alpha %v and threshold %v given", ErrThreshold, e.Alpha, e.Threshold)
	case e.Threshold != 0:
		if e.Threshold < 0 || e.Threshold > maxThreshold {
			return p, fmt.Errorf("%w: %v (above 0, at most %v)", ErrThreshold, e.Threshold, maxThreshold)
		}
		p.z = quantileOf(e.Threshold)
		return p, nil
	}
	alpha := e.Alpha
	if alpha == 0 {
		// earsC: "By default if alpha is NULL the value 0.001 is assumed
		// for C1 and C2 whereas 0.025 is assumed for C3."
		alpha = 1_000
		if e.Method == C3 {
			alpha = 25_000
		}
	}
	z, ok := zOf(alpha)
	if !ok {
		return p, fmt.Errorf("%w: %v", ErrAlpha, alpha)
	}
	p.z = z
	return p, nil
}

// First returns the index of the first time point e can judge (earsC's
// default range starts there): Baseline for C1, Baseline+2 for C2 and
// Baseline+4 for C3 (counting from 0). It returns -1 if e is not valid.
func (e EARS) First() int {
	p, err := e.params()
	if err != nil {
		return -1
	}
	return p.first()
}

func (p params) first() int {
	switch p.method {
	case C2:
		return p.n + 2
	case C3:
		return p.n + 4
	}
	return p.n
}

// Run judges every time point of counts from First on, as earsC with its
// default range. counts are one count per time point, oldest first; Run
// neither keeps nor changes them. A series too short for one verdict gives
// no days and no error (earsC stops with "The vector of observed is too
// short!"; on a ledger a young series is normal). The error is Check's.
func (e EARS) Run(counts []uint32) ([]Day, error) {
	p, err := e.params()
	if err != nil {
		return nil, err
	}
	first := p.first()
	if len(counts) <= first {
		return nil, nil
	}
	w := newWide()
	days := make([]Day, 0, len(counts)-first)
	for t := first; t < len(counts); t++ {
		days = append(days, p.at(w, counts, t))
	}
	return days, nil
}

// At judges the time point t of counts alone, as Run would: the state
// machine's daily call. Only counts[t-First:t+1] are read. It returns an
// error wrapping ErrTooShort when t < First or t >= len(counts), or
// Check's.
func (e EARS) At(counts []uint32, t int) (Day, error) {
	p, err := e.params()
	if err != nil {
		return Day{}, err
	}
	if t < p.first() || t >= len(counts) {
		return Day{}, fmt.Errorf("%w: day %d of %d with %v needs days %d to %d", ErrTooShort, t, len(counts), p.method, p.first(), len(counts)-1)
	}
	return p.at(newWide(), counts, t), nil
}

// at judges day t; t is within counts and at least p.first().
func (p params) at(w wide, counts []uint32, t int) Day {
	y := counts[t]
	d := Day{Index: t, Observed: y}
	var upper ext
	switch p.method {
	case C1, C2:
		lag := 0
		if p.method == C2 {
			lag = 2
		}
		b := p.window(w, counts, t-lag)
		d.Stat = w.value(b.score(w, y))
		// earsC: mean + zAlpha * pmax(sd, minSigma).
		zs := new(big.Int).Mul(big.NewInt(int64(p.z)), w.fromZ)
		zs.Mul(zs, b.sigma).Quo(zs, w.one) // both non-negative: Quo is floor
		upper = finite(zs.Add(zs, b.mean))
	case C3:
		upper, d.Stat = p.c3(w, counts, t)
	}
	d.Upper = w.value(upper)
	d.Alarm = d.Upper.Kind == Finite && int64(y)*int64(One) > int64(d.Upper.Fixed)
	return d
}

// c3 returns earsC's C3 upperbound for day t and the C3 statistic. As
// earsC 1.20.3 computes it:
//
//	C2(i)  = (y(i) - mean(i)) / sigma(i), on C2's baseline of day i
//	part(i) = max(0, C2(i) - 1)
//	P      = part(t-2) + part(t-1)
//	upper  = max(0, y(t) + sigma(t) (z - P))
//
// with R's arithmetic of Inf and NaN where a sigma is 0: x/0 is Inf, -Inf
// or NaN (0/0), max(0, NaN) is NaN, 0 * Inf is NaN. The statistic is
// P + part(t), the C3 of earsC's help page; the upperbound does not use
// part(t) (the help page's formula has mean(t) where the code has y(t)).
func (p params) c3(w wide, counts []uint32, t int) (upper ext, stat Value) {
	var parts [3]ext
	var b baseline
	for k := range parts {
		i := t - 2 + k
		b = p.window(w, counts, i-2)
		c2 := b.score(w, counts[i])
		switch c2.kind {
		case Finite:
			v := new(big.Int).Sub(c2.v, w.one)
			if v.Sign() < 0 {
				v.SetInt64(0)
			}
			parts[k] = finite(v)
		case NegInf:
			parts[k] = finite(new(big.Int))
		default:
			parts[k] = c2
		}
	}
	sum := add(parts[0], parts[1])
	stat = w.value(add(sum, parts[2]))
	y := new(big.Int).Mul(big.NewInt(int64(counts[t])), w.one)
	sigma := b.sigma // the baseline of day t, the last one taken
	switch sum.kind {
	case Undefined:
		return ext{kind: Undefined}, stat
	case PosInf:
		if sigma.Sign() == 0 {
			return ext{kind: Undefined}, stat // y + 0 * -Inf
		}
		return finite(new(big.Int)), stat // max(0, -Inf)
	}
	v := new(big.Int).Mul(big.NewInt(int64(p.z)), w.fromZ)
	v.Sub(v, sum.v).Mul(v, sigma)
	v.Div(v, w.one) // Euclidean: floor for a positive divisor
	v.Add(v, y)
	if v.Sign() < 0 {
		v.SetInt64(0)
	}
	return finite(v), stat
}

// baseline is the mean and spread of the Baseline counts before a day.
type baseline struct {
	n     int64
	sum   int64    // S, the sum of the counts
	mean  *big.Int // S/n, wide, rounded down
	sigma *big.Int // max(sd, MinSigma), wide, rounded down; 0 only if both are
}

// window returns the baseline of the p.n counts before index end:
// counts[end-p.n:end]. C1's baseline of day t ends at t, C2's at t-2.
func (p params) window(w wide, counts []uint32, end int) baseline {
	b := baseline{n: int64(p.n)}
	var hi, lo uint64 // Σ y² in 128 bits: at most MaxBaseline·2^64
	for _, y := range counts[end-p.n : end] {
		b.sum += int64(y) // at most MaxBaseline·2^32: no overflow
		var carry uint64
		lo, carry = bits.Add64(lo, uint64(y)*uint64(y), 0)
		hi += carry
	}
	squares := new(big.Int).SetUint64(hi)
	squares.Lsh(squares, 64).Or(squares, new(big.Int).SetUint64(lo))
	b.mean = new(big.Int).Mul(big.NewInt(b.sum), w.one)
	b.mean.Quo(b.mean, big.NewInt(b.n))

	// R's sd is the sample standard deviation: sd² = Σ(y - mean)² / (n-1)
	// = D / (n(n-1)) with D = n Σy² - S², an exact integer.
	dev := new(big.Int).Mul(squares, big.NewInt(b.n))
	s := big.NewInt(b.sum)
	dev.Sub(dev, s.Mul(s, s))
	nn := big.NewInt(b.n * (b.n - 1))

	// pmax(sd, minSigma): compare sd² with minSigma², exactly:
	// D·10^12 against (minSigma·10^6)²·n(n-1).
	ms := big.NewInt(int64(p.minSigma))
	lhs := new(big.Int).Mul(dev, w.fixedSquared)
	rhs := new(big.Int).Mul(ms, ms)
	if p.minSigma > 0 && lhs.Cmp(rhs.Mul(rhs, nn)) <= 0 {
		b.sigma = w.fromFixed(p.minSigma)
		return b
	}
	// sd·10^24 = sqrt(D·10^48 / n(n-1)), rounded down: the floor of the
	// square root of the floor is the floor of the square root.
	v := dev.Mul(dev, w.one)
	v.Mul(v, w.one).Quo(v, nn)
	b.sigma = v.Sqrt(v)
	return b
}

// score returns (y - mean) / sigma, wide and rounded down (C1 or C2 of a
// day, depending on the baseline), or what R gives for a zero sigma: Inf,
// -Inf, or NaN when y is the mean.
func (b baseline) score(w wide, y uint32) ext {
	// (y - S/n) / sigma = (y·n - S) / (n·sigma)
	diff := big.NewInt(int64(y)*b.n - b.sum)
	if b.sigma.Sign() == 0 {
		switch diff.Sign() {
		case 1:
			return ext{kind: PosInf}
		case -1:
			return ext{kind: NegInf}
		}
		return ext{kind: Undefined}
	}
	// sigma is wide, so one factor 10^24 cancels it and one makes the
	// result wide.
	diff.Mul(diff, w.one).Mul(diff, w.one)
	den := new(big.Int).Mul(b.sigma, big.NewInt(b.n))
	return finite(diff.Div(diff, den)) // Euclidean: floor for a positive divisor
}
