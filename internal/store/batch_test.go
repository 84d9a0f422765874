package store_test

import (
	"testing"

	"github.com/epiledger/epiledger/internal/store"
)

func TestBatchWriteOnly(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, k := range [][]byte{store.TxKey(1, 0), store.PersonKey([32]byte{1}, 5, [32]byte{2})} {
		b := db.NewBatch()
		b.Set(k, []byte{byte(i + 1)})
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		v, ok, err := db.Get(k)
		if err != nil || !ok || v[0] != byte(i+1) {
			t.Fatalf("key %x: %v %v %v", k, v, ok, err)
		}
	}
}
