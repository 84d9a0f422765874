package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/testnode"
)

// TestSubmitOrderAndReceipts: receipts come back for every transaction, in
// blocks, in submission order; a refused one gets its rejection and leaves
// no gap in the block's indexes; Close commits what was admitted.
func TestSubmitOrderAndReceipts(t *testing.T) {
	t.Parallel()
	h, n := testnode.New(t)
	var buf bytes.Buffer
	w := ndjson.NewWriter(&buf)
	w.Write(&ndjson.Site{Site: "s", Kind: "shop", Lat: 1, Lon: 1})
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 300; i++ {
		w.Write(&ndjson.Visit{Site: "s", Person: fmt.Sprintf("id:%d", i), In: base.Add(time.Duration(i) * time.Minute), Out: base.Add(time.Duration(i+1) * time.Minute)})
	}
	c := &importer.Collector{}
	if _, err := importer.New(h, c).Import(&buf); err != nil {
		t.Fatal(err)
	}
	c.Txs = append(c.Txs, c.Txs[5]) // a replay at the end
	receipts := make([]engine.Receipt, len(c.Txs))
	var wg sync.WaitGroup
	for i, raw := range c.Txs {
		wg.Add(1)
		i := i
		if err := n.Engine.SubmitAsync(raw, func(r engine.Receipt) { receipts[i] = r; wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	type pos struct {
		h uint64
		i uint32
	}
	var last pos
	for i, r := range receipts[:len(receipts)-1] {
		if r.Err != nil {
			t.Fatalf("tx %d: %v", i, r.Err)
		}
		p := pos{r.Height, r.Index}
		if i > 0 && !(p.h > last.h && p.i == 0 || p.h == last.h && p.i == last.i+1) {
			t.Fatalf("tx %d at %v after %v: out of order", i, p, last)
		}
		last = p
	}
	if rj, ok := state.IsRejection(receipts[len(receipts)-1].Err); !ok || rj.Code != state.CodeReplay {
		t.Fatalf("replay receipt: %v", receipts[len(receipts)-1].Err)
	}
	if err := n.Engine.Close(); err != nil {
		t.Fatal(err)
	}
	if r := n.Engine.Submit(context.Background(), c.Txs[0]); r.Err != engine.ErrClosed {
		t.Fatalf("submit after close: %v", r.Err)
	}
}

// BenchmarkIngest pushes a simulated city's pre-signed records through the
// solo engine (admission, batch verification, apply, durable commit), with
// trajectory validation. Reported: records/s.
func BenchmarkIngest(b *testing.B) { benchIngest(b, 2000, 7, nil) }

// BenchmarkIngestPlain is BenchmarkIngest without trajectory validation.
func BenchmarkIngestPlain(b *testing.B) { benchIngest(b, 2000, 7, testnode.NoValidation) }

// BenchmarkIngestCity is BenchmarkIngest on the 10,000-person, 14-day city.
func BenchmarkIngestCity(b *testing.B) { benchIngest(b, 10000, 14, nil) }

// BenchmarkIngestCityPlain is BenchmarkIngestCity without validation.
func BenchmarkIngestCityPlain(b *testing.B) { benchIngest(b, 10000, 14, testnode.NoValidation) }

func benchIngest(b *testing.B, people, days int, opt testnode.Option) {
	var buf bytes.Buffer
	if _, err := sim.Generate(sim.Config{People: people, Days: days, Seed: 1}, ndjson.NewWriter(&buf)); err != nil {
		b.Fatal(err)
	}
	text := buf.Bytes()
	b.ResetTimer()
	b.StopTimer()
	total := 0
	var el time.Duration
	for i := 0; i < b.N; i++ {
		// The engine and state alone: no resident timeline (epiledger
		// bench --resident measures what one costs).
		opts := []testnode.Option{testnode.StoreOnly}
		if opt != nil {
			opts = append(opts, opt)
		}
		h, n := testnode.New(b, opts...)
		c := &importer.Collector{}
		if _, err := importer.New(h, c).Import(bytes.NewReader(text)); err != nil {
			b.Fatal(err)
		}
		n.PutVault(c.Vault)
		var wg sync.WaitGroup
		b.StartTimer()
		start := time.Now()
		for _, raw := range c.Txs {
			wg.Add(1)
			n.Engine.SubmitAsync(raw, func(r engine.Receipt) {
				if r.Err != nil {
					panic(r.Err)
				}
				wg.Done()
			})
		}
		wg.Wait()
		el += time.Since(start)
		b.StopTimer()
		total += len(c.Txs)
		n.Close()
	}
	b.ReportMetric(float64(total)/el.Seconds(), "records/s")
}
