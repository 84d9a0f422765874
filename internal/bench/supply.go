package bench

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// The public code check (issue 17): GET /v1/public/supply/{code} timed
// through the API's handler in process (routing, the provenance with a
// Merkle proof of each step, the JSON), beside a PostgreSQL model of the
// same provenance query on the same events, timed in the same run.

// SupplyCheckConfig says what SupplyCheck times.
type SupplyCheckConfig struct {
	// Codes are checked in this order, each once, ours then
	// PostgreSQL's (the first 20 once more beforehand, untimed, to warm
	// both up).
	Codes []ledger.SupplyItem
	// Dir holds PostgreSQL's data directory (Dir/postgres). Run as root,
	// Dir gets search permission for others (the server runs as the
	// postgres user).
	Dir string
	// NoPostgres skips the comparison. Without PostgreSQL's binaries it
	// is skipped anyway, and the result says so.
	NoPostgres bool
	// Cold times the checks before the node's Merkle levels are loaded
	// (a node just started: each block's first proof hashes it whole);
	// otherwise they are loaded first, as a running node loads them in
	// the background when it starts (node.Options.Trees).
	Cold bool
	Log  io.Writer
}

func (cfg *SupplyCheckConfig) logf(format string, args ...any) {
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, format+"\n", args...)
	}
}

// Spread is a set of latencies as a client sees them, in milliseconds:
// median, 90th and 99th percentiles (nearest rank) and the slowest.
type Spread struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func spreadOf(ds []time.Duration) Spread {
	q := quantiles(ds, 0.50, 0.90, 0.99, 1)
	return Spread{P50: q[0], P90: q[1], P99: q[2], Max: q[3]}
}

// over is s's figures divided by t's: how many times faster t is.
func (s Spread) over(t Spread) Spread {
	return Spread{P50: s.P50 / t.P50, P90: s.P90 / t.P90, P99: s.P99 / t.P99, Max: s.Max / t.Max}
}

// SupplyCheckResult holds the figures of one run of SupplyCheck.
type SupplyCheckResult struct {
	Machine     string `json:"machine"`
	LoadAverage string `json:"load_average"` // at the start of the timings
	Checks      int    `json:"checks"`
	// Steps is the answers' mean number of steps, MaxSteps the most;
	// Blocks their mean number of distinct blocks (each proof reads its
	// step's block).
	Steps     float64 `json:"steps_mean"`
	MaxSteps  int     `json:"steps_max"`
	Blocks    float64 `json:"blocks_mean"`
	Epiledger Spread  `json:"epiledger"`
	// Trees says whether the node's Merkle levels were loaded before the
	// timings ("loaded") or not ("cold"); TreesSeconds is the load's
	// time, TreesBlocks and TreesMiB what it holds.
	Trees        string          `json:"trees"`
	TreesSeconds float64         `json:"trees_load_seconds,omitempty"`
	TreesBlocks  int             `json:"trees_blocks,omitempty"`
	TreesMiB     float64         `json:"trees_mib,omitempty"`
	Postgres     *SupplyPostgres `json:"postgres,omitempty"`
	// PostgresSkipped says why there is no comparison.
	PostgresSkipped string `json:"postgres_skipped,omitempty"`
}

// SupplyPostgres holds PostgreSQL's side: what was loaded, its latencies
// on the same codes, the ratios to ours, and whether its answers equal
// ours.
type SupplyPostgres struct {
	Version string `json:"version"`
	// The rows loaded.
	Parties  int `json:"parties"`
	Items    int `json:"items"`
	Steps    int `json:"steps"`
	Holdings int `json:"holdings"`
	Signals  int `json:"signals"`
	// CopySeconds is reading the chain and copying it in (the two are
	// streamed together), KeySeconds building the primary keys and
	// analyzing.
	CopySeconds float64 `json:"read_and_copy_seconds"`
	KeySeconds  float64 `json:"keys_and_analyze_seconds"`
	Latency     Spread  `json:"latency"`
	// Ratio is PostgreSQL's latency over ours.
	Ratio Spread `json:"ratio"`
	// Compared is how many answers were compared with ours (every field
	// but the proofs), Differ how many differed.
	Compared        int    `json:"answers_compared"`
	Differ          int    `json:"answers_differing"`
	FirstDifference string `json:"first_difference,omitempty"`
}

// SupplyCheck times the public check of each of cfg.Codes on n through
// the API's handler and, in the same run, PostgreSQL's model of the same
// query (unless it is skipped), comparing every answer with ours.
// Progress goes to cfg.Log.
func SupplyCheck(ctx context.Context, n *node.Node, cfg SupplyCheckConfig) (*SupplyCheckResult, error) {
	if len(cfg.Codes) == 0 {
		return nil, fmt.Errorf("bench: no codes to check")
	}
	res := &SupplyCheckResult{Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		Checks: len(cfg.Codes)}
	h, err := api.New(n, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	res.Trees = "cold"
	if !cfg.Cold {
		t0 := time.Now()
		head, err := blocks.ReadHead(n.DB, &n.Home.Genesis)
		if err != nil {
			return nil, err
		}
		if err := n.Trees.Load(ctx, n.DB, head.Height, nil); err != nil {
			return nil, err
		}
		st := n.Trees.Stats()
		res.Trees, res.TreesSeconds, res.TreesBlocks, res.TreesMiB = "loaded", time.Since(t0).Seconds(), st.Blocks, float64(st.Bytes)/(1<<20)
		cfg.logf("the Merkle levels of %d blocks loaded in %.1f s (%.1f MiB)", st.Blocks, res.TreesSeconds, res.TreesMiB)
	}
	var conn *pgx.Conn
	if cfg.NoPostgres {
		res.PostgresSkipped = "--no-postgres"
	} else if bin, err := FindPostgres(); err != nil {
		res.PostgresSkipped = "PostgreSQL is not installed"
		cfg.logf("%v: comparison skipped", err)
	} else {
		pg, c, err := pgStart(ctx, cfg.Dir, bin, cfg.Log)
		if err != nil {
			return nil, err
		}
		defer pg.Stop()
		defer c.Close(context.Background())
		cfg.logf("PostgreSQL %s started (%s); loading the chain's supply steps", pg.Version, bin)
		if res.Postgres, err = pgSupplyLoad(ctx, c, n, cfg.logf); err != nil {
			return nil, err
		}
		res.Postgres.Version, conn = pg.Version, c
	}
	loc := n.Home.Config.Location()
	pgCheck := func(code ledger.SupplyItem) (*report.Provenance, time.Duration, error) {
		t0 := time.Now()
		p, err := pgSupply(ctx, conn, code, loc)
		if err == nil {
			_, err = json.Marshal(p)
		}
		return p, time.Since(t0), err
	}
	for _, code := range cfg.Codes[:min(20, len(cfg.Codes))] {
		if _, _, err := apiCheck(h, code); err != nil {
			return nil, err
		}
		if conn != nil {
			if _, _, err := pgCheck(code); err != nil {
				return nil, fmt.Errorf("bench: PostgreSQL's check of %s: %w", code.Code(), err)
			}
		}
	}
	res.LoadAverage = loadAverage()
	cfg.logf("timing %d checks (load average %s)", len(cfg.Codes), res.LoadAverage)

	var ours, theirs []time.Duration
	steps, heights := 0, 0
	for i, code := range cfg.Codes {
		body, d, err := apiCheck(h, code)
		if err != nil {
			return nil, err
		}
		ours = append(ours, d)
		var got api.SupplyProof
		if err := json.Unmarshal(body, &got); err != nil {
			return nil, fmt.Errorf("bench: the answer for %s: %w", code.Code(), err)
		}
		steps += len(got.Events)
		res.MaxSteps = max(res.MaxSteps, len(got.Events))
		heights += distinctHeights(got.Events)
		if conn == nil {
			continue
		}
		want, d, err := pgCheck(code)
		if err != nil {
			return nil, fmt.Errorf("bench: PostgreSQL's check of %s: %w", code.Code(), err)
		}
		theirs = append(theirs, d)
		pr := res.Postgres
		pr.Compared++
		if diff := diffProvenance(got.Provenance, want); diff != "" {
			pr.Differ++
			if pr.FirstDifference == "" {
				pr.FirstDifference = fmt.Sprintf("check %d, %s: %s", i+1, code.Code(), diff)
			}
		}
	}
	res.Steps, res.Blocks = float64(steps)/float64(len(cfg.Codes)), float64(heights)/float64(len(cfg.Codes))
	res.Epiledger = spreadOf(ours)
	if conn != nil {
		res.Postgres.Latency = spreadOf(theirs)
		res.Postgres.Ratio = res.Postgres.Latency.over(res.Epiledger)
	}
	return res, nil
}

// apiCheck serves GET /v1/public/supply/{code} through h in process and
// returns the answer and the time it took, from building the request to
// the last byte of JSON written.
func apiCheck(h http.Handler, code ledger.SupplyItem) ([]byte, time.Duration, error) {
	ai, value := "21", code.Serial
	if !code.Instance() {
		ai, value = "10", code.Lot
	}
	t0 := time.Now()
	req := httptest.NewRequest(http.MethodGet, "/v1/public/supply/01/"+code.GTIN+"/"+ai+"/"+url.PathEscape(value), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	d := time.Since(t0)
	if rec.Code != http.StatusOK {
		return nil, 0, fmt.Errorf("bench: the check of %s: %d %s", code.Code(), rec.Code, rec.Body.Bytes())
	}
	return rec.Body.Bytes(), d, nil
}

func distinctHeights(evs []report.SupplyEventView) int {
	n := 0
	for i, e := range evs {
		if !slices.ContainsFunc(evs[:i], func(f report.SupplyEventView) bool { return f.Height == e.Height }) {
			n++
		}
	}
	return n
}

// diffProvenance describes how PostgreSQL's answer differs from ours
// (their JSON, proofs aside), "" when it does not.
func diffProvenance(ours, theirs *report.Provenance) string {
	a, err := json.Marshal(ours)
	if err != nil {
		return err.Error()
	}
	b, err := json.Marshal(theirs)
	if err != nil {
		return err.Error()
	}
	if string(a) == string(b) {
		return ""
	}
	return fmt.Sprintf("epiledger %s, PostgreSQL %s", a, b)
}

// The model. Custodians are numbered (supply_parties: key, and the name
// and role they were granted); an item is what commissioning said and an
// instance's state (supply_items); a step is one row per item it named
// (supply_steps: its block, its place in the block, the transaction, the
// step, the event's time, who signed it, a shipment's receiver, a
// receipt's shipment, the units of the item, the place); a holding is
// one row per custodian and item (supply_holdings, used up ones too);
// a signal one row per item, transaction and kind. Each table's primary
// key leads with the code, so that each of the four queries of a check
// is one index range scan; codes are collated "C" (bytewise, as Go
// compares). Tables are unlogged, as the investigation bench's:
// loading is faster and reads are the same.
const pgSupplySchema = `
DROP TABLE IF EXISTS supply_parties, supply_items, supply_steps, supply_holdings, supply_signals;
CREATE UNLOGGED TABLE supply_parties (id int4 NOT NULL, key bytea NOT NULL, name text NOT NULL, role text NOT NULL);
CREATE UNLOGGED TABLE supply_items (code text COLLATE "C" NOT NULL, lot text NOT NULL, expiry text NOT NULL, standard text NOT NULL,
  certificate text NOT NULL, maker int4 NOT NULL, units int8 NOT NULL, instance bool NOT NULL, status text NOT NULL, transit bytea);
CREATE UNLOGGED TABLE supply_steps (code text COLLATE "C" NOT NULL, height int8 NOT NULL, seq int4 NOT NULL, tx bytea NOT NULL,
  step text NOT NULL, t int8 NOT NULL, custodian int4 NOT NULL, receiver int4, offer bytea, units int8 NOT NULL, place text NOT NULL);
CREATE UNLOGGED TABLE supply_holdings (code text COLLATE "C" NOT NULL, custodian int4 NOT NULL, units int8 NOT NULL);
CREATE UNLOGGED TABLE supply_signals (code text COLLATE "C" NOT NULL, height int8 NOT NULL, seq int4 NOT NULL, kind_no int2 NOT NULL,
  kind text NOT NULL, tx bytea NOT NULL, custodian int4 NOT NULL, detail text NOT NULL);
`

// pgSupplyKeys are built after the copy.
const pgSupplyKeys = `
ALTER TABLE supply_parties ADD PRIMARY KEY (id);
ALTER TABLE supply_items ADD PRIMARY KEY (code);
ALTER TABLE supply_steps ADD PRIMARY KEY (code, height, seq);
ALTER TABLE supply_holdings ADD PRIMARY KEY (code, custodian);
ALTER TABLE supply_signals ADD PRIMARY KEY (code, height, seq, kind_no);
`

// The check's four queries, sent as one batch (one round trip): the
// item with its maker; the steps in block order with their signer and
// receiver (one more than report.MaxProvenance, to say Truncated); the
// custodians holding some, by key; the signals in the order they were
// raised.
const (
	pgSupplyItemSQL = `SELECT i.lot, i.expiry, i.standard, i.certificate, i.units, i.instance, i.status, i.transit, p.key, p.name, p.role
FROM supply_items i JOIN supply_parties p ON p.id = i.maker WHERE i.code = $1`
	pgSupplyStepsSQL = `SELECT s.tx, s.step, s.height, s.t, b.key, b.name, b.role, r.key, coalesce(r.name, ''), coalesce(r.role, ''), s.offer, s.units, s.place
FROM supply_steps s JOIN supply_parties b ON b.id = s.custodian LEFT JOIN supply_parties r ON r.id = s.receiver
WHERE s.code = $1 ORDER BY s.height, s.seq LIMIT $2`
	pgSupplyHeldSQL = `SELECT p.key, p.name, p.role, h.units
FROM supply_holdings h JOIN supply_parties p ON p.id = h.custodian WHERE h.code = $1 AND h.units > 0 ORDER BY p.key`
	pgSupplySignalsSQL = `SELECT g.kind, g.tx, g.height, p.key, p.name, p.role, g.detail
FROM supply_signals g JOIN supply_parties p ON p.id = g.custodian WHERE g.code = $1 ORDER BY g.height, g.seq, g.kind_no`
)

// pgSupplyLoader reads what the store holds of supplies into rows,
// numbering custodians as it meets them.
type pgSupplyLoader struct {
	r       store.Reader
	gen     *state.Genesis
	num     map[[32]byte]int32
	parties [][]any // id, key, name, role
	// shipments are the shipments not yet received, byRef the latest
	// shipment to a receiver under a business transaction: what a
	// receipt names.
	shipments map[ledger.Hash][]ledger.SupplyItem
	byRef     map[pgRef]ledger.Hash
}

type pgRef struct {
	to  [32]byte
	ref string
}

func (l *pgSupplyLoader) party(k [32]byte) int32 {
	if n, ok := l.num[k]; ok {
		return n
	}
	n := int32(len(l.parties))
	l.num[k] = n
	// As report.Builder names a party: a failed read leaves it unnamed.
	role, name, _ := state.RoleOf(l.r, l.gen, k)
	l.parties = append(l.parties, []any{n, k[:], name, role})
	return n
}

// steps yields the rows of supply_steps: every accepted supply event in
// block order, one row per item it named. A receipt names the items of
// the shipment it takes, with their units, as the state machine and
// report.Builder have it.
func (l *pgSupplyLoader) steps(yield func([]any) bool) error {
	lo, hi := store.TablePrefix(store.TabTx)
	var derr error
	err := l.r.Scan(lo, hi, func(k, v []byte) bool {
		if len(k) != 1+8+4 {
			derr = fmt.Errorf("%w: a transaction's key", store.ErrCorrupt)
			return false
		}
		height, seq := int64(binary.BigEndian.Uint64(k[1:])), int32(binary.BigEndian.Uint32(k[9:]))
		raw, err := store.UnpackTx(l.r, v)
		if err != nil {
			derr = err
			return false
		}
		tx, err := ledger.DecodeTx(raw)
		if err != nil {
			derr = fmt.Errorf("%w: block %d: %v", store.ErrCorrupt, height, err)
			return false
		}
		ev, ok := tx.Body.(*ledger.SupplyEvent)
		if !ok {
			return true
		}
		id := tx.ID()
		by := l.party(tx.Sigs[0].Key)
		place := ""
		if ev.Placed {
			place = ev.Place.String()
		}
		var to, offer any // NULL unless a shipment's, a receipt's
		items := ev.Items
		switch ev.Step {
		case ledger.StepShip:
			to = l.party(ev.To)
			l.shipments[id] = ev.Items
			if ev.Ref != "" {
				l.byRef[pgRef{ev.To, ev.Ref}] = id
			}
		case ledger.StepReceive:
			o := ev.Offer
			if ev.Ref != "" {
				o = l.byRef[pgRef{tx.Sigs[0].Key, ev.Ref}]
			}
			items, offer = l.shipments[o], o[:]
			delete(l.shipments, o)
		}
		for _, it := range items {
			if !yield([]any{it.Code(), height, seq, id[:], ev.Step, ev.Time, by, to, offer, int64(it.Qty), place}) {
				return false
			}
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return err
}

func (l *pgSupplyLoader) items(yield func([]any) bool) error {
	return state.EachItem(l.r, func(it *state.Item) bool {
		var transit any
		if it.Transit != (ledger.Hash{}) {
			transit = it.Transit[:]
		}
		return yield([]any{it.Code, it.Lot, it.Expiry, it.Standard, it.Cert, l.party(it.Maker), int64(it.Units), it.Instance, it.Status, transit})
	})
}

func (l *pgSupplyLoader) holdings(yield func([]any) bool) error {
	return state.EachHolding(l.r, func(custodian [32]byte, code string, units uint64) bool {
		return yield([]any{code, l.party(custodian), int64(units)})
	})
}

// signals yields the rows of supply_signals; a signal's place in its
// block is its transaction's.
func (l *pgSupplyLoader) signals(yield func([]any) bool) error {
	ss, err := state.Signals(l.r, "")
	if err != nil {
		return err
	}
	for _, s := range ss {
		_, seq, err := blocks.Locate(l.r, s.Tx)
		if err != nil {
			return err
		}
		if !yield([]any{s.Code, int64(s.Height), int32(seq), int16(slices.Index(state.SignalKinds, s.Kind)), s.Kind, s.Tx[:], l.party(s.Custodian), s.Detail}) {
			return nil
		}
	}
	return nil
}

// pgCopyEach copies into table the rows each yields, as it yields them
// (a scan of the store streams into COPY, never held whole), and
// returns how many.
func pgCopyEach(ctx context.Context, conn *pgx.Conn, table string, cols []string, each func(yield func([]any) bool) error) (int, error) {
	next, stop := iter.Pull2(func(yield func([]any, error) bool) {
		stopped := false
		err := each(func(row []any) bool {
			stopped = !yield(row, nil)
			return !stopped
		})
		if err != nil && !stopped {
			yield(nil, err)
		}
	})
	defer stop()
	n := 0
	_, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		row, err, ok := next()
		if !ok || err != nil {
			return nil, err
		}
		n++
		return row, nil
	}))
	if err != nil {
		return 0, fmt.Errorf("bench: copy %s: %w", table, err)
	}
	return n, nil
}

// pgSupplyLoad creates the model's tables, copies n's supplies in, builds
// the keys, then vacuums and analyzes.
func pgSupplyLoad(ctx context.Context, conn *pgx.Conn, n *node.Node, logf func(string, ...any)) (*SupplyPostgres, error) {
	t0 := time.Now()
	if _, err := conn.Exec(ctx, pgSupplySchema); err != nil {
		return nil, fmt.Errorf("bench: schema: %w", err)
	}
	g := n.Home.Genesis
	l := &pgSupplyLoader{r: n.DB, gen: &g, num: map[[32]byte]int32{}, shipments: map[ledger.Hash][]ledger.SupplyItem{}, byRef: map[pgRef]ledger.Hash{}}
	pr := &SupplyPostgres{}
	var err error
	for _, t := range []struct {
		table string
		cols  []string
		each  func(func([]any) bool) error
		n     *int
	}{
		{"supply_steps", []string{"code", "height", "seq", "tx", "step", "t", "custodian", "receiver", "offer", "units", "place"}, l.steps, &pr.Steps},
		{"supply_items", []string{"code", "lot", "expiry", "standard", "certificate", "maker", "units", "instance", "status", "transit"}, l.items, &pr.Items},
		{"supply_holdings", []string{"code", "custodian", "units"}, l.holdings, &pr.Holdings},
		{"supply_signals", []string{"code", "height", "seq", "kind_no", "kind", "tx", "custodian", "detail"}, l.signals, &pr.Signals},
	} {
		t1 := time.Now()
		if *t.n, err = pgCopyEach(ctx, conn, t.table, t.cols, t.each); err != nil {
			return nil, err
		}
		logf("postgres: %s: %d rows read and copied in %.0f s", t.table, *t.n, time.Since(t1).Seconds())
	}
	pr.Parties = len(l.parties)
	if err := pgCopy(ctx, conn, "supply_parties", []string{"id", "key", "name", "role"}, len(l.parties), func(i int) []any { return l.parties[i] }); err != nil {
		return nil, err
	}
	pr.CopySeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	for _, stmt := range strings.Split(strings.TrimSpace(pgSupplyKeys), "\n") {
		t1 := time.Now()
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", stmt, err)
		}
		logf("postgres: %s (%.0f s)", stmt, time.Since(t1).Seconds())
	}
	for _, t := range []string{"supply_parties", "supply_items", "supply_steps", "supply_holdings", "supply_signals"} {
		if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return nil, fmt.Errorf("bench: vacuum %s: %w", t, err)
		}
	}
	pr.KeySeconds = time.Since(t0).Seconds()
	return pr, nil
}

// pgSupply answers the public check of code from PostgreSQL's model: the
// four queries in one batch, their rows read into the answer that
// report.Builder.Supply gives (times shown in loc), without the proofs.
// The holders are the holdings table's; ours are replayed from the steps
// listed, the same unless the item was named by more steps than an
// answer lists (report.MaxProvenance: the bench's items have 6 at most).
func pgSupply(ctx context.Context, conn *pgx.Conn, code ledger.SupplyItem, loc *time.Location) (*report.Provenance, error) {
	c := code.Code()
	out := &report.Provenance{Code: c, GTIN: code.GTIN, Serial: code.Serial, Lot: code.Lot, Held: []report.Holding{}, Events: []report.SupplyEventView{}, Signals: []report.SignalView{}}
	b := &pgx.Batch{}
	b.Queue(pgSupplyItemSQL, c)
	b.Queue(pgSupplyStepsSQL, c, report.MaxProvenance+1)
	b.Queue(pgSupplyHeldSQL, c)
	b.Queue(pgSupplySignalsSQL, c)
	br := conn.SendBatch(ctx, b)
	defer br.Close()

	var (
		key, rkey, tx, transit, offer []byte
		name, role, rname, rrole      string
		status, step, place, detail   string
		units, height, t              int64
		instance                      bool
	)
	party := func(key []byte, name, role string) report.Party {
		return report.Party{Key: hex.EncodeToString(key), Name: name, Role: role}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&out.Lot, &out.Expiry, &out.Standard, &out.Certificate, &units, &instance, &status, &transit, &key, &name, &role}, func() error {
		m := party(key, name, role)
		out.Commissioned, out.Maker, out.Units = true, &m, uint64(units)
		if instance {
			out.Status = status
			if transit != nil {
				out.InTransit = hex.EncodeToString(transit)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rows, err = br.Query(); err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&tx, &step, &height, &t, &key, &name, &role, &rkey, &rname, &rrole, &offer, &units, &place}, func() error {
		if len(out.Events) == report.MaxProvenance {
			out.Truncated = true
			return nil
		}
		v := report.SupplyEventView{Tx: hex.EncodeToString(tx), Step: step, Height: uint64(height), Time: time.Unix(t, 0).In(loc).Format(time.RFC3339),
			By: party(key, name, role), Units: uint32(units), Place: place}
		if rkey != nil {
			to := party(rkey, rname, rrole)
			v.To = &to
		}
		if offer != nil {
			v.Offer = hex.EncodeToString(offer)
		}
		out.Events = append(out.Events, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rows, err = br.Query(); err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&key, &name, &role, &units}, func() error {
		out.Held = append(out.Held, report.Holding{Party: party(key, name, role), Units: uint64(units)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rows, err = br.Query(); err != nil {
		return nil, err
	}
	var kind string
	_, err = pgx.ForEachRow(rows, []any{&kind, &tx, &height, &key, &name, &role, &detail}, func() error {
		out.Signals = append(out.Signals, report.SignalView{Kind: kind, Tx: hex.EncodeToString(tx), Height: uint64(height), By: party(key, name, role), Detail: detail})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, br.Close()
}

// WriteSupplyCheck prints a result: the latencies, PostgreSQL's and the
// ratios, what each side's answer holds, and the target.
func WriteSupplyCheck(w io.Writer, r *SupplyCheckResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "machine      %s (load average %s)\n", r.Machine, r.LoadAverage)
	fmt.Fprintf(&b, "answers      %.1f steps from %.1f blocks on average, %d steps at most\n", r.Steps, r.Blocks, r.MaxSteps)
	if r.Trees == "cold" {
		fmt.Fprintf(&b, "proofs       cold: the blocks' Merkle levels not loaded (a node just started); a block's first proof hashes it whole\n")
	} else {
		fmt.Fprintf(&b, "proofs       the Merkle levels of %d blocks loaded first, as a running node does at start: %.1f s, %.1f MiB; a proof hashes its run of %d transactions\n",
			r.TreesBlocks, r.TreesSeconds, r.TreesMiB, blocks.TreeChunk)
	}
	pg := r.Postgres
	if pg == nil {
		fmt.Fprintf(&b, "PostgreSQL   skipped: %s\n", r.PostgresSkipped)
	} else {
		fmt.Fprintf(&b, "PostgreSQL   %s: %d steps, %d items, %d holdings, %d signals, %d custodians; read and COPY %.0f s, keys + vacuum analyze %.0f s\n",
			pg.Version, pg.Steps, pg.Items, pg.Holdings, pg.Signals, pg.Parties, pg.CopySeconds, pg.KeySeconds)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%d checks\tp50\tp90\tp99\tmax\t\n", r.Checks)
	fmt.Fprintf(tw, "epiledger: HTTP handler, proofs, JSON\t%s\t%s\t%s\t%s\t\n", ms(r.Epiledger.P50), ms(r.Epiledger.P90), ms(r.Epiledger.P99), ms(r.Epiledger.Max))
	if pg != nil {
		l, x := pg.Latency, pg.Ratio
		fmt.Fprintf(tw, "PostgreSQL: 4 queries in 1 batch, JSON\t%s\t%s\t%s\t%s\t\n", ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max))
		fmt.Fprintf(tw, "PostgreSQL over epiledger\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t\n", x.P50, x.P90, x.P99, x.Max)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	if pg != nil {
		same := "all equal to ours"
		if pg.Differ > 0 {
			same = fmt.Sprintf("%d DIFFER (first: %s)", pg.Differ, pg.FirstDifference)
		}
		fmt.Fprintf(&b, "compared     %d PostgreSQL answers (the item, its steps in block order, who holds it, its signals): %s\n", pg.Compared, same)
		fmt.Fprintf(&b, "             PostgreSQL's answers carry no proofs; ours carry each step's Merkle inclusion proof\n")
	}
	met := "met"
	if !(r.Epiledger.P99 < 10) {
		met = "NOT met"
	}
	fmt.Fprintf(&b, "target       a public code check p99 under 10 ms: %s\n", met)
	_, err := io.WriteString(w, b.String())
	return err
}

// quantiles returns the q-quantiles of ds (nearest rank: the smallest
// value with at least q of the values at or below it), in milliseconds.
func quantiles(ds []time.Duration, qs ...float64) []float64 {
	out := make([]float64, len(qs))
	if len(ds) == 0 {
		return out
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	for i, q := range qs {
		k := int(math.Ceil(q*float64(len(s)))) - 1
		out[i] = float64(s[max(0, min(k, len(s)-1))]) / 1e6
	}
	return out
}
