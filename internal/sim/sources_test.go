package sim_test

import (
	"bufio"
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/testnode"
)

// cityCases generates cfg and returns its NDJSON and its case records.
func cityCases(t *testing.T, cfg sim.Config) ([]byte, []*ndjson.Case) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := sim.Generate(cfg, ndjson.NewWriter(&buf)); err != nil {
		t.Fatal(err)
	}
	var cases []*ndjson.Case
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		v, err := ndjson.Parse(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := v.(*ndjson.Case); ok {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		t.Fatalf("%+v: no cases", cfg)
	}
	return buf.Bytes(), cases
}

// sourcesWindow is the window a source search with the default incubation
// looks at: from the start of the day DefaultIncubationMax days before the
// onset to the end of the day DefaultIncubationMin days before it.
func sourcesWindow(t *testing.T, onset string, loc *time.Location) (from, to time.Time) {
	t.Helper()
	o, err := time.ParseInLocation("2006-01-02", onset, loc)
	if err != nil {
		t.Fatalf("onset %q: %v", onset, err)
	}
	return o.AddDate(0, 0, -report.DefaultIncubationMax),
		o.AddDate(0, 0, -report.DefaultIncubationMin+1).Add(-time.Second)
}

// TestCaseSourcesWindowOverlapsPeriod checks that every case's default
// source-search window overlaps the simulated period once it is 5 days or
// longer, and holds at least its first two days once it is 6 or longer.
func TestCaseSourcesWindowOverlapsPeriod(t *testing.T) {
	t.Parallel()
	for _, days := range []int{5, 6, 7, 10, 14} {
		for seed := uint64(1); seed <= 4; seed++ {
			cfg := sim.Config{People: 200, Days: days, Seed: seed, Cases: 12}
			t.Run(fmt.Sprintf("%d days seed %d", days, seed), func(t *testing.T) {
				t.Parallel()
				_, cases := cityCases(t, cfg)
				start := sim.DefaultStart()
				end := start.AddDate(0, 0, days)
				need := start
				if days >= 6 {
					need = start.AddDate(0, 0, 2).Add(-time.Second)
				}
				for _, c := range cases {
					from, to := sourcesWindow(t, c.Onset, start.Location())
					if to.Before(need) || !from.Before(end) {
						t.Errorf("case %s, onset %s: window %s..%s, period %s..%s", c.Person, c.Onset, from, to, start, end)
					}
				}
			})
		}
	}
}

// TestCaseSourcesFindSomething imports a small city into a node and runs
// the source search on every case, as `trace sources` does: each finds at
// least one person or site.
func TestCaseSourcesFindSomething(t *testing.T) {
	t.Parallel()
	data, cases := cityCases(t, sim.Config{People: 150, Days: 6, Seed: 3, Cases: 5})
	h, n := testnode.New(t)
	if res := testnode.Import(t, h, n, string(data)); res.Rejected != 0 {
		t.Fatalf("import: %d rejected: %v", res.Rejected, res.Rejections)
	}
	b := &report.Builder{N: n}
	for _, c := range cases {
		rd, err := b.Sources(report.SourcesRequest{Persons: []string{c.Person}})
		rep, err := testnode.Perform(t, n, rd, err)
		if err != nil {
			t.Fatalf("sources of %s: %v", c.Person, err)
		}
		if len(rep.Cases) != 1 {
			t.Fatalf("sources of %s: %d cases in the report", c.Person, len(rep.Cases))
		}
		cs := rep.Cases[0]
		if len(cs.Persons)+len(cs.Sites) == 0 {
			t.Errorf("sources of %s (onset %s, window %s..%s): nothing found", c.Person, cs.Onset, cs.From, cs.To)
		}
	}
}
