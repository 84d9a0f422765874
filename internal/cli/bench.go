package cli

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/epiledger/epiledger/internal/bench"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/store"
)

func (e *env) benchCmd() *cobra.Command {
	var cfg bench.Config
	var asJSON bool
	var cpuProfile string
	c := &cobra.Command{
		Use:   "bench [--people N] [--days D]",
		Short: "Measure ingest, commit latency, contact queries and storage on this machine",
		Long: `bench measures, in one run on a scratch home:
  - Ed25519 verification on one core, single and in batches (the ceiling
    ingest compares with);
  - ingest: a simulated city's records, signed beforehand, pushed through
    the engine (admission, parallel batch verification, apply, durable
    commit), in records per second;
  - commit latency (submit to durable acknowledgement) at saturation, at
    half the measured ingest rate (paced), and for single transactions
    submitted one at a time (a block as soon as the last is durable);
  - contact-query latency over the whole period, for every confirmed case
    and for random people;
  - bytes on disk per record;
  - the same ingest without trajectory validation (the ratio is the cost
    of admission checks, windows and the double chain);
  - closing validation windows: one day of --close-persons people is
    ingested, then one block decides and seals all their windows.
Progress goes to stderr: a bar on a terminal, one line per step otherwise.
The results go to stdout, once: a table, or with --json only JSON.
Quote medians and ratios from one run: the machine is shared and noisy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := os.MkdirTemp("", "epiledger-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			cfg.Dir = dir
			var done func()
			cfg.Progress, done = e.benchProgress(cfg.Steps())
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			res, err := bench.Run(cfg)
			done()
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(res)
			}
			defer func() {
				if res.ClosePersons > 0 {
					fmt.Fprintf(e.stdout, "window close                     %d windows of %d people (%d records) decided and sealed in one block: %.2f s\n",
						res.ClosedWindows, res.ClosePersons, res.CloseRecords, res.CloseSeconds)
				}
			}()
			fmt.Fprintf(e.stdout, `machine                          %s
city                             %d people, %d days, %d signed records
ed25519 verify, 1 core           %.0f/s single, %.0f/s batched
ingest through the engine        %.0f records/s with validation (%.2f s, %d blocks; %.2fx the 1-core single verify rate, %.0f%% of %d cores' batched)
ingest without validation        %.0f records/s (with/without: %.0f%%)%s
commit latency at saturation     p50 %.0f ms, p99 %.0f ms (the whole city queued at once)
commit latency at half load      p50 %.0f ms, p99 %.0f ms (%.0f submissions/s, paced)
commit latency, one at a time    p50 %.1f ms, p99 %.1f ms
contacts, confirmed cases        p50 %.2f ms, p99 %.2f ms (%d queries)
contacts, random people          p50 %.2f ms, p99 %.2f ms (%d queries)
bytes on disk per record         %.0f (%.0f in tables, the rest write-ahead log; per record of the %d stored)
the same, compacted in full      %.0f (%.0f in tables)
`, res.Machine, res.People, res.Days, res.Records, res.VerifyPerSec1Core, res.BatchPerSec1Core,
				res.IngestPerSec, res.IngestSeconds, res.Blocks, res.IngestPerSec/res.VerifyPerSec1Core, 100*res.IngestPerSec/(res.BatchPerSec1Core*float64(runtime.NumCPU())), runtime.NumCPU(),
				res.PlainPerSec, 100*res.ValidationRatio, pairsText(res),
				res.CommitLoadP50, res.CommitLoadP99, res.CommitHalfP50, res.CommitHalfP99, res.HalfLoadRate, res.CommitIdleP50, res.CommitIdleP99,
				res.CaseContactsP50, res.CaseContactsP99, res.CaseQueries, res.ContactsP50, res.ContactsP99, res.Queries, res.BytesPerRecord, res.SSTBytesPerRecord, res.StoredRecords,
				res.CompactedBytesPerRecord, res.CompactedSSTBytesPerRecord)
			writeTableUsage(e.stdout, res.Tables, res.StoredRecords)
			return nil
		},
	}
	c.Flags().IntVar(&cfg.People, "people", 10000, "people in the simulated city")
	c.Flags().IntVar(&cfg.Days, "days", 14, "days simulated")
	c.Flags().Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	c.Flags().IntVar(&cfg.Queries, "queries", 200, "contact queries to time")
	c.Flags().IntVar(&cfg.ClosePersons, "close-persons", 100000, "people whose validation windows one block closes, timed (0: skip)")
	c.Flags().IntVar(&cfg.Pairs, "pairs", 1, "time the ingest with and without validation this many times, alternating, and report every ratio and their median")
	c.Flags().BoolVar(&cfg.Resident, "resident", false, "in each pair, also time the validated ingest on a node keeping a resident timeline (as epiledger node does) and report its ratio to the same without")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (read it with go tool pprof)")
	c.AddCommand(e.benchPrivacyCmd())
	c.AddCommand(e.benchInvestigateCmd())
	c.AddCommand(e.benchConsortiumCmd())
	c.AddCommand(e.benchHierarchyCmd())
	c.AddCommand(e.benchDetectCmd())
	c.AddCommand(e.benchWarningCmd())
	c.AddCommand(e.benchSupplyCmd())
	c.AddCommand(e.benchScaleCmd())
	return c
}

func (e *env) benchConsortiumCmd() *cobra.Command {
	cfg := bench.ConsortiumConfig{Log: e.stderr}
	var asJSON bool
	c := &cobra.Command{
		Use:   "consortium [--validators N] [--people N] [--days D] [--json]",
		Short: "Measure a CometBFT consortium of N validator processes on this machine, beside the solo engine",
		Long: `bench consortium writes a testnet of --validators homes in a scratch
directory (as epiledger testnet does, loopback ports chosen free), simulates
a city and signs its records with the chain authority's key, then in one run:
  - solo engine, on a clone of the same genesis: the same records ingested
    at once (records/s), then --singles records committed one at a time
    (commit latency p50, p99: a block as soon as the last is durable), and
    bytes on disk per record;
  - consortium: every validator started as its own process ("epiledger node
    --home ..."); the sites and identities are committed through node0, then
    the city's records are offered all at once in requests of 500 (a
    site's batch), spread over the validators' APIs, one validator each, as
    sites that each send to a node of the consortium (--to-all: each
    request to every validator, as a site that trusts no single node to
    pass its records on): records/s committed, each record checked by
    every validator (its signatures at each node's door, the state machine
    in the block on every node; the node a batch was sent to checks it
    record by record at its door too); then records offered at half that rate, paced, those due
    in each 20 ms sent together, for --half: commit latency p50, p99, from
    when a record is due to the first node's answer that its block is
    durable;
  - every validator agrees on the head and state hash at the end;
  - bytes on disk per record on node0: our store plus CometBFT's data
    directory (block store, state, consensus WAL), as the run left them,
    then with node0 stopped and every database compacted in full.
With --retain-blocks N each validator keeps CometBFT's latest N blocks
only and trims its consensus WAL (engine.retain_blocks in config.toml):
what a pruning validator's disk costs beside an archive node's.
With --cpuprofile FILE each validator writes its own CPU profile to
FILE.node0, FILE.node1, ... when it stops (go tool pprof FILE.node0): where
a validator's time per record goes.
Progress goes to stderr, results to stdout.
Quote medians and ratios from one run: the machine is shared and noisy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.Validators < 1 || cfg.Validators > 16 {
				return fmt.Errorf("--validators: 1 to 16")
			}
			if cfg.People < 10 || cfg.Days < 1 {
				return fmt.Errorf("--people: at least 10; --days: at least 1")
			}
			if r := cfg.RetainBlocks; r != 0 && r < home.MinRetainBlocks {
				return fmt.Errorf("--retain-blocks: 0 (every block) or at least %d", home.MinRetainBlocks)
			}
			cleanup, err := benchDir(&cfg.Dir, "epiledger-bench-consortium-")
			if err != nil {
				return err
			}
			defer cleanup()
			if exe := os.Getenv("EPILEDGER_BENCH_NODE"); exe != "" { // tests: the binary that runs a node
				cfg.Command = []string{exe}
				cfg.Env = []string{"EPILEDGER_TEST_CLI=1"}
			}
			cfg.CPUProfile, _ = cmd.Flags().GetString("cpuprofile")
			res, err := bench.Consortium(e.ctx, cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(res)
			}
			agree := "every validator at the same head and state hash " + res.StateHash[:16]
			if !res.SameState {
				agree = "THE VALIDATORS DISAGREE"
			}
			fmt.Fprintf(e.stdout, `machine                          %s
city                             %d people, %d days, %d signed records (%d of them registrations, committed first)
solo engine, saturated           %.0f records/s
solo engine, one at a time       p50 %.1f ms, p99 %.1f ms
solo engine, disk                %.0f bytes per record
consortium                       %d validators, separate processes, timeout_commit %s, %s, %s
consortium, saturated            %.0f records/s committed (%.2f s, %d blocks; %.0f%% of the solo rate), latency p50 %.0f ms, p99 %.0f ms
consortium, half load            p50 %.0f ms, p99 %.0f ms (%.0f records/s offered, paced)
validator disk                   %.0f bytes per record (%.0f our store, %.0f CometBFT's data: %s)
validator disk, compacted        %.0f bytes per record (%.0f our store, %.0f CometBFT's data: %s)
agreement                        %s
`, res.Machine, res.People, res.Days, res.Records, res.SetupRecords, res.SoloPerSec, res.SoloSingleP50, res.SoloSingleP99, res.SoloBytesPerRecord,
				res.Validators, res.TimeoutCommit, offered(res.ToAll), retained(res.RetainBlocks), res.CommitPerSec, res.CommitSeconds, res.Blocks, 100*res.CommitPerSec/res.SoloPerSec, res.LoadP50, res.LoadP99,
				res.HalfP50, res.HalfP99, res.HalfRate, res.DiskPerRecord, res.StorePerRecord, res.CometBFTPerRecord, cometParts(res.CometBFTParts),
				res.CompactedPerRecord, res.CompactedStorePerRecord, res.CompactedCometBFTPerRecord, cometParts(res.CompactedCometBFTParts), agree)
			return nil
		},
	}
	c.Flags().IntVar(&cfg.Validators, "validators", 4, "validators, each its own process")
	c.Flags().IntVar(&cfg.People, "people", 3000, "people in the simulated city")
	c.Flags().IntVar(&cfg.Days, "days", 7, "days simulated")
	c.Flags().Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	c.Flags().DurationVar(&cfg.TimeoutCommit, "timeout-commit", 100*time.Millisecond, "each validator's pause after a block (CometBFT's timeout_commit)")
	c.Flags().DurationVar(&cfg.Half, "half", 5*time.Second, "how long records are offered at half load")
	c.Flags().StringVar(&cfg.Dir, "dir", "", "write the homes and the nodes' logs here (new or empty) and keep them (default: a scratch directory, removed)")
	c.Flags().Int64Var(&cfg.RetainBlocks, "retain-blocks", 0, "each validator keeps CometBFT's latest N blocks and a trimmed consensus WAL (engine.retain_blocks; default: every block)")
	c.Flags().BoolVar(&cfg.ToAll, "to-all", false, "send every request to every validator (default: spread the requests, one validator each, and let gossip carry them)")
	c.Flags().BoolVar(&cfg.Verbose, "verbose", false, "the nodes log at debug level, CometBFT's every vote included (with --dir, to read node.log in each home)")
	c.Flags().IntVar(&cfg.Singles, "singles", 100, "records the solo engine commits one at a time")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (e *env) benchInvestigateCmd() *cobra.Command {
	var cfg bench.InvestigateConfig
	var asJSON bool
	c := &cobra.Command{
		Use:   "investigate [--people N] [--days D] [--queries Q] [--json]",
		Short: "Measure contacts, depth-3 chains and clusters on a simulated city, against PostgreSQL",
		Long: `bench investigate simulates a city (--people, --days), signs and ingests it
through the engine on a scratch home (trajectory validation on), then times:
  - contact queries over the whole period: every confirmed case, then
    random persons, --queries in all;
  - a depth-3 time-respecting chain of transmission from every case, over
    its infectious period (two days before onset to its first report;
    --chain-period: the whole period);
  - the clusters of all cases over the whole period (slowest of three).
The queries read a resident timeline (loaded from the store first, its
load time and memory reported), as a running node answers them; --store
times them on the store's indexes instead, as a one-shot CLI query on an
embedded store does.
The same contact and chain queries run in the same run against PostgreSQL
(the server binaries of the Debian package, found on PATH or in
/usr/lib/postgresql/N/bin): the benchmark starts its own server on a Unix
socket and copies the same visits in. Two variants of the SQL are timed:
one through a GiST index on (site, time range), one through a btree on
(site, start) bounded by the site's longest presence. PostgreSQL's contact
query returns exactly our answer: every field of each contact (the site's
id and kind, role, via, both record ids), in our order. Each variant also
times the four-column, unsorted contact query of earlier runs (pseudonym,
site number, start, end) on a row of its own; the contact rows above it
and the 10x target are the full query's. Each query is timed as a client
sees it, interleaved with ours, and every answer is compared with ours.
It prints the ratios; without PostgreSQL it says so and times only ours.
Progress goes to stderr.

With --dir the home and PostgreSQL's data stay in DIR, and a later run with
the same city reuses them (no new ingest or load; PostgreSQL's copy only if
it was loaded with the same schema); run as root, DIR must be reachable by
the postgres user.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.Dir == "" {
				dir, err := os.MkdirTemp("", "epiledger-bench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				cfg.Dir = dir
			} else if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
				return err
			}
			cfg.Log = e.stderr
			stop, err := cpuProfileFlag(cmd)
			if err != nil {
				return err
			}
			defer stop()
			res, err := bench.Investigate(e.ctx, cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(res)
			}
			return bench.WriteInvestigate(e.stdout, res)
		},
	}
	c.Flags().IntVar(&cfg.People, "people", 100000, "people in the simulated city")
	c.Flags().IntVar(&cfg.Days, "days", 30, "days simulated")
	c.Flags().Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	c.Flags().IntVar(&cfg.Queries, "queries", 500, "contact queries to time (every case, then random persons)")
	c.Flags().StringVar(&cfg.Dir, "dir", "", "keep the home and PostgreSQL's data here and reuse them (default: a scratch directory, removed)")
	c.Flags().IntVar(&cfg.Chains, "chains", 0, "chains to time (the first cases; 0: every case)")
	c.Flags().IntVar(&cfg.PostgresChains, "pg-chains", 3, "of those, how many PostgreSQL also runs (the first; 0: all); the chain ratios compare the same chains")
	c.Flags().BoolVar(&cfg.ChainPeriod, "chain-period", false, "chains over the whole period, not each case's infectious period (slow: three layers reach most of the city)")
	c.Flags().BoolVar(&cfg.NoPostgres, "no-postgres", false, "time only epiledger")
	c.Flags().BoolVar(&cfg.IDsInStore, "ids-in-store", false, "load the timeline with its record ids in the store, as trace.resident_ids = \"store\" does (half the memory; queries read ids from the store)")
	c.Flags().BoolVar(&cfg.Store, "store", false, "query the store's indexes, as a one-shot CLI query does, not a resident timeline as a running node does")
	c.Flags().DurationVar(&cfg.PostgresChainTimeout, "pg-chain-timeout", 3*time.Minute, "cut each PostgreSQL chain query off after this long (0: never); a cut-off query makes its figures lower bounds")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// benchProgress shows the steps of a bench run on stderr: a bar on a
// terminal, one plain line per step otherwise. done clears the bar; call
// it before anything else is written.
func (e *env) benchProgress(total int) (p bench.Progress, done func()) {
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(f), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false), progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish())
		return func(step, _ int, what string) {
			bar.Describe(what)
			bar.Set(step - 1)
		}, func() { bar.Finish() }
	}
	return func(step, total int, what string) {
		fmt.Fprintf(e.stderr, "bench: step %d of %d: %s\n", step, total, what)
	}, func() {}
}

// benchDir makes *dir the directory of a bench run's homes: a scratch
// directory when it is "" (cleanup removes it), else *dir itself, which
// must be new or empty (cleanup keeps it).
func benchDir(dir *string, prefix string) (cleanup func(), err error) {
	if *dir != "" {
		if err := home.CheckEmpty(*dir); err != nil {
			return nil, fmt.Errorf("--dir: %w", err)
		}
		return func() {}, nil
	}
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	*dir = d
	return func() { os.RemoveAll(d) }, nil
}

// cpuProfileFlag starts the CPU profile asked for by a bench command's
// --cpuprofile (inherited from bench), if any; stop ends it.
func cpuProfileFlag(cmd *cobra.Command) (stop func(), err error) {
	path, _ := cmd.Flags().GetString("cpuprofile")
	if path == "" {
		return func() {}, nil
	}
	return startCPUProfile(path)
}

// startCPUProfile writes a CPU profile to path until the returned stop is
// called: where the time of a bench run goes, for `go tool pprof`.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// pairsText lists the ratios of every with/without pair and their median,
// when there was more than one.
func pairsText(res *bench.Result) string {
	percents := func(rs []float64) string {
		parts := make([]string, len(rs))
		for i, r := range rs {
			parts[i] = fmt.Sprintf("%.0f%%", 100*r)
		}
		return strings.Join(parts, ", ")
	}
	var b strings.Builder
	if len(res.PairRatios) >= 2 {
		fmt.Fprintf(&b, "\nwith/without, %d pairs              median %.0f%% (%s)", len(res.PairRatios), 100*res.MedianRatio, percents(res.PairRatios))
	}
	if len(res.ResidentRatios) > 0 {
		fmt.Fprintf(&b, "\nresident timeline, %d runs          median %.0f%% of the validated ingest without it (%s)", len(res.ResidentRatios), 100*res.ResidentMedian, percents(res.ResidentRatios))
	}
	return b.String()
}

// retained says what CometBFT's blocks bench consortium's validators kept.
func retained(n int64) string {
	if n <= 0 {
		return "every block kept"
	}
	return fmt.Sprintf("the latest %d blocks kept (--retain-blocks)", n)
}

// cometParts says where CometBFT's bytes per record are.
func cometParts(d bench.CometBFTDisk) string {
	return fmt.Sprintf("block store %.0f, state %.0f, consensus WAL %.0f, other %.0f", d.BlockStore, d.State, d.WAL, d.Other)
}

// offered says how bench consortium offered the records.
func offered(toAll bool) string {
	if toAll {
		return "each request to every validator"
	}
	return "requests spread over the validators"
}

// writeTableUsage prints where a record's bytes go, table by table
// (those with at least 1% of the bytes on disk), per record.
func writeTableUsage(w io.Writer, tables []store.TableUsage, records int) {
	var disk uint64
	for _, u := range tables {
		disk += u.DiskBytes
	}
	if disk == 0 || records == 0 {
		return
	}
	per := func(n float64) float64 { return n / float64(records) }
	fmt.Fprintf(w, "where a record's bytes go        per record: on disk in tables (compressed), keys, key and value bytes as written\n")
	for _, u := range tables {
		if u.DiskBytes*100 < disk {
			continue
		}
		fmt.Fprintf(w, "  %-30s %6.1f  (%.2f keys, %.1f + %.1f bytes)\n", u.Table, per(float64(u.DiskBytes)), per(float64(u.Keys)), per(float64(u.KeyBytes)), per(float64(u.ValBytes)))
	}
}
