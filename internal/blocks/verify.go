package blocks

import (
	"context"
	"errors"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// BadBlockError names the first block that fails verification and why.
type BadBlockError struct {
	Height uint64
	Reason string
	// Err is the store's error when the block could not be read (a
	// *store.CorruptionError naming the damaged file), else nil.
	Err error
}

func (e *BadBlockError) Error() string {
	return fmt.Sprintf("block %d: %s", e.Height, e.Reason)
}

// Unwrap returns Err.
func (e *BadBlockError) Unwrap() error { return e.Err }

// VerifyReport summarises a successful verification.
type VerifyReport struct {
	Blocks       uint64
	Txs          uint64
	Signatures   uint64
	SiteChains   int
	Persons      uint64
	PersonBlocks uint64
	Head         Head
}

// Verify re-checks every block of the store from height 1 to the head:
// that each header decodes, links to the previous header's hash (block 1
// to the genesis), that its time does not go backwards, that its
// transactions decode canonically, that their count, size and RFC 6962 root
// match the header, that every signature verifies, and that the head record
// matches the last block. progress, if not nil, is called after each block.
// It then checks the double chain: every visit and move is the next entry
// of its sites' chains with the right link, the site heads match, and
// every person chain links, matches its Merkle roots and names only
// transactions on the chain. It returns a *BadBlockError naming the first
// bad height, or a *BadChainError naming the site or person.
func Verify(r store.Reader, gen *state.Genesis, progress func(height, head uint64)) (*VerifyReport, error) {
	return VerifyContext(context.Background(), r, gen, progress)
}

// VerifyContext is Verify that stops once ctx is done (a request
// cancelled, a node shutting down): between blocks, and every few
// thousand person blocks, it returns ctx's error, wrapped.
func VerifyContext(ctx context.Context, r store.Reader, gen *state.Genesis, progress func(height, head uint64)) (*VerifyReport, error) {
	head, err := ReadHead(r, gen)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Head: head}
	sites := newSiteChains(r)
	prev := gen.Hash()
	prevTime := int64(0)
	for h := uint64(1); h <= head.Height; h++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("verify stopped at block %d: %w", h, err)
		}
		bad := func(format string, args ...any) error {
			return &BadBlockError{Height: h, Reason: fmt.Sprintf(format, args...)}
		}
		// unreadable names the block whose read met damage in the store.
		unreadable := func(err error) error {
			if errors.Is(err, store.ErrCorrupt) {
				return &BadBlockError{Height: h, Reason: fmt.Sprintf("cannot be read: %v", err), Err: err}
			}
			return err
		}
		v, ok, err := r.Get(store.HeaderKey(h))
		if err != nil {
			return nil, unreadable(err)
		}
		if !ok {
			return nil, bad("header missing")
		}
		hdr, err := ledger.DecodeHeader(v)
		if err != nil {
			return nil, bad("header does not decode: %v", err)
		}
		if hdr.Height != h {
			return nil, bad("header says height %d", hdr.Height)
		}
		if hdr.PrevHash != prev {
			return nil, bad("its link to the previous block does not match the hash of block %d (one of the two headers was altered)", h-1)
		}
		if hdr.ChainID != gen.ChainID {
			return nil, bad("chain id %q is not this chain's", hdr.ChainID)
		}
		if hdr.Time < prevTime {
			return nil, bad("time goes backwards")
		}
		raws, err := Txs(r, h)
		if err != nil {
			return nil, unreadable(err)
		}
		if uint32(len(raws)) != hdr.NumTxs {
			return nil, bad("has %d transactions, header says %d", len(raws), hdr.NumTxs)
		}
		leaves := make([]ledger.Hash, len(raws))
		txs := make([]*ledger.Tx, len(raws))
		var size uint64
		for i, raw := range raws {
			tx, err := ledger.DecodeTx(raw)
			if err != nil {
				return nil, bad("transaction %d does not decode: %v", i, err)
			}
			txs[i] = tx
			leaves[i] = ledger.LeafHash(raw)
			size += uint64(len(raw))
			rep.Signatures += uint64(len(tx.Sigs))
		}
		if size != hdr.TxBytes {
			return nil, bad("transactions are %d bytes, header says %d", size, hdr.TxBytes)
		}
		if ledger.MerkleRoot(leaves) != hdr.MerkleRoot {
			return nil, bad("Merkle root does not match the transactions")
		}
		for i, err := range ledger.VerifyAll(gen.ChainID, txs) {
			if err != nil {
				return nil, bad("transaction %d (%s): %v", i, txs[i].ID().String()[:16], err)
			}
		}
		for i, tx := range txs {
			hh, idx, err := Locate(r, tx.ID())
			if errors.Is(err, store.ErrCorrupt) {
				return nil, unreadable(err)
			}
			if err != nil || hh != h || idx != uint32(i) {
				return nil, bad("transaction %d is missing from the transaction index", i)
			}
			if err := sites.tx(tx, h, uint32(i)); err != nil {
				return nil, unreadable(err)
			}
		}
		rep.Blocks++
		rep.Txs += uint64(len(txs))
		prev = hdr.Hash()
		prevTime = hdr.Time
		if progress != nil {
			progress(h, head.Height)
		}
	}
	if head.Height > 0 && head.Hash != prev {
		return nil, &BadBlockError{Height: head.Height, Reason: "head record does not match the last block's hash"}
	}
	// A block past the head means the head record was rolled back.
	if _, ok, err := r.Get(store.HeaderKey(head.Height + 1)); err != nil {
		return nil, err
	} else if ok {
		return nil, &BadBlockError{Height: head.Height + 1, Reason: "block stored past the recorded head"}
	}
	if err := sites.finish(); err != nil {
		return nil, doubleChainErr("site chains", err)
	}
	rep.SiteChains = len(sites.cursors)
	if rep.Persons, rep.PersonBlocks, err = verifyPersonChains(ctx, r); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("verify stopped in the person chains: %w", err)
		}
		return nil, doubleChainErr("person chains", err)
	}
	return rep, nil
}

// doubleChainErr says which view of the double chain could not be read
// when err is damage in the store.
func doubleChainErr(view string, err error) error {
	if errors.Is(err, store.ErrCorrupt) {
		return fmt.Errorf("%s: %w", view, err)
	}
	return err
}
