package cli_test

import (
	"bytes"
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
		"--certificate", "国械注准20203140001", "--place", "30.6215,114.2733", "--item", "urn:epc:id:sgtin:0614141.107346.A1", "--item", "5000*"+lotL7)
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"supply", "commission", "--node", url, "--key", keys["distributor"], "--expiry", "2025-01-31", "--item", "01/10614141073464/21/B1"}, "manufacturer"},
		{[]string{"supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["distributor"], "--item", "5001*" + lotL7}, "more out than in"},
		{[]string{"supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["cdc"], "--item", boxA1}, "to"},
		{[]string{"supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["distributor"], "--item", "01/10614141073465/21/A1"}, "gtin"},
		{[]string{"supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["distributor"], "--item", "2*" + boxA1}, "a serial is one item"},
		{[]string{"supply", "observe", "--node", url, "--key", keys["factory"], "--item", "urn:epc:id:sgln:0614141.00777.0"}, "names no item"},
		{[]string{"supply", "observe", "--node", url, "--key", keys["factory"], "--item", boxA1, "--place", "91,114"}, "--place"},
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
	// A short delivery: 90 of the 100 units first, the box and the rest
	// later; more than is in transit is refused.
	if _, errs, code := run(t, "supply", "receive", on, "--node", url, "--key", keys["clinic"], "--item", "101*"+lotL7); code == 0 || !strings.Contains(errs, "in transit") {
		t.Errorf("more received than shipped: exit %d %s", code, errs)
	}
	mustRun(t, "supply", "receive", on, "--node", url, "--key", keys["clinic"], "--item", "90*"+lotL7)
	if out := mustRun(t, "supply", "check", lotL7, "--node", url); !strings.Contains(out, "receive    by clinic, 90 unit(s)") || !strings.Contains(out, "now: 90 unit(s) held by clinic") {
		t.Errorf("after a short delivery:\n%s", out)
	}
	// Six of the ten still in transit were lost: the distributor takes
	// them back (the clinic may not); the clinic receives the rest.
	if _, errs, code := run(t, "supply", "void", on, "--node", url, "--key", keys["clinic"]); code == 0 || !strings.Contains(errs, "shipped it") {
		t.Errorf("voided by the receiver: exit %d %s", code, errs)
	}
	mustRun(t, "supply", "void", on, "--node", url, "--key", keys["distributor"], "--item", "6*"+lotL7)
	mustRun(t, "supply", "receive", on, "--node", url, "--key", keys["clinic"], "--place", "30.60,114.26")
	if _, errs, code := run(t, "supply", "void", on, "--node", url, "--key", keys["distributor"]); code == 0 || !strings.Contains(errs, "nothing of the shipment is in transit") {
		t.Errorf("a closed shipment voided: exit %d %s", code, errs)
	}
	mustRun(t, "supply", "consume", "--node", url, "--key", keys["clinic"], "--item", boxA1, "--item", "30*"+lotL7)
	mustRun(t, "supply", "observe", "--node", url, "--key", keys["clinic"], "--item", "https://id.gs1.org/01/10614141073464/21/FAKE9")

	out := mustRun(t, "supply", "check", "https://id.gs1.org/01/10614141073464/21/A1", "--node", url)
	for _, want := range []string{"made by factory", "GB 19083-2010", "commission by factory at 30.62,114.27", "ship       by factory to distributor", "receive    by clinic at 30.60,114.26, 1 unit(s)",
		"consume    by clinic", "now: consumed", "ok: 6 step(s) proven"} {
		if !strings.Contains(out, want) {
			t.Errorf("check of the box: no %q in\n%s", want, out)
		}
	}
	out = mustRun(t, "supply", "check", lotL7, "--node", url)
	for _, want := range []string{"5000 unit(s)", "void       by distributor, 6 unit(s)", "now: 4400 unit(s) held by factory", "now: 506 unit(s) held by distributor", "now: 64 unit(s) held by clinic"} {
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
	v := savedAnswer(t, saved)
	for _, tc := range []struct {
		name, want string
		tamper     func(m map[string]any)
	}{
		{"untouched", "ok: 1 step(s)", func(m map[string]any) {}},
		{"signal removed", "signals", func(m map[string]any) { m["signals"] = []any{} }},
		{"said to be made", "commissioned", func(m map[string]any) { m["commissioned"] = true }},
		{"proof removed", "proofs", func(m map[string]any) { m["proofs"] = []any{} }},
		{"step relabelled", "receive by", func(m map[string]any) { m["events"] = withEvent(m, "step", "receive") }},
		{"place added", "30.00,114.00", func(m map[string]any) { m["events"] = withEvent(m, "place", "30.00,114.00") }},
		{"signer renamed", "observe by", func(m map[string]any) { m["events"] = withEvent(m, "by", map[string]any{"key": pubs["cdc"]}) }},
		{"units inflated", "5000 unit(s)", func(m map[string]any) { m["events"] = withEvent(m, "units", 5000) }},
		{"said to be carried", "carried true", func(m map[string]any) { m["events"] = withEvent(m, "carried", true) }},
	} {
		m := map[string]any{}
		for k, x := range v {
			m[k] = x
		}
		tc.tamper(m)
		raw, _ := json.Marshal(m)
		out, _, code := run(t, "supply", "check", "--file", writeFile(t, "tampered.json", string(raw)))
		if tc.name == "untouched" {
			if code != 0 || !strings.Contains(out, tc.want) {
				t.Errorf("re-encoded but untouched: exit %d %s", code, out)
			}
			continue
		}
		if code != 1 || !strings.HasPrefix(out, "INVALID") || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d %s", tc.name, code, out)
		}
	}
	if _, errs, code := run(t, "supply", "check", "01/10614141073464/21/A 1", "--node", url); code == 0 || !strings.Contains(errs, "serial") {
		t.Errorf("a code with a space: exit %d %s", code, errs)
	}
	// Ten masks used, then ten more, in the same second: two steps, not
	// a replay.
	for i := 0; i < 2; i++ {
		mustRun(t, "supply", "consume", "--node", url, "--key", keys["clinic"], "--item", "10*"+lotL7, "--time", "2020-01-23T10:00:00+08:00")
	}
	if out := mustRun(t, "supply", "check", lotL7, "--node", url); !strings.Contains(out, "now: 44 unit(s) held by clinic") {
		t.Errorf("after two identical consumptions:\n%s", out)
	}
}

// TestImportEPCIS (issue 17): GS1's own EPCIS 2.0 example (a query
// document: two boxes shipped under a purchase order, one received)
// imports as supply steps, each event by the custodian whose step it is,
// and reads back with supply check; what the ledger cannot hold or
// refuses is reported per event.
func TestImportEPCIS(t *testing.T) {
	t.Parallel()
	_, url, keys, pubs := jianghan(t, map[string]string{"factory": "manufacturer", "distributor": "distributor"})
	const doc = "../epcis/testdata/EPCISQueryDocument.jsonld"
	mustRun(t, "supply", "commission", "--node", url, "--key", keys["factory"], "--expiry", "2025-01-31",
		"--item", "urn:epc:id:sgtin:0614141.107346.2017", "--item", "urn:epc:id:sgtin:0614141.107346.2018")
	out := mustRun(t, "import", "--format", "epcis", "--node", url, "--as", keys["factory"], "--to", pubs["distributor"], doc)
	m := regexp.MustCompile(`event 0: ship of 2 item\(s\): tx ([0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "2 events: 1 accepted, 1 rejected") || !strings.Contains(out, "event 1: ") {
		t.Fatalf("the shipper's import:\n%s", out)
	}
	shipTx := m[1]
	// GS1's receiving lists one of the two boxes shipped: a short
	// delivery, that box received, the other still in transit.
	out = mustRun(t, "import", "--format", "epcis", "--node", url, "--as", keys["distributor"], doc)
	if !strings.Contains(out, "2 events: 1 accepted, 1 rejected") || !strings.Contains(out, "event 1: receive of 1 item(s)") {
		t.Errorf("the receiver's import:\n%s", out)
	}
	for code, wants := range map[string][]string{
		"urn:epc:id:sgtin:0614141.107346.2018": {"2005-04-05T10:33:31+08:00  receive    by distributor", "now: 1 unit(s) held by distributor", "ok: 3 step(s)"},
		"01/10614141073464/21/2017":            {"now: in transit", "ok: 2 step(s)"},
	} {
		out = mustRun(t, "supply", "check", code, "--node", url)
		for _, want := range append(wants, "2005-04-04T10:33:31+08:00  ship       by factory to distributor") {
			if !strings.Contains(out, want) {
				t.Errorf("check of %s: no %q in\n%s", code, want, out)
			}
		}
	}
	// The rest received, as the CLI does it.
	mustRun(t, "supply", "receive", shipTx, "--node", url, "--key", keys["distributor"])
	if out := mustRun(t, "supply", "check", "01/10614141073464/21/2017", "--node", url); !strings.Contains(out, "now: 1 unit(s) held by distributor") {
		t.Errorf("after the receipt:\n%s", out)
	}
	// GS1's receiving of 200 kilograms: not units, reported.
	out = mustRun(t, "import", "--format", "epcis", "--node", url, "--as", keys["distributor"], "../epcis/testdata/Example_9.6.2-ObjectEvent.jsonld")
	if !strings.Contains(out, "1 events: 0 accepted, 1 rejected") || !strings.Contains(out, "200 KGM: the ledger counts units") {
		t.Errorf("kilograms:\n%s", out)
	}
	if _, errs, code := run(t, "import", "--format", "epcis", "--node", url, doc); code == 0 || !strings.Contains(errs, "--as") {
		t.Errorf("no custodian: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "import", "--format", "epcis", "--node", url, "--as", keys["factory"], writeFile(t, "x.json", `{"type":"Nope"}`)); code == 0 || !strings.Contains(errs, "type") {
		t.Errorf("not a document: exit %d %s", code, errs)
	}
}

// TestNeedsScenario (issue 17, January 2020): a fever-clinic hospital
// declares a critical need of N95 masks; the Red Cross, given 20,000 by a
// factory, allocates it 3,000 and a hospital that takes no fever
// patients 16,000; anyone sees the needs beside the allocations, and the
// second allocation flagged.
func TestNeedsScenario(t *testing.T) {
	t.Parallel()
	_, url, keys, pubs := jianghan(t, map[string]string{"factory": "manufacturer", "red-cross": "charity", "union": "hospital", "ortho": "hospital"})
	txOf := func(out string) string { return regexp.MustCompile(`tx ([0-9a-f]{64})`).FindStringSubmatch(out)[1] }
	const n95 = "01/10614141073464/10/N95-2001"
	mustRun(t, "supply", "need", "--node", url, "--key", keys["union"], "--gtin", "10614141073464", "--units", "100000", "--urgency", "critical", "--fever-clinic")
	if _, errs, code := run(t, "supply", "need", "--node", url, "--key", keys["red-cross"], "--gtin", "10614141073464", "--units", "5"); code == 0 || !strings.Contains(errs, "hospital") {
		t.Errorf("a need declared by the charity: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "supply", "need", "--node", url, "--key", keys["union"], "--gtin", "10614141073464", "--units", "5", "--urgency", "soon"); code == 0 || !strings.Contains(errs, "urgency") {
		t.Errorf("an unknown urgency: exit %d %s", code, errs)
	}
	mustRun(t, "supply", "commission", "--node", url, "--key", keys["factory"], "--expiry", "2025-01-31", "--item", "20000*"+n95)
	gift := txOf(mustRun(t, "supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["red-cross"], "--item", "20000*"+n95))
	mustRun(t, "supply", "receive", gift, "--node", url, "--key", keys["red-cross"])
	mustRun(t, "supply", "ship", "--node", url, "--key", keys["red-cross"], "--to", pubs["union"], "--item", "3000*"+n95)
	mustRun(t, "supply", "ship", "--node", url, "--key", keys["red-cross"], "--to", pubs["ortho"], "--item", "16000*"+n95)
	out := mustRun(t, "supply", "needs", "--node", url, "--gtin", "10614141073464")
	for _, want := range []string{
		"union     yes           critical  100000  3000",
		"ortho     no            -         0       16000",
		"FLAG no-declared-need: 16000 unit(s) to a hospital that declared no need of the product",
		"FLAG fever-clinic-unmet: a designated fever clinic's critical need is unmet: 3000 of 100000 unit(s) allocated",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("needs: no %q in\n%s", want, out)
		}
	}
	if strings.Count(out, "FLAG") != 2 {
		t.Errorf("needs: the 3,000 to the fever clinic flagged too:\n%s", out)
	}
	if _, errs, code := run(t, "supply", "needs", "--node", url, "--gtin", "123"); code == 0 || !strings.Contains(errs, "--gtin") {
		t.Errorf("a bad GTIN: exit %d %s", code, errs)
	}
}

// withEvent is the answer's events with the first's field set to v.
func withEvent(m map[string]any, field string, v any) []any {
	evs := m["events"].([]any)
	first := map[string]any{}
	for k, x := range evs[0].(map[string]any) {
		first[k] = x
	}
	first[field] = v
	return append([]any{first}, evs[1:]...)
}

// TestSupplyTransformFlow: a kit maker turns reagent and swabs into test
// kits through the CLI and through an EPCIS TransformationEvent; a kit's
// check says what it was made from, and the reagent's where it went.
func TestSupplyTransformFlow(t *testing.T) {
	t.Parallel()
	_, url, keys, _ := jianghan(t, map[string]string{"kits": "manufacturer"})
	const reagent, swabs, kits = "01/10614141073464/10/R7", "01/10614141073464/10/S2", "01/10614141073464/10/KIT1"
	mustRun(t, "supply", "commission", "--node", url, "--key", keys["kits"], "--expiry", "2021-01-31", "--item", "1000*"+reagent, "--item", "1000*"+swabs)
	mustRun(t, "supply", "transform", "--node", url, "--key", keys["kits"], "--item", "100*"+reagent, "--item", "100*"+swabs,
		"--output", "100*"+kits, "--expiry", "2021-06-30", "--place", "30.59,114.31")
	if _, errs, code := run(t, "supply", "transform", "--node", url, "--key", keys["kits"], "--item", "100*"+reagent, "--expiry", "2021-06-30"); code == 0 || !strings.Contains(errs, "output") {
		t.Errorf("a transformation making nothing: exit %d %s", code, errs)
	}
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",
"creationDate":"2020-02-01T08:00:00+08:00","epcisBody":{"eventList":[{"type":"TransformationEvent","eventTime":"2020-02-01T08:00:00+08:00",
"eventTimeZoneOffset":"+08:00","eventID":"urn:uuid:kits-2","bizStep":"assembling",
"inputQuantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.R7","quantity":200},{"epcClass":"urn:epc:class:lgtin:0614141.107346.S2","quantity":200}],
"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.KIT1","quantity":200}],"ilmd":{"itemExpirationDate":"2021-06-30"}}]}}`
	if out := mustRun(t, "import", "--format", "epcis", "--node", url, "--as", keys["kits"], writeFile(t, "kits.jsonld", doc)); !strings.Contains(out, "1 accepted") {
		t.Errorf("the import:\n%s", out)
	}
	out := mustRun(t, "supply", "check", kits, "--node", url)
	for _, want := range []string{"transform  by kits at 30.59,114.31, made from 100*" + reagent + " and 100*" + swabs + ", 100 unit(s)",
		"made from 200*" + reagent, "now: 300 unit(s) held by kits", "ok: 2 step(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("check of the kits: no %q in\n%s", want, out)
		}
	}
	if out := mustRun(t, "supply", "check", reagent, "--node", url); !strings.Contains(out, "now: 700 unit(s) held by kits") {
		t.Errorf("check of the reagent:\n%s", out)
	}
}

// TestSupplyPackFlow: boxes packed on a pallet (an SSCC) travel with it
// through the CLI: a box's check says it is on the pallet and lists the
// pallet's shipment among its steps, the pallet's check what it holds;
// unpacked, the box is the distributor's; a box packed cannot be shipped
// alone.
func TestSupplyPackFlow(t *testing.T) {
	t.Parallel()
	_, url, keys, pubs := jianghan(t, map[string]string{"factory": "manufacturer", "distributor": "distributor"})
	const a1, a2, pal = "01/10614141073464/21/A1", "01/10614141073464/21/A2", "00/106141412345678908"
	txOf := func(out string) string { return regexp.MustCompile(`tx ([0-9a-f]{64})`).FindStringSubmatch(out)[1] }
	mustRun(t, "supply", "commission", "--node", url, "--key", keys["factory"], "--expiry", "2025-01-31", "--item", a1, "--item", a2)
	mustRun(t, "supply", "pack", "--node", url, "--key", keys["factory"], "--into", "urn:epc:id:sscc:0614141.1234567890", "--item", a1, "--item", a2)
	if _, errs, code := run(t, "supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["distributor"], "--item", a1); code == 0 || !strings.Contains(errs, "packed in "+pal) {
		t.Errorf("a packed box shipped alone: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "supply", "pack", "--node", url, "--key", keys["factory"], "--into", "00/106141412345678909", "--item", a1); code == 0 || !strings.Contains(errs, "SSCC") {
		t.Errorf("an SSCC with a wrong check digit: exit %d %s", code, errs)
	}
	// A refusal names the flag that gave the field.
	for _, bad := range []struct{ args []string }{
		{[]string{"supply", "pack", "--into", a2, "--item", a2}},
		{[]string{"supply", "pack", "--into", "01/10614141073464/10/L7", "--item", a2}},
	} {
		if _, errs, code := run(t, append(bad.args, "--node", url, "--key", keys["factory"])...); code == 0 || !strings.Contains(errs, "--into: ") {
			t.Errorf("%v: exit %d %s, want the error to name --into", bad.args, code, errs)
		}
	}
	if _, errs, code := run(t, "supply", "void", strings.Repeat("0", 64), "--node", url, "--key", keys["factory"]); code == 0 || !strings.Contains(errs, "SHIPMENT: ") {
		t.Errorf("a void of no shipment: exit %d %s", code, errs)
	}
	ship := txOf(mustRun(t, "supply", "ship", "--node", url, "--key", keys["factory"], "--to", pubs["distributor"], "--item", pal))
	mustRun(t, "supply", "receive", ship, "--node", url, "--key", keys["distributor"])
	out := mustRun(t, "supply", "check", a1, "--node", url)
	for _, want := range []string{"pack       by factory", "ship       by factory to distributor", "receive    by distributor", "now: packed in " + pal, "ok: 4 step(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("check of the box: no %q in\n%s", want, out)
		}
	}
	if out := mustRun(t, "supply", "check", "https://id.gs1.org/00/106141412345678908", "--node", url); !strings.Contains(out, "now: holds 2 item(s): "+a1+", "+a2) ||
		!strings.Contains(out, "now: 1 unit(s) held by distributor") {
		t.Errorf("check of the pallet:\n%s", out)
	}
	mustRun(t, "supply", "unpack", "--node", url, "--key", keys["distributor"], "--from", pal)
	if out := mustRun(t, "supply", "check", a2, "--node", url); !strings.Contains(out, "now: 1 unit(s) held by distributor") || strings.Contains(out, "packed in") {
		t.Errorf("check of the box unpacked:\n%s", out)
	}
}

// TestSupplyNestingFlow: a box and units of a lot in a case, the case
// and more units on a pallet, through the CLI; supply check says where
// each is (the box in the case on the pallet; the lot's units in each);
// an answer that moves them is INVALID.
func TestSupplyNestingFlow(t *testing.T) {
	t.Parallel()
	_, url, keys, pubs := jianghan(t, map[string]string{"factory": "manufacturer", "distributor": "distributor"})
	const a1, a2, cs, l7, pal = "01/10614141073464/21/A1", "01/10614141073464/21/A2", "01/10614141073464/21/CASE1", "01/10614141073464/10/L7", "00/106141412345678908"
	factory := []string{"--node", url, "--key", keys["factory"]}
	mustRun(t, append([]string{"supply", "commission", "--expiry", "2025-01-31", "--item", a1, "--item", a2, "--item", cs, "--item", "300*" + l7}, factory...)...)
	mustRun(t, append([]string{"supply", "pack", "--into", cs, "--item", a1, "--item", "200*" + l7}, factory...)...)
	mustRun(t, append([]string{"supply", "pack", "--into", pal, "--item", cs, "--item", a2, "--item", "50*" + l7}, factory...)...)
	if _, errs, code := run(t, append([]string{"supply", "unpack", "--from", cs, "--item", a1}, factory...)...); code == 0 || !strings.Contains(errs, "packed in "+pal) {
		t.Errorf("a box taken out of a case on the pallet: exit %d %s", code, errs)
	}
	ship := regexp.MustCompile(`tx ([0-9a-f]{64})`).FindStringSubmatch(mustRun(t, append([]string{"supply", "ship", "--to", pubs["distributor"], "--item", pal}, factory...)...))[1]
	mustRun(t, "supply", "receive", ship, "--node", url, "--key", keys["distributor"])
	saved := writeFile(t, "box.json", "")
	for code, wants := range map[string][]string{
		a1:  {"now: packed in " + cs + ", in " + pal, "ship       by factory to distributor", "ok: 5 step(s)"},
		l7:  {"now: 200 unit(s) packed in " + cs, "now: 50 unit(s) packed in " + pal, "now: 50 unit(s) held by factory"},
		pal: {"now: holds 3 item(s): 50*" + l7 + ", " + a2 + ", " + cs, "now: 1 unit(s) held by distributor"},
		cs:  {"now: packed in " + pal, "now: holds 2 item(s): 200*" + l7 + ", " + a1},
	} {
		out := mustRun(t, "supply", "check", code, "--node", url, "--save", saved)
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("check of %s: no %q in\n%s", code, want, out)
			}
		}
		if code != a1 {
			continue
		}
		// The box said to be on the pallet only: INVALID.
		v := savedAnswer(t, saved)
		v["inside"], v["within"] = pal, []any{}
		raw, _ := json.Marshal(v)
		if out, _, code := run(t, "supply", "check", "--file", writeFile(t, "moved.json", string(raw))); code != 1 || !strings.Contains(out, "container") {
			t.Errorf("a box moved out of its case: exit %d %s", code, out)
		}
	}
	// The case off the pallet, with what it holds; then the box out of
	// the case.
	mustRun(t, "supply", "unpack", "--node", url, "--key", keys["distributor"], "--from", pal, "--item", cs)
	mustRun(t, "supply", "unpack", "--node", url, "--key", keys["distributor"], "--from", cs, "--item", a1)
	if out := mustRun(t, "supply", "check", l7, "--node", url); !strings.Contains(out, "now: 200 unit(s) packed in "+cs) || !strings.Contains(out, "now: 50 unit(s) packed in "+pal) {
		t.Errorf("check of the lot:\n%s", out)
	}
	if out := mustRun(t, "supply", "check", a1, "--node", url); !strings.Contains(out, "now: 1 unit(s) held by distributor") || strings.Contains(out, "packed in") {
		t.Errorf("check of the box out of its case:\n%s", out)
	}
}

// savedAnswer reads a node's saved answer with its numbers as written (a
// header's time in nanoseconds is no float64), so that a test's tamper is
// all that differs when it is written back.
func savedAnswer(t *testing.T, path string) map[string]any {
	t.Helper()
	var v map[string]any
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
