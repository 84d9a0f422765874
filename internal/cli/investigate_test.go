package cli_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/report"
)

var spaces = regexp.MustCompile(`[ \t]+`)

// has reports whether a table contains want, runs of blanks counting as
// one (column widths depend on the data).
func has(table, want string) bool {
	return strings.Contains(spaces.ReplaceAllString(table, " "), spaces.ReplaceAllString(want, " "))
}

// TestInvestigateScenario loads the outbreak scenario
// (internal/investigate/testdata) as a user would, its tag data through
// import --format sociopatterns, and runs every investigation.
func TestInvestigateScenario(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	data := filepath.Join("..", "investigate", "testdata")
	mustRun(t, "init", "--home", dir, "--chain-id", "outbreak", "--region", "420100")
	out := mustRun(t, "import", "--home", dir, "-q", filepath.Join(data, "outbreak.ndjson"))
	if !strings.Contains(out, "26 lines: 26 accepted, 0 rejected") {
		t.Fatalf("import:\n%s", out)
	}
	if _, errs, code := run(t, "import", "--home", dir, "--format", "sociopatterns", filepath.Join(data, "outbreak-tags.dat")); code != 1 ||
		!strings.Contains(errs, "--format sociopatterns needs --start") || !strings.Contains(errs, "hint:") {
		t.Errorf("sociopatterns without --start: exit %d\n%s", code, errs)
	}
	out = mustRun(t, "import", "--home", dir, "-q", "--format", "sociopatterns", "--start", "2020-01-20T15:00:00+08:00", filepath.Join(data, "outbreak-tags.dat"))
	if !strings.Contains(out, "30 lines: 2 accepted, 0 rejected") {
		t.Fatalf("tag import:\n%s", out)
	}

	// The chain as a table, as JSON and as Graphviz.
	win := []string{"--home", dir, "--from", "2020-01-15", "--to", "2020-01-22"}
	out = mustRun(t, append([]string{"trace", "chain", "--person", "phone:13800000001", "--depth", "3"}, win...)...)
	for _, want := range []string{"persons per layer: [1 4 1 1]", "3  id:420100199001010005  2020-01-20 15:00  -     id:420100199001010004  sociopatterns-outbreak-tags (encounter)"} {
		if !has(out, want) {
			t.Errorf("chain table lacks %q:\n%s", want, out)
		}
	}
	var ch report.ChainReport
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"trace", "chain", "--person", "id:420100199001010001", "--depth", "1", "--json"}, win...)...)), &ch); err != nil {
		t.Fatal(err)
	}
	if len(ch.Nodes) != 5 || ch.Depth != 1 {
		t.Errorf("chain --depth 1 --json: %+v", ch.Nodes)
	}
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"trace", "chain", "--person", "id:420100199001010001", "--depth", "3", "--format", "json"}, win...)...)), &ch); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, append([]string{"trace", "chain", "--person", "id:420100199001010001", "--depth", "3", "--format", "dot"}, win...)...)
	if !strings.HasPrefix(out, "digraph chain {") || !strings.Contains(out, `label="sociopatterns-outbreak-tags\n2020-01-20 15:00", style=dashed`) ||
		strings.Count(out, " -> ") != len(ch.Edges) || strings.Count(out, "\n") != 5+len(ch.Nodes)+len(ch.Edges) || !strings.HasSuffix(out, "}\n") {
		t.Errorf("chain dot:\n%s", out)
	}

	out = mustRun(t, "trace", "sources", "--home", dir, "--person", "id:420100199001010001", "--person", "id:420100199001010007")
	for _, want := range []string{"Possible sources of id:420100199001010001 (onset 2020-01-24): exposures 2020-01-10 00:00 to 2020-01-22 23:59",
		"1  id:420100199001010007  confirmed", "1  mall-1         mall    2020-01-17 14:00  2020-01-17 15:00  id:420100199001010007",
		"Common exposures of the 2 cases: 1 sites, 1 persons"} {
		if !has(out, want) {
			t.Errorf("sources lack %q:\n%s", want, out)
		}
	}
	out = mustRun(t, "trace", "clusters", "--home", dir, "--from", "2020-01-15", "--to", "2020-01-25")
	if !has(out, "Cluster 1, 2020-01-16 19:00 to 2020-01-17 15:00: 3 cases") || !has(out, "id:420100199001010009 2020-01-17 14:10 2020-01-17 14:50 mall-1") {
		t.Errorf("clusters:\n%s", out)
	}
	out = mustRun(t, "trace", "risk-sites", "--home", dir, "--from", "2020-01-15", "--to", "2020-01-25", "--format", "geojson")
	var gj report.GeoJSON
	if err := json.Unmarshal([]byte(out), &gj); err != nil || gj.Type != "FeatureCollection" || len(gj.Features) != 4 || strings.Contains(out, "4201001990") {
		t.Errorf("risk-sites geojson (%v):\n%s", err, out)
	}
	// A home is personal data: never published, whatever is asked.
	out = mustRun(t, "trace", "risk-sites", "--home", dir, "--from", "2020-01-15", "--to", "2020-01-25", "--exclude-kinds", "")
	if strings.Contains(out, "home-a") {
		t.Errorf("risk-sites with --exclude-kinds \"\" publishes a home:\n%s", out)
	}
	out = mustRun(t, "trace", "follow-up", "--home", dir, "--person", "id:420100199001010001", "--from", "2020-01-15", "--to", "2020-01-22", "--days", "10")
	if !has(out, "1 id:420100199001010006 - 2020-01-21 10:20 2020-01-31 2020-01-21 10:00 1 taxi-1") {
		t.Errorf("follow-up:\n%s", out)
	}
	if _, errs, code := run(t, "trace", "chain", "--home", dir, "--person", "id:420100199001010001", "--format", "svg"); code != 1 || !strings.Contains(errs, "want table, json or dot") {
		t.Errorf("chain --format svg: %d %s", code, errs)
	}
	if _, errs, code := run(t, "trace", "sources", "--home", dir, "--person", "phone:1"); code != 1 || strings.Contains(errs, "phone:1") {
		t.Errorf("sources of an unbound alias: %d %s", code, errs)
	}
	// Reads of personal data are audited first, and refused without a
	// case and purpose; risk sites hold none.
	if _, errs, code := runBare(t, "trace", "chain", "--home", dir, "--person", "id:420100199001010001"); code != 1 || !strings.Contains(errs, "--case") {
		t.Errorf("chain without a case: %d %s", code, errs)
	}
	if out, errs, code := runBare(t, "trace", "risk-sites", "--home", dir, "--from", "2020-01-15", "--to", "2020-01-25"); code != 0 || !strings.Contains(out, "office-1") {
		t.Errorf("risk sites without a case: %d %s", code, errs)
	}
	out = mustRun(t, "audit", "list", "--home", dir)
	for _, route := range []string{"POST /v1/trace/chain", "POST /v1/trace/sources", "POST /v1/trace/clusters", "POST /v1/trace/follow-up"} {
		if !strings.Contains(out, route) {
			t.Errorf("audit trail lacks %q:\n%s", route, out)
		}
	}
}
