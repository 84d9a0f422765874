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
				bv.AddWithOptions(s.Key[:], msg, s.Sig[:], verifyOpts)
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
