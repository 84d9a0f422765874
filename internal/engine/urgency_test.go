package engine_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
)

// TestUrgencyOrdersTheQueue (issue 15): under load a block is cut from
// the most urgent transactions first. A level I intelligence record
// submitted after a backlog of seven level IV records (two blocks of four
// on a paused engine) commits in the first block, ahead of them; without
// the ordering it would be in the second, after all of them.
func TestUrgencyOrdersTheQueue(t *testing.T) {
	t.Parallel()
	h, err := home.Init(filepath.Join(t.TempDir(), "home"), home.InitOptions{ChainID: "test-chain", Region: "420100"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, n3, _ := ed25519.GenerateKey(nil)
	_, n2, _ := ed25519.GenerateKey(nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	{
		n, err := node.Open(h, log, node.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range []struct {
			k    ed25519.PrivateKey
			role string
		}{{n3, ledger.RoleN3}, {n2, ledger.RoleN2}} {
			tx := ledger.NewTx(&ledger.GrantRole{Key: [32]byte(g.k.Public().(ed25519.PublicKey)), Role: g.role, Name: g.role})
			tx.Sign(h.Genesis.ChainID, h.Authority())
			if r := n.Engine.Submit(ctx, tx.Bytes()); r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		n.Close()
	}
	cfg := engine.DefaultSoloConfig()
	cfg.MaxTxs, cfg.Paused = 4, true
	n, err := node.Open(h, log, node.Options{Solo: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	record := func(level uint8, i int) []byte {
		tx := ledger.NewTx(&ledger.Intel{Dimension: "public", Level: level, Secrecy: "public", Time: time.Now().Unix() - int64(60+i),
			Region: "420100", Place: "a backlog", Endorsements: 1})
		tx.Sign(h.Genesis.ChainID, n3)
		tx.Sign(h.Genesis.ChainID, n2)
		return tx.Bytes()
	}
	receipts := make([]engine.Receipt, 8)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		level := uint8(4)
		if i == 7 {
			level = 1 // submitted last
		}
		wg.Add(1)
		i := i
		if err := n.Engine.SubmitAsync(record(level, i), func(r engine.Receipt) { receipts[i] = r; wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	n.Engine.(*engine.Solo).Resume()
	wg.Wait()
	first, last := receipts[7].Height, uint64(0)
	for i, r := range receipts {
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
		last = max(last, r.Height)
	}
	if receipts[7].Index != 0 || first >= last {
		t.Fatalf("the level I record at height %d index %d, the backlog up to height %d: not first", first, receipts[7].Index, last)
	}
	for i, r := range receipts[:7] {
		if r.Height < first {
			t.Errorf("level IV record %d at height %d, before the level I record's %d", i, r.Height, first)
		}
	}
}
