package privacy

import (
	"math"
	"sync"
	"time"
)

// Limiter is a token bucket per client: each client may spend up to
// Burst units at once, refilled at Rate units per second. The exposure
// check spends one unit per blinded visit, so that nobody can ask the
// server about (site, hour) pairs faster than a device needs to; without
// the limit, the evaluation oracle would let anyone test every site and
// hour against the risk tokens. Safe for concurrent use.
type Limiter struct {
	Rate  float64 // units per second
	Burst float64
	Now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	level float64
	at    time.Time
}

// NewLimiter returns a limiter allowing burst units at once and rate per
// second after that.
func NewLimiter(rate, burst float64) *Limiter {
	return &Limiter{Rate: rate, Burst: burst, Now: time.Now, buckets: map[string]*bucket{}}
}

// Allow spends n units of client's bucket if it holds them; otherwise it
// spends nothing and says how long until it would.
func (l *Limiter) Allow(client string, n int) (ok bool, retry time.Duration) {
	now := l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 100000 {
		l.prune(now)
	}
	b := l.buckets[client]
	if b == nil {
		b = &bucket{level: l.Burst, at: now}
		l.buckets[client] = b
	}
	b.level = math.Min(l.Burst, b.level+now.Sub(b.at).Seconds()*l.Rate)
	b.at = now
	need := float64(n)
	if need > l.Burst {
		return false, 0 // never: the caller's request is too large
	}
	if b.level >= need {
		b.level -= need
		return true, 0
	}
	return false, time.Duration((need - b.level) / l.Rate * float64(time.Second))
}

// prune forgets clients whose buckets are full again.
func (l *Limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.level+now.Sub(b.at).Seconds()*l.Rate >= l.Burst {
			delete(l.buckets, k)
		}
	}
}
