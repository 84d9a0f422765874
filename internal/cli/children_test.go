package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAnchorRelay: a district's chain (Jiang'an, 420102) is registered on
// its city's (Wuhan, 420100) from its genesis file; its relay anchors its
// head into the city's node, again after new blocks, and says when there
// is nothing new; a relay signing with another chain's authority, a
// chain the parent does not know, or a key without the role relay is
// refused.
func TestAnchorRelay(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	city, district := filepath.Join(root, "wuhan"), filepath.Join(root, "jiangan")
	mustRun(t, "init", "--home", city, "--chain-id", "wuhan-1", "--region", "420100")
	mustRun(t, "init", "--home", district, "--chain-id", "jiangan-1", "--region", "420102")
	mustRun(t, "import", "--home", district, "-q", writeFile(t, "w.ndjson", world))
	cityURL, stopCity := startNode(t, city)
	defer stopCity()
	districtURL, stopDistrict := startNode(t, district)
	defer stopDistrict()

	relayKey := filepath.Join(root, "relay.key")
	pub := strings.TrimSpace(mustRun(t, "keygen", "--out", relayKey))
	relay := []string{"anchor", "relay", "--home", district, "--node", districtURL, "--parent", cityURL, "--relay-key", relayKey, "--once"}

	// A key without the role relay, then a chain not yet registered.
	if _, errs, code := run(t, relay...); code == 0 || !strings.Contains(errs, "no role") {
		t.Errorf("relay with a key holding no role: exit %d %s", code, errs)
	}
	mustRun(t, "role", "grant", "--home", city, "--node", cityURL, "--key", pub, "--role", "relay", "--name", "Jiang'an relay")
	if _, errs, code := run(t, relay...); code == 0 || !strings.Contains(errs, "has not registered chain jiangan-1") {
		t.Errorf("relay before registration: exit %d %s", code, errs)
	}
	out := mustRun(t, "child", "register", "--home", city, "--node", cityURL, "--genesis", filepath.Join(district, "genesis.json"))
	if !strings.Contains(out, "registered child chain jiangan-1 (region 420102)") {
		t.Fatalf("register: %s", out)
	}

	out = mustRun(t, relay...)
	m := regexp.MustCompile(`anchored block (\d+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("relay: %s", out)
	}
	list := mustRun(t, "child", "list", "--home", city, "--node", cityURL)
	if !strings.Contains(list, "jiangan-1\tregion 420102 (district)\tsolo\tanchored to height "+m[1]) {
		t.Errorf("child list after the relay: %s", list)
	}
	if again := mustRun(t, relay...); !strings.Contains(again, "holds block "+m[1]+" already") {
		t.Errorf("a second relay with nothing new: %s", again)
	}
	// An auditor of both chains; its grant on the district is the record
	// proven up to the city below.
	audKey := filepath.Join(root, "auditor.key")
	audPub := strings.TrimSpace(mustRun(t, "keygen", "--out", audKey))
	mustRun(t, "role", "grant", "--home", city, "--node", cityURL, "--key", audPub, "--role", "auditor", "--name", "national auditor")
	grant := mustRun(t, "role", "grant", "--home", district, "--node", districtURL, "--key", audPub, "--role", "auditor", "--name", "national auditor")
	rec := regexp.MustCompile(`grant ([0-9a-f]{64}) committed`).FindStringSubmatch(grant)
	if rec == nil {
		t.Fatalf("grant: %s", grant)
	}
	prove := []string{"tx", "proof", "--node", districtURL, "--as", audKey, "--up", cityURL, rec[1]}
	if _, errs, code := run(t, prove...); code == 0 || !strings.Contains(errs, "no anchor of block") {
		t.Errorf("a proof up before the block is anchored: exit %d %s", code, errs)
	}
	if more := mustRun(t, relay...); !strings.Contains(more, "anchored block ") || strings.Contains(more, "anchored block "+m[1]+" ") {
		t.Errorf("relay after a new block: %s", more)
	}
	upJSON := writeFile(t, "up.json", mustRun(t, prove...))
	if ok := mustRun(t, "tx", "check", upJSON, "--root", filepath.Join(city, "genesis.json")); !strings.Contains(ok, "anchored up 1 level(s)") || !strings.Contains(ok, `of "wuhan-1"`) {
		t.Errorf("tx check of the proof up: %s", ok)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tx", "check", upJSON}, "NOT CHECKED"},
		{[]string{"tx", "check", upJSON, "--root", filepath.Join(district, "genesis.json")}, "INVALID"},
	} {
		if out, _, code := run(t, c.args...); code != 1 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d %s", c.args, code, out)
		}
	}
	raw, _ := os.ReadFile(upJSON)
	tampered := regexp.MustCompile(`"state_hash": "[0-9a-f]{64}"`).ReplaceAllString(string(raw), `"state_hash": "`+strings.Repeat("0", 64)+`"`)
	if out, _, code := run(t, "tx", "check", writeFile(t, "tampered.json", tampered), "--root", filepath.Join(city, "genesis.json")); code != 1 || !strings.Contains(out, "INVALID") {
		t.Errorf("a tampered proof up: exit %d %s", code, out)
	}

	// The district follows its city (step 5): it registers the city as
	// its parent, and the city's relay anchors the city's head there.
	if out := mustRun(t, "parent", "register", "--home", district, "--node", districtURL, "--genesis", filepath.Join(city, "genesis.json")); !strings.Contains(out, "registered parent chain wuhan-1 (region 4201)") {
		t.Errorf("parent register: %s", out)
	}
	if _, errs, code := run(t, "parent", "register", "--home", district, "--node", districtURL, "--genesis", filepath.Join(city, "genesis.json")); code == 0 || !strings.Contains(errs, "already") {
		t.Errorf("a second parent: exit %d %s", code, errs)
	}
	mustRun(t, "role", "grant", "--home", district, "--node", districtURL, "--key", pub, "--role", "relay", "--name", "Wuhan relay")
	if down := mustRun(t, "anchor", "relay", "--home", city, "--node", cityURL, "--to", districtURL, "--relay-key", relayKey, "--once"); !strings.Contains(down, "wuhan-1: anchored block ") || !strings.Contains(down, "into jiangan-1") {
		t.Errorf("the city's relay to the district: %s", down)
	}

	// Another chain that claims the district's chain id: its authority's
	// anchors are refused.
	forger := filepath.Join(root, "forger")
	mustRun(t, "init", "--home", forger, "--chain-id", "jiangan-1", "--region", "420102")
	mustRun(t, "import", "--home", forger, "-q", writeFile(t, "w.ndjson", world))
	forgerURL, stopForger := startNode(t, forger)
	defer stopForger()
	for _, r := range []string{"auditor", "investigator", "site"} {
		mustRun(t, "role", "grant", "--home", forger, "--node", forgerURL, "--key", pub, "--role", r, "--name", "a block ahead")
	}
	if _, errs, code := run(t, "anchor", "relay", "--home", forger, "--node", forgerURL, "--parent", cityURL, "--relay-key", relayKey, "--once"); code == 0 || !strings.Contains(errs, "wrong_signer") {
		t.Errorf("a forged chain's anchor: exit %d %s", code, errs)
	}
}
