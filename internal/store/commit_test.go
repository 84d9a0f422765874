package store_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/epiledger/epiledger/internal/store"
)

// TestBatchOrder: a batch's writes are committed in key order, but the
// writes of one key keep the order they were made in, in the store and
// as taps see them, in both the read-back and the plain tables.
func TestBatchOrder(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var seen []store.Op
	untap := db.Tap([]byte{store.TabPerson, store.TabSiteIdx}, func(ops []store.Op) { seen = append(seen, ops...) })
	defer untap()
	person := store.PersonKey([32]byte{9}, 5, [32]byte{1}) // read-back table
	site := store.SiteIdxKey(3, 5, [32]byte{1})            // plain table
	b := db.NewBatch()
	for i, k := range [][]byte{site, person, site, person} {
		if err := b.Set(k, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	b.Delete(site)
	b.Set(store.SiteIdxKey(1, 5, [32]byte{1}), []byte("first"))
	b.Set(person, []byte("last"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Get(site); ok {
		t.Fatal("a key set then deleted in one batch is there")
	}
	if v, _, _ := db.Get(person); string(v) != "last" {
		t.Fatalf("person key holds %q, want the last write", v)
	}
	var got []string
	for _, o := range seen {
		got = append(got, fmt.Sprintf("%x:%v:%q", o.Key[:2], o.Delete, o.Value))
	}
	want := []string{`6900:false:"first"`, `6900:false:"\x00"`, `6900:false:"\x02"`, `6900:true:""`,
		`7009:false:"\x01"`, `7009:false:"\x03"`, `7009:false:"last"`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tap saw\n%v\nwant\n%v", got, want)
	}
}

// BenchmarkCommitOrder commits block-sized batches of the store's kinds
// of keys (by person, by site, by record id), as a block writes them,
// to a memtable that grows as a node's does: sorted by merge, and as
// made.
func BenchmarkCommitOrder(b *testing.B) {
	for _, sorted := range []bool{true, false} {
		b.Run(map[bool]string{true: "sorted", false: "as-made"}[sorted], func(b *testing.B) {
			store.SetUnsortedCommit(!sorted)
			defer store.SetUnsortedCommit(false)
			db, err := store.Open("bench", store.Options{FS: vfs.NewMem()})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			rng := rand.New(rand.NewPCG(1, 2))
			val := bytes.Repeat([]byte{7}, 100)
			const records = 4096
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bt := db.NewBatch()
				for r := 0; r < records; r++ {
					var p, id [32]byte
					binary.BigEndian.PutUint64(p[:], rng.Uint64())
					binary.BigEndian.PutUint64(id[:], rng.Uint64())
					t := int64(i*records + r)
					bt.Set(store.PersonKey(p, t, id), val)
					bt.Set(store.SiteIdxKey(rng.Uint32N(5000), t, id), val)
					bt.Set(store.TxIndexKey(id), val[:12])
					bt.Set(store.SiteChainKey(rng.Uint32N(5000), uint64(t)), val[:32])
					bt.Set(store.TxKey(uint64(i+1), uint32(r)), val)
				}
				if err := bt.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record") // wall clock; read its CPU profile too
		})
	}
}
