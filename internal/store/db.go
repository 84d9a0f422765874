// Package store is epiledger's storage: a Pebble database and the key layout
// of every record and index in it. It knows bytes and keys, not meanings; the
// state machine decides what to write.
package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable/block"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrCorrupt marks data that is present but unreadable: a broken invariant,
// never "not found". A node that sees it stops.
var ErrCorrupt = errors.New("store: corrupt")

// CorruptionError is damage Pebble found in a file of the store (a
// checksum that does not match, a log record that does not parse). It
// matches ErrCorrupt. Path names the file when Pebble knows it.
type CorruptionError struct {
	Path string
	Err  error // Pebble's error
}

func (e *CorruptionError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("store: corrupt: %v", e.Err)
	}
	return fmt.Sprintf("store: corrupt: file %s: %v", e.Path, e.Err)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns Pebble's error.
func (e *CorruptionError) Unwrap() error { return e.Err }

// DB is the node's database. It is safe for concurrent use: one writer (the
// engine) commits batches while readers (queries) read.
type DB struct {
	pdb    *pebble.DB
	dir    string
	log    *slog.Logger
	taps   taps
	halted atomic.Pointer[error]
	sig    signers // txform.go
}

// Options configure Open. A nil FS means the real file system; tests pass
// vfs.NewMem() or vfs.NewCrashableMem().
type Options struct {
	FS vfs.FS
	// ReadOnly opens the store for reading only: nothing in the directory
	// changes (Pebble replays the write-ahead log into memory instead of
	// into new tables). Used by verify.
	ReadOnly bool
	// Log receives Pebble's own log: information at debug level, errors
	// and corruption at error level. Nil discards it.
	Log *slog.Logger
}

// cacheBytes is the block cache: the hot part of the indexes (recent site
// presences, sites, aliases) fits.
const cacheBytes = 256 << 20

// Open opens (creating if needed, unless ReadOnly) the database in dir.
// Damage found while opening (a log or manifest record that does not
// parse) is a *CorruptionError.
func Open(dir string, o Options) (*DB, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	db := &DB{dir: dir, log: log}
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref()
	po := &pebble.Options{
		FS:                          o.FS,
		ReadOnly:                    o.ReadOnly,
		Logger:                      pebbleLogger{db},
		Cache:                       cache,
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		EventListener: &pebble.EventListener{
			// Pebble's default for a corrupt block is Logger.Fatalf: the
			// read returns its error instead, and the store halts.
			DataCorruption: func(info pebble.DataCorruptionInfo) {
				db.Halt(&CorruptionError{Path: info.Path, Err: info.Details})
			},
			BackgroundError: func(err error) {
				if pebble.IsCorruptionError(err) {
					db.Halt(db.corruption(err))
					return
				}
				log.Error("store: background error", "err", err)
			},
		},
	}
	// Bloom filters on every level: most point reads on the write path ask
	// for keys that do not exist (has this transaction id been seen?), and
	// a filter answers those without reading a block.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	// The two lowest levels hold nearly all the bytes and are read
	// least: zstd in 16 KiB blocks there, Snappy in 4 KiB blocks above,
	// where the recent records are read and rewritten. Measured on a
	// city of 637,480 records compacted in full: 310 MB with Snappy
	// everywhere, 289 MB with zstd in 4 KiB blocks, 270 MB in 16 KiB
	// blocks, 260 MB in 64 KiB (docs/BENCHMARKS.md, "Where a record's
	// bytes go"). Each block says how it is compressed, so a store
	// written before reads as it is, and its tables take the new form as
	// they are compacted.
	for _, i := range []int{len(po.Levels) - 2, len(po.Levels) - 1} {
		po.Levels[i].Compression = func() *block.CompressionProfile { return block.ZstdCompression }
		po.Levels[i].BlockSize = 16 << 10
	}
	var p *pebble.DB
	var err error
	if o.ReadOnly && empty(o.FS, dir) {
		// Nothing stored yet reads as an empty store: make one in memory
		// rather than write to dir (not even a lock file).
		p, err = openEmpty(dir, po)
	} else {
		p, err = pebble.Open(dir, po)
	}
	if err != nil {
		if pebble.IsCorruptionError(err) {
			ce := db.corruption(err)
			if ce.Path == "" {
				ce.Path = dir
			}
			return nil, fmt.Errorf("store: open %s: %w", dir, ce)
		}
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	db.pdb = p
	return db, nil
}

// empty reports whether dir holds no store: it is missing, or holds
// nothing but Pebble's lock file.
func empty(fs vfs.FS, dir string) bool {
	if fs == nil {
		fs = vfs.Default
	}
	names, err := fs.List(dir)
	if err != nil {
		return errors.Is(err, iofs.ErrNotExist)
	}
	for _, n := range names {
		if n != "LOCK" {
			return false
		}
	}
	return true
}

// openEmpty opens, read-only, an empty store made in memory at dir.
func openEmpty(dir string, po *pebble.Options) (*pebble.DB, error) {
	po.FS = vfs.NewMem()
	po.ReadOnly = false
	p, err := pebble.Open(dir, po)
	if err != nil {
		return nil, err
	}
	if err := p.Close(); err != nil {
		return nil, err
	}
	po.ReadOnly = true
	return pebble.Open(dir, po)
}

// Close closes the database.
func (db *DB) Close() error { return db.pdb.Close() }

// Halt marks the store damaged: from then on every commit is refused with
// an error wrapping err, and Halted returns it. The store halts itself on
// any corruption Pebble reports; a caller that finds a record it cannot
// decode (a broken invariant, ErrCorrupt) calls Halt too. The first reason
// is kept and logged at error level. Safe for concurrent use.
func (db *DB) Halt(err error) {
	e := fmt.Errorf("store: halted, writes refused: %w", err)
	if db.halted.CompareAndSwap(nil, &e) {
		db.log.Error("store: corruption found; the node stops writing", "err", err)
	}
}

// Halted returns the reason the store halted (see Halt), or nil.
func (db *DB) Halted() error {
	if p := db.halted.Load(); p != nil {
		return *p
	}
	return nil
}

// corruption turns a Pebble corruption error into a *CorruptionError
// naming the file when Pebble attached it.
func (db *DB) corruption(err error) *CorruptionError {
	ce := &CorruptionError{Err: err}
	if info := pebble.ExtractDataCorruptionInfo(err); info != nil {
		ce.Path, ce.Err = info.Path, info.Details
	}
	return ce
}

// check passes err through, except that Pebble's corruption becomes a
// *CorruptionError and halts the store.
func (db *DB) check(err error) error {
	if err == nil || !pebble.IsCorruptionError(err) {
		return err
	}
	ce := db.corruption(err)
	db.Halt(ce)
	return ce
}

// Get returns a copy of the value at key, or ok=false if absent.
func (db *DB) Get(key []byte) (val []byte, ok bool, err error) {
	val, ok, err = get(db.pdb, key)
	return val, ok, db.check(err)
}

func get(g pebble.Reader, key []byte) ([]byte, bool, error) {
	v, c, err := g.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := bytes.Clone(v)
	return out, true, c.Close()
}

// Scan calls fn for every key in [lo, hi) in order until fn returns false.
// Key and value are only valid during the call.
func (db *DB) Scan(lo, hi []byte, fn func(k, v []byte) bool) error {
	return db.check(scan(db.pdb, lo, hi, fn))
}

func scan(r pebble.Reader, lo, hi []byte, fn func(k, v []byte) bool) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if !fn(it.Key(), v) {
			break
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// SizeOnDisk is the total size of the database's files.
func (db *DB) SizeOnDisk() uint64 {
	m := db.pdb.Metrics()
	return m.DiskSpaceUsage()
}

// Checkpoint writes a consistent copy of the store, as of one moment,
// into dir (which must not exist), while writes go on: Pebble hard-links
// the table files it can and copies the rest, the write-ahead log flushed
// first. Opened as a store, dir is the store at that moment.
func (db *DB) Checkpoint(dir string) error {
	if err := db.pdb.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	return nil
}

// Flush flushes memtables to disk (for size measurements).
func (db *DB) Flush() error { return db.pdb.Flush() }

// Compact flushes, then compacts every table down to the lowest level,
// as the store would look once compaction has caught up: what a record
// costs in the long run (issue 18 measures bytes "after compaction").
// It rewrites the whole store, so it is for measurements and
// maintenance, not for a node's normal work.
func (db *DB) Compact(ctx context.Context) error {
	if err := db.pdb.Flush(); err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	if err := db.pdb.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	// Pebble deletes the tables a compaction made obsolete in the
	// background: wait for them, so that what is on disk is the
	// compacted store, not the compacted store and what it replaced.
	// (Tables an open iterator still reads, zombies, are not waited for.)
	deadline := time.After(time.Minute)
	for {
		t := db.pdb.Metrics().Table
		if t.ObsoleteCount == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: compact: waiting for %d obsolete tables to be deleted: %w", t.ObsoleteCount, ctx.Err())
		case <-deadline:
			return fmt.Errorf("store: compact: %d obsolete tables not deleted after a minute", t.ObsoleteCount)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Batch is a block's write batch. Reads through it see the committed store
// and the batch's own writes to the tables a block reads back (readBack);
// writes to every other table go to a plain batch that keeps no index,
// which is most of a block's writes and most of the cost an indexed batch
// would add. The two are merged into one atomic commit. A caller must not
// read, within the batch, a key of a table outside readBack that it wrote
// in the same batch (the state machine keeps overlays for those).
type Batch struct {
	b   *pebble.Batch // indexed: the read-back tables
	raw *pebble.Batch // plain: everything else
	db  *pebble.DB
	sdb *DB
	// signers are the signer numbers this batch wrote (txform.go).
	signers []uint32
}

// readBack are the tables a block reads after writing them: the person
// index (window closes, door checks), aliases, pending-window markers and
// corrections.
var readBack = [256]bool{TabPerson: true, TabAlias: true, TabPending: true, TabCorr: true}

// NewBatch starts a batch on db.
func (db *DB) NewBatch() *Batch {
	return &Batch{b: db.pdb.NewIndexedBatch(), raw: db.pdb.NewBatch(), db: db.pdb, sdb: db}
}

func (b *Batch) pick(key []byte) *pebble.Batch {
	if len(key) > 0 && readBack[key[0]] {
		return b.b
	}
	return b.raw
}

// merge makes the plain batch the whole block: both batches' writes in
// key order (writes of one key in the order made). The memtable takes a
// batch one key at a time into a skiplist, each insert starting from
// where the one before ended: in key order most inserts are a step or
// two, in the order a block writes them (person, site, chain, index, by
// record) each is a search from the top. About half the cost of applying
// a block's 30,000 writes to a large memtable (BenchmarkCommitOrder),
// paid for with one sort. The store ends the same whatever the order of
// different keys.
func (b *Batch) merge() error {
	ops, ok := b.ops()
	if !ok || unsortedCommit {
		// A write this does not sort (none the store makes): as made.
		if err := b.raw.Apply(b.b, nil); err != nil {
			return err
		}
		return b.b.Close()
	}
	slices.SortFunc(ops, func(x, y batchOp) int {
		if c := bytes.Compare(x.k, y.k); c != 0 {
			return c
		}
		return cmp.Compare(x.i, y.i)
	})
	sorted := b.db.NewBatchWithSize(len(b.raw.Repr()) + len(b.b.Repr()))
	for _, o := range ops {
		var err error
		switch o.kind {
		case pebble.InternalKeyKindSet:
			err = sorted.Set(o.k, o.v, nil)
		case pebble.InternalKeyKindDelete:
			err = sorted.Delete(o.k, nil)
		}
		if err != nil {
			sorted.Close()
			return err
		}
	}
	b.b.Close()
	b.raw.Close()
	b.raw = sorted
	return nil
}

// unsortedCommit turns merge's sort off (BenchmarkCommitOrder's
// baseline).
var unsortedCommit = false

type batchOp struct {
	kind pebble.InternalKeyKind
	i    int // the order made, for writes of one key
	k, v []byte
}

// ops lists the writes of both batches, or reports false if one is of a
// kind merge does not sort.
func (b *Batch) ops() ([]batchOp, bool) {
	ops := make([]batchOp, 0, b.raw.Count()+b.b.Count())
	for _, pb := range []*pebble.Batch{b.raw, b.b} {
		r := pb.Reader()
		for {
			kind, k, v, ok, err := r.Next()
			if err != nil {
				return nil, false
			}
			if !ok {
				break
			}
			if kind != pebble.InternalKeyKindSet && kind != pebble.InternalKeyKindDelete {
				return nil, false
			}
			ops = append(ops, batchOp{kind, len(ops), k, v})
		}
	}
	return ops, true
}

// Get reads through the batch.
func (b *Batch) Get(key []byte) ([]byte, bool, error) {
	v, ok, err := get(b.b, key)
	return v, ok, b.sdb.check(err)
}

// Set writes key=val into the batch. The batch copies both.
func (b *Batch) Set(key, val []byte) error { return b.pick(key).Set(key, val, nil) }

// Scan iterates [lo, hi) through the batch.
func (b *Batch) Scan(lo, hi []byte, fn func(k, v []byte) bool) error {
	return b.sdb.check(scan(b.b, lo, hi, fn))
}

// Cursor iterates a batch's view of the store repeatedly: one iterator,
// re-positioned for each range, costs far less than an iterator per range
// when ranges come in key order. It sees the batch as it was when created.
type Cursor struct {
	it *pebble.Iterator
	db *DB
}

// Cursor opens a cursor over the committed state in [lo, hi): queries
// that read many ranges of one table pay for one iterator.
func (db *DB) Cursor(lo, hi []byte) (*Cursor, error) {
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, db.check(err)
	}
	return &Cursor{it: it, db: db}, nil
}

// Cursor opens a cursor over [lo, hi).
func (b *Batch) Cursor(lo, hi []byte) (*Cursor, error) {
	it, err := b.b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, b.sdb.check(err)
	}
	return &Cursor{it: it, db: b.sdb}, nil
}

// Range calls fn for each key in [lo, hi) until fn returns false.
func (c *Cursor) Range(lo, hi []byte, fn func(k, v []byte) bool) error {
	for ok := c.it.SeekGE(lo); ok && bytes.Compare(c.it.Key(), hi) < 0; ok = c.it.Next() {
		v, err := c.it.ValueAndErr()
		if err != nil {
			return c.db.check(err)
		}
		if !fn(c.it.Key(), v) {
			break
		}
	}
	return c.db.check(c.it.Error())
}

// Close releases the cursor.
func (c *Cursor) Close() error { return c.db.check(c.it.Close()) }

// Delete removes key through the batch.
func (b *Batch) Delete(key []byte) error { return b.pick(key).Delete(key, nil) }

// Last returns the greatest key in [lo, hi) and its value, through the
// batch; ok is false when the range is empty.
func (b *Batch) Last(lo, hi []byte) (k, v []byte, ok bool, err error) {
	k, v, ok, err = last(b.b, lo, hi)
	return k, v, ok, b.sdb.check(err)
}

// Last returns the greatest key in [lo, hi) and its value.
func (db *DB) Last(lo, hi []byte) (k, v []byte, ok bool, err error) {
	k, v, ok, err = last(db.pdb, lo, hi)
	return k, v, ok, db.check(err)
}

func last(r pebble.Reader, lo, hi []byte) (k, v []byte, ok bool, err error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, nil, false, err
	}
	if it.Last() {
		val, verr := it.ValueAndErr()
		if verr != nil {
			it.Close()
			return nil, nil, false, verr
		}
		k, v, ok = bytes.Clone(it.Key()), bytes.Clone(val), true
	}
	if err := it.Error(); err != nil {
		it.Close()
		return nil, nil, false, err
	}
	return k, v, ok, it.Close()
}

// Commit writes the batch durably: it returns only after the write-ahead log
// is synced, so anything acknowledged after Commit survives a crash. A
// halted store (see Halt) refuses it.
func (b *Batch) Commit() error {
	if err := b.sdb.Halted(); err != nil {
		b.Discard()
		return err
	}
	if err := b.merge(); err != nil {
		b.raw.Close()
		return fmt.Errorf("store: commit: %w", err)
	}
	if err := b.raw.Commit(pebble.Sync); err != nil {
		b.raw.Close()
		return fmt.Errorf("store: commit: %w", b.sdb.check(err))
	}
	b.sdb.committed(b.signers)
	if err := b.sdb.notify(b.raw); err != nil {
		b.raw.Close()
		return err
	}
	return b.raw.Close()
}

// CommitAsync applies the batch (its writes are visible at once) and
// returns a wait function that blocks until the write-ahead log is synced
// and then releases the batch. Nothing may be acknowledged before wait
// returns nil. Batches committed one after another sync in order, so the
// next batch can be built while this one syncs: this is how the engine
// overlaps a block's fsync with applying the next block. A halted store
// (see Halt) refuses it.
func (b *Batch) CommitAsync() (wait func() error, err error) {
	if err := b.sdb.Halted(); err != nil {
		b.Discard()
		return nil, err
	}
	if err := b.merge(); err != nil {
		b.raw.Close()
		return nil, fmt.Errorf("store: commit: %w", err)
	}
	if err := b.db.ApplyNoSyncWait(b.raw, pebble.Sync); err != nil {
		b.raw.Close()
		return nil, fmt.Errorf("store: commit: %w", b.sdb.check(err))
	}
	b.sdb.committed(b.signers)
	if err := b.sdb.notify(b.raw); err != nil {
		b.raw.SyncWait()
		b.raw.Close()
		return nil, err
	}
	return func() error {
		err := b.raw.SyncWait()
		b.raw.Close()
		if err != nil {
			return fmt.Errorf("store: commit: %w", err)
		}
		return nil
	}, nil
}

// Discard drops the batch.
func (b *Batch) Discard() {
	b.b.Close()
	b.raw.Close()
}

// Reader is what both DB and Batch offer for reading.
type Reader interface {
	Get(key []byte) ([]byte, bool, error)
	Scan(lo, hi []byte, fn func(k, v []byte) bool) error
	Last(lo, hi []byte) (k, v []byte, ok bool, err error)
	// Cursor opens one iterator over [lo, hi) for many Range calls.
	Cursor(lo, hi []byte) (*Cursor, error)
}

var (
	_ Reader = (*DB)(nil)
	_ Reader = (*Batch)(nil)
)

// pebbleLogger forwards Pebble's log to the store's: information at debug
// level, errors at error level. Pebble calls Fatalf when it cannot go on
// (a broken invariant, a manifest it cannot write): the message is logged
// at error level and the store halted before the panic Pebble expects, so
// the process never dies without saying why.
type pebbleLogger struct{ db *DB }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.db.log.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.db.log.Error("pebble: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.db.log.Error("pebble: fatal: " + msg)
	l.db.Halt(fmt.Errorf("%w: pebble: %s", ErrCorrupt, msg))
	panic("pebble: fatal: " + msg)
}

// SetLocal writes keys of node-local tables (the vault, its log) outside
// any block, atomically and durably (one synced commit): all or none.
// State goes through blocks only. A halted store (see Halt) refuses it. A
// key outside the local tables is a bug: it panics.
func (db *DB) SetLocal(kvs [][2][]byte) error {
	if err := db.Halted(); err != nil {
		return err
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	for _, kv := range kvs {
		if len(kv[0]) == 0 || !localTables[kv[0][0]] {
			panic("store: SetLocal outside the local tables")
		}
		if err := b.Set(kv[0], kv[1], nil); err != nil {
			return err
		}
	}
	return db.check(b.Commit(pebble.Sync))
}

// Snapshot is a read-only, unchanging view of the committed state at the
// moment it was taken: a whole-store read (verify) sees one head and the
// blocks up to it, while blocks keep being committed. Close it when done.
type Snapshot struct {
	s  *pebble.Snapshot
	db *DB
}

var _ Reader = (*Snapshot)(nil)

// Snapshot takes a snapshot of the committed state.
func (db *DB) Snapshot() *Snapshot { return &Snapshot{s: db.pdb.NewSnapshot(), db: db} }

// Get returns a copy of the value at key, or ok=false if absent.
func (s *Snapshot) Get(key []byte) ([]byte, bool, error) {
	v, ok, err := get(s.s, key)
	return v, ok, s.db.check(err)
}

// Scan calls fn for every key in [lo, hi) in order until fn returns false.
func (s *Snapshot) Scan(lo, hi []byte, fn func(k, v []byte) bool) error {
	return s.db.check(scan(s.s, lo, hi, fn))
}

// Last returns the greatest key in [lo, hi) and its value.
func (s *Snapshot) Last(lo, hi []byte) (k, v []byte, ok bool, err error) {
	k, v, ok, err = last(s.s, lo, hi)
	return k, v, ok, s.db.check(err)
}

// Cursor opens a cursor over [lo, hi) of the snapshot.
func (s *Snapshot) Cursor(lo, hi []byte) (*Cursor, error) {
	it, err := s.s.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, s.db.check(err)
	}
	return &Cursor{it: it, db: s.db}, nil
}

// Close releases the snapshot.
func (s *Snapshot) Close() error { return s.s.Close() }
