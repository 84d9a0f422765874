package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epiledger/epiledger/internal/chain"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// SoloConfig tunes the solo engine.
type SoloConfig struct {
	// Interval is the most a block waits for more transactions once one is
	// pending and the previous block is at least this old.
	Interval time.Duration
	// MaxTxs and MaxBytes bound a block.
	MaxTxs   int
	MaxBytes int
	// Clock gives block times; nil means time.Now. The engine, not the
	// state machine, reads the clock.
	Clock func() time.Time
	// AfterCommit, if set, is called after each block is committed (used
	// for metrics and for the site and person chains of later issues).
	AfterCommit func(h *ledger.Header)
}

// DefaultSoloConfig: a block at most every 200 ms, or sooner when full.
func DefaultSoloConfig() SoloConfig {
	return SoloConfig{Interval: 200 * time.Millisecond, MaxTxs: 4096, MaxBytes: 4 << 20}
}

type item struct {
	tx   *ledger.Tx
	done func(Receipt)
}

type verified struct {
	items  []item
	errs   []error
	leaves []ledger.Hash
}

// applied is a block whose writes are visible and whose fsync is under way:
// its receipts go out once wait returns.
type applied struct {
	items    []item
	receipts []Receipt
	wait     func() error
	header   *ledger.Header
}

// Solo is the embedded engine: one process produces and commits blocks.
// Admission decodes each transaction; a collector cuts blocks and verifies
// their signatures in parallel batches while the previous block is being
// applied and committed.
type Solo struct {
	db   *store.DB
	m    *state.Machine
	gen  state.Genesis
	cfg  SoloConfig
	log  *slog.Logger
	in   chan item
	cut  chan verified
	acks chan applied
	quit chan struct{}
	wg   sync.WaitGroup

	// closeMu orders Close after every SubmitAsync in flight; it guards
	// only closed, so that a submitter blocked on a full queue never holds
	// up the pipeline.
	closeMu sync.RWMutex
	closed  bool
	headMu  sync.RWMutex
	head    chain.Head
	fatal   atomic.Pointer[error]
}

var _ Engine = (*Solo)(nil)

// NewSolo starts a solo engine on db, resuming from the stored head.
func NewSolo(db *store.DB, m *state.Machine, cfg SoloConfig, log *slog.Logger) (*Solo, error) {
	gen := m.Genesis()
	head, err := chain.ReadHead(db, &gen)
	if err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxTxs <= 0 {
		cfg.MaxTxs = DefaultSoloConfig().MaxTxs
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultSoloConfig().MaxBytes
	}
	s := &Solo{db: db, m: m, gen: gen, cfg: cfg, log: log, head: head,
		in: make(chan item, 2*cfg.MaxTxs), cut: make(chan verified, 1), acks: make(chan applied, 4), quit: make(chan struct{})}
	s.wg.Add(3)
	go s.collect()
	go s.apply()
	go s.ack()
	return s, nil
}

// Head returns the committed tip.
func (s *Solo) Head() chain.Head {
	s.headMu.RLock()
	defer s.headMu.RUnlock()
	return s.head
}

// Submit implements Engine.
func (s *Solo) Submit(ctx context.Context, raw []byte) Receipt {
	ch := make(chan Receipt, 1)
	if err := s.SubmitAsync(raw, func(r Receipt) { ch <- r }); err != nil {
		return Receipt{Err: err}
	}
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return Receipt{Err: ctx.Err()}
	}
}

// SubmitAsync implements Engine. A transaction that does not decode is
// refused at once, before it reaches the queue.
func (s *Solo) SubmitAsync(raw []byte, done func(Receipt)) error {
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		done(Receipt{Err: &state.Rejection{Code: state.CodeInvalid, Field: "tx", Msg: err.Error()}})
		return nil
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.fatalErr(); err != nil {
		return err
	}
	s.in <- item{tx: tx, done: done}
	return nil
}

// collect cuts blocks: when MaxTxs are pending, or when something is
// pending and Interval has passed since the last block; then verifies the
// block's signatures in parallel and hands it to apply.
func (s *Solo) collect() {
	defer s.wg.Done()
	defer close(s.cut)
	var pending []item
	size := 0
	last := time.Time{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if len(pending) == 0 {
			return
		}
		txs := make([]*ledger.Tx, len(pending))
		for i, it := range pending {
			txs[i] = it.tx
		}
		errs, leaves := ledger.VerifyAndHash(s.gen.ChainID, txs)
		s.cut <- verified{items: pending, errs: errs, leaves: leaves}
		pending, size, last = nil, 0, time.Now()
	}
	add := func(it item) {
		pending = append(pending, it)
		size += len(it.tx.Bytes())
		if len(pending) >= s.cfg.MaxTxs || size >= s.cfg.MaxBytes {
			flush()
		}
	}
	for {
		if len(pending) == 0 {
			select {
			case it := <-s.in:
				add(it)
			case <-s.quit:
				s.drain(add)
				flush()
				return
			}
			continue
		}
		wait := s.cfg.Interval - time.Since(last)
		if wait <= 0 {
			// Take whatever is already queued, then cut.
			for more := true; more && len(pending) > 0; {
				select {
				case it := <-s.in:
					add(it)
				default:
					more = false
				}
			}
			flush()
			continue
		}
		timer.Reset(wait)
		select {
		case it := <-s.in:
			add(it)
		case <-timer.C:
		case <-s.quit:
			s.drain(add)
			flush()
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

func (s *Solo) drain(add func(item)) {
	for {
		select {
		case it := <-s.in:
			add(it)
		default:
			return
		}
	}
}

// apply applies and stores each verified block and hands it to ack while
// its fsync runs, so that the next block is applied meanwhile. Rejected
// transactions are left out of the block.
func (s *Solo) apply() {
	defer s.wg.Done()
	defer close(s.acks)
	for v := range s.cut {
		if s.fatalErr() != nil {
			failAll(v.items, s.fatalErr())
			continue
		}
		a, err := s.commit(v)
		if err != nil {
			s.stop(err)
			failAll(v.items, s.fatalErr())
			continue
		}
		s.acks <- a
	}
}

// ack waits for each block's fsync, in order, and only then sends its
// receipts: nothing is acknowledged before it is durable.
func (s *Solo) ack() {
	defer s.wg.Done()
	for a := range s.acks {
		if a.wait != nil {
			if err := a.wait(); err != nil {
				s.stop(err)
			}
		}
		if err := s.fatalErr(); err != nil {
			failAll(a.items, err)
			continue
		}
		if a.header != nil && s.cfg.AfterCommit != nil {
			s.cfg.AfterCommit(a.header)
		}
		for i, it := range a.items {
			it.done(a.receipts[i])
		}
	}
}

func (s *Solo) stop(err error) {
	if s.fatalErr() != nil {
		return
	}
	s.log.Error("engine: block failed; stopping", "err", err)
	ferr := fmt.Errorf("engine: stopped after a storage failure: %w", err)
	s.fatal.Store(&ferr)
}

func (s *Solo) fatalErr() error {
	if p := s.fatal.Load(); p != nil {
		return *p
	}
	return nil
}

func failAll(items []item, err error) {
	for _, it := range items {
		it.done(Receipt{TxID: it.tx.ID(), Err: err})
	}
}

func (s *Solo) commit(v verified) (applied, error) {
	head := s.Head()
	height := head.Height + 1
	now := s.cfg.Clock().UnixNano()
	if now <= head.Time {
		now = head.Time + 1
	}
	b := s.db.NewBatch()
	defer func() {
		if b != nil {
			b.Discard()
		}
	}()
	blk, err := s.m.Begin(b, height, now)
	if err != nil {
		return applied{}, err
	}
	receipts := make([]Receipt, len(v.items))
	var raws [][]byte
	var leaves []ledger.Hash
	var size uint64
	for i, it := range v.items {
		id := it.tx.ID()
		receipts[i].TxID = id
		idx := blk.Index()
		err := blk.Apply(it.tx, v.errs[i])
		if _, ok := state.IsRejection(err); ok {
			receipts[i].Err = err
			continue
		}
		if err != nil {
			return applied{}, err
		}
		receipts[i].Height, receipts[i].Index = height, idx
		raw := it.tx.Bytes()
		raws = append(raws, raw)
		leaves = append(leaves, v.leaves[i])
		size += uint64(len(raw))
	}
	if len(raws) == 0 {
		return applied{items: v.items, receipts: receipts}, nil // nothing accepted: no block
	}
	stateHash, err := blk.Finish(head.StateHash)
	if err != nil {
		return applied{}, err
	}
	h := &ledger.Header{
		Version: ledger.BlockVersion, Height: height, PrevHash: head.Hash,
		MerkleRoot: ledger.MerkleRoot(leaves), Time: now,
		ChainID: s.gen.ChainID, Region: s.gen.Region,
		NumTxs: uint32(len(raws)), TxBytes: size,
		StateHash: stateHash,
	}
	if err := chain.WriteBlock(b, &s.gen, h, raws); err != nil {
		return applied{}, err
	}
	wait, err := b.CommitAsync()
	b = nil
	if err != nil {
		return applied{}, err
	}
	// The block is applied and visible; the next one builds on it while
	// this one syncs. Its receipts wait for the sync (in ack).
	blk.Committed()
	s.headMu.Lock()
	s.head = chain.Head{Height: height, Hash: h.Hash(), StateHash: h.StateHash, Time: now}
	s.headMu.Unlock()
	return applied{items: v.items, receipts: receipts, wait: wait, header: h}, nil
}

// Close implements Engine: it stops admission, commits everything admitted
// and waits for the last receipts.
func (s *Solo) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.quit)
	s.wg.Wait()
	return s.fatalErr()
}
