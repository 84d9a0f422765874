package ledger

import (
	"fmt"
	"testing"
)

// siteVisits returns n visits signed by keys sites, as a city's sites
// sign theirs.
func siteVisits(n, sites int) []*Tx {
	txs := make([]*Tx, n)
	for i := range txs {
		t := NewTx(&Visit{Site: fmt.Sprint("s", i%sites), Person: PersonRef{Ref: Pseudonym{byte(i), byte(i >> 8)}}, In: int64(i), Out: int64(i + 1)})
		t.Sign("c", key(byte(i%sites+1)))
		txs[i] = t
	}
	return txs
}

// TestVerifyExpandedKeys: the cache of expanded keys changes no verdict. A
// bad signature among good ones from the same keys is found, whether its
// key was expanded before or not, and so is one whose key does not
// decompress.
func TestVerifyExpandedKeys(t *testing.T) {
	for _, warm := range []bool{false, true} {
		expandedKeys.Lock()
		clear(expandedKeys.m)
		expandedKeys.Unlock()
		txs := siteVisits(300, 7)
		if warm {
			VerifyAll("c", txs)
		}
		bad := map[int]bool{5: true, 64: true, 299: true}
		for i := range bad {
			txs[i].Sigs[0].Sig[3] ^= 1
		}
		// A key that is no point on the curve (y = 2 has no x).
		txs[100].Sigs[0].Key = [32]byte{2}
		bad[100] = true
		for i, err := range VerifyAll("c", txs) {
			if (err != nil) != bad[i] {
				t.Errorf("warm %v: tx %d: error %v, want bad %v", warm, i, err, bad[i])
			}
		}
	}
}

// BenchmarkVerifyAll verifies a city's visits from 50 sites, in parallel
// batches, with the sites' keys expanded once and kept (the cache) and
// without the cache.
func BenchmarkVerifyAll(b *testing.B) {
	txs := siteVisits(4096, 50)
	for _, cache := range []bool{true, false} {
		b.Run(fmt.Sprintf("expanded=%v", cache), func(b *testing.B) {
			noExpandedKeys = !cache
			defer func() { noExpandedKeys = false }()
			for i := 0; i < b.N; i++ {
				for _, err := range VerifyAll("c", txs) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(txs)), "ns/sig")
		})
	}
}
