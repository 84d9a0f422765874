package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDonationFlow: a donor pledges money to the Red Cross, which records
// it; the money is received and buys 3,000 N95s, allocated to a fever
// clinic and delivered; the donor follows the gift by its receipt id,
// every step proven; a tampered answer is INVALID; the totals of the
// charity, the hospital and the product are the sum of what they count.
func TestDonationFlow(t *testing.T) {
	t.Parallel()
	dir, url, keys, pubs := jianghan(t, map[string]string{"factory": "manufacturer", "red-cross": "charity", "union": "hospital"})
	txOf := func(out string) string { return regexp.MustCompile(`tx ([0-9a-f]{64})`).FindStringSubmatch(out)[1] }
	idOf := func(out string) string {
		return regexp.MustCompile(`receipt id: ([0-9a-f]{64})`).FindStringSubmatch(out)[1]
	}
	donorKey := filepath.Join(filepath.Dir(dir), "donor.key")
	mustRun(t, "keygen", "--out", donorKey)
	pledgeFile := filepath.Join(filepath.Dir(dir), "pledge.tx")
	id := idOf(mustRun(t, "donate", "pledge", "--node", url, "--key", donorKey, "--charity", pubs["red-cross"], "--amount", "10000",
		"--for", "N95 masks for fever clinics", "--out", pledgeFile))
	if _, errs, code := run(t, "donate", "record", pledgeFile, "--node", url, "--key", keys["union"]); code == 0 || !strings.Contains(errs, "another charity") {
		t.Errorf("recorded by another key: exit %d %s", code, errs)
	}
	if got := idOf(mustRun(t, "donate", "record", pledgeFile, "--node", url, "--key", keys["red-cross"])); got != id {
		t.Errorf("recorded as %s, the donor was told %s", got, id)
	}
	if _, _, code := run(t, "donate", "record", pledgeFile, "--node", url, "--key", keys["red-cross"]); code == 0 {
		t.Error("a pledge recorded twice")
	}
	step := func(args ...string) string {
		return mustRun(t, append([]string{"donate"}, append(args, "--node", url, "--key", keys["red-cross"])...)...)
	}
	step("receive", id, "--amount", "10000")
	if _, errs, code := run(t, "donate", "receive", id, "--amount", "0.01", "--node", url, "--key", keys["red-cross"]); code == 0 || !strings.Contains(errs, "pledged") {
		t.Errorf("more received than pledged: exit %d %s", code, errs)
	}
	for _, bad := range [][]string{{"--amount", "1.234"}, {"--amount", "-5"}, {"--amount", "x"}} {
		if _, errs, code := run(t, append([]string{"donate", "receive", id, "--node", url, "--key", keys["red-cross"]}, bad...)...); code == 0 || !strings.Contains(errs, "--amount") {
			t.Errorf("%v: exit %d %s", bad, code, errs)
		}
	}
	const n95 = "01/10614141073464/10/N95-2001"
	mustRun(t, "supply", "commission", "--node", url, "--key", keys["factory"], "--expiry", "2025-01-31", "--item", "3000*"+n95)
	bought := txOf(mustRun(t, "supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["red-cross"], "--item", "3000*"+n95))
	step("purchase", id, "--amount", "9000", "--shipment", bought)
	mustRun(t, "supply", "receive", bought, "--node", url, "--key", keys["red-cross"])
	alloc := txOf(mustRun(t, "supply", "ship", "--node", url, "--key", keys["red-cross"], "--to", pubs["union"], "--item", "3000*"+n95))
	step("allocate", id, "--shipment", alloc)
	if out := mustRun(t, "donate", "follow", id, "--node", url); !strings.Contains(out, "(in transit)") {
		t.Errorf("before the clinic's receipt:\n%s", out)
	}
	mustRun(t, "supply", "receive", alloc, "--node", url, "--key", keys["union"])
	saved := filepath.Join(filepath.Dir(dir), "gift.json")
	out := mustRun(t, "donate", "follow", id, "--node", url, "--save", saved)
	for _, want := range []string{
		"N95 masks for fever clinics",
		"money: 10000.00 yuan pledged, 10000.00 received, 9000.00 spent, 1000.00 left",
		"10614141073464  0        0         3000    3000       3000",
		"delivered by union",
		"ok: 9 transaction(s) proven in their blocks",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("follow: no %q in\n%s", want, out)
		}
	}
	raw, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	for _, tamper := range []struct{ from, to string }{
		{`"spent":900000`, `"spent":800000`},
		{`"step":"purchase"`, `"step":"receive"`},
		{`"in_transit":0`, `"in_transit":1`},
		{`"units":3000`, `"units":2000`},
	} {
		bad := strings.Replace(string(raw), tamper.from, tamper.to, 1)
		if bad == string(raw) {
			t.Fatalf("%s is not in the answer", tamper.from)
		}
		if out, _, code := run(t, "donate", "follow", "--file", writeFile(t, "bad.json", bad)); code != 1 || !strings.Contains(out, "INVALID") {
			t.Errorf("tampered %s: exit %d\n%s", tamper.from, code, out)
		}
	}
	for _, q := range [][]string{{"--charity", pubs["red-cross"]}, {"--hospital", pubs["union"]}, {"--gtin", "10614141073464"}} {
		out := mustRun(t, append([]string{"donate", "totals", "--node", url, "--check"}, q...)...)
		if !strings.Contains(out, "ok: the totals are the sum of 1 donation(s)") {
			t.Errorf("totals %v:\n%s", q, out)
		}
	}
	if out := mustRun(t, "donate", "totals", "--node", url, "--charity", pubs["red-cross"]); !strings.Contains(out, "1 donation(s); 10000.00 yuan pledged, 10000.00 received, 9000.00 spent") {
		t.Errorf("the charity's totals:\n%s", out)
	}
	for _, bad := range [][]string{
		{"donate", "totals", "--node", url},
		{"donate", "totals", "--node", url, "--gtin", "123"},
		{"donate", "totals", "--node", url, "--charity", "zz"},
		{"donate", "follow", "xyz", "--node", url},
		{"donate", "pledge", "--node", url, "--key", donorKey, "--charity", pubs["red-cross"], "--out", pledgeFile},
		{"donate", "pledge", "--node", url, "--key", donorKey, "--charity", pubs["red-cross"], "--goods", "10614141073465=5", "--out", pledgeFile},
	} {
		if _, errs, code := run(t, bad...); code == 0 || errs == "" {
			t.Errorf("%v: exit %d %s", bad, code, errs)
		}
	}
}
