package comet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// TestCheckTxLeavesNoTrace: what the mempool's door admits (CheckTx, at
// any point: before the block, between FinalizeBlock and Commit, or
// after) changes nothing of the state a block leaves; two validators
// whose mempools saw the block's transactions at different moments reach
// the same application hash.
func TestCheckTxLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	first, err := home.Init(filepath.Join(dir, "a"), home.InitOptions{ChainID: "check", Region: "420100", Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	_, siteKey, _ := ed25519.GenerateKey(nil)
	var pub [32]byte
	copy(pub[:], siteKey.Public().(ed25519.PublicKey))
	reg := ledger.NewTx(&ledger.RegisterSite{Site: "s1", Kind_: "office", LatE6: 30500000, LonE6: 114300000, Region: "420100", Key: pub})
	reg.Sign(first.Genesis.ChainID, first.Authority())
	all := [][]byte{reg.Bytes()}
	base := time.Date(2020, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < 30; i++ {
		in := base.Add(time.Duration(i) * time.Hour)
		v := ledger.NewTx(&ledger.Visit{Site: "s1", Person: ledger.PersonRef{Ref: ledger.Pseudonym(sha256.Sum256([]byte(fmt.Sprintf("p%03d", i%10))))}, In: in.Unix(), Out: in.Add(30 * time.Minute).Unix()})
		v.Sign(first.Genesis.ChainID, siteKey)
		all = append(all, v.Bytes())
	}
	// Two months on: new persons and an old one, far past every window.
	for i := 0; i < 10; i++ {
		in := base.Add(60*24*time.Hour + time.Duration(i)*time.Minute)
		who := fmt.Sprintf("q%03d", i)
		if i == 0 {
			who = "p000"
		}
		v := ledger.NewTx(&ledger.Visit{Site: "s1", Person: ledger.PersonRef{Ref: ledger.Pseudonym(sha256.Sum256([]byte(who)))}, In: in.Unix(), Out: in.Add(30 * time.Minute).Unix()})
		v.Sign(first.Genesis.ChainID, siteKey)
		all = append(all, v.Bytes())
	}
	cap := struct{ Txs [][]byte }{all}
	blocks := [][][]byte{cap.Txs[:1], cap.Txs[1:11], cap.Txs[11:21], cap.Txs[21:31], {}, cap.Txs[31:36], cap.Txs[36:]}

	blockTime := func(b int) time.Time {
		if b >= 4 {
			return base.Add(62*24*time.Hour + time.Duration(b)*time.Minute)
		}
		return base.Add(time.Duration(b+40) * time.Hour)
	}
	run := func(name string, check func(app *App, step string, b int)) []byte {
		h, err := home.Clone(first, filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(h.DataDir(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		app, err := NewApp(db, state.New(db, h.Genesis), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		var hash []byte
		for b, txs := range blocks {
			check(app, "before", b)
			res, err := app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: txs, Height: int64(b + 1), Time: blockTime(b)})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res.TxResults {
				if r.Code != 0 {
					t.Fatalf("%s: block %d tx %d refused: %s", name, b, i, r.Log)
				}
			}
			check(app, "between", b)
			if _, err := app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
				t.Fatal(err)
			}
			check(app, "after", b)
			hash = res.AppHash
		}
		check(app, "end", -1)
		return hash
	}
	checkAt := func(when string, which int) func(*App, string, int) {
		return func(app *App, step string, b int) {
			if step != when {
				return
			}
			for _, k := range []int{b, b + which, b + 2*which, b + 3*which} {
				if k >= len(blocks) {
					continue
				}
				for _, raw := range blocks[k] {
					app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
				}
			}
		}
	}
	want := run("none", func(*App, string, int) {})
	// CheckTx on another goroutine, all the while (the mempool has its
	// own connection to the application).
	var stop atomic.Bool
	var wg sync.WaitGroup
	concurrent := func(app *App, step string, b int) {
		if step == "end" {
			stop.Store(true)
			wg.Wait()
		}
		if step != "before" || b != 0 {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				for _, raw := range cap.Txs {
					app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
				}
			}
		}()
	}
	got := run("concurrent", concurrent)
	if !bytes.Equal(got, want) {
		t.Errorf("CheckTx concurrently: app hash %x, want %x", got, want)
	}
	for _, when := range []string{"before", "between", "after"} {
		for _, which := range []int{0, 1} {
			name := fmt.Sprintf("%s-%d", when, which)
			if got := run(name, checkAt(when, which)); !bytes.Equal(got, want) {
				t.Errorf("CheckTx %s the block (and of block+%d): app hash %x, want %x", when, which, got, want)
			}
		}
	}
}
