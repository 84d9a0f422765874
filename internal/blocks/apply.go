package blocks

import (
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// Ordered is one block's worth of transactions, in the order an engine
// decided, with what was already learnt of them: the result of checking
// each signature (nil: valid) and each transaction's Merkle leaf hash
// (ledger.VerifyAndHash gives both, in parallel batches). Errs and
// Leaves may be nil: they are then computed here.
type Ordered struct {
	Txs    []*ledger.Tx
	Errs   []error
	Leaves []ledger.Hash
}

// Built is a block applied into a store batch and not yet committed.
type Built struct {
	// Header is the block's header, nil when nothing was accepted and the
	// block was not asked to exist anyway (Apply's keepEmpty).
	Header *ledger.Header
	// Results says, per transaction, nil (accepted: it is in the block at
	// Index[i]) or the *state.Rejection that refused it.
	Results []error
	Index   []uint32
	blk     *state.Block
}

// Committed tells the state machine that the batch holding the block has
// been committed (made visible; for the solo engine, its sync may still
// be under way), so that its caches take the block's writes.
func (b *Built) Committed() {
	if b.blk != nil {
		b.blk.Committed()
	}
}

// Apply is block application, one function for every engine: it applies
// o's transactions in order, as the block after head with block time
// timeNanos, through m into the batch b, and writes the block (its header
// over the accepted transactions, the transactions, the chain records and
// the new head) into the same batch. The solo engine, the CometBFT
// application and Replay all build blocks here, so that a chain's blocks,
// Merkle roots and state hashes are the same whichever engine produced
// them.
//
// A refused transaction is left out of the block: the ledger holds what
// was accepted, and a refusal is the sender's receipt (and, under
// CometBFT, the result code in CometBFT's own block, which keeps every
// transaction it ordered). With keepEmpty false, a block in which nothing
// was accepted is not written at all (Header nil: the solo engine makes no
// empty blocks); with keepEmpty true it is written with no transactions
// (CometBFT: every height of its chain is a block of ours, so that the
// heights agree).
//
// An error that is not a rejection is a storage failure: the batch must
// then be discarded.
func Apply(m *state.Machine, b *store.Batch, head Head, timeNanos int64, o Ordered, keepEmpty bool) (*Built, error) {
	gen := m.Genesis()
	if o.Errs == nil || o.Leaves == nil {
		o.Errs, o.Leaves = ledger.VerifyAndHash(gen.ChainID, o.Txs)
	}
	height := head.Height + 1
	blk, err := m.Begin(b, height, timeNanos)
	if err != nil {
		return nil, err
	}
	out := &Built{Results: make([]error, len(o.Txs)), Index: make([]uint32, len(o.Txs))}
	var raws [][]byte
	var leaves []ledger.Hash
	var size uint64
	for i, tx := range o.Txs {
		idx := blk.Index()
		err := blk.Apply(tx, o.Errs[i])
		if _, ok := state.IsRejection(err); ok {
			out.Results[i] = err
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Index[i] = idx
		raw := tx.Bytes()
		raws = append(raws, raw)
		leaves = append(leaves, o.Leaves[i])
		size += uint64(len(raw))
	}
	if len(raws) == 0 && !keepEmpty {
		return out, nil
	}
	stateHash, err := blk.Finish(head.StateHash)
	if err != nil {
		return nil, err
	}
	h := &ledger.Header{
		Version: ledger.BlockVersion, Height: height, PrevHash: head.Hash,
		MerkleRoot: ledger.MerkleRoot(leaves), Time: timeNanos,
		ChainID: gen.ChainID, Region: gen.Region,
		NumTxs: uint32(len(raws)), TxBytes: size,
		StateHash: stateHash,
	}
	if err := WriteBlock(b, &gen, h, raws); err != nil {
		return nil, err
	}
	out.Header, out.blk = h, blk
	return out, nil
}

// Next is the head after a block with header h.
func Next(h *ledger.Header) Head {
	return Head{Height: h.Height, Hash: h.Hash(), StateHash: h.StateHash, Time: h.Time}
}
