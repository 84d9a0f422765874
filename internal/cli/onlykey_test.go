package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInvestigatorWithOnlyTheKey: with --node and --as, an investigator's
// and an auditor's commands need nothing but the key file: no home, no
// authority key, no secret (issue 12, point 1). Each runs with --home
// naming a directory that holds only the key.
func TestInvestigatorWithOnlyTheKey(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir)
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", world))
	desk := filepath.Join(d, "investigator-desk")
	if err := os.Mkdir(desk, 0o700); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(desk, "investigator.key")
	pub := strings.TrimSpace(mustRun(t, "keygen", "--out", key))
	mustRun(t, "role", "grant", "--home", dir, "--key", pub, "--role", "investigator", "--name", "CDC 17")
	auditDesk := filepath.Join(d, "auditor-desk")
	if err := os.Mkdir(auditDesk, 0o700); err != nil {
		t.Fatal(err)
	}
	auditKey := filepath.Join(auditDesk, "auditor.key")
	pub = strings.TrimSpace(mustRun(t, "keygen", "--out", auditKey))
	mustRun(t, "role", "grant", "--home", dir, "--key", pub, "--role", "auditor", "--name", "auditor 1")
	url, stop := startNode(t, dir)
	defer stop()

	person := []string{"--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20"}
	for _, args := range [][]string{
		append([]string{"trace", "trajectory"}, person...),
		append([]string{"trace", "contacts"}, person...),
		append([]string{"trace", "follow-up"}, person...),
		append([]string{"trace", "chain", "--depth", "2"}, person...),
		{"trace", "cases"},
		{"trace", "clusters", "--from", "2020-01-19", "--to", "2020-01-21"},
		{"trace", "risk-sites", "--from", "2020-01-19", "--to", "2020-01-21"},
		append([]string{"validate", "decisions"}, person...),
		append([]string{"validate", "person-chain"}, person...),
	} {
		args = append(args, "--home", desk, "--node", url, "--as", key)
		out, errs, code := run(t, args...)
		if code != 0 || out == "" {
			t.Errorf("%s from a directory holding only the key: exit %d\n%s%s", strings.Join(args[:2], " "), code, out, errs)
		}
	}
	for _, args := range [][]string{{"audit", "list"}, {"role", "list"}} {
		args = append(args, "--home", auditDesk, "--node", url, "--as", auditKey)
		out, errs, code := run(t, args...)
		if code != 0 || !strings.Contains(out, "CDC 17") {
			t.Errorf("%s from a directory holding only the auditor's key: exit %d\n%s%s", strings.Join(args[:2], " "), code, out, errs)
		}
	}
	for _, dir := range []string{desk, auditDesk} {
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("%s holds %d files, want only the key", dir, len(entries))
		}
	}
}
