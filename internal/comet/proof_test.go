package comet_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/cli"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/state"
)

// TestConsortiumProof: a record's proof from a consortium node, as a user
// types it (epiledger tx proof --node URL), checks offline against the
// consortium's CometBFT genesis (epiledger tx check --genesis): the block
// after the record's signed by all four validators' power. The same
// record's proof from another node checks too. Without --genesis the
// check refuses to vouch; a refused record claimed accepted, or a proof
// checked against another consortium's genesis, is INVALID.
func TestConsortiumProof(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four validator processes")
	}
	c := newCluster(t, 4)
	all := []int{0, 1, 2, 3}
	for _, i := range all {
		c.start(i)
	}
	c.agree(all, 1)
	world := c.workload(8, 1, 5)
	txs := world[:len(world)-2]
	rs := c.submit(1, txs)
	if n := accepted(rs); n != len(txs) {
		t.Fatalf("%d of %d accepted: %v", n, len(txs), firstErr(rs))
	}
	last := rs[len(rs)-1]
	// node1 acknowledged them; node0 and node3 hold them once they have
	// committed that block too.
	var top uint64
	for _, r := range rs {
		top = max(top, r.Height)
	}
	c.agree(all, top)
	// A client cannot hand a node a bundle of its own: the API takes
	// records, and a bundle is none. A record repeated in one request is
	// accepted once; its repeat, and the resubmission of a record every node
	// has committed, learn it is there.
	more := world[len(world)-2:]
	bundled, err := lightclient.Bundle(more)
	if err != nil {
		t.Fatal(err)
	}
	rs2 := c.submit(2, [][]byte{bundled, more[0], more[0], txs[0]})
	if r, ok := rs2[0].Err.(*state.Rejection); !ok || r.Code != state.CodeInvalid {
		t.Errorf("a bundle sent to the API: %v, want invalid", rs2[0].Err)
	}
	if rs2[1].Err != nil {
		t.Errorf("a new record: %v", rs2[1].Err)
	}
	for i, what := range map[int]string{2: "a record repeated in the request", 3: "a record committed before"} {
		if r, ok := rs2[i].Err.(*state.Rejection); !ok || r.Code != state.CodeReplay {
			t.Errorf("%s: %v, want a replay", what, rs2[i].Err)
		}
	}
	genesis := filepath.Join(c.homes[2], "cometbft", "config", "genesis.json")
	dir := t.TempDir()
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := cli.Main(context.Background(), args, nil, &out, &errb)
		return out.String() + errb.String(), code
	}
	var files []string
	for _, i := range []int{0, 3} {
		// Asked at once: the block after the record's may not be
		// committed yet, and tx proof waits for it.
		out, code := run("tx", "proof", "--home", c.homes[0], "--node", c.apis[i], last.TxID.String())
		if code != 0 {
			t.Fatalf("tx proof from node%d: exit %d: %s", i, code, out)
		}
		f := filepath.Join(dir, "proof"+c.apis[i][len(c.apis[i])-1:]+".json")
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		out, code = run("tx", "check", "--genesis", genesis, f)
		if code != 0 || !strings.Contains(out, "signed by 40 of 40 voting power (4 of 4 validators") && !strings.Contains(out, "signed by 30 of 40 voting power (3 of 4 validators") {
			t.Fatalf("tx check of node%d's proof: exit %d:\n%s", i, code, out)
		}
		t.Logf("node%d's proof:\n%s", i, out)
	}

	out, code := run("tx", "check", files[0])
	if code != 1 || !strings.HasPrefix(out, "NOT CHECKED") {
		t.Fatalf("a consortium proof without --genesis: exit %d: %s", code, out)
	}

	// The records were submitted together: they travelled as one bundle,
	// and the proof carries it. Any change to the bundle's part is caught.
	b, _ := os.ReadFile(files[0])
	f := filepath.Join(dir, "bad.json")
	for _, tc := range []struct {
		name   string
		change func(cons map[string]any)
	}{
		{"a result code changed", func(cons map[string]any) { cons["result"].(map[string]any)["code"] = 2 }},
		{"another member of the bundle", func(cons map[string]any) { cons["bundle_member"] = 3 }},
		{"the bundle's result refuses the record", func(cons map[string]any) {
			res := cons["result"].(map[string]any)
			data, _ := base64.StdEncoding.DecodeString(res["data"].(string))
			data[len(data)-1] = 7
			res["data"] = base64.StdEncoding.EncodeToString(data)
		}},
		{"no bundle", func(cons map[string]any) { delete(cons, "bundle"); delete(cons, "bundle_member") }},
	} {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		cons := m["consortium"].(map[string]any)
		if _, ok := cons["bundle"]; !ok {
			t.Fatalf("the proof of a record submitted in a batch carries no bundle: %s", b)
		}
		tc.change(cons)
		bad, _ := json.Marshal(m)
		os.WriteFile(f, bad, 0o644)
		if out, code := run("tx", "check", "--genesis", genesis, f); code != 1 || !strings.HasPrefix(out, "INVALID") {
			t.Fatalf("%s: exit %d: %s", tc.name, code, out)
		}
	}
	// A validator's store is not backed up alone (it goes with CometBFT's
	// block store): the backup is refused, saying why.
	if out, code := run("backup", "--home", c.homes[0], "--node", c.apis[0], "--out", filepath.Join(dir, "backup")); code != 1 || !strings.Contains(out, "not_supported") {
		t.Errorf("a validator's backup: exit %d %s", code, out)
	}
	// A stopped node's home gives the proof from the stores it left
	// (ours and CometBFT's), and it checks the same.
	c.kill(3)
	out, code = run("tx", "proof", "--home", c.homes[3], last.TxID.String())
	if code != 0 {
		t.Fatalf("tx proof --home on a stopped node: exit %d: %s", code, out)
	}
	f = filepath.Join(dir, "stopped.json")
	os.WriteFile(f, []byte(out), 0o644)
	if out, code := run("tx", "check", "--genesis", genesis, f); code != 0 || !strings.Contains(out, "ok: consortium") {
		t.Fatalf("tx check of the stopped node's proof: exit %d:\n%s", code, out)
	}
	other := newCluster(t, 1)
	if out, code := run("tx", "check", "--genesis", filepath.Join(other.homes[0], "cometbft", "config", "genesis.json"), files[1]); code != 1 || !strings.HasPrefix(out, "INVALID") {
		t.Fatalf("against another consortium's genesis: exit %d: %s", code, out)
	}
}
