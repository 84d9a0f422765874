package comet

import (
	"sync"

	"github.com/epiledger/epiledger/internal/ledger"
)

// sigCache remembers transactions whose signatures verified on this node,
// by the RFC 6962 leaf hash of their exact bytes (the signatures
// included: the transaction id covers only the body), so that a
// transaction is verified once per node, when it reaches the mempool,
// not again in each proposal and block that holds it. Only successes are
// kept; a verdict depends on nothing but the bytes and the chain id, so
// the cache cannot change one. It holds two generations of at most
// sigCacheGen entries each: the older is dropped when the newer fills.
type sigCache struct {
	mu        sync.Mutex
	cur, prev map[ledger.Hash]struct{}
}

const sigCacheGen = 1 << 18

func newSigCache() *sigCache {
	return &sigCache{cur: make(map[ledger.Hash]struct{}), prev: map[ledger.Hash]struct{}{}}
}

func (c *sigCache) has(leaf ledger.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[leaf]; ok {
		return true
	}
	_, ok := c.prev[leaf]
	return ok
}

func (c *sigCache) add(leaves ...ledger.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range leaves {
		if len(c.cur) >= sigCacheGen {
			c.prev, c.cur = c.cur, make(map[ledger.Hash]struct{}, sigCacheGen/4)
		}
		c.cur[l] = struct{}{}
	}
}

// verify verifies the signatures of txs, in parallel batches, except
// those the cache holds; it adds the ones that verify. It returns each
// transaction's verdict and leaf hash.
func (c *sigCache) verify(chainID string, txs []*ledger.Tx) ([]error, []ledger.Hash) {
	errs := make([]error, len(txs))
	leaves := make([]ledger.Hash, len(txs))
	var todo []*ledger.Tx
	var at []int
	for i, tx := range txs {
		leaves[i] = ledger.LeafHash(tx.Bytes())
		if !c.has(leaves[i]) {
			todo, at = append(todo, tx), append(at, i)
		}
	}
	if len(todo) == 0 {
		return errs, leaves
	}
	verrs := ledger.VerifyAll(chainID, todo)
	var good []ledger.Hash
	for j, i := range at {
		errs[i] = verrs[j]
		if verrs[j] == nil {
			good = append(good, leaves[i])
		}
	}
	c.add(good...)
	return errs, leaves
}

// verifyOne is verify for one transaction (the mempool's door, where
// transactions arrive one at a time).
func (c *sigCache) verifyOne(chainID string, tx *ledger.Tx) error {
	errs, _ := c.verify(chainID, []*ledger.Tx{tx})
	return errs[0]
}
