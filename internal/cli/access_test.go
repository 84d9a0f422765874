package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestAccessThroughCLI: an investigator's key, granted its role, reads
// contacts through a node with --as; the read is refused without a case;
// an auditor lists the trail and finds the read with its case and purpose;
// a site's key cannot read.
func TestAccessThroughCLI(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir)
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", world))
	keys := map[string]string{}
	for _, role := range []string{"investigator", "auditor", "site"} {
		f := filepath.Join(d, role+".key")
		pub := strings.TrimSpace(mustRun(t, "keygen", "--out", f))
		mustRun(t, "role", "grant", "--home", dir, "--key", pub, "--role", role, "--name", "test "+role)
		keys[role] = f
	}
	url, stop := startNode(t, dir)
	defer stop()

	q := []string{"trace", "contacts", "--home", dir, "--node", url, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20"}
	out := mustRun(t, append(q, "--as", keys["investigator"], "--json")...)
	if !strings.Contains(out, `"contacts"`) {
		t.Fatalf("investigator read: %s", out)
	}
	if _, errs, code := runBare(t, append(q, "--as", keys["investigator"])...); code != 1 || !strings.Contains(errs, "invalid: --case: a read of personal data names its case") || strings.Contains(errs, "Epiledger-Case") || !strings.Contains(errs, "hint: a read of personal data is audited with its case and purpose: --case") {
		t.Fatalf("read without a case: %d %s", code, errs)
	}
	if _, errs, code := run(t, append(q, "--as", keys["site"])...); code != 1 || !strings.Contains(errs, "forbidden") || strings.Contains(errs, "420100199001011234") {
		t.Fatalf("site reads personal data: %d %s", code, errs)
	}
	var trail struct {
		Audits []struct{ Name, Role, Case, Purpose, Route, Pseudonym string }
	}
	out = mustRun(t, "audit", "list", "--home", dir, "--node", url, "--as", keys["auditor"], "--json")
	if err := json.Unmarshal([]byte(out), &trail); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range trail.Audits {
		if a.Name == "test investigator" && a.Case == "case-test" && a.Purpose == "testing" && a.Route == "POST /v1/trace/contacts" && a.Pseudonym != "" {
			found = true
		}
	}
	if !found || strings.Contains(out, "420100199001011234") {
		t.Fatalf("audit trail: %s", out)
	}
	if _, errs, code := run(t, "audit", "list", "--home", dir, "--node", url, "--as", keys["investigator"]); code != 1 || !strings.Contains(errs, "forbidden") {
		t.Fatalf("an investigator lists the audit trail: %d %s", code, errs)
	}
}
