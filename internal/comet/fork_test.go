package comet_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/epiledger/epiledger/internal/comet"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// TestMempoolNeverForks: validators whose mempools admit the records at
// different moments (before the block that holds them, between its
// FinalizeBlock and Commit, after it; some never) reach the same
// application hash at every height. A city's records, then records two
// months later (every validation window closes).
func TestMempoolNeverForks(t *testing.T) {
	dir := t.TempDir()
	first, err := home.Init(filepath.Join(dir, "a"), home.InitOptions{ChainID: "fork", Region: "420100", Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var world bytes.Buffer
	if _, err := sim.Generate(sim.Config{People: 300, Days: 3, Seed: 3}, ndjson.NewWriter(&world)); err != nil {
		t.Fatal(err)
	}
	w := ndjson.NewWriter(&world)
	w.Write(&ndjson.Site{Site: "later", Kind: "office", Lat: 30.5, Lon: 114.3})
	later := sim.DefaultStart().Add(60 * 24 * time.Hour)
	for i := 0; i < 300; i++ {
		w.Write(&ndjson.Visit{Site: "later", Person: fmt.Sprintf("id:later-%04d", i), In: later.Add(time.Duration(i) * time.Second), Out: later.Add(time.Duration(i+1800) * time.Second)})
	}
	c := &importer.Collector{}
	if _, err := importer.New(first, c).Import(&world); err != nil {
		t.Fatal(err)
	}
	var blocks [][][]byte
	for lo := 0; lo < len(c.Txs); lo += 400 {
		blocks = append(blocks, c.Txs[lo:min(lo+400, len(c.Txs))])
	}
	// Block times as on a node importing past records: years later.
	blockTime := func(b int) time.Time { return time.Date(2026, 12, 5, 12, 0, b, 0, time.UTC) }

	// Validator 0 admits nothing; 1, 2 and 3 admit records before,
	// between or after the block's FinalizeBlock and Commit; 4 at all
	// three moments.
	timings := []string{"", "before", "between", "after"}
	var want [][]byte
	refused := 0
	defer func() { t.Logf("%d records in %d blocks, %d refused", len(c.Txs), len(blocks), refused) }()
	for v := 0; v <= 4; v++ {
		h, err := home.Clone(first, filepath.Join(dir, fmt.Sprint(v)))
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(h.DataDir(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		app, err := comet.NewApp(db, state.New(db, h.Genesis), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(v), 9))
		// check admits a random run of records near block b (validator
		// 0 admits none).
		check := func(b int, when string) {
			if v == 0 || v < 4 && when != timings[v] {
				return
			}
			for k := 0; k < 3; k++ {
				bb := min(len(blocks)-1, b+rng.IntN(3))
				txs := blocks[bb]
				lo := rng.IntN(len(txs))
				for _, raw := range txs[lo:min(len(txs), lo+rng.IntN(200))] {
					if _, err := app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		for b, txs := range blocks {
			check(b, "before")
			res, err := app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: txs, Height: int64(b + 1), Time: blockTime(b)})
			if err != nil {
				t.Fatal(err)
			}
			check(b, "between")
			if _, err := app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
				t.Fatal(err)
			}
			check(b, "after")
			if v == 0 {
				for _, r := range res.TxResults {
					if r.Code != 0 {
						refused++
					}
				}
				want = append(want, res.AppHash)
			} else if !bytes.Equal(res.AppHash, want[b]) {
				t.Fatalf("validator %d: block %d of %d: app hash %x, validator 0 (no mempool) %x", v, b+1, len(blocks), res.AppHash, want[b])
			}
		}
		db.Close()
	}
}
