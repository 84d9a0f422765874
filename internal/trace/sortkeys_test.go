package trace

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortKeys checks the bucket sort of ranked persons against
// slices.Sort: on few keys (the comparison path), on many spread keys
// (buckets of one or two), and on keys that share their top bits (one
// bucket holds them all, as no keyed hash would).
func TestSortKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	spread := func(n int) []uint64 {
		k := make([]uint64, n)
		for i := range k {
			k[i] = rng.Uint64()>>20<<20 | uint64(i)
		}
		return k
	}
	crowded := func(n int) []uint64 {
		k := spread(n)
		for i := range k {
			k[i] = 0xabc<<52 | k[i]>>12
		}
		return k
	}
	dupes := func(n int) []uint64 {
		k := spread(n)
		for i := range k {
			k[i] = uint64(rng.IntN(3))<<40 | uint64(i)
		}
		return k
	}
	var counts []int32
	for _, tc := range []struct {
		name string
		keys []uint64
	}{
		{"none", nil},
		{"one", spread(1)},
		{"few", spread(63)},
		{"at the bucket threshold", spread(64)},
		{"spread", spread(5000)},
		{"spread, the most a query ranks", spread(1<<20 - 1)},
		{"one bucket", crowded(3000)},
		{"small buckets of equal tops", dupes(200)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := slices.Clone(tc.keys)
			slices.Sort(want)
			got := sortKeys(slices.Clone(tc.keys), make([]uint64, len(tc.keys)), &counts)
			if !slices.Equal(got, want) {
				t.Fatalf("sortKeys of %d keys is not sorted like slices.Sort", len(tc.keys))
			}
		})
	}
}
