package ledger

import (
	"runtime"
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// verifyOpts is the one signature rule of the ledger: ZIP-215, under which
// batch and single verification accept exactly the same signatures. A rule
// where they could differ would let two nodes disagree about a block.
var verifyOpts = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// batchSize is how many signatures go into one batch verification; past 64
// the gain per signature flattens out.
const batchSize = 64

// VerifyAll checks the signatures of txs in parallel batches over all CPUs
// and returns, per tx, nil or the error that names its bad signature. A
// batch that fails is re-checked one signature at a time to find the bad
// ones. It also computes and caches each tx's ID, so that the serial stage
// that applies them finds it done. Call it before sharing txs with other
// goroutines.
func VerifyAll(chainID string, txs []*Tx) []error {
	errs, _ := VerifyAndHash(chainID, txs)
	return errs
}

// VerifyAndHash is VerifyAll that also returns each tx's RFC 6962 leaf
// hash, computed in the same parallel pass.
func VerifyAndHash(chainID string, txs []*Tx) ([]error, []Hash) {
	errs := make([]error, len(txs))
	leaves := make([]Hash, len(txs))
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(txs) + workers - 1) / workers
	if chunk < batchSize {
		chunk = batchSize
	}
	var wg sync.WaitGroup
	for lo := 0; lo < len(txs); lo += chunk {
		hi := min(lo+chunk, len(txs))
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			verifyRange(chainID, txs[lo:hi], errs[lo:hi])
			for i := lo; i < hi; i++ {
				txs[i].ID()
				leaves[i] = LeafHash(txs[i].Bytes())
			}
		}(lo, hi)
	}
	wg.Wait()
	return errs, leaves
}

func verifyRange(chainID string, txs []*Tx, errs []error) {
	bv := voi.NewBatchVerifierWithCapacity(batchSize)
	for lo := 0; lo < len(txs); lo += batchSize {
		hi := min(lo+batchSize, len(txs))
		bv.Reset()
		for _, t := range txs[lo:hi] {
			msg := t.SignBytes(chainID)
			for _, s := range t.Sigs {
				if ek := expandedKey(s.Key); ek != nil {
					bv.AddExpandedWithOptions(ek, msg, s.Sig[:], verifyOpts)
				} else {
					bv.AddWithOptions(s.Key[:], msg, s.Sig[:], verifyOpts)
				}
			}
		}
		if bv.VerifyBatchOnly(nil) {
			continue
		}
		for i, t := range txs[lo:hi] {
			errs[lo+i] = t.VerifySigs(chainID)
		}
	}
}

// expandedKeys holds the expanded form (decompressed, with its
// precomputed table) of the public keys verified lately. A site signs
// thousands of records with one key: batch verification with the
// expanded key skips the key's decompression and uses its table, about
// 30% less work per signature (BenchmarkVerifyAll). The expanded key
// gives the same verdicts as the compressed one (the check of A is
// cached, not changed). Bounded: past expandedKeysMax keys it starts over.
var expandedKeys = struct {
	sync.Mutex
	m map[[32]byte]*voi.ExpandedPublicKey
}{m: map[[32]byte]*voi.ExpandedPublicKey{}}

const expandedKeysMax = 1 << 13 // about 12 MiB

// noExpandedKeys turns the cache off (for BenchmarkVerifyAll's baseline).
var noExpandedKeys = false

// expandedKey is key expanded, or nil if it does not decompress (the
// batch then judges it from its bytes).
func expandedKey(key [32]byte) *voi.ExpandedPublicKey {
	if noExpandedKeys {
		return nil
	}
	expandedKeys.Lock()
	ek, ok := expandedKeys.m[key]
	expandedKeys.Unlock()
	if ok {
		return ek
	}
	ek, err := voi.NewExpandedPublicKey(key[:])
	if err != nil {
		return nil
	}
	expandedKeys.Lock()
	if len(expandedKeys.m) >= expandedKeysMax {
		clear(expandedKeys.m)
	}
	expandedKeys.m[key] = ek
	expandedKeys.Unlock()
	return ek
}
