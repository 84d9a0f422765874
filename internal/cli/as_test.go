package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// worldHome creates a home in d with the test world and a key file
// granted role, and returns both paths.
func worldHome(t *testing.T, d, role string) (dir, key string) {
	t.Helper()
	dir, key = filepath.Join(d, "home"), filepath.Join(d, role+".key")
	mustRun(t, "init", "--home", dir)
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", world))
	pub := strings.TrimSpace(mustRun(t, "keygen", "--out", key))
	mustRun(t, "role", "grant", "--home", dir, "--key", pub, "--role", role, "--name", "test "+role)
	return dir, key
}

// auditCount lists the audit trail of the home (locally, as its
// operator) and returns how many records it holds.
func auditCount(t *testing.T, args ...string) int {
	t.Helper()
	var trail struct{ Audits []json.RawMessage }
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"audit", "list", "--json"}, args...)...)), &trail); err != nil {
		t.Fatal(err)
	}
	return len(trail.Audits)
}

// badKeys are --as values that name no usable key: each must stop the
// command (it once printed an error and ran as the chain authority).
func badKeys(t *testing.T, d string) map[string]string {
	t.Helper()
	dir := filepath.Join(d, "a-directory.key")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"missing":     filepath.Join(d, "no-such.key"),
		"unreadable":  dir, // a directory: unreadable as a file, even as root
		"malformed":   writeFile(t, "malformed.key", "not a key\n"),
		"bad seed":    writeFile(t, "seed.key", `{"public_key":"00","seed":"zz"}`),
		"short seed":  writeFile(t, "short.key", `{"public_key":"00","seed":"0011"}`),
		"empty":       writeFile(t, "empty.key", ""),
		"wrong shape": writeFile(t, "shape.key", `["seed"]`),
	}
}

// TestAsKeyFailureStops: an --as key that cannot be loaded stops trace
// contacts, audit list and role grant with exit 1, before anything is
// sent: no read is audited, no role granted.
func TestAsKeyFailureStops(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir, auditor := worldHome(t, d, "auditor")
	fresh := filepath.Join(d, "fresh.key")
	freshPub := strings.TrimSpace(mustRun(t, "keygen", "--out", fresh))
	url, stop := startNode(t, dir)
	defer stop()
	before := auditCount(t, "--home", dir, "--node", url, "--as", auditor)

	for name, bad := range badKeys(t, d) {
		for _, cmd := range [][]string{
			{"trace", "contacts", "--home", dir, "--node", url, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20"},
			{"audit", "list", "--home", dir, "--node", url},
			{"role", "grant", "--home", dir, "--node", url, "--key", freshPub, "--role", "auditor", "--name", "escalated"},
		} {
			out, errs, code := run(t, append(cmd, "--as", bad)...)
			if code == 0 || out != "" || !strings.Contains(errs, "epiledger: error: --as: ") || !strings.Contains(errs, "hint:") {
				t.Errorf("%s key, %s %s: exit %d\nstdout: %s\nstderr: %s", name, cmd[0], cmd[1], code, out, errs)
			}
		}
	}
	if after := auditCount(t, "--home", dir, "--node", url, "--as", auditor); after != before {
		t.Errorf("the refused commands left %d audit records", after-before)
	}
	// The fresh key was granted nothing: it holds no role.
	if _, errs, code := run(t, "audit", "list", "--home", dir, "--node", url, "--as", fresh); code != 1 || !strings.Contains(errs, "holds no role") {
		t.Errorf("the fresh key lists the audit trail: %d %s", code, errs)
	}
}

// TestAsWithoutNode: --as without --node once ran the command on the
// home as its chain authority; now it stops, naming --node, and nothing
// is audited or granted. A command that signs nothing refuses --as.
func TestAsWithoutNode(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir, inv := worldHome(t, d, "investigator")
	fresh := strings.TrimSpace(mustRun(t, "keygen", "--out", filepath.Join(d, "fresh.key")))

	for _, cmd := range [][]string{
		{"trace", "contacts", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20"},
		{"trace", "trajectory", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20"},
		{"audit", "list", "--home", dir},
		{"role", "grant", "--home", dir, "--key", fresh, "--role", "administrator", "--name", "escalated"},
	} {
		out, errs, code := run(t, append(cmd, "--as", inv)...)
		if code != 1 || out != "" || !strings.Contains(errs, "--as signs requests to a node") || !strings.Contains(errs, "hint: add --node URL") {
			t.Errorf("%s %s --as without --node: exit %d\nstdout: %s\nstderr: %s", cmd[0], cmd[1], code, out, errs)
		}
	}
	if n := auditCount(t, "--home", dir); n != 0 {
		t.Errorf("%d reads audited", n)
	}
	out := mustRun(t, "audit", "list", "--home", dir, "--json")
	if strings.Contains(out, "escalated") {
		t.Errorf("a role was granted: %s", out)
	}
	if _, errs, code := run(t, "validate", "probability", "--as", inv); code != 1 || !strings.Contains(errs, "does not sign requests") {
		t.Errorf("validate probability --as: %d %s", code, errs)
	}
}

// TestAsFromEnvironment: EPILEDGER_AS is --as: without --node it stops a
// command that would run as the chain authority, and a command that
// signs nothing ignores it. Not parallel: it sets the environment.
func TestAsFromEnvironment(t *testing.T) {
	d := t.TempDir()
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir)
	t.Setenv("EPILEDGER_AS", filepath.Join(d, "no-such.key"))
	if out, errs, code := run(t, "trace", "contacts", "--home", dir, "--person", "id:420100199001011234"); code != 1 || out != "" ||
		!strings.Contains(errs, "EPILEDGER_AS signs requests to a node") {
		t.Errorf("EPILEDGER_AS without --node: %d\n%s%s", code, out, errs)
	}
	if out := mustRun(t, "validate", "probability", "--z", "1"); !strings.Contains(out, "0.2045873") {
		t.Errorf("validate probability with EPILEDGER_AS set: %s", out)
	}
}
