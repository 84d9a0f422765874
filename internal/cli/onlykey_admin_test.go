package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdministratorWithOnlyTheKey: the system administrator works from a
// directory holding only its key, through a running node (issue 12, point
// 1): grants a role, lists roles and the audit trail, closes windows,
// sees a correction waiting for it and approves it, the approval signed
// by that same key.
func TestAdministratorWithOnlyTheKey(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	desk := filepath.Join(d, "admin-desk")
	if err := os.Mkdir(desk, 0o700); err != nil {
		t.Fatal(err)
	}
	admin, hubei, shanghai := filepath.Join(desk, "admin.key"), filepath.Join(d, "hubei.key"), filepath.Join(d, "shanghai.key")
	pub := map[string]string{}
	for _, k := range []string{admin, hubei, shanghai} {
		pub[k] = strings.TrimSpace(mustRun(t, "keygen", "--out", k))
	}
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir, "--region", "000000", "--authority", "420100="+pub[hubei], "--authority", "310000="+pub[shanghai], "--administrator", pub[admin])
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", `{"type":"site","site":"wuhan-station","kind":"office","lat":30.607,"lon":114.424,"region":"420100"}
{"type":"site","site":"shanghai-station","kind":"office","lat":31.25,"lon":121.455,"region":"310000"}
{"type":"identity","id":"P1"}
{"type":"move","person":"id:P1","from":"wuhan-station","to":"shanghai-station","depart":"2020-01-20T08:00:00+08:00","arrive":"2020-01-20T13:00:00+08:00"}
`))
	mustRun(t, "role", "grant", "--home", dir, "--key", pub[admin], "--role", "administrator", "--name", "system administrator")
	traj := mustRun(t, "trace", "trajectory", "--home", dir, "--person", "id:P1", "--from", "2020-01-20", "--to", "2020-01-20")
	move := tableTxs(traj)
	if len(move) != 1 {
		t.Fatalf("trajectory:\n%s", traj)
	}
	corr := strings.Fields(mustRun(t, "correct", "propose", "--home", dir, "--tx", move[0], "--annul", "--reason", "lent ID card", "--key", hubei))[1]
	mustRun(t, "correct", "approve", "--home", dir, "--correction", corr, "--key", shanghai)
	url, stop := startNode(t, dir)
	defer stop()

	investigator := filepath.Join(d, "investigator.key")
	invPub := strings.TrimSpace(mustRun(t, "keygen", "--out", investigator))
	as := []string{"--home", desk, "--node", url, "--as", admin}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"role", "grant", "--key", invPub, "--role", "investigator", "--name", "CDC 17"}, "committed at height"},
		{[]string{"role", "list"}, "CDC 17"},
		{[]string{"audit", "list"}, "POST /v1/trace/trajectory"},
		{[]string{"validate", "close", "--until", "2020-01-23T06:00:00+08:00"}, "decided 1 validation window(s)"},
		{[]string{"correct", "show", "--tx", move[0]}, "  not approved  the administrator (key " + pub[admin][:16] + "…)"},
		{[]string{"correct", "approve", "--correction", corr}, "approval "},
		{[]string{"correct", "show", "--tx", move[0]}, "3 approval(s), 3 needed of 3 required parties; in effect since height"},
	} {
		out, errs, code := run(t, append(c.args, as...)...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("%s from a directory holding only the administrator's key: exit %d, want %q\n%s%s", strings.Join(c.args[:2], " "), code, c.want, out, errs)
		}
	}
	if entries, _ := os.ReadDir(desk); len(entries) != 1 {
		t.Errorf("the desk holds %d files, want only the key", len(entries))
	}
}
