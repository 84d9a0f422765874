package store_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/epiledger/epiledger/internal/store"
)

// envelope builds a transaction's bytes as ledger.Tx.Bytes lays them
// out: version, kind, body length, body, signature count, then per
// signature key and signature.
func envelope(body string, keys ...byte) []byte {
	b := []byte{1, 7}
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	b = append(append(b, body...), byte(len(keys)))
	for _, k := range keys {
		b = append(b, bytes.Repeat([]byte{k}, 32)...)
		b = append(b, bytes.Repeat([]byte{k ^ 0x5a}, 64)...)
	}
	return b
}

func setTxs(t *testing.T, db *store.DB, height uint64, txs ...[]byte) {
	t.Helper()
	b := db.NewBatch()
	for i, tx := range txs {
		if err := b.SetTx(height, uint32(i), tx); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

func readTx(t *testing.T, r store.Reader, height uint64, idx uint32) []byte {
	t.Helper()
	raw, ok, err := store.ReadTx(r, height, idx)
	if err != nil || !ok {
		t.Fatalf("tx %d/%d: %v %v", height, idx, ok, err)
	}
	return raw
}

// TestTxPacking: a transaction is stored with its signers' keys by
// number and read back as its exact bytes, through the store, a batch
// and a snapshot, after a discarded batch and after the store is
// reopened; what is not an envelope is stored as it is.
func TestTxPacking(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	txs := [][]byte{envelope("first", 1), envelope("second", 2, 1), envelope("", 1), []byte("not an envelope"), envelope("x", 3)[:20]}
	setTxs(t, db, 1, txs...)
	stored, _, _ := db.Get(store.TxKey(1, 1))
	if stored[0] != 0xff || len(stored) != 1+6+len("second")+1+2*(4+64) {
		t.Fatalf("stored form %d bytes, marker %x", len(stored), stored[0])
	}
	for i, tx := range txs {
		if got := readTx(t, db, 1, uint32(i)); !bytes.Equal(got, tx) {
			t.Fatalf("tx %d: read %x, wrote %x", i, got, tx)
		}
	}
	// A batch that numbers a new key and is discarded: the next batch
	// that uses the key writes its number itself.
	b := db.NewBatch()
	if err := b.SetTx(2, 0, envelope("lost", 4)); err != nil {
		t.Fatal(err)
	}
	b.Discard()
	setTxs(t, db, 2, envelope("kept", 4))
	snap := db.Snapshot()
	if got := readTx(t, snap, 2, 0); !bytes.Equal(got, envelope("kept", 4)) {
		t.Fatalf("after a discarded batch: %x", got)
	}
	snap.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopened: the numbers are read from the store, and new keys get
	// new ones.
	db, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := readTx(t, db, 2, 0); !bytes.Equal(got, envelope("kept", 4)) {
		t.Fatalf("reopened: %x", got)
	}
	setTxs(t, db, 3, envelope("new", 5), envelope("old", 2))
	for i, want := range [][]byte{envelope("new", 5), envelope("old", 2)} {
		if got := readTx(t, db, 3, uint32(i)); !bytes.Equal(got, want) {
			t.Fatalf("tx 3/%d: %x", i, got)
		}
	}
	b = db.NewBatch()
	defer b.Discard()
	if got := readTx(t, b, 1, 1); !bytes.Equal(got, txs[1]) {
		t.Fatalf("through a batch: %x", got)
	}
	var nums []uint32
	lo, hi := store.TablePrefix(store.TabTx)
	db.Scan(lo, hi, func(k, v []byte) bool {
		if v[0] == 0xff {
			at := 1 + 6 + int(binary.BigEndian.Uint32(v[3:7])) + 1
			for ; at < len(v); at += 4 + 64 {
				nums = append(nums, binary.BigEndian.Uint32(v[at:]))
			}
		}
		return true
	})
	seen := map[uint32]bool{}
	for _, n := range nums {
		seen[n] = true
	}
	if len(seen) != 4 {
		t.Fatalf("signer numbers %v: want one per key, 4 keys (1, 2, 4, 5)", nums)
	}
}

// TestTxPackingDamage: a packed entry that does not parse, or names a
// signer the store does not hold, is ErrCorrupt, never other bytes.
func TestTxPackingDamage(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	setTxs(t, db, 1, envelope("body", 1))
	good, _, _ := db.Get(store.TxKey(1, 0))
	unknown := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(unknown[1+6+4+1:], 999)
	b := db.NewBatch()
	if err := b.SetTx(2, 0, []byte{0xff, 1, 7}); err == nil {
		t.Error("a transaction beginning with 0xff was stored: it would read back as a packed one")
	}
	b.Discard()
	for name, v := range map[string][]byte{
		"unknown signer": unknown,
		"truncated":      good[:len(good)-1],
		"longer":         append(append([]byte(nil), good...), 0),
		"marker only":    {0xff},
		"body too long":  append([]byte{0xff, 1, 7, 0xff, 0xff, 0xff, 0xff}, good[7:]...),
	} {
		if _, err := store.UnpackTx(db, v); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// FuzzUnpackTx: any stored value either unpacks or is ErrCorrupt, and an
// envelope packed and unpacked is itself.
func FuzzUnpackTx(f *testing.F) {
	db, err := store.Open(f.TempDir(), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	b := db.NewBatch()
	b.SetTx(1, 0, envelope("seed", 1, 2))
	if err := b.Commit(); err != nil {
		f.Fatal(err)
	}
	v, _, _ := db.Get(store.TxKey(1, 0))
	f.Add(v)
	f.Add(envelope("raw", 1))
	f.Add([]byte{0xff, 1, 2, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		raw, err := store.UnpackTx(db, v)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("%v, not ErrCorrupt", err)
			}
			return
		}
		if len(v) > 0 && v[0] != 0xff && !bytes.Equal(raw, v) {
			t.Fatal("an unpacked value changed")
		}
	})
}
