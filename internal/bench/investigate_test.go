package bench

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/sim"
)

// scratchDir is a directory under the system's temporary directory (not
// t.TempDir: run as root, the postgres user must reach it), removed
// after the test.
func scratchDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "epiledger-bench-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// smallCity ingests a small simulated city into dir.
func smallCity(t *testing.T, dir string, people, days int) *node.Node {
	t.Helper()
	cfg := InvestigateConfig{People: people, Days: days, Seed: 3, Dir: dir}
	n, err := investigateCity(context.Background(), &cfg, &InvestigateResult{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestPostgresAnswersEqualOurs loads a small city into PostgreSQL and
// checks that every variant of the contact and chain queries answers
// exactly as trace.Querier.Contacts and investigate.Chain do: contacts of
// every case and of random persons, chains of depth 1 to 3 from every
// case and from random persons, over the whole period and random windows,
// with several minimum overlaps.
func TestPostgresAnswersEqualOurs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	bin, err := FindPostgres()
	if err != nil {
		t.Skip(err)
	}
	dir := scratchDir(t)
	n := smallCity(t, dir, 400, 3)
	ctx := context.Background()
	data, err := readPGData(n.DB, n.Query)
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chmod(dir, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	pg, err := StartPostgres(ctx, bin, dir+"/postgres", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	conn, err := pg.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, _, err := pgLoad(ctx, conn, data, "test", t.Logf); err != nil {
		t.Fatal(err)
	}
	if !pgLoaded(ctx, conn, "test") || pgLoaded(ctx, conn, "another city") {
		t.Fatal("pgLoaded does not recognize the loaded city")
	}
	siteNum := map[string]int32{}
	for num, s := range data.sites {
		siteNum[s.ID] = int32(num)
	}

	iv := investigate.New(n.DB, n.Query)
	cs, err := iv.Cases()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	persons := cs.Select("")
	for range 10 {
		persons = append(persons, data.persons[rng.IntN(len(data.persons))])
	}
	start := sim.DefaultStart().Unix()
	end := start + 3*86400
	type window struct{ from, to int64 }
	windows := []window{{start, end}}
	for range 2 {
		a, b := start+rng.Int64N(end-start), start+rng.Int64N(end-start)
		windows = append(windows, window{min(a, b), max(a, b) + 1})
	}
	contacts, nodes := 0, 0
	for _, ix := range pgIndexVariants {
		contactsSQL := pgContactsSQL(ix)
		for _, minOverlap := range []time.Duration{15 * time.Minute, 0, 2 * time.Hour} {
			sec := int64(minOverlap / time.Second)
			for _, w := range windows {
				for i, p := range persons {
					got, err := n.Query.Contacts(p, w.from, w.to, minOverlap)
					if err != nil {
						t.Fatal(err)
					}
					want, err := pgContacts(ctx, conn, contactsSQL, p, w.from, w.to, sec)
					if err != nil {
						t.Fatal(err)
					}
					if !sameContacts(got, want, siteNum) {
						t.Errorf("%s, min overlap %v, window %v, person %d: contacts: ours %d rows, PostgreSQL %d", ix, minOverlap, w, i, len(got), len(want))
					}
					contacts += len(got)
				}
				for depth := 1; depth <= 3; depth++ {
					chainSQL := pgChainSQL(ix, depth)
					for i, p := range persons[:len(persons)/2] {
						g, err := iv.Chain(investigate.ChainQuery{Person: p, From: w.from, To: w.to, Depth: depth, MinOverlap: minOverlap})
						if err != nil {
							t.Fatal(err)
						}
						want, err := pgChain(ctx, conn, chainSQL, p, w.from, w.to, sec, time.Minute)
						if err != nil {
							t.Fatal(err)
						}
						if !sameNodes(g.Nodes, want) {
							t.Errorf("%s, min overlap %v, window %v, person %d, depth %d: chain: ours %d persons, PostgreSQL %d", ix, minOverlap, w, i, depth, len(g.Nodes), len(want))
						}
						nodes += len(g.Nodes)
					}
				}
			}
		}
	}
	if contacts == 0 || nodes <= len(persons) {
		t.Fatalf("the city is too sparse to compare anything: %d contacts, %d chain persons", contacts, nodes)
	}
}

// TestInvestigate runs the benchmark on a small city, with PostgreSQL
// when it is installed, and checks the result and its table; a second
// run on the same directory reuses the city.
func TestInvestigate(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests a city")
	}
	dir := scratchDir(t)
	var log bytes.Buffer
	cfg := InvestigateConfig{People: 300, Days: 2, Seed: 1, Queries: 20, PostgresChains: 1, Dir: dir, Log: &log}
	if _, err := FindPostgres(); err != nil {
		cfg.NoPostgres = true
	}
	res, err := Investigate(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if res.Reused || res.Records == 0 || res.Cases == 0 || res.ContactQueries != 20 || res.ChainQueries != res.Cases || res.ChainPersons < 1 {
		t.Errorf("result: %+v", res)
	}
	t.Logf("PostgreSQL skipped: %q; %d chains, %d compared", res.PostgresSkipped, res.ChainQueries, res.ChainsCompared)
	if !cfg.NoPostgres {
		pr := res.Postgres
		// Every contact query, and the first chain only (PostgresChains).
		if pr == nil || len(pr.Variants) != 2 || pr.Differ != 0 || pr.Compared != 2*(res.ContactQueries+1) || res.ChainsCompared != 1 {
			t.Fatalf("PostgreSQL: %+v, %d chains compared", pr, res.ChainsCompared)
		}
	}
	var out bytes.Buffer
	if err := WriteInvestigate(&out, res); err != nil {
		t.Fatal(err)
	}
	wants := []string{"contacts (20)", "chain depth 3", "targets"}
	if !cfg.NoPostgres && res.ChainQueries > 1 {
		wants = append(wants, "chain depth 3, the first 1")
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}

	cfg.NoPostgres, cfg.Chains = true, 1
	again, err := Investigate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || again.Records != res.Records || again.ChainQueries != 1 || again.Postgres != nil || again.PostgresSkipped == "" {
		t.Errorf("second run: %+v", again)
	}
	out.Reset()
	if err := WriteInvestigate(&out, again); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "PostgreSQL  skipped") {
		t.Errorf("table without PostgreSQL:\n%s", out.String())
	}
}

// TestPgChainSQLLayers checks the statement's shape: one set of common
// table expressions per layer, the last layer's result returned.
func TestPgChainSQLLayers(t *testing.T) {
	t.Parallel()
	for _, ix := range pgIndexVariants {
		for depth := 1; depth <= 4; depth++ {
			sql := pgChainSQL(ix, depth)
			for k := 1; k <= depth; k++ {
				for _, cte := range []string{"s", "f", "b"} {
					if !strings.Contains(sql, "\n"+cte+strconv.Itoa(k)+" AS (") {
						t.Errorf("%s depth %d: no %s%d", ix, depth, cte, k)
					}
				}
			}
			if strings.Contains(sql, "\ns"+strconv.Itoa(depth+1)+" AS (") || !strings.HasSuffix(sql, "FROM b"+strconv.Itoa(depth)+" b JOIN persons p ON p.id = b.person") {
				t.Errorf("%s depth %d: wrong last layer:\n%s", ix, depth, sql)
			}
		}
	}
}
