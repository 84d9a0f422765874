package engine

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// SoloConfig tunes the solo engine.
type SoloConfig struct {
	// Interval is the most a pending transaction waits for a block when
	// the previous block is not yet durable (once it is, the next block is
	// cut at once: group commit).
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
	// Acked, if set, records the head of each committed block once its
	// write-ahead log is synced and before its receipts go out, so that
	// the node can tell at its next start whether the store still holds
	// every block it acknowledged (see chain.CheckAcked). One write covers
	// the blocks whose syncs completed together.
	Acked *store.HeadFile
	// Paused starts the engine taking submissions but cutting no block
	// until Resume: a backlog to order, for tests and benchmarks.
	Paused bool
}

// DefaultSoloConfig: a block as soon as the previous one is durable, when
// full, or at the latest 200 ms after the last.
func DefaultSoloConfig() SoloConfig {
	return SoloConfig{Interval: 200 * time.Millisecond, MaxTxs: 4096, MaxBytes: 4 << 20}
}

type item struct {
	tx      *ledger.Tx
	done    func(Receipt)
	urgency int
}

// Urgency is how far ahead of the queue a transaction goes when a block
// is cut (seed 002's "gas price" as urgency, issue 15): an intelligence
// record or confirmation of response level I goes first (4), then II, III
// and IV (1); every other transaction is 0 and comes after them. A block
// is cut from the most urgent pending transactions, each level in the
// order they arrived; with nothing urgent pending, the order is the
// arrival order, as always.
func Urgency(tx *ledger.Tx) int {
	switch b := tx.Body.(type) {
	case *ledger.Intel:
		return 5 - int(b.Level)
	case *ledger.IntelConfirm:
		return 5 - int(b.Digest.Level)
	}
	return 0
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
	head    blocks.Head
	fatal   atomic.Pointer[error]

	// inflight counts the blocks cut and not yet durable; durable wakes
	// the collector when a group of them is (group commit: a block is
	// cut as soon as the previous one is durable).
	inflight atomic.Int64
	durable  chan struct{}
	// resume is closed by Resume (a paused engine cuts no block before).
	resume     chan struct{}
	resumeOnce sync.Once
}

var _ Engine = (*Solo)(nil)

// NewSolo starts a solo engine on db, resuming from the stored head.
func NewSolo(db *store.DB, m *state.Machine, cfg SoloConfig, log *slog.Logger) (*Solo, error) {
	gen := m.Genesis()
	head, err := blocks.ReadHead(db, &gen)
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
		in: make(chan item, 2*cfg.MaxTxs), cut: make(chan verified, 1), acks: make(chan applied, 4), quit: make(chan struct{}),
		durable: make(chan struct{}, 1), resume: make(chan struct{})}
	if !cfg.Paused {
		close(s.resume)
	}
	s.wg.Add(3)
	go s.collect()
	go s.apply()
	go s.ack()
	return s, nil
}

// Head returns the committed tip.
func (s *Solo) Head() blocks.Head {
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
	s.in <- item{tx: tx, done: done, urgency: Urgency(tx)}
	return nil
}

// Resume lets a paused engine cut blocks (a no-op otherwise).
func (s *Solo) Resume() {
	s.resumeOnce.Do(func() {
		select {
		case <-s.resume:
		default:
			close(s.resume)
		}
	})
}

// collect cuts blocks: when MaxTxs (or MaxBytes) are pending; when
// something is pending and every block cut before is durable (group
// commit: a lone record does not wait for Interval, and under load the
// records that arrive while a block commits make the next one); or when
// something is pending and Interval has passed since the last block. It
// then verifies the block's signatures in parallel and hands it to apply.
func (s *Solo) collect() {
	defer s.wg.Done()
	defer close(s.cut)
	var pending []item
	size, urgent := 0, 0
	last := time.Time{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	take := func(it item) {
		pending = append(pending, it)
		size += len(it.tx.Bytes())
		if it.urgency > 0 {
			urgent++
		}
	}
	// flush cuts a block of at most MaxTxs (and MaxBytes) pending
	// transactions, the most urgent first when any is urgent (then it
	// looks at everything queued too); the rest wait for the next block.
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if urgent > 0 {
			s.drain(take)
			sort.SliceStable(pending, func(i, j int) bool { return pending[i].urgency > pending[j].urgency })
		}
		n, bytes := 0, 0
		for n < len(pending) && n < s.cfg.MaxTxs && (n == 0 || bytes+len(pending[n].tx.Bytes()) <= s.cfg.MaxBytes) {
			bytes += len(pending[n].tx.Bytes())
			n++
		}
		block := pending[:n:n]
		txs := make([]*ledger.Tx, len(block))
		for i, it := range block {
			txs[i] = it.tx
		}
		errs, leaves := ledger.VerifyAndHash(s.gen.ChainID, txs)
		s.inflight.Add(1)
		s.cut <- verified{items: block, errs: errs, leaves: leaves}
		rest := pending[n:]
		pending, size, urgent, last = nil, 0, 0, time.Now()
		for _, it := range rest {
			take(it)
		}
	}
	add := func(it item) {
		take(it)
		if len(pending) >= s.cfg.MaxTxs || size >= s.cfg.MaxBytes {
			flush()
		}
	}
	select {
	case <-s.resume:
	case <-s.quit:
	}
	for {
		if len(pending) == 0 {
			select {
			case it := <-s.in:
				add(it)
			case <-s.durable:
			case <-s.quit:
				s.drain(add)
				for len(pending) > 0 {
					flush()
				}
				return
			}
			continue
		}
		wait := s.cfg.Interval - time.Since(last)
		if wait <= 0 || s.inflight.Load() == 0 {
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
		case <-s.durable:
		case <-s.quit:
			s.drain(add)
			for len(pending) > 0 {
				flush()
			}
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

// ack waits for each block's fsync, in order, records the acked head
// (cfg.Acked) and only then sends its receipts: nothing is acknowledged
// before it is durable, and nothing durable is acknowledged before the
// node has recorded that it was. Blocks whose syncs are already waiting
// are taken together, so that one head write covers them.
func (s *Solo) ack() {
	defer s.wg.Done()
	var group []applied
	for a := range s.acks {
		group = append(group[:0], a)
		for more := true; more; {
			select {
			case b, ok := <-s.acks:
				if ok {
					group = append(group, b)
				} else {
					more = false
				}
			default:
				more = false
			}
		}
		var last *ledger.Header
		for _, a := range group {
			if a.wait != nil {
				if err := a.wait(); err != nil {
					s.stop(err)
				}
			}
			if a.header != nil {
				last = a.header
			}
		}
		if last != nil && s.cfg.Acked != nil && s.fatalErr() == nil {
			if err := s.cfg.Acked.Write(store.AckedHead{Height: last.Height, Hash: last.Hash()}); err != nil {
				s.stop(err)
			}
		}
		for _, a := range group {
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
		// The group is durable: the collector may cut the next block.
		s.inflight.Add(-int64(len(group)))
		select {
		case s.durable <- struct{}{}:
		default:
		}
	}
}

// ErrHalted is wrapped by every refusal of a halted engine: it stopped
// after a storage failure (a commit or sync that failed, a damaged store
// found by any read) and accepts nothing until the node is restarted and
// its store repaired. It matches ErrClosed too: the engine is closed to
// writes.
var ErrHalted = errors.New("engine: halted after a storage failure")

type haltError struct{ cause error }

func (e *haltError) Error() string        { return ErrHalted.Error() + ": " + e.cause.Error() }
func (e *haltError) Unwrap() []error      { return []error{ErrHalted, e.cause} }
func (e *haltError) Is(target error) bool { return target == ErrClosed }

// stop halts the engine with err; the first reason is kept.
func (s *Solo) stop(err error) {
	var ferr error = &haltError{cause: err}
	if s.fatal.CompareAndSwap(nil, &ferr) {
		s.log.Error("engine: storage failure; writes stop", "err", err)
	}
}

// Halted returns why the engine stopped accepting transactions (an error
// wrapping ErrHalted), or nil while it runs. A store that halted on
// corruption (store.DB.Halt) halts the engine with it.
func (s *Solo) Halted() error { return s.fatalErr() }

func (s *Solo) fatalErr() error {
	if p := s.fatal.Load(); p != nil {
		return *p
	}
	if err := s.db.Halted(); err != nil {
		s.stop(err)
		return *s.fatal.Load()
	}
	return nil
}

func failAll(items []item, err error) {
	for _, it := range items {
		it.done(Receipt{TxID: it.tx.ID(), Err: err})
	}
}

// commit applies a verified block (blocks.Apply: the block application
// every engine shares) and commits it without waiting for its sync.
func (s *Solo) commit(v verified) (applied, error) {
	head := s.Head()
	now := s.cfg.Clock().UnixNano()
	if now <= head.Time {
		now = head.Time + 1
	}
	txs := make([]*ledger.Tx, len(v.items))
	for i, it := range v.items {
		txs[i] = it.tx
	}
	b := s.db.NewBatch()
	built, err := blocks.Apply(s.m, b, head, now, blocks.Ordered{Txs: txs, Errs: v.errs, Leaves: v.leaves}, false)
	if err != nil {
		b.Discard()
		return applied{}, err
	}
	receipts := make([]Receipt, len(v.items))
	for i, tx := range txs {
		receipts[i] = Receipt{TxID: tx.ID(), Err: built.Results[i]}
		if built.Results[i] == nil {
			receipts[i].Height, receipts[i].Index = head.Height+1, built.Index[i]
		}
	}
	if built.Header == nil {
		b.Discard()
		return applied{items: v.items, receipts: receipts}, nil // nothing accepted: no block
	}
	wait, err := b.CommitAsync()
	if err != nil {
		return applied{}, err
	}
	// The block is applied and visible; the next one builds on it while
	// this one syncs. Its receipts wait for the sync (in ack).
	built.Committed()
	s.headMu.Lock()
	s.head = blocks.Next(built.Header)
	s.headMu.Unlock()
	return applied{items: v.items, receipts: receipts, wait: wait, header: built.Header}, nil
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
