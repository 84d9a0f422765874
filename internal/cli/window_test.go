package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/report"
)

// TestCaseWindowByDefault: a read about a reported case without --from or
// --to covers the case's own window, from 14 days before its onset to the
// end of the day of its report (A: onset 2020-01-24, reported 2020-01-25),
// and its table and JSON say so; anyone else's covers the 30 days up to
// the ledger's latest record; an explicit --from or --to always wins
// (issue 12, point 4).
func TestCaseWindowByDefault(t *testing.T) {
	t.Parallel()
	dir := outbreakHome(t)
	a, b := []string{"--home", dir, "--person", "id:420100199001010001"}, []string{"--home", dir, "--person", "id:420100199001010002"}
	caseNote := "Window: the case's own (a reported case, confirmed): from 14 days (the longest incubation) before its onset (2020-01-24) to the end of the day of its latest report (2020-01-25)"
	for _, tc := range []struct {
		name    string
		args    []string
		heading string
	}{
		{name: "trajectory", args: append([]string{"trace", "trajectory"}, a...), heading: "Trajectory of id:420100199001010001 from 2020-01-10 00:00 to 2020-01-25 23:59: 4 records"},
		{name: "contacts", args: append([]string{"trace", "contacts"}, a...), heading: "Close contacts of id:420100199001010001 from 2020-01-10 00:00 to 2020-01-25 23:59"},
		{name: "follow-up", args: append([]string{"trace", "follow-up"}, a...), heading: "Follow-up of the contacts of id:420100199001010001, 2020-01-10 00:00 to 2020-01-25 23:59"},
		{name: "chain", args: append([]string{"trace", "chain"}, a...), heading: "Chains of transmission from id:420100199001010001, 2020-01-10 00:00 to 2020-01-25 23:59"},
		{name: "decisions", args: append([]string{"validate", "decisions"}, a...), heading: "Validation decisions for id:420100199001010001 from 2020-01-10 00:00 to 2020-01-25 23:59"},
	} {
		out := mustRun(t, tc.args...)
		if !strings.Contains(out, tc.heading) || !strings.Contains(out, caseNote) {
			t.Errorf("%s of a case without --from or --to:\n%s", tc.name, out)
		}
		var basis report.WindowBasis
		if err := json.Unmarshal([]byte(mustRun(t, append(tc.args, "--json")...)), &basis); err != nil || basis.Basis != report.WindowCase {
			t.Errorf("%s --json: window_basis %+v, %v", tc.name, basis, err)
		}
		given := mustRun(t, append(tc.args, "--from", "2020-01-20")...)
		if strings.Contains(given, "Window:") || !strings.Contains(given, "2020-01-20 00:00 to 2020-01-25 23:59") {
			t.Errorf("%s --from 2020-01-20 is not the window asked:\n%s", tc.name, given)
		}
	}
	var pc blocks.PersonChainView
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"validate", "person-chain"}, a...)...)), &pc); err != nil ||
		pc.From != "2020-01-10T00:00:00+08:00" || pc.To != "2020-01-25T23:59:59+08:00" {
		t.Errorf("person-chain of a case: %s to %s, %v", pc.From, pc.To, err)
	}
	// B is no case: the 30 days up to the ledger's latest record, A's
	// report.
	out := mustRun(t, append([]string{"trace", "contacts"}, b...)...)
	if !strings.Contains(out, "from 2019-12-27 00:00 to 2020-01-25 23:59") ||
		!strings.Contains(out, "Window: the default, the 30 days (trace.lookback) up to the end of the day of the ledger's latest record (2020-01-25; or of a later validate close --until)") {
		t.Errorf("contacts of a person who is no case:\n%s", out)
	}
}

// TestCheckOfNothingIsNotOK: a person chain with no person block in its
// window checks nothing, and check-person-chain says so and exits 1
// rather than "ok: 0 person blocks" (issue 12, point 4).
func TestCheckOfNothingIsNotOK(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", dir)
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", world))
	pc, errs, code := run(t, "validate", "person-chain", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-02-01", "--to", "2020-02-02")
	if code != 0 || !strings.Contains(errs, "epiledger: note: no person block from 2020-02-01 00:00 to 2020-02-02 23:59: this person's records run from 2020-01-") ||
		!strings.Contains(errs, "sealed only when its window closes") {
		t.Errorf("person-chain of an empty window says why on stderr: exit %d\n%s", code, errs)
	}
	var v blocks.PersonChainView
	if err := json.Unmarshal([]byte(pc), &v); err != nil || len(v.Blocks) != 0 {
		t.Fatalf("person-chain of an empty window: %v\n%s", err, pc)
	}
	out, errs, code := run(t, "validate", "check-person-chain", writeFile(t, "empty.json", pc))
	if code != 1 || strings.Contains(out, "ok") || !strings.HasPrefix(out, "NOTHING CHECKED: no person block of pseudonym "+v.Pseudonym[:16]) ||
		!strings.Contains(out, "from 2020-02-01T00:00:00+08:00 to 2020-02-02T23:59:59+08:00") {
		t.Errorf("check-person-chain of nothing: exit %d\n%s%s", code, out, errs)
	}
}
