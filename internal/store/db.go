// Package store is epiledger's storage: a Pebble database and the key layout
// of every record and index in it. It knows bytes and keys, not meanings; the
// state machine decides what to write.
package store

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrCorrupt marks data that is present but unreadable: a broken invariant,
// never "not found". A node that sees it stops.
var ErrCorrupt = errors.New("store: corrupt")

// DB is the node's database. It is safe for concurrent use: one writer (the
// engine) commits batches while readers (queries) read.
type DB struct {
	pdb  *pebble.DB
	dir  string
	taps taps
}

// Options configure Open. A nil FS means the real file system; tests pass
// vfs.NewMem().
type Options struct {
	FS vfs.FS
	// ReadOnly opens without taking the write lock's exclusivity for
	// writes; used by verify and read-only tools.
	ReadOnly bool
}

// cacheBytes is the block cache: the hot part of the indexes (recent site
// presences, sites, aliases) fits.
const cacheBytes = 256 << 20

// Open opens (creating if needed) the database in dir.
func Open(dir string, o Options) (*DB, error) {
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref()
	po := &pebble.Options{
		FS:                          o.FS,
		ReadOnly:                    o.ReadOnly,
		Logger:                      quietLogger{},
		Cache:                       cache,
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
	}
	// Bloom filters on every level: most point reads on the write path ask
	// for keys that do not exist (has this transaction id been seen?), and
	// a filter answers those without reading a block.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	p, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	return &DB{pdb: p, dir: dir}, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.pdb.Close() }

// Get returns a copy of the value at key, or ok=false if absent.
func (db *DB) Get(key []byte) (val []byte, ok bool, err error) {
	return get(db.pdb, key)
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
	return scan(db.pdb, lo, hi, fn)
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

// Flush flushes memtables to disk (for size measurements).
func (db *DB) Flush() error { return db.pdb.Flush() }

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

// merge moves the read-back writes into the plain batch, which is then
// the whole block.
func (b *Batch) merge() error {
	if err := b.raw.Apply(b.b, nil); err != nil {
		return err
	}
	return b.b.Close()
}

// Get reads through the batch.
func (b *Batch) Get(key []byte) ([]byte, bool, error) { return get(b.b, key) }

// Set writes key=val into the batch. The batch copies both.
func (b *Batch) Set(key, val []byte) error { return b.pick(key).Set(key, val, nil) }

// Scan iterates [lo, hi) through the batch.
func (b *Batch) Scan(lo, hi []byte, fn func(k, v []byte) bool) error { return scan(b.b, lo, hi, fn) }

// Cursor iterates a batch's view of the store repeatedly: one iterator,
// re-positioned for each range, costs far less than an iterator per range
// when ranges come in key order. It sees the batch as it was when created.
type Cursor struct {
	it *pebble.Iterator
}

// Cursor opens a cursor over the committed state in [lo, hi): queries
// that read many ranges of one table pay for one iterator.
func (db *DB) Cursor(lo, hi []byte) (*Cursor, error) {
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	return &Cursor{it: it}, nil
}

// Cursor opens a cursor over [lo, hi).
func (b *Batch) Cursor(lo, hi []byte) (*Cursor, error) {
	it, err := b.b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	return &Cursor{it: it}, nil
}

// Range calls fn for each key in [lo, hi) until fn returns false.
func (c *Cursor) Range(lo, hi []byte, fn func(k, v []byte) bool) error {
	for ok := c.it.SeekGE(lo); ok && bytes.Compare(c.it.Key(), hi) < 0; ok = c.it.Next() {
		v, err := c.it.ValueAndErr()
		if err != nil {
			return err
		}
		if !fn(c.it.Key(), v) {
			break
		}
	}
	return c.it.Error()
}

// Close releases the cursor.
func (c *Cursor) Close() error { return c.it.Close() }

// Delete removes key through the batch.
func (b *Batch) Delete(key []byte) error { return b.pick(key).Delete(key, nil) }

// Last returns the greatest key in [lo, hi) and its value, through the
// batch; ok is false when the range is empty.
func (b *Batch) Last(lo, hi []byte) (k, v []byte, ok bool, err error) { return last(b.b, lo, hi) }

// Last returns the greatest key in [lo, hi) and its value.
func (db *DB) Last(lo, hi []byte) (k, v []byte, ok bool, err error) { return last(db.pdb, lo, hi) }

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
// is synced, so anything acknowledged after Commit survives a crash.
func (b *Batch) Commit() error {
	if err := b.merge(); err != nil {
		b.raw.Close()
		return fmt.Errorf("store: commit: %w", err)
	}
	if err := b.raw.Commit(pebble.Sync); err != nil {
		b.raw.Close()
		return fmt.Errorf("store: commit: %w", err)
	}
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
// overlaps a block's fsync with applying the next block.
func (b *Batch) CommitAsync() (wait func() error, err error) {
	if err := b.merge(); err != nil {
		b.raw.Close()
		return nil, fmt.Errorf("store: commit: %w", err)
	}
	if err := b.db.ApplyNoSyncWait(b.raw, pebble.Sync); err != nil {
		b.raw.Close()
		return nil, fmt.Errorf("store: commit: %w", err)
	}
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

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// SetLocal writes keys of node-local tables (the vault) outside any block,
// atomically and durably: all or none. State goes through blocks only.
func (db *DB) SetLocal(kvs [][2][]byte) error {
	b := db.pdb.NewBatch()
	defer b.Close()
	for _, kv := range kvs {
		if kv[0][0] != TabVault {
			panic("store: SetLocal is only for the vault")
		}
		if err := b.Set(kv[0], kv[1], nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}
