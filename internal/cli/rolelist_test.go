package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRoleList: role list on the home prints the chain authority and
// every granted key with its role, name and grant; a revoked key is gone;
// through a node an auditor gets the same JSON as the home gave, and an
// investigator is refused.
func TestRoleList(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir)
	keys, pubs := map[string]string{}, map[string]string{}
	for _, role := range []string{"investigator", "auditor", "gone"} {
		f := filepath.Join(d, role+".key")
		pubs[role] = strings.TrimSpace(mustRun(t, "keygen", "--out", f))
		granted := role
		if role == "gone" {
			granted = "investigator"
		}
		mustRun(t, "role", "grant", "--home", dir, "--key", pubs[role], "--role", granted, "--name", "test "+role)
		keys[role] = f
	}
	mustRun(t, "role", "grant", "--home", dir, "--key", pubs["gone"], "--role", "none")

	out := mustRun(t, "role", "list", "--home", dir)
	for _, want := range []string{"3 keys hold a role", "KEY  ", "authority", "chain authority", pubs["investigator"] + "  investigator  test investigator", pubs["auditor"] + "  auditor       test auditor"} {
		if !strings.Contains(out, want) {
			t.Errorf("role list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, pubs["gone"]) {
		t.Errorf("a revoked key is listed:\n%s", out)
	}
	local := mustRun(t, "role", "list", "--home", dir, "--json")

	url, stop := startNode(t, dir)
	defer stop()
	if remote := mustRun(t, "role", "list", "--home", dir, "--node", url, "--as", keys["auditor"], "--json"); remote != local {
		t.Errorf("through the node:\n%s\non the home:\n%s", remote, local)
	}
	mustRun(t, "role", "list", "--home", dir, "--node", url)
	if _, errs, code := run(t, "role", "list", "--home", dir, "--node", url, "--as", keys["investigator"]); code != 1 || !strings.Contains(errs, "forbidden") {
		t.Errorf("an investigator lists roles: %d %s", code, errs)
	}
}
