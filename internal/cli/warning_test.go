package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWarningFlow (issue 16's scenario on one district chain): the
// authority sets the rule "three pneumonias of unknown cause in one
// district within 7 days"; a doctor's third report raises the alert in
// the block that holds it; the CDC assigns it to an investigator, who
// assesses and confirms the outbreak; the alert list shows the response
// time and the open statistics the cases.
func TestWarningFlow(t *testing.T) {
	t.Parallel()
	district, url, keys, pubs := jianghan(t, map[string]string{"hospital": "hospital", "cdc": "investigator", "field": "investigator", "doctor": "", "n2": "n2"})
	if _, errs, code := run(t, "rule", "set", "--node", url, "--key", keys["cdc"], "--name", "pneumonia-3-in-7", "--disease", "pneumonia-unknown",
		"--method", "threshold", "--cases", "3", "--days", "7", "--level", "2"); code == 0 || !strings.Contains(errs, "authorities") {
		t.Errorf("a rule set by the CDC: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "rule", "set", "--node", url, "--home", district, "--name", "c9", "--disease", "hfmd", "--method", "ears-c2",
		"--alpha", "0.002", "--level", "3"); code == 0 || !strings.Contains(errs, "alpha") {
		t.Errorf("an alpha with no quantile: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "rule", "set", "--node", url, "--home", district, "--name", "one-at-a-shop", "--disease", "covid-19",
		"--method", "site-cluster", "--cases", "1", "--days", "7", "--level", "2"); code == 0 || !strings.Contains(errs, "--days") {
		t.Errorf("a site cluster of one patient: exit %d %s", code, errs)
	}
	mustRun(t, "rule", "set", "--node", url, "--home", district, "--name", "pneumonia-3-in-7", "--disease", "pneumonia-unknown",
		"--method", "threshold", "--cases", "3", "--days", "7", "--level", "2")
	mustRun(t, "rule", "set", "--node", url, "--home", district, "--name", "pneumonia-c1", "--disease", "pneumonia-unknown",
		"--method", "ears-c1", "--min-sigma", "1", "--level", "3")
	if out := mustRun(t, "rule", "list", "--node", url, "--as", keys["n2"]); !strings.Contains(out, "3 in 7 days") || !strings.Contains(out, "min sigma 1.000000") {
		t.Errorf("rule list:\n%s", out)
	}
	mustRun(t, "doctor", "register", "--node", url, "--key", keys["hospital"], "--doctor", pubs["doctor"], "--unit", "420103-union")
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	heights := []string{}
	for i, id := range []string{"420103196301012345", "420103197002023456", "420103198003034567"} {
		out := mustRun(t, "card", "report", "--node", url, "--key", keys["doctor"], "--patient", "id:"+id, "--disease", "pneumonia-unknown",
			"--onset", today, "--home", "420103", "--age", "60", "--sex", []string{"m", "f", "m"}[i])
		heights = append(heights, regexp.MustCompile(`at height (\d+)`).FindStringSubmatch(out)[1])
	}
	var list struct {
		Alerts []struct {
			ID, Rule, Status, Response string
			Height                     json.Number
			Records                    []string
			ResponseSeconds            *int64 `json:"response_seconds"`
		}
		Regions []struct {
			Region    string
			Responded int
		}
	}
	alerts := func() {
		t.Helper()
		list.Alerts = nil
		if err := json.Unmarshal([]byte(mustRun(t, "alert", "list", "--node", url, "--as", keys["n2"], "--json")), &list); err != nil {
			t.Fatal(err)
		}
	}
	alerts()
	// C1 has no seven days of history before it to alarm on (its minimum
	// sigma keeps the first cases quiet); the threshold rule alarms.
	if len(list.Alerts) != 1 || list.Alerts[0].Rule != "pneumonia-3-in-7" || list.Alerts[0].Height.String() != heights[2] ||
		len(list.Alerts[0].Records) != 3 || list.Alerts[0].Status != "signal" || list.Alerts[0].Response != "II" {
		t.Fatalf("the alert, raised in the third card's block %s: %+v", heights[2], list.Alerts)
	}
	id := list.Alerts[0].ID
	if _, errs, code := run(t, "alert", "act", id, "--node", url, "--key", keys["cdc"], "--action", "confirm"); code == 0 || !strings.Contains(errs, "action") {
		t.Errorf("confirmed before verification: exit %d %s", code, errs)
	}
	mustRun(t, "alert", "act", id, "--node", url, "--key", keys["cdc"], "--action", "verify", "--assignee", pubs["field"], "--note", "to the field team")
	if _, errs, code := run(t, "alert", "act", id, "--node", url, "--key", keys["cdc"], "--action", "assess"); code == 0 || !strings.Contains(errs, "assigned") {
		t.Errorf("an investigator it is not assigned to: exit %d %s", code, errs)
	}
	mustRun(t, "alert", "act", id, "--node", url, "--key", keys["field"], "--action", "assess")
	mustRun(t, "alert", "act", id, "--node", url, "--key", keys["field"], "--action", "confirm", "--note", "a cluster linked to the seafood market")
	alerts()
	if list.Alerts[0].Status != "confirmed" || list.Alerts[0].ResponseSeconds == nil || len(list.Regions) != 1 || list.Regions[0].Responded != 1 {
		t.Errorf("the confirmed alert: %+v %+v", list.Alerts, list.Regions)
	}
	if out := mustRun(t, "alert", "list", "--node", url, "--as", keys["n2"]); !strings.Contains(out, "region 420103: 1 alert(s), 1 answered") {
		t.Errorf("alert list:\n%s", out)
	}
	if out := mustRun(t, "stats", "--node", url, "--disease", "pneumonia-unknown", "--from", today, "--to", today); !regexp.MustCompile(today + `\s+3\s+0\s+0\s+3\s+3\n`).MatchString(out) {
		t.Errorf("stats:\n%s", out)
	}

	// A space-time cluster: two measles cases within 2 km, across the
	// district's edge, the places kept to 0.01 degree; a rule over the
	// city is not this district chain's.
	if _, errs, code := run(t, "rule", "set", "--node", url, "--home", district, "--name", "wuhan-total", "--disease", "measles",
		"--method", "threshold", "--cases", "9", "--days", "7", "--over", "420100", "--level", "3"); code == 0 || !strings.Contains(errs, "over") {
		t.Errorf("a rule over the city on a district chain: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "rule", "set", "--node", url, "--home", district, "--name", "measles-near", "--disease", "measles",
		"--method", "space-time", "--cases", "2", "--days", "7", "--level", "3"); code == 0 || !strings.Contains(errs, "meters") {
		t.Errorf("a space-time rule with no distance: exit %d %s", code, errs)
	}
	mustRun(t, "rule", "set", "--node", url, "--home", district, "--name", "measles-near", "--disease", "measles",
		"--method", "space-time", "--cases", "2", "--days", "7", "--meters", "2000", "--level", "3")
	if out := mustRun(t, "rule", "list", "--node", url, "--as", keys["n2"]); !strings.Contains(out, "2 cases within 2000 m in 7 days") {
		t.Errorf("rule list:\n%s", out)
	}
	if _, errs, code := run(t, "card", "report", "--node", url, "--key", keys["doctor"], "--patient", "id:420103199004045678", "--disease", "measles",
		"--onset", today, "--home", "420103", "--place", "95,114.3"); code == 0 || !strings.Contains(errs, "--place") {
		t.Errorf("a place off the globe: exit %d %s", code, errs)
	}
	var card string
	for i, place := range []string{"30.5861,114.2712", "30.59,114.28"} {
		out := mustRun(t, "card", "report", "--node", url, "--key", keys["doctor"], "--patient", "id:42010319900404567"+string(rune('0'+i)),
			"--disease", "measles", "--onset", today, "--home", []string{"420103", "420106"}[i], "--place", place)
		card = regexp.MustCompile(`card ([0-9a-f]{64})`).FindStringSubmatch(out)[1]
	}
	if out := mustRun(t, "card", "show", card, "--node", url, "--as", keys["cdc"], "--case", "C-1", "--purpose", "cluster review"); !strings.Contains(out, "place 30.59,114.28") {
		t.Errorf("card show:\n%s", out)
	}
	alerts()
	if len(list.Alerts) != 2 {
		t.Fatalf("after two measles cases 950 m apart: %+v", list.Alerts)
	}
	if out := mustRun(t, "alert", "list", "--node", url, "--as", keys["n2"]); !strings.Contains(out, "near 30.59,114.28") {
		t.Errorf("alert list:\n%s", out)
	}
}
