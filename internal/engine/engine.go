// Package engine drives the state machine: it orders admitted transactions
// into blocks, applies them, stores the blocks and acknowledges each
// transaction only after its block is durably committed. Solo is the
// embedded single-node engine; a CometBFT engine implements the same
// interface for a consortium. Both build blocks with blocks.Apply, the one
// block application over the state machine.
package engine

import (
	"context"
	"errors"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
)

// Receipt is the outcome of one submitted transaction. Err is nil when the
// transaction is committed at Height/Index, a *state.Rejection when it was
// refused (nothing stored), or another error when the engine failed.
type Receipt struct {
	TxID   ledger.Hash
	Height uint64
	Index  uint32
	Err    error
}

// Engine accepts transactions and commits them in blocks.
type Engine interface {
	// Submit submits one transaction and waits for its receipt.
	Submit(ctx context.Context, raw []byte) Receipt
	// SubmitAsync enqueues a transaction; done is called once with its
	// receipt, from the engine's goroutine, so it must be quick. It blocks
	// while the queue is full and fails only if the engine is closed.
	SubmitAsync(raw []byte, done func(Receipt)) error
	// Head is the committed tip of the chain.
	Head() blocks.Head
	// Halted says why the engine stopped accepting transactions (an error
	// wrapping ErrHalted), or nil while it runs.
	Halted() error
	// Close stops accepting, commits what was accepted and stops.
	Close() error
}

// Batcher is an engine that takes a submission's transactions together
// (the CometBFT engine bundles them into one of its transactions).
type Batcher interface {
	// SubmitBatch enqueues raws, in order; done(i, receipt) is called
	// once for each, as SubmitAsync's done. It fails only if the engine
	// is closed or halted, and then calls no done.
	SubmitBatch(raws [][]byte, done func(i int, r Receipt)) error
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("engine: closed")
