package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/bench"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/state"
)

// bench supply (issue 17): supply events ingested with conservation
// checked, and the public check of a code on the chain they make.

func (e *env) benchSupplyCmd() *cobra.Command {
	var events, runs, checks int
	var seed uint64
	var dir string
	var noPostgres, spread, cold bool
	c := &cobra.Command{
		Use:   "supply [--events N] [--runs R] [--checks Q]",
		Short: "Measure supply events ingested per second (conservation checked) and, with --checks, the public check of a code against PostgreSQL",
		Long: `bench supply files --events supply events into a fresh embedded chain: 5
manufacturers commission boxes (serials) and lots, and pass them to 20
distributors and on to 100 hospitals, each transfer a shipment and its
receipt (two signatures, counted as one event), the hospitals consuming
part of what they receive; every 50th round a hospital scans a serial no
one commissioned, which raises a counterfeit signal. A round's steps are
filed one after the other, so an item's steps are mostly in one block;
with --spread each step of a round is filed 1,000 rounds (some 6,000
transactions, more than a block) after the one before, so that they are
in blocks of their own, as steps days apart are. Every step is
checked by the state machine as it always is (who holds what, nothing out
that did not come in). The transactions are signed beforehand, 100,000
rounds (some 600,000 transactions) at a time, so that the figure is the
chain's, not the signers', and memory stays bounded: each batch is filed
and committed before the next is signed. It prints, per run, the events/s
and the transactions/s; the issue's goal is at least 20,000 events/s.

With --checks Q, after the last run it times Q public checks of codes
(GET /v1/public/supply/{code}, through the API's handler in process: the
provenance, each step's Merkle inclusion proof, the JSON), drawn with
--seed from what the workload made: boxes and lots (45% each), serials
that were only scanned as counterfeits (5%, each with a signal) and codes
never named (5%). First the upper levels of the blocks' Merkle trees are
loaded, as epiledger node loads them in the background when it starts,
so that a proof reads and hashes the 64 transactions around its own;
--cold times the checks without them, as on a node just started (a
block's first proof hashes the whole block). It prints the median, 90th
and 99th percentiles and the slowest, and the answers' mean number of
steps and blocks; the issue's goal is a p99 under 10 ms on 10 million
events. In the same run the same
steps, items, holdings and signals are copied into a PostgreSQL server the
bench starts itself (the binaries on PATH or in /usr/lib/postgresql/N/bin),
and the same checks are timed there, interleaved with ours: four queries
(the item, its steps in block order, who holds it, its signals) sent as
one batch, the rows read into the same answer and encoded as JSON; every
answer is compared with ours. PostgreSQL gives no proofs, so its answer
does less work. Without PostgreSQL it says so and times only ours.
Progress goes to stderr.`,
		Example: `  epiledger bench supply --events 200000 --runs 3
  epiledger bench supply --events 1000000 --runs 1 --spread --checks 2000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if events < 100 || events > 10_000_000 || runs < 1 || runs > 20 || checks < 0 || checks > 1_000_000 {
				return errors.New("--events: 100 to 10,000,000; --runs: 1 to 20; --checks: 0 to 1,000,000")
			}
			done, err := benchStart(cmd, &dir, "epiledger-bench-supply-")
			if err != nil {
				return err
			}
			defer done()
			w := newSupplyWorkload(events, spread)
			fmt.Fprintf(e.stdout, "bench supply: %d events (%d transactions) per run, %d run(s)\n", w.events, w.txs, runs)
			for r := 0; r < runs; r++ {
				n, el, err := w.run(filepath.Join(dir, fmt.Sprintf("run-%d", r)), func(filed int, el time.Duration) {
					fmt.Fprintf(e.stderr, "bench supply: run %d: %d of %d transactions filed in %s\n", r+1, filed, w.txs, el.Round(time.Second))
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "run %d: %.0f events/s (%.0f transactions/s), %s\n", r+1, float64(w.events)/el.Seconds(), float64(w.txs)/el.Seconds(),
					el.Round(time.Millisecond))
				if r < runs-1 || checks == 0 {
					if err := n.Close(); err != nil {
						return err
					}
					continue
				}
				defer n.Close()
				codes, drawn := w.draw(checks, seed)
				fmt.Fprintf(e.stdout, "public check: %d codes of run %d's chain, drawn with seed %d: %d boxes, %d lots, %d scanned counterfeits, %d never named\n",
					checks, r+1, seed, drawn[0], drawn[1], drawn[2], drawn[3])
				res, err := bench.SupplyCheck(e.ctx, n, bench.SupplyCheckConfig{Codes: codes, Dir: dir, NoPostgres: noPostgres, Cold: cold, Log: e.stderr})
				if err != nil {
					return err
				}
				return bench.WriteSupplyCheck(e.stdout, res)
			}
			return nil
		},
	}
	c.Flags().IntVar(&events, "events", 100000, "supply events per run")
	c.Flags().IntVar(&runs, "runs", 3, "runs, each into a fresh chain")
	c.Flags().StringVar(&dir, "dir", "", "where the chains (and PostgreSQL's data) are written (default: a temporary directory, removed after)")
	c.Flags().IntVar(&checks, "checks", 0, "after the last run, time this many public checks of codes, and PostgreSQL's model of them (0: none)")
	c.Flags().Uint64Var(&seed, "seed", 1, "random seed of the codes checked")
	c.Flags().BoolVar(&noPostgres, "no-postgres", false, "time only epiledger's checks")
	c.Flags().BoolVar(&cold, "cold", false, "time the checks before the blocks' Merkle levels are loaded, as on a node just started")
	c.Flags().BoolVar(&spread, "spread", false, "file each step of a round 1,000 rounds after the one before, so that an item's steps are in different blocks")
	return c
}

const benchSupplyChain = "bench-supply"

// supplyRounds is how many rounds are signed at once (some 600,000
// transactions, 170 MB): a workload of 10 million events is signed and
// filed in 25 such batches, never held whole.
const supplyRounds = 100_000

// supplyWorkload is a bench's custodians and its rounds of steps.
type supplyWorkload struct {
	makers, dists, hosps []ed25519.PrivateKey
	rounds               int
	events, txs          int
	first                map[string]uint64 // what the first hospital ends with, by code
	// lag is the rounds between two steps of one round's items (0: a
	// round's steps are filed together).
	lag    int
	signed [][][]byte // every round's transactions, when they fit one batch
}

func benchKeys(prefix string, n int) []ed25519.PrivateKey {
	out := make([]ed25519.PrivateKey, n)
	for i := range out {
		out[i] = ed25519.NewKeyFromSeed(fmt.Appendf(make([]byte, 0, 32), "%-24s%08d", prefix, i)[:32])
	}
	return out
}

const benchGTIN = "10614141073464"

// The items of round i: a box, a lot, and on scan rounds a serial no one
// commissioned.
func roundBox(i int) ledger.SupplyItem {
	return ledger.SupplyItem{GTIN: benchGTIN, Serial: fmt.Sprint("B", i), Qty: 1}
}
func roundLot(i int) ledger.SupplyItem {
	return ledger.SupplyItem{GTIN: benchGTIN, Lot: fmt.Sprint("L", i), Qty: 1000}
}
func roundFake(i int) ledger.SupplyItem {
	return ledger.SupplyItem{GTIN: benchGTIN, Serial: fmt.Sprint("X", i), Qty: 1}
}
func scanRound(i int) bool { return i%50 == 25 }

// newSupplyWorkload sizes a workload of at least n events: each round a
// manufacturer commissions a box and a lot of 1,000, ships both to a
// distributor (who receives them), which ships the box and 100 units to a
// hospital (which receives them and consumes 10); every 50th round the
// hospital also scans a counterfeit serial. Spread, each step is filed
// supplyLag rounds after the one before.
func newSupplyWorkload(n int, spread bool) *supplyWorkload {
	w := &supplyWorkload{makers: benchKeys("maker", 5), dists: benchKeys("dist", 20), hosps: benchKeys("hosp", 100), first: map[string]uint64{}}
	if spread {
		w.lag = supplyLag
	}
	for ; w.events < n; w.rounds++ {
		i := w.rounds
		w.events, w.txs = w.events+4, w.txs+6 // commission, two transfers, a consumption
		if scanRound(i) {
			w.events, w.txs = w.events+1, w.txs+1
		}
		if i%len(w.hosps) == 0 {
			w.first[roundBox(i).Code()], w.first[roundLot(i).Code()] = 1, 90
		}
	}
	return w
}

// round returns round i's transactions, signed, in filing order.
func (w *supplyWorkload) round(i int) [][]byte {
	var out [][]byte
	sign := func(k ed25519.PrivateKey, b *ledger.SupplyEvent) ledger.Hash {
		tx := ledger.NewTx(b)
		tx.Sign(benchSupplyChain, k)
		out = append(out, tx.Bytes())
		return tx.ID()
	}
	pubOf := func(k ed25519.PrivateKey) [32]byte { return [32]byte(k.Public().(ed25519.PublicKey)) }
	t := time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC).Unix() + int64(i) + 1
	m, d, h := w.makers[i%len(w.makers)], w.dists[i%len(w.dists)], w.hosps[i%len(w.hosps)]
	box, lot := roundBox(i), roundLot(i)
	part := lot
	part.Qty = 100
	sign(m, &ledger.SupplyEvent{Step: ledger.StepCommission, Items: []ledger.SupplyItem{box, lot}, Time: t, Expiry: "2025-01-31"})
	s1 := sign(m, &ledger.SupplyEvent{Step: ledger.StepShip, Items: []ledger.SupplyItem{box, lot}, Time: t, To: pubOf(d)})
	sign(d, &ledger.SupplyEvent{Step: ledger.StepReceive, Offer: s1, Time: t})
	s2 := sign(d, &ledger.SupplyEvent{Step: ledger.StepShip, Items: []ledger.SupplyItem{box, part}, Time: t, To: pubOf(h)})
	sign(h, &ledger.SupplyEvent{Step: ledger.StepReceive, Offer: s2, Time: t})
	used := part
	used.Qty = 10
	sign(h, &ledger.SupplyEvent{Step: ledger.StepConsume, Items: []ledger.SupplyItem{used}, Time: t})
	if scanRound(i) {
		sign(h, &ledger.SupplyEvent{Step: ledger.StepObserve, Items: []ledger.SupplyItem{roundFake(i)}, Time: t})
	}
	return out
}

// sign returns the transactions of rounds [lo, hi), round by round,
// signed on every core.
func (w *supplyWorkload) sign(lo, hi int) [][][]byte {
	if lo >= hi {
		return nil
	}
	if lo == 0 && hi == w.rounds && w.signed != nil {
		return w.signed
	}
	per := make([][][]byte, hi-lo)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for k := range workers {
		wg.Go(func() {
			for i := lo + k; i < hi; i += workers {
				per[i-lo] = w.round(i)
			}
		})
	}
	wg.Wait()
	if lo == 0 && hi == w.rounds {
		w.signed = per // one batch: signed once for every run
	}
	return per
}

// supplyLag is --spread's lag: 1,000 rounds, some 6,000 transactions,
// more than a block holds (4,096), so that each step of an item is in a
// block of its own, as steps days apart are.
const supplyLag = 1000

// batches calls file with the transactions in filing order, a batch of
// supplyRounds ticks at a time, each batch signed just before. At tick t
// the k-th step of round t - k*lag is filed (a round's commissioning,
// shipment, receipt, shipment, receipt, consumption and scan): with no
// lag a round's steps one after the other.
func (w *supplyWorkload) batches(file func(txs [][]byte) error) error {
	ticks := w.rounds + 6*w.lag
	var prev, cur [][][]byte // the rounds of the last batch and this one
	for lo := 0; lo < ticks; lo += supplyRounds {
		hi := min(lo+supplyRounds, ticks)
		prev, cur = cur, w.sign(min(lo, w.rounds), min(hi, w.rounds))
		var txs [][]byte
		for t := lo; t < hi; t++ {
			for k := 0; k <= 6; k++ {
				i := t - k*w.lag
				if i < 0 || i >= w.rounds {
					continue
				}
				steps := prev
				if i >= lo {
					steps, i = cur, i-lo
				} else {
					i -= lo - supplyRounds
				}
				if k < len(steps[i]) {
					txs = append(txs, steps[i][k])
				}
			}
		}
		if err := file(txs); err != nil {
			return err
		}
	}
	return nil
}

// draw returns q codes to check, drawn with seed: a round's box or lot
// (45% each), a scan round's counterfeit serial (5%) or a code never
// named (5%); drawn counts them in that order.
func (w *supplyWorkload) draw(q int, seed uint64) (codes []ledger.SupplyItem, drawn [4]int) {
	rng := rand.New(rand.NewPCG(seed, 17))
	scans := (w.rounds + 24) / 50 // rounds 25, 75, ...
	for range q {
		i := rng.IntN(w.rounds)
		k := rng.IntN(20)
		switch {
		case k < 9:
			codes, drawn[0] = append(codes, roundBox(i)), drawn[0]+1
		case k < 18:
			codes, drawn[1] = append(codes, roundLot(i)), drawn[1]+1
		case k == 18 && scans > 0:
			codes, drawn[2] = append(codes, roundFake(25+50*rng.IntN(scans))), drawn[2]+1
		default:
			never := ledger.SupplyItem{GTIN: benchGTIN, Serial: fmt.Sprint("N", i), Qty: 1}
			if k%2 == 1 {
				never = ledger.SupplyItem{GTIN: benchGTIN, Lot: fmt.Sprint("M", i), Qty: 1}
			}
			codes, drawn[3] = append(codes, never), drawn[3]+1
		}
	}
	return codes, drawn
}

// run files the workload into a fresh chain, supplyRounds rounds at a
// time (each signed, then filed and committed), and returns the node,
// open, and the time the filing took: from each batch's first submission
// to its last commit, summed. progress, if not nil, is called after each
// batch but the last.
func (w *supplyWorkload) run(dir string, progress func(filed int, el time.Duration)) (*node.Node, time.Duration, error) {
	h, err := home.Init(dir, home.InitOptions{ChainID: benchSupplyChain, Region: "420100"})
	if err != nil {
		return nil, 0, err
	}
	n, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{Serving: true})
	if err != nil {
		return nil, 0, err
	}
	el, err := w.file(n, progress)
	if err != nil {
		n.Close()
		return nil, 0, err
	}
	return n, el, nil
}

// file grants the custodians their roles, files the workload into n and
// checks the first hospital's holdings.
func (w *supplyWorkload) file(n *node.Node, progress func(filed int, el time.Duration)) (time.Duration, error) {
	ctx := context.Background()
	grant := func(k ed25519.PrivateKey, role string) error {
		tx := ledger.NewTx(&ledger.GrantRole{Key: [32]byte(k.Public().(ed25519.PublicKey)), Role: role, Name: role})
		tx.Sign(benchSupplyChain, n.Home.Authority())
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
	var el time.Duration
	filed := 0
	if err := w.batches(func(txs [][]byte) error {
		start := time.Now()
		if err := submitAsync(n.Engine, txs, nil); err != nil {
			return fmt.Errorf("bench supply: a step was refused: %w", err)
		}
		el += time.Since(start)
		if filed += len(txs); progress != nil && filed < w.txs {
			progress(filed, el)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	if filed != w.txs {
		return 0, fmt.Errorf("bench supply: %d transactions filed, not %d", filed, w.txs)
	}
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
