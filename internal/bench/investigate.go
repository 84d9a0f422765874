package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/timeline"
	"github.com/epiledger/epiledger/internal/trace"
)

// InvestigateConfig says what `epiledger bench investigate` measures.
type InvestigateConfig struct {
	People, Days int
	Seed         uint64
	// IDsInStore loads the timeline with its record ids in the store
	// (timeline.Options; trace.resident_ids = "store").
	IDsInStore bool
	// Queries is how many contact queries to time: every case first, then
	// random persons (with at least one visit). Chains are timed from
	// every case.
	Queries int
	// Dir holds the node's home and PostgreSQL's data directory. A city
	// ingested there by an earlier run with the same People, Days and
	// Seed is reused, and so is PostgreSQL's copy of it. Run as root,
	// Dir gets search permission for others (the server runs as the
	// postgres user).
	Dir string
	// ChainPeriod times chains over the whole period instead of each
	// case's infectious period (two days before onset to the first
	// report, when the case is isolated).
	ChainPeriod bool
	// Chains caps the number of chains timed (the first cases by
	// pseudonym); 0 means every case.
	Chains int
	// PostgresChains is how many of those chains (the first) PostgreSQL
	// also runs (0: all); its chains take tens of seconds each. The
	// ratios compare the same chains.
	PostgresChains int
	// NoPostgres skips the comparison. Without PostgreSQL's binaries it
	// is skipped anyway, and the result says so.
	NoPostgres bool
	// PostgresChainTimeout bounds each of PostgreSQL's chain queries
	// (0: none). A query cut off counts as taking the timeout, so its
	// latency and ratio are lower bounds (ChainTimedOut says how many).
	PostgresChainTimeout time.Duration
	// Store times the queries on the store's indexes, as a one-shot CLI
	// query on an embedded store runs them, instead of on a resident
	// timeline, as a running node does once it has loaded one.
	Store bool
	Log   io.Writer
}

// Latency is the median and 99th percentile of a set of queries, as a
// client sees them (PostgreSQL's include the round trip over a Unix
// socket and reading every row).
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
}

// Ratio is PostgreSQL's latency over ours: how many times faster we are.
type Ratio struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

func ratio(pg, ours Latency) Ratio { return Ratio{P50: pg.P50 / ours.P50, P99: pg.P99 / ours.P99} }

// InvestigateResult holds every figure of one run.
type InvestigateResult struct {
	Machine     string `json:"machine"`
	LoadAverage string `json:"load_average"` // at the start of the timings
	People      int    `json:"people"`
	Days        int    `json:"days"`
	// Records is the number of signed records the city was ingested as,
	// Visits the visible visits in the site index.
	Records    int  `json:"records"`
	Visits     int  `json:"visits"`
	Cases      int  `json:"cases"`
	Validation bool `json:"validation"`
	// Reused says the city was ingested by an earlier run (in Dir); then
	// IngestSeconds is that run's.
	Reused        bool    `json:"reused"`
	IngestSeconds float64 `json:"sign_and_ingest_seconds"`
	// Source is what the queries read: "resident timeline" or "store".
	// For a resident timeline, the time to load it from the store, what
	// it holds and the Go heap it added.
	Source              string  `json:"source"`
	TimelineSeconds     float64 `json:"timeline_load_seconds,omitempty"`
	TimelineEntries     int     `json:"timeline_entries,omitempty"`
	TimelineHeapMiB     float64 `json:"timeline_heap_mib,omitempty"`
	TimelineEstimateMiB float64 `json:"timeline_estimate_mib,omitempty"`

	ContactQueries int     `json:"contact_queries"`
	Contacts       Latency `json:"contacts"`
	CaseContacts   Latency `json:"contacts_cases"`
	ContactRows    float64 `json:"contact_rows_mean"`

	ChainQueries int `json:"chain_queries"`
	// ChainWindow says which window the chains cover, ChainHours its
	// mean length.
	ChainWindow string  `json:"chain_window"`
	ChainHours  float64 `json:"chain_window_hours_mean"`
	Chain       Latency `json:"chain_depth3"`
	// ChainCompared is ours over the chains PostgreSQL also ran
	// (ChainsCompared of them), which the chain ratios use.
	ChainCompared   Latency `json:"chain_depth3_compared"`
	ChainsCompared  int     `json:"chains_compared"`
	ChainPersons    float64 `json:"chain_persons_mean"`
	ChainPersonsMax int     `json:"chain_persons_max"`

	// ClustersSeconds is the slowest of three runs of the clusters of all
	// cases over the whole period.
	ClustersSeconds float64 `json:"clusters_seconds"`
	Clusters        int     `json:"clusters"`
	ClusterSites    int     `json:"cluster_sites"`
	ClusterExposed  int     `json:"cluster_exposed"`

	Postgres *PostgresResult `json:"postgres,omitempty"`
	// PostgresSkipped says why there is no comparison.
	PostgresSkipped string `json:"postgres_skipped,omitempty"`
}

// PostgresResult holds PostgreSQL's figures for the same queries on the
// same data, timed in the same run, and whether its answers equal ours.
type PostgresResult struct {
	Version      string  `json:"version"`
	Reused       bool    `json:"reused"`
	CopySeconds  float64 `json:"copy_seconds"`
	IndexSeconds float64 `json:"index_seconds"`
	// Variants are the timings of the queries written for each index:
	// the GiST index on (site, time range), then the btree on (site,
	// start) bounded by the site's longest presence.
	Variants []PostgresTimings `json:"variants"`
	// Compared is how many answers were compared with ours (contacts,
	// every field in order; bare contacts, four fields as a multiset;
	// chain nodes with layer and exposure), Differ how many differed.
	Compared        int    `json:"answers_compared"`
	Differ          int    `json:"answers_differing"`
	FirstDifference string `json:"first_difference,omitempty"`
}

// PostgresTimings are one variant's latencies, and the ratios of each to
// ours (PostgreSQL over epiledger). Contacts and CaseContacts are the
// query with our answer (pgContactsSQL: every field of trace.Contact, in
// its order). ContactsBare is the statement earlier runs timed
// (pgBareContactsSQL: the same rows, four columns, unsorted), run on the
// same persons right after the full one; its ratio is still over our
// full answer.
type PostgresTimings struct {
	Index             string  `json:"index"`
	Contacts          Latency `json:"contacts"`
	CaseContacts      Latency `json:"contacts_cases"`
	ContactsBare      Latency `json:"contacts_bare"`
	Chain             Latency `json:"chain_depth3"`
	ContactsRatio     Ratio   `json:"contacts_ratio"`
	CaseContactsRatio Ratio   `json:"contacts_cases_ratio"`
	ContactsBareRatio Ratio   `json:"contacts_bare_ratio"`
	ChainRatio        Ratio   `json:"chain_depth3_ratio"`
	// ChainTimedOut counts the chain queries cut off at the timeout:
	// when it is not zero, Chain and ChainRatio are lower bounds.
	ChainTimedOut int `json:"chain_timed_out,omitempty"`
}

// cityMarker names the city a directory holds, written once it is
// ingested.
type cityMarker struct {
	City          string  `json:"city"`
	Records       int     `json:"records"`
	IngestSeconds float64 `json:"sign_and_ingest_seconds"`
}

func (cfg *InvestigateConfig) logf(format string, args ...any) {
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, format+"\n", args...)
	}
}

// Investigate measures the investigation queries on a simulated city:
// contacts of every case and of random persons over the whole period, a
// depth-3 time-respecting chain from every case, and the clusters of all
// cases; and, in the same run and on the same data, the same contact and
// chain queries in a PostgreSQL server it starts (and stops) itself,
// comparing every answer with ours. Progress goes to cfg.Log.
func Investigate(ctx context.Context, cfg InvestigateConfig) (*InvestigateResult, error) {
	res := &InvestigateResult{Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		People: cfg.People, Days: cfg.Days}
	n, err := investigateCity(ctx, &cfg, res)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	res.Source = "store"
	if !cfg.Store {
		tl, err := loadTimeline(ctx, &cfg, n, res)
		if err != nil {
			return nil, err
		}
		defer tl.Close()
		n.Query.SetTimeline(tl)
	}
	iv, cases, err := nodeCases(n)
	if err != nil {
		return nil, err
	}
	res.Cases = len(cases)
	res.Validation = n.Home.Genesis.Params.Validation.Enabled
	start := sim.DefaultStart()
	from, to := start.Unix(), start.Add(time.Duration(cfg.Days)*24*time.Hour).Unix()
	minOverlap := int64(n.Query.Rules().MinOverlap / time.Second)

	t0 := time.Now()
	data, err := readPGData(n.DB, n.Query)
	if err != nil {
		return nil, err
	}
	res.Visits = len(data.visits)
	cfg.logf("read %d visits of %d persons at %d sites from the store in %.1f s", res.Visits, len(data.persons), len(data.sites), time.Since(t0).Seconds())
	if len(data.persons) == 0 {
		return nil, fmt.Errorf("bench: the city has no visits")
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	randomPerson := func() ledger.Pseudonym { return data.persons[rng.IntN(len(data.persons))] }
	siteNum := map[string]int32{}
	for num, s := range data.sites {
		siteNum[s.ID] = int32(num)
	}

	var conn *pgx.Conn
	if cfg.NoPostgres {
		res.PostgresSkipped = "--no-postgres"
	} else if bin, err := FindPostgres(); err != nil {
		res.PostgresSkipped = "PostgreSQL is not installed"
		cfg.logf("%v: comparison skipped", err)
	} else {
		pg, c, pres, err := startPostgresCity(ctx, &cfg, bin, data)
		if err != nil {
			return nil, err
		}
		defer pg.Stop()
		defer c.Close(context.Background())
		conn, res.Postgres = c, pres
	}
	data.visits, data.encounters = nil, nil
	// The visits read for PostgreSQL are gigabytes of garbage in a large
	// city: collected now, not during the timed queries (a node holds no
	// such copy; at 100,000 people a collection that overlapped the first
	// chains made them twice as slow, and the p99 theirs).
	runtime.GC()

	// The statements of each variant, and their latencies.
	type variant struct {
		contacts, bare, chain       string
		all, cases, bareAll, chains []time.Duration
		timedOut                    int
	}
	var vs []*variant
	if conn != nil {
		for _, ix := range pgIndexVariants {
			vs = append(vs, &variant{contacts: pgContactsSQL(ix), bare: pgBareContactsSQL(ix), chain: pgChainSQL(ix, 3)})
		}
	}
	pr := res.Postgres
	compare := func(same bool, what string) {
		pr.Compared++
		if !same {
			pr.Differ++
			if pr.FirstDifference == "" {
				pr.FirstDifference = what
			}
		}
	}

	// Warm both up: the same untimed queries, so that caches are hot and
	// PostgreSQL's statements are prepared.
	for i := 0; i < 20; i++ {
		p := randomPerson()
		if _, err := n.Query.Contacts(p, from, to, -1); err != nil {
			return nil, err
		}
		for _, v := range vs {
			if _, err := pgContacts(ctx, conn, v.contacts, p, from, to, minOverlap); err != nil {
				return nil, fmt.Errorf("bench: PostgreSQL contacts: %w", err)
			}
			if _, err := pgBareContacts(ctx, conn, v.bare, p, from, to, minOverlap); err != nil {
				return nil, fmt.Errorf("bench: PostgreSQL bare contacts: %w", err)
			}
		}
	}
	res.LoadAverage = loadAverage()
	cfg.logf("timing (load average %s)", res.LoadAverage)

	// Contacts: every case, then random persons, over the whole period;
	// each query ours, then each PostgreSQL variant: its full query, then
	// its bare one.
	persons := append([]ledger.Pseudonym(nil), cases...)
	for len(persons) < cfg.Queries {
		persons = append(persons, randomPerson())
	}
	var ours, oursCase []time.Duration
	rows := 0
	for i, p := range persons {
		t0 := time.Now()
		got, err := n.Query.Contacts(p, from, to, -1)
		if err != nil {
			return nil, err
		}
		d := time.Since(t0)
		ours = append(ours, d)
		rows += len(got)
		if i < len(cases) {
			oursCase = append(oursCase, d)
		}
		for k, v := range vs {
			t0 = time.Now()
			want, err := pgContacts(ctx, conn, v.contacts, p, from, to, minOverlap)
			if err != nil {
				return nil, fmt.Errorf("bench: PostgreSQL contacts: %w", err)
			}
			d = time.Since(t0)
			v.all = append(v.all, d)
			if i < len(cases) {
				v.cases = append(v.cases, d)
			}
			diff := diffContacts(got, want)
			compare(diff == "", fmt.Sprintf("contacts, query %d, %s: %s", i+1, pgIndexVariants[k], diff))

			t0 = time.Now()
			bare, err := pgBareContacts(ctx, conn, v.bare, p, from, to, minOverlap)
			if err != nil {
				return nil, fmt.Errorf("bench: PostgreSQL bare contacts: %w", err)
			}
			v.bareAll = append(v.bareAll, time.Since(t0))
			compare(sameBareContacts(got, bare, siteNum), fmt.Sprintf("bare contacts, query %d, %s: epiledger %d rows, PostgreSQL %d", i+1, pgIndexVariants[k], len(got), len(bare)))
		}
	}
	res.ContactQueries = len(persons)
	res.ContactRows = float64(rows) / float64(len(persons))
	res.Contacts, res.CaseContacts = latency(ours), latency(oursCase)
	cfg.logf("contacts: %d queries (%d cases), %.0f rows on average: epiledger p50 %.2f ms p99 %.2f ms",
		res.ContactQueries, len(cases), res.ContactRows, res.Contacts.P50, res.Contacts.P99)
	for k, v := range vs {
		l, b := latency(v.all), latency(v.bareAll)
		cfg.logf("contacts: PostgreSQL (%s) p50 %.2f ms p99 %.2f ms; four columns, unsorted: p50 %.2f ms p99 %.2f ms", pgIndexVariants[k], l.P50, l.P99, b.P50, b.P99)
	}

	// Depth-3 chains from the cases.
	ours = nil
	nodes := 0
	res.ChainWindow = "the whole period"
	if !cfg.ChainPeriod {
		res.ChainWindow = "each case's infectious period: 2 days before onset to the first report"
	}
	chainCases := firstCases(cases, cfg.Chains)
	compared := len(chainCases)
	if cfg.PostgresChains > 0 {
		compared = min(compared, cfg.PostgresChains)
	}
	for i, p := range chainCases {
		from, to, err := chainWindow(iv, p, from, to, cfg.ChainPeriod)
		if err != nil {
			return nil, err
		}
		res.ChainHours += float64(to-from) / 3600 / float64(len(chainCases))
		g, d, err := timeChain(iv, p, from, to)
		if err != nil {
			return nil, err
		}
		ours = append(ours, d)
		nodes += len(g.Nodes)
		res.ChainPersonsMax = max(res.ChainPersonsMax, len(g.Nodes))
		line := fmt.Sprintf("chain %d/%d: %d persons, %d edges, epiledger %.3f s", i+1, len(chainCases), len(g.Nodes), len(g.Edges), d.Seconds())
		for k, v := range vs {
			if i >= compared {
				break
			}
			t0 = time.Now()
			want, err := pgChain(ctx, conn, v.chain, p, from, to, minOverlap, cfg.PostgresChainTimeout)
			d = time.Since(t0)
			if errors.Is(err, errPGTimeout) {
				v.chains = append(v.chains, cfg.PostgresChainTimeout)
				v.timedOut++
				line += fmt.Sprintf(", PostgreSQL (%s) cut off at %s", pgIndexVariants[k], cfg.PostgresChainTimeout)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("bench: PostgreSQL chain: %w", err)
			}
			v.chains = append(v.chains, d)
			line += fmt.Sprintf(", PostgreSQL (%s) %.3f s", pgIndexVariants[k], d.Seconds())
			compare(sameNodes(g.Nodes, want), fmt.Sprintf("chain %d, %s: epiledger %d persons, PostgreSQL %d", i+1, pgIndexVariants[k], len(g.Nodes), len(want)))
		}
		cfg.logf("%s", line)
	}
	res.ChainQueries = len(chainCases)
	if len(chainCases) > 0 {
		res.ChainPersons = float64(nodes) / float64(len(chainCases))
	}
	res.Chain = latency(ours)
	if len(vs) > 0 && compared > 0 {
		res.ChainCompared, res.ChainsCompared = latency(ours[:compared]), compared
	}
	for k, v := range vs {
		t := PostgresTimings{Index: pgIndexVariants[k].String(), Contacts: latency(v.all), CaseContacts: latency(v.cases), ContactsBare: latency(v.bareAll),
			Chain: latency(v.chains), ChainTimedOut: v.timedOut}
		t.ContactsRatio, t.CaseContactsRatio, t.ChainRatio = ratio(t.Contacts, res.Contacts), ratio(t.CaseContacts, res.CaseContacts), ratio(t.Chain, res.ChainCompared)
		t.ContactsBareRatio = ratio(t.ContactsBare, res.Contacts)
		pr.Variants = append(pr.Variants, t)
	}

	// Clusters of all cases over the whole period, three times.
	for range 3 {
		t0 := time.Now()
		cls, err := iv.Clusters(investigate.ClusterQuery{From: from, To: to, MinOverlap: -1})
		if err != nil {
			return nil, err
		}
		res.ClustersSeconds = max(res.ClustersSeconds, time.Since(t0).Seconds())
		res.Clusters, res.ClusterSites, res.ClusterExposed = len(cls), 0, 0
		for _, c := range cls {
			res.ClusterSites += len(c.Sites)
			res.ClusterExposed += len(c.Exposed)
		}
	}
	cfg.logf("clusters: %d clusters, %d sites, %d exposed: %.2f s (slowest of 3)", res.Clusters, res.ClusterSites, res.ClusterExposed, res.ClustersSeconds)
	return res, nil
}

// loadTimeline loads a resident timeline of n's store, as a node does at
// start-up, and records its cost.
func loadTimeline(ctx context.Context, cfg *InvestigateConfig, n *node.Node, res *InvestigateResult) (*timeline.Timeline, error) {
	tl, cost, err := residentTimeline(ctx, n, timeline.Options{IDsInStore: cfg.IDsInStore}, func(entries int) { cfg.logf("timeline: %d entries loaded", entries) })
	if err != nil {
		return nil, err
	}
	st := cost.Stats
	res.Source, res.TimelineEntries, res.TimelineSeconds = "resident timeline", st.Entries, cost.Seconds
	res.TimelineHeapMiB = float64(cost.HeapBytes) / (1 << 20)
	res.TimelineEstimateMiB = float64(st.Bytes) / (1 << 20)
	cfg.logf("timeline: %d entries of %d persons at %d sites loaded in %.1f s, %.0f MiB of heap", st.Entries, st.Persons, st.Sites, res.TimelineSeconds, res.TimelineHeapMiB)
	return tl, nil
}

// timelineCost is what loading a resident timeline took.
type timelineCost struct {
	Seconds float64
	Stats   timeline.Stats
	// HeapBytes is the Go heap in use after a collection with the
	// timeline loaded, minus the same before it was created.
	HeapBytes int64
}

// residentTimeline loads a resident timeline of n's store, as a node does
// at start-up, telling progress (which may be nil) of the entries loaded,
// and measures its cost. The caller closes the timeline.
func residentTimeline(ctx context.Context, n *node.Node, o timeline.Options, progress timeline.Progress) (*timeline.Timeline, timelineCost, error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	tl := timeline.New(n.DB, o)
	if err := tl.Load(ctx, progress); err != nil {
		tl.Close()
		return nil, timelineCost{}, err
	}
	cost := timelineCost{Seconds: time.Since(t0).Seconds()}
	runtime.GC()
	runtime.ReadMemStats(&after)
	cost.Stats = tl.Stats()
	cost.HeapBytes = int64(after.HeapAlloc) - int64(before.HeapAlloc)
	return tl, cost, nil
}

// nodeCases returns an investigator of n's store, through n's querier,
// and every case it knows, by pseudonym.
func nodeCases(n *node.Node) (*investigate.Investigator, []ledger.Pseudonym, error) {
	iv := investigate.New(n.DB, n.Query)
	cs, err := iv.Cases()
	if err != nil {
		return nil, nil, err
	}
	return iv, cs.Select(""), nil
}

// firstCases is the cases chains are timed from: all of them, or the
// first max when max > 0.
func firstCases(cases []ledger.Pseudonym, max int) []ledger.Pseudonym {
	if max > 0 && max < len(cases) {
		return cases[:max]
	}
	return cases
}

// chainWindow is the window of a chain from case p: its infectious period
// (infectiousPeriod) within [from, to], or [from, to] itself with
// wholePeriod.
func chainWindow(iv *investigate.Investigator, p ledger.Pseudonym, from, to int64, wholePeriod bool) (int64, int64, error) {
	if wholePeriod {
		return from, to, nil
	}
	return infectiousPeriod(iv, p, from, to)
}

// timeChain runs and times the depth-3 time-respecting chain from p over
// [from, to], with the rules' least overlap.
func timeChain(iv *investigate.Investigator, p ledger.Pseudonym, from, to int64) (*investigate.Graph, time.Duration, error) {
	t0 := time.Now()
	g, err := iv.Chain(investigate.ChainQuery{Person: p, From: from, To: to, Depth: 3, MinOverlap: -1})
	if err != nil {
		return nil, 0, err
	}
	return g, time.Since(t0), nil
}

// infectiousPeriod is the window of a case's chain: from two days before
// its onset (the sim's dates are local days) to its first report, within
// [from, to]; [from, to] when the reports give no onset.
func infectiousPeriod(iv *investigate.Investigator, p ledger.Pseudonym, from, to int64) (int64, int64, error) {
	onset, ok, err := iv.Onset(p, sim.DefaultStart().Location())
	if err != nil || !ok {
		return from, to, err
	}
	cs, err := iv.Querier().CasesOf(p)
	if err != nil || len(cs) == 0 {
		return from, to, err
	}
	reported := cs[0].Reported
	for _, c := range cs[1:] {
		reported = min(reported, c.Reported)
	}
	lo, hi := max(from, onset-2*86400), min(to, reported)
	if hi <= lo {
		return from, to, nil
	}
	return lo, hi, nil
}

// investigateCity opens the node of the city in cfg.Dir, generating,
// signing and ingesting it first unless an earlier run did.
func investigateCity(ctx context.Context, cfg *InvestigateConfig, res *InvestigateResult) (*node.Node, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(cfg.Dir, "home")
	city := fmt.Sprintf("people=%d days=%d seed=%d", cfg.People, cfg.Days, cfg.Seed)
	markerPath := filepath.Join(cfg.Dir, "city.json")
	if b, err := os.ReadFile(markerPath); err == nil {
		var m cityMarker
		if json.Unmarshal(b, &m) == nil && m.City == city {
			h, err := home.Load(dir)
			if err != nil {
				return nil, err
			}
			n, err := node.Open(h, quiet, node.Options{})
			if err != nil {
				return nil, err
			}
			res.Reused, res.Records, res.IngestSeconds = true, m.Records, m.IngestSeconds
			cfg.logf("city %s: reusing %s (%d records)", city, dir, m.Records)
			return n, nil
		}
	}
	// Another city, or none: start afresh, PostgreSQL's copy included.
	for _, p := range []string{markerPath, dir, filepath.Join(cfg.Dir, "postgres")} {
		if err := os.RemoveAll(p); err != nil {
			return nil, err
		}
	}
	t0 := time.Now()
	cityFile := filepath.Join(cfg.Dir, "city.ndjson")
	f, err := os.Create(cityFile)
	if err != nil {
		return nil, err
	}
	defer os.Remove(cityFile)
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err := sim.Generate(sim.Config{People: cfg.People, Days: cfg.Days, Seed: cfg.Seed}, ndjson.NewWriter(bw)); err != nil {
		f.Close()
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	defer f.Close()
	cfg.logf("city %s generated in %.1f s (%d MB of NDJSON)", city, time.Since(t0).Seconds(), size>>20)

	h, err := home.Init(dir, home.InitOptions{ChainID: "epiledger-bench", Region: "420100"})
	if err != nil {
		return nil, err
	}
	n, err := node.Open(h, quiet, node.Options{})
	if err != nil {
		return nil, err
	}
	im := importer.New(h, importer.EngineSink{Node: n})
	t0 = time.Now()
	last := t0
	im.Progress = func(read int64, lines int) {
		if now := time.Now(); now.Sub(last) >= 15*time.Second {
			last = now
			cfg.logf("sign and ingest: %d lines, %.0f%% of the city read, %.0f s", lines, 100*float64(read)/float64(size), now.Sub(t0).Seconds())
		}
	}
	r, err := im.Import(bufio.NewReaderSize(f, 1<<20))
	if err == nil && r.Rejected > 0 {
		err = fmt.Errorf("bench: %d records refused, the first: %s", r.Rejected, r.Rejections[0])
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		n.Close()
		return nil, err
	}
	res.Records, res.IngestSeconds = r.Accepted, time.Since(t0).Seconds()
	cfg.logf("signed and ingested %d records in %.0f s (%.0f records/s, signing included)", res.Records, res.IngestSeconds, float64(res.Records)/res.IngestSeconds)
	b, _ := json.Marshal(cityMarker{City: city, Records: res.Records, IngestSeconds: res.IngestSeconds})
	if err := os.WriteFile(markerPath, b, 0o644); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// startPostgresCity starts a server on cfg.Dir/postgres and loads the
// city into it unless an earlier run did.
func startPostgresCity(ctx context.Context, cfg *InvestigateConfig, bin string, data *pgData) (*Postgres, *pgx.Conn, *PostgresResult, error) {
	t0 := time.Now()
	pg, conn, err := pgStart(ctx, cfg.Dir, bin, cfg.Log)
	if err != nil {
		return nil, nil, nil, err
	}
	pr := &PostgresResult{Version: pg.Version}
	cfg.logf("PostgreSQL %s started in %.1f s (%s)", pg.Version, time.Since(t0).Seconds(), bin)
	city := fmt.Sprintf("people=%d days=%d seed=%d visits=%d", cfg.People, cfg.Days, cfg.Seed, len(data.visits))
	if pgLoaded(ctx, conn, city) {
		pr.Reused = true
		cfg.logf("postgres: reusing the loaded city")
		return pg, conn, pr, nil
	}
	if pr.CopySeconds, pr.IndexSeconds, err = pgLoad(ctx, conn, data, city, cfg.logf); err != nil {
		conn.Close(context.Background())
		pg.Stop()
		return nil, nil, nil, err
	}
	cfg.logf("postgres: indexes, vacuum and analyze in %.0f s", pr.IndexSeconds)
	return pg, conn, pr, nil
}

// diffContacts describes the first difference between our contacts and
// PostgreSQL's rows, "" when there is none: the same contacts, every
// field, in the same order (the order is part of the answer).
func diffContacts(ours []trace.Contact, theirs []pgContact) string {
	for i := range min(len(ours), len(theirs)) {
		c, t := &ours[i], &theirs[i]
		o := pgContact{person: c.Person, site: c.Site, kind: c.SiteKind, from: c.From, to: c.To, role: c.Role, via: c.Via, txid: c.TxID, caseTxID: c.CaseTxID}
		if o != *t {
			return fmt.Sprintf("row %d of %d: epiledger %s, PostgreSQL %s", i+1, len(ours), o, t)
		}
	}
	if len(ours) != len(theirs) {
		return fmt.Sprintf("epiledger %d rows, PostgreSQL %d", len(ours), len(theirs))
	}
	return ""
}

// String formats a contact for a difference: the pseudonym's and record
// ids' first bytes, the other fields whole.
func (c pgContact) String() string {
	return fmt.Sprintf("{%x %q %q [%d, %d) role %q via %q tx %x case tx %x}", c.person[:4], c.site, c.kind, c.from, c.to, c.role, c.via, c.txid[:4], c.caseTxID[:4])
}

// sameBareContacts reports whether our contacts and the rows of the bare
// query (pgBareContactsSQL) are the same multiset of (person, site
// number, from, to).
func sameBareContacts(ours []trace.Contact, theirs []pgBareContact, siteNum map[string]int32) bool {
	if len(ours) != len(theirs) {
		return false
	}
	a := make([]pgBareContact, len(ours))
	for i, c := range ours {
		a[i] = pgBareContact{person: c.Person, site: siteNum[c.Site], from: c.From, to: c.To}
	}
	b := slices.Clone(theirs)
	cmp := func(x, y pgBareContact) int {
		if c := strings.Compare(string(x.person[:]), string(y.person[:])); c != 0 {
			return c
		}
		if x.site != y.site {
			return compareInt(int64(x.site), int64(y.site))
		}
		if x.from != y.from {
			return compareInt(x.from, y.from)
		}
		return compareInt(x.to, y.to)
	}
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

// sameNodes reports whether a chain's nodes and PostgreSQL's rows name
// the same persons with the same layer and earliest exposure.
func sameNodes(ours []investigate.Node, theirs []pgNode) bool {
	if len(ours) != len(theirs) {
		return false
	}
	a := make([]pgNode, len(ours))
	for i, n := range ours {
		a[i] = pgNode{person: n.Person, layer: int32(n.Layer), exposure: n.Exposure}
	}
	b := slices.Clone(theirs)
	cmp := func(x, y pgNode) int { return strings.Compare(string(x.person[:]), string(y.person[:])) }
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func latency(ds []time.Duration) Latency {
	p50, p99 := pct(ds)
	return Latency{P50: p50, P99: p99}
}

// loadAverage is the first three fields of /proc/loadavg ("" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// WriteInvestigate prints a result as a table, with the targets.
func WriteInvestigate(w io.Writer, r *InvestigateResult) error {
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "machine     %s (load average %s)\n", r.Machine, r.LoadAverage)
	fmt.Fprintf(&b, "city        %d people, %d days, %d records, %d visible visits, %d cases (validation %v)\n",
		r.People, r.Days, r.Records, r.Visits, r.Cases, r.Validation)
	fmt.Fprintf(&b, "ingest      %.0f s, signing included%s\n", r.IngestSeconds, map[bool]string{true: " (an earlier run's; city reused)"}[r.Reused])
	if r.Source == "store" {
		fmt.Fprintf(&b, "epiledger   queries read the store's indexes (--store)\n")
	} else {
		fmt.Fprintf(&b, "epiledger   queries read the resident timeline: %d entries, loaded in %.1f s, %.0f MiB of heap\n", r.TimelineEntries, r.TimelineSeconds, r.TimelineHeapMiB)
	}
	pg := r.Postgres
	switch {
	case pg == nil:
		fmt.Fprintf(&b, "PostgreSQL  skipped: %s\n", r.PostgresSkipped)
	case pg.Reused:
		fmt.Fprintf(&b, "PostgreSQL  %s (loaded by an earlier run)\n", pg.Version)
	default:
		fmt.Fprintf(&b, "PostgreSQL  %s: COPY %.0f s, indexes + vacuum analyze %.0f s\n", pg.Version, pg.CopySeconds, pg.IndexSeconds)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "query\tepiledger p50\tp99\t")
	var variants []PostgresTimings
	if pg != nil {
		variants = pg.Variants
	}
	for _, v := range variants {
		fmt.Fprintf(tw, "PostgreSQL %s p50\tp99\tratio p50\tp99\t", v.Index)
	}
	fmt.Fprintln(tw)
	row := func(name string, ours Latency, theirs func(v PostgresTimings) (Latency, Ratio, string)) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t", name, ms(ours.P50), ms(ours.P99))
		for _, v := range variants {
			if theirs == nil {
				fmt.Fprint(tw, "\t\t\t\t")
				continue
			}
			l, rt, ge := theirs(v)
			fmt.Fprintf(tw, "%s%s\t%s%s\t%s%.1fx\t%s%.1fx\t", ge, ms(l.P50), ge, ms(l.P99), ge, rt.P50, ge, rt.P99)
		}
		fmt.Fprintln(tw)
	}
	exact := func(l Latency, r Ratio) (Latency, Ratio, string) { return l, r, "" }
	// A chain cut off at the timeout makes PostgreSQL's figures lower
	// bounds: ">=".
	bound := func(v PostgresTimings) string {
		if v.ChainTimedOut > 0 {
			return ">="
		}
		return ""
	}
	row(fmt.Sprintf("contacts (%d)", r.ContactQueries), r.Contacts, func(v PostgresTimings) (Latency, Ratio, string) {
		return exact(v.Contacts, v.ContactsRatio)
	})
	row(fmt.Sprintf("contacts, cases (%d)", r.Cases), r.CaseContacts, func(v PostgresTimings) (Latency, Ratio, string) {
		return exact(v.CaseContacts, v.CaseContactsRatio)
	})
	if len(variants) > 0 {
		row(fmt.Sprintf("contacts, PostgreSQL four columns, unsorted (%d)", r.ContactQueries), r.Contacts, func(v PostgresTimings) (Latency, Ratio, string) {
			return exact(v.ContactsBare, v.ContactsBareRatio)
		})
	}
	if len(variants) > 0 && r.ChainsCompared < r.ChainQueries {
		row(fmt.Sprintf("chain depth 3 (%d)", r.ChainQueries), r.Chain, nil)
		row(fmt.Sprintf("chain depth 3, the first %d", r.ChainsCompared), r.ChainCompared, func(v PostgresTimings) (Latency, Ratio, string) {
			return v.Chain, v.ChainRatio, bound(v)
		})
	} else {
		row(fmt.Sprintf("chain depth 3 (%d)", r.ChainQueries), r.Chain, func(v PostgresTimings) (Latency, Ratio, string) {
			return v.Chain, v.ChainRatio, bound(v)
		})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\ncontacts    over the whole period, %.0f rows per query on average\n", r.ContactRows)
	if len(variants) > 0 {
		fmt.Fprintf(&b, "            PostgreSQL's contact query returns our answer: all nine fields of each contact, in our order;\n")
		fmt.Fprintf(&b, "            its four-column query (pseudonym, site number, start, end; unsorted) is the one earlier runs timed\n")
	}
	fmt.Fprintf(&b, "chains      over %s (%.0f h on average); %.0f persons reached on average, %d at most\n",
		r.ChainWindow, r.ChainHours, r.ChainPersons, r.ChainPersonsMax)
	fmt.Fprintf(&b, "clusters    all cases, whole period: %.2f s (slowest of 3): %d clusters, %d sites, %d exposed\n",
		r.ClustersSeconds, r.Clusters, r.ClusterSites, r.ClusterExposed)
	if pg != nil {
		same := "all equal to ours"
		if pg.Differ > 0 {
			same = fmt.Sprintf("%d DIFFER (first: %s)", pg.Differ, pg.FirstDifference)
		}
		fmt.Fprintf(&b, "answers     %d PostgreSQL answers compared: %s\n", pg.Compared, same)
		for _, v := range variants {
			if v.ChainTimedOut > 0 {
				fmt.Fprintf(&b, "cut off     PostgreSQL (%s): %d of %d chains at the timeout; its chain figures are lower bounds\n", v.Index, v.ChainTimedOut, r.ChainsCompared)
			}
		}
	}
	fmt.Fprintf(&b, "targets     contacts p99 < 50 ms: %s; chain p99 < 500 ms: %s; clusters < 5 s: %s\n",
		met(r.Contacts.P99 < 50), met(r.Chain.P99 < 500), met(r.ClustersSeconds < 5))
	if len(variants) > 0 {
		c, ch := variants[0].ContactsRatio.P99, variants[0].ChainRatio.P99
		for _, v := range variants[1:] {
			c, ch = min(c, v.ContactsRatio.P99), min(ch, v.ChainRatio.P99)
		}
		fmt.Fprintf(&b, "            >= 10x faster than PostgreSQL's faster variant at p99: contacts %.1fx %s, chain %.1fx %s\n", c, met(c >= 10), ch, met(ch >= 10))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ms formats milliseconds with three significant digits or more, and
// the unit.
func ms(v float64) string { return msFigure(v) + " ms" }

// msFigure formats milliseconds with three significant digits or more.
func msFigure(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
