package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/importer"
)

// desk makes a directory under d holding only a new key file, and
// returns the key file's path and its public key.
func desk(t *testing.T, d, name string) (key, pub string) {
	t.Helper()
	dir := filepath.Join(d, name+"-desk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	key = filepath.Join(dir, name+".key")
	return key, strings.TrimSpace(mustRun(t, "keygen", "--out", key))
}

// importResult runs import --json with args and returns its result by
// line.
func importResult(t *testing.T, args ...string) (*importer.Result, map[int]string) {
	t.Helper()
	var res importer.Result
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"import", "-q", "--json"}, args...)...)), &res); err != nil {
		t.Fatal(err)
	}
	codes := map[int]string{}
	for _, r := range res.Rejections {
		codes[r.Line] = r.Code
	}
	return &res, codes
}

// TestSiteAndHospitalWithOnlyTheKey: with --node and --as, a site operator
// and a hospital import their records holding nothing but their key file:
// no home, no authority key, no secret (issue 12, point 1). The authority
// registers each site with its operator's public key ("key" in the site
// record); with --seal-ids the node makes the pseudonyms and seals the
// ids, so an investigator sees the records with the real ids (without it
// the references never reach the node: TestSiteObliviousImport). A record
// of a site
// registered with another key is rejected as wrong_signer, a site or
// identity record as authority_only; an --as key that does not load, or
// holds no role, stops the import before anything is sent.
func TestSiteAndHospitalWithOnlyTheKey(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir)
	siteKey, sitePub := desk(t, d, "site")
	hospitalKey, hospitalPub := desk(t, d, "hospital")
	investigatorKey, investigatorPub := desk(t, d, "investigator")
	idleKey, _ := desk(t, d, "idle") // a key without a role
	mustRun(t, "role", "grant", "--home", dir, "--key", sitePub, "--role", "site", "--name", "shop 9")
	mustRun(t, "role", "grant", "--home", dir, "--key", hospitalPub, "--role", "hospital", "--name", "hospital 9")
	mustRun(t, "role", "grant", "--home", dir, "--key", investigatorPub, "--role", "investigator", "--name", "CDC 17")
	res, _ := importResult(t, "--home", dir, writeFile(t, "registry.ndjson", `{"type":"site","site":"shop-9","kind":"shop","lat":31.2,"lon":121.4,"key":"`+sitePub+`"}
{"type":"site","site":"hospital-9","kind":"hospital","lat":31.2,"lon":121.5,"key":"`+strings.ToUpper(hospitalPub)+`"}
{"type":"site","site":"office-9","kind":"office","lat":31.2,"lon":121.4}
{"type":"identity","id":"420100199001011234","aliases":["phone:13800000000"]}
`))
	if res.Accepted != 4 {
		t.Fatalf("registry: %+v", res)
	}
	url, stop := startNode(t, dir)
	defer stop()
	siteDesk, hospitalDesk := filepath.Dir(siteKey), filepath.Dir(hospitalKey)
	height := func() uint64 {
		t.Helper()
		st, err := client.New(url, "").Health(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st.Height
	}

	// The site operator: its visits are accepted; a visit at a site of
	// the home's, a site and an identity record are not.
	visits := writeFile(t, "visits.ndjson", `{"type":"visit","site":"shop-9","person":"id:420100199001011234","in":"2020-01-20T09:00:00+08:00","out":"2020-01-20T09:30:00+08:00","via":"face"}
{"type":"visit","site":"shop-9","person":"phone:13800000000","in":"2020-01-20T14:00:00+08:00","out":"2020-01-20T14:30:00+08:00","via":"payment"}
{"type":"visit","site":"shop-9","person":"id:110101200001010011","in":"2020-01-20T14:05:00+08:00","out":"2020-01-20T14:45:00+08:00","via":"face"}
{"type":"visit","site":"office-9","person":"id:110101200001010011","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T08:30:00+08:00"}
{"type":"site","site":"shop-10","kind":"shop","lat":31.2,"lon":121.4}
{"type":"identity","id":"110101200001010011","aliases":["phone:13900000000"]}
{"type":"visit","site":"nowhere","person":"id:110101200001010011","in":"2020-01-20T16:00:00+08:00","out":"2020-01-20T16:30:00+08:00"}
`)
	res, codes := importResult(t, "--home", siteDesk, "--node", url, "--as", siteKey, "--seal-ids", visits)
	want := map[int]string{4: "wrong_signer", 5: "authority_only", 6: "authority_only", 7: "unknown_site"}
	if res.Lines != 7 || res.Accepted != 3 || len(codes) != len(want) {
		t.Fatalf("site operator: %+v", res)
	}
	for line, code := range want {
		if codes[line] != code {
			t.Errorf("line %d: %q, want %q: %+v", line, codes[line], code, res.Rejections)
		}
	}
	for _, r := range res.Rejections {
		if strings.Contains(r.Msg, "110101200001010011") || strings.Contains(r.Msg, "13900000000") {
			t.Errorf("line %d: the reason repeats an identifier: %s", r.Line, r.Msg)
		}
		if r.Code == "authority_only" && !strings.Contains(r.Msg, "authority's home") {
			t.Errorf("line %d: the reason does not say where to import it: %s", r.Line, r.Msg)
		}
	}
	out, errs, code := run(t, "import", "-q", "--home", siteDesk, "--node", url, "--as", siteKey, "--seal-ids", visits)
	if code != 0 || !strings.Contains(out, "7 lines: 0 accepted, 7 rejected") || !strings.Contains(out, "line 4: wrong_signer") {
		t.Errorf("import again (all replays or refusals): exit %d\n%s%s", code, out, errs)
	}

	// The hospital reports a case; a case from the shop is not its to sign.
	res, codes = importResult(t, "--home", hospitalDesk, "--node", url, "--as", hospitalKey, "--seal-ids", writeFile(t, "cases.ndjson",
		`{"type":"case","person":"id:110101200001010011","status":"confirmed","onset":"2020-01-19","reported":"2020-01-21T10:00:00+08:00","by":"hospital-9"}
{"type":"case","person":"phone:13800000000","status":"suspected","reported":"2020-01-21T11:00:00+08:00","by":"shop-9"}
`))
	if res.Accepted != 1 || codes[2] != "wrong_signer" {
		t.Fatalf("hospital: %+v", res)
	}

	// An investigator, with only a key too, sees the records and the id
	// the node sealed.
	inv := []string{"--home", filepath.Dir(investigatorKey), "--node", url, "--as", investigatorKey, "--json"}
	out = mustRun(t, append([]string{"trace", "trajectory", "--person", "id:110101200001010011", "--from", "2020-01-20", "--to", "2020-01-20"}, inv...)...)
	var tr struct {
		Person  string
		Entries []struct{ Site string }
	}
	if err := json.Unmarshal([]byte(out), &tr); err != nil || tr.Person != "id:110101200001010011" || len(tr.Entries) != 1 || tr.Entries[0].Site != "shop-9" {
		t.Errorf("trajectory of the new person: %v\n%s", err, out)
	}
	out = mustRun(t, append([]string{"trace", "contacts", "--person", "phone:13800000000", "--from", "2020-01-20", "--to", "2020-01-20"}, inv...)...)
	if !strings.Contains(out, `"person": "id:110101200001010011"`) {
		t.Errorf("contacts through an alias the site recorded: %s", out)
	}
	out = mustRun(t, append([]string{"trace", "risk-sites", "--from", "2020-01-20", "--to", "2020-01-21"}, inv...)...)
	if !strings.Contains(out, "shop-9") {
		t.Errorf("risk sites lack the case's shop: %s", out)
	}

	// Keys that do not load or hold no role stop the import before
	// anything is sent.
	bad := badKeys(t, d)
	bad["no role"] = idleKey
	before := height()
	for name, k := range bad {
		out, errs, code := run(t, "import", "-q", "--home", siteDesk, "--node", url, "--as", k, visits)
		if code == 0 || !strings.Contains(errs, "epiledger: error:") || strings.Contains(out, "accepted") {
			t.Errorf("--as %s: exit %d\n%s%s", name, code, out, errs)
		}
	}
	if h := height(); h != before {
		t.Errorf("refused imports moved the ledger from height %d to %d", before, h)
	}
	for _, k := range []string{siteKey, hospitalKey, investigatorKey} {
		if entries, _ := os.ReadDir(filepath.Dir(k)); len(entries) != 1 {
			t.Errorf("%s holds %d files, want only the key", filepath.Dir(k), len(entries))
		}
	}
}
