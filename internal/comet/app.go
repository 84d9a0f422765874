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
	"sort"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
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
	// inView holds the ids of the records the mempool's view holds (the
	// transactions it admitted since the last block), so that a batch
	// submitted to several nodes waits for its records in another
	// node's bundle instead of being refused as their replay.
	inView map[ledger.Hash]struct{}
	// viewGen counts the views; prechecked holds the bundles precheck
	// applied to view viewGen, which CheckTx then admits as they are.
	viewGen    uint64
	prechecked map[types.TxKey]uint64
	// committedCond is signalled at each Commit and at a halt.
	committedCond *sync.Cond
	halted        bool

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
	// retain is how many of CometBFT's latest blocks this node keeps (0:
	// all; engine.retain_blocks).
	retain int64
}

// NewApp returns the application over db at its stored head.
func NewApp(db *store.DB, m *state.Machine, log *slog.Logger) (*App, error) {
	gen := m.Genesis()
	head, err := blocks.ReadHead(db, &gen)
	if err != nil {
		return nil, err
	}
	a := &App{db: db, m: m, sigs: newSigCache(), gen: gen, log: log, head: head,
		inView: map[ledger.Hash]struct{}{}, prechecked: map[types.TxKey]uint64{}}
	a.committedCond = sync.NewCond(&a.mu)
	return a, nil
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

// decodeTx reads one CometBFT transaction as our records: a lone record,
// or a bundle's (lightclient.Bundle), none of which may repeat another.
func decodeTx(raw []byte) ([]*ledger.Tx, error) {
	if !lightclient.IsBundle(raw) {
		tx, err := ledger.DecodeTx(raw)
		if err != nil {
			return nil, err
		}
		return []*ledger.Tx{tx}, nil
	}
	recs, err := lightclient.Unbundle(raw)
	if err != nil {
		return nil, err
	}
	txs := make([]*ledger.Tx, len(recs))
	seen := make(map[ledger.Hash]int, len(recs))
	for i, r := range recs {
		tx, err := ledger.DecodeTx(r)
		if err != nil {
			return nil, fmt.Errorf("bundle record %d: %w", i, err)
		}
		id := tx.ID()
		if j, dup := seen[id]; dup {
			return nil, fmt.Errorf("%w: record %d repeats record %d", lightclient.ErrBundle, i, j)
		}
		seen[id] = i
		txs[i] = tx
	}
	return txs, nil
}

// CheckTx is the door: the transaction decodes, its signatures verify (not
// again on a recheck: they cannot change), and the state machine accepts
// it on the committed state plus what the mempool already admitted (the
// signer's role, replays, contradictions with settled records). A bundle
// is admitted if every signature in it verifies and the view accepts at
// least one of its records (the block refuses the others, record by
// record); the node that bundled a submission checked it record by
// record first (precheck), and CheckTx admits that bundle as it is.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	txs, err := decodeTx(req.Tx)
	if err != nil {
		return refusedCheck(&state.Rejection{Code: state.CodeInvalid, Field: "tx", Msg: err.Error()}), nil
	}
	var sigErr error
	if req.Type != abci.CheckTxType_Recheck {
		errs, _ := a.sigs.verify(a.gen.ChainID, txs)
		for i, e := range errs {
			if e != nil {
				sigErr = e
				if len(txs) > 1 {
					sigErr = fmt.Errorf("bundle record %d: %w", i, e)
				}
				break
			}
		}
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
	if sigErr != nil {
		return refusedCheck(&state.Rejection{Code: state.CodeBadSignature, Field: "signature", Msg: sigErr.Error()}), nil
	}
	key := types.Tx(req.Tx).Key()
	if gen, ok := a.prechecked[key]; ok {
		delete(a.prechecked, key)
		if gen == a.viewGen && req.Type == abci.CheckTxType_New {
			return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
		}
	}
	if len(txs) > 1 {
		// A bundle another node made: that node's door checked its
		// records one by one; here every signature verified, and the
		// block applies each record (refusing any the state refuses).
		// Applying them to this view as well would be the state
		// machine's work a third time per record. The view notes them,
		// so that the same records submitted here wait for that bundle.
		for _, tx := range txs {
			a.inView[tx.ID()] = struct{}{}
		}
		return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
	}
	r, err := a.applyToView(txs[0])
	if err != nil {
		return nil, err
	}
	if r != nil {
		if req.Type == abci.CheckTxType_Recheck && a.rechecked != nil {
			a.rechecked(txs[0].ID(), r)
		}
		return refusedCheck(r), nil
	}
	return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
}

// applyToView applies one record whose signatures verified to the view
// (under mu, the view begun): its rejection, or nil if the view took it.
// A record the view holds already is refused as its replay.
func (a *App) applyToView(tx *ledger.Tx) (*state.Rejection, error) {
	id := tx.ID()
	if _, ok := a.inView[id]; ok {
		return &state.Rejection{Code: state.CodeReplay, Msg: fmt.Sprintf("transaction %s is already waiting for a block", id.String()[:16])}, nil
	}
	err := a.check.Apply(tx, nil)
	if r, ok := state.IsRejection(err); ok {
		return r, nil
	}
	if err != nil {
		a.halt(err)
		return nil, err
	}
	a.inView[id] = struct{}{}
	return nil, nil
}

// Prechecked is what precheck found for a submitted batch.
type Prechecked struct {
	// Refused holds, per record, its rejection, or nil.
	Refused []*state.Rejection
	// Waiting marks the records the mempool holds already (submitted
	// here before, or in another node's bundle): they come with a block.
	Waiting []bool
	// Tx is the CometBFT transaction of the records the view accepted
	// (a bundle, a lone record, or nil if none), and Kept their indexes.
	Tx   []byte
	Kept []int
	// Busy says a block was between FinalizeBlock and Commit: nothing was
	// checked; wait for the commit (waitCommitted) and ask again.
	Busy bool
}

// precheck is the door for a batch of records submitted to this node,
// whose signatures verified (sigErrs): it applies them to the mempool's
// view one by one, as CheckTx would, and bundles those it accepted, in
// their order, as the one CometBFT transaction CheckTx will admit as it
// is. The caller holds the mempool's lock, so that no block's recheck
// runs in between.
func (a *App) precheck(txs []*ledger.Tx, sigErrs []error) (*Prechecked, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.halted {
		return nil, fmt.Errorf("%w: a storage failure stopped this node", engine.ErrHalted)
	}
	if a.pending != nil {
		return &Prechecked{Busy: true}, nil
	}
	if a.check == nil {
		if err := a.beginCheck(); err != nil {
			return nil, err
		}
	}
	p := &Prechecked{Refused: make([]*state.Rejection, len(txs)), Waiting: make([]bool, len(txs))}
	var raws [][]byte
	for i, tx := range txs {
		if sigErrs[i] != nil {
			p.Refused[i] = &state.Rejection{Code: state.CodeBadSignature, Field: "signature", Msg: sigErrs[i].Error()}
			continue
		}
		if _, ok := a.inView[tx.ID()]; ok {
			p.Waiting[i] = true
			continue
		}
		r, err := a.applyToView(tx)
		if err != nil {
			return nil, err
		}
		if r != nil {
			p.Refused[i] = r
			continue
		}
		p.Kept, raws = append(p.Kept, i), append(raws, tx.Bytes())
	}
	switch len(raws) {
	case 0:
	case 1:
		p.Tx = raws[0]
	default:
		b, err := lightclient.Bundle(raws)
		if err != nil {
			return nil, err
		}
		p.Tx = b
	}
	if p.Tx != nil {
		a.prechecked[types.Tx(p.Tx).Key()] = a.viewGen
	}
	return p, nil
}

// dropView ends the mempool's view: the next check begins another over
// the committed state.
func (a *App) dropView() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.endCheck()
}

// waitCommitted waits until no block is between FinalizeBlock and Commit,
// or the node halted.
func (a *App) waitCommitted() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.pending != nil && !a.halted {
		a.committedCond.Wait()
	}
}

func refusedCheck(r *state.Rejection) *abci.ResponseCheckTx {
	b, _ := json.Marshal(r)
	return &abci.ResponseCheckTx{Code: resultCode(r), Codespace: Codespace, Log: string(b)}
}

// beginCheck starts the mempool's view over the committed state. Its time
// is the clock's: admission is local, and the block's own time decides.
func (a *App) beginCheck() error {
	a.endCheck()
	a.viewGen++
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
	clear(a.inView)
	clear(a.prechecked)
}

// PrepareProposal proposes the mempool's transactions that decode and
// whose signatures verify (checked in parallel batches), up to the size
// CometBFT allows, the most urgent first (engine.Urgency: intelligence of
// response level I, then II, III, IV; everything else keeps its order
// after them). A bundle goes whole or not at all, as urgent as its most
// urgent record. The urgency orders what the mempool hands over; CometBFT
// reaps the mempool in arrival order up to the block's size.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	var out [][]byte
	var size int64
	var all []*ledger.Tx
	raws := make([][]byte, 0, len(req.Txs))
	ends := make([]int, 0, len(req.Txs)) // raws[i]'s records end at all[ends[i]]
	for _, raw := range req.Txs {
		txs, err := decodeTx(raw)
		if err != nil {
			continue
		}
		all = append(all, txs...)
		raws, ends = append(raws, raw), append(ends, len(all))
	}
	errs, _ := a.sigs.verify(a.gen.ChainID, all)
	if a.poison != nil {
		out, size = append(out, a.poison), int64(len(a.poison))
	}
	type candidate struct {
		raw     []byte
		urgency int
	}
	var good []candidate
	from := 0
	for i, raw := range raws {
		bad, urgency := false, 0
		for j, e := range errs[from:ends[i]] {
			bad = bad || e != nil
			urgency = max(urgency, engine.Urgency(all[from+j]))
		}
		from = ends[i]
		if !bad {
			good = append(good, candidate{raw, urgency})
		}
	}
	sort.SliceStable(good, func(i, j int) bool { return good[i].urgency > good[j].urgency })
	for _, c := range good {
		if size+int64(len(c.raw)) > req.MaxTxBytes {
			break
		}
		out, size = append(out, c.raw), size+int64(len(c.raw))
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}

// ProcessProposal refuses a proposal holding a transaction that does not
// decode (a bundle that does not read, or a record in it) or whose
// signatures do not verify: an honest proposer never proposes one
// (PrepareProposal drops them), so such a proposal is the proposer's
// fault and the round moves on without it. A record the state machine
// refuses for what the ledger holds (a replay, a conflict) may be in a
// block: it is refused there with its result code.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	var all []*ledger.Tx
	for i, raw := range req.Txs {
		txs, err := decodeTx(raw)
		if err != nil {
			a.log.Warn("comet: proposal refused: a transaction does not decode", "height", req.Height, "index", i, "err", err)
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
		all = append(all, txs...)
	}
	errs, _ := a.sigs.verify(a.gen.ChainID, all)
	for i, err := range errs {
		if err != nil {
			a.log.Warn("comet: proposal refused: a signature does not verify", "height", req.Height, "record", i)
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock applies the decided block with the block's time: every
// height is a block of ours (an empty one if nothing was accepted), and
// the application hash is its state hash. Our block holds the accepted
// records of CometBFT's block in its order, a bundle's in the bundle's.
// Nothing is committed before Commit.
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
	results := make([]*abci.ExecTxResult, len(req.Txs))
	var ok []*ledger.Tx
	var from []int // ok[j] is a record of req.Txs[from[j]]
	bundled := make([]bool, len(req.Txs))
	for i, raw := range req.Txs {
		txs, err := decodeTx(raw)
		if err != nil {
			results[i] = execRefused(&state.Rejection{Code: state.CodeInvalid, Field: "tx", Msg: err.Error()})
			continue
		}
		bundled[i] = lightclient.IsBundle(raw)
		for _, tx := range txs {
			ok, from = append(ok, tx), append(from, i)
		}
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
	var codes []uint32
	var refusals []*state.Rejection
	for j, i := range from {
		r, refused := state.IsRejection(built.Results[j])
		if bundled[i] {
			c := uint32(abci.CodeTypeOK)
			if refused {
				c = resultCode(r)
			}
			codes, refusals = append(codes, c), append(refusals, r)
			if j+1 == len(from) || from[j+1] != i {
				results[i] = bundleResult(codes, refusals)
				codes, refusals = nil, nil
			}
			continue
		}
		if refused {
			results[i] = execRefused(r)
		} else {
			id := ok[j].ID()
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

// bundleResult is a bundle's result: applied (code 0), with each record's
// code as its data and the refusals, as JSON, in its log.
func bundleResult(codes []uint32, refusals []*state.Rejection) *abci.ExecTxResult {
	res := &abci.ExecTxResult{Code: abci.CodeTypeOK, Data: lightclient.BundleResults(codes)}
	for _, r := range refusals {
		if r != nil {
			b, _ := json.Marshal(refusals)
			res.Codespace, res.Log = Codespace, string(b)
			break
		}
	}
	return res
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
	a.committedCond.Broadcast()
	return &abci.ResponseCommit{RetainHeight: retainHeight(a.head.Height, a.retain)}, nil
}

// retainHeight is the lowest CometBFT block a node that keeps the latest
// retain blocks still needs after committing height (0: keep every one).
// Our store holds every record and block of ours whatever CometBFT
// deletes, and Commit has made this height durable before CometBFT prunes
// below it, so a restart never needs a deleted block to catch up.
func retainHeight(height uint64, retain int64) int64 {
	if retain <= 0 || int64(height) <= retain {
		return 0
	}
	return int64(height) - retain + 1
}

// halt stops the node on a storage failure (under mu).
func (a *App) halt(err error) {
	a.halted = true
	a.committedCond.Broadcast()
	if a.fatal != nil {
		a.fatal(err)
	}
}
