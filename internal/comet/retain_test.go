package comet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/cli"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
)

// TestRetainBlocks: a validator with engine.retain_blocks = 10 keeps only
// CometBFT's latest 10 blocks. The consortium proof of a record in a
// deleted block is refused, saying why (410 pruned); a record in a kept
// block is proved and checks against the genesis; the light block of a
// deleted block's height is still served (its header and commit stay for
// the evidence age); our store keeps everything (verify), and the node
// restarts over its pruned block store and goes on committing.
func TestRetainBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a validator process")
	}
	c := newCluster(t, 1)
	h, err := home.Load(c.homes[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetConfig(map[string]string{"retain_blocks": "10"}); err != nil {
		t.Fatal(err)
	}
	c.start(0)
	c.agree([]int{0}, 1)
	world := c.workload(6, 1, 7)
	const parts = 24
	var first, last engine.Receipt
	rest := world[len(world)-1:]
	world = world[:len(world)-1]
	for k := 0; k < parts; k++ {
		// One request after the other: each is a block of its own.
		rs := c.submit(0, world[k*len(world)/parts:(k+1)*len(world)/parts])
		if n := accepted(rs); n != len(rs) {
			t.Fatalf("part %d: %d of %d accepted: %v", k, n, len(rs), firstErr(rs))
		}
		if k == 0 {
			first = rs[0]
		}
		last = rs[len(rs)-1]
	}
	top := c.agree([]int{0}, last.Height+1).Height
	if top < first.Height+12 {
		t.Fatalf("the records took heights %d to %d: too few blocks to prune", first.Height, top)
	}
	earliest, latest := cometHeights(t, c.rpcs[0])
	if earliest <= int64(first.Height) || latest-earliest+1 > 11 {
		t.Fatalf("CometBFT keeps blocks %d to %d, want the latest 10 (the first record's block is %d)", earliest, latest, first.Height)
	}

	dir := t.TempDir()
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := cli.Main(context.Background(), args, nil, &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("tx", "proof", "--home", c.homes[0], "--node", c.apis[0], first.TxID.String())
	if code == 0 || !strings.Contains(out, "pruned") || !strings.Contains(out, "retain_blocks") || !strings.Contains(out, "from height "+strconv.FormatInt(earliest, 10)) {
		t.Fatalf("the proof of a record in a deleted block: exit %d: %s", code, out)
	}
	t.Logf("CometBFT keeps blocks %d to %d; the first record is in %d; tx proof says: %s", earliest, latest, first.Height, out)
	req, _ := http.NewRequest("GET", c.apis[0]+"/v1/tx/"+first.TxID.String()+"/proof", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error struct{ Code, Field string } }
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != http.StatusGone || body.Error.Code != "pruned" || body.Error.Field != "consortium" {
		t.Fatalf("GET the proof of a record in a deleted block: %d %+v", res.StatusCode, body)
	}

	out, code = run("tx", "proof", "--home", c.homes[0], "--node", c.apis[0], last.TxID.String())
	if code != 0 {
		t.Fatalf("the proof of a record in a kept block: exit %d: %s", code, out)
	}
	f := filepath.Join(dir, "proof.json")
	if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	genesis := filepath.Join(c.homes[0], "cometbft", "config", "genesis.json")
	if out, code := run("tx", "check", "--genesis", genesis, f); code != 0 || !strings.Contains(out, "ok: consortium") {
		t.Fatalf("tx check of a kept block's proof: exit %d:\n%s", code, out)
	}
	if lb, err := c.client(0).LightBlock(context.Background(), int64(first.Height)); err != nil || lb.Height != int64(first.Height) {
		t.Fatalf("the light block of a deleted block's height: %+v, %v", lb, err)
	}

	c.kill(0)
	// A stopped node's home says the same from the stores it left.
	if out, code := run("tx", "proof", "--home", c.homes[0], first.TxID.String()); code == 0 || !strings.Contains(out, "retain_blocks") {
		t.Fatalf("tx proof --home of a record in a deleted block: exit %d: %s", code, out)
	}
	if out, code := run("verify", "--home", c.homes[0]); code != 0 {
		t.Fatalf("verify after pruning: exit %d: %s", code, out)
	}
	c.start(0)
	c.agree([]int{0}, top)
	if rs := c.submit(0, rest); accepted(rs) != 1 {
		t.Fatalf("after a restart over the pruned blocks: %v", firstErr(rs))
	}
}

// cometHeights is the lowest and highest block CometBFT's RPC at rpc
// holds.
func cometHeights(t *testing.T, rpc string) (earliest, latest int64) {
	t.Helper()
	var st struct {
		Result struct {
			SyncInfo struct {
				Earliest string `json:"earliest_block_height"`
				Latest   string `json:"latest_block_height"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	rpcJSON(t, rpc+"/status", &st)
	earliest, _ = strconv.ParseInt(st.Result.SyncInfo.Earliest, 10, 64)
	latest, _ = strconv.ParseInt(st.Result.SyncInfo.Latest, 10, 64)
	return earliest, latest
}
