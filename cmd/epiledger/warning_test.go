package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWarningScenario (issue 16's acceptance scenario) on the regions'
// chains, each its own node process: on the Nanjing chain a doctor's first
// reports of three unexplained pneumonias in Jiangning district raise the
// rule's alert in the block of the third; the alert goes up, confirmed by
// each level's N2, to the national chain; the Nanjing CDC assigns it to an
// investigator, who confirms the outbreak; the open statistics show the
// cases, and their proof checks offline.
func TestWarningScenario(t *testing.T) {
	t.Parallel()
	r := newRegions(t, nil, nil)
	must := func(args ...string) string { t.Helper(); return mustRun(t, args...) }
	for _, k := range [][3]string{{"nanjing", "hospital", "hospital"}, {"nanjing", "cdc", "investigator"}, {"nanjing", "field", "investigator"},
		{"nanjing", "nanjing-n2", "n2"}, {"jiangsu", "jiangsu-n2", "n2"}, {"national", "n1", "n1"}} {
		r.keygen(k[1])
		r.grant(k[0], k[1], k[2])
	}
	r.keygen("doctor")
	nj := r.urls["nanjing"]
	must("rule", "set", "--node", nj, "--home", r.dirs["nanjing"], "--name", "pneumonia-3-in-7", "--disease", "pneumonia-unknown",
		"--method", "threshold", "--cases", "3", "--days", "7", "--level", "2")
	// Jiangsu runs the same rule on its level's counts: the districts'
	// figures its cities publish, carried up.
	must("rule", "set", "--node", r.urls["jiangsu"], "--home", r.dirs["jiangsu"], "--name", "province-pneumonia-3-in-7", "--disease", "pneumonia-unknown",
		"--method", "threshold", "--cases", "3", "--days", "7", "--level", "2")
	// And a rule over the province's total, summed over its districts.
	must("rule", "set", "--node", r.urls["jiangsu"], "--home", r.dirs["jiangsu"], "--name", "jiangsu-pneumonia-3-in-7", "--disease", "pneumonia-unknown",
		"--method", "threshold", "--cases", "3", "--days", "7", "--over", "320000", "--level", "2")
	must("doctor", "register", "--node", nj, "--key", r.keys["hospital"], "--doctor", r.pubs["doctor"], "--unit", "320115-jiangning-hospital")
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	for _, id := range []string{"320115196301012345", "320115197002023456", "320115198003034567"} {
		must("card", "report", "--node", nj, "--key", r.keys["doctor"], "--patient", "id:"+id, "--disease", "pneumonia-unknown",
			"--onset", today, "--home", "320115", "--age", "60", "--sex", "m")
	}
	var alerts struct {
		Alerts []struct {
			ID, Status, Region string
			Records            []string
		}
	}
	if err := json.Unmarshal([]byte(must("alert", "list", "--node", nj, "--as", r.keys["nanjing-n2"], "--json")), &alerts); err != nil ||
		len(alerts.Alerts) != 1 || alerts.Alerts[0].Region != "320115" || len(alerts.Alerts[0].Records) != 3 {
		t.Fatalf("the alert on Nanjing's chain: %+v %v", alerts, err)
	}
	alert := alerts.Alerts[0].ID

	// Up: Nanjing's N2 confirms it, Jiangsu's too, and it is on the
	// national chain with its origin.
	must("intel", "confirm", alert, "--key", r.keys["nanjing-n2"], "--node", nj)
	if out := r.carry("nanjing", "jiangsu"); !strings.Contains(out, "1 carried") {
		t.Fatalf("nanjing -> jiangsu: %s", out)
	}
	entry := func(chain, as string) map[string]any {
		t.Helper()
		var v struct{ Intel []map[string]any }
		if err := json.Unmarshal([]byte(must("intel", "list", "--node", r.urls[chain], "--as", r.keys[as], "--from", "2021-01-01", "--json")), &v); err != nil {
			t.Fatal(err)
		}
		for _, e := range v.Intel {
			if e["record"] == alert {
				return e
			}
		}
		t.Fatalf("%s holds no digest of alert %s: %+v", chain, alert[:16], v.Intel)
		return nil
	}
	// The day's statistics, published as the relay went, go up with the
	// next anchor.
	if out := r.carry("nanjing", "jiangsu"); !strings.Contains(out, "1 carried") {
		t.Fatalf("the statistics, nanjing -> jiangsu: %s", out)
	}
	var prov struct {
		Alerts []struct {
			Rule, Region string
			Records      []string
		}
	}
	if err := json.Unmarshal([]byte(must("alert", "list", "--node", r.urls["jiangsu"], "--as", r.keys["jiangsu-n2"], "--json")), &prov); err != nil ||
		len(prov.Alerts) != 2 {
		t.Errorf("Jiangsu's own alerts on the counts carried up: %+v %v", prov, err)
	}
	for _, want := range [][2]string{{"province-pneumonia-3-in-7", "320115"}, {"jiangsu-pneumonia-3-in-7", "320000"}} {
		found := false
		for _, a := range prov.Alerts {
			found = found || a.Rule == want[0] && a.Region == want[1] && len(a.Records) == 1
		}
		if !found {
			t.Errorf("no alert of %s for %s on Jiangsu: %+v", want[0], want[1], prov.Alerts)
		}
	}
	if out := must("stats", "--node", r.urls["jiangsu"], "--disease", "pneumonia-unknown", "--from", today, "--to", today); !strings.Contains(out, "1 day(s) with reports") {
		t.Errorf("Jiangsu's statistics of the day:\n%s", out)
	}
	js := entry("jiangsu", "jiangsu-n2")
	must("intel", "confirm", js["tx"].(string), "--key", r.keys["jiangsu-n2"], "--node", r.urls["jiangsu"])
	r.carry("jiangsu", "national")
	if nat := entry("national", "n1"); nat["origin"] != "nanjing" || nat["response"] != "II" || nat["digest"].(map[string]any)["region"] != "320115" {
		t.Errorf("the alert on the national chain: %+v", nat)
	}

	// The CDC assigns it; the investigator assesses and confirms.
	must("alert", "act", alert, "--node", nj, "--key", r.keys["cdc"], "--action", "verify", "--assignee", r.pubs["field"])
	must("alert", "act", alert, "--node", nj, "--key", r.keys["field"], "--action", "assess")
	must("alert", "act", alert, "--node", nj, "--key", r.keys["field"], "--action", "confirm", "--note", "an outbreak among cold-chain workers")
	if out := must("alert", "list", "--node", nj, "--as", r.keys["nanjing-n2"]); !strings.Contains(out, "confirmed") || !strings.Contains(out, "region 320115: 1 alert(s), 1 answered") {
		t.Errorf("alert list:\n%s", out)
	}

	// The open statistics, proven.
	proof := filepath.Join(r.root, "day.json")
	if err := os.WriteFile(proof, []byte(must("stats", "proof", "--node", nj, "--disease", "pneumonia-unknown", "--date", today, "--region", "320115")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := must("stats", "check", proof); !strings.Contains(out, "3 suspected, 0 clinical, 0 confirmed, the sum of 1 district bucket(s)") {
		t.Errorf("stats check:\n%s", out)
	}
}
