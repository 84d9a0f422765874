package cli_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/report"
)

// txCell is a whole transaction id in a table, as tx proof and correct
// take it.
var txCell = regexp.MustCompile(`(?m)\s([0-9a-f]{64})$`)

// tableTxs returns the transaction ids that end the rows of a table, in
// order.
func tableTxs(table string) []string {
	var ids []string
	for _, m := range txCell.FindAllStringSubmatch(table, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// outbreakHome loads the outbreak scenario (internal/investigate/testdata)
// into a new home, as TestInvestigateScenario does, and returns it.
func outbreakHome(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "home")
	data := filepath.Join("..", "investigate", "testdata")
	mustRun(t, "init", "--home", dir, "--chain-id", "outbreak", "--region", "420100")
	mustRun(t, "import", "--home", dir, "-q", filepath.Join(data, "outbreak.ndjson"))
	mustRun(t, "import", "--home", dir, "-q", "--format", "sociopatterns", "--start", "2020-01-20T15:00:00+08:00", filepath.Join(data, "outbreak-tags.dat"))
	return dir
}

// checkTxProof runs tx proof on an id pasted from a table, and tx check
// on the proof.
func checkTxProof(t *testing.T, dir, tx string) {
	t.Helper()
	proof := mustRun(t, "tx", "proof", "--home", dir, tx)
	if out := mustRun(t, "tx", "check", writeFile(t, "proof.json", proof)); !strings.HasPrefix(out, "ok: transaction "+tx) {
		t.Errorf("tx check of %s: %s", tx, out)
	}
}

// TestInvestigationTablesNameTx: the investigations' tables whose rows
// are records end each row with the record's whole id, the one their
// JSON gives, and tx proof takes it as pasted.
func TestInvestigationTablesNameTx(t *testing.T) {
	t.Parallel()
	dir := outbreakHome(t)
	win := []string{"--home", dir, "--from", "2020-01-15", "--to", "2020-01-22"}

	t.Run("chain", func(t *testing.T) {
		args := append([]string{"trace", "chain", "--person", "id:420100199001010001", "--depth", "3"}, win...)
		var r report.ChainReport
		if err := json.Unmarshal([]byte(mustRun(t, append(args, "--json")...)), &r); err != nil {
			t.Fatal(err)
		}
		out := mustRun(t, args...)
		if !has(out, "EARLIEST VIA AT TX") || !has(out, "0 id:420100199001010001 2020-01-15 00:00 confirmed - - -\n") {
			t.Errorf("chain table:\n%s", out)
		}
		// Each person but the case, reached by an edge whose record ends
		// the row.
		got := tableTxs(out)
		if len(got) != len(r.Nodes)-1 {
			t.Fatalf("chain table names %d records for %d persons reached:\n%s", len(got), len(r.Nodes)-1, out)
		}
		edges := map[string]bool{}
		for _, e := range r.Edges {
			edges[e.Tx] = true
		}
		for _, tx := range got {
			if !edges[tx] {
				t.Errorf("chain table names %s, no edge's record", tx)
			}
		}
		checkTxProof(t, dir, got[len(got)-1])
	})

	t.Run("sources", func(t *testing.T) {
		args := []string{"trace", "sources", "--home", dir, "--person", "id:420100199001010001", "--person", "id:420100199001010007"}
		var r report.SourcesReport
		if err := json.Unmarshal([]byte(mustRun(t, append(args, "--json")...)), &r); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, c := range r.Cases {
			for _, s := range c.Sites {
				want = append(want, s.Tx)
			}
		}
		for _, s := range r.CommonSites {
			for _, v := range s.Visits {
				want = append(want, v.Tx)
			}
		}
		out := mustRun(t, args...)
		if got := tableTxs(out); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("sources tables name %v, want the visits' %v:\n%s", got, want, out)
		}
		// Both cases came at 14:00; which is listed first follows their
		// pseudonyms, which this home's secret decides.
		if v := r.CommonSites[0].Visits[0]; !has(out, "mall-1 mall 2 "+v.Person+" 2020-01-17 14:00 "+v.Tx) {
			t.Errorf("common sites:\n%s", out)
		}
		checkTxProof(t, dir, want[0])
	})

	t.Run("clusters", func(t *testing.T) {
		args := []string{"trace", "clusters", "--home", dir, "--from", "2020-01-15", "--to", "2020-01-25"}
		var r report.ClustersReport
		if err := json.Unmarshal([]byte(mustRun(t, append(args, "--json")...)), &r); err != nil {
			t.Fatal(err)
		}
		txs := map[string]bool{}
		for _, c := range r.Clusters {
			for _, s := range c.Sites {
				for _, p := range s.Presences {
					txs[p.Tx] = true
				}
			}
		}
		out := mustRun(t, args...)
		got := tableTxs(out)
		if len(got) != len(txs) {
			t.Errorf("clusters table names %d records, want the %d presences':\n%s", len(got), len(txs), out)
		}
		for _, tx := range got {
			if !txs[tx] {
				t.Errorf("clusters table names %s, no presence's record", tx)
			}
		}
		checkTxProof(t, dir, got[0])
	})
}

// TestClusterTimesDatedInOrder: a cluster's presences are one row each,
// with dates, in time order across its sites (they were times of day,
// site by site).
func TestClusterTimesDatedInOrder(t *testing.T) {
	t.Parallel()
	dir := outbreakHome(t)
	out := mustRun(t, "trace", "clusters", "--home", dir, "--from", "2020-01-15", "--to", "2020-01-25")
	rows := regexp.MustCompile(`(?m)^  (\S+)\s+\S+\s+(\S+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d)\s+(\d{4}-\d\d-\d\d \d\d:\d\d)\s+[0-9a-f]{64}$`).FindAllStringSubmatch(out, -1)
	if len(rows) != 4 {
		t.Fatalf("want 4 dated presences:\n%s", out)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i][3] < rows[i-1][3] {
			t.Errorf("presence %d (%s) before presence %d (%s):\n%s", i+1, rows[i][3], i, rows[i-1][3], out)
		}
	}
	for _, want := range []string{
		"mall-1/cinema venue id:420100199001010008 2020-01-16 19:00 2020-01-16 21:00",
		"mall-1 mall id:420100199001010001 2020-01-17 14:00 2020-01-17 15:00",
	} {
		if !has(out, want) {
			t.Errorf("clusters table lacks %q:\n%s", want, out)
		}
	}
}

// TestAuditListWindow: audit list prints the window each read asked for,
// as short local times ("-" for a read with none), and the node that
// served it, locally and through a node as an auditor alike.
func TestAuditListWindow(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir, auditor := worldHome(t, d, "auditor")
	mustRun(t, "trace", "contacts", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-21")
	want := []string{"FROM TO SERVED BY\n", "POST /v1/trace/contacts", " 2020-01-20 00:00 2020-01-21 23:59 chain authority\n"}
	local := mustRun(t, "audit", "list", "--home", dir)
	for _, w := range want {
		if !has(local, w) {
			t.Errorf("audit list lacks %q:\n%s", w, local)
		}
	}
	url, stop := startNode(t, dir)
	defer stop()
	remote := mustRun(t, "audit", "list", "--home", dir, "--node", url, "--as", auditor)
	for _, w := range want {
		if !has(remote, w) {
			t.Errorf("audit list --node lacks %q:\n%s", w, remote)
		}
	}
}

// TestTraceTablesNameTx: the trajectory and contacts tables end each row
// with the record's whole id, the one their JSON gives, and tx proof
// takes it as pasted.
func TestTraceTablesNameTx(t *testing.T) {
	t.Parallel()
	dir, _ := worldHome(t, t.TempDir(), "investigator")
	for name, args := range map[string][]string{
		"trajectory": {"trace", "trajectory", "--person", "id:420100199001011234"},
		"contacts":   {"trace", "contacts", "--person", "id:420100199001011234", "--min-overlap", "5m"},
	} {
		t.Run(name, func(t *testing.T) {
			args := append(args, "--home", dir, "--from", "2020-01-20", "--to", "2020-01-20")
			// The rows of either: a trajectory's entries, a contact list's
			// contacts.
			var r struct{ Entries, Contacts []struct{ Tx string } }
			if err := json.Unmarshal([]byte(mustRun(t, append(args, "--json")...)), &r); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, e := range append(r.Entries, r.Contacts...) {
				want = append(want, e.Tx)
			}
			out := mustRun(t, args...)
			if len(want) < 2 || !has(out, " TX\n") {
				t.Fatalf("%d records:\n%s", len(want), out)
			}
			if got := tableTxs(out); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("table names %v, want %v:\n%s", got, want, out)
			}
			checkTxProof(t, dir, want[len(want)-1])
		})
	}
}
