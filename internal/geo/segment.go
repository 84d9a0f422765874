package geo

// Segment is a straight stretch between two points; a point is a segment
// whose ends coincide. A rider on a vehicle with a known route is somewhere
// on the segment from its origin to its destination.
type Segment struct {
	A, B Point
}

// At is the degenerate segment at p.
func At(p Point) Segment { return Segment{p, p} }

// unit is the planar resolution (metres) of segment distances: coarse
// enough that every product below fits in int64 for any two places on
// Earth, fine enough for limits counted in kilometres.
const unit = 8

// SegMeters is the shortest distance in metres between two segments, on a
// local plane around their first point (equirectangular at the mean
// latitude), in integers.
func SegMeters(s, t Segment) int64 {
	if s.A == s.B && t.A == t.B {
		return Meters(s.A, t.A)
	}
	ref := s.A
	c := cosE6((s.A.LatE6 + s.B.LatE6 + t.A.LatE6 + t.B.LatE6) / 4)
	xy := func(p Point) [2]int64 {
		dLon := p.LonE6 - ref.LonE6
		if dLon > 180e6 {
			dLon -= 360e6
		} else if dLon < -180e6 {
			dLon += 360e6
		}
		x := dLon * metersPerDegree / 1e6 * c >> 16
		y := (p.LatE6 - ref.LatE6) * metersPerDegree / 1e6
		return [2]int64{x / unit, y / unit}
	}
	a, b, p, q := xy(s.A), xy(s.B), xy(t.A), xy(t.B)
	if crosses(a, b, p, q) {
		return 0
	}
	best := min(pointSeg2(p, a, b), pointSeg2(q, a, b), pointSeg2(a, p, q), pointSeg2(b, p, q))
	return isqrt(uint64(best)) * unit
}

// pointSeg2 is the squared planar distance from p to segment ab. Values
// are at most 5e6 units, so squares stay under 1e14 and the products
// under 2.5e20 are avoided by dividing before multiplying.
func pointSeg2(p, a, b [2]int64) int64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	px, py := p[0]-a[0], p[1]-a[1]
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return px*px + py*py
	}
	dot := px*dx + py*dy
	if dot <= 0 {
		return px*px + py*py
	}
	if dot >= l2 {
		ex, ey := p[0]-b[0], p[1]-b[1]
		return ex*ex + ey*ey
	}
	// Perpendicular distance squared: cross^2 / l2, with cross up to 2.5e13
	// in magnitude; divide once before squaring to stay in range.
	cross := px*dy - py*dx
	if cross < 0 {
		cross = -cross
	}
	l := isqrt(uint64(l2))
	if l == 0 {
		return px*px + py*py
	}
	h := cross / l
	return h * h
}

// crosses reports whether segments ab and pq properly intersect or touch.
func crosses(a, b, p, q [2]int64) bool {
	o := func(a, b, c [2]int64) int {
		v := (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
		switch {
		case v > 0:
			return 1
		case v < 0:
			return -1
		}
		return 0
	}
	on := func(a, b, c [2]int64) bool {
		return min(a[0], b[0]) <= c[0] && c[0] <= max(a[0], b[0]) && min(a[1], b[1]) <= c[1] && c[1] <= max(a[1], b[1])
	}
	o1, o2, o3, o4 := o(a, b, p), o(a, b, q), o(p, q, a), o(p, q, b)
	if o1 != o2 && o3 != o4 {
		return true
	}
	return o1 == 0 && on(a, b, p) || o2 == 0 && on(a, b, q) || o3 == 0 && on(p, q, a) || o4 == 0 && on(p, q, b)
}
