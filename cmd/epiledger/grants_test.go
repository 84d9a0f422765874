package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCrossRegionGrant runs issue 15's reads across regions with four
// node processes: the nation, Jiangsu, and its cities Nanjing and Suzhou,
// whose chains share one pseudonym key. Jiangsu's N2 asks the national
// chain for the trajectory and contacts of a case seen in both cities; the
// national N1 grants it; relays carry the grant down; the N2 reads each
// city's chain under it, one investigation merged from both, each read
// audited on the chain that served it. Without the grant, out of its
// scope and after its expiry the reads are refused, each refusal audited.
func TestCrossRegionGrant(t *testing.T) {
	t.Parallel()
	must := func(args ...string) string { t.Helper(); return mustRun(t, args...) }
	secret := filepath.Join(t.TempDir(), "pseudonyms.key")
	must("keygen", "--out", secret)
	// The case (420100199001011234 below, a traveller) in Nanjing on the
	// 20th, with a contact there; in Suzhou on the 22nd, with another.
	data := map[string]string{
		"nanjing": `{"type":"site","site":"lukou-t2","kind":"airport","lat":31.74,"lon":118.86}
{"type":"identity","id":"420100199001011234"}
{"type":"identity","id":"320102198502020022"}
{"type":"visit","site":"lukou-t2","person":"id:420100199001011234","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T10:00:00+08:00","via":"id_card"}
{"type":"visit","site":"lukou-t2","person":"id:320102198502020022","in":"2020-01-20T08:30:00+08:00","out":"2020-01-20T12:00:00+08:00","via":"id_card"}
`,
		"suzhou": `{"type":"site","site":"szstation","kind":"station","lat":31.33,"lon":120.61}
{"type":"identity","id":"420100199001011234"}
{"type":"identity","id":"320505199103030033"}
{"type":"visit","site":"szstation","person":"id:420100199001011234","in":"2020-01-22T09:00:00+08:00","out":"2020-01-22T11:00:00+08:00","via":"id_card"}
{"type":"visit","site":"szstation","person":"id:320505199103030033","in":"2020-01-22T09:10:00+08:00","out":"2020-01-22T10:30:00+08:00","via":"id_card"}
`,
	}
	r := newRegions(t, []string{"--pseudonym-secret", secret}, func(chain, dir string) {
		if d, ok := data[chain]; ok {
			file := filepath.Join(t.TempDir(), chain+".ndjson")
			if err := os.WriteFile(file, []byte(d), 0o600); err != nil {
				t.Fatal(err)
			}
			must("import", "--home", dir, "-q", file)
		}
	})
	dirs, urls, keys, pubs := r.dirs, r.urls, r.keys, r.pubs
	// Jiangsu's commission asks on the national chain: n2 there, no role
	// on the cities' chains.
	for _, k := range [][3]string{{"national", "jiangsu-n2", "n2"}, {"national", "n1", "n1"}, {"nanjing", "auditor", "auditor"}, {"suzhou", "auditor", "auditor"}} {
		if r.pubs[k[1]] == "" {
			r.keygen(k[1])
		}
		r.grant(k[0], k[1], k[2])
	}
	carry, txOf := r.carry, r.txOf
	inv := []string{"--case", "C-2020-0122", "--purpose", "national investigation"}
	// One pseudonym per person in both cities: the shared key.
	pseudonymIn := func(chain, id string) string {
		t.Helper()
		var v struct{ Pseudonym string }
		out := must(append([]string{"trace", "trajectory", "--home", dirs[chain], "--node", urls[chain], "--person", "id:" + id, "--json"}, inv...)...)
		if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.Pseudonym) != 64 {
			t.Fatalf("the pseudonym on %s: %v %s", chain, err, out)
		}
		return v.Pseudonym
	}
	p := pseudonymIn("nanjing", "420100199001011234")
	if s := pseudonymIn("suzhou", "420100199001011234"); s != p {
		t.Fatalf("one person, two pseudonyms: nanjing %s, suzhou %s", p, s)
	}
	contact := pseudonymIn("nanjing", "320102198502020022")

	// Asked, granted (and a second, short grant), carried down.
	scope := []string{"--chain", "nanjing", "--chain", "suzhou", "--reads", "trace", "--person", "pn:" + p, "--from", "2020-01-15", "--to", "2020-01-31"}
	req := txOf(must(append([]string{"access", "request", "--node", urls["national"], "--key", keys["jiangsu-n2"],
		"--reason", "a traveller's cluster spans Nanjing and Suzhou"}, scope...)...))
	if out := must("access", "list", "--node", urls["national"], "--key", keys["n1"]); !strings.Contains(out, req) || !strings.Contains(out, "spans Nanjing") {
		t.Fatalf("the national chain's requests: %s", out)
	}
	if _, errs, code := run(t, "access", "grant", req, "--node", urls["national"], "--key", keys["jiangsu-n2"]); code == 0 || !strings.Contains(errs, "n1") {
		t.Errorf("a grant by an n2: exit %d %s", code, errs)
	}
	short := txOf(must("access", "grant", req, "--node", urls["national"], "--key", keys["n1"], "--expires", "15s"))
	g := txOf(must("access", "grant", req, "--node", urls["national"], "--key", keys["n1"], "--expires", "1h"))
	if out := carry("national", "jiangsu"); !strings.Contains(out, "2 carried") {
		t.Fatalf("national -> jiangsu: %s", out)
	}
	for _, city := range []string{"nanjing", "suzhou"} {
		if out := carry("jiangsu", city); !strings.Contains(out, "2 carried") {
			t.Fatalf("jiangsu -> %s: %s", city, out)
		}
	}
	var held struct {
		Grants []struct{ ID, From, Origin string }
	}
	if err := json.Unmarshal([]byte(must("access", "list", "--node", urls["suzhou"], "--key", keys["auditor"], "--json")), &held); err != nil ||
		len(held.Grants) != 2 || held.Grants[0].From != "jiangsu" || held.Grants[0].Origin != "national" {
		t.Fatalf("suzhou's grants: %+v %v", held, err)
	}

	// The national investigation: both cities, one trajectory.
	as := append([]string{"--as", keys["jiangsu-n2"], "--grant", g, "--node", urls["nanjing"], "--node", urls["suzhou"],
		"--person", "pn:" + p, "--from", "2020-01-15", "--to", "2020-01-31"}, inv...)
	out, errs, code := run(t, append([]string{"trace", "trajectory", "--json"}, as...)...)
	var tr struct {
		Person, Pseudonym string
		Entries           []struct{ Chain, Site, In string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &tr) != nil || tr.Person != "" || tr.Pseudonym != p || len(tr.Entries) != 2 ||
		tr.Entries[0].Chain != "nanjing" || tr.Entries[1].Chain != "suzhou" || tr.Entries[1].Site != "szstation" {
		t.Fatalf("the merged trajectory: exit %d %s %s", code, out, errs)
	}
	out = must(append([]string{"trace", "contacts", "--json"}, as...)...)
	var ct struct {
		Persons  int
		Contacts []struct{ Chain, Person, Pseudonym string }
	}
	if json.Unmarshal([]byte(out), &ct) != nil || ct.Persons != 2 || len(ct.Contacts) != 2 || ct.Contacts[0].Pseudonym != contact || ct.Contacts[1].Chain != "suzhou" {
		t.Fatalf("the merged contacts: %s", out)
	}
	if strings.Contains(out, "3201021985") || strings.Contains(out, "3205051991") || strings.Contains(out, "id:") {
		t.Errorf("a raw identifier crossed the region: %s", out)
	}
	audits := func(chain string) string {
		t.Helper()
		return must("audit", "list", "--node", urls[chain], "--as", keys["auditor"], "--json")
	}
	for _, city := range []string{"nanjing", "suzhou"} {
		if a := audits(city); strings.Count(a, "under grant "+g[:16]) != 2 {
			t.Errorf("%s's audit records of the reads under the grant: %s", city, a)
		}
	}

	// Refused, each refusal audited where it was asked.
	refused := func(name, chain, field string, args ...string) {
		t.Helper()
		before := strings.Count(audits(chain), "refused")
		_, errs, code := run(t, append([]string{"trace", "trajectory", "--as", keys["jiangsu-n2"], "--node", urls[chain], "--from", "2020-01-15", "--to", "2020-01-31"},
			append(args, inv...)...)...)
		if code == 0 || !strings.Contains(errs, "forbidden") || field != "" && !strings.Contains(errs, field) {
			t.Errorf("%s: exit %d %s", name, code, errs)
		}
		if after := strings.Count(audits(chain), "refused"); field != "" && after != before+1 {
			t.Errorf("%s: %d audit records of the refusal, want 1", name, after-before)
		}
	}
	refused("no grant", "nanjing", "", "--person", "pn:"+p)
	refused("a person out of scope", "nanjing", "person", "--grant", g, "--person", "pn:"+contact)
	refused("a window out of scope", "suzhou", "from", "--grant", g, "--person", "pn:"+p, "--from", "2020-01-01")
	// The short grant expires: wait for the chain to say so (no fixed
	// sleep), then it opens nothing.
	deadline := time.Now().Add(45 * time.Second)
	for !strings.Contains(must("access", "list", "--node", urls["nanjing"], "--key", keys["auditor"], "--json", "--grantee", pubs["jiangsu-n2"]), `"expired": true`) {
		if time.Now().After(deadline) {
			t.Fatal("the short grant never expired")
		}
		time.Sleep(200 * time.Millisecond)
	}
	refused("an expired grant", "nanjing", "grant", "--grant", short, "--person", "pn:"+p)

	// The national N1 revokes the long grant before its expiry: Nanjing
	// refuses it once the revocation came down; Suzhou, which has not
	// received it yet, still serves, until it has.
	if _, errs, code := run(t, "access", "revoke", g, "--node", urls["national"], "--key", keys["jiangsu-n2"], "--reason", "closed"); code == 0 || !strings.Contains(errs, "n1") {
		t.Errorf("a revocation by an n2: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "access", "revoke", g, "--node", urls["national"], "--key", keys["n1"], "--reason", "closed, see 420100199001011234"); code == 0 || !strings.Contains(errs, "--reason") || strings.Contains(errs, "4201001990") {
		t.Errorf("a reason naming a person: exit %d %s", code, errs)
	}
	must("access", "revoke", g, "--node", urls["national"], "--key", keys["n1"], "--reason", "the cluster is closed")
	if out := carry("national", "jiangsu"); !strings.Contains(out, "1 carried") {
		t.Fatalf("the revocation, national -> jiangsu: %s", out)
	}
	if out := carry("jiangsu", "nanjing"); !strings.Contains(out, "1 carried") {
		t.Fatalf("the revocation, jiangsu -> nanjing: %s", out)
	}
	if out := must("access", "list", "--node", urls["nanjing"], "--key", keys["auditor"]); !strings.Contains(out, "(revoked ") {
		t.Errorf("nanjing's grants after the revocation: %s", out)
	}
	refused("a revoked grant", "nanjing", "grant", "--grant", g, "--person", "pn:"+p)
	must(append([]string{"trace", "trajectory", "--as", keys["jiangsu-n2"], "--grant", g, "--node", urls["suzhou"], "--person", "pn:" + p,
		"--from", "2020-01-15", "--to", "2020-01-31"}, inv...)...)
	if out := carry("jiangsu", "suzhou"); !strings.Contains(out, "1 carried") {
		t.Fatalf("the revocation, jiangsu -> suzhou: %s", out)
	}
	refused("a revoked grant, in Suzhou", "suzhou", "grant", "--grant", g, "--person", "pn:"+p)
}
