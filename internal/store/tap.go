package store

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Op is one write of a committed batch that a tap asked for: Key set to
// Value, or deleted. Both are the tap's own copies.
type Op struct {
	Key, Value []byte
	Delete     bool
}

// tap is one subscriber to committed writes.
type tap struct {
	tables [256]bool
	fn     func([]Op)
}

// taps are the subscribers of a DB. Commits run one at a time (one
// writer), so they call the taps in commit order.
type taps struct {
	mu   sync.Mutex
	next int
	all  map[int]*tap
}

// Tap calls fn after each commit with the commit's writes to the given
// tables, in the order the batch holds them, once they are visible to
// readers (before the write-ahead log sync of CommitAsync completes:
// a crash then loses them from the tap's subscriber and from the store
// alike). It is how a resident copy of an index (the trace timeline)
// stays current without the state machine knowing it exists. fn runs on
// the committer's goroutine, so it must be quick: copy and return. The
// returned function removes the tap.
func (db *DB) Tap(tables []byte, fn func([]Op)) (untap func()) {
	t := &tap{fn: fn}
	for _, tab := range tables {
		t.tables[tab] = true
	}
	db.taps.mu.Lock()
	defer db.taps.mu.Unlock()
	if db.taps.all == nil {
		db.taps.all = map[int]*tap{}
	}
	id := db.taps.next
	db.taps.next++
	db.taps.all[id] = t
	return func() {
		db.taps.mu.Lock()
		delete(db.taps.all, id)
		db.taps.mu.Unlock()
	}
}

// notify hands a committed batch's writes to the taps. It holds the
// taps' lock, so a tap removed is never called after Tap's untap returns.
func (db *DB) notify(b *pebble.Batch) error {
	db.taps.mu.Lock()
	defer db.taps.mu.Unlock()
	if len(db.taps.all) == 0 {
		return nil
	}
	ops := make([][]Op, len(db.taps.all))
	ids := make([]*tap, 0, len(db.taps.all))
	for _, t := range db.taps.all {
		ids = append(ids, t)
	}
	r := b.Reader()
	for {
		kind, k, v, ok, err := r.Next()
		if err != nil {
			return fmt.Errorf("store: reading a committed batch: %w", err)
		}
		if !ok {
			break
		}
		if len(k) == 0 {
			continue
		}
		var op Op
		switch kind {
		case pebble.InternalKeyKindSet:
		case pebble.InternalKeyKindDelete, pebble.InternalKeyKindSingleDelete:
			op.Delete = true
		default:
			continue
		}
		for i, t := range ids {
			if !t.tables[k[0]] {
				continue
			}
			if op.Key == nil {
				op.Key = bytes.Clone(k)
				if !op.Delete {
					op.Value = bytes.Clone(v)
				}
			}
			ops[i] = append(ops[i], op)
		}
	}
	for i, t := range ids {
		if len(ops[i]) > 0 {
			t.fn(ops[i])
		}
	}
	return nil
}
