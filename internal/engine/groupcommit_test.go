package engine_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
)

// TestLoneRecordDoesNotWaitForTheInterval: with a block interval of an
// hour, lone records submitted one after the other are each committed
// (group commit: a block is cut as soon as the one before is durable).
// Without group commit the first Submit would wait the hour; the test
// then fails on its context's deadline, not on a timing it measures.
func TestLoneRecordDoesNotWaitForTheInterval(t *testing.T) {
	t.Parallel()
	h, err := home.Init(filepath.Join(t.TempDir(), "home"), home.InitOptions{ChainID: "test-chain", Region: "420100"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.DefaultSoloConfig()
	cfg.Interval = time.Hour
	n, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{Solo: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var buf bytes.Buffer
	w := ndjson.NewWriter(&buf)
	w.Write(&ndjson.Site{Site: "s", Kind: "shop", Lat: 1, Lon: 1})
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		w.Write(&ndjson.Visit{Site: "s", Person: "id:P1", In: base.Add(time.Duration(2*i) * time.Hour), Out: base.Add(time.Duration(2*i+1) * time.Hour)})
	}
	c := &importer.Collector{}
	if _, err := importer.New(h, c).Import(&buf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var height uint64
	for i, raw := range c.Txs {
		r := n.Engine.Submit(ctx, raw)
		if r.Err != nil {
			t.Fatalf("record %d alone: %v", i, r.Err)
		}
		if r.Height <= height {
			t.Fatalf("record %d at height %d after %d: not a block of its own", i, r.Height, height)
		}
		height = r.Height
	}
}
