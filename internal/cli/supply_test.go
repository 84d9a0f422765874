package cli_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestSupplyFlow (issue 17): a mask factory commissions a box and a lot;
// custody passes to a distributor and on to the fever clinic on two
// signatures each; the clinic uses the box and scans a fake; anyone checks
// the codes with their proofs, a tampered answer is INVALID, and what
// breaks conservation or custody is refused.
func TestSupplyFlow(t *testing.T) {
	t.Parallel()
	_, url, keys, pubs := jianghan(t, map[string]string{"factory": "manufacturer", "distributor": "distributor", "clinic": "hospital", "cdc": "investigator"})
	txOf := func(out string) string { return regexp.MustCompile(`tx ([0-9a-f]{64})`).FindStringSubmatch(out)[1] }
	const boxA1, lotL7 = "01/10614141073464/21/A1", "01/10614141073464/10/L7"
	mustRun(t, "supply", "commission", "--node", url, "--key", keys["factory"], "--expiry", "2025-01-31", "--standard", "GB 19083-2010",
		"--certificate", "国械注准20203140001", "--item", "urn:epc:id:sgtin:0614141.107346.A1", "--item", "5000*"+lotL7)
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"supply", "commission", "--node", url, "--key", keys["distributor"], "--expiry", "2025-01-31", "--item", "01/10614141073464/21/B1"}, "manufacturer"},
		{[]string{"supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["distributor"], "--item", "5001*" + lotL7}, "more out than in"},
		{[]string{"supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["cdc"], "--item", boxA1}, "to"},
		{[]string{"supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["distributor"], "--item", "01/10614141073465/21/A1"}, "gtin"},
		{[]string{"supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["distributor"], "--item", "2*" + boxA1}, "a serial is one item"},
		{[]string{"supply", "observe", "--node", url, "--key", keys["factory"], "--item", "urn:epc:id:sscc:0614141.1234567890"}, "names no item"},
	} {
		if _, errs, code := run(t, bad.args...); code == 0 || !strings.Contains(errs, bad.want) {
			t.Errorf("%v: exit %d %s", bad.args[1:], code, errs)
		}
	}
	ship := txOf(mustRun(t, "supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["distributor"], "--item", boxA1, "--item", "600*"+lotL7))
	if _, errs, code := run(t, "supply", "receive", ship, "--node", url, "--key", keys["clinic"]); code == 0 || !strings.Contains(errs, "shipped to") {
		t.Errorf("received by another: exit %d %s", code, errs)
	}
	mustRun(t, "supply", "receive", ship, "--node", url, "--key", keys["distributor"])
	on := txOf(mustRun(t, "supply", "ship", "--node", url, "--key", keys["distributor"], "--to", pubs["clinic"], "--item", boxA1, "--item", "100*"+lotL7))
	mustRun(t, "supply", "receive", on, "--node", url, "--key", keys["clinic"])
	mustRun(t, "supply", "consume", "--node", url, "--key", keys["clinic"], "--item", boxA1, "--item", "30*"+lotL7)
	mustRun(t, "supply", "observe", "--node", url, "--key", keys["clinic"], "--item", "https://id.gs1.org/01/10614141073464/21/FAKE9")

	out := mustRun(t, "supply", "check", "https://id.gs1.org/01/10614141073464/21/A1", "--node", url)
	for _, want := range []string{"made by factory", "GB 19083-2010", "commission", "ship       by factory to distributor", "receive    by clinic, 1 unit(s)",
		"consume    by clinic", "now: consumed", "ok: 6 step(s) proven"} {
		if !strings.Contains(out, want) {
			t.Errorf("check of the box: no %q in\n%s", want, out)
		}
	}
	out = mustRun(t, "supply", "check", lotL7, "--node", url)
	for _, want := range []string{"5000 unit(s)", "now: 4400 unit(s) held by factory", "now: 500 unit(s) held by distributor", "now: 70 unit(s) held by clinic"} {
		if !strings.Contains(out, want) {
			t.Errorf("check of the lot: no %q in\n%s", want, out)
		}
	}
	saved := writeFile(t, "fake.json", "")
	out = mustRun(t, "supply", "check", "01/10614141073464/21/FAKE9", "--node", url, "--save", saved)
	if !strings.Contains(out, "NO MANUFACTURER COMMISSIONED IT") || !strings.Contains(out, "SIGNAL uncommissioned") || !strings.Contains(out, "ok: 1 step(s)") {
		t.Errorf("check of the fake:\n%s", out)
	}
	if out := mustRun(t, "supply", "check", "--file", saved); !strings.Contains(out, "ok: 1 step(s)") {
		t.Errorf("check of the saved answer:\n%s", out)
	}
	// Tampered: the signal taken out, or the fake said to be made.
	var v map[string]any
	b, _ := os.ReadFile(saved)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for name, tamper := range map[string]func(m map[string]any){
		"signal removed":  func(m map[string]any) { m["signals"] = []any{} },
		"said to be made": func(m map[string]any) { m["commissioned"] = true },
		"proof removed":   func(m map[string]any) { m["proofs"] = []any{} },
	} {
		m := map[string]any{}
		for k, x := range v {
			m[k] = x
		}
		tamper(m)
		raw, _ := json.Marshal(m)
		if out, _, code := run(t, "supply", "check", "--file", writeFile(t, "tampered.json", string(raw))); code != 1 || !strings.HasPrefix(out, "INVALID") {
			t.Errorf("%s: exit %d %s", name, code, out)
		}
	}
	if _, errs, code := run(t, "supply", "check", "01/10614141073464/21/A 1", "--node", url); code == 0 || !strings.Contains(errs, "serial") {
		t.Errorf("a code with a space: exit %d %s", code, errs)
	}
}
