package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/timeline"
)

// ScaleConfig says what `epiledger bench scale` measures: the same
// figures on cities of growing size, so that the growth of each cost is
// seen.
type ScaleConfig struct {
	// People are the cities' sizes, measured in this order.
	People []int
	Days   int
	Seed   uint64
	// Queries is how many contact queries each size times, of random
	// persons (with an identity record), over the whole period.
	Queries int
	// Chains caps the depth-3 chains each size times, from the first
	// cases by pseudonym (0: every case).
	Chains int
	// IDsInStore loads each timeline with its record ids in the store
	// (timeline.Options; trace.resident_ids = "store").
	IDsInStore bool
	// Dir is the scratch directory: each size's home is made there and
	// removed once measured.
	Dir string
	// Progress, if not nil, is told of each step as it starts, as Run
	// tells it; never a figure.
	Progress Progress
}

// scaleSteps is how many steps each size takes.
const scaleSteps = 8

// Steps returns how many steps Scale takes with cfg, each announced to
// cfg.Progress.
func (cfg *ScaleConfig) Steps() int { return scaleSteps * len(cfg.People) }

// ScalePoint holds the figures of one city size.
type ScalePoint struct {
	People  int `json:"people"`
	Days    int `json:"days"`
	Records int `json:"records"`
	Cases   int `json:"cases"`
	// IngestPerSec is the validated ingest of the city's records, signed
	// beforehand, through the engine (as Run measures it).
	IngestPerSec  float64 `json:"ingest_records_per_sec"`
	IngestSeconds float64 `json:"ingest_seconds"`
	// BytesPerRecord is the home's data directory after a flush, over
	// the records.
	BytesPerRecord    float64 `json:"bytes_on_disk_per_record"`
	SSTBytesPerRecord float64 `json:"table_bytes_per_record"`
	// Compacted is the data directory once the store is compacted in
	// full (store.DB.Compact), over the records: what a record costs
	// once compaction has caught up (issue 18's measure).
	CompactedBytesPerRecord    float64 `json:"compacted_bytes_on_disk_per_record"`
	CompactedSSTBytesPerRecord float64 `json:"compacted_table_bytes_per_record"`
	// TimelineVisits is how many visits the resident timeline holds;
	// TimelineHeapBytes the Go heap in use after a collection with it
	// loaded minus the same before; TimelineEstimateBytes the timeline's
	// own estimate (timeline.Stats).
	TimelineVisits           int     `json:"timeline_visits"`
	TimelineSeconds          float64 `json:"timeline_load_seconds"`
	TimelineHeapBytes        int64   `json:"timeline_heap_bytes"`
	TimelineEstimateBytes    int64   `json:"timeline_estimate_bytes"`
	TimelineBytesPerVisit    float64 `json:"timeline_heap_bytes_per_visit"`
	TimelineEstimatePerVisit float64 `json:"timeline_estimate_bytes_per_visit"`
	// Contacts are timed on the store's indexes (no resident timeline),
	// as Run times them.
	ContactQueries int     `json:"contact_queries"`
	Contacts       Latency `json:"contacts"`
	// Chains are timed on the resident timeline, from each of the first
	// ChainQueries cases over its infectious period, as Investigate
	// times them.
	ChainQueries int     `json:"chain_queries"`
	Chain        Latency `json:"chain_depth3"`
	ChainPersons float64 `json:"chain_persons_mean"`
}

// ScaleResult holds every size's figures, in the order measured.
type ScaleResult struct {
	Machine     string       `json:"machine"`
	LoadAverage string       `json:"load_average"` // at the start
	Seed        uint64       `json:"seed"`
	Sizes       []ScalePoint `json:"sizes"`
}

// Scale measures each city size of cfg.People in turn, on a fresh home
// in cfg.Dir removed once measured: it simulates the city, signs its
// records, ingests them with validation, measures the bytes on disk after
// a flush, times contact queries of random persons on the store's
// indexes, loads a resident timeline (its heap per visit) and times
// depth-3 chains from the cases on it. It stops at the first error, or
// when ctx is done between steps.
func Scale(ctx context.Context, cfg ScaleConfig) (*ScaleResult, error) {
	st := &stepper{p: cfg.Progress, total: cfg.Steps()}
	res := &ScaleResult{Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		LoadAverage: loadAverage(), Seed: cfg.Seed}
	for i, people := range cfg.People {
		dir := filepath.Join(cfg.Dir, fmt.Sprintf("city-%d", i))
		pt, err := scaleOne(ctx, &cfg, st, people, dir)
		if err != nil {
			return nil, fmt.Errorf("bench: %d people: %w", people, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		res.Sizes = append(res.Sizes, *pt)
	}
	return res, nil
}

// scaleOne measures one city of people, its home in dir.
func scaleOne(ctx context.Context, cfg *ScaleConfig, st *stepper, people int, dir string) (*ScalePoint, error) {
	pt := &ScalePoint{People: people, Days: cfg.Days}
	city := fmt.Sprintf("%d people", people)

	st.next("%s: simulate %d days", city, cfg.Days)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cityFile, signedPath := filepath.Join(dir, "city.ndjson"), filepath.Join(dir, "signed.bin")
	truth, err := simulateFile(cityFile, sim.Config{People: people, Days: cfg.Days, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	ids, err := identitiesIn(cityFile)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	st.next("%s: sign the records", city)
	h, vault, records, err := signedFile(filepath.Join(dir, "home"), cityFile, signedPath)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(cityFile); err != nil {
		return nil, err
	}
	pt.Records = records
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	st.next("%s: ingest %d records with validation", city, pt.Records)
	n, el, err := ingestFile(h, vault, signedPath)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	if err := os.Remove(signedPath); err != nil {
		return nil, err
	}
	pt.IngestSeconds = el.Seconds()
	pt.IngestPerSec = float64(pt.Records) / el.Seconds()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	st.next("%s: bytes on disk after a flush", city)
	if err := n.DB.Flush(); err != nil {
		return nil, err
	}
	pt.BytesPerRecord = float64(dirSize(h.DataDir(), "")) / float64(pt.Records)
	pt.SSTBytesPerRecord = float64(dirSize(h.DataDir(), ".sst")) / float64(pt.Records)
	st.next("%s: bytes on disk after a full compaction", city)
	if err := n.DB.Compact(ctx); err != nil {
		return nil, err
	}
	pt.CompactedBytesPerRecord = float64(dirSize(h.DataDir(), "")) / float64(pt.Records)
	pt.CompactedSSTBytesPerRecord = float64(dirSize(h.DataDir(), ".sst")) / float64(pt.Records)

	st.next("%s: contact queries on the store's indexes", city)
	from, to := truth.Start.Unix(), truth.End.Unix()
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	var lat []time.Duration
	for range cfg.Queries {
		if len(ids) == 0 {
			break
		}
		p := n.Pseud.Person(ids[rng.IntN(len(ids))])
		t0 := time.Now()
		if _, err := n.Query.Contacts(p, from, to, -1); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	pt.ContactQueries, pt.Contacts = len(lat), latency(lat)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	st.next("%s: load a resident timeline", city)
	tl, cost, err := residentTimeline(ctx, n, timeline.Options{IDsInStore: cfg.IDsInStore}, nil)
	if err != nil {
		return nil, err
	}
	defer tl.Close()
	n.Query.SetTimeline(tl)
	pt.TimelineVisits, pt.TimelineSeconds = cost.Stats.Entries, cost.Seconds
	pt.TimelineHeapBytes, pt.TimelineEstimateBytes = cost.HeapBytes, cost.Stats.Bytes
	if pt.TimelineVisits > 0 {
		pt.TimelineBytesPerVisit = float64(cost.HeapBytes) / float64(pt.TimelineVisits)
		pt.TimelineEstimatePerVisit = float64(cost.Stats.Bytes) / float64(pt.TimelineVisits)
	}

	iv, cases, err := nodeCases(n)
	if err != nil {
		return nil, err
	}
	pt.Cases = len(cases)
	chainCases := firstCases(cases, cfg.Chains)
	st.next("%s: depth-3 chains from %d of %d cases on the timeline", city, len(chainCases), len(cases))
	lat = nil
	nodes := 0
	for _, p := range chainCases {
		from, to, err := chainWindow(iv, p, from, to, false)
		if err != nil {
			return nil, err
		}
		g, d, err := timeChain(iv, p, from, to)
		if err != nil {
			return nil, err
		}
		lat = append(lat, d)
		nodes += len(g.Nodes)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	pt.ChainQueries, pt.Chain = len(lat), latency(lat)
	if len(lat) > 0 {
		pt.ChainPersons = float64(nodes) / float64(len(lat))
	}
	return pt, nil
}

// WriteScale prints a result as a table, one row per size, and what the
// figures are.
func WriteScale(w io.Writer, r *ScaleResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "machine  %s (load average %s at the start), seed %d\n\n", r.Machine, r.LoadAverage, r.Seed)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "people\tdays\trecords\tingest rec/s\tbytes/record\tcompacted\ttimeline bytes/visit\tcontacts p99 ms\tchain p99 ms\t")
	for _, p := range r.Sizes {
		chain := "-"
		if p.ChainQueries > 0 {
			chain = msFigure(p.Chain.P99)
		}
		// A small timeline is within the heap's noise (what the store's
		// caches and the collector keep): its heap figure is "-" when it
		// is not above zero; its own estimate stands beside it.
		tl := fmt.Sprintf("- (%.1f)", p.TimelineEstimatePerVisit)
		if p.TimelineBytesPerVisit > 0 {
			tl = fmt.Sprintf("%.1f (%.1f)", p.TimelineBytesPerVisit, p.TimelineEstimatePerVisit)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%s\t%s\t%s\t\n", p.People, p.Days, p.Records, p.IngestPerSec, p.BytesPerRecord,
			p.CompactedBytesPerRecord, tl, msFigure(p.Contacts.P99), chain)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString(`
ingest        signed records through the engine with trajectory validation, synced commits
bytes/record  the home's data directory after a flush (tables and write-ahead log)
compacted     the same once the store is compacted in full: what a record costs once compaction has caught up
timeline      Go heap in use after a collection with the resident timeline loaded, minus before, per visit it holds
              ("-": within the heap's noise, a small city); in brackets the timeline's own estimate
contacts      random persons over the whole period, on the store's indexes (no resident timeline)
chains        depth 3 from the first cases, each over its infectious period, on the resident timeline ("-": no case)
`)
	_, err := io.WriteString(w, b.String())
	return err
}
