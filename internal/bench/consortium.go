package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/comet"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// ConsortiumConfig says what `epiledger bench consortium` measures.
type ConsortiumConfig struct {
	Validators   int
	People, Days int
	Seed         uint64
	// TimeoutCommit is each validator's pause after a block (CometBFT's
	// timeout_commit).
	TimeoutCommit time.Duration
	// Half is how long the half-load phase offers records.
	Half time.Duration
	// Singles is how many records the solo engine commits one at a time.
	Singles int
	// Dir is the scratch directory (the caller removes it).
	Dir string
	// Command runs one node: it gets "node --home DIR" appended; Env is
	// added to its environment. Empty: this executable.
	Command []string
	Env     []string
	// ToAll sends every record to every validator (as a site that wants
	// no single node to be able to drop its records would); otherwise the
	// records are spread over them and reach the others by gossip.
	ToAll bool
	// RetainBlocks, if positive, is each validator's engine.retain_blocks:
	// CometBFT keeps its latest RetainBlocks blocks and a trimmed WAL.
	RetainBlocks int64
	// Verbose makes the nodes log at debug level (CometBFT's every vote).
	Verbose bool
	// CPUProfile, if set, has node i write its CPU profile to
	// CPUProfile.node<i> (go tool pprof), from its start to its stop.
	CPUProfile string
	// Log, if not nil, is told of each step.
	Log io.Writer
}

// ConsortiumResult holds every figure of one run.
type ConsortiumResult struct {
	Machine       string  `json:"machine"`
	Validators    int     `json:"validators"`
	People        int     `json:"people"`
	Days          int     `json:"days"`
	Records       int     `json:"records"`
	TimeoutCommit string  `json:"timeout_commit"`
	SetupRecords  int     `json:"setup_records"`
	ToAll         bool    `json:"each_record_to_every_validator"`
	CommitPerSec  float64 `json:"consortium_records_per_sec"`
	CommitSeconds float64 `json:"consortium_seconds"`
	Blocks        uint64  `json:"consortium_blocks"`
	// LoadP50/P99: submit to acknowledgement with everything offered at once.
	LoadP50 float64 `json:"consortium_latency_saturated_p50_ms"`
	LoadP99 float64 `json:"consortium_latency_saturated_p99_ms"`
	// Half load: records offered at half CommitPerSec, paced.
	HalfRate float64 `json:"consortium_half_load_offered_per_sec"`
	HalfP50  float64 `json:"consortium_latency_half_load_p50_ms"`
	HalfP99  float64 `json:"consortium_latency_half_load_p99_ms"`
	// RetainBlocks is the validators' engine.retain_blocks (0: every
	// block kept).
	RetainBlocks int64 `json:"retain_blocks"`
	// Disk per record on one validator (node0), everything counted: our
	// store and CometBFT's data (block store, state, consensus WAL), as
	// the run left them, then with every database compacted in full.
	DiskPerRecord     float64      `json:"validator_bytes_per_record"`
	StorePerRecord    float64      `json:"validator_store_bytes_per_record"`
	CometBFTPerRecord float64      `json:"validator_cometbft_bytes_per_record"`
	CometBFTParts     CometBFTDisk `json:"validator_cometbft_parts"`
	// After a full compaction of our store and CometBFT's databases.
	CompactedPerRecord         float64      `json:"validator_compacted_bytes_per_record"`
	CompactedStorePerRecord    float64      `json:"validator_compacted_store_bytes_per_record"`
	CompactedCometBFTPerRecord float64      `json:"validator_compacted_cometbft_bytes_per_record"`
	CompactedCometBFTParts     CometBFTDisk `json:"validator_compacted_cometbft_parts"`
	SameState                  bool         `json:"validators_agree"`
	StateHash                  string       `json:"state_hash"`
	SoloPerSec                 float64      `json:"solo_records_per_sec"`
	SoloSingleP50              float64      `json:"solo_single_commit_p50_ms"`
	SoloSingleP99              float64      `json:"solo_single_commit_p99_ms"`
	SoloBytesPerRecord         float64      `json:"solo_bytes_per_record"`
}

func (cfg *ConsortiumConfig) logf(format string, args ...any) {
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "bench consortium: "+format+"\n", args...)
	}
}

// Consortium runs a city's signed records through Validators CometBFT
// validators, each its own process on this machine, and the same records
// through the solo engine, in one run.
func Consortium(ctx context.Context, cfg ConsortiumConfig) (*ConsortiumResult, error) {
	if cfg.Validators < 1 {
		return nil, errors.New("bench consortium: at least one validator")
	}
	res := &ConsortiumResult{Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		Validators: cfg.Validators, ToAll: cfg.ToAll, People: cfg.People, Days: cfg.Days, TimeoutCommit: cfg.TimeoutCommit.String()}

	cfg.logf("simulate a city of %d people over %d days", cfg.People, cfg.Days)
	var buf bytes.Buffer
	if _, err := sim.Generate(sim.Config{People: cfg.People, Days: cfg.Days, Seed: cfg.Seed}, ndjson.NewWriter(&buf)); err != nil {
		return nil, err
	}
	base, err := comet.FreePorts(3 * cfg.Validators)
	if err != nil {
		return nil, err
	}
	orgs := make([]string, cfg.Validators)
	for i := range orgs {
		orgs[i] = fmt.Sprintf("org%d", i)
	}
	rules := state.DefaultParams()
	nodes, err := comet.WriteTestnet(filepath.Join(cfg.Dir, "testnet"), comet.TestnetOptions{
		Init: home.InitOptions{ChainID: "epiledger-bench", Region: "420100", Rules: &rules},
		Orgs: orgs, BasePort: base, APIPort: base + 2*cfg.Validators, TimeoutCommit: cfg.TimeoutCommit})
	if err != nil {
		return nil, err
	}
	if cfg.RetainBlocks > 0 {
		for _, n := range nodes {
			h, err := home.Load(n.Home)
			if err != nil {
				return nil, err
			}
			if err := h.SetConfig(map[string]string{"retain_blocks": fmt.Sprint(cfg.RetainBlocks)}); err != nil {
				return nil, err
			}
		}
	}
	res.RetainBlocks = cfg.RetainBlocks
	h0, err := home.Load(nodes[0].Home)
	if err != nil {
		return nil, err
	}
	cfg.logf("sign the city's records")
	cap := &importer.Collector{}
	if _, err := importer.New(h0, cap).Import(bytes.NewReader(buf.Bytes())); err != nil {
		return nil, err
	}
	res.Records = len(cap.Txs)
	setup, records, err := splitSetup(cap.Txs)
	if err != nil {
		return nil, err
	}
	res.SetupRecords = len(setup)
	// Records for the half-load phase, at a site of their own.
	half, err := signedVisits(h0, "bench-half", max(1000, int(5000*cfg.Half.Seconds())))
	if err != nil {
		return nil, err
	}

	// The solo engine first, on a clone of the same genesis: the same
	// signed records.
	if err := soloFigures(ctx, cfg, h0, cap.Txs, res); err != nil {
		return nil, err
	}

	cfg.logf("start %d validators", cfg.Validators)
	procs, err := startNodes(cfg, nodes)
	defer func() {
		if procs != nil {
			stopNodes(procs, nodes)
		}
	}()
	if err != nil {
		return nil, err
	}
	clients := make([]*client.Client, len(nodes))
	urls := make([]string, len(nodes))
	token := h0.APIToken()
	for i, n := range nodes {
		urls[i] = "http://" + n.API
		clients[i] = client.New(urls[i], token)
	}
	if err := waitHealthy(ctx, clients, procs); err != nil {
		return nil, err
	}
	cfg.logf("register the sites and identities (%d records) through node0", len(setup))
	if _, err := offer(ctx, urls[:1], token, setup, 0, 500, 1, false); err != nil {
		return nil, err
	}
	// Every validator holds them before a record that names them arrives.
	if err := agree(ctx, clients, res); err != nil {
		return nil, err
	}
	start0 := status(ctx, clients[0])

	how := "spread over the %d validators"
	if cfg.ToAll {
		how = "each to all %d validators"
	}
	cfg.logf("offer %d records at once, "+how, len(records), len(nodes))
	t0 := time.Now()
	lat, err := offer(ctx, urls, token, records, 0, 500, 4, cfg.ToAll)
	if err != nil {
		return nil, err
	}
	el := time.Since(t0)
	res.CommitSeconds = el.Seconds()
	res.CommitPerSec = float64(len(records)) / el.Seconds()
	res.LoadP50, res.LoadP99 = pct(lat)
	if end := status(ctx, clients[0]); start0 != nil && end != nil {
		res.Blocks = end.Height - start0.Height
	}

	res.HalfRate = res.CommitPerSec / 2
	k := min(len(half)-1, int(res.HalfRate*cfg.Half.Seconds()))
	cfg.logf("offer %d records at %.0f/s (half load), paced", k, res.HalfRate)
	if _, err := offer(ctx, urls[:1], token, half[:1], 0, 1, 1, false); err != nil { // the site
		return nil, err
	}
	if err := agree(ctx, clients, res); err != nil {
		return nil, err
	}
	hl, err := offer(ctx, urls, token, half[1:1+k], res.HalfRate, 0, 0, cfg.ToAll)
	if err != nil {
		return nil, err
	}
	res.HalfP50, res.HalfP99 = pct(hl)

	cfg.logf("wait for every validator to agree")
	if err := agree(ctx, clients, res); err != nil {
		return nil, err
	}
	err = stopNodes(procs, nodes)
	procs = nil
	if err != nil {
		return nil, err
	}
	total := float64(res.Records + 1 + k)
	cmtData := filepath.Join(nodes[0].Home, "cometbft", "data")
	res.StorePerRecord = float64(dirSize(h0.DataDir(), "")) / total
	res.CometBFTPerRecord = float64(dirSize(cmtData, "")) / total
	res.CometBFTParts = cometBFTDisk(cmtData, total)
	res.DiskPerRecord = res.StorePerRecord + res.CometBFTPerRecord

	cfg.logf("compact node0's stores")
	if err := compactValidator(ctx, h0); err != nil {
		return nil, err
	}
	res.CompactedStorePerRecord = float64(dirSize(h0.DataDir(), "")) / total
	res.CompactedCometBFTPerRecord = float64(dirSize(cmtData, "")) / total
	res.CompactedCometBFTParts = cometBFTDisk(cmtData, total)
	res.CompactedPerRecord = res.CompactedStorePerRecord + res.CompactedCometBFTPerRecord
	return res, nil
}

// CometBFTDisk is CometBFT's data on a validator, bytes per record, by
// part.
type CometBFTDisk struct {
	BlockStore float64 `json:"block_store"`
	State      float64 `json:"state"`
	WAL        float64 `json:"consensus_wal"`
	Other      float64 `json:"other"`
}

func cometBFTDisk(data string, records float64) CometBFTDisk {
	d := CometBFTDisk{
		BlockStore: float64(dirSize(filepath.Join(data, "blockstore.db"), "")) / records,
		State:      float64(dirSize(filepath.Join(data, "state.db"), "")) / records,
		WAL:        float64(dirSize(filepath.Join(data, "cs.wal"), "")) / records,
	}
	d.Other = float64(dirSize(data, ""))/records - d.BlockStore - d.State - d.WAL
	return d
}

// compactValidator compacts a stopped validator's stores in full: ours
// and CometBFT's databases.
func compactValidator(ctx context.Context, h *home.Home) error {
	db, err := store.Open(h.DataDir(), store.Options{})
	if err != nil {
		return err
	}
	err = db.Compact(ctx)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return comet.CompactStores(h)
}

// splitSetup separates the registrations (sites, identities, roles) from
// the records that refer to them: the registrations are committed first,
// so that a record sent to any validator finds its site there.
func splitSetup(txs [][]byte) (setup, records [][]byte, err error) {
	for _, raw := range txs {
		tx, err := ledger.DecodeTx(raw)
		if err != nil {
			return nil, nil, err
		}
		switch tx.Body.Kind() {
		case ledger.KindRegisterSite, ledger.KindBindIdentity, ledger.KindGrantRole:
			setup = append(setup, raw)
		default:
			records = append(records, raw)
		}
	}
	return setup, records, nil
}

// soloFigures measures the solo engine on a clone of h's genesis: the
// saturated rate of the same records, single commits and bytes on disk.
func soloFigures(ctx context.Context, cfg ConsortiumConfig, h *home.Home, txs [][]byte, res *ConsortiumResult) error {
	cfg.logf("solo engine: ingest the same %d records", len(txs))
	solo, err := home.Clone(h, filepath.Join(cfg.Dir, "solo"))
	if err != nil {
		return err
	}
	if err := solo.SetConfig(map[string]string{"kind": strconv.Quote("solo")}); err != nil {
		return err
	}
	n, err := node.Open(solo, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{})
	if err != nil {
		return err
	}
	defer n.Close()
	t0 := time.Now()
	if _, err := submitAll(n, txs, 0); err != nil {
		return err
	}
	res.SoloPerSec = float64(len(txs)) / time.Since(t0).Seconds()
	if err := n.DB.Flush(); err != nil {
		return err
	}
	res.SoloBytesPerRecord = float64(dirSize(solo.DataDir(), "")) / float64(len(txs))
	cfg.logf("solo engine: %d records one at a time", cfg.Singles)
	single, err := singleCommits(solo, n, cfg.Singles)
	if err != nil {
		return err
	}
	res.SoloSingleP50, res.SoloSingleP99 = pct(single)
	return n.Close()
}

// offer submits txs spread over the nodes' APIs, in requests of up to
// batch records, each node's requests sent inflight at a time, and
// returns each record's latency: from when it was due to the answer that
// its block is durable. With rate > 0, record i is due at start + i/rate
// and is sent with the records due in the same tick (20 ms), the ticks'
// requests going to the nodes in turn; else every record is due at once.
// With toAll, every request goes to every node (and a record's latency
// is its first acknowledgement's). Any refusal is an error.
func offer(ctx context.Context, urls []string, token string, txs [][]byte, rate float64, batch, inflight int, toAll bool) ([]time.Duration, error) {
	lat := make([]time.Duration, len(txs))
	var mu sync.Mutex
	var fail error
	failed := func(err error) {
		mu.Lock()
		if fail == nil {
			fail = err
		}
		mu.Unlock()
	}
	// post posts txs[lo:hi] to url and waits for every receipt; a
	// record's latency is its first acknowledgement's.
	var latMu sync.Mutex
	post := func(url string, lo, hi int, due []time.Time) {
		c := client.New(url, token)
		c.BatchSize = hi - lo
		for i := lo; i < hi; i++ {
			i := i
			if err := c.SubmitAsync(txs[i], func(rc engine.Receipt) {
				d := time.Since(due[i])
				latMu.Lock()
				if lat[i] == 0 || d < lat[i] {
					lat[i] = d
				}
				latMu.Unlock()
				// Sent to every node, a record may be committed through
				// another before this one reads it: this node then says
				// it is on the ledger already (a replay).
				if r, ok := rc.Err.(*state.Rejection); ok && toAll && r.Code == state.CodeReplay {
					return
				}
				if rc.Err != nil {
					failed(fmt.Errorf("record %d refused by %s: %w", i, url, rc.Err))
				}
			}); err != nil {
				failed(err)
				return
			}
		}
		if err := c.Flush(); err != nil {
			failed(err)
		}
	}
	// send sends txs[lo:hi] to url, or with toAll to every node at once.
	send := func(url string, lo, hi int, due []time.Time) {
		if !toAll {
			post(url, lo, hi, due)
			return
		}
		var wg sync.WaitGroup
		for _, u := range urls {
			wg.Add(1)
			go func() { defer wg.Done(); post(u, lo, hi, due) }()
		}
		wg.Wait()
	}
	due := make([]time.Time, len(txs))
	start := time.Now()
	var wg sync.WaitGroup
	if rate <= 0 {
		for i := range due {
			due[i] = start
		}
		// Node k takes the runs of batch records k, k+N, k+2N, ...,
		// inflight requests at a time.
		for k, url := range urls {
			runs := make(chan int, len(txs)/batch+1)
			for lo := k * batch; lo < len(txs); lo += len(urls) * batch {
				runs <- lo
			}
			close(runs)
			for w := 0; w < inflight; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for lo := range runs {
						send(url, lo, min(lo+batch, len(txs)), due)
					}
				}()
			}
		}
		wg.Wait()
		return lat, fail
	}
	const tick = 20 * time.Millisecond
	next := 0
	for t := 0; next < len(txs); t++ {
		if err := ctx.Err(); err != nil {
			wg.Wait()
			return nil, err
		}
		at := start.Add(time.Duration(t) * tick)
		time.Sleep(time.Until(at))
		lo := next
		for next < len(txs) {
			d := start.Add(time.Duration(float64(next) / rate * float64(time.Second)))
			if d.After(at) {
				break
			}
			due[next] = d
			next++
		}
		if next > lo {
			wg.Add(1)
			go func(url string, lo, hi int) {
				defer wg.Done()
				send(url, lo, hi, due)
			}(urls[t%len(urls)], lo, next)
		}
	}
	wg.Wait()
	return lat, fail
}

func startNodes(cfg ConsortiumConfig, nodes []comet.TestnetNode) ([]*exec.Cmd, error) {
	command := cfg.Command
	if len(command) == 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		command = []string{self}
	}
	var procs []*exec.Cmd
	for i, n := range nodes {
		logf, err := os.Create(filepath.Join(n.Home, "node.log"))
		if err != nil {
			return procs, err
		}
		args := append(command[1:], "node", "--home", n.Home)
		if cfg.Verbose {
			args = append(args, "--verbose")
		}
		if cfg.CPUProfile != "" {
			args = append(args, "--cpuprofile", fmt.Sprintf("%s.node%d", cfg.CPUProfile, i))
		}
		p := exec.Command(command[0], args...)
		p.Env = append(os.Environ(), cfg.Env...)
		p.Stdout, p.Stderr = logf, logf
		err = p.Start()
		logf.Close()
		if err != nil {
			return procs, fmt.Errorf("start %s: %w", n.Org, err)
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// stopNodes stops the nodes (SIGTERM: a clean stop) and waits for them;
// a node that does not exit cleanly is an error, with the end of its log.
func stopNodes(procs []*exec.Cmd, nodes []comet.TestnetNode) error {
	for _, p := range procs {
		p.Process.Signal(syscall.SIGTERM)
	}
	var errs []error
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("validator %d did not stop cleanly (%v); the end of %s:\n%s",
				i, err, filepath.Join(nodes[i].Home, "node.log"), logTail(filepath.Join(nodes[i].Home, "node.log"), 30)))
		}
	}
	return errors.Join(errs...)
}

// logTail is the last n lines of the file at path.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func status(ctx context.Context, c *client.Client) *api.Status {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := c.Status(ctx)
	if err != nil {
		return nil
	}
	return s
}

// waitHealthy waits until every node answers (a minute at most).
func waitHealthy(ctx context.Context, clients []*client.Client, procs []*exec.Cmd) error {
	deadline := time.Now().Add(time.Minute)
	for i, c := range clients {
		for status(ctx, c) == nil {
			if time.Now().After(deadline) {
				return fmt.Errorf("bench consortium: node%d does not answer (its log: node.log in its home)", i)
			}
			if procs[i].ProcessState != nil {
				return fmt.Errorf("bench consortium: node%d exited", i)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// agree waits until every node is at the same height with the same head
// and state hash (a minute at most).
func agree(ctx context.Context, clients []*client.Client, res *ConsortiumResult) error {
	deadline := time.Now().Add(time.Minute)
	for {
		first := status(ctx, clients[0])
		same := first != nil
		for _, c := range clients[1:] {
			s := status(ctx, c)
			same = same && s != nil && s.Height == first.Height && s.Head == first.Head && s.StateHash == first.StateHash
		}
		if same {
			res.SameState, res.StateHash = true, first.StateHash
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("bench consortium: the validators do not agree after a minute")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
