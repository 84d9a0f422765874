package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/sim"
)

func (e *env) demoCmd() *cobra.Command {
	var people, days int
	var seed uint64
	var keep string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole system once in a temporary home: city, import, worked case, trace, verify",
		Long: `demo shows the system end to end, in a temporary node home:
  1. init a home;
  2. generate a synthetic city (--people, --days) with its ground truth;
  3. import it, signed by its sites;
  4. import the worked case of the source document (sec. 3.1): a patient
     rides train G1234 car 5 from Wuhan to Shanghai, takes taxi 沪F54321, rides
     a Ferris-wheel cabin in a mall with a friend and goes to hospital, while
     the patient's own car is recorded at a far-away toll gate;
  5. print the patient's 30-day trajectory and close contacts, and check them
     (and every city case's contacts) against the ground truth;
  6. verify the whole store and check an inclusion proof.
With --keep DIR the home is kept for further commands.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := keep
			if dir == "" {
				tmp, err := os.MkdirTemp("", "epiledger-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			return e.demo(dir, sim.Config{People: people, Days: days, Seed: seed})
		},
	}
	c.Flags().IntVar(&people, "people", 2000, "people in the synthetic city")
	c.Flags().IntVar(&days, "days", 7, "days simulated")
	c.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	c.Flags().StringVar(&keep, "keep", "", "keep the demo's home in this directory (must not exist yet)")
	c.AddCommand(e.demoHierarchyCmd())
	return c
}

func (e *env) step(format string, args ...any) {
	fmt.Fprintf(e.stdout, "\n== "+format+"\n", args...)
}

func (e *env) demo(dir string, cfg sim.Config) error {
	w := e.stdout
	e.step("1. init a node home in %s", dir)
	h, err := home.Init(filepath.Join(dir, "home"), home.InitOptions{ChainID: "epiledger-demo", Region: "310000"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "chain %s, authority %x\n", h.Genesis.ChainID, h.Genesis.Authority[:8])

	e.step("2. simulate a city of %d people over %d days", cfg.People, cfg.Days)
	cityFile := filepath.Join(dir, "city.ndjson")
	city, err := writeSim(cityFile, func(rw *ndjson.Writer) (*sim.Truth, error) { return sim.Generate(cfg, rw) })
	if err != nil {
		return err
	}
	workedFile := filepath.Join(dir, "worked-case.ndjson")
	worked, err := writeSim(workedFile, sim.WorkedCase)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %d confirmed cases in the ground truth\n", cityFile, len(city.Cases))

	n, err := e.openNode(h, node.Options{})
	if err != nil {
		return err
	}
	defer func() {
		if n != nil {
			n.Close()
		}
	}()
	for _, f := range []struct{ step, path string }{{"3. import the city", cityFile}, {"4. import the worked case (seed 000 sec. 3.1)", workedFile}} {
		e.step("%s", f.step)
		if err := e.importFile(h, n, f.path); err != nil {
			return err
		}
	}

	e.step("5. trace the patient: 30-day trajectory (with records validation rejected) and close contacts")
	// The demo's reads are audited like any other.
	b := &report.Builder{N: n, Now: time.Now}
	demo := n.AuthorityCaller("demo-case-3.1", "demonstration", time.Now().Unix())
	q := report.Query{Person: "id:" + sim.WorkedCasePatient, From: "2019-12-22", To: "2020-01-21"}
	all := q
	all.All = true
	rt, err := b.Trajectory(all)
	if err != nil {
		return err
	}
	tr, err := node.Perform(e.ctx, n, demo, rt)
	if err != nil {
		return err
	}
	report.WriteTrajectory(w, tr)
	fmt.Fprintln(w)
	rc, err := b.Contacts(q)
	if err != nil {
		return err
	}
	cs, err := node.Perform(e.ctx, n, demo, rc)
	if err != nil {
		return err
	}
	report.WriteContacts(w, cs)
	fmt.Fprintln(w)
	for _, t := range []struct {
		name  string
		truth *sim.Truth
	}{{"worked case", worked}, {"city", city}} {
		d, err := b.CheckTruth(e.ctx, demo, t.truth)
		if err != nil {
			return err
		}
		verdict := "MATCH"
		if !d.OK() {
			verdict = fmt.Sprintf("MISMATCH (%d missing, %d extra)", len(d.Missing), len(d.Extra))
		}
		fmt.Fprintf(w, "ground truth, %s: %d cases, %d contacts expected, %d found: %s\n", t.name, d.Cases, d.Expected, d.Found, verdict)
	}
	caseTx := ""
	if len(tr.Entries) > 0 {
		caseTx = tr.Entries[0].Tx
	}
	if err := n.Close(); err != nil {
		return err
	}
	n = nil

	e.step("6. verify the store and an inclusion proof")
	vn, err := e.openNode(h, nodeOptionsQuery())
	if err != nil {
		return err
	}
	defer vn.Close()
	g := h.Genesis
	rep, err := blocks.Verify(vn.DB, &g, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "verify: ok, %d blocks, %d transactions, %d signatures\n", rep.Blocks, rep.Txs, rep.Signatures)
	if caseTx != "" {
		id, _ := parseHash(caseTx)
		p, err := blocks.Prove(vn.DB, id)
		if err != nil {
			return err
		}
		if err := p.Check(); err != nil {
			return err
		}
		fmt.Fprintf(w, "proof: the patient's first record %s… is leaf %d of %d in block %d: ok\n", caseTx[:16], p.Index, p.Size, p.Header.Height)
	}
	fmt.Fprintf(w, "\nThe toll-gate record (the patient's car, driven by the husband 650 km away)\nis rejected by the longest-chain rule: it stays on the ledger as evidence but\nleaves the trajectory and the contacts.\n")
	return nil
}

func (e *env) importFile(h *home.Home, n *node.Node, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	im := importer.New(h, importer.EngineSink{Node: n})
	start := time.Now()
	res, err := im.Import(f)
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(e.stdout, "%s: %d accepted, %d rejected in %s (%.0f records/s)\n", filepath.Base(path), res.Accepted, res.Rejected,
		el.Round(time.Millisecond), float64(res.Accepted+res.Rejected)/el.Seconds())
	printRejections(e.stdout, res.Rejections, 10)
	return nil
}

func printRejections(w io.Writer, rs []importer.Rejection, max int) {
	for i, r := range rs {
		if i == max {
			fmt.Fprintf(w, "  ... and %d more\n", len(rs)-max)
			return
		}
		fmt.Fprintf(w, "  %s\n", r)
	}
}
