package investigate_test

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/sim"
)

// The benchmarks share one simulated city, built on first use: 2,000
// people over 7 days by default, or EPILEDGER_BENCH_PEOPLE and
// EPILEDGER_BENCH_DAYS (EPILEDGER_BENCH_DIR keeps the home between runs:
// a city already imported there is reused).

type city struct {
	n        *node.Node
	iv       *investigate.Investigator
	truth    *sim.Truth
	cases    []string
	from, to int64
	reported map[ledger.Pseudonym]int64
}

var (
	cityOnce sync.Once
	theCity  *city
	cityErr  error
	cityDir  string
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchCity(b *testing.B) *city {
	b.Helper()
	cityOnce.Do(func() { theCity, cityErr = buildCity() })
	if cityErr != nil {
		b.Fatal(cityErr)
	}
	return theCity
}

func buildCity() (*city, error) {
	people, days := envInt("EPILEDGER_BENCH_PEOPLE", 2000), envInt("EPILEDGER_BENCH_DAYS", 7)
	var buf bytes.Buffer
	truth, err := sim.Generate(sim.Config{People: people, Days: days, Seed: 1}, ndjson.NewWriter(&buf))
	if err != nil {
		return nil, err
	}
	dir := os.Getenv("EPILEDGER_BENCH_DIR")
	if dir == "" {
		if cityDir, err = os.MkdirTemp("", "investigate-bench-"); err != nil {
			return nil, err
		}
		dir = cityDir
	}
	dir = filepath.Join(dir, strconv.Itoa(people)+"x"+strconv.Itoa(days))
	fresh := false
	h, err := home.Load(dir)
	if err != nil {
		if h, err = home.Init(dir, home.InitOptions{ChainID: "bench", Region: "420100", Time: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			return nil, err
		}
		fresh = true
	}
	cfg := engine.DefaultSoloConfig()
	cfg.Interval = 5 * time.Millisecond
	n, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{Solo: &cfg})
	if err != nil {
		return nil, err
	}
	if fresh {
		res, err := importer.New(h, importer.EngineSink{Node: n}).Import(&buf)
		if err != nil {
			return nil, err
		}
		if res.Rejected != 0 {
			return nil, &importError{res.Rejections[0]}
		}
	}
	c := &city{n: n, iv: investigate.New(n.DB, n.Query), truth: truth, cases: truth.Cases, from: truth.Start.Unix(), to: truth.End.Unix(),
		reported: map[ledger.Pseudonym]int64{}}
	cs, err := c.iv.Cases()
	if err != nil {
		return nil, err
	}
	for p, r := range cs {
		c.reported[p] = r.Reported
	}
	return c, nil
}

type importError struct{ r importer.Rejection }

func (e *importError) Error() string { return "bench city: " + e.r.String() }

func TestMain(m *testing.M) {
	code := m.Run()
	if theCity != nil {
		theCity.n.Close()
	}
	if cityDir != "" {
		os.RemoveAll(cityDir)
	}
	os.Exit(code)
}

// benchChain times a chain of the given depth from each confirmed case
// over the whole period, and reports the persons reached and the p99.
func benchChain(b *testing.B, depth int) {
	c := benchCity(b)
	var nodes int
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := c.cases[i%len(c.cases)]
		t0 := time.Now()
		g, err := c.iv.Chain(investigate.ChainQuery{Person: c.n.Pseud.Person(id), From: c.from, To: c.to, Depth: depth, MinOverlap: -1})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		nodes += len(g.Nodes)
	}
	b.ReportMetric(float64(nodes)/float64(b.N), "persons/op")
	b.ReportMetric(p99(lat), "p99-ms")
}

func p99(lat []time.Duration) float64 {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(lat[(len(lat)*99)/100].Microseconds()) / 1000
}

// BenchmarkChainDepth1 .. 3: chains from the cases over the whole period.
func BenchmarkChainDepth1(b *testing.B) { benchChain(b, 1) }
func BenchmarkChainDepth2(b *testing.B) { benchChain(b, 2) }
func BenchmarkChainDepth3(b *testing.B) { benchChain(b, 3) }

// BenchmarkChainDepth3Infectious5d: depth 3 with a 1-day latent and a
// 5-day infectious period, over the whole period.
func BenchmarkChainDepth3Infectious5d(b *testing.B) {
	benchChainQuery(b, func(c *city, q *investigate.ChainQuery) { q.Latent, q.Infectious = 86400, 5*86400 })
}

// BenchmarkChainDepth3Before5d: depth 3 over the 5 days before the case
// was reported (onset - 2 days to report, about), the window a tracer
// starts from; later meetings run to the end of the period.
func BenchmarkChainDepth3Before5d(b *testing.B) {
	benchChainQuery(b, func(c *city, q *investigate.ChainQuery) {
		q.From = c.reported[q.Person] - 5*86400
	})
}

func benchChainQuery(b *testing.B, set func(*city, *investigate.ChainQuery)) {
	c := benchCity(b)
	var nodes int
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := investigate.ChainQuery{Person: c.n.Pseud.Person(c.cases[i%len(c.cases)]), From: c.from, To: c.to, Depth: 3, MinOverlap: -1}
		set(c, &q)
		t0 := time.Now()
		g, err := c.iv.Chain(q)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		nodes += len(g.Nodes)
	}
	b.ReportMetric(float64(nodes)/float64(b.N), "persons/op")
	b.ReportMetric(p99(lat), "p99-ms")
}

// BenchmarkClusters: clusters over all cases and the whole period.
func BenchmarkClusters(b *testing.B) {
	c := benchCity(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.iv.Clusters(investigate.ClusterQuery{From: c.from, To: c.to, MinOverlap: -1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRiskSites: risk sites over the whole period.
func BenchmarkRiskSites(b *testing.B) {
	c := benchCity(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.iv.RiskSites(investigate.RiskQuery{From: c.from, To: c.to}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSources: the source search of each case over the whole period.
func BenchmarkSources(b *testing.B) {
	c := benchCity(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := c.cases[i%len(c.cases)]
		if _, err := c.iv.Sources(investigate.SourcesQuery{Cases: []investigate.SourceCase{{Person: c.n.Pseud.Person(id), From: c.from, To: c.to}}, MinOverlap: -1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFollowUp: the follow-up list of each case over the whole period.
func BenchmarkFollowUp(b *testing.B) {
	c := benchCity(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := c.cases[i%len(c.cases)]
		if _, err := c.iv.FollowUp(investigate.FollowUpQuery{Person: c.n.Pseud.Person(id), From: c.from, To: c.to, Days: 14, MinOverlap: -1}); err != nil {
			b.Fatal(err)
		}
	}
}
