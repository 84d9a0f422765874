package blocks

import (
	"context"
	"fmt"
	"sync"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// TreeChunk is the number of leaves whose subtree a Prover with Trees
// hashes for a proof: the transactions around the one proven (its
// TreeChunk-aligned run), not the whole block.
const TreeChunk = 64

// Trees keeps, for each block of more than TreeChunk transactions, the
// upper levels of its Merkle tree: the roots of its runs of TreeChunk
// leaves and every node above them, 32 bytes per TreeChunk/2
// transactions (about 128 KB for a million transactions). A proof in a
// block it holds reads and hashes TreeChunk transactions instead of the
// whole block (up to 4,096 by default). Blocks are immutable, so an
// entry never goes stale. Trees is filled by the Provers that use it (a
// block's first proof hashes the whole block and keeps the levels) and
// by Load. Safe for concurrent use.
type Trees struct {
	mu sync.RWMutex
	m  map[uint64]*upperTree
	// nodes counts the hashes held.
	nodes int
}

// upperTree is a block's number of transactions and the tree over the
// roots of its runs of TreeChunk leaves.
type upperTree struct {
	size  int
	upper *ledger.MerkleTree
}

// treeLevel is the level of the runs' roots: 2^treeLevel = TreeChunk.
const treeLevel = 6

// NewTrees returns an empty Trees.
func NewTrees() *Trees { return &Trees{m: map[uint64]*upperTree{}} }

func (t *Trees) get(height uint64) *upperTree {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[height]
}

// keep keeps the upper levels of block height's whole tree, if the block
// is large enough to need them.
func (t *Trees) keep(height uint64, whole *ledger.MerkleTree) {
	if whole.Size() <= TreeChunk {
		return
	}
	u := &upperTree{size: whole.Size(), upper: whole.Above(treeLevel)}
	nodes := 0
	for n := (u.size + TreeChunk - 1) / TreeChunk; ; n = (n + 1) / 2 {
		nodes += n
		if n == 1 {
			break
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.m[height]; !ok {
		t.m[height] = u
		t.nodes += nodes
	}
}

// TreesStats says what Trees holds.
type TreesStats struct {
	Blocks int   // blocks held
	Bytes  int64 // their hashes' bytes
}

// Stats says what t holds.
func (t *Trees) Stats() TreesStats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return TreesStats{Blocks: len(t.m), Bytes: int64(t.nodes) * 32}
}

// Load hashes every block of r up to height head that t does not hold
// yet and keeps its upper levels, as a running node does in the
// background when it starts, so that no proof hashes a whole block. It
// stops when ctx is done, returning ctx's error; progress, if not nil,
// is called after each block with its height.
func (t *Trees) Load(ctx context.Context, r store.Reader, head uint64, progress func(height uint64)) error {
	for h := uint64(1); h <= head; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if t.get(h) == nil {
			leaves, err := blockLeaves(r, h)
			if err != nil {
				return err
			}
			if len(leaves) > TreeChunk {
				t.keep(h, ledger.NewMerkleTree(leaves))
			}
		}
		if progress != nil {
			progress(h)
		}
	}
	return nil
}

// blockLeaves hashes the transactions of block height, in order, as they
// are read (none is copied).
func blockLeaves(r store.Reader, height uint64) ([]ledger.Hash, error) {
	lo, hi := store.TxPrefix(height)
	return leavesIn(r, lo, hi)
}

// leavesIn hashes the transactions in [lo, hi) of the transaction table.
func leavesIn(r store.Reader, lo, hi []byte) ([]ledger.Hash, error) {
	var leaves []ledger.Hash
	var derr error
	err := r.Scan(lo, hi, func(_, v []byte) bool {
		raw, err := store.UnpackTx(r, v)
		if err != nil {
			derr = err
			return false
		}
		leaves = append(leaves, ledger.LeafHash(raw))
		return true
	})
	if err == nil {
		err = derr
	}
	return leaves, err
}

// chunkLeaves hashes the c-th run of TreeChunk transactions of block
// height, which holds size; a run shorter than the block says is
// corruption.
func chunkLeaves(r store.Reader, height uint64, c, size int) ([]ledger.Hash, error) {
	from, to := c*TreeChunk, min((c+1)*TreeChunk, size)
	leaves, err := leavesIn(r, store.TxKey(height, uint32(from)), store.TxKey(height, uint32(to)))
	if err != nil {
		return nil, err
	}
	if len(leaves) != to-from {
		return nil, fmt.Errorf("%w: block %d: %d transactions from %d, not %d", store.ErrCorrupt, height, len(leaves), from, to-from)
	}
	return leaves, nil
}
