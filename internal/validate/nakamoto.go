package validate

import "math"

// CatchUp is the probability that a rival chain z records behind the
// winner is nevertheless the true one, when each record is wrong with
// probability q: seed 000 eq. (1)-(4), Nakamoto's formula.
//
//	p = 1 - q, lambda = z q / p
//	f(z) = 1 - sum_{k=0..z} (lambda^k e^-lambda / k!) (1 - (q/p)^(z-k))
//
// A rival that is not behind (z <= 0), or q >= p, gives 1: the decision
// is no better than a coin and needs a person to look (eq. (1)).
func CatchUp(q float64, z int) float64 {
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
