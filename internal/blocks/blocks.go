// Package blocks holds the ledger's blocks: it stores them (headers and
// the exact bytes of their transactions), reads them back, builds
// inclusion proofs, verifies a whole store (hash links, Merkle roots, every
// signature, the site and person chains) and replays it. It was "chain",
// a word that also names the person and site chains, the longest-chain
// rule and chains of transmission.
package blocks

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// Head is the tip of the chain.
type Head struct {
	Height    uint64
	Hash      ledger.Hash // hash of the header at Height (the genesis hash at 0)
	StateHash ledger.Hash
	Time      int64 // header time of the tip, Unix nanoseconds
}

func encodeHead(h Head) []byte {
	b := binary.BigEndian.AppendUint64(nil, h.Height)
	b = append(b, h.Hash[:]...)
	b = append(b, h.StateHash[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(h.Time))
}

// ReadHead returns the chain tip, or the genesis position for an empty
// chain. It also checks that the store belongs to this genesis.
func ReadHead(r store.Reader, gen *state.Genesis) (Head, error) {
	gh := gen.Hash()
	v, ok, err := r.Get(store.MetaKey("genesis"))
	if err != nil {
		return Head{}, err
	}
	if ok && ledger.Hash(v) != gh {
		return Head{}, fmt.Errorf("chain: the store belongs to another genesis (its chain id, authority, correction rule or consensus rules differ from genesis.json: the rules are fixed once block 1 is written)")
	}
	v, ok, err = r.Get(store.MetaKey("head"))
	if err != nil {
		return Head{}, err
	}
	if !ok {
		return Head{Hash: gh, Time: gen.Time * 1e9}, nil
	}
	if len(v) != 80 {
		return Head{}, fmt.Errorf("%w: head record", store.ErrCorrupt)
	}
	var h Head
	h.Height = binary.BigEndian.Uint64(v)
	copy(h.Hash[:], v[8:40])
	copy(h.StateHash[:], v[40:72])
	h.Time = int64(binary.BigEndian.Uint64(v[72:]))
	return h, nil
}

// WriteBlock adds a block's header, transactions and the new head to b.
func WriteBlock(b *store.Batch, gen *state.Genesis, h *ledger.Header, txs [][]byte) error {
	if h.Height == 1 {
		gh := gen.Hash()
		if err := b.Set(store.MetaKey("genesis"), gh[:]); err != nil {
			return err
		}
	}
	for i, tx := range txs {
		if err := b.SetTx(h.Height, uint32(i), tx); err != nil {
			return err
		}
	}
	if err := b.Set(store.HeaderKey(h.Height), h.Bytes()); err != nil {
		return err
	}
	return b.Set(store.MetaKey("head"), encodeHead(Next(h)))
}

// ErrNotFound is returned for a block or transaction that is not on the
// chain.
var ErrNotFound = errors.New("chain: not found")

// Header reads the header at height.
func Header(r store.Reader, height uint64) (*ledger.Header, error) {
	v, ok, err := r.Get(store.HeaderKey(height))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: block %d", ErrNotFound, height)
	}
	h, err := ledger.DecodeHeader(v)
	if err != nil {
		return nil, fmt.Errorf("%w: block %d: %v", store.ErrCorrupt, height, err)
	}
	return h, nil
}

// Txs reads the exact bytes of a block's transactions, in order.
func Txs(r store.Reader, height uint64) ([][]byte, error) {
	lo, hi := store.TxPrefix(height)
	var out [][]byte
	var derr error
	err := r.Scan(lo, hi, func(k, v []byte) bool {
		raw, err := store.UnpackTx(r, v)
		if err != nil {
			derr = fmt.Errorf("block %d: %w", height, err)
			return false
		}
		out = append(out, append([]byte(nil), raw...))
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// Locate finds a transaction by id.
func Locate(r store.Reader, id ledger.Hash) (height uint64, idx uint32, err error) {
	v, ok, err := r.Get(store.TxIndexKey(id))
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, fmt.Errorf("%w: transaction %s", ErrNotFound, id.String()[:16])
	}
	if len(v) != 12 {
		return 0, 0, fmt.Errorf("%w: tx index", store.ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), binary.BigEndian.Uint32(v[8:]), nil
}

// Proof is everything needed to check offline that a transaction is in a
// block: the transaction's exact bytes, its leaf index, the tree size, the
// audit path and the block header (whose hash links into the chain).
type Proof struct {
	TxID   ledger.Hash
	Tx     []byte
	Index  uint64
	Size   uint64
	Path   []ledger.Hash
	Header *ledger.Header
}

// Prove builds the inclusion proof of a transaction.
func Prove(r store.Reader, id ledger.Hash) (*Proof, error) { return NewProver(r).Prove(id) }

// Check verifies the proof: the bytes decode to the claimed transaction and
// are a leaf of the header's Merkle root.
func (p *Proof) Check() error {
	tx, err := ledger.DecodeTx(p.Tx)
	if err != nil {
		return fmt.Errorf("proof: transaction bytes: %w", err)
	}
	if tx.ID() != p.TxID {
		return fmt.Errorf("proof: transaction bytes have id %s, not %s", tx.ID(), p.TxID)
	}
	if p.Size != uint64(p.Header.NumTxs) {
		return fmt.Errorf("proof: tree size %d but the header commits to %d transactions", p.Size, p.Header.NumTxs)
	}
	return ledger.VerifyInclusion(p.Tx, p.Index, p.Size, p.Path, p.Header.MerkleRoot)
}

// Prover builds inclusion proofs, keeping the Merkle tree of the last
// block it read, so that many proofs from the same block cost one read
// and one hashing of it. With Trees (WithTrees), a proof in a block whose
// upper levels the Trees hold reads and hashes only its run of TreeChunk
// transactions, and a block's whole tree, once hashed, leaves its upper
// levels there. Not safe for concurrent use.
type Prover struct {
	r      store.Reader
	trees  *Trees
	height uint64
	hdr    *ledger.Header
	// tree is the block's whole tree; or, when upper is not nil, the
	// tree of the run chunk of its TreeChunk leaves (nil: none read).
	tree  *ledger.MerkleTree
	upper *upperTree
	chunk int
}

// NewProver returns a Prover reading r.
func NewProver(r store.Reader) *Prover { return &Prover{r: r} }

// WithTrees makes p read and keep the upper levels of blocks' trees in t
// (nil: none), and returns p.
func (p *Prover) WithTrees(t *Trees) *Prover {
	p.trees = t
	return p
}

// Prove builds the inclusion proof of a transaction.
func (p *Prover) Prove(id ledger.Hash) (*Proof, error) {
	height, idx, err := Locate(p.r, id)
	if err != nil {
		return nil, err
	}
	if p.hdr == nil || p.height != height {
		h, err := Header(p.r, height)
		if err != nil {
			return nil, err
		}
		p.height, p.hdr, p.tree, p.upper = height, h, nil, nil
		if p.trees != nil {
			p.upper = p.trees.get(height)
		}
		if p.upper == nil {
			leaves, err := blockLeaves(p.r, height)
			if err != nil {
				return nil, err
			}
			if len(leaves) == 0 {
				return nil, fmt.Errorf("%w: block %d holds no transactions", store.ErrCorrupt, height)
			}
			p.tree = ledger.NewMerkleTree(leaves)
			if p.trees != nil && p.tree.Root() == h.MerkleRoot {
				p.trees.keep(height, p.tree)
			}
		}
	}
	var size int
	var path []ledger.Hash
	if p.upper != nil {
		size = p.upper.size
		if int(idx) >= size {
			return nil, fmt.Errorf("%w: tx index past block %d", store.ErrCorrupt, height)
		}
		if c := int(idx) / TreeChunk; p.tree == nil || p.chunk != c {
			leaves, err := chunkLeaves(p.r, height, c, size)
			if err != nil {
				return nil, err
			}
			p.tree, p.chunk = ledger.NewMerkleTree(leaves), c
		}
		below, err := p.tree.Path(int(idx) % TreeChunk)
		if err != nil {
			return nil, err
		}
		above, err := p.upper.upper.Path(int(idx) / TreeChunk)
		if err != nil {
			return nil, err
		}
		path = append(below, above...)
	} else {
		size = p.tree.Size()
		if int(idx) >= size {
			return nil, fmt.Errorf("%w: tx index past block %d", store.ErrCorrupt, height)
		}
		if path, err = p.tree.Path(int(idx)); err != nil {
			return nil, err
		}
	}
	tx, ok, err := store.ReadTx(p.r, height, idx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: transaction %d of block %d", store.ErrCorrupt, idx, height)
	}
	return &Proof{TxID: id, Tx: tx, Index: uint64(idx), Size: uint64(size), Path: path, Header: p.hdr}, nil
}
