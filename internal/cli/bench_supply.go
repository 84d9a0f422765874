package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/state"
)

// bench supply (issue 17): supply events ingested with conservation
// checked.

func (e *env) benchSupplyCmd() *cobra.Command {
	var events, runs int
	var dir string
	c := &cobra.Command{
		Use:   "supply [--events N] [--runs R]",
		Short: "Measure supply events ingested per second, conservation checked (a two-party transfer counted as one event)",
		Long: `bench supply files --events supply events into a fresh embedded chain: 5
manufacturers commission boxes (serials) and lots, and pass them to 20
distributors and on to 100 hospitals, each transfer a shipment and its
receipt (two signatures, counted as one event), the hospitals consuming
part of what they receive. Every step is checked by the state machine as
it always is (who holds what, nothing out that did not come in). The
transactions are signed beforehand, so that the figure is the chain's,
not the signers'. It prints, per run, the events/s and the transactions/s;
the issue's goal is at least 20,000 events/s.`,
		Example: `  epiledger bench supply --events 200000 --runs 3`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if events < 100 || events > 10_000_000 || runs < 1 || runs > 20 {
				return errors.New("--events: 100 to 10,000,000; --runs: 1 to 20")
			}
			done, err := benchStart(cmd, &dir, "epiledger-bench-supply-")
			if err != nil {
				return err
			}
			defer done()
			w := newSupplyWorkload(events)
			fmt.Fprintf(e.stdout, "bench supply: %d events (%d transactions) per run, %d run(s)\n", w.events, len(w.txs), runs)
			for r := 0; r < runs; r++ {
				el, err := w.run(filepath.Join(dir, fmt.Sprintf("run-%d", r)))
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "run %d: %.0f events/s (%.0f transactions/s), %s\n", r+1, float64(w.events)/el.Seconds(), float64(len(w.txs))/el.Seconds(),
					el.Round(time.Millisecond))
			}
			return nil
		},
	}
	c.Flags().IntVar(&events, "events", 100000, "supply events per run")
	c.Flags().IntVar(&runs, "runs", 3, "runs, each into a fresh chain")
	c.Flags().StringVar(&dir, "dir", "", "where the chains are written (default: a temporary directory, removed after)")
	return c
}

const benchSupplyChain = "bench-supply"

// supplyWorkload is a bench's custodians and its signed transactions, in
// the order they are filed.
type supplyWorkload struct {
	makers, dists, hosps []ed25519.PrivateKey
	txs                  [][]byte
	events               int
	first                map[string]uint64 // what the first hospital ends with, by code
}

func benchKeys(prefix string, n int) []ed25519.PrivateKey {
	out := make([]ed25519.PrivateKey, n)
	for i := range out {
		out[i] = ed25519.NewKeyFromSeed(fmt.Appendf(make([]byte, 0, 32), "%-24s%08d", prefix, i)[:32])
	}
	return out
}

// newSupplyWorkload builds about n events: each round a manufacturer
// commissions a box and a lot of 1,000, ships both to a distributor (who
// receives them), which ships the box and 100 units to a hospital (which
// receives them and consumes 10).
func newSupplyWorkload(n int) *supplyWorkload {
	w := &supplyWorkload{makers: benchKeys("maker", 5), dists: benchKeys("dist", 20), hosps: benchKeys("hosp", 100), first: map[string]uint64{}}
	const gtin = "10614141073464"
	sign := func(k ed25519.PrivateKey, b *ledger.SupplyEvent) ledger.Hash {
		tx := ledger.NewTx(b)
		tx.Sign(benchSupplyChain, k)
		w.txs = append(w.txs, tx.Bytes())
		return tx.ID()
	}
	pubOf := func(k ed25519.PrivateKey) [32]byte { return [32]byte(k.Public().(ed25519.PublicKey)) }
	t := time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC).Unix()
	for i := 0; w.events < n; i++ {
		m, d, h := w.makers[i%len(w.makers)], w.dists[i%len(w.dists)], w.hosps[i%len(w.hosps)]
		box := ledger.SupplyItem{GTIN: gtin, Serial: fmt.Sprint("B", i), Qty: 1}
		lot := ledger.SupplyItem{GTIN: gtin, Lot: fmt.Sprint("L", i), Qty: 1000}
		part := lot
		part.Qty = 100
		t++
		sign(m, &ledger.SupplyEvent{Step: ledger.StepCommission, Items: []ledger.SupplyItem{box, lot}, Time: t, Expiry: "2025-01-31"})
		s1 := sign(m, &ledger.SupplyEvent{Step: ledger.StepShip, Items: []ledger.SupplyItem{box, lot}, Time: t, To: pubOf(d)})
		sign(d, &ledger.SupplyEvent{Step: ledger.StepReceive, Offer: s1, Time: t})
		s2 := sign(d, &ledger.SupplyEvent{Step: ledger.StepShip, Items: []ledger.SupplyItem{box, part}, Time: t, To: pubOf(h)})
		sign(h, &ledger.SupplyEvent{Step: ledger.StepReceive, Offer: s2, Time: t})
		used := part
		used.Qty = 10
		sign(h, &ledger.SupplyEvent{Step: ledger.StepConsume, Items: []ledger.SupplyItem{used}, Time: t})
		w.events += 4 // commission, two transfers, a consumption
		if i%len(w.hosps) == 0 {
			w.first[box.Code()], w.first[lot.Code()] = 1, 90
		}
	}
	return w
}

// run files the workload into a fresh chain and returns the time it took,
// from the first submission to the last commit.
func (w *supplyWorkload) run(dir string) (time.Duration, error) {
	h, err := home.Init(dir, home.InitOptions{ChainID: benchSupplyChain, Region: "420100"})
	if err != nil {
		return 0, err
	}
	n, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{Serving: true})
	if err != nil {
		return 0, err
	}
	defer n.Close()
	ctx := context.Background()
	grant := func(k ed25519.PrivateKey, role string) error {
		tx := ledger.NewTx(&ledger.GrantRole{Key: [32]byte(k.Public().(ed25519.PublicKey)), Role: role, Name: role})
		tx.Sign(benchSupplyChain, h.Authority())
		if r := n.Engine.Submit(ctx, tx.Bytes()); r.Err != nil {
			return fmt.Errorf("bench supply: granting %s: %w", role, r.Err)
		}
		return nil
	}
	for _, g := range []struct {
		keys []ed25519.PrivateKey
		role string
	}{{w.makers, ledger.RoleManufacturer}, {w.dists, ledger.RoleDistributor}, {w.hosps, ledger.RoleHospital}} {
		for _, k := range g.keys {
			if err := grant(k, g.role); err != nil {
				return 0, err
			}
		}
	}
	// A block, so that the roles are in force.
	if err := grant(benchKeys("auditor", 1)[0], ledger.RoleAuditor); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := submitAsync(n.Engine, w.txs, nil); err != nil {
		return 0, fmt.Errorf("bench supply: a step was refused: %w", err)
	}
	el := time.Since(start)
	// Conservation held: the first hospital holds what it was given less
	// what it used, item by item.
	got, err := state.Holdings(n.DB, [32]byte(w.hosps[0].Public().(ed25519.PublicKey)))
	if err != nil {
		return 0, err
	}
	for code, want := range w.first {
		if got[code] != want {
			return 0, fmt.Errorf("bench supply: the first hospital holds %d of %s, not %d", got[code], code, want)
		}
	}
	return el, nil
}

// benchStart starts a bench's CPU profile (the persistent --cpuprofile)
// and, if *dir is "", a temporary directory for its chains; done stops
// the one and removes the other.
func benchStart(cmd *cobra.Command, dir *string, pattern string) (done func(), err error) {
	var stops []func()
	done = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if prof, _ := cmd.Flags().GetString("cpuprofile"); prof != "" {
		stop, err := startCPUProfile(prof)
		if err != nil {
			return nil, err
		}
		stops = append(stops, stop)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", pattern)
		if err != nil {
			done()
			return nil, err
		}
		stops = append(stops, func() { os.RemoveAll(d) })
		*dir = d
	}
	return done, nil
}

// submitAsync submits raws to eng in order, without waiting for each, and
// waits for all their receipts; committed, if not nil, is called for each
// as it comes. It returns a refusal's error, if any.
func submitAsync(eng engine.Engine, raws [][]byte, committed func()) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	wg.Add(len(raws))
	for _, raw := range raws {
		if err := eng.SubmitAsync(raw, func(r engine.Receipt) {
			if committed != nil {
				committed()
			}
			if r.Err != nil {
				mu.Lock()
				failed = r.Err
				mu.Unlock()
			}
			wg.Done()
		}); err != nil {
			return err
		}
	}
	wg.Wait()
	return failed
}
