package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/state"
)

// bench warning (issue 16): what the warning rules cost the ingest.

func (e *env) benchWarningCmd() *cobra.Command {
	var cards, rules, pairs, districts, hierarchy, days, history int
	var dir string
	c := &cobra.Command{
		Use:   "warning [--cards N] [--rules R] [--pairs P] [--days D] [--history H] | --hierarchy N",
		Short: "Measure report-card ingest with R active warning rules against none, in the same run",
		Long: `bench warning measures what the warning rules cost: a simulated province
(--districts home districts, every disease) files --cards report cards,
signed beforehand by 50 doctors, into a fresh embedded chain with no rule,
then into another with --rules active rules on every disease (a threshold
rule per disease, and EARS C1, C2, C3 rules on the commonest), each card
running its disease's rules on its district's counts inside the state
machine. By default every card is reported on one day, a day of peak
load, with no past: the EARS rules then alarm on most districts and
nearly every card joins an alert (the worst case for the alerts'
bookkeeping). --days D spreads the cards over D days (the chain's block
times simulated, a day passing for every cards/D cards committed) after
--history H days filed at the same rate before the timing starts, so
that each district's counts have a past and alarms are as rare as the
counts make them; with few cards a day, each rule's work per district
and day (its past series and bound, done once a day in real time) then
falls on one card or two, compressed into the run. The two runs alternate --pairs times;
it prints each rate in cards/s, each ratio (with rules / without), the
alerts the rules raised, and the median ratio. The issue's goal: at
least 90%.

--hierarchy N instead times, N times, a card that trips a rule on a
district chain to its alert on the national chain: four solo chains in
this process (district, city, province, nation) serving their APIs on
loopback; the alert committed in the card's block, then each level's N2
(automated here: a person's confirmation takes what it takes) confirms
it and the relays anchor and carry it up. It prints p50 and p99 of both.`,
		Example: `  epiledger bench warning --cards 50000 --rules 20 --pairs 3
  epiledger bench warning --hierarchy 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if hierarchy < 0 || hierarchy > 10000 {
				return errors.New("--hierarchy: 1 to 10000 alerts")
			}
			if cards < 1 || cards > 10_000_000 || rules < 0 || rules > 200 || pairs < 1 || pairs > 20 || districts < 1 || districts > 999 {
				return errors.New("--cards 1 to 10,000,000, --rules 0 to 200, --pairs 1 to 20, --districts 1 to 999")
			}
			done, err := benchStart(cmd, &dir, "epiledger-bench-warning-")
			if err != nil {
				return err
			}
			defer done()
			if hierarchy > 0 {
				return e.benchWarningHierarchy(dir, hierarchy)
			}
			if days < 1 || days > 3660 || days > cards || history < 0 || history > 3660 {
				return errors.New("--days: 1 to 3660, and at most --cards; --history: 0 to 3660")
			}
			return e.benchWarning(dir, cards, rules, pairs, districts, days, history)
		},
	}
	c.Flags().IntVar(&cards, "cards", 20000, "report cards filed in each run")
	c.Flags().IntVar(&rules, "rules", 20, "active warning rules in the run with rules")
	c.Flags().IntVar(&pairs, "pairs", 3, "runs without and with rules, alternating")
	c.Flags().IntVar(&districts, "districts", 96, "home districts of the simulated province")
	c.Flags().IntVar(&days, "days", 1, "reporting days the cards spread over")
	c.Flags().IntVar(&history, "history", 0, "days of cards filed (at the same rate, untimed) before the timed days")
	c.Flags().IntVar(&hierarchy, "hierarchy", 0, "time N alerts from the tripping card to the national chain instead")
	c.Flags().StringVar(&dir, "dir", "", "where the chains are written (default: a temporary directory, removed after)")
	return c
}

// benchRules are n warning rules on every disease: a threshold rule per
// disease, then EARS rules on the diseases in turn.
func benchRules(n int) []*ledger.WarningRule {
	var out []*ledger.WarningRule
	methods := []string{ledger.RuleEARSC1, ledger.RuleEARSC2, ledger.RuleEARSC3}
	for i := 0; len(out) < n; i++ {
		d := ledger.Diseases[i%len(ledger.Diseases)]
		r := &ledger.WarningRule{Name: fmt.Sprintf("rule-%d", i), Disease: d, Level: 3, Active: true}
		if i < len(ledger.Diseases) {
			r.Method, r.Cases, r.Days = ledger.RuleThreshold, 50, 7
		} else {
			r.Method, r.MinSigma = methods[i%len(methods)], 1_000_000
		}
		out = append(out, r)
	}
	return out
}

func (e *env) benchWarning(dir string, cards, rules, pairs, districts, days, history int) error {
	// The cards, signed once, filed into every run's chain: each run's
	// genesis differs (its own chain id would change the signatures), so
	// every run uses one chain id and its own directory.
	rng := rand.New(rand.NewPCG(1, 2))
	doctors := make([]ed25519.PrivateKey, 50)
	for i := range doctors {
		doctors[i] = ed25519.NewKeyFromSeed(fmt.Appendf(make([]byte, 0, 32), "%032d", i))
	}
	hospital := ed25519.NewKeyFromSeed([]byte("bench-warning-hospital-key-seed!"))
	// The first reporting day, history+days-1 days ago: every card's
	// onset.
	first := time.Now().Add(-time.Duration(history+days-1) * 24 * time.Hour)
	onset := first.In(time.FixedZone("CST", state.DayOffset)).Format(ledger.OnsetLayout)
	homes := make([]string, districts)
	for i := range homes {
		homes[i] = fmt.Sprintf("32%02d%02d", 1+i/12, 2+i%12)
	}
	const chainID = "bench-warning"
	raws := make([][]byte, cards+cards/days*history)
	for i := range raws {
		var p ledger.Pseudonym
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		f := ledger.CardFields{Disease: ledger.Diseases[rng.IntN(len(ledger.Diseases))], Class: ledger.Classifications[rng.IntN(3)], Onset: onset,
			Patient: p, AgeBand: uint8(rng.IntN(21)), Sex: ledger.Sexes[rng.IntN(3)], Home: homes[rng.IntN(len(homes))]}
		tx, err := ledger.Build(&ledger.ReportCard{CardFields: f})
		if err != nil {
			return err
		}
		tx.Sign(chainID, doctors[i%len(doctors)])
		raws[i] = tx.Bytes()
	}
	fmt.Fprintf(e.stdout, "bench warning: %d report cards per run over %d day(s) after %d untimed day(s), %d home districts, %d rules against none, %d pair(s)\n",
		cards, days, history, districts, rules, pairs)
	var ratios []float64
	for p := 0; p < pairs; p++ {
		var rate [2]float64
		var alerts int
		for k, n := range []int{0, rules} {
			r, a, err := benchWarningRun(filepath.Join(dir, fmt.Sprintf("run-%d-%d", p, k)), chainID, hospital, doctors, benchRules(n), raws[:len(raws)-cards], raws[len(raws)-cards:], first, cards/days)
			if err != nil {
				return err
			}
			rate[k], alerts = r, a
		}
		ratios = append(ratios, rate[1]/rate[0])
		fmt.Fprintf(e.stdout, "pair %d: no rule %.0f cards/s, %d rules %.0f cards/s: %.1f%% (%d alerts raised)\n", p+1, rate[0], rules, rate[1], 100*rate[1]/rate[0], alerts)
	}
	slices.Sort(ratios)
	fmt.Fprintf(e.stdout, "median ratio: %.1f%% of the ingest without rules (goal: at least 90%%)\n", 100*ratios[len(ratios)/2])
	return nil
}

// benchWarningRun files past, then (timed) raws into a fresh chain with
// rules set, its block times from day first on, a day passing for every
// perDay cards committed, and returns the cards/s and the alerts raised.
func benchWarningRun(dir, chainID string, hospital ed25519.PrivateKey, doctors []ed25519.PrivateKey, rules []*ledger.WarningRule, past, raws [][]byte,
	first time.Time, perDay int) (float64, int, error) {
	// The genesis before the first day: a block's time never goes back
	// before its chain's.
	h, err := home.Init(dir, home.InitOptions{ChainID: chainID, Region: "320000", Time: first.Add(-time.Hour)})
	if err != nil {
		return 0, 0, err
	}
	var filed atomic.Int64
	began := time.Now()
	cfg := engine.SoloConfig{Interval: h.Config.Engine.BlockInterval.Duration, MaxTxs: h.Config.Engine.MaxBlockTxs, MaxBytes: h.Config.Engine.MaxBlockBytes,
		Clock: func() time.Time {
			return first.Add(time.Duration(filed.Load()/int64(perDay))*24*time.Hour + time.Since(began))
		}}
	// Blocks of at most a quarter of a day's cards, so that the days
	// follow the cards in (a block's receipts come a block or two late).
	cfg.MaxTxs = min(cfg.MaxTxs, max(64, perDay/4))
	n, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{Serving: true, Solo: &cfg})
	if err != nil {
		return 0, 0, err
	}
	defer n.Close()
	ctx := context.Background()
	submit := func(b ledger.Body, keys ...ed25519.PrivateKey) error {
		tx, err := ledger.Build(b)
		if err != nil {
			return err
		}
		for _, k := range keys {
			tx.Sign(chainID, k)
		}
		if r := n.Engine.Submit(ctx, tx.Bytes()); r.Err != nil {
			return fmt.Errorf("bench warning: setting up (%s): %w", b.Kind(), r.Err)
		}
		return nil
	}
	if err := submit(&ledger.GrantRole{Key: [32]byte(hospital.Public().(ed25519.PublicKey)), Role: ledger.RoleHospital, Name: "bench hospital"}, h.Authority()); err != nil {
		return 0, 0, err
	}
	for _, d := range doctors {
		if err := submit(&ledger.RegisterDoctor{Key: [32]byte(d.Public().(ed25519.PublicKey)), Unit: "bench"}, hospital); err != nil {
			return 0, 0, err
		}
	}
	for _, r := range rules {
		if err := submit(r, h.Authority()); err != nil {
			return 0, 0, err
		}
	}
	// A block, so that the doctors' roles are in force.
	if err := submit(&ledger.GrantRole{Key: [32]byte{1}, Role: ledger.RoleAuditor, Name: "bench"}, h.Authority()); err != nil {
		return 0, 0, err
	}
	file := func(raws [][]byte) error {
		// committed: the next blocks' day follows the cards in.
		if err := submitAsync(n.Engine, raws, func() { filed.Add(1) }); err != nil {
			return fmt.Errorf("bench warning: a card was refused: %w", err)
		}
		return nil
	}
	if err := file(past); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := file(raws); err != nil {
		return 0, 0, err
	}
	elapsed := time.Since(start)
	as, err := state.Alerts(n.DB)
	return float64(len(raws)) / elapsed.Seconds(), len(as), err
}

// benchWarningHierarchy times, n times, a report card that trips a rule
// on a district chain to its alert on the national chain: the alert is
// committed in the card's block, then each level's N2 (here automated)
// confirms it and the relays anchor and carry it up, as "epiledger intel
// confirm", "anchor relay" and "intel relay" do, each level a solo chain
// serving its API on loopback in this process.
func (e *env) benchWarningHierarchy(dir string, n int) error {
	sc := &Scenario{Chains: []ScenarioChain{{Name: "national", Region: "000000"}, {Name: "hubei", Region: "420000", Parent: "national"},
		{Name: "wuhan", Region: "420100", Parent: "hubei"}, {Name: "jiangan", Region: "420102", Parent: "wuhan"}}}
	quiet := *e
	quiet.stdout = io.Discard
	r := &hierarchyRun{e: &quiet, dir: dir, sc: sc, urls: map[string]string{}, homes: map[string]string{}, keys: map[string]string{},
		chain: map[string]ScenarioChain{}, actor: map[string]ScenarioActor{}}
	defer func() {
		for i := len(r.stops) - 1; i >= 0; i-- {
			r.stops[i]()
		}
	}()
	pubs := map[string]string{}
	for _, k := range []string{"relay", "hospital", "doctor", "jiangan-n2", "wuhan-n2", "hubei-n2"} {
		p, err := r.keygen(k)
		if err != nil {
			return err
		}
		pubs[k] = p
	}
	for _, c := range sc.Chains {
		r.chain[c.Name] = c
		if err := r.start(c); err != nil {
			return err
		}
		if err := r.grant(c.Name, pubs["relay"], "relay", "relay"); err != nil {
			return err
		}
		if n2 := c.Name + "-n2"; pubs[n2] != "" {
			if err := r.grant(c.Name, pubs[n2], "n2", n2); err != nil {
				return err
			}
		}
		if c.Parent != "" {
			if _, err := r.run("child", "register", "--home", r.homes[c.Parent], "--node", r.urls[c.Parent], "--genesis", filepath.Join(r.homes[c.Name], "genesis.json")); err != nil {
				return err
			}
		}
	}
	district := r.urls["jiangan"]
	if err := r.grant("jiangan", pubs["hospital"], "hospital", "hospital"); err != nil {
		return err
	}
	steps := [][]string{
		{"doctor", "register", "--node", district, "--key", r.keys["hospital"], "--doctor", pubs["doctor"], "--unit", "420102-bench"},
		{"rule", "set", "--node", district, "--home", r.homes["jiangan"], "--name", "three", "--disease", "pneumonia-unknown", "--method", "threshold",
			"--cases", "3", "--days", "7", "--level", "2"},
	}
	for _, s := range steps {
		if _, err := r.run(s...); err != nil {
			return err
		}
	}
	h, err := home.Load(r.homes["jiangan"])
	if err != nil {
		return err
	}
	doctor, err := home.LoadKeyFile(r.keys["doctor"])
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Hour)
	defer cancel()
	cl := client.New(district, h.APIToken())
	today := time.Now().In(time.FixedZone("CST", state.DayOffset))
	card := func(k, i int) []byte {
		// Alert k's district: a code of its own, so that each alert is new.
		home := fmt.Sprintf("42%02d%02d", 1+k/90, 1+k%90)
		tx := ledger.NewTx(&ledger.ReportCard{CardFields: ledger.CardFields{Disease: "pneumonia-unknown", Class: "suspected",
			Onset: today.Format(ledger.OnsetLayout), Patient: ledger.Pseudonym{byte(k), byte(k >> 8), byte(i), 1}, AgeBand: 11, Sex: "m", Home: home}})
		tx.Sign(h.Genesis.ChainID, doctor)
		return tx.Bytes()
	}
	path := []string{"jiangan", "wuhan", "hubei", "national"}
	var lat, inBlock []time.Duration
	fmt.Fprintf(e.stdout, "%d alerts, each raised on jiangan by a third card, confirmed by each level's N2 and carried up to the national chain (solo chains on loopback)\n", n)
	for k := 0; k < n; k++ {
		for i := 0; i < 2; i++ {
			if _, err := cl.SubmitOne(ctx, card(k, i)); err != nil {
				return fmt.Errorf("alert %d, card %d: %w", k, i, err)
			}
		}
		t0 := time.Now()
		res, err := cl.SubmitOne(ctx, card(k, 2))
		if err != nil {
			return fmt.Errorf("alert %d, the third card: %w", k, err)
		}
		inBlock = append(inBlock, time.Since(t0))
		alert := state.AlertID("three", fmt.Sprintf("42%02d%02d", 1+k/90, 1+k%90), state.DayOf(today.Unix()))
		a, err := cl.Alerts(ctx)
		if err != nil {
			return err
		}
		if len(a.Alerts) == 0 || a.Alerts[0].ID != alert.String() || a.Alerts[0].Height != res.Height {
			return fmt.Errorf("alert %d was not raised in the third card's block %d", k, res.Height)
		}
		r.record = alert.String()
		for i := 0; i+1 < len(path); i++ {
			ent, err := r.entry(path[i], path[i]+"-n2")
			if err != nil {
				return err
			}
			if _, err := r.run("intel", "confirm", ent.Tx, "--key", r.keys[path[i]+"-n2"], "--node", r.urls[path[i]]); err != nil {
				return err
			}
			if err := r.carry(path[i], path[i+1]); err != nil {
				return err
			}
		}
		if _, err := r.entry("national", "relay"); err != nil {
			return fmt.Errorf("alert %d did not reach the national chain: %w", k, err)
		}
		lat = append(lat, time.Since(t0))
		if (k+1)%10 == 0 {
			fmt.Fprintf(e.stderr, "%d/%d\n", k+1, n)
		}
	}
	p50, p99 := percentiles(inBlock)
	fmt.Fprintf(e.stdout, "the third card to its alert, committed in its block: p50 %s, p99 %s\n", p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
	p50, p99 = percentiles(lat)
	fmt.Fprintf(e.stdout, "the third card to its alert on the national chain (3 levels up, each N2 confirming at once): p50 %s, p99 %s\n",
		p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
	return nil
}
