package detect

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// placed returns a series on which p judges its first day, t = First:
// zero but for past[i] on the last day of past period i (year k = 1 to
// Years, week j = −Weeks to Weeks, in that order), current on day t, and
// extra[d] on day t − d. With the default window of 7 days the periods do
// not overlap, so period i counts past[i].
func placed(p Percentile, past []uint32, current uint32, extra map[int]uint32) []uint32 {
	q, err := p.params()
	if err != nil {
		panic(err)
	}
	t := q.first()
	counts := make([]uint32, t+1)
	i := 0
	for k := 1; k <= q.years; k++ {
		for j := -q.weeks; j <= q.weeks; j++ {
			counts[t-YearDays*k+WeekDays*j] = past[i]
			i++
		}
	}
	if i != len(past) {
		panic("placed: wrong number of past counts")
	}
	counts[t] = current
	for d, v := range extra {
		counts[t-d] = v
	}
	return counts
}

// oneTo15 is 1 to 15, out of order (the method sorts).
var oneTo15 = []uint32{15, 3, 1, 14, 2, 13, 4, 12, 5, 11, 6, 10, 7, 9, 8}

// TestPercentileHand checks the first day of series built by hand. With
// the 15 past counts 1 to 15 and P80, h = 14 · 0.8 = 11.2: x[11] + 0.2 ·
// (x[12] − x[11]) = 12 + 0.2 = 12.2 (counting from 0).
func TestPercentileHand(t *testing.T) {
	t.Parallel()
	const M = math.MaxUint32
	zeros := make([]uint32, 15)
	one := Percentile{Years: 1, Weeks: 1, Window: 1}
	for _, c := range []struct {
		name   string
		p      Percentile
		counts []uint32
		want   Day // Index is filled in
	}{
		{"P80 of 1 to 15 then 13", Percentile{}, placed(Percentile{}, oneTo15, 13, nil), Day{Observed: 13, Stat: fin(12_200000), Upper: fin(12_200000), Alarm: true}},
		{"P80 of 1 to 15 then 12", Percentile{}, placed(Percentile{}, oneTo15, 12, nil), Day{Observed: 12, Stat: fin(12_200000), Upper: fin(12_200000)}},
		// Counts outside the periods do not matter: the week before this
		// one, and the third week after and before the same week a year
		// ago (the periods reach 2).
		{"P80 of 1 to 15 then 12, counts outside the periods", Percentile{},
			placed(Percentile{}, oneTo15, 12, map[int]uint32{7: 100, 8: 100, YearDays - 21: 100, YearDays + 21: 100, YearDays + 3*WeekDays + 6: 100}),
			Day{Observed: 12, Stat: fin(12_200000), Upper: fin(12_200000)}},
		// The current 7 days are summed: 5 + 4 + 4 = 13 > 12.2.
		{"P80 of 1 to 15 then 5 4 4 in the week", Percentile{}, placed(Percentile{}, oneTo15, 5, map[int]uint32{1: 4, 6: 4}), Day{Observed: 13, Stat: fin(12_200000), Upper: fin(12_200000), Alarm: true}},
		{"P95 of 1 to 15", Percentile{Percentile: 95}, placed(Percentile{}, oneTo15, 15, nil), Day{Observed: 15, Stat: fin(14_300000), Upper: fin(14_300000), Alarm: true}},
		{"P100 of 1 to 15 then 15", Percentile{Percentile: 100}, placed(Percentile{}, oneTo15, 15, nil), Day{Observed: 15, Stat: fin(15e6), Upper: fin(15e6)}},
		{"P100 of 1 to 15 then 16", Percentile{Percentile: 100}, placed(Percentile{}, oneTo15, 16, nil), Day{Observed: 16, Stat: fin(15e6), Upper: fin(15e6), Alarm: true}},
		// h = 14 · 0.5 = 7: x[7] exactly.
		{"P50 then 6", Percentile{Percentile: 50}, placed(Percentile{}, []uint32{9, 0, 9, 0, 9, 0, 9, 0, 9, 0, 9, 0, 5, 9, 0}, 6, nil), Day{Observed: 6, Stat: fin(5e6), Upper: fin(5e6), Alarm: true}},
		// h = 14 · 0.01 = 0.14: 10 + 0.14 · 100.
		{"P1", Percentile{Percentile: 1}, placed(Percentile{}, []uint32{10, 110, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, 25, nil), Day{Observed: 25, Stat: fin(24e6), Upper: fin(24e6), Alarm: true}},
		// A baseline of zeros: any case alarms, unless MinCases asks for more.
		{"zeros then 1", Percentile{}, placed(Percentile{}, zeros, 1, nil), Day{Observed: 1, Stat: fin(0), Upper: fin(0), Alarm: true}},
		{"zeros then 0", Percentile{}, placed(Percentile{}, zeros, 0, nil), Day{Observed: 0, Stat: fin(0), Upper: fin(0)}},
		{"zeros then 2 MinCases 3", Percentile{MinCases: 3}, placed(Percentile{}, zeros, 2, nil), Day{Observed: 2, Stat: fin(0), Upper: fin(2e6)}},
		{"zeros then 3 MinCases 3", Percentile{MinCases: 3}, placed(Percentile{}, zeros, 3, nil), Day{Observed: 3, Stat: fin(0), Upper: fin(2e6), Alarm: true}},
		{"1 to 15 then 13 MinCases 14", Percentile{MinCases: 14}, placed(Percentile{}, oneTo15, 13, nil), Day{Observed: 13, Stat: fin(12_200000), Upper: fin(13e6)}},
		{"1 to 15 then 14 MinCases 14", Percentile{MinCases: 14}, placed(Percentile{}, oneTo15, 14, nil), Day{Observed: 14, Stat: fin(12_200000), Upper: fin(13e6), Alarm: true}},
		// One year, one week either side, one day: 3 past counts, h = 2 ·
		// 0.8 = 1.6: 5 + 0.6 · 4.
		{"one year 9 2 5 then 8", one, placed(one, []uint32{9, 2, 5}, 8, nil), Day{Observed: 8, Stat: fin(7_400000), Upper: fin(7_400000), Alarm: true}},
		{"one year 9 2 5 then 7", one, placed(one, []uint32{9, 2, 5}, 7, nil), Day{Observed: 7, Stat: fin(7_400000), Upper: fin(7_400000)}},
		// Counts past 2^32−1 over the window are capped, past and present.
		{"two days of 2^32-1 everywhere", Percentile{Years: 1, Weeks: 1, Window: 2}, slices.Repeat([]uint32{M}, 373), Day{Observed: M, Stat: fin(M * 1e6), Upper: fin(M * 1e6)}},
		{"2^32-1 then 2^32-1 over zeros", one, placed(one, []uint32{0, 0, 0}, M, nil), Day{Observed: M, Stat: fin(0), Upper: fin(0), Alarm: true}},
		{"P80 of 0 0 2^32-1", one, placed(one, []uint32{M, 0, 0}, 1, nil), Day{Observed: 1, Stat: fin((M * 6 / 10) * 1e6), Upper: fin((M * 6 / 10) * 1e6)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := c.want
			want.Index = len(c.counts) - 1
			got, err := c.p.At(c.counts, want.Index)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("At = %+v\nwant %+v", got, want)
			}
			days, err := c.p.Run(c.counts)
			if err != nil || len(days) != 1 || days[0] != got {
				t.Errorf("Run = %+v, %v; want only At's %+v", days, err, got)
			}
		})
	}
}

// TestPercentileCheck names each refused parameter set after its fault.
func TestPercentileCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		p    Percentile
		want error
	}{
		{"defaults", Percentile{}, nil},
		{"the largest", Percentile{Years: MaxYears, Weeks: MaxWeeks, Percentile: 100, Window: MaxWindow, MinCases: math.MaxUint32}, nil},
		{"the smallest", Percentile{Years: 1, Weeks: 1, Percentile: 1, Window: 1, MinCases: 1}, nil},
		{"years -1", Percentile{Years: -1}, ErrYears},
		{"years 11", Percentile{Years: MaxYears + 1}, ErrYears},
		{"weeks -1", Percentile{Weeks: -1}, ErrWeeks},
		{"weeks 9", Percentile{Weeks: MaxWeeks + 1}, ErrWeeks},
		{"percentile -80", Percentile{Percentile: -80}, ErrPercentile},
		{"percentile 101", Percentile{Percentile: 101}, ErrPercentile},
		{"window -7", Percentile{Window: -7}, ErrWindow},
		{"window 29", Percentile{Window: MaxWindow + 1}, ErrWindow},
		{"min cases -1", Percentile{MinCases: -1}, ErrMinCases},
		{"min cases 2^32", Percentile{MinCases: math.MaxUint32 + 1}, ErrMinCases},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.p.Check()
			if !errors.Is(err, c.want) {
				t.Fatalf("Check = %v, want %v", err, c.want)
			}
			if _, runErr := c.p.Run(make([]uint32, 2000)); !errors.Is(runErr, c.want) {
				t.Errorf("Run = %v, want %v", runErr, c.want)
			}
			if _, atErr := c.p.At(make([]uint32, 2000), 1999); c.want != nil && !errors.Is(atErr, c.want) {
				t.Errorf("At = %v, want %v", atErr, c.want)
			}
			if first := c.p.First(); (first < 0) != (c.want != nil) {
				t.Errorf("First = %d with Check %v", first, err)
			}
		})
	}
}

// TestPercentileShortSeries: before First there is nothing to judge; Run
// says so with no days, At with ErrTooShort.
func TestPercentileShortSeries(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		p     Percentile
		first int
	}{
		{Percentile{}, 3*364 + 2*7 + 6},
		{Percentile{Years: 1, Weeks: 1, Window: 1}, 364 + 7},
		{Percentile{Years: 5, Weeks: 3, Window: 14}, 5*364 + 3*7 + 13},
	} {
		if got := c.p.First(); got != c.first {
			t.Errorf("%+v: First = %d, want %d", c.p, got, c.first)
		}
		counts := make([]uint32, c.first)
		if days, err := c.p.Run(counts); days != nil || err != nil {
			t.Errorf("%+v: Run(%d counts) = %v, %v; want no days", c.p, c.first, days, err)
		}
		for _, day := range []int{-1, c.first - 1, c.first} {
			if _, err := c.p.At(counts, day); !errors.Is(err, ErrTooShort) {
				t.Errorf("%+v: At(%d counts, %d) = %v, want ErrTooShort", c.p, c.first, day, err)
			}
		}
		counts = append(counts, 1)
		if days, err := c.p.Run(counts); len(days) != 1 || err != nil || days[0].Index != c.first || !days[0].Alarm {
			t.Errorf("%+v: Run(%d counts) = %v, %v; want an alarm on day %d", c.p, len(counts), days, err, c.first)
		}
	}
}

// TestPercentileAtIsRun: the daily call sees only its window and agrees
// with Run.
func TestPercentileAtIsRun(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(16, 3))
	p := Percentile{Years: 2}
	counts := make([]uint32, p.First()+60)
	for i := range counts {
		counts[i] = uint32(rng.IntN(8))
	}
	days, err := p.Run(counts)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range days {
		window := slices.Clone(counts[:d.Index+1])
		for i := range d.Index - p.First() {
			window[i] = 99
		}
		got, err := p.At(window, d.Index)
		if err != nil || got != d {
			t.Errorf("day %d: At = %+v, %v; Run %+v", d.Index, got, err, d)
		}
	}
}

// TestPercentileTwin compares the method with pctTwin, a brute-force
// float64 version written from the definition another way, on random
// parameters and series: sparse, medium and up to 2^32−1.
func TestPercentileTwin(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(16, 4))
	for i := range 300 {
		p := Percentile{Years: rng.IntN(4), Weeks: rng.IntN(4), Percentile: rng.IntN(101), Window: rng.IntN(10), MinCases: rng.IntN(4)}
		limit := []uint32{1, 5, 1000, math.MaxUint32}[i%4]
		counts := make([]uint32, p.First()+1+rng.IntN(20))
		for j := range counts {
			counts[j] = uint32(rng.Int64N(int64(limit) + 1))
		}
		comparePctTwin(t, p, counts)
	}
}

// comparePctTwin runs p on counts and pctTwin, and fails t where they
// differ: the same observed counts and alarms, and the same percentile to
// within float64's rounding.
func comparePctTwin(t *testing.T, p Percentile, counts []uint32) {
	t.Helper()
	days, err := p.Run(counts)
	if err != nil {
		t.Fatal(err)
	}
	// The twin's float64 rounds at the scale of the largest window sum
	// (near 2^32 with the fuzzer's big counts, where a unit in the last
	// place is 5e-7): it may stray from the exact integers by a few such.
	var largest float64
	for _, c := range counts {
		largest = max(largest, float64(c))
	}
	q, _ := p.params()
	largest = math.Min(largest*float64(q.window), math.MaxUint32)
	tol := 1e-6 + 16*(math.Nextafter(largest, math.Inf(1))-largest)
	for _, d := range days {
		observed, pct, alarm := pctTwin(p, counts, d.Index)
		got := float64(d.Stat.Fixed) / 1e6
		// float64 may put an integer percentile a hair below: the alarm
		// may differ only where the count is within rounding of it.
		near := math.Abs(float64(observed)-pct) < tol
		if d.Observed != observed || (d.Alarm != alarm && !near) || math.Abs(got-pct) > tol {
			t.Fatalf("%+v day %d: got %+v (stat %v), twin observed %d percentile %v alarm %v", p, d.Index, d, d.Stat, observed, pct, alarm)
		}
	}
}

// pctTwin judges day t from the definition, in float64, without the
// method's loops: every earlier day s ends a past period when t − s is a
// whole number of weeks within Weeks weeks of a whole number of 364-day
// years, 1 to Years; the percentile is R's quantile type 7 as R writes it.
func pctTwin(p Percentile, counts []uint32, t int) (observed uint32, pct float64, alarm bool) {
	q, err := p.params()
	if err != nil {
		panic(err)
	}
	window := func(end int) float64 {
		var s float64
		for _, y := range counts[end-q.window+1 : end+1] {
			s += float64(y)
		}
		return math.Min(s, math.MaxUint32)
	}
	var past []float64
	for s := q.window - 1; s < t; s++ {
		back := t - s
		if back%7 != 0 {
			continue
		}
		for k := 1; k <= q.years; k++ {
			if d := back - 364*k; -7*q.weeks <= d && d <= 7*q.weeks {
				past = append(past, window(s))
			}
		}
	}
	slices.Sort(past)
	h := float64(len(past)-1) * float64(q.percent) / 100
	lo := math.Floor(h)
	pct = past[int(lo)]
	if int(lo)+1 < len(past) {
		pct += (h - lo) * (past[int(lo)+1] - past[int(lo)])
	}
	y := window(t)
	return uint32(y), pct, y > pct && y >= float64(q.minCases)
}

// FuzzPercentile: any parameters and counts either are refused by Check
// or give one Day per day from First on, the same on a second run, with
// Alarm exactly Observed > Upper, Upper at least the percentile and
// MinCases − 1, and the twin's verdict. The fuzzer's bytes are repeated to
// make a series long enough for the years asked.
func FuzzPercentile(f *testing.F) {
	f.Add(int16(0), int16(0), int16(0), int16(0), int64(0), false, uint8(10), []byte{0, 1, 2, 0, 0, 3, 1})
	f.Add(int16(1), int16(1), int16(50), int16(1), int64(3), false, uint8(0), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9})
	f.Add(int16(2), int16(3), int16(100), int16(28), int64(0), true, uint8(40), []byte{255, 255, 0, 7})
	f.Add(int16(1), int16(8), int16(1), int16(14), int64(4294967295), true, uint8(5), []byte{255})
	f.Fuzz(func(t *testing.T, years, weeks, percent, window int16, minCases int64, big bool, extra uint8, raw []byte) {
		p := Percentile{Years: int(years), Weeks: int(weeks), Percentile: int(percent), Window: int(window), MinCases: int(minCases)}
		if p.Years > 3 {
			p.Years = 3 // longer series cost time, not coverage
		}
		var counts []uint32
		if first := p.First(); first >= 0 && len(raw) > 0 {
			counts = make([]uint32, first+1+int(extra%32))
			for i := range counts {
				counts[i] = uint32(raw[i%len(raw)])
				if big {
					counts[i] *= 0x01010101 // 255 is 2^32−1
				}
			}
		}
		days, err := p.Run(counts)
		if err != nil {
			if p.Check() == nil {
				t.Fatalf("Run refused what Check accepts: %v", err)
			}
			return
		}
		if want := max(0, len(counts)-p.First()); len(days) != want {
			t.Fatalf("%d days from %d counts, want %d", len(days), len(counts), want)
		}
		again, _ := p.Run(slices.Clone(counts))
		if !slices.Equal(days, again) {
			t.Fatal("two runs differ")
		}
		minUpper := Fixed(max(minCases, 1)-1) * One
		for i, d := range days {
			if d.Index != p.First()+i {
				t.Fatalf("day %d: index %d", i, d.Index)
			}
			if d.Upper.Kind != Finite || d.Stat.Kind != Finite || d.Upper.Fixed < d.Stat.Fixed || d.Upper.Fixed < minUpper || d.Stat.Fixed < 0 {
				t.Fatalf("day %d: stat %v upper %v with MinCases %d", d.Index, d.Stat, d.Upper, minCases)
			}
			if want := int64(d.Observed)*int64(One) > int64(d.Upper.Fixed); d.Alarm != want {
				t.Fatalf("day %d: alarm %v with observed %d and upper %v", d.Index, d.Alarm, d.Observed, d.Upper)
			}
			if at, err := p.At(counts, d.Index); err != nil || at != d {
				t.Fatalf("day %d: At = %+v, %v; Run %+v", d.Index, at, err, d)
			}
		}
		for _, day := range []int{-1, p.First() - 1, len(counts)} {
			if _, err := p.At(counts, day); !errors.Is(err, ErrTooShort) {
				t.Fatalf("At(%d) = %v, want ErrTooShort", day, err)
			}
		}
		comparePctTwin(t, p, counts)
	})
}

// BenchmarkPercentileAt is the state machine's daily cost of the moving
// percentile with CIDARS's parameters: one day of one region.
func BenchmarkPercentileAt(b *testing.B) {
	p := Percentile{}
	counts := make([]uint32, p.First()+1)
	for i := range counts {
		counts[i] = uint32(i * 7919 % 100)
	}
	for b.Loop() {
		if _, err := p.At(counts, len(counts)-1); err != nil {
			b.Fatal(err)
		}
	}
}
