package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/bench"
)

func (e *env) benchScaleCmd() *cobra.Command {
	cfg := bench.ScaleConfig{People: []int{1000, 3000, 10000}}
	var asJSON bool
	var svgPath string
	c := &cobra.Command{
		Use:   "scale [--people N,N,...] [--days D] [--svg FILE] [--json]",
		Short: "Measure how ingest, disk, timeline memory, contacts and chains grow with the city (the cost curve)",
		Long: `bench scale measures the same costs on cities of growing size, one after
the other, so that the growth of each is seen, not guessed. For each size
in --people it simulates a city over --days, signs its records, and on a
fresh scratch home (removed once measured):
  - ingest: the signed records through the engine with trajectory
    validation and synced commits, in records per second (as epiledger
    bench measures it);
  - bytes on disk per record: the home's data directory after a flush,
    tables and write-ahead log; then again once the store is compacted
    in full, as it is once compaction has caught up;
  - contacts p99: --queries contact queries of random persons over the
    whole period, on the store's indexes (as epiledger bench times them);
  - timeline bytes per visit: a resident timeline is loaded, as a running
    node does; the Go heap in use after a collection with it loaded, minus
    the same before, over the visits it holds;
  - chain p99: a depth-3 time-respecting chain from each case (the first
    --chains), over its infectious period, on the resident timeline (as
    epiledger bench investigate times them; "-" when the city has no case).
How long: a city over 14 days is about 64 records per person, and time
grows with the records. Between its steps a city is kept on disk, not in
memory (its lines, then its signed records, about 250 bytes a record
beside the store, removed once ingested), so that memory is the store's
caches and the timeline's, and --dir needs room for the largest city
(about 600 bytes a record at its largest). On this project's machine (2 cores,
shared) the default sizes, about 64,000, 191,000 and 637,000 records,
took 1.6 minutes in all; adding 30,000 people (2.8 million records in
all) took 5.7 minutes: about 1 s per 8,000 to 9,000 records, all
included, under a load average of 5 to 6 (docs/BENCHMARKS.md, "The cost
curve").
Progress goes to stderr, one step at a time (a bar on a terminal). The
results go to stdout once: a table, one row per size, or with --json only
JSON. --svg also writes the plot: one panel per cost against records on a
log axis, each point labelled. Quote figures from one run: the machine is
shared and noisy.`,
		Example: `  epiledger bench scale --people 1000,3000,10000 --days 14 --svg docs/scale.svg`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(cfg.People) == 0 {
				return fmt.Errorf("--people: at least one size")
			}
			for _, p := range cfg.People {
				if p < 10 {
					return fmt.Errorf("--people: %d: at least 10 people", p)
				}
			}
			if cfg.Days < 1 || cfg.Queries < 1 || cfg.Chains < 0 {
				return fmt.Errorf("--days and --queries: at least 1; --chains: 0 or more")
			}
			cleanup, err := benchDir(&cfg.Dir, "epiledger-bench-scale-")
			if err != nil {
				return err
			}
			defer cleanup()
			stop, err := cpuProfileFlag(cmd)
			if err != nil {
				return err
			}
			defer stop()
			var done func()
			cfg.Progress, done = e.benchProgress(cfg.Steps())
			res, err := bench.Scale(e.ctx, cfg)
			done()
			if err != nil {
				return err
			}
			if svgPath != "" {
				if err := writeScaleSVG(svgPath, res); err != nil {
					return err
				}
			}
			if asJSON {
				return e.printJSON(res)
			}
			return bench.WriteScale(e.stdout, res)
		},
	}
	c.Flags().IntSliceVar(&cfg.People, "people", cfg.People, "city sizes in people, comma-separated, measured in this order")
	c.Flags().IntVar(&cfg.Days, "days", 14, "days simulated")
	c.Flags().Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	c.Flags().IntVar(&cfg.Queries, "queries", 200, "contact queries of random persons to time per size")
	c.Flags().IntVar(&cfg.Chains, "chains", 20, "depth-3 chains to time per size at most (the first cases; 0: every case)")
	c.Flags().BoolVar(&cfg.IDsInStore, "ids-in-store", false, "load each timeline with its record ids in the store, as trace.resident_ids = \"store\" does")
	c.Flags().StringVar(&svgPath, "svg", "", "also write the plot to this file (SVG)")
	c.Flags().StringVar(&cfg.Dir, "dir", "", "make the homes here (new or empty; each size's removed once measured) instead of a scratch directory")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// writeScaleSVG writes the plot of res to path.
func writeScaleSVG(path string, res *bench.ScaleResult) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--svg: %w", err)
	}
	if err := bench.WriteScaleSVG(f, res); err != nil {
		f.Close()
		return fmt.Errorf("--svg: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--svg: %w", err)
	}
	return nil
}
