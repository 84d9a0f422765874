package blocks_test

import (
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// TestApplyIsEngineNeutral drives blocks.Apply as an engine does, on two
// stores: the same ordered transactions at the same times give the same
// blocks, byte for byte; a refused transaction is in no block and gets
// its rejection; a block where nothing was accepted exists only when
// asked for (keepEmpty, as under CometBFT, whose every height is a
// block); and the chain so built verifies and replays like the solo
// engine's.
func TestApplyIsEngineNeutral(t *testing.T) {
	t.Parallel()
	h, err := home.Init(filepath.Join(t.TempDir(), "home"), home.InitOptions{ChainID: "apply", Region: "420100",
		Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	gen := h.Genesis
	_, siteKey, _ := ed25519.GenerateKey(nil)
	sign := func(b ledger.Body, k ed25519.PrivateKey) *ledger.Tx {
		tx := ledger.NewTx(b)
		tx.Sign(gen.ChainID, k)
		d, err := ledger.DecodeTx(tx.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	var pub [32]byte
	copy(pub[:], siteKey.Public().(ed25519.PublicKey))
	reg := sign(&ledger.RegisterSite{Site: "shop", Kind_: "shop", LatE6: 30_590_000, LonE6: 114_300_000, Region: "420100", Key: pub}, h.Authority())
	forged := sign(&ledger.RegisterSite{Site: "other", Kind_: "shop", Key: pub}, siteKey) // not the authority
	t0 := gen.Time*1e9 + int64(time.Hour)
	plan := []struct {
		txs       []*ledger.Tx
		keepEmpty bool
		block     bool
	}{
		{[]*ledger.Tx{forged, reg}, false, true},
		{[]*ledger.Tx{forged}, true, true},   // nothing accepted, kept: an empty block
		{[]*ledger.Tx{forged}, false, false}, // nothing accepted: no block
		{nil, true, true},
	}
	var heads [2]blocks.Head
	var dbs [2]*store.DB
	for i := range dbs {
		if dbs[i], err = store.Open(filepath.Join(t.TempDir(), "s"), store.Options{}); err != nil {
			t.Fatal(err)
		}
		defer dbs[i].Close()
		m := state.New(dbs[i], gen)
		if heads[i], err = blocks.ReadHead(dbs[i], &gen); err != nil {
			t.Fatal(err)
		}
		for k, p := range plan {
			b := dbs[i].NewBatch()
			built, err := blocks.Apply(m, b, heads[i], t0+int64(k)*1e9, blocks.Ordered{Txs: p.txs}, p.keepEmpty)
			if err != nil {
				t.Fatal(err)
			}
			for j, tx := range p.txs {
				if _, refused := state.IsRejection(built.Results[j]); refused != (tx == forged) {
					t.Fatalf("block %d tx %d: result %v", k, j, built.Results[j])
				}
			}
			if (built.Header != nil) != p.block {
				t.Fatalf("step %d: header %v, want a block: %v", k, built.Header, p.block)
			}
			if built.Header == nil {
				b.Discard()
				continue
			}
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			built.Committed()
			heads[i] = blocks.Next(built.Header)
		}
	}
	if heads[0] != heads[1] || heads[0].Height != 3 {
		t.Fatalf("heads %+v and %+v, want the same at height 3", heads[0], heads[1])
	}
	for height := uint64(1); height <= 3; height++ {
		a, _ := blocks.Header(dbs[0], height)
		b, _ := blocks.Header(dbs[1], height)
		if a == nil || b == nil || string(a.Bytes()) != string(b.Bytes()) {
			t.Fatalf("height %d: headers differ", height)
		}
		if txs, _ := blocks.Txs(dbs[0], height); height == 1 && len(txs) != 1 || height > 1 && len(txs) != 0 {
			t.Fatalf("height %d holds %d transactions", height, len(txs))
		}
	}
	if _, err := blocks.Verify(dbs[0], &gen, nil); err != nil {
		t.Fatalf("verify: %v", err)
	}
	dst, err := store.Open(filepath.Join(t.TempDir(), "replay"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if final, err := blocks.Replay(dbs[0], dst, &gen, nil); err != nil || final != heads[0].StateHash {
		t.Fatalf("replay: %s, %v; head state %s", final, err, heads[0].StateHash)
	}
}
