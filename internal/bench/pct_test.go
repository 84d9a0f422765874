package bench

import (
	"testing"
	"time"
)

// TestPct: percentiles by nearest rank, so that with few queries the 99th
// percentile is the slowest, never a value interpolated below it.
func TestPct(t *testing.T) {
	t.Parallel()
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 .. 1, unsorted
	}
	for _, c := range []struct {
		in       []time.Duration
		p50, p99 float64
	}{
		{nil, 0, 0},
		{ms(7), 7, 7},
		{ms(9, 3, 6), 6, 9},
		{ms(4, 1, 3, 2), 2, 4},
		{ms(hundred...), 50, 99},
	} {
		if p50, p99 := pct(c.in); p50 != c.p50 || p99 != c.p99 {
			t.Errorf("pct(%v) = %v, %v; want %v, %v", c.in, p50, p99, c.p50, c.p99)
		}
	}
}
