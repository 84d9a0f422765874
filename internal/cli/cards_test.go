package cli_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// jianghan starts a node of a district chain (Jianghan, 420103) and
// makes a key for each name, granting it its role (none for "").
func jianghan(t *testing.T, roles map[string]string) (district, url string, keys, pubs map[string]string) {
	t.Helper()
	root := t.TempDir()
	district = filepath.Join(root, "jianghan")
	mustRun(t, "init", "--home", district, "--chain-id", "jianghan-1", "--region", "420103")
	url, stop := startNode(t, district)
	t.Cleanup(stop)
	keys, pubs = map[string]string{}, map[string]string{}
	for name, role := range roles {
		keys[name] = filepath.Join(root, name+".key")
		pubs[name] = strings.TrimSpace(mustRun(t, "keygen", "--out", keys[name]))
		if role != "" {
			mustRun(t, "role", "grant", "--home", district, "--node", url, "--key", pubs[name], "--role", role, "--name", name)
		}
	}
	return district, url, keys, pubs
}

// TestCardFlow (issue 16): Jinyintan hospital registers Dr Zhang; the
// doctor reports three unexplained pneumonias, counted at once in the open
// statistics; the CDC reads a card (audited) and revises it to confirmed,
// the hospital discards another; the statistics follow, and what does not
// hold is refused.
func TestCardFlow(t *testing.T) {
	t.Parallel()
	district, url, keys, pubs := jianghan(t, map[string]string{"jinyintan": "hospital", "union": "hospital", "cdc": "investigator", "dr-zhang": "", "dr-li": ""})
	mustRun(t, "doctor", "register", "--node", url, "--key", keys["jinyintan"], "--doctor", pubs["dr-zhang"], "--unit", "420106-jinyintan")
	if _, errs, code := run(t, "doctor", "register", "--node", url, "--key", keys["cdc"], "--doctor", pubs["dr-li"], "--unit", "x"); code == 0 || !strings.Contains(errs, "hospital") {
		t.Errorf("a doctor registered by the CDC: exit %d %s", code, errs)
	}
	report := func(id, onset string, extra ...string) string {
		t.Helper()
		out := mustRun(t, append([]string{"card", "report", "--node", url, "--key", keys["dr-zhang"], "--patient", "id:" + id, "--disease", "pneumonia-unknown",
			"--onset", onset, "--age", "57", "--sex", "m", "--home", "420103"}, extra...)...)
		m := regexp.MustCompile(`card ([0-9a-f]{64}) filed`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("card report: %s", out)
		}
		return m[1]
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	a := report("420103196301012345", today)
	b := report("420103197002023456", today)
	report("420103198003034567", today)
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--disease", "flu"}, "disease"},
		{[]string{"--home", "420100"}, "home"},
		{[]string{"--class", "probable"}, "classification"},
		{[]string{"--age", "300"}, "--age"},
	} {
		args := []string{"card", "report", "--node", url, "--key", keys["dr-zhang"], "--patient", "id:420103196301012345", "--disease", "pneumonia-unknown",
			"--onset", today, "--home", "420103"}
		if _, errs, code := run(t, append(args, bad.args...)...); code == 0 || !strings.Contains(errs, bad.want) || strings.Contains(errs, "420103196301012345") {
			t.Errorf("card report %v: exit %d %s", bad.args, code, errs)
		}
	}
	if _, errs, code := run(t, "card", "report", "--node", url, "--key", keys["dr-li"], "--patient", "id:420103196301012345", "--disease", "pneumonia-unknown",
		"--onset", today, "--home", "420103"); code == 0 || !strings.Contains(errs, "no role") {
		t.Errorf("a report by a key no hospital registered: exit %d %s", code, errs)
	}
	stats := func() map[string]string {
		t.Helper()
		out := mustRun(t, "stats", "--node", url, "--disease", "pneumonia-unknown", "--from", today, "--to", today, "--csv")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || lines[0] != "region,disease,date,suspected,clinical,confirmed,new,cumulative" {
			t.Fatalf("stats --csv: %s", out)
		}
		f := strings.Split(lines[1], ",")
		return map[string]string{"suspected": f[3], "clinical": f[4], "confirmed": f[5], "new": f[6], "cumulative": f[7]}
	}
	if d := stats(); d["suspected"] != "3" || d["new"] != "3" || d["cumulative"] != "3" {
		t.Errorf("after three reports: %v", d)
	}
	proof := func() (string, string) {
		t.Helper()
		p := mustRun(t, "stats", "proof", "--node", url, "--disease", "pneumonia-unknown", "--date", today)
		return p, mustRun(t, "stats", "check", writeFile(t, "day.json", p))
	}
	if _, out := proof(); !strings.Contains(out, "ok: pneumonia-unknown in 420103 on "+today+": 3 suspected, 0 clinical, 0 confirmed, the sum of 1 district bucket(s)") {
		t.Errorf("stats check after three reports:\n%s", out)
	}

	inv := []string{"--case", "C-2019-1230", "--purpose", "unexplained pneumonia"}
	var card struct {
		Classification, Patient string
		AgeBand                 string `json:"age_band"`
		Versions                []string
	}
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"card", "show", a, "--node", url, "--as", keys["cdc"], "--json"}, inv...)...)), &card); err != nil ||
		card.Classification != "suspected" || !strings.HasPrefix(card.Patient, "pn:") || len(card.Versions) != 1 {
		t.Fatalf("card show: %+v %v", card, err)
	}
	mustRun(t, append([]string{"card", "review", a, "--node", url, "--key", keys["cdc"], "--action", "revised", "--class", "confirmed", "--reason", "PCR positive"}, inv...)...)
	mustRun(t, append([]string{"card", "review", b, "--node", url, "--key", keys["jinyintan"], "--action", "discarded", "--reason", "bacterial pneumonia"}, inv...)...)
	if _, errs, code := run(t, append([]string{"card", "review", a, "--node", url, "--key", keys["union"], "--action", "verified"}, inv...)...); code == 0 || !strings.Contains(errs, "404") && !strings.Contains(errs, "no report card") {
		t.Errorf("another hospital reviews the card: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, append([]string{"card", "review", a, "--node", url, "--key", keys["cdc"], "--action", "revised"}, inv...)...); code == 0 || !strings.Contains(errs, "reason") {
		t.Errorf("a revision without a reason: exit %d %s", code, errs)
	}
	if d := stats(); d["suspected"] != "1" || d["confirmed"] != "1" || d["new"] != "2" {
		t.Errorf("after a revision and a discard: %v", d)
	}
	// The proof now holds the next version, and the history both.
	p, out := proof()
	if !strings.Contains(out, ": 1 suspected, 0 clinical, 1 confirmed (version 2 of 2)") {
		t.Errorf("stats check after the reviews:\n%s", out)
	}
	var sp struct {
		Buckets []struct {
			History []struct{ Suspected, Confirmed int }
		}
	}
	if err := json.Unmarshal([]byte(p), &sp); err != nil || len(sp.Buckets) != 1 || len(sp.Buckets[0].History) != 2 || sp.Buckets[0].History[0].Suspected != 3 {
		t.Errorf("the history of the publications: %+v %v", sp, err)
	}
	if out, _, code := run(t, "stats", "check", writeFile(t, "lie.json", strings.Replace(p, `"confirmed": 1`, `"confirmed": 0`, 1))); code != 1 || !strings.Contains(out, "INVALID") {
		t.Errorf("a file whose figures are not its buckets': exit %d %s", code, out)
	}
	if out, _, code := run(t, "stats", "check", writeFile(t, "swap.json", strings.Replace(p, `"district": "420103"`, `"district": "420104"`, 1))); code != 1 || !strings.Contains(out, "INVALID") {
		t.Errorf("a bucket named for another district: exit %d %s", code, out)
	}
	if _, errs, code := run(t, "stats", "proof", "--node", url, "--disease", "pneumonia-unknown", "--date", "2020-02-30"); code == 0 || !strings.Contains(errs, "date") {
		t.Errorf("a date that is no date: exit %d %s", code, errs)
	}
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"card", "show", a, "--node", url, "--as", keys["jinyintan"], "--json"}, inv...)...)), &card); err != nil ||
		card.Classification != "confirmed" || len(card.Versions) != 2 || card.AgeBand != "55-59" {
		t.Fatalf("the revised card, read by its hospital: %+v %v", card, err)
	}
	audit := mustRun(t, "audit", "list", "--home", district, "--node", url, "--json")
	// Four reads (two shows, two reviews) and Union's lookup of a card
	// not its own, audited as a miss.
	if strings.Count(audit, `"route": "GET /v1/cards/{id}"`) != 5 {
		t.Errorf("the card's reads are not audited: %s", audit)
	}
}
