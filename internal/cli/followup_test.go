package cli_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/report"
)

// callWorld: case A (onset 2020-01-19, reported 2020-01-21) spent 30
// minutes at a shop with B, who has a phone and a plate, and with C,
// who has none.
const callWorld = `{"type":"site","site":"shop-1","kind":"shop","lat":31.2,"lon":121.4}
{"type":"site","site":"hospital-1","kind":"hospital","lat":31.2,"lon":121.5}
{"type":"identity","id":"310101198001010001","aliases":["phone:13800000001"]}
{"type":"identity","id":"310101198001010002","aliases":["plate:沪E2222","phone:13900000002"]}
{"type":"identity","id":"310101198001010003"}
{"type":"visit","site":"shop-1","person":"id:310101198001010001","in":"2020-01-20T14:00:00+08:00","out":"2020-01-20T14:30:00+08:00","via":"payment"}
{"type":"visit","site":"shop-1","person":"id:310101198001010002","in":"2020-01-20T14:00:00+08:00","out":"2020-01-20T14:40:00+08:00","via":"payment"}
{"type":"visit","site":"shop-1","person":"id:310101198001010003","in":"2020-01-20T13:50:00+08:00","out":"2020-01-20T14:30:00+08:00","via":"face"}
{"type":"case","person":"id:310101198001010001","status":"confirmed","onset":"2020-01-19","reported":"2020-01-21T10:00:00+08:00","by":"hospital-1"}
`

// sealIdentities puts what an identity record says into the home's vault:
// each canonical id with its aliases (as node.PutVault keeps them).
func sealIdentities(t *testing.T, dir string, ids map[string][]string) {
	t.Helper()
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{NoEngine: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var es []node.VaultEntry
	for id, aliases := range ids {
		p := n.Pseud.Person(id)
		s, err := n.Vault.SealIdentity(p, identity.Identity{ID: id, Aliases: aliases})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, node.VaultEntry{Person: p, Sealed: s})
	}
	if err := n.PutVault(es); err != nil {
		t.Fatal(err)
	}
}

// TestFollowUpShowsHowToReach: the follow-up list gives each contact's
// phone and other aliases from the vault, phones first, in its table and
// its JSON, locally and for an investigator through a node; the read's
// audit record, committed before the list is printed, says it read
// aliases; a refused request's error and the command's stderr carry no
// phone (issue 12, point 7).
func TestFollowUpShowsHowToReach(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir)
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", callWorld))
	sealIdentities(t, dir, map[string][]string{
		"310101198001010001": {"phone:13800000001"},
		"310101198001010002": {"plate:沪E2222", "phone:13900000002"},
	})
	caseA := []string{"trace", "follow-up", "--home", dir, "--person", "id:310101198001010001"}

	out, errs, code := run(t, caseA...)
	if code != 0 || !has(out, "id:310101198001010002 - 2020-01-20 14:30 2020-02-03 2020-01-20 14:00 1 shop-1 phone:13900000002, plate:沪E2222") ||
		!has(out, "id:310101198001010003 - 2020-01-20 14:30 2020-02-03 2020-01-20 14:00 1 shop-1 -") || !strings.Contains(out, "ALIASES") {
		t.Errorf("follow-up table: exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(errs, "139000") {
		t.Errorf("stderr carries a phone: %s", errs)
	}
	var fu report.FollowUpReport
	if err := json.Unmarshal([]byte(mustRun(t, append(caseA, "--json")...)), &fu); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, c := range fu.Contacts {
		got[c.Person] = c.Aliases
	}
	if !slices.Equal(got["id:310101198001010002"], []string{"phone:13900000002", "plate:沪E2222"}) ||
		got["id:310101198001010003"] == nil || len(got["id:310101198001010003"]) != 0 {
		t.Errorf("follow-up --json aliases: %q", got)
	}
	var trail struct {
		Audits []struct{ Route string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, "audit", "list", "--home", dir, "--json")), &trail); err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, a := range trail.Audits {
		if strings.Contains(a.Route, "follow-up") {
			reads++
			if !strings.HasSuffix(a.Route, node.AliasesRoute) {
				t.Errorf("the follow-up's audit record says %q: not that it read aliases", a.Route)
			}
		}
	}
	if reads != 2 {
		t.Errorf("%d audit records of follow-ups, want 2: %+v", reads, trail.Audits)
	}
	if out, errs, code := run(t, "trace", "follow-up", "--home", dir, "--person", "phone:13900000002", "--days", "400"); code != 1 || strings.Contains(out+errs, "139000") {
		t.Errorf("a refused follow-up: exit %d\n%s%s", code, out, errs)
	}

	// An investigator at their own desk, through the node.
	key := filepath.Join(d, "investigator.key")
	pub := strings.TrimSpace(mustRun(t, "keygen", "--out", key))
	mustRun(t, "role", "grant", "--home", dir, "--key", pub, "--role", "investigator", "--name", "CDC 17")
	url, stop := startNode(t, dir)
	defer stop()
	out, errs, code = run(t, "trace", "follow-up", "--node", url, "--as", key, "--person", "id:310101198001010001")
	if code != 0 || !strings.Contains(out, "phone:13900000002, plate:沪E2222") || strings.Contains(errs, "139000") {
		t.Errorf("follow-up through a node as an investigator: exit %d\n%s%s", code, out, errs)
	}
}

// TestEncounterRuleInHeadings: a table whose contacts include proximity
// encounters (the outbreak's SocioPatterns tags: D and E met for 10
// minutes) says that every encounter counts however short, beside the 15
// minutes at a site; a table without any does not (issue 12, point 8).
func TestEncounterRuleInHeadings(t *testing.T) {
	t.Parallel()
	dir := outbreakHome(t)
	const rule = "every encounter a proximity device reported, however short"
	win := []string{"--home", dir, "--from", "2020-01-15", "--to", "2020-01-22"}
	for _, tc := range []struct {
		name       string
		args       []string
		encounters bool
	}{
		{name: "contacts_of_D", args: []string{"trace", "contacts", "--person", "id:420100199001010004"}, encounters: true},
		{name: "follow-up_of_D", args: []string{"trace", "follow-up", "--person", "id:420100199001010004"}, encounters: true},
		{name: "chain_from_B", args: []string{"trace", "chain", "--person", "id:420100199001010002", "--depth", "2"}, encounters: true},
		{name: "contacts_of_A", args: []string{"trace", "contacts", "--person", "id:420100199001010001"}},
		{name: "follow-up_of_A", args: []string{"trace", "follow-up", "--person", "id:420100199001010001"}},
		{name: "chain_from_A_depth_1", args: []string{"trace", "chain", "--person", "id:420100199001010001", "--depth", "1"}},
	} {
		out := mustRun(t, append(tc.args, win...)...)
		heading, _, _ := strings.Cut(out, "\n")
		if !strings.Contains(heading, "at least 15m0s together at a site; any overlap on transport") || strings.Contains(heading, rule) != tc.encounters {
			t.Errorf("%s: heading %q (encounters in it: %v)", tc.name, heading, tc.encounters)
		}
	}
}

// TestImportKeepsAliases: an identity record's aliases reach the vault
// when the authority imports it, so the follow-up list shows the phone
// of a contact known only from the import (issue 12, point 7).
func TestImportKeepsAliases(t *testing.T) {
	t.Parallel()
	dir := outbreakHome(t)
	out := mustRun(t, "trace", "follow-up", "--home", dir, "--person", "id:420100199001010007")
	if !has(out, "id:420100199001010001 confirmed 2020-01-17 15:00 2020-01-31 2020-01-17 14:00 1 mall-1 phone:13800000001\n") ||
		!has(out, "id:420100199001010009 - 2020-01-17 14:50 2020-01-31 2020-01-17 14:10 1 mall-1 -\n") {
		t.Errorf("follow-up after an import of identities with aliases:\n%s", out)
	}
}
