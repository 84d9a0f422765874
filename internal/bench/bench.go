// Package bench measures the ledger on this machine, everything in one run
// so that figures can be compared: the single-core Ed25519 verify rate (the
// ceiling ingest is compared with), ingest throughput of signed records
// through the engine, commit latency, contact-query latency and bytes on
// disk per record.
package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/timeline"
)

// Config says what to measure.
type Config struct {
	People, Days int
	Seed         uint64
	Queries      int // contact queries to time (cases first, then random people)
	// ClosePersons is how many persons' windows to close at once (0: skip).
	ClosePersons int
	// Pairs is how many times the ingest with and without validation are
	// timed, alternating (at least 1): the ratio of each pair, and their
	// median, say what validation costs with the machine's noise shown.
	Pairs int
	// Resident also times, in each pair, the validated ingest on a node
	// that keeps a resident timeline, as `epiledger node` does: the cost
	// of keeping it current.
	Resident bool
	Dir      string // scratch directory; removed afterwards
	// Progress, if not nil, is told of each step as it starts. It says
	// what runs, never a figure: the figures are all in the Result.
	Progress Progress
}

// Progress is told that step (1..total) of a run starts, and what it
// measures. Run calls it from the goroutine that called Run.
type Progress func(step, total int, what string)

// Result holds every figure of one run.
type Result struct {
	Machine           string  `json:"machine"`
	People            int     `json:"people"`
	Days              int     `json:"days"`
	Records           int     `json:"records"`
	VerifyPerSec1Core float64 `json:"ed25519_verify_per_sec_1core"`
	BatchPerSec1Core  float64 `json:"ed25519_batch_verify_per_sec_1core"`
	IngestPerSec      float64 `json:"ingest_records_per_sec"`
	IngestSeconds     float64 `json:"ingest_seconds"`
	// PlainPerSec is the same ingest with trajectory validation off (the
	// ledger of issue 2), for comparison in the same run.
	PlainPerSec     float64 `json:"ingest_without_validation_records_per_sec"`
	ValidationRatio float64 `json:"ingest_with_over_without_validation"`
	// PairRatios are the with/without ratios of every pair (the first is
	// ValidationRatio's), MedianRatio their median.
	PairRatios  []float64 `json:"ingest_ratio_pairs"`
	MedianRatio float64   `json:"ingest_ratio_median"`
	// ResidentRatios are, per pair, the validated ingest with a resident
	// timeline over the same without (Config.Resident), ResidentMedian
	// their median.
	ResidentRatios  []float64 `json:"ingest_resident_ratio_pairs,omitempty"`
	ResidentMedian  float64   `json:"ingest_resident_ratio_median,omitempty"`
	ClosePersons    int       `json:"close_persons"`
	CloseRecords    int       `json:"close_records"`
	CloseSeconds    float64   `json:"close_seconds"`
	ClosedWindows   int       `json:"closed_windows"`
	Blocks          uint64    `json:"blocks"`
	CommitLoadP50   float64   `json:"commit_latency_under_load_p50_ms"`
	CommitLoadP99   float64   `json:"commit_latency_under_load_p99_ms"`
	HalfLoadRate    float64   `json:"half_load_offered_per_sec"`
	CommitHalfP50   float64   `json:"commit_latency_half_load_p50_ms"`
	CommitHalfP99   float64   `json:"commit_latency_half_load_p99_ms"`
	CommitIdleP50   float64   `json:"commit_latency_single_p50_ms"`
	CommitIdleP99   float64   `json:"commit_latency_single_p99_ms"`
	CaseQueries     int       `json:"case_queries"`
	CaseContactsP50 float64   `json:"contacts_case_p50_ms"`
	CaseContactsP99 float64   `json:"contacts_case_p99_ms"`
	Queries         int       `json:"queries"`
	ContactsP50     float64   `json:"contacts_p50_ms"`
	ContactsP99     float64   `json:"contacts_p99_ms"`
	// StoredRecords are the transactions the store holds when its bytes
	// are measured: the city's and the latency steps'. The bytes per
	// record are per stored record.
	StoredRecords     int     `json:"stored_records"`
	BytesPerRecord    float64 `json:"bytes_on_disk_per_record"`
	SSTBytesPerRecord float64 `json:"table_bytes_per_record"`
	// Compacted are the same once the store is compacted in full
	// (store.DB.Compact): what a record costs once compaction has caught
	// up, the goal's measure. Tables are then measured.
	CompactedBytesPerRecord    float64 `json:"compacted_bytes_on_disk_per_record"`
	CompactedSSTBytesPerRecord float64 `json:"compacted_table_bytes_per_record"`
	// Tables are where the bytes go after the compaction, table by
	// table, largest first.
	Tables []store.TableUsage `json:"tables"`
}

// Steps returns how many steps Run takes with cfg, each announced to
// cfg.Progress.
func (cfg *Config) Steps() int {
	n := 8 + max(cfg.Pairs, 1) - 1
	if cfg.Resident {
		n++
	}
	if cfg.ClosePersons > 0 {
		n++
	}
	return n
}

// stepper announces the steps of one run to a Progress.
type stepper struct {
	p           Progress
	step, total int
}

func (s *stepper) next(format string, args ...any) {
	s.step++
	if s.step > s.total {
		panic("bench: more steps than Config.Steps counted")
	}
	if s.p != nil {
		s.p(s.step, s.total, fmt.Sprintf(format, args...))
	}
}

// Run measures everything, announcing each of cfg.Steps() steps to
// cfg.Progress.
func Run(cfg Config) (*Result, error) {
	st := &stepper{p: cfg.Progress, total: cfg.Steps()}
	res := &Result{Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()), People: cfg.People, Days: cfg.Days}
	st.next("ed25519 verification on one core")
	res.VerifyPerSec1Core, res.BatchPerSec1Core = verifyRates()

	st.next("simulate a city of %d people over %d days", cfg.People, cfg.Days)
	var buf bytes.Buffer
	truth, err := sim.Generate(sim.Config{People: cfg.People, Days: cfg.Days, Seed: cfg.Seed}, ndjson.NewWriter(&buf))
	if err != nil {
		return nil, err
	}
	city := buf.Bytes()
	ids := identities(city)

	// The same city without validation first, on its own home.
	st.next("ingest without validation")
	var plain float64
	pprof.Do(context.Background(), pprof.Labels("phase", "ingest-plain"), func(context.Context) {
		plain, err = ingestOnly(filepath.Join(cfg.Dir, "plain"), city, false, false)
	})
	if err != nil {
		return nil, err
	}
	res.PlainPerSec = plain

	st.next("sign the city, then ingest it with validation")
	h, cap, err := signed(filepath.Join(cfg.Dir, "home"), city, true)
	if err != nil {
		return nil, err
	}
	res.Records = len(cap.Txs)

	// Goroutines inherit profiler labels: the node's engine and store
	// goroutines, started here, are counted under "ingest" in a CPU profile.
	var n *node.Node
	pprof.Do(context.Background(), pprof.Labels("phase", "ingest"), func(context.Context) {
		n, err = node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{})
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if n != nil {
			n.Close()
		}
	}()
	if err := n.PutVault(cap.Vault); err != nil {
		return nil, err
	}
	start := time.Now()
	lat, err := submitAll(n, cap.Txs, 0)
	el := time.Since(start)
	if err != nil {
		return nil, err
	}
	res.IngestSeconds = el.Seconds()
	res.IngestPerSec = float64(len(cap.Txs)) / el.Seconds()
	res.ValidationRatio = res.IngestPerSec / res.PlainPerSec
	res.PairRatios = []float64{res.ValidationRatio}
	res.Blocks = n.Engine.Head().Height
	res.CommitLoadP50, res.CommitLoadP99 = pct(lat)

	// Commit latency at half the measured ingest rate, paced.
	res.HalfLoadRate = res.IngestPerSec / 2
	st.next("commit latency at half load")
	half, err := pacedCommits(h, n, res.HalfLoadRate, 5*time.Second)
	if err != nil {
		return nil, err
	}
	res.CommitHalfP50, res.CommitHalfP99 = pct(half)

	// Single submissions, one after the other, each waiting for its block.
	st.next("commit latency, one transaction at a time")
	single, err := singleCommits(h, n, 50)
	if err != nil {
		return nil, err
	}
	res.CommitIdleP50, res.CommitIdleP99 = pct(single)

	st.next("bytes on disk, after a flush and after a full compaction")
	if err := n.DB.Flush(); err != nil {
		return nil, err
	}
	flushed, flushedSST := dirSize(h.DataDir(), ""), dirSize(h.DataDir(), ".sst")
	if err := n.DB.Compact(context.Background()); err != nil {
		return nil, err
	}
	compacted, compactedSST := dirSize(h.DataDir(), ""), dirSize(h.DataDir(), ".sst")
	if res.Tables, err = n.DB.Usage(); err != nil {
		return nil, err
	}
	// Per record the store holds: the city's, and those the latency
	// steps added (the paced ones are as many as half the ingest rate
	// makes in 5 s, so more on a faster run).
	res.StoredRecords = res.Records
	for _, u := range res.Tables {
		if u.Table == store.TableName(store.TabTx) && u.Keys > 0 {
			res.StoredRecords = int(u.Keys)
		}
	}
	per := func(b int64) float64 { return float64(b) / float64(res.StoredRecords) }
	res.BytesPerRecord, res.SSTBytesPerRecord = per(flushed), per(flushedSST)
	res.CompactedBytesPerRecord, res.CompactedSSTBytesPerRecord = per(compacted), per(compactedSST)

	// Contact queries: every case, then random people, over the whole period.
	st.next("contact queries")
	from, to := truth.Start.Unix(), truth.End.Unix()
	var caseLat, allLat []time.Duration
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	persons := truth.Cases
	for len(persons) < cfg.Queries {
		persons = append(persons, ids[rng.IntN(len(ids))])
	}
	for i, id := range persons {
		p := n.Pseud.Person(id)
		t0 := time.Now()
		if _, err := n.Query.Contacts(p, from, to, -1); err != nil {
			return nil, err
		}
		d := time.Since(t0)
		allLat = append(allLat, d)
		if i < len(truth.Cases) {
			caseLat = append(caseLat, d)
		}
	}
	res.CaseQueries, res.Queries = len(caseLat), len(allLat)
	res.CaseContactsP50, res.CaseContactsP99 = pct(caseLat)
	res.ContactsP50, res.ContactsP99 = pct(allLat)
	if err := n.Close(); err != nil {
		return nil, err
	}
	n = nil
	if cfg.Resident {
		st.next("ingest with validation and a resident timeline")
		r, err := ingestOnly(filepath.Join(cfg.Dir, "resident"), city, true, true)
		if err != nil {
			return nil, err
		}
		res.ResidentRatios = append(res.ResidentRatios, r/res.IngestPerSec)
	}
	// More pairs, each on fresh homes, removed as soon as measured.
	for i := 1; i < cfg.Pairs; i++ {
		st.next("ingest pair %d of %d, without and with validation", i+1, cfg.Pairs)
		var rates [3]float64
		modes := [][2]bool{{false, false}, {true, false}}
		if cfg.Resident {
			modes = append(modes, [2]bool{true, true})
		}
		for j, m := range modes {
			dir := filepath.Join(cfg.Dir, fmt.Sprintf("pair-%d-%d", i, j))
			r, err := ingestOnly(dir, city, m[0], m[1])
			if err != nil {
				return nil, err
			}
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
			rates[j] = r
		}
		res.PairRatios = append(res.PairRatios, rates[1]/rates[0])
		if cfg.Resident {
			res.ResidentRatios = append(res.ResidentRatios, rates[2]/rates[1])
		}
	}
	res.MedianRatio = medianOf(res.PairRatios)
	if cfg.Resident {
		res.ResidentMedian = medianOf(res.ResidentRatios)
	}
	if cfg.ClosePersons > 0 {
		st.next("close the windows of %d people in one block", cfg.ClosePersons)
		if err := closeWindows(cfg, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// medianOf is the median of xs (the mean of the middle two for an even
// count).
func medianOf(xs []float64) float64 {
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	m := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		m = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	return m
}

// signed creates a home in dir (validation on or off) and signs the world's
// records for it.
func signed(dir string, world []byte, validation bool) (*home.Home, *importer.Collector, error) {
	rules := state.DefaultParams()
	rules.Validation.Enabled = validation
	h, err := home.Init(dir, home.InitOptions{ChainID: "epiledger-bench", Region: "420100", Rules: &rules})
	if err != nil {
		return nil, nil, err
	}
	c := &importer.Collector{}
	if _, err := importer.New(h, c).Import(bytes.NewReader(world)); err != nil {
		return nil, nil, err
	}
	return h, c, nil
}

// ingestOnly measures the ingest rate of a world on a fresh home; with
// resident, on a node that keeps a resident timeline, the clock stopping
// only once the timeline holds every block.
func ingestOnly(dir string, world []byte, validation, resident bool) (float64, error) {
	h, c, err := signed(dir, world, validation)
	if err != nil {
		return 0, err
	}
	n, el, err := ingestSigned(h, c, resident)
	if err != nil {
		return 0, err
	}
	defer n.Close()
	return float64(len(c.Txs)) / el.Seconds(), nil
}

// ingestSigned opens a node on h (keeping a resident timeline if
// resident) and times the ingest of c's signed records through its
// engine; with resident, the clock stops only once the timeline holds
// every block. The caller closes the node; on an error it is closed.
func ingestSigned(h *home.Home, c *importer.Collector, resident bool) (*node.Node, time.Duration, error) {
	n, err := openForIngest(h, c.Vault, resident)
	if err != nil {
		return nil, 0, err
	}
	fail := func(err error) (*node.Node, time.Duration, error) {
		n.Close()
		return nil, 0, err
	}
	start := time.Now()
	if _, err := submitAll(n, c.Txs, 0); err != nil {
		return fail(err)
	}
	if resident {
		if err := n.Timeline.Read(func(*timeline.View) error { return nil }); err != nil {
			return fail(err)
		}
	}
	return n, time.Since(start), nil
}

// openForIngest opens a node on h (keeping a resident timeline if
// resident), waits for its timeline and loads the vault entries of the
// records to come.
func openForIngest(h *home.Home, vault []node.VaultEntry, resident bool) (*node.Node, error) {
	n, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{Resident: resident})
	if err != nil {
		return nil, err
	}
	if err := n.WaitTimeline(context.Background()); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.PutVault(vault); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// closeWindows ingests one day of a city of ClosePersons people (their
// windows stay open: nothing later has arrived), then times the block that
// closes all of them at once: a close_windows transaction moves the
// validation clock past the day's end plus the grace period.
func closeWindows(cfg Config, res *Result) error {
	var buf bytes.Buffer
	if _, err := sim.Generate(sim.Config{People: cfg.ClosePersons, Days: 1, Seed: cfg.Seed}, ndjson.NewWriter(&buf)); err != nil {
		return err
	}
	h, c, err := signed(filepath.Join(cfg.Dir, "close"), buf.Bytes(), true)
	if err != nil {
		return err
	}
	n, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{})
	if err != nil {
		return err
	}
	defer n.Close()
	if _, err := submitAll(n, c.Txs, 0); err != nil {
		return err
	}
	pending := countPending(n)
	start := sim.DefaultStart()
	tx := ledger.NewTx(&ledger.CloseWindows{Until: start.Add(24*time.Hour + h.Genesis.Params.Validation.Grace + time.Hour).Unix()})
	tx.Sign(h.Genesis.ChainID, h.Authority())
	t0 := time.Now()
	if rc := n.Engine.Submit(contextBackground(), tx.Bytes()); rc.Err != nil {
		return rc.Err
	}
	res.CloseSeconds = time.Since(t0).Seconds()
	res.ClosePersons, res.CloseRecords = cfg.ClosePersons, len(c.Txs)
	res.ClosedWindows = pending - countPending(n)
	return nil
}

// countPending counts the person windows not yet decided.
func countPending(n *node.Node) int { return n.Machine.PendingWindows() }

// identities lists the canonical ids of a world's identity records.
func identities(data []byte) []string {
	var out []string
	for _, line := range bytes.Split(data, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"type":"identity"`)) {
			continue
		}
		if v, err := ndjson.Parse(line); err == nil {
			out = append(out, v.(*ndjson.Identity).ID)
		}
	}
	return out
}

// signedVisits signs k fresh visits at a new site (registered first).
func signedVisits(h *home.Home, site string, k int) ([][]byte, error) {
	var lines bytes.Buffer
	w := ndjson.NewWriter(&lines)
	w.Write(&ndjson.Site{Site: site, Kind: "office", Lat: 30.5, Lon: 114.3})
	base := time.Date(2020, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < k; i++ {
		w.Write(&ndjson.Visit{Site: site, Person: fmt.Sprintf("id:%s-%07d", site, i), In: base.Add(time.Duration(i) * time.Second), Out: base.Add(time.Duration(i+1800) * time.Second)})
	}
	cap := &importer.Collector{}
	if _, err := importer.New(h, cap).Import(&lines); err != nil {
		return nil, err
	}
	return cap.Txs, nil
}

// pacedCommits offers transactions at rate per second for d and returns
// each one's submit-to-acknowledgement latency.
func pacedCommits(h *home.Home, n *node.Node, rate float64, d time.Duration) ([]time.Duration, error) {
	k := int(rate * d.Seconds())
	txs, err := signedVisits(h, "bench-paced", k)
	if err != nil {
		return nil, err
	}
	if r := n.Engine.Submit(contextBackground(), txs[0]); r.Err != nil {
		return nil, r.Err
	}
	return submitAll(n, txs[1:], rate)
}

// submitAll submits txs through the engine, at rate per second if rate >
// 0 (else as fast as the engine admits them), and returns each one's
// submit-to-acknowledgement latency; any refusal is an error.
func submitAll(n *node.Node, txs [][]byte, rate float64) ([]time.Duration, error) {
	lat := make([]time.Duration, len(txs))
	var wg sync.WaitGroup
	var failMu sync.Mutex
	var fail error
	start := time.Now()
	for i, raw := range txs {
		if rate > 0 {
			// Transaction i is due at start + i/rate.
			if wait := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
				time.Sleep(wait)
			}
		}
		wg.Add(1)
		t0 := time.Now()
		i := i
		if err := n.Engine.SubmitAsync(raw, func(rc engine.Receipt) {
			lat[i] = time.Since(t0)
			if rc.Err != nil {
				failMu.Lock()
				if fail == nil {
					fail = fmt.Errorf("record %d refused: %w", i, rc.Err)
				}
				failMu.Unlock()
			}
			wg.Done()
		}); err != nil {
			return nil, err
		}
	}
	wg.Wait()
	return lat, fail
}

// singleCommits submits k fresh visits one at a time and times each.
func singleCommits(h *home.Home, n *node.Node, k int) ([]time.Duration, error) {
	txs, err := signedVisits(h, "bench-single", k+1)
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for i, raw := range txs {
		t0 := time.Now()
		rc := n.Engine.Submit(contextBackground(), raw)
		if rc.Err != nil {
			return nil, rc.Err
		}
		if i > 0 { // the first includes registering the site
			out = append(out, time.Since(t0))
		}
	}
	return out, nil
}

// verifyRates measures Ed25519 verification on one core: one signature at
// a time, and in batches of 64, with the ledger's rule (ZIP-215).
func verifyRates() (single, batch float64) {
	const n = 2048
	pub, priv, _ := ed25519.GenerateKey(nil)
	msgs := make([][]byte, n)
	sigs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = []byte(fmt.Sprintf("epiledger bench message %d with some length to it", i))
		sigs[i] = ed25519.Sign(priv, msgs[i])
	}
	opts := &voi.Options{Verify: voi.VerifyOptionsZIP_215}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := time.Now()
	for i := range msgs {
		if !voi.VerifyWithOptions(voi.PublicKey(pub), msgs[i], sigs[i], opts) {
			panic("bench: signature does not verify")
		}
	}
	single = n / time.Since(t0).Seconds()
	bv := voi.NewBatchVerifierWithCapacity(64)
	t0 = time.Now()
	for lo := 0; lo < n; lo += 64 {
		bv.Reset()
		for i := lo; i < lo+64; i++ {
			bv.AddWithOptions(voi.PublicKey(pub), msgs[i], sigs[i], opts)
		}
		if !bv.VerifyBatchOnly(nil) {
			panic("bench: batch does not verify")
		}
	}
	batch = n / time.Since(t0).Seconds()
	return single, batch
}

// pct returns the median and 99th percentile in milliseconds (nearest
// rank: with few values the 99th percentile is the largest; interpolating
// down would hide the slowest query).
func pct(ds []time.Duration) (p50, p99 float64) {
	q := quantiles(ds, 0.50, 0.99)
	return q[0], q[1]
}

// dirSize sums the sizes of the files in dir whose names end with suffix.
func dirSize(dir, suffix string) int64 {
	var n int64
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasSuffix(path, suffix) {
			n += fi.Size()
		}
		return nil
	})
	return n
}
