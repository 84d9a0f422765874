package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/report"
)

// TestCorrections walks a correction through the CLI: a movement from
// Wuhan (420100) to Shanghai (310000) is annulled only after the
// authorities of both regions and the administrator approved; wrong parties
// and repeated approvals are refused; until the quorum it has no effect;
// afterwards the original stays visible with its history. A visit is then
// amended.
func TestCorrections(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	keyHB, keySH, keyAdmin, keyStranger := filepath.Join(d, "hubei.key"), filepath.Join(d, "shanghai.key"), filepath.Join(d, "admin.key"), filepath.Join(d, "stranger.key")
	pub := map[string]string{}
	for _, k := range []string{keyHB, keySH, keyAdmin, keyStranger} {
		pub[k] = strings.TrimSpace(mustRun(t, "keygen", "--out", k))
	}
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir, "--region", "000000", "--authority", "420100="+pub[keyHB], "--authority", "310000="+pub[keySH], "--administrator", pub[keyAdmin])
	world := `{"type":"site","site":"wuhan-station","kind":"office","lat":30.607,"lon":114.424,"region":"420100"}
{"type":"site","site":"shanghai-station","kind":"office","lat":31.25,"lon":121.455,"region":"310000"}
{"type":"identity","id":"P1"}
{"type":"visit","site":"wuhan-station","person":"id:P1","in":"2020-01-20T07:00:00+08:00","out":"2020-01-20T07:30:00+08:00","via":"id_card"}
{"type":"move","person":"id:P1","from":"wuhan-station","to":"shanghai-station","depart":"2020-01-20T08:00:00+08:00","arrive":"2020-01-20T13:00:00+08:00"}
{"type":"visit","site":"shanghai-station","person":"id:P1","in":"2020-01-20T13:00:00+08:00","out":"2020-01-20T13:20:00+08:00","via":"id_card"}
`
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", world))
	traj := func(all bool) report.Trajectory {
		args := []string{"trace", "trajectory", "--home", dir, "--person", "id:P1", "--from", "2020-01-20", "--to", "2020-01-20", "--json"}
		if all {
			args = append(args, "--all")
		}
		var tr report.Trajectory
		if err := json.Unmarshal([]byte(mustRun(t, args...)), &tr); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	move := traj(false).Entries[1]
	if move.Kind != "move" {
		t.Fatalf("entries: %+v", traj(false).Entries)
	}
	fail := func(want string, args ...string) {
		t.Helper()
		out, errs, code := run(t, args...)
		if code != 1 || !strings.Contains(errs, want) {
			t.Fatalf("epiledger %v: exit %d, stdout %q stderr %q; want %q", args, code, out, errs, want)
		}
	}
	base := []string{"--home", dir}
	fail(`wrong_signer: signature: a correction of this record is proposed and approved only by the authorities of regions "420100" and "310000" and the administrator`,
		append([]string{"correct", "propose", "--tx", move.Tx, "--annul", "--reason", "lent ID card", "--key", keyStranger}, base...)...)
	out := mustRun(t, append([]string{"correct", "propose", "--tx", move.Tx, "--annul", "--reason", "lent ID card", "--key", keyHB}, base...)...)
	corr := strings.Fields(out)[1]
	if len(traj(false).Entries) != 3 {
		t.Fatal("a correction with one approval of three took effect")
	}
	fail("already approved", append([]string{"correct", "approve", "--correction", corr, "--key", keyHB}, base...)...)
	fail("wrong_signer", append([]string{"correct", "approve", "--correction", corr, "--key", keyStranger}, base...)...)
	fail("wrong_signer", append([]string{"correct", "approve", "--correction", corr}, base...)...) // the chain authority is not a party here
	mustRun(t, append([]string{"correct", "approve", "--correction", corr, "--key", keySH}, base...)...)
	if len(traj(false).Entries) != 3 {
		t.Fatal("a correction with two approvals of three took effect")
	}
	mustRun(t, append([]string{"correct", "approve", "--correction", corr, "--key", keyAdmin}, base...)...)
	if got := traj(false).Entries; len(got) != 2 {
		t.Fatalf("after three approvals the move should be gone: %+v", got)
	}
	all := traj(true).Entries
	if len(all) != 3 || all[1].Status != "annulled" || !strings.Contains(all[1].Reason, "approved by 3 of 3 required parties") || !strings.Contains(all[1].Reason, "lent ID card") {
		t.Fatalf("the original must stay visible with its history: %+v", all[1])
	}
	fail("replay", append([]string{"correct", "approve", "--correction", corr, "--key", keySH}, base...)...) // the same approval again
	show := mustRun(t, append([]string{"correct", "show", "--tx", move.Tx}, base...)...)
	if !strings.Contains(show, "3 approval(s), 3 needed of 3 required parties; in effect since height") {
		t.Fatalf("show: %s", show)
	}
	if n := strings.Count(show, "lent ID card"); n != 1 {
		t.Fatalf("show prints the reason %d times, want once:\n%s", n, show)
	}
	for _, want := range []string{
		`  approved      the authority of region "420100" (key ` + pub[keyHB][:16] + "…)",
		`  approved      the authority of region "310000" (key ` + pub[keySH][:16] + "…)",
		`  approved      the administrator (key ` + pub[keyAdmin][:16] + "…)",
	} {
		if !strings.Contains(show, want) {
			t.Fatalf("show lacks %q:\n%s", want, show)
		}
	}

	// Amend the Shanghai visit's times: the Shanghai authority and the
	// administrator (one region: two parties).
	visit := all[2]
	out = mustRun(t, append([]string{"correct", "propose", "--tx", visit.Tx, "--in", "2020-01-20T13:05:00+08:00", "--out", "2020-01-20T13:40:00+08:00", "--reason", "clock of the gate was wrong", "--key", keySH}, base...)...)
	show = mustRun(t, append([]string{"correct", "show", "--tx", visit.Tx}, base...)...)
	for _, want := range []string{
		"1 approval(s), 2 needed of 2 required parties; pending, 1 more approval(s) needed",
		`  approved      the authority of region "310000" (key ` + pub[keySH][:16] + "…)",
		`  not approved  the administrator (key ` + pub[keyAdmin][:16] + "…)",
		"  reason: clock of the gate was wrong\n",
	} {
		if !strings.Contains(show, want) {
			t.Fatalf("show of a pending correction lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, "420100") {
		t.Fatalf("a Shanghai visit needs no Hubei approval:\n%s", show)
	}
	mustRun(t, append([]string{"correct", "approve", "--correction", strings.Fields(out)[1], "--key", keyAdmin}, base...)...)
	got := traj(false).Entries
	if len(got) != 2 || got[1].In != "2020-01-20T13:05:00+08:00" || got[1].Out != "2020-01-20T13:40:00+08:00" {
		t.Fatalf("amended visit: %+v", got)
	}
	if out := mustRun(t, "verify", "--home", dir, "--replay"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("verify: %s", out)
	}
}
