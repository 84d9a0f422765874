package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/report"
)

// lentCard is seed 000 sec. 2.6's example as NDJSON: the person swipes out
// of the office at 18:00; a colleague swipes the lent card at 21:00 and
// 21:40 while the person pays in the metro, is seen by a mall camera, pays
// by face in a restaurant and opens the door at home.
const lentCard = `{"type":"site","site":"office-tower","kind":"office","lat":30.58,"lon":114.27,"region":"420100"}
{"type":"site","site":"metro-2","kind":"metro","lat":30.60,"lon":114.35,"region":"420100"}
{"type":"site","site":"mall","kind":"mall","lat":30.62,"lon":114.42,"region":"420100"}
{"type":"site","site":"restaurant","kind":"restaurant","lat":30.621,"lon":114.421,"region":"420100"}
{"type":"site","site":"home-gate","kind":"home","lat":30.63,"lon":114.43,"region":"420100"}
{"type":"identity","id":"420100199001011234","aliases":["access:card-7781","alipay:2088000000000001"]}
{"type":"visit","site":"office-tower","person":"access:card-7781","in":"2020-01-20T18:00:00+08:00","out":"2020-01-20T18:00:00+08:00","via":"access_card"}
{"type":"visit","site":"metro-2","person":"alipay:2088000000000001","in":"2020-01-20T20:50:00+08:00","out":"2020-01-20T21:20:00+08:00","via":"payment"}
{"type":"visit","site":"office-tower","person":"access:card-7781","in":"2020-01-20T21:00:00+08:00","out":"2020-01-20T21:00:00+08:00","via":"access_card"}
{"type":"visit","site":"mall","person":"id:420100199001011234","in":"2020-01-20T21:30:00+08:00","out":"2020-01-20T21:35:00+08:00","via":"face"}
{"type":"visit","site":"office-tower","person":"access:card-7781","in":"2020-01-20T21:40:00+08:00","out":"2020-01-20T21:40:00+08:00","via":"access_card"}
{"type":"visit","site":"restaurant","person":"id:420100199001011234","in":"2020-01-20T21:45:00+08:00","out":"2020-01-20T22:30:00+08:00","via":"face"}
{"type":"visit","site":"home-gate","person":"access:card-7781","in":"2020-01-20T22:45:00+08:00","out":"2020-01-20T22:45:00+08:00","via":"access_card"}
`

func trajectoryAll(t *testing.T, dir, person, day string) report.Trajectory {
	t.Helper()
	var tr report.Trajectory
	out := mustRun(t, "trace", "trajectory", "--home", dir, "--person", person, "--from", day, "--to", day, "--all", "--json")
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestLentCardScenario: imported in one go, the evening is pending until
// its window closes; the authority's close decides it: the colleague's two
// swipes are rejected with the winning chain named, the rest accepted,
// and the decision reports z and the catch-up probability.
func TestLentCardScenario(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", dir, "--region", "420100")
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "lent.ndjson", lentCard))
	for _, e := range trajectoryAll(t, dir, "id:420100199001011234", "2020-01-20").Entries {
		if e.Status != "pending" {
			t.Fatalf("before the close every record is pending: %+v", e)
		}
	}
	closed := mustRun(t, "validate", "close", "--home", dir, "--until", "2020-01-21T07:00:00+08:00")
	if !strings.Contains(closed, "decided 1 validation window(s), 2 record(s) rejected\n") {
		t.Fatalf("close says not what it decided: %s", closed)
	}
	if again := mustRun(t, "validate", "close", "--home", dir, "--until", "2020-01-21T07:00:01+08:00"); !strings.Contains(again, "decided 0 validation window(s), 0 record(s) rejected\n") {
		t.Fatalf("a second close decides nothing: %s", again)
	}
	tr := trajectoryAll(t, dir, "id:420100199001011234", "2020-01-20")
	var got []string
	for _, e := range tr.Entries {
		got = append(got, e.Site+"@"+e.In[11:16]+"="+e.Status)
		if e.Status == "rejected" && !strings.Contains(e.Reason, "off the winning chain") {
			t.Errorf("a rejection without its reason: %+v", e)
		}
	}
	want := "[office-tower@18:00=accepted metro-2@20:50=accepted office-tower@21:00=rejected mall@21:30=accepted office-tower@21:40=rejected restaurant@21:45=accepted home-gate@22:45=accepted]"
	if strings.Join(got, " ") != strings.Trim(want, "[]") {
		t.Fatalf("statuses:\n got %v\nwant %s", got, want)
	}
	// Without --all the swipes are gone from the trajectory.
	var plain report.Trajectory
	json.Unmarshal([]byte(mustRun(t, "trace", "trajectory", "--home", dir, "--person", "alipay:2088000000000001", "--from", "2020-01-20", "--to", "2020-01-20", "--json")), &plain)
	if len(plain.Entries) != 5 {
		t.Fatalf("trajectory without --all has %d records, want 5", len(plain.Entries))
	}
	var ds report.Decisions
	json.Unmarshal([]byte(mustRun(t, "validate", "decisions", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20", "--json")), &ds)
	if len(ds.Decisions) != 1 || len(ds.Decisions[0].Rejected) != 2 || ds.Decisions[0].Z < 1 || ds.Decisions[0].Probability >= 0.5 {
		t.Fatalf("decisions: %+v", ds)
	}
	if out := mustRun(t, "verify", "--home", dir, "--replay"); !strings.Contains(out, "1 person chains with 1 person blocks") {
		t.Fatalf("verify: %s", out)
	}
}

// TestLentCardLateSwipe: once the evening is settled, a swipe posted late
// is refused at the door, naming the record it contradicts, and nothing is
// stored.
func TestLentCardLateSwipe(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", dir, "--region", "420100")
	lines := strings.Split(strings.TrimSpace(lentCard), "\n")
	var evening []string
	for _, l := range lines {
		if !(strings.Contains(l, `"office-tower","person"`) && strings.Contains(l, `T21:`)) {
			evening = append(evening, l)
		}
	}
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "evening.ndjson", strings.Join(evening, "\n")+"\n"))
	mustRun(t, "validate", "close", "--home", dir, "--until", "2020-01-21T07:00:00+08:00")
	late := `{"type":"visit","site":"office-tower","person":"access:card-7781","in":"2020-01-20T21:40:00+08:00","out":"2020-01-20T21:40:00+08:00","via":"access_card"}` + "\n"
	out := mustRun(t, "import", "--home", dir, "-q", writeFile(t, "late.ndjson", late))
	if !strings.Contains(out, "0 accepted, 1 rejected") || !strings.Contains(out, `line 1: conflict: person: physically impossible given a visit at "`) || strings.Contains(out, "card-7781") {
		t.Fatalf("late swipe: %s", out)
	}
	if n := len(trajectoryAll(t, dir, "id:420100199001011234", "2020-01-20").Entries); n != 5 {
		t.Fatalf("the refused swipe was stored: %d records", n)
	}
}

// TestTollGateScenario: the worked case through the CLI: the toll-gate
// record of the patient's car, 650 km away between Shanghai records, is
// rejected by the longest-chain rule; the patient's person chain verifies
// offline; tampering with it is caught.
func TestTollGateScenario(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir, "--region", "310000")
	file := filepath.Join(d, "worked.ndjson")
	mustRun(t, "sim", "--worked-case", "--out", file)
	mustRun(t, "import", "--home", dir, "-q", file)
	tr := trajectoryAll(t, dir, "plate:鄂A12345", "2020-01-20")
	rejected := 0
	for _, e := range tr.Entries {
		if e.Status == "rejected" {
			rejected++
			if e.SiteKind != "toll_gate" || !strings.Contains(e.Reason, "z = ") {
				t.Fatalf("rejected the wrong record: %+v", e)
			}
		}
	}
	if rejected != 1 {
		t.Fatalf("%d records rejected, want the toll gate only: %+v", rejected, tr.Entries)
	}
	pc := mustRun(t, "validate", "person-chain", "--home", dir, "--person", "plate:鄂A12345", "--from", "2020-01-20", "--to", "2020-01-20")
	pf := filepath.Join(d, "chain.json")
	os.WriteFile(pf, []byte(pc), 0o644)
	if out := mustRun(t, "validate", "check-person-chain", pf); !strings.HasPrefix(out, "ok: 1 person blocks, 5 entries") {
		t.Fatalf("check-person-chain: %s", out)
	}
	var v blocks.PersonChainView
	json.Unmarshal([]byte(pc), &v)
	v.Blocks[0].Entries[0], v.Blocks[0].Entries[1] = v.Blocks[0].Entries[1], v.Blocks[0].Entries[0]
	bad, _ := json.Marshal(v)
	os.WriteFile(pf, bad, 0o644)
	if out, _, code := run(t, "validate", "check-person-chain", pf); code != 1 || !strings.HasPrefix(out, "INVALID") {
		t.Fatalf("a reordered chain checked: %d %s", code, out)
	}
}

// TestProbabilityTable: the seed's Table 2 to 7 decimals.
func TestProbabilityTable(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "validate", "probability", "--q", "0.1", "--z", "1..10")
	for _, row := range []string{" 1  0.2045873", " 2  0.0509779", " 3  0.0131722", " 4  0.0034552", " 5  0.0009137",
		" 6  0.0002428", " 7  0.0000647", " 8  0.0000173", " 9  0.0000046", "10  0.0000012"} {
		if !strings.Contains(out, row+"\n") {
			t.Errorf("missing row %q in\n%s", row, out)
		}
	}
	if _, errs, code := run(t, "validate", "probability", "--z", "5..1"); code != 1 || !strings.Contains(errs, "z: must be") {
		t.Errorf("bad --z: %d %s", code, errs)
	}
}
