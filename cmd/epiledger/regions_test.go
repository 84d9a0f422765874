package main_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// regions is a hierarchy of solo chains for the process tests of issue
// 15, each chain its own node process: the nation, Jiangsu, and its
// cities Nanjing and Suzhou, linked both ways, with a relay key granted
// the role relay on each.
type regions struct {
	t          *testing.T
	root       string
	dirs, urls map[string]string
	keys, pubs map[string]string // key files and public keys, by name
}

// regionChains are the chains of newRegions, parents first.
var regionChains = []struct{ name, region, parent string }{
	{"national", "000000", ""}, {"jiangsu", "320000", "national"}, {"nanjing", "320100", "jiangsu"}, {"suzhou", "320500", "jiangsu"},
}

// newRegions initialises and starts the chains: initArgs adds flags to
// each chain's init, and prepare runs on each home before its node starts
// (an import, say).
func newRegions(t *testing.T, initArgs []string, prepare func(chain, dir string)) *regions {
	t.Helper()
	r := &regions{t: t, root: t.TempDir(), dirs: map[string]string{}, urls: map[string]string{}, keys: map[string]string{}, pubs: map[string]string{}}
	for _, c := range regionChains {
		r.dirs[c.name] = filepath.Join(r.root, c.name)
		mustRun(t, append([]string{"init", "--home", r.dirs[c.name], "--chain-id", c.name, "--region", c.region}, initArgs...)...)
		if prepare != nil {
			prepare(c.name, r.dirs[c.name])
		}
		r.urls[c.name] = startNode(t, r.dirs[c.name]).url
	}
	r.keygen("relay")
	for _, c := range regionChains {
		r.grant(c.name, "relay", "relay")
	}
	for _, c := range regionChains {
		if c.parent != "" {
			mustRun(t, "child", "register", "--home", r.dirs[c.parent], "--node", r.urls[c.parent], "--genesis", filepath.Join(r.dirs[c.name], "genesis.json"))
			mustRun(t, "parent", "register", "--home", r.dirs[c.name], "--node", r.urls[c.name], "--genesis", filepath.Join(r.dirs[c.parent], "genesis.json"))
		}
	}
	return r
}

// keygen makes key name (a file under the test's directory) and returns
// its public key.
func (r *regions) keygen(name string) string {
	r.t.Helper()
	r.keys[name] = filepath.Join(r.root, name+".key")
	r.pubs[name] = strings.TrimSpace(mustRun(r.t, "keygen", "--out", r.keys[name]))
	return r.pubs[name]
}

// grant gives key name (made by keygen) role on chain.
func (r *regions) grant(chain, name, role string) {
	r.t.Helper()
	mustRun(r.t, "role", "grant", "--home", r.dirs[chain], "--node", r.urls[chain], "--key", r.pubs[name], "--role", role, "--name", role+" of "+chain)
}

// carry anchors from's head into to and relays its intelligence (and
// grants, going down) there, returning the relay's report.
func (r *regions) carry(from, to string) string {
	r.t.Helper()
	mustRun(r.t, "anchor", "relay", "--home", r.dirs[from], "--node", r.urls[from], "--to", r.urls[to], "--relay-key", r.keys["relay"], "--once")
	return mustRun(r.t, "intel", "relay", "--node", r.urls[from], "--to", r.urls[to], "--relay-key", r.keys["relay"])
}

// txOf is the first transaction id in a command's output.
func (r *regions) txOf(out string) string {
	r.t.Helper()
	m := regexp.MustCompile(`[0-9a-f]{64}`).FindString(out)
	if m == "" {
		r.t.Fatalf("no transaction in %q", out)
	}
	return m
}
