package console_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/console"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// TestWords: every word the console asks for (t("key") in app.js, and
// data-i18n in index.html) is in both the English and the Chinese
// dictionaries of i18n.js, and the dictionaries hold the same keys.
func TestWords(t *testing.T) {
	read := func(name string) string {
		b, err := fs.ReadFile(console.Assets(), name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	i18n := read("i18n.js")
	enAt, zhAt := strings.Index(i18n, "var en = {"), strings.Index(i18n, "var zh = {")
	end := strings.Index(i18n, "var dicts")
	if enAt < 0 || zhAt < enAt || end < zhAt {
		t.Fatal("i18n.js: the dictionaries en and zh not found")
	}
	key := regexp.MustCompile(`"([a-z][a-z0-9.]*)":`)
	keys := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, k := range key.FindAllStringSubmatch(s, -1) {
			m[k[1]] = true
		}
		return m
	}
	en, zh := keys(i18n[enAt:zhAt]), keys(i18n[zhAt:end])
	for k := range en {
		if !zh[k] {
			t.Errorf("%q has no Chinese", k)
		}
	}
	for k := range zh {
		if !en[k] {
			t.Errorf("%q has no English", k)
		}
	}
	used := regexp.MustCompile(`\bt\("([a-z][a-z.]*[a-z])"|data-i18n="([a-z.]+)"`)
	for _, name := range []string{"app.js", "index.html"} {
		for _, m := range used.FindAllStringSubmatch(read(name), -1) {
			k := m[1] + m[2]
			if !en[k] {
				t.Errorf("%s asks for %q, which the dictionaries lack", name, k)
			}
		}
	}
	// Keys made at run time: a prefix and a known set of names.
	for _, k := range []string{"status.accepted", "status.pending", "status.rejected", "status.annulled", "status.amended",
		"role.investigator", "role.auditor", "role.administrator", "role.site", "role.hospital", "role.node", "role.authority",
		"level.national", "level.province", "level.city", "level.district",
		"case.suspected", "case.confirmed", "case.recovered", "case.deceased", "case.cleared",
		"view.trajectory", "view.contacts", "view.chain", "view.sources", "view.followup",
		"role.n1", "role.n2", "role.n3", "role.relay", "dim.epidemic", "dim.medical", "dim.government", "dim.public", "dim.opinion",
		"supply.title", "supply.field", "supply.help", "donation.title", "donation.field", "donation.help", "needs.title", "needs.field", "needs.help"} {
		if !en[k] {
			t.Errorf("the dictionaries lack %q", k)
		}
	}
	// The values the supply routes name, each a word of its own (the
	// console's key drops the hyphens: named() in app.js).
	for prefix, values := range map[string][]string{
		"role":    {ledger.RoleManufacturer, ledger.RoleDistributor, ledger.RoleWarehouse, ledger.RoleCharity},
		"item":    {state.ItemActive, state.ItemConsumed, state.ItemDestroyed},
		"step":    ledger.SupplySteps,
		"signal":  state.SignalKinds,
		"dstep":   append([]string{"pledge", "delivered"}, ledger.DonationSteps...),
		"urgency": ledger.Urgencies,
		"flag":    {state.FlagNoNeed, state.FlagOverNeed, state.FlagFeverUnmet},
	} {
		for _, v := range values {
			if k := prefix + "." + strings.ReplaceAll(v, "-", ""); !en[k] {
				t.Errorf("the dictionaries lack %q (for %s %q)", k, prefix, v)
			}
		}
	}
}

// TestVendored: the vendored files are those SHA256SUMS lists (what
// vendor.sh wrote; CI runs vendor.sh again and compares), with their
// licences.
func TestVendored(t *testing.T) {
	sums, err := fs.ReadFile(console.Assets(), "vendor/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		b, err := fs.ReadFile(console.Assets(), "vendor/"+strings.TrimPrefix(name, "./"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s differs from what vendor.sh wrote", name)
		}
		listed++
	}
	files := 0
	fs.WalkDir(console.Assets(), "vendor", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != "vendor/SHA256SUMS" {
			files++
		}
		return err
	})
	if files != listed {
		t.Errorf("vendor/ holds %d files, SHA256SUMS lists %d", files, listed)
	}
	lic, _ := fs.ReadFile(console.Assets(), "vendor/LICENSES.txt")
	for _, p := range []string{"cytoscape 3.35.0", "cytoscape-dagre 4.0.1", "@dagrejs/dagre", "leaflet 1.9.4", "topojson-client 3.1.0", "world-atlas 2.0.2"} {
		if !strings.Contains(string(lic), p) {
			t.Errorf("LICENSES.txt lacks %s", p)
		}
	}
}
