package identity

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestOutputCacheMatchesUncached: a VOPRF pseudonymizer whose cache holds
// only a few entries, and so evicts all the time, gives for a random
// stream of references (repeats, recent and long gone) exactly what its
// uncached twin computes; and the cache never holds more than two
// generations.
func TestOutputCacheMatchesUncached(t *testing.T) {
	t.Parallel()
	secret := make([]byte, 32)
	for _, size := range []int{1, 3, 16} {
		t.Run(fmt.Sprint("size_", size), func(t *testing.T) {
			t.Parallel()
			p, err := NewOPRFPseudonymizer(secret)
			if err != nil {
				t.Fatal(err)
			}
			key := p.cache.key
			p.cache = newOutputCache(size)
			p.cache.key = key
			r := rand.New(rand.NewPCG(uint64(size), 1))
			for i := range 400 {
				ref := fmt.Sprintf("id:%d", r.IntN(40))
				out, err := p.sk.Evaluate(oprfInput(ref))
				if err != nil {
					t.Fatal(err)
				}
				if got, want := p.Of(ref), pseudonymOf(out); got != want {
					t.Fatalf("step %d, %s: cached %v, uncached %v", i, ref, got, want)
				}
				if n := len(p.cache.cur) + len(p.cache.old); n > 2*size {
					t.Fatalf("step %d: %d entries in a cache of %d", i, n, size)
				}
			}
		})
	}
}
