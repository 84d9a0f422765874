// Package geo does the distance and speed arithmetic of trajectory
// validation in integers only. The state machine must compute bit-identical
// results on every node, and Go allows floating-point operations to be
// fused differently on different architectures; integers leave no room
// for that.
//
// Positions are micro-degrees. Distances use the equirectangular
// approximation on a sphere of radius 6,371 km with the cosine of the mean
// latitude from a whole-degree table, linearly interpolated: within about
// 1% of the great-circle distance up to a few hundred kilometres, and a
// few percent at 1,000 km, which is far finer than the speed limits it
// serves.
package geo

import "math/bits"

// Point is a position in micro-degrees.
type Point struct {
	LatE6, LonE6 int64
}

// metersPerDegree is the length of one degree of latitude (R = 6,371 km).
const metersPerDegree = 111195

// cosE6 returns cos(lat) in 16-bit fixed point for |lat| in micro-degrees,
// interpolating the whole-degree table.
func cosE6(latE6 int64) int64 {
	if latE6 < 0 {
		latE6 = -latE6
	}
	if latE6 >= 90e6 {
		return 0
	}
	d := latE6 / 1e6
	frac := latE6 % 1e6
	return cos16[d] + (cos16[d+1]-cos16[d])*frac/1e6
}

// Meters is the distance between a and b in metres.
func Meters(a, b Point) int64 {
	dLat := a.LatE6 - b.LatE6
	dLon := a.LonE6 - b.LonE6
	if dLon > 180e6 {
		dLon -= 360e6
	} else if dLon < -180e6 {
		dLon += 360e6
	}
	// Absolute values, so that rounding is the same both ways (symmetry).
	y := abs(dLat) * metersPerDegree / 1e6
	x := abs(dLon) * metersPerDegree / 1e6 * cosE6((a.LatE6+b.LatE6)/2) >> 16
	return isqrt(uint64(x*x + y*y))
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// isqrt is floor(sqrt(n)) in integers.
func isqrt(n uint64) int64 {
	if n < 2 {
		return int64(n)
	}
	// Start above the root (2^ceil(bits/2)) and descend by Newton's method.
	x := uint64(1) << ((bits.Len64(n) + 1) / 2)
	for {
		y := (x + n/x) / 2
		if y >= x {
			return int64(x)
		}
		x = y
	}
}

// Lerp is the point a fraction num/den of the way from a to b.
func Lerp(a, b Point, num, den int64) Point {
	if den <= 0 {
		return a
	}
	return Point{a.LatE6 + (b.LatE6-a.LatE6)*num/den, a.LonE6 + (b.LonE6-a.LonE6)*num/den}
}

// Reachable reports whether a distance of m metres can be covered in secs
// seconds at kmh km/h, with slack metres of tolerance (positions of sites
// are approximate). It never overflows for distances under 40,000 km and
// times under a century.
func Reachable(m, secs, kmh, slack int64) bool {
	if secs < 0 {
		secs = 0
	}
	// m <= slack + kmh*1000*secs/3600, scaled by 3600 to stay integral.
	return (m-slack)*3600 <= kmh*1000*secs
}
