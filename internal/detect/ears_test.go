package detect

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// fin is a finite Value from a decimal written as an integer of 10^-6.
func fin(micro int64) Value { return Value{Fixed: Fixed(micro)} }

var (
	inf = Value{Kind: PosInf}
	neg = Value{Kind: NegInf}
	nan = Value{Kind: Undefined}
)

// TestEARSHand checks the last day of short series against values worked
// out by hand (the bounds as the exact decimal rounded down to 10^-6; z is
// 3.090232306167813 for alpha 0.001, 1.959963984540054 for 0.025 and
// 1.644853626951472 for 0.05).
func TestEARSHand(t *testing.T) {
	t.Parallel()
	const M = math.MaxUint32
	for _, c := range []struct {
		name   string
		e      EARS
		counts []uint32
		want   Day // Index and Observed are filled in from counts
	}{
		// mean 2, sd 1: upper 2 + z.
		{"C1 1 2 3 then 10", EARS{Method: C1, Baseline: 3}, []uint32{1, 2, 3, 10}, Day{Stat: fin(8e6), Upper: fin(5_090232), Alarm: true}},
		{"C1 1 2 3 then 5", EARS{Method: C1, Baseline: 3}, []uint32{1, 2, 3, 5}, Day{Stat: fin(3e6), Upper: fin(5_090232)}},
		{"C1 1 2 3 then 0", EARS{Method: C1, Baseline: 3}, []uint32{1, 2, 3, 0}, Day{Stat: fin(-2e6), Upper: fin(5_090232)}},
		// sd 0 and minSigma 0: the bound is the mean, the statistic R's x/0.
		{"C1 2 2 2 then 3", EARS{Method: C1, Baseline: 3}, []uint32{2, 2, 2, 3}, Day{Stat: inf, Upper: fin(2e6), Alarm: true}},
		{"C1 2 2 2 then 2", EARS{Method: C1, Baseline: 3}, []uint32{2, 2, 2, 2}, Day{Stat: nan, Upper: fin(2e6)}},
		{"C1 2 2 2 then 1", EARS{Method: C1, Baseline: 3}, []uint32{2, 2, 2, 1}, Day{Stat: neg, Upper: fin(2e6)}},
		// minSigma replaces a smaller sd: 2 + z/2, 2 + 2z.
		{"C1 2 2 2 then 3 minSigma 0.5", EARS{Method: C1, Baseline: 3, MinSigma: One / 2}, []uint32{2, 2, 2, 3}, Day{Stat: fin(2e6), Upper: fin(3_545116)}},
		{"C1 1 2 3 then 10 minSigma 2", EARS{Method: C1, Baseline: 3, MinSigma: 2 * One}, []uint32{1, 2, 3, 10}, Day{Stat: fin(4e6), Upper: fin(8_180464), Alarm: true}},
		// mean 2, sd sqrt(64/12) = 2.309401...: the statistic 5/sd.
		{"C1 0 0 4 4 then 7 alpha 0.05", EARS{Method: C1, Baseline: 4, Alpha: 50_000}, []uint32{0, 0, 4, 4, 7}, Day{Stat: fin(2_165063), Upper: fin(5_798626), Alarm: true}},
		{"C1 0 0 4 4 then 7 threshold 2", EARS{Method: C1, Baseline: 4, Threshold: 2 * One}, []uint32{0, 0, 4, 4, 7}, Day{Stat: fin(2_165063), Upper: fin(6_618802), Alarm: true}},
		// The largest counts: mean 2M/3, sd M/sqrt(3).
		{"C1 M 0 M then M", EARS{Method: C1, Baseline: 3}, []uint32{M, 0, M, M}, Day{Stat: fin(577350), Upper: fin(10526162198_666304)}},
		// C2 skips the 2 days before: the 100s are not in its baseline.
		{"C2 1 2 3 100 100 then 10", EARS{Method: C2, Baseline: 3}, []uint32{1, 2, 3, 100, 100, 10}, Day{Stat: fin(8e6), Upper: fin(5_090232), Alarm: true}},
		{"C1 1 2 3 100 100 then 10", EARS{Method: C1, Baseline: 3}, []uint32{1, 2, 3, 100, 100, 10}, Day{Stat: fin(-1_029708), Upper: fin(240_728872)}},
		// C3: the baselines of days 5, 6, 7 are 1 2 3, 2 3 4, 3 4 5 (sd 1),
		// so C2 is 3 on days 5 and 6: P = 2 + 2 = 4 > z, and the bound is
		// max(0, y + 1.959963... - 4).
		{"C3 1 2 3 4 5 5 6 then 4", EARS{Method: C3, Baseline: 3}, []uint32{1, 2, 3, 4, 5, 5, 6, 4}, Day{Stat: fin(4e6), Upper: fin(1_959963), Alarm: true}},
		{"C3 1 2 3 4 5 5 6 then 1", EARS{Method: C3, Baseline: 3}, []uint32{1, 2, 3, 4, 5, 5, 6, 1}, Day{Stat: fin(4e6), Upper: fin(0), Alarm: true}},
		{"C3 1 2 3 4 5 5 6 then 0", EARS{Method: C3, Baseline: 3}, []uint32{1, 2, 3, 4, 5, 5, 6, 0}, Day{Stat: fin(4e6), Upper: fin(0)}},
		// earsC's C3 bound is y + sigma (z - P): with P = 0 a spike on the
		// day itself does not alarm (C3 = 995 is only the statistic).
		{"C3 1 2 3 4 5 3 4 then 1000", EARS{Method: C3, Baseline: 3}, []uint32{1, 2, 3, 4, 5, 3, 4, 1000}, Day{Stat: fin(995e6), Upper: fin(1001_959963)}},
		// Zero spreads: 0/0 on day 5 makes everything NaN.
		{"C3 all 0", EARS{Method: C3, Baseline: 3}, []uint32{0, 0, 0, 0, 0, 0, 0, 0}, Day{Stat: nan, Upper: nan}},
		// Day 5: 1 over a baseline of 0s, C2 = Inf; day 6: C2 = 0; day 7's
		// baseline 0 3 0 has sigma sqrt(3): the bound is max(0, -Inf).
		{"C3 0 0 0 3 0 1 1 then 2", EARS{Method: C3, Baseline: 3}, []uint32{0, 0, 0, 3, 0, 1, 1, 2}, Day{Stat: inf, Upper: fin(0), Alarm: true}},
		// The same with day 7's sigma 0: y + 0 * -Inf is NaN.
		{"C3 0 0 0 0 0 1 1 then 5", EARS{Method: C3, Baseline: 3}, []uint32{0, 0, 0, 0, 0, 1, 1, 5}, Day{Stat: inf, Upper: nan}},
		// minSigma 1 makes every C2 finite: C2 = 1 on days 5 and 6, 5 on 7.
		{"C3 0 0 0 0 0 1 1 then 5 minSigma 1", EARS{Method: C3, Baseline: 3, MinSigma: One}, []uint32{0, 0, 0, 0, 0, 1, 1, 5}, Day{Stat: fin(4e6), Upper: fin(6_959963)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := c.want
			want.Index = len(c.counts) - 1
			want.Observed = c.counts[want.Index]
			got, err := c.e.At(c.counts, want.Index)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("At = %+v\nwant %+v", got, want)
			}
			days, err := c.e.Run(c.counts)
			if err != nil || len(days) == 0 || days[len(days)-1] != got {
				t.Errorf("Run = %+v, %v; its last day differs from At's %+v", days, err, got)
			}
		})
	}
}

// TestEARSCheck names each refused parameter set after its fault.
func TestEARSCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		e    EARS
		want error
	}{
		{"no method", EARS{}, ErrMethod},
		{"method 4", EARS{Method: 4}, ErrMethod},
		{"baseline 2", EARS{Method: C1, Baseline: 2}, ErrBaseline},
		{"baseline -1", EARS{Method: C1, Baseline: -1}, ErrBaseline},
		{"baseline 1001", EARS{Method: C1, Baseline: MaxBaseline + 1}, ErrBaseline},
		{"alpha 0.1", EARS{Method: C1, Alpha: 100_000}, ErrAlpha},
		{"alpha -0.001", EARS{Method: C1, Alpha: -1_000}, ErrAlpha},
		{"alpha and threshold", EARS{Method: C1, Alpha: 1_000, Threshold: 3 * One}, ErrThreshold},
		{"threshold -1", EARS{Method: C2, Threshold: -One}, ErrThreshold},
		{"threshold 1000.000001", EARS{Method: C2, Threshold: maxThreshold + 1}, ErrThreshold},
		{"minSigma -0.000001", EARS{Method: C3, MinSigma: -1}, ErrMinSigma},
		{"minSigma above 2^32", EARS{Method: C3, MinSigma: MaxMinSigma + 1}, ErrMinSigma},
		{"C1 defaults", EARS{Method: C1}, nil},
		{"C3 every alpha", EARS{Method: C3, Baseline: MaxBaseline, Alpha: 5_000, MinSigma: MaxMinSigma}, nil},
		{"threshold 1000", EARS{Method: C2, Baseline: MinBaseline, Threshold: maxThreshold}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.e.Check()
			if !errors.Is(err, c.want) {
				t.Fatalf("Check = %v, want %v", err, c.want)
			}
			if _, runErr := c.e.Run([]uint32{1, 2, 3}); !errors.Is(runErr, c.want) {
				t.Errorf("Run = %v, want %v", runErr, c.want)
			}
			if first := c.e.First(); (first < 0) != (c.want != nil) {
				t.Errorf("First = %d with Check %v", first, err)
			}
		})
	}
}

// TestEARSShortSeries: before First there is nothing to judge; Run says so
// with no days, At with ErrTooShort.
func TestEARSShortSeries(t *testing.T) {
	t.Parallel()
	for _, e := range []EARS{{Method: C1}, {Method: C2}, {Method: C3, Baseline: 3}} {
		first := e.First()
		want := map[Method]int{C1: 7, C2: 9, C3: 7}[e.Method]
		if first != want {
			t.Errorf("%v: First = %d, want %d", e.Method, first, want)
		}
		counts := make([]uint32, first)
		if days, err := e.Run(counts); days != nil || err != nil {
			t.Errorf("%v: Run(%d counts) = %v, %v; want no days", e.Method, first, days, err)
		}
		if days, err := e.Run(nil); days != nil || err != nil {
			t.Errorf("%v: Run(nil) = %v, %v; want no days", e.Method, days, err)
		}
		for _, day := range []int{-1, first - 1, first} {
			if _, err := e.At(counts, day); !errors.Is(err, ErrTooShort) {
				t.Errorf("%v: At(%d counts, %d) = %v, want ErrTooShort", e.Method, first, day, err)
			}
		}
		counts = append(counts, 1)
		if days, err := e.Run(counts); len(days) != 1 || err != nil || days[0].Index != first {
			t.Errorf("%v: Run(%d counts) = %v, %v; want day %d", e.Method, len(counts), days, err, first)
		}
	}
}

func TestFixedString(t *testing.T) {
	t.Parallel()
	for f, want := range map[Fixed]string{
		0: "0.000000", One: "1.000000", -1: "-0.000001", 1_959963: "1.959963",
		-12_500000: "-12.500000", math.MaxInt64: "9223372036854.775807", math.MinInt64: "-9223372036854.775808",
	} {
		if got := f.String(); got != want {
			t.Errorf("Fixed(%d) = %q, want %q", int64(f), got, want)
		}
	}
	for v, want := range map[Value]string{fin(1): "0.000001", inf: "Inf", neg: "-Inf", nan: "NaN"} {
		if got := v.String(); got != want {
			t.Errorf("%#v = %q, want %q", v, got, want)
		}
	}
}

// TestEARSTwin checks the integer code against twin, a float64
// transliteration of earsC, on random series: small counts (many zero
// spreads), medium ones and counts up to 2^32-1.
func TestEARSTwin(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(16, 1))
	alphas := []Fixed{0, 1_000, 5_000, 10_000, 25_000, 50_000}
	for i := range 3000 {
		e := EARS{
			Method:   Method(1 + rng.IntN(3)),
			Baseline: 3 + rng.IntN(10),
			Alpha:    alphas[rng.IntN(len(alphas))],
		}
		if rng.IntN(3) == 0 {
			e.MinSigma = Fixed(rng.Int64N(3 * int64(One)))
		}
		if rng.IntN(6) == 0 {
			e.Alpha, e.Threshold = 0, Fixed(1+rng.Int64N(5*int64(One)))
		}
		limit := []uint32{2, 30, 1000, math.MaxUint32}[i%4]
		counts := make([]uint32, e.First()+1+rng.IntN(30))
		for j := range counts {
			counts[j] = uint32(rng.Int64N(int64(limit) + 1))
		}
		compareTwin(t, e, counts)
	}
}

// compareTwin runs e on counts and twin, and fails t where they differ by
// more than rounding: Upper within 10^-6 (ours is rounded down) plus
// float64's error, the same alarm unless the count is within that of the
// bound, and the same kind of statistic.
func compareTwin(t *testing.T, e EARS, counts []uint32) {
	t.Helper()
	days, err := e.Run(counts)
	if err != nil {
		t.Fatal(err)
	}
	want := twin(e, counts)
	if len(days) != len(want) {
		t.Fatalf("%+v on %v: %d days, twin %d", e, counts, len(days), len(want))
	}
	for k, d := range days {
		w := want[k]
		fail := func(what string) {
			t.Helper()
			t.Errorf("%+v on %v, day %d: %s: got %+v (upper %v, stat %v), twin upper %v alarm %v stat %v",
				e, counts, d.Index, what, d, d.Upper, d.Stat, w.upper, w.alarm, w.stat)
		}
		if math.IsNaN(w.upper) != (d.Upper.Kind == Undefined) {
			fail("undefined upper")
			continue
		}
		if math.IsNaN(w.upper) {
			if d.Alarm {
				fail("alarm on an undefined bound")
			}
			continue
		}
		// float64's error grows with the terms of the bound: the counts,
		// and for C3 sigma times P (sigma no more than the largest count).
		terms := float64(slices.Max(counts)) * (2 + math.Abs(w.stat))
		if math.IsInf(w.stat, 0) || math.IsNaN(w.stat) {
			terms = float64(slices.Max(counts)) * 2
		}
		tol := 1e-6 + 1e-14*max(math.Abs(w.upper), terms)
		got := float64(d.Upper.Fixed) / 1e6
		if d.Upper.Kind != Finite || got > w.upper+tol/10 || got < w.upper-tol {
			fail("upper")
		}
		if d.Alarm != w.alarm && math.Abs(float64(d.Observed)-w.upper) > tol {
			fail("alarm")
		}
		switch s := w.stat; {
		case math.IsNaN(s):
			if d.Stat.Kind != Undefined {
				fail("stat not NaN")
			}
		case math.IsInf(s, 1) || s > 9e12:
			if d.Stat.Kind != PosInf && (d.Stat.Kind != Finite || s < 9e12) {
				fail("stat not Inf")
			}
		case math.IsInf(s, -1) || s < -9e12:
			if d.Stat.Kind != NegInf && (d.Stat.Kind != Finite || s > -9e12) {
				fail("stat not -Inf")
			}
		default:
			got := float64(d.Stat.Fixed) / 1e6
			if d.Stat.Kind != Finite || math.Abs(got-s) > 2e-6+1e-12*math.Abs(s) {
				fail("stat")
			}
		}
	}
}

type twinDay struct {
	upper, stat float64
	alarm       bool
}

// twin is earsC transliterated into float64 (R's doubles): the brute-force
// twin of the integer code, for tests only.
func twin(e EARS, counts []uint32) []twinDay {
	p, err := e.params()
	if err != nil {
		panic(err)
	}
	n := p.n
	z := float64(p.z) / 1e15
	minSigma := float64(p.minSigma) / 1e6
	// meanSigma of the n counts before end: mean and pmax(sd, minSigma).
	meanSigma := func(end int) (float64, float64) {
		var m, ss float64
		for _, y := range counts[end-n : end] {
			m += float64(y)
		}
		m /= float64(n)
		for _, y := range counts[end-n : end] {
			ss += (float64(y) - m) * (float64(y) - m)
		}
		return m, math.Max(math.Sqrt(ss/float64(n-1)), minSigma)
	}
	c2 := func(i int) float64 {
		m, s := meanSigma(i - 2)
		return (float64(counts[i]) - m) / s
	}
	var out []twinDay
	for t := p.first(); t < len(counts); t++ {
		y := float64(counts[t])
		var d twinDay
		switch p.method {
		case C1, C2:
			end := t
			if p.method == C2 {
				end = t - 2
			}
			m, s := meanSigma(end)
			d.upper, d.stat = m+z*s, (y-m)/s
		case C3:
			part := func(i int) float64 { return math.Max(0, c2(i)-1) }
			lags := part(t-2) + part(t-1)
			_, s := meanSigma(t - 2)
			d.upper = math.Max(0, y+s*(z-lags))
			d.stat = lags + part(t)
		}
		d.alarm = y > d.upper // false for NaN, as R's NA is no alarm
		out = append(out, d)
	}
	return out
}

// TestEARSAtIsRun: the daily call sees only its window and agrees with Run.
func TestEARSAtIsRun(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(16, 2))
	counts := make([]uint32, 60)
	for i := range counts {
		counts[i] = uint32(rng.IntN(8))
	}
	for _, m := range []Method{C1, C2, C3} {
		e := EARS{Method: m, Baseline: 5}
		days, err := e.Run(counts)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range days {
			// Only counts[t-First:t+1] may matter: hide the rest.
			window := slices.Clone(counts[:d.Index+1])
			for i := range d.Index - e.First() {
				window[i] = 99
			}
			got, err := e.At(window, d.Index)
			if err != nil || got != d {
				t.Errorf("%v day %d: At = %+v, %v; Run %+v", m, d.Index, got, err, d)
			}
		}
	}
}

// FuzzEARS: any counts and parameters either are refused by Check or give
// one Day per time point from First on, the same on a second run, with
// Alarm exactly Observed > Upper.
func FuzzEARS(f *testing.F) {
	f.Add(uint8(1), uint16(7), int64(0), int64(0), int64(0), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add(uint8(2), uint16(3), int64(1_000), int64(0), int64(500_000), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(3), uint16(3), int64(0), int64(0), int64(0), []byte{0, 0, 0, 0, 0, 1, 1, 5, 0, 0, 0, 0, 0})
	f.Add(uint8(3), uint16(3), int64(0), int64(2_000_000), int64(0), []byte{255, 255, 255, 255, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24})
	f.Fuzz(func(t *testing.T, method uint8, baseline uint16, alpha, threshold, minSigma int64, raw []byte) {
		e := EARS{Method: Method(method), Baseline: int(baseline), Alpha: Fixed(alpha), Threshold: Fixed(threshold), MinSigma: Fixed(minSigma)}
		// Counts of one byte (small, many ties) or four (up to 2^32-1).
		var counts []uint32
		if len(raw) > 0 && raw[0]&1 == 1 {
			for i := 1; i+4 <= len(raw); i += 4 {
				counts = append(counts, uint32(raw[i])<<24|uint32(raw[i+1])<<16|uint32(raw[i+2])<<8|uint32(raw[i+3]))
			}
		} else {
			for _, b := range raw {
				counts = append(counts, uint32(b))
			}
		}
		days, err := e.Run(counts)
		if err != nil {
			if e.Check() == nil {
				t.Fatalf("Run refused what Check accepts: %v", err)
			}
			return
		}
		if want := max(0, len(counts)-e.First()); len(days) != want {
			t.Fatalf("%d days from %d counts, want %d", len(days), len(counts), want)
		}
		again, _ := e.Run(slices.Clone(counts))
		if !slices.Equal(days, again) {
			t.Fatal("two runs differ")
		}
		for i, d := range days {
			if d.Index != e.First()+i || d.Observed != counts[d.Index] {
				t.Fatalf("day %d: index %d observed %d", i, d.Index, d.Observed)
			}
			if d.Upper.Kind != Finite && d.Upper.Kind != Undefined {
				t.Fatalf("day %d: upper %v", d.Index, d.Upper)
			}
			if want := d.Upper.Kind == Finite && int64(d.Observed)*int64(One) > int64(d.Upper.Fixed); d.Alarm != want {
				t.Fatalf("day %d: alarm %v with observed %d and upper %v", d.Index, d.Alarm, d.Observed, d.Upper)
			}
			if d.Upper.Kind == Finite && d.Upper.Fixed < 0 {
				t.Fatalf("day %d: negative upper %v", d.Index, d.Upper)
			}
		}
		if e.Baseline <= 12 && len(counts) <= 64 {
			compareTwin(t, e, counts)
		}
	})
}

// BenchmarkAt is the state machine's daily cost: one day of one region.
func BenchmarkAt(b *testing.B) {
	counts := make([]uint32, 60)
	for i := range counts {
		counts[i] = uint32(i * 7919 % 100)
	}
	for _, m := range []Method{C1, C2, C3} {
		e := EARS{Method: m}
		b.Run(m.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := e.At(counts, len(counts)-1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
