package geo

import (
	"math"
	"math/rand/v2"
	"testing"
)

func haversine(a, b Point) float64 {
	const r = 6371000.0
	la1, la2 := float64(a.LatE6)/1e6*math.Pi/180, float64(b.LatE6)/1e6*math.Pi/180
	dla := la2 - la1
	dlo := float64(b.LonE6-a.LonE6) / 1e6 * math.Pi / 180
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

func p(lat, lon float64) Point { return Point{int64(lat * 1e6), int64(lon * 1e6)} }

// TestMetersKnownDistances checks named city pairs against haversine.
func TestMetersKnownDistances(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		a, b   Point
		within float64 // relative error allowed
	}{
		{"wuhan_shanghai", p(30.61, 114.42), p(31.25, 121.46), 0.01},
		{"shanghai_toll_gate_henan", p(31.23, 121.47), p(31.7, 114.1), 0.01},
		{"across_a_city", p(30.59, 114.30), p(30.70, 114.45), 0.005},
		{"beijing_guangzhou", p(39.90, 116.40), p(23.13, 113.26), 0.03},
		{"same_point", p(30.5, 114.3), p(30.5, 114.3), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, want := float64(Meters(c.a, c.b)), haversine(c.a, c.b)
			if math.Abs(got-want) > c.within*want+2 {
				t.Fatalf("Meters = %.0f, haversine %.0f", got, want)
			}
			if Meters(c.a, c.b) != Meters(c.b, c.a) {
				t.Fatal("not symmetric")
			}
		})
	}
}

// TestMetersRandom: within 1% of haversine for distances under 300 km at
// latitudes where people live.
func TestMetersRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 10000; i++ {
		a := p(rng.Float64()*120-60, rng.Float64()*360-180)
		b := Point{a.LatE6 + int64(rng.IntN(4e6)) - 2e6, a.LonE6 + int64(rng.IntN(4e6)) - 2e6}
		got, want := float64(Meters(a, b)), haversine(a, b)
		if math.Abs(got-want) > 0.01*want+2 {
			t.Fatalf("%v %v: Meters %.0f, haversine %.0f", a, b, got, want)
		}
	}
}

func TestIsqrt(t *testing.T) {
	t.Parallel()
	for _, n := range []uint64{0, 1, 2, 3, 4, 15, 16, 17, 1 << 40, 1<<62 + 12345, math.MaxUint64} {
		r := uint64(isqrt(n))
		if r*r > n || (r+1)*(r+1) <= n && r+1 != 1<<32 {
			t.Errorf("isqrt(%d) = %d", n, r)
		}
	}
}

func TestReachable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		m, secs, kmh, slack int64
		want                bool
	}{
		{150000, 3600, 150, 0, true},     // exactly 150 km in an hour at 150 km/h
		{150001, 3600, 150, 0, false},    // a metre too far
		{650000, 600, 150, 2000, false},  // Shanghai to the Henan toll gate in 10 minutes
		{1900, 0, 150, 2000, true},       // within the slack, no time
		{5000, -60, 150, 2000, false},    // negative time counts as none
		{690000, 14400, 400, 2000, true}, // Wuhan to Shanghai by train in 4 h
	}
	for _, c := range cases {
		if got := Reachable(c.m, c.secs, c.kmh, c.slack); got != c.want {
			t.Errorf("Reachable(%d m, %d s, %d km/h, %d) = %v", c.m, c.secs, c.kmh, c.slack, got)
		}
	}
}

func TestLerp(t *testing.T) {
	t.Parallel()
	a, b := p(30, 114), p(31, 121)
	if Lerp(a, b, 0, 10) != a || Lerp(a, b, 10, 10) != b || Lerp(a, b, 1, 0) != a {
		t.Fatal("ends")
	}
	if m := Lerp(a, b, 5, 10); m != p(30.5, 117.5) {
		t.Fatalf("mid = %v", m)
	}
}

// TestSegMeters: distances between segments, against the point distance
// and known geometry.
func TestSegMeters(t *testing.T) {
	t.Parallel()
	wuhan, shanghai, toll, nanjing := p(30.607, 114.424), p(31.25, 121.4555), p(31.7, 114.1), p(32.03, 118.78)
	guangzhou := p(23.13, 113.26)
	line := Segment{wuhan, shanghai}
	cases := []struct {
		name   string
		s, u   Segment
		lo, hi int64 // metres
	}{
		{"point_point_is_Meters", At(wuhan), At(shanghai), Meters(wuhan, shanghai), Meters(wuhan, shanghai)},
		{"a_station_on_the_line", line, At(wuhan), 0, 8},
		{"nanjing_near_the_line", line, At(nanjing), 100000, 160000},
		{"toll_gate_off_the_wuhan_end", line, At(toll), 100000, 150000},
		{"guangzhou_far_from_the_line", line, At(guangzhou), 750000, 900000},
		{"crossing_segments", Segment{p(30, 114), p(31, 115)}, Segment{p(31, 114), p(30, 115)}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SegMeters(c.s, c.u)
			if got < c.lo || got > c.hi {
				t.Fatalf("SegMeters = %d, want [%d, %d]", got, c.lo, c.hi)
			}
			if back := SegMeters(c.u, c.s); back < got-16 || back > got+16 {
				t.Fatalf("not symmetric: %d vs %d", got, back)
			}
		})
	}
}

// TestSegMetersRandomPointCase: a segment reduced to a point agrees with
// the point distance within the planar resolution and approximation.
func TestSegMetersRandomPointCase(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 5000; i++ {
		a := p(rng.Float64()*100-50, rng.Float64()*300-150)
		b := Point{a.LatE6 + int64(rng.IntN(2e6)) - 1e6, a.LonE6 + int64(rng.IntN(2e6)) - 1e6}
		c := Point{a.LatE6 + int64(rng.IntN(2e6)) - 1e6, a.LonE6 + int64(rng.IntN(2e6)) - 1e6}
		// Distance from c to the segment ab is at most the distance to
		// either end, and at least zero.
		d := SegMeters(Segment{a, b}, At(c))
		if m := min(Meters(a, c), Meters(b, c)); d > m+m/200+2*unit+2 || d < 0 {
			t.Fatalf("segment %v-%v to %v: %d, ends %d %d", a, b, c, d, Meters(a, c), Meters(b, c))
		}
	}
}
