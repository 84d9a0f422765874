package blocks_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// TestProverTrees: a Prover with Trees gives the proofs a Prover without
// them gives, every transaction of blocks of sizes around TreeChunk and
// its multiples, whether the Trees are empty (the first proof of a block
// hashes it whole and keeps its upper levels: only of blocks larger than
// TreeChunk), filled by those proofs, or filled by Load; and each proof
// verifies against its block's root. A cancelled Load stops.
func TestProverTrees(t *testing.T) {
	t.Parallel()
	db, err := store.Open(filepath.Join(t.TempDir(), "s"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sizes := []int{1, 2, blocks.TreeChunk - 1, blocks.TreeChunk, blocks.TreeChunk + 1, 2 * blocks.TreeChunk, 2*blocks.TreeChunk + 3, 5*blocks.TreeChunk - 7, 1000}
	var ids [][]ledger.Hash // by block, by index
	b := db.NewBatch()
	for i, n := range sizes {
		height := uint64(i + 1)
		var leaves []ledger.Hash
		var blk []ledger.Hash
		for j := range n {
			tx := fmt.Appendf(nil, "block %d transaction %d", height, j)
			id := ledger.LeafHash(tx) // any distinct id will do
			leaves, blk = append(leaves, id), append(blk, id)
			loc := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, height), uint32(j))
			for _, kv := range [][2][]byte{{store.TxKey(height, uint32(j)), tx}, {store.TxIndexKey(id), loc}} {
				if err := b.Set(kv[0], kv[1]); err != nil {
					t.Fatal(err)
				}
			}
		}
		h := &ledger.Header{Version: 1, Height: height, MerkleRoot: ledger.MerkleRoot(leaves), ChainID: "c", Region: "420100", NumTxs: uint32(n)}
		if err := b.Set(store.HeaderKey(height), h.Bytes()); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, blk)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	proofs := func(p *blocks.Prover) []*blocks.Proof {
		var out []*blocks.Proof
		for _, blk := range ids {
			for _, id := range blk {
				pr, err := p.Prove(id)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, pr)
			}
		}
		return out
	}
	want := proofs(blocks.NewProver(db))
	for _, p := range want {
		if err := ledger.VerifyInclusion(p.Tx, p.Index, p.Size, p.Path, p.Header.MerkleRoot); err != nil {
			t.Fatalf("block %d, transaction %d: %v", p.Header.Height, p.Index, err)
		}
	}
	large := 0
	for _, n := range sizes {
		if n > blocks.TreeChunk {
			large++
		}
	}
	lazy := blocks.NewTrees()
	for pass, p := range []*blocks.Prover{blocks.NewProver(db).WithTrees(lazy), blocks.NewProver(db).WithTrees(lazy)} {
		if got := proofs(p); !reflect.DeepEqual(got, want) {
			t.Fatalf("pass %d with trees: proofs differ", pass+1)
		}
		if st := lazy.Stats(); st.Blocks != large {
			t.Fatalf("pass %d: %d blocks' levels kept, want %d", pass+1, st.Blocks, large)
		}
	}
	loaded := blocks.NewTrees()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := loaded.Load(ctx, db, uint64(len(sizes)), nil); err != context.Canceled || loaded.Stats().Blocks != 0 {
		t.Fatalf("load, cancelled: %v, %+v", err, loaded.Stats())
	}
	if err := loaded.Load(context.Background(), db, uint64(len(sizes)), nil); err != nil {
		t.Fatal(err)
	}
	if loaded.Stats() != lazy.Stats() {
		t.Fatalf("loaded %+v, kept by proofs %+v", loaded.Stats(), lazy.Stats())
	}
	if got := proofs(blocks.NewProver(db).WithTrees(loaded)); !reflect.DeepEqual(got, want) {
		t.Fatal("with loaded trees: proofs differ")
	}
}
