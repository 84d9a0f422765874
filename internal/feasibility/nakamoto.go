package feasibility

import "math"

// CatchUp is the probability that a rival chain z records behind the
// winner is nevertheless the true one, when each record is wrong with
// probability q: seed 000 eq. (1)-(4), Nakamoto's formula.
//
//	p = 1 - q, lambda = z q / p
//	f(z) = 1 - sum_{k=0..z} (lambda^k e^-lambda / k!) (1 - (q/p)^(z-k))
//
// A rival that is not behind (z <= 0), or q >= p, gives 1: the decision
// is no better than a coin and needs a person to look (eq. (1)). A q that
// is not a number in (0, 1) also gives 1: nothing is known.
//
// The result is in [0, 1] for every z; it is 0 where the true value is
// below the smallest float64 (q = 0.1 from z = 570 on): LogCatchUp
// keeps its magnitude. The cost grows with the square root of z (about
// 20,000 steps at z = 10^6), never with z squared.
func CatchUp(q float64, z int) float64 {
	return math.Exp(LogCatchUp(q, z))
}

// LogCatchUp is the natural logarithm of CatchUp(q, z), also where
// CatchUp underflows; its relative error is near 1e-13 (checked against
// 60-digit arithmetic).
//
// Written with r = q/p (so that lambda = z r), eq. (4) is a sum of
// positive terms, with no cancellation:
//
//	f(z) = sum_{k>z} P(k) + sum_{k=0..z} P(k) r^(z-k),  P(k) = lambda^k e^-lambda / k!
//
// Call T(k) the k-th term. The largest is T(z), and from it the others
// follow by ratios that need no powers and cannot overflow: going down,
// T(k-1) = T(k) k/z; going up, T(k+1) = T(k) lambda/(k+1). Both runs
// shrink faster and faster, so each stops once what remains of it is
// below 2^-60 of the sum, which is after about 9 sqrt(z) steps.
func LogCatchUp(q float64, z int) float64 {
	l, _ := logCatchUp(q, z)
	return l
}

// logCatchUp is LogCatchUp with the number of terms it summed (its cost).
func logCatchUp(q float64, z int) (float64, int) {
	p := 1 - q
	if z <= 0 || !(q > 0 && q < p) {
		return 0, 0
	}
	steps := 0
	zf := float64(z)
	lambda := zf * (q / p)
	logT := logPoissonAtMean(zf, q, p)

	const eps = 0x1p-60
	s := 1.0 // the sum divided by T(z)
	// Down from z: T(k-1)/T(z), for k = z..1; what remains after term t at
	// k-1 is at most t (k-1)/z / (1 - (k-1)/z) <= t z/(z-k+1).
	for k, t := z, 1.0; k > 0; k-- {
		steps++
		t *= float64(k) / zf
		s += t
		if t*zf < eps*s*float64(z-k+1) {
			break
		}
	}
	// Up from z: T(k)/T(z) for k = z+1, z+2, ...; the ratio of the next
	// term is lambda/(k+1) < r < 1, and what remains is at most
	// t ratio / (1 - ratio).
	for k, t := z, 1.0; ; k++ {
		steps++
		t *= lambda / float64(k+1)
		s += t
		next := lambda / float64(k+2)
		if t*next < eps*s*(1-next) {
			break
		}
	}
	return min(0, logT+math.Log(s)), steps
}

// logPoissonAtMean is log P(z) for a Poisson variable of mean
// lambda = z r, r = q/p, without the cancellation of its textbook form
// (z log lambda - lambda - log z!, three terms of size z log z):
//
//	log P(z) = -log sqrt(2 pi z) - stirlerr(z) - z (r - 1 - log r)
//
// as in Loader's dbinom/dpois ("Fast and accurate computation of binomial
// probabilities", 2000). q may be subnormal: log r is taken as
// log q - log p, never rounded through r.
func logPoissonAtMean(z, q, p float64) float64 {
	var bd float64 // r - 1 - log r >= 0
	if r := q / p; r < 0.5 {
		bd = r - 1 - (logSub(q) - math.Log(p))
	} else {
		d := (2*q - 1) / p // r - 1, exact in 2q - 1 for q in [1/4, 1/2)
		bd = d - math.Log1p(d)
	}
	return -0.5*math.Log(2*math.Pi*z) - stirlerr(z) - z*bd
}

// logSub is log x for x > 0, subnormals included: math.Log on amd64
// answers log of the smallest normal number for them (log 1e-320 gave
// -709.09, not -736.83), so the exponent is taken apart first.
func logSub(x float64) float64 {
	frac, exp := math.Frexp(x)
	return math.Log(frac) + float64(exp)*math.Ln2
}

// stirlerr is log z! - log(sqrt(2 pi z) (z/e)^z), the error of Stirling's
// formula, for z >= 1.
func stirlerr(z float64) float64 {
	if z <= 15 {
		lg, _ := math.Lgamma(z + 1)
		return lg - (z+0.5)*math.Log(z) + z - 0.5*math.Log(2*math.Pi)
	}
	const s0, s1, s2, s3, s4 = 1.0 / 12, 1.0 / 360, 1.0 / 1260, 1.0 / 1680, 1.0 / 1188
	zz := z * z
	return (s0 - (s1-(s2-(s3-s4/zz)/zz)/zz)/zz) / z
}
