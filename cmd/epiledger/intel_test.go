package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestIntelHierarchy (issue 15, step 6): seed 002's flow on four chains,
// each its own node process. The Lukou airport's epidemic team (N3)
// submits a level I record to the Nanjing chain (320100), the Nanjing
// health commission (N2) endorses and confirms it; its digest is carried
// up to Jiangsu (320000), whose N2 confirms it, and on to the national
// chain, whose N1 broadcasts it; the broadcast comes down through Jiangsu
// to Suzhou (320500), another city, which holds the digest with the
// record's origin.
func TestIntelHierarchy(t *testing.T) {
	t.Parallel()
	r := newRegions(t, nil, nil)
	root, dirs, urls, keys := r.root, r.dirs, r.urls, r.keys
	must := func(args ...string) string { t.Helper(); return mustRun(t, args...) }
	for _, k := range [][3]string{{"nanjing", "airport", "n3"}, {"nanjing", "nanjing-n2", "n2"}, {"jiangsu", "jiangsu-n2", "n2"},
		{"national", "n1", "n1"}, {"suzhou", "suzhou-n2", "n2"}} {
		r.keygen(k[1])
		r.grant(k[0], k[1], k[2])
	}
	carry, txOf := r.carry, r.txOf

	// Nanjing: submitted, endorsed, confirmed.
	rec := filepath.Join(root, "lukou.json")
	if err := os.WriteFile(rec, []byte(`{"dimension":"epidemic","level":1,"secrecy":"internal","time":"2021-07-20T18:00:00+08:00",
"region":"320100","place":"Lukou international airport","involved":200,"confirmed":9,
"facts":"routine nucleic acid tests of airport staff found 9 positives","topics":["airport","Delta"],"endorsements":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	draft := filepath.Join(root, "lukou.draft.json")
	must("intel", "draft", rec, "--key", keys["airport"], "--node", urls["nanjing"], "--out", draft)
	record := txOf(must("intel", "endorse", draft, "--key", keys["nanjing-n2"], "--node", urls["nanjing"]))
	must("intel", "confirm", record, "--key", keys["nanjing-n2"], "--node", urls["nanjing"])

	// Up to Jiangsu, whose N2 confirms the digest; up to the nation.
	if out := carry("nanjing", "jiangsu"); !strings.Contains(out, "1 carried") {
		t.Fatalf("nanjing -> jiangsu: %s", out)
	}
	if out := carry("nanjing", "jiangsu"); !strings.Contains(out, "0 carried, 1 held there already") {
		t.Errorf("carrying again: %s", out)
	}
	entry := func(chain, as string) map[string]any {
		t.Helper()
		var v struct{ Intel []map[string]any }
		if err := json.Unmarshal([]byte(must("intel", "list", "--node", urls[chain], "--as", keys[as], "--from", "2021-07-01", "--json")), &v); err != nil {
			t.Fatal(err)
		}
		for _, e := range v.Intel {
			if e["record"] == record {
				return e
			}
		}
		t.Fatalf("%s holds no digest of record %s: %+v", chain, record[:16], v.Intel)
		return nil
	}
	js := entry("jiangsu", "jiangsu-n2")
	if js["origin"] != "nanjing" || js["from"] != "nanjing" || js["digest"].(map[string]any)["confirmed"] != 9.0 || js["details"] != nil {
		t.Fatalf("jiangsu's digest: %+v", js)
	}
	must("intel", "confirm", js["tx"].(string), "--key", keys["jiangsu-n2"], "--node", urls["jiangsu"])
	carry("jiangsu", "national")
	nat := entry("national", "n1")
	if nat["origin"] != "nanjing" || nat["from"] != "jiangsu" {
		t.Fatalf("the national digest: %+v", nat)
	}
	if _, errs, code := run(t, "intel", "confirm", nat["tx"].(string), "--key", keys["relay"], "--node", urls["national"], "--broadcast"); code == 0 || !strings.Contains(errs, "role") {
		t.Errorf("a broadcast by a relay: exit %d %s", code, errs)
	}
	bcast := txOf(must("intel", "confirm", nat["tx"].(string), "--key", keys["n1"], "--node", urls["national"], "--broadcast"))

	// Down: the nation to Jiangsu, Jiangsu to Suzhou.
	carry("national", "jiangsu")
	if out := carry("jiangsu", "suzhou"); !strings.Contains(out, "1 carried") {
		t.Fatalf("jiangsu -> suzhou: %s", out)
	}
	sz := entry("suzhou", "suzhou-n2")
	if sz["origin"] != "nanjing" || sz["from"] != "jiangsu" || sz["broadcast"] != true || sz["response"] != "I" {
		t.Errorf("suzhou's broadcast: %+v", sz)
	}
	// Suzhou proves the broadcast it received, offline: the proof of its
	// intel_summary leads, through Jiangsu's, to the national block that
	// holds the N1's broadcast.
	r.keygen("auditor")
	r.grant("suzhou", "auditor", "auditor")
	r.grant("national", "auditor", "auditor")
	proof := filepath.Join(root, "broadcast.json")
	if err := os.WriteFile(proof, []byte(must("tx", "proof", "--node", urls["suzhou"], "--as", keys["auditor"], sz["tx"].(string))), 0o644); err != nil {
		t.Fatal(err)
	}
	out := must("tx", "check", proof)
	natProof := filepath.Join(root, "national.json")
	if err := os.WriteFile(natProof, []byte(must("tx", "proof", "--node", urls["national"], "--as", keys["auditor"], bcast)), 0o644); err != nil {
		t.Fatal(err)
	}
	natBlock := regexp.MustCompile(`\(hash ([0-9a-f]{64})\)`).FindStringSubmatch(must("tx", "check", natProof))
	for _, want := range []string{`carries intel_summary`, `of chain "jiangsu"`, `carries intel_confirm ` + bcast + ` of chain "national"`,
		`the national broadcast of record ` + record + ` of chain "nanjing"`, "level I", "compare block " + natBlock[1] + ` of chain "national"`} {
		if !strings.Contains(out, want) {
			t.Errorf("suzhou's proof of the broadcast: no %q in\n%s", want, out)
		}
	}
	// Nanjing's own N2 digest does not go down to Suzhou, and Suzhou's
	// chain verifies.
	if out := must("verify", "--home", dirs["suzhou"], "--node", urls["suzhou"]); !strings.Contains(out, "ok") {
		t.Errorf("verify suzhou: %s", out)
	}
}
