package store_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/epiledger/epiledger/internal/store"
)

// logBuffer is a slog handler's output, safe for concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// damagedStore writes keys into a store on a memory file system, flushes
// them into one table, closes it and flips a byte of the table's first
// data block. It returns the file system, the table's path and the keys.
func damagedStore(t *testing.T) (vfs.FS, string, [][]byte) {
	t.Helper()
	fs := vfs.NewMem()
	db, err := store.Open("/data", store.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	b := db.NewBatch()
	for i := 0; i < 2000; i++ {
		k := store.TxKey(uint64(i/100+1), uint32(i%100))
		keys = append(keys, k)
		b.Set(k, bytes.Repeat([]byte{byte(i)}, 100))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	names, _ := fs.List("/data")
	var sst string
	for _, n := range names {
		if strings.HasSuffix(n, ".sst") {
			sst = fs.PathJoin("/data", n)
		}
	}
	if sst == "" {
		t.Fatal("no table")
	}
	f, _ := fs.Open(sst)
	data, _ := io.ReadAll(f)
	f.Close()
	data[100] ^= 0x01
	w, _ := fs.Create(sst, vfs.WriteCategoryUnspecified)
	w.Write(data)
	w.Sync()
	w.Close()
	return fs, sst, keys
}

// TestCorruptionHalts: a read that meets a damaged table returns a
// *CorruptionError naming the file (Pebble's default would call Fatalf
// and end the process), the store halts and says why in its log, and
// every write is refused from then on.
func TestCorruptionHalts(t *testing.T) {
	t.Parallel()
	reads := []struct {
		name string
		read func(db *store.DB, keys [][]byte) error
	}{
		{"get", func(db *store.DB, keys [][]byte) error {
			_, _, err := db.Get(keys[0])
			return err
		}},
		{"scan", func(db *store.DB, keys [][]byte) error {
			lo, hi := store.TablePrefix(store.TabTx)
			return db.Scan(lo, hi, func(k, v []byte) bool { return true })
		}},
		{"last", func(db *store.DB, keys [][]byte) error {
			_, _, _, err := db.Last(keys[0], store.PrefixEnd(keys[0]))
			return err
		}},
		{"cursor", func(db *store.DB, keys [][]byte) error {
			c, err := db.Cursor(store.TablePrefix(store.TabTx))
			if err != nil {
				return err
			}
			defer c.Close()
			return c.Range(keys[0], store.PrefixEnd(keys[0]), func(k, v []byte) bool { return true })
		}},
		{"batch get", func(db *store.DB, keys [][]byte) error {
			b := db.NewBatch()
			defer b.Discard()
			_, _, err := b.Get(keys[0])
			return err
		}},
	}
	for _, tc := range reads {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs, sst, keys := damagedStore(t)
			var log logBuffer
			db, err := store.Open("/data", store.Options{FS: fs, Log: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Halted() != nil {
				t.Fatal("halted before any read")
			}
			err = tc.read(db, keys)
			var ce *store.CorruptionError
			if !errors.As(err, &ce) || !errors.Is(err, store.ErrCorrupt) || ce.Path != sst {
				t.Fatalf("read: %v, want a *CorruptionError naming %s", err, sst)
			}
			if !errors.Is(db.Halted(), store.ErrCorrupt) {
				t.Fatalf("Halted() = %v after corruption", db.Halted())
			}
			if !strings.Contains(log.String(), "level=ERROR") || !strings.Contains(log.String(), sst) {
				t.Fatalf("the log does not say so:\n%s", log.String())
			}
			b := db.NewBatch()
			b.Set(store.TxKey(99, 0), []byte("x"))
			if err := b.Commit(); !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("commit on a halted store: %v", err)
			}
			if err := db.SetLocal([][2][]byte{{store.VaultKey([32]byte{1}), []byte("x")}}); !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("SetLocal on a halted store: %v", err)
			}
		})
	}
}

// TestReadOnlyLeavesFiles: a store opened read-only reads what its
// write-ahead log holds without writing a byte: no table flushed, no log
// deleted, no file added.
func TestReadOnlyLeavesFiles(t *testing.T) {
	t.Parallel()
	fs := vfs.NewMem()
	db, err := store.Open("/data", store.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	b.Set(store.TxKey(1, 0), []byte("in the log only"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := snapshot(t, fs, "/data")
	ro, err := store.Open("/data", store.Options{FS: fs, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := ro.Get(store.TxKey(1, 0))
	if err != nil || !ok || string(v) != "in the log only" {
		t.Fatalf("read-only read: %q %v %v", v, ok, err)
	}
	ro.Close()
	if after := snapshot(t, fs, "/data"); after != before {
		t.Fatalf("read-only open changed the directory:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot lists dir's files with their sizes and contents' hash.
func snapshot(t *testing.T, fs vfs.FS, dir string) string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	var out strings.Builder
	for _, n := range names {
		f, err := fs.Open(fs.PathJoin(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		fmt.Fprintf(&out, "%s:%x ", n, sha256.Sum256(b))
	}
	return out.String()
}

// TestReadOnlyNothingStored: a directory with no store yet opens
// read-only as an empty store, and is left as it was (not even a lock
// file).
func TestReadOnlyNothingStored(t *testing.T) {
	t.Parallel()
	fs := vfs.NewMem()
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"/data", "/missing"} {
		db, err := store.Open(dir, store.Options{FS: fs, ReadOnly: true})
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if _, ok, err := db.Get(store.MetaKey("head")); ok || err != nil {
			t.Fatalf("%s: head %v %v", dir, ok, err)
		}
		db.Close()
	}
	if names, _ := fs.List("/data"); len(names) != 0 {
		t.Fatalf("read-only open wrote %v", names)
	}
	if _, err := fs.Stat("/missing"); err == nil {
		t.Fatal("read-only open made the directory")
	}
}
