package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestIntelFlow: the airport's epidemic team (N3) drafts a record, the
// first health-commission officer (N2) endorses it and passes it on, the
// second endorses and submits it, as the chain's policy of two asks; an
// investigator lists it and the N3 shows it. A tampered draft, a second
// endorsement by one key and a bad record are refused.
func TestIntelFlow(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	city := filepath.Join(root, "wuhan")
	mustRun(t, "init", "--home", city, "--chain-id", "wuhan-1", "--region", "420100")
	url, stop := startNode(t, city)
	defer stop()
	keys := map[string]string{}
	for name, role := range map[string]string{"airport": "n3", "c1": "n2", "c2": "n2", "inv": "investigator"} {
		keys[name] = filepath.Join(root, name+".key")
		pub := strings.TrimSpace(mustRun(t, "keygen", "--out", keys[name]))
		mustRun(t, "role", "grant", "--home", city, "--node", url, "--key", pub, "--role", role, "--name", name)
	}
	mustRun(t, "intel", "policy", "--home", city, "--node", url, "--endorsements", "2")
	rec := fmt.Sprintf(`{"dimension":"epidemic","level":1,"secrecy":"internal","time":%q,"region":"420100","place":"Tianhe airport",
"involved":200,"confirmed":9,"facts":"routine tests of the staff found 9 positives","topics":["airport"],"endorsements":2}`,
		time.Now().Add(-time.Hour).Format(time.RFC3339))
	draft := filepath.Join(root, "draft.json")
	mustRun(t, "intel", "draft", writeFile(t, "rec.json", rec), "--key", keys["airport"], "--node", url, "--out", draft)

	if _, errs, code := run(t, "intel", "draft", writeFile(t, "bad.json", strings.Replace(rec, `"level":1`, `"level":7`, 1)), "--key", keys["airport"], "--node", url); code == 0 || !strings.Contains(errs, "level") {
		t.Errorf("a level 7 record: exit %d %s", code, errs)
	}
	idRec := strings.Replace(rec, "9 positives", "9 positives, among them 420101199001011234", 1)
	if _, errs, code := run(t, "intel", "draft", writeFile(t, "id.json", idRec), "--key", keys["airport"], "--node", url); code == 0 ||
		!strings.Contains(errs, "facts: seems to hold an ID number") || strings.Contains(errs, "420101199001011234") {
		t.Errorf("an ID number in the facts: exit %d %s", code, errs)
	}
	half := filepath.Join(root, "half.json")
	mustRun(t, "intel", "endorse", draft, "--key", keys["c1"], "--node", url, "--out", half)
	if _, errs, code := run(t, "intel", "endorse", half, "--key", keys["c1"], "--node", url); code == 0 || !strings.Contains(errs, "signed the draft already") {
		t.Errorf("a second endorsement by one key: exit %d %s", code, errs)
	}
	b, err := os.ReadFile(half)
	if err != nil {
		t.Fatal(err)
	}
	tampered := writeFile(t, "tampered.json", strings.Replace(string(b), "9 positives", "no positives", 1))
	if _, errs, code := run(t, "intel", "endorse", tampered, "--key", keys["c2"], "--node", url); code == 0 || !strings.Contains(errs, "does not sign this record") {
		t.Errorf("a tampered draft: exit %d %s", code, errs)
	}
	out := mustRun(t, "intel", "endorse", half, "--key", keys["c2"], "--node", url)
	m := regexp.MustCompile(`intel ([0-9a-f]{64}) committed at height \d+`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the last endorsement: %s", out)
	}
	list := mustRun(t, "intel", "list", "--node", url, "--as", keys["inv"])
	if !strings.Contains(list, "Tianhe airport") || !strings.Contains(list, m[1][:16]) || !strings.Contains(list, "epidemic") {
		t.Errorf("intel list:\n%s", list)
	}
	var v struct {
		Response string
		Details  struct {
			Confirmed uint32
			Endorsers []string
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, "intel", "show", m[1], "--node", url, "--as", keys["airport"])), &v); err != nil ||
		v.Response != "I" || v.Details.Confirmed != 9 || len(v.Details.Endorsers) != 2 || v.Details.Endorsers[0] != "c1" {
		t.Errorf("intel show: %+v %v", v, err)
	}
}
