// Package comet runs epiledger's state machine under CometBFT v0.38: a
// consortium of organisations, each running a validator, none of which
// alone decides what the ledger holds. The application is in process
// (ABCI 2.0 through a local client); it builds every block with
// blocks.Apply, the same block application as the solo engine, so the
// ledger, its proofs and its state hashes are the same whichever engine
// wrote them.
package comet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// Codespace names our result codes in CometBFT's results.
const Codespace = "epiledger"

// Result codes of a refused transaction (ExecTxResult.Code and
// ResponseCheckTx.Code); 0 is accepted. The rejection itself, as JSON, is
// the result's Log.
var codes = map[string]uint32{
	state.CodeBadSignature: 1, state.CodeReplay: 2, state.CodeUnknownSite: 3, state.CodeUnknownAlias: 4,
	state.CodeWrongSigner: 5, state.CodeInvalid: 6, state.CodeConflict: 7,
}

// codeOther is the code of a rejection whose code has no number of its own.
const codeOther = 99

func resultCode(r *state.Rejection) uint32 {
	if c, ok := codes[r.Code]; ok {
		return c
	}
	return codeOther
}

// Rejection reads back the rejection a refused result carries.
func Rejection(code uint32, log string) *state.Rejection {
	if code == abci.CodeTypeOK {
		return nil
	}
	var r state.Rejection
	if err := json.Unmarshal([]byte(log), &r); err != nil || r.Code == "" {
		return &state.Rejection{Code: state.CodeInvalid, Msg: "refused (result code " + fmt.Sprint(code) + ")"}
	}
	return &r
}

// App is the ABCI application: the state machine of one node.
//
// CometBFT calls it on several connections; the local client creator the
// engine uses serialises every call. App holds its own lock for what the
// engine reads between calls (the head) and for the mempool's view, which
// CheckTx may reach between a block's FinalizeBlock and its Commit.
type App struct {
	abci.BaseApplication

	db   *store.DB
	m    *state.Machine
	sigs *sigCache
	gen  state.Genesis
	log  *slog.Logger

	mu   sync.Mutex
	head blocks.Head
	// The block FinalizeBlock applied, waiting for Commit.
	pending     *store.Batch
	built       *blocks.Built
	pendingTxs  []*ledger.Tx
	pendingTime int64
	// check is the mempool's view: the committed state plus the
	// transactions admitted since, applied to a batch that is never
	// committed; it starts over after each block.
	check      *state.Block
	checkBatch *store.Batch

	// committed, if set, is called after each block is durable, with its
	// height, transactions and their results (under mu: keep it short).
	committed func(height uint64, txs []*ledger.Tx, built *blocks.Built)
	// rechecked, if set, is told of a transaction the mempool held and
	// that the committed state now refuses (it leaves the mempool).
	rechecked func(id ledger.Hash, r *state.Rejection)
	// fatal, if set, is called on a storage failure; the node halts.
	fatal func(error)
	// poison, a test hook: the node proposes this transaction in every
	// block it proposes (a faulty proposer).
	poison []byte
}

// NewApp returns the application over db at its stored head.
func NewApp(db *store.DB, m *state.Machine, log *slog.Logger) (*App, error) {
	gen := m.Genesis()
	head, err := blocks.ReadHead(db, &gen)
	if err != nil {
		return nil, err
	}
	return &App{db: db, m: m, sigs: newSigCache(), gen: gen, log: log, head: head}, nil
}

// Head is the last committed block of ours.
func (a *App) Head() blocks.Head {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.head
}

// appHash is what CometBFT records as the application's state after
// head: the state hash of its block, or before any block the genesis hash
// (InitChain's answer), so that a node whose genesis differs (other rules,
// another authority) disagrees with its peers from the first block.
func (a *App) appHash(h blocks.Head) []byte {
	if h.Height == 0 {
		gh := a.gen.Hash()
		return gh[:]
	}
	return h.StateHash[:]
}

// Info tells CometBFT where the application is, so that at start it
// replays the blocks the application has not applied.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	h := a.Head()
	return &abci.ResponseInfo{Data: "epiledger", Version: "1", AppVersion: 1,
		LastBlockHeight: int64(h.Height), LastBlockAppHash: a.appHash(h)}, nil
}

// InitChain checks that CometBFT's genesis is this node's: the same
// epiledger genesis hash in its app_state.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	want := a.gen.Hash()
	var st AppState
	if err := json.Unmarshal(req.AppStateBytes, &st); err != nil {
		return nil, fmt.Errorf("comet: the CometBFT genesis app_state does not read: %w", err)
	}
	if st.GenesisHash != want.String() {
		return nil, fmt.Errorf("comet: this node's genesis.json (hash %s) is not the consortium's (hash %s): a node runs only on the chain's genesis", want.String()[:16], clip(st.GenesisHash))
	}
	if req.ChainId != ChainID(&a.gen) {
		return nil, fmt.Errorf("comet: CometBFT chain id %q, want %q", req.ChainId, ChainID(&a.gen))
	}
	if err := checkInitValidators(&a.gen, req.Validators); err != nil {
		return nil, err
	}
	return &abci.ResponseInitChain{AppHash: want[:]}, nil
}

func clip(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// CheckTx is the door: the transaction decodes, its signatures verify (not
// again on a recheck: they cannot change), and the state machine accepts
// it on the committed state plus what the mempool already admitted (the
// signer's role, replays, contradictions with settled records).
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	tx, err := ledger.DecodeTx(req.Tx)
	if err != nil {
		return refusedCheck(&state.Rejection{Code: state.CodeInvalid, Field: "tx", Msg: err.Error()}), nil
	}
	var sigErr error
	if req.Type != abci.CheckTxType_Recheck {
		sigErr = a.sigs.verifyOne(a.gen.ChainID, tx)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending != nil {
		// Between FinalizeBlock and Commit the committed state is about
		// to change: a view over it would be stale, and the machine's
		// caches are the finalized block's until it commits (a view
		// begun here made validators fork: TestMempoolNeverForks). The
		// door checks what needs no state; the recheck after Commit
		// applies the transaction to the new state, and drops it if it
		// is refused there.
		if sigErr != nil {
			return refusedCheck(&state.Rejection{Code: state.CodeBadSignature, Field: "signature", Msg: sigErr.Error()}), nil
		}
		return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
	}
	if a.check == nil {
		if err := a.beginCheck(); err != nil {
			return nil, err
		}
	}
	err = a.check.Apply(tx, sigErr)
	if r, ok := state.IsRejection(err); ok {
		if req.Type == abci.CheckTxType_Recheck && a.rechecked != nil {
			a.rechecked(tx.ID(), r)
		}
		return refusedCheck(r), nil
	}
	if err != nil {
		a.halt(err)
		return nil, err
	}
	return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
}

func refusedCheck(r *state.Rejection) *abci.ResponseCheckTx {
	b, _ := json.Marshal(r)
	return &abci.ResponseCheckTx{Code: resultCode(r), Codespace: Codespace, Log: string(b)}
}

// beginCheck starts the mempool's view over the committed state. Its time
// is the clock's: admission is local, and the block's own time decides.
func (a *App) beginCheck() error {
	a.endCheck()
	a.checkBatch = a.db.NewBatch()
	now := time.Now().UnixNano()
	if now <= a.head.Time {
		now = a.head.Time + 1
	}
	blk, err := a.m.Begin(a.checkBatch, a.head.Height+1, now)
	if err != nil {
		a.checkBatch.Discard()
		a.checkBatch = nil
		return err
	}
	a.check = blk
	return nil
}

func (a *App) endCheck() {
	if a.checkBatch != nil {
		a.checkBatch.Discard()
	}
	a.check, a.checkBatch = nil, nil
}

// PrepareProposal proposes the mempool's transactions that decode and
// whose signatures verify (checked in parallel batches), up to the size
// CometBFT allows.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	var out [][]byte
	var size int64
	txs := make([]*ledger.Tx, 0, len(req.Txs))
	raws := make([][]byte, 0, len(req.Txs))
	for _, raw := range req.Txs {
		tx, err := ledger.DecodeTx(raw)
		if err != nil {
			continue
		}
		txs, raws = append(txs, tx), append(raws, raw)
	}
	errs, _ := a.sigs.verify(a.gen.ChainID, txs)
	if a.poison != nil {
		out, size = append(out, a.poison), int64(len(a.poison))
	}
	for i, raw := range raws {
		if errs[i] != nil {
			continue
		}
		if size+int64(len(raw)) > req.MaxTxBytes {
			break
		}
		out, size = append(out, raw), size+int64(len(raw))
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}

// ProcessProposal refuses a proposal holding a transaction that does not
// decode or whose signatures do not verify: an honest proposer never
// proposes one (PrepareProposal drops them), so such a proposal is the
// proposer's fault and the round moves on without it. A transaction the
// state machine refuses for what the ledger holds (a replay, a conflict)
// may be in a block: it is refused there with its result code.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	txs := make([]*ledger.Tx, len(req.Txs))
	for i, raw := range req.Txs {
		tx, err := ledger.DecodeTx(raw)
		if err != nil {
			a.log.Warn("comet: proposal refused: a transaction does not decode", "height", req.Height, "index", i)
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
		txs[i] = tx
	}
	errs, _ := a.sigs.verify(a.gen.ChainID, txs)
	for i, err := range errs {
		if err != nil {
			a.log.Warn("comet: proposal refused: a signature does not verify", "height", req.Height, "index", i)
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock applies the decided block with the block's time: every
// height is a block of ours (an empty one if nothing was accepted), and
// the application hash is its state hash. Nothing is committed before
// Commit.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if uint64(req.Height) != a.head.Height+1 {
		return nil, fmt.Errorf("comet: block %d follows our head %d", req.Height, a.head.Height)
	}
	a.endCheck()
	if a.pending != nil {
		a.pending.Discard()
		a.pending = nil
	}
	txs := make([]*ledger.Tx, len(req.Txs))
	results := make([]*abci.ExecTxResult, len(req.Txs))
	var ok []*ledger.Tx
	var pos []int
	for i, raw := range req.Txs {
		tx, err := ledger.DecodeTx(raw)
		if err != nil {
			results[i] = execRefused(&state.Rejection{Code: state.CodeInvalid, Field: "tx", Msg: err.Error()})
			continue
		}
		txs[i] = tx
		ok, pos = append(ok, tx), append(pos, i)
	}
	now := req.Time.UnixNano()
	if now <= a.head.Time {
		now = a.head.Time + 1 // CometBFT's times increase; kept so for a bad clock
	}
	b := a.db.NewBatch()
	errs, leaves := a.sigs.verify(a.gen.ChainID, ok)
	built, err := blocks.Apply(a.m, b, a.head, now, blocks.Ordered{Txs: ok, Errs: errs, Leaves: leaves}, true)
	if err != nil {
		b.Discard()
		a.halt(err)
		return nil, err
	}
	for j, i := range pos {
		if r, refused := state.IsRejection(built.Results[j]); refused {
			results[i] = execRefused(r)
		} else {
			id := txs[i].ID()
			results[i] = &abci.ExecTxResult{Code: abci.CodeTypeOK, Data: id[:]}
		}
	}
	// Validator changes the block decided (validators.go).
	vups, err := validatorUpdates(b, uint64(req.Height))
	if err != nil {
		b.Discard()
		a.halt(err)
		return nil, err
	}
	a.pending, a.built, a.pendingTxs, a.pendingTime = b, built, ok, now
	return &abci.ResponseFinalizeBlock{TxResults: results, AppHash: built.Header.StateHash[:], ValidatorUpdates: vups}, nil
}

func execRefused(r *state.Rejection) *abci.ExecTxResult {
	b, _ := json.Marshal(r)
	return &abci.ExecTxResult{Code: resultCode(r), Codespace: Codespace, Log: string(b)}
}

// Commit makes the finalized block durable (a synced write) before it
// returns, as CometBFT requires, and only then tells the waiting
// submitters.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending == nil {
		return nil, errors.New("comet: commit without a finalized block")
	}
	if err := a.pending.Commit(); err != nil {
		a.halt(err)
		return nil, err
	}
	a.built.Committed()
	a.head = blocks.Next(a.built.Header)
	a.endCheck() // the mempool's view starts over on the new state (recheck)
	if a.committed != nil {
		a.committed(a.head.Height, a.pendingTxs, a.built)
	}
	a.pending, a.built, a.pendingTxs = nil, nil, nil
	return &abci.ResponseCommit{}, nil
}

func (a *App) halt(err error) {
	if a.fatal != nil {
		a.fatal(err)
	}
}
