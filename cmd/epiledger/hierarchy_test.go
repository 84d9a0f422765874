package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHierarchyProcesses: four regions' chains, each its own node
// process: Jiang'an district (420102) anchors into Wuhan city (420100),
// which anchors into Hubei province (420000), which anchors into the
// national chain. A district record is then proven to a national auditor,
// offline, through the three levels.
func TestHierarchyProcesses(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	must := func(args ...string) string { t.Helper(); return mustRun(t, args...) }
	chains := []struct{ name, id, region string }{{"nation", "cn-1", "000000"}, {"hubei", "hubei-1", "420000"}, {"wuhan", "wuhan-1", "420100"}, {"jiangan", "jiangan-1", "420102"}}
	dirs, urls := map[string]string{}, map[string]string{}
	for _, c := range chains {
		dirs[c.name] = filepath.Join(root, c.name)
		must("init", "--home", dirs[c.name], "--chain-id", c.id, "--region", c.region)
		urls[c.name] = startNode(t, dirs[c.name]).url
	}
	relayKey, audKey := filepath.Join(root, "relay.key"), filepath.Join(root, "auditor.key")
	relayPub := strings.TrimSpace(must("keygen", "--out", relayKey))
	audPub := strings.TrimSpace(must("keygen", "--out", audKey))
	for _, c := range chains {
		must("role", "grant", "--home", dirs[c.name], "--node", urls[c.name], "--key", relayPub, "--role", "relay", "--name", "relay")
	}
	for _, c := range chains {
		if c.name != "jiangan" {
			must("role", "grant", "--home", dirs[c.name], "--node", urls[c.name], "--key", audPub, "--role", "auditor", "--name", "auditor")
		}
	}
	must("child", "register", "--home", dirs["wuhan"], "--node", urls["wuhan"], "--genesis", filepath.Join(dirs["jiangan"], "genesis.json"))
	must("child", "register", "--home", dirs["hubei"], "--node", urls["hubei"], "--genesis", filepath.Join(dirs["wuhan"], "genesis.json"))
	must("child", "register", "--home", dirs["nation"], "--node", urls["nation"], "--genesis", filepath.Join(dirs["hubei"], "genesis.json"))

	// The district's record: the auditor's grant there.
	grant := must("role", "grant", "--home", dirs["jiangan"], "--node", urls["jiangan"], "--key", audPub, "--role", "auditor", "--name", "auditor")
	rec := regexp.MustCompile(`grant ([0-9a-f]{64}) committed`).FindStringSubmatch(grant)
	if rec == nil {
		t.Fatalf("grant: %s", grant)
	}
	relay := func(child, parent string) {
		t.Helper()
		out := must("anchor", "relay", "--home", dirs[child], "--node", urls[child], "--parent", urls[parent], "--relay-key", relayKey, "--once")
		if !strings.Contains(out, "anchored block ") {
			t.Fatalf("relay %s -> %s: %s", child, parent, out)
		}
	}
	relay("jiangan", "wuhan")
	relay("wuhan", "hubei")
	relay("hubei", "nation")

	// To a national auditor: four chains, three anchors.
	up := must("tx", "proof", "--node", urls["jiangan"], "--as", audKey, "--up", urls["wuhan"], "--up", urls["hubei"], "--up", urls["nation"], rec[1])
	file := filepath.Join(root, "up.json")
	if err := os.WriteFile(file, []byte(up), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok := must("tx", "check", file, "--root", filepath.Join(dirs["nation"], "genesis.json")); !strings.Contains(ok, "anchored up 3 level(s)") || !strings.Contains(ok, `of "cn-1"`) {
		t.Errorf("tx check: %s", ok)
	}
	// Neither the city's genesis nor the province's is the top: the proof
	// goes on to the nation.
	for _, c := range []string{"wuhan", "hubei"} {
		if out, _, code := run(t, "tx", "check", file, "--root", filepath.Join(dirs[c], "genesis.json")); code != 1 || !strings.Contains(out, "INVALID") {
			t.Errorf("checked against %s: exit %d %s", c, code, out)
		}
	}
}
