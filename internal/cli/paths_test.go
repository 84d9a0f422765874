package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalAndNodeAlike: every command a node serves prints the same
// bytes on the home in this process and through --node (issue 12, point
// 2: the two paths had drifted in the audit view, errors and outputs).
// Reads run on one home, first locally, then through its node; commands
// that write run on two copies of one home, the same sequence on each.
func TestLocalAndNodeAlike(t *testing.T) {
	t.Parallel()
	dir := outbreakHome(t)
	d := t.TempDir()
	writeL, writeR := filepath.Join(d, "write-local"), filepath.Join(d, "write-node")
	for _, to := range []string{writeL, writeR} {
		if out, err := exec.Command("cp", "-a", dir, to).CombinedOutput(); err != nil {
			t.Fatalf("copy the home: %v %s", err, out)
		}
	}
	pubFile := filepath.Join(d, "investigator.key")
	pub := strings.TrimSpace(mustRun(t, "keygen", "--out", pubFile))

	case1 := []string{"--person", "id:420100199001010001"}
	window := []string{"--from", "2020-01-15", "--to", "2020-01-25"}
	var traj struct{ Entries []struct{ Tx string } }
	if err := json.Unmarshal([]byte(mustRun(t, append(append([]string{"trace", "trajectory", "--json", "--home", dir}, case1...), window...)...)), &traj); err != nil || len(traj.Entries) == 0 {
		t.Fatalf("trajectory: %v %+v", err, traj)
	}
	tx := traj.Entries[0].Tx
	reads := [][]string{
		append(append([]string{"trace", "trajectory", "--all"}, case1...), window...),
		append(append([]string{"trace", "trajectory", "--json"}, case1...), window...),
		append([]string{"trace", "trajectory"}, case1...), // the default window
		append(append([]string{"trace", "contacts"}, case1...), window...),
		append(append([]string{"trace", "contacts", "--json", "--min-overlap", "5m"}, case1...), window...),
		append(append([]string{"trace", "chain", "--depth", "3"}, case1...), window...),
		append(append([]string{"trace", "chain", "--format", "dot", "--all-edges"}, case1...), window...),
		append(append([]string{"trace", "chain", "--json"}, case1...), window...),
		{"trace", "sources", "--person", "id:420100199001010001", "--person", "id:420100199001010007"},
		{"trace", "sources", "--json", "--person", "id:420100199001010007"},
		append([]string{"trace", "clusters"}, window...),
		append([]string{"trace", "clusters", "--json", "--within", "72h"}, window...),
		append([]string{"trace", "risk-sites"}, window...),
		append([]string{"trace", "risk-sites", "--format", "geojson"}, window...),
		append(append([]string{"trace", "follow-up"}, case1...), window...),
		append(append([]string{"trace", "follow-up", "--json", "--days", "10"}, case1...), window...),
		append(append([]string{"validate", "decisions"}, case1...), window...),
		append(append([]string{"validate", "decisions", "--json"}, case1...), window...),
		append(append([]string{"validate", "person-chain"}, case1...), window...),
		{"role", "list"},
		{"role", "list", "--json"},
		{"trace", "cases"},
		{"trace", "cases", "--json", "--status", "confirmed"},
		{"trace", "cases", "--status", "nope"},
		{"tx", "proof", tx},
		{"correct", "show", "--tx", tx},
		// Refusals: the same error, named the same way.
		{"trace", "contacts", "--person", "phone:19999999999"},
		{"trace", "contacts", "--person", "id:19999999999"},
		{"trace", "trajectory", "--person", "id:420100199001010001", "--from", "2020-01-21", "--to", "2020-01-20"},
		{"trace", "chain", "--person", "id:420100199001010001", "--depth", "99"},
		{"trace", "clusters", "--within", "forever"},
		{"validate", "decisions", "--person", "19999999999"},
		{"tx", "proof", strings.Repeat("ab", 32)},
		{"correct", "show", "--tx", "abc"},
	}
	writes := [][]string{
		{"role", "grant", "--key", pub, "--role", "investigator", "--name", "CDC 17"},
		{"role", "grant", "--key", pub, "--role", "emperor", "--name", "CDC 17"},
		{"validate", "close", "--until", "2020-01-28T06:00:00+08:00"},
		{"validate", "close", "--until", "2020-01-28T06:00:00Z"},
		{"correct", "propose", "--tx", tx, "--annul", "--reason", "lent card"},
		{"correct", "propose", "--tx", tx, "--annul", "--reason", "lent card"},
		{"correct", "show", "--tx", tx},
	}

	type answer struct {
		out, errs string
		code      int
	}
	runAll := func(cmds [][]string, home string, extra ...string) []answer {
		var as []answer
		for _, args := range cmds {
			args = append(append(append([]string{}, args...), "--home", home), extra...)
			out, errs, code := run(t, args...)
			as = append(as, answer{out, errs, code})
		}
		return as
	}
	local := runAll(reads, dir)
	localAudit := runAll([][]string{{"audit", "list"}, {"audit", "list", "--json"}}, dir)
	localWrites := runAll(writes, writeL)

	url, stop := startNode(t, dir)
	remote := runAll(reads, dir, "--node", url)
	remoteAudit := runAll([][]string{{"audit", "list"}, {"audit", "list", "--json"}}, dir, "--node", url)
	stop()
	url, stop = startNode(t, writeR)
	remoteWrites := runAll(writes, writeR, "--node", url)
	stop()

	compare := func(cmds [][]string, local, remote []answer) {
		for i, args := range cmds {
			l, r := local[i], remote[i]
			name := strings.Join(args, " ")
			if l.out != r.out {
				t.Errorf("%s: stdout differs\nlocal:\n%s\nnode:\n%s", name, l.out, r.out)
			}
			if l.errs != r.errs || l.code != r.code {
				t.Errorf("%s: exit %d / %d, stderr differs\nlocal:\n%s\nnode:\n%s", name, l.code, r.code, l.errs, r.errs)
			}
		}
	}
	compare(reads, local, remote)
	compare(writes, localWrites, remoteWrites)
	// (role list after the writes would differ: a block's time is the
	// clock's when it is made.)
	// Each path audits its own reads: the local trail then holds the
	// local reads, and the node's holds both.
	if localAudit[0].code != 0 || remoteAudit[0].code != 0 {
		t.Fatalf("audit list: %s %s", localAudit[0].errs, remoteAudit[0].errs)
	}
	if !strings.HasPrefix(remoteAudit[0].out, strings.SplitN(localAudit[0].out, "\n", 2)[0]) && len(remoteAudit[0].out) <= len(localAudit[0].out) {
		t.Errorf("audit list through the node holds fewer records than locally:\nlocal:\n%s\nnode:\n%s", localAudit[0].out, remoteAudit[0].out)
	}
	localRows := strings.Split(strings.TrimSpace(localAudit[0].out), "\n")[2:]
	for _, row := range localRows {
		if !strings.Contains(remoteAudit[0].out, row) {
			t.Errorf("the node's audit list lacks the local row\n%s\nnode:\n%s", row, remoteAudit[0].out)
		}
	}

	// Every command above succeeded or failed on purpose, and said
	// something.
	for i, args := range reads {
		if a := local[i]; a.out == "" && a.errs == "" {
			t.Errorf("%s printed nothing", strings.Join(args, " "))
		}
	}
	if localWrites[0].code != 0 || !strings.Contains(localWrites[0].out, "committed at height") {
		t.Errorf("role grant: %+v", localWrites[0])
	}
	if _, err := os.Stat(filepath.Join(dir, "node.json")); !os.IsNotExist(err) {
		t.Errorf("node.json left behind: %v", err)
	}
}
