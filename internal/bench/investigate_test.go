package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/testnode"
	"github.com/epiledger/epiledger/internal/trace"
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
// every case and of random persons (every field, in order; the bare query
// the same rows on its four columns), chains of depth 1 to 3 from every
// case and from random persons, over the whole period and random windows,
// with several minimum overlaps. It also checks that a copy loaded with
// another schema is not taken for this build's.
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
	// The simulated city has no encounters: add some between its persons.
	twice := addEncounters(t, n, data.persons, sim.DefaultStart().Unix(), 3*86400)
	if data, err = readPGData(n.DB, n.Query); err != nil {
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
	chainPersons := persons[:len(persons)/2]
	persons = append(persons, twice...) // contacts only: chains are slow
	start := sim.DefaultStart().Unix()
	end := start + 3*86400
	type window struct{ from, to int64 }
	windows := []window{{start, end}}
	for range 2 {
		a, b := start+rng.Int64N(end-start), start+rng.Int64N(end-start)
		windows = append(windows, window{min(a, b), max(a, b) + 1})
	}
	contacts, nodes, encounters := 0, 0, 0
	roles := map[string]bool{}
	for _, ix := range pgIndexVariants {
		contactsSQL, bareSQL := pgContactsSQL(ix), pgBareContactsSQL(ix)
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
					if diff := diffContacts(got, want); diff != "" {
						t.Errorf("%s, min overlap %v, window %v, person %d: contacts: %s", ix, minOverlap, w, i, diff)
					}
					bare, err := pgBareContacts(ctx, conn, bareSQL, p, w.from, w.to, sec)
					if err != nil {
						t.Fatal(err)
					}
					if !sameBareContacts(got, bare, siteNum) {
						t.Errorf("%s, min overlap %v, window %v, person %d: bare contacts: ours %d rows, PostgreSQL %d", ix, minOverlap, w, i, len(got), len(bare))
					}
					contacts += len(got)
					for _, c := range got {
						if c.SiteKind == trace.EncounterKind {
							encounters++
						}
						roles[c.Role] = true
					}
				}
				for depth := 1; depth <= 3; depth++ {
					chainSQL := pgChainSQL(ix, depth)
					for i, p := range chainPersons {
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
	// The comparison means little unless the contacts hold encounters,
	// visits with a role and visits without.
	if contacts == 0 || nodes <= len(persons) || encounters == 0 || len(roles) < 2 {
		t.Fatalf("the city is too sparse to compare anything: %d contacts (%d encounters, roles %v), %d chain persons", contacts, encounters, roles, nodes)
	}

	// A copy an older build loaded: another schema, or no schema column.
	if _, err := conn.Exec(ctx, "UPDATE bench_city SET schema = 'v1'"); err != nil {
		t.Fatal(err)
	}
	if pgLoaded(ctx, conn, "test") {
		t.Error("pgLoaded takes a copy of another schema for this one")
	}
	if _, err := conn.Exec(ctx, "ALTER TABLE bench_city DROP COLUMN schema"); err != nil {
		t.Fatal(err)
	}
	if pgLoaded(ctx, conn, "test") {
		t.Error("pgLoaded takes a copy without a schema for this one")
	}
}

// addEncounters registers two devices and signs and ingests proximity
// encounters between the persons, in [start, start+period): random
// pairs, on the devices in turn, and every tenth pair met twice at the
// same time on the same device (two records that differ only in the
// distance), so that only the record ids order their contacts. It
// returns the persons of the pairs met twice.
func addEncounters(t *testing.T, n *node.Node, persons []ledger.Pseudonym, start, period int64) (twice []ledger.Pseudonym) {
	t.Helper()
	devices := []string{"bench-tag-b", "bench-tag-a"}
	var b strings.Builder
	for _, d := range devices {
		fmt.Fprintf(&b, `{"type":"site","site":"%s","kind":"device","lat":0,"lon":0}`+"\n", d)
	}
	if res := testnode.Import(t, n.Home, n, b.String()); res.Rejected != 0 {
		t.Fatalf("devices: %v", res.Rejections)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	b.Reset()
	for i := range 120 {
		x, y := persons[rng.IntN(len(persons))], persons[rng.IntN(len(persons))]
		if x == y {
			continue
		}
		a, c := ledger.PersonRef{Ref: x}, ledger.PersonRef{Ref: y}
		if ledger.RefLess(c, a) {
			a, c = c, a
		}
		dev := devices[i%len(devices)]
		key, err := n.Home.Keys.Get(dev)
		if err != nil || key == nil {
			t.Fatalf("device key: %v", err)
		}
		e := ledger.Encounter{Device: dev, A: a, B: c, Start: start + rng.Int64N(period-3600), Duration: uint32(60 + rng.IntN(3000)), DistanceCM: 100}
		copies := 1
		if i%10 == 0 {
			copies = 2
			twice = append(twice, x, y)
		}
		for k := range copies {
			e.DistanceCM += uint32(k)
			tx := ledger.NewTx(&e)
			tx.Sign(n.Home.Genesis.ChainID, key)
			fmt.Fprintf(&b, `{"type":"tx","tx":"%s"}`+"\n", base64.StdEncoding.EncodeToString(tx.Bytes()))
		}
	}
	if res := testnode.Import(t, n.Home, n, b.String()); res.Rejected != 0 {
		t.Fatalf("encounters: %v", res.Rejections)
	}
	return twice
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
		// In each variant, every contact query twice (full and bare), and
		// the first chain only (PostgresChains).
		if pr == nil || len(pr.Variants) != 2 || pr.Differ != 0 || pr.Compared != 2*(2*res.ContactQueries+1) || res.ChainsCompared != 1 {
			t.Fatalf("PostgreSQL: %+v, %d chains compared", pr, res.ChainsCompared)
		}
		for _, v := range pr.Variants {
			if v.Contacts.P50 <= 0 || v.ContactsBare.P50 <= 0 || v.ContactsBare.P99 < v.ContactsBare.P50 || v.ContactsBareRatio.P50 <= 0 {
				t.Errorf("PostgreSQL %s: contact timings %+v", v.Index, v)
			}
		}
	}
	var out bytes.Buffer
	if err := WriteInvestigate(&out, res); err != nil {
		t.Fatal(err)
	}
	wants := []string{"contacts (20)", "chain depth 3", "targets"}
	if !cfg.NoPostgres {
		wants = append(wants, "contacts, PostgreSQL four columns, unsorted (20)")
		if res.ChainQueries > 1 {
			wants = append(wants, "chain depth 3, the first 1")
		}
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
	if !strings.Contains(out.String(), "PostgreSQL  skipped") || strings.Contains(out.String(), "four columns") {
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
