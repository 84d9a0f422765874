package comet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
)

// TestProposalUrgency (issue 15): a proposer puts a level I intelligence
// record submitted after level IV ones first, keeps the others in their
// order after them (level IV before the ordinary grant), and cuts at the
// block's size after the most urgent.
func TestProposalUrgency(t *testing.T) {
	h, err := home.Init(filepath.Join(t.TempDir(), "a"), home.InitOptions{ChainID: "urgency", Region: "420100"})
	if err != nil {
		t.Fatal(err)
	}
	app := openApp(t, h)
	_, k, _ := ed25519.GenerateKey(nil)
	record := func(level uint8, place string) []byte {
		tx := ledger.NewTx(&ledger.Intel{Dimension: "public", Level: level, Secrecy: "public", Time: 1_600_000_000, Region: "420100", Place: place, Endorsements: 1})
		tx.Sign(h.Genesis.ChainID, k)
		tx.Sign(h.Genesis.ChainID, h.Authority())
		return tx.Bytes()
	}
	grant := ledger.NewTx(&ledger.GrantRole{Key: [32]byte{1}, Role: "auditor", Name: "an auditor"})
	grant.Sign(h.Genesis.ChainID, h.Authority())
	iv1, iv2, g, iv3, i1 := record(4, "a"), record(4, "b"), grant.Bytes(), record(4, "c"), record(1, "urgent")
	in := [][]byte{iv1, iv2, g, iv3, i1}
	propose := func(max int64) [][]byte {
		t.Helper()
		r, err := app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{Txs: in, MaxTxBytes: max, Height: 1, Time: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return r.Txs
	}
	want := [][]byte{i1, iv1, iv2, iv3, g}
	got := propose(1 << 20)
	if len(got) != len(want) {
		t.Fatalf("%d transactions proposed, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("proposal position %d is not the expected transaction", i)
		}
	}
	if got := propose(int64(len(i1) + len(iv1))); len(got) != 2 || !bytes.Equal(got[0], i1) || !bytes.Equal(got[1], iv1) {
		t.Fatalf("a block of two: %d transactions", len(got))
	}
}
