package comet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/mempool"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// Engine is the CometBFT engine: a CometBFT node in process, driving the
// App. A submitted transaction goes through this node's mempool (CheckTx,
// then gossip to the other validators) and is acknowledged once the block
// that holds it is committed and durable here.
type Engine struct {
	app  *App
	node *nm.Node
	db   *store.DB
	log  *slog.Logger

	mu      sync.Mutex
	closed  bool
	waiters map[ledger.Hash][]waiter
	fatal   atomic.Pointer[error]
	done    chan struct{}

	// proofs reads the CometBFT node's stores for consortium proofs
	// (proof.go), opened at the first one.
	proofs func() (*proofSource, error)

	// queue holds submissions for admit; stopping closes when Close
	// begins, admitted when admit has returned.
	queue              chan submission
	stopping, admitted chan struct{}
	// trimmed is closed when the consensus WAL's trimmer has stopped.
	trimmed chan struct{}
}

var (
	_ engine.Engine  = (*Engine)(nil)
	_ engine.Batcher = (*Engine)(nil)
)

// waiter is a submitter waiting for its transaction's block. A duplicate
// submitted the same bytes while they were already in the mempool: as on
// the solo engine, only the first submission is the one accepted, and the
// duplicate learns where it is as a replay.
type waiter struct {
	done      func(engine.Receipt)
	duplicate bool
}

// Options tune Start.
type Options struct {
	// Acked, if set, records the head of each committed block (as the solo
	// engine does), for the node's check at its next start.
	Acked *store.HeadFile
	// Poison, a test hook: this node, when it proposes, puts these bytes
	// into its proposal as a transaction (a faulty proposer whose
	// proposals the others must refuse).
	Poison []byte
}

// testPoison is Options.Poison for every node of a test process (set by
// the tests only, through SetTestPoison).
var testPoison []byte

// Start starts the CometBFT node of home h (its cometbft directory) over
// the application's store db and machine m.
func Start(h *home.Home, db *store.DB, m *state.Machine, log *slog.Logger, o Options) (*Engine, error) {
	cfg, err := LoadConfig(h)
	if err != nil {
		return nil, err
	}
	app, err := NewApp(db, m, log)
	if err != nil {
		return nil, err
	}
	app.poison = o.Poison
	if app.poison == nil {
		app.poison = testPoison
	}
	app.retain = h.Config.Engine.RetainBlocks
	e := &Engine{app: app, db: db, log: log, waiters: map[ledger.Hash][]waiter{}, done: make(chan struct{}),
		queue: make(chan submission, 4*maxAdmit), stopping: make(chan struct{}), admitted: make(chan struct{}),
		trimmed: make(chan struct{})}
	app.fatal = e.stop
	app.committed = func(height uint64, txs []*ledger.Tx, built *blocks.Built) {
		if o.Acked != nil {
			if err := o.Acked.Write(store.AckedHead{Height: height, Hash: built.Header.Hash()}); err != nil {
				e.stop(err)
				return
			}
		}
		for j, tx := range txs {
			rc := engine.Receipt{TxID: tx.ID(), Err: built.Results[j]}
			if rc.Err == nil {
				rc.Height, rc.Index = height, built.Index[j]
			}
			e.resolve(rc)
		}
	}
	app.rechecked = func(id ledger.Hash, r *state.Rejection) { e.resolve(engine.Receipt{TxID: id, Err: r}) }
	if err := keysPresent(cfg); err != nil {
		return nil, err
	}
	pv := privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	nodeKey, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("comet: node key: %w", err)
	}
	// One lock for every ABCI connection: the mempool's CheckTx never
	// runs beside a proposal or a block. (With a lock per connection,
	// NewConnSyncLocalClientCreator, a bench run forked: four validators
	// reached four application hashes on one block; TestCheckTxLeavesNoTrace
	// does not reproduce it at the application's level. Until the cause
	// is known, the serialised client.)
	n, err := nm.NewNode(cfg, pv, nodeKey, proxy.NewLocalClientCreator(app),
		nm.DefaultGenesisDocProviderFunc(cfg), closingDBProvider, nm.DefaultMetricsProvider(cfg.Instrumentation), newLogger(log))
	if err != nil {
		return nil, fmt.Errorf("comet: %w", err)
	}
	if err := n.Start(); err != nil {
		return nil, fmt.Errorf("comet: start: %w", err)
	}
	e.node = n
	e.proofs = sync.OnceValues(func() (*proofSource, error) { return newProofSource(n) })
	go e.admit()
	go func() {
		defer close(e.trimmed)
		e.trimWALs(cfg.Consensus.WalFile(), e.stopping)
	}()
	return e, nil
}

// Head implements engine.Engine.
func (e *Engine) Head() blocks.Head { return e.app.Head() }

// Halted implements engine.Engine.
func (e *Engine) Halted() error {
	if p := e.fatal.Load(); p != nil {
		return *p
	}
	return nil
}

func (e *Engine) stop(err error) {
	var ferr error = fmt.Errorf("%w: %v", engine.ErrHalted, err)
	if e.fatal.CompareAndSwap(nil, &ferr) {
		e.log.Error("comet: storage failure; writes stop", "err", err)
	}
}

// Submit implements engine.Engine.
func (e *Engine) Submit(ctx context.Context, raw []byte) engine.Receipt {
	ch := make(chan engine.Receipt, 1)
	if err := e.SubmitAsync(raw, func(r engine.Receipt) { ch <- r }); err != nil {
		return engine.Receipt{Err: err}
	}
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return engine.Receipt{Err: ctx.Err()}
	}
}

// SubmitAsync implements engine.Engine: the transaction enters this
// node's mempool; done is called with its receipt when the block holding
// it is committed here, or at once when the mempool refuses it.
func (e *Engine) SubmitAsync(raw []byte, done func(engine.Receipt)) error {
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		done(engine.Receipt{Err: &state.Rejection{Code: state.CodeInvalid, Field: "tx", Msg: err.Error()}})
		return nil
	}
	if err := e.Halted(); err != nil {
		return err
	}
	id := tx.ID()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return engine.ErrClosed
	}
	e.waiters[id] = append(e.waiters[id], waiter{done: done})
	e.mu.Unlock()
	select {
	case e.queue <- submission{raw: raw, tx: tx, id: id}:
	case <-e.stopping:
		e.resolve(engine.Receipt{TxID: id, Err: engine.ErrClosed})
	}
	return nil
}

// SubmitBatch implements engine.Batcher: the records of one submission
// (a site's batch), in order. The node checks them one by one at its door
// (precheck) and puts those it admits into the mempool as one CometBFT
// transaction, a bundle of up to lightclient.MaxBundle records
// (lightclient.Bundle), so that CometBFT's costs per transaction are paid
// per batch. The same batch submitted to several nodes makes the same
// bundle at each: CometBFT keeps one. done(i, receipt) is called once
// per record, as SubmitAsync's done.
func (e *Engine) SubmitBatch(raws [][]byte, done func(i int, r engine.Receipt)) error {
	if err := e.Halted(); err != nil {
		return err
	}
	items := make([]submission, 0, len(raws))
	type bad struct {
		i   int
		err error
	}
	var invalid []bad
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return engine.ErrClosed
	}
	seen := make(map[ledger.Hash]bool, len(raws))
	for i, raw := range raws {
		tx, err := ledger.DecodeTx(raw)
		if err != nil {
			invalid = append(invalid, bad{i, err})
			continue
		}
		id := tx.ID()
		// A record repeated in one batch is accepted once; its repeats
		// learn where it is, as replays.
		e.waiters[id] = append(e.waiters[id], waiter{done: func(r engine.Receipt) { done(i, r) }, duplicate: seen[id]})
		if !seen[id] {
			seen[id] = true
			items = append(items, submission{raw: raw, tx: tx, id: id})
		}
	}
	e.mu.Unlock()
	for _, b := range invalid {
		done(b.i, engine.Receipt{Err: &state.Rejection{Code: state.CodeInvalid, Field: "tx", Msg: b.err.Error()}})
	}
	if len(items) == 0 {
		return nil
	}
	select {
	case e.queue <- submission{batch: items}:
	case <-e.stopping:
		for _, it := range items {
			e.resolve(engine.Receipt{TxID: it.id, Err: engine.ErrClosed})
		}
	}
	return nil
}

// submission is a transaction on its way to the mempool, or a batch of
// them to bundle.
type submission struct {
	raw   []byte
	tx    *ledger.Tx
	id    ledger.Hash
	batch []submission
}

// maxAdmit is the most submissions admit takes at once.
const maxAdmit = 1024

// admit hands the submitted transactions to the mempool, in the order
// they came. It takes whatever is waiting, up to maxAdmit, and verifies
// its signatures in parallel batches first (the mempool's door, CheckTx,
// is called one transaction at a time and would verify them one by one
// on one core): CheckTx then finds them verified.
func (e *Engine) admit() {
	defer close(e.admitted)
	for {
		var batch []submission
		select {
		case s := <-e.queue:
			batch = append(batch, s)
		case <-e.stopping:
			return
		}
		n := len(batch[0].batch) + 1
	more:
		for n < maxAdmit {
			select {
			case s := <-e.queue:
				batch = append(batch, s)
				n += len(s.batch) + 1
			default:
				break more
			}
		}
		var txs []*ledger.Tx
		for _, s := range batch {
			if s.batch == nil {
				txs = append(txs, s.tx)
			}
			for _, it := range s.batch {
				txs = append(txs, it.tx)
			}
		}
		errs, _ := e.app.sigs.verify(e.app.gen.ChainID, txs)
		at := 0
		for _, s := range batch {
			if s.batch == nil {
				e.checkTx(s.raw, s.id)
				at++
				continue
			}
			e.checkBatch(s.batch, errs[at:at+len(s.batch)])
			at += len(s.batch)
		}
	}
}

// maxBundleBytes bounds a bundle's records' bytes, well under CometBFT's
// largest transaction (mempool.max_tx_bytes, 1 MiB by default): a batch
// of large records makes several bundles.
const maxBundleBytes = 512 << 10

// checkBatch puts a batch into the mempool, bundled, up to MaxBundle
// records or maxBundleBytes at a time: each record the door refuses has
// its receipt at once; the others come with their block.
func (e *Engine) checkBatch(items []submission, sigErrs []error) {
	for len(items) > 0 {
		n := bundleLen(items)
		chunk, errs := items[:n], sigErrs[:n]
		items, sigErrs = items[n:], sigErrs[n:]
		txs := make([]*ledger.Tx, n)
		for i, it := range chunk {
			txs[i] = it.tx
		}
		var p *Prechecked
		var err error
		for {
			// The mempool's lock keeps a block's recheck from running
			// between the door's checks and the bundle's admission.
			mp := e.node.Mempool()
			mp.Lock()
			p, err = e.app.precheck(txs, errs)
			mp.Unlock()
			if err != nil || !p.Busy {
				break
			}
			e.app.waitCommitted()
		}
		if err != nil {
			for _, it := range chunk {
				e.resolve(engine.Receipt{TxID: it.id, Err: err})
			}
			continue
		}
		for i, r := range p.Refused {
			if r != nil {
				e.resolve(engine.Receipt{TxID: chunk[i].id, Err: r})
			}
		}
		if p.Tx == nil {
			continue
		}
		ids := make([]ledger.Hash, len(p.Kept))
		for j, i := range p.Kept {
			ids[j] = chunk[i].id
		}
		e.checkBundle(p.Tx, ids)
	}
}

// bundleLen is how many of items, from the first, make the next bundle:
// at least one, at most MaxBundle, at most maxBundleBytes unless the first
// alone is larger.
func bundleLen(items []submission) int {
	n, size := 1, len(items[0].raw)
	for n < len(items) && n < lightclient.MaxBundle && size+len(items[n].raw) <= maxBundleBytes {
		size += len(items[n].raw)
		n++
	}
	return n
}

// checkBundle puts a prechecked transaction, a bundle or a lone record,
// into the mempool.
func (e *Engine) checkBundle(raw []byte, ids []ledger.Hash) {
	err := e.node.Mempool().CheckTx(raw, func(res *abci.ResponseCheckTx) {
		if res.Code != abci.CodeTypeOK {
			for _, id := range ids {
				e.resolve(engine.Receipt{TxID: id, Err: Rejection(res.Code, res.Log)})
			}
		}
	}, mempool.TxInfo{})
	switch {
	case err == nil:
	case errors.Is(err, mempool.ErrTxInCache):
		for _, id := range ids {
			if height, _, lerr := blocks.Locate(e.db, id); lerr == nil {
				e.markDuplicate(id)
				e.resolve(engine.Receipt{TxID: id, Height: height})
			}
		}
	default:
		// The view took records the mempool did not: start it over.
		e.app.dropView()
		for _, id := range ids {
			e.resolve(engine.Receipt{TxID: id, Err: fmt.Errorf("comet: mempool: %w", err)})
		}
	}
}

// checkTx puts one transaction into the mempool; a refusal is its
// submitters' receipt at once, an acceptance comes with its block.
func (e *Engine) checkTx(raw []byte, id ledger.Hash) {
	err := e.node.Mempool().CheckTx(raw, func(res *abci.ResponseCheckTx) {
		if res.Code != abci.CodeTypeOK {
			e.resolve(engine.Receipt{TxID: id, Err: Rejection(res.Code, res.Log)})
		}
	}, mempool.TxInfo{})
	switch {
	case err == nil:
	case errors.Is(err, mempool.ErrTxInCache):
		// Committed already: a replay. Otherwise it is in the mempool
		// (submitted here before, or gossiped from another validator:
		// a site may send one record to several nodes), and its receipt
		// comes with its block.
		if height, _, lerr := blocks.Locate(e.db, id); lerr == nil {
			e.markDuplicate(id)
			e.resolve(engine.Receipt{TxID: id, Height: height})
		}
	default:
		e.resolve(engine.Receipt{TxID: id, Err: fmt.Errorf("comet: mempool: %w", err)})
	}
}

// markDuplicate marks the last waiter of id as a duplicate submission.
func (e *Engine) markDuplicate(id ledger.Hash) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ws := e.waiters[id]; len(ws) > 0 {
		ws[len(ws)-1].duplicate = true
	}
}

// resolve gives a receipt to everyone waiting for its transaction; a
// duplicate submission of a committed transaction gets a replay refusal.
func (e *Engine) resolve(rc engine.Receipt) {
	e.mu.Lock()
	ws := e.waiters[rc.TxID]
	delete(e.waiters, rc.TxID)
	e.mu.Unlock()
	for _, w := range ws {
		if w.duplicate && rc.Err == nil {
			w.done(engine.Receipt{TxID: rc.TxID, Err: &state.Rejection{Code: state.CodeReplay,
				Msg: fmt.Sprintf("transaction %s is already on the ledger at height %d", rc.TxID.String()[:16], rc.Height)}})
			continue
		}
		w.done(rc)
	}
}

// Close implements engine.Engine: it stops the CometBFT node. Waiting
// submitters are told the engine closed; what this node acknowledged is
// durable, and what it did not is still in the other validators'
// mempools or lost with this one's, as in any CometBFT node.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		<-e.done
		return e.Halted()
	}
	e.closed = true
	e.mu.Unlock()
	close(e.stopping)
	if e.node != nil {
		<-e.admitted
		<-e.trimmed
	}
	e.mu.Lock()
	ws := e.waiters
	e.waiters = map[ledger.Hash][]waiter{}
	e.mu.Unlock()
	var err error
	if e.node != nil && e.node.IsRunning() {
		err = e.node.Stop()
		e.node.Wait()
	}
	for id, list := range ws {
		for _, w := range list {
			w.done(engine.Receipt{TxID: id, Err: engine.ErrClosed})
		}
	}
	close(e.done)
	return errors.Join(err, e.Halted())
}
