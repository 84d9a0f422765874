package comet_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/cli"
	"github.com/epiledger/epiledger/internal/comet"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/report"
)

// epiledger runs the CLI in this process, as a user types it.
func epiledger(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Main(context.Background(), args, nil, &out, &errb); code != 0 {
		t.Fatalf("epiledger %s: exit %d: %s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

// cometValidators are the validators CometBFT's RPC on node i names at
// its latest height: address -> base64 public key.
func cometValidators(t *testing.T, c *cluster, i int) map[string]string {
	t.Helper()
	res, err := http.Get(c.rpcs[i] + "/validators")
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	var v struct {
		Result struct {
			Validators []struct {
				Address string `json:"address"`
				PubKey  struct {
					Value string `json:"value"`
				} `json:"pub_key"`
			} `json:"validators"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		return nil
	}
	out := map[string]string{}
	for _, x := range v.Result.Validators {
		out[x.Address] = x.PubKey.Value
	}
	return out
}

// signers are the addresses of the validators whose signatures commit
// block height, from CometBFT's RPC on node i.
func signers(t *testing.T, c *cluster, i int, height uint64) map[string]bool {
	t.Helper()
	var v struct {
		Result struct {
			SignedHeader struct {
				Commit struct {
					Signatures []struct {
						Address string `json:"validator_address"`
					} `json:"signatures"`
				} `json:"commit"`
			} `json:"signed_header"`
		} `json:"result"`
	}
	rpcJSON(t, c.rpcs[i]+"/commit?height="+strconv.FormatUint(height, 10), &v)
	out := map[string]bool{}
	for _, s := range v.Result.SignedHeader.Commit.Signatures {
		if s.Address != "" {
			out[s.Address] = true
		}
	}
	return out
}

// TestValidatorJoinAndLeave (issue 13, point 6): four validators, whose
// authorities are the chain authority and Shanghai's with a quorum of 2.
// A fifth organisation generates its keys with consortium keygen, makes
// its home from node0's kit, starts as a non-validator and syncs; its
// join, proposed by one authority and approved by the other, makes it a
// validator (CometBFT's /validators names it, and it signs later
// commits); then org3 leaves, its node stops, and the chain keeps
// committing; the nodes agree on every state hash and header.
func TestValidatorJoinAndLeave(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five validator processes")
	}
	t.Parallel()
	d := t.TempDir()
	shKey := filepath.Join(d, "shanghai.key")
	shPub := strings.TrimSpace(epiledger(t, "keygen", "--out", shKey))
	c := newCluster(t, 4, "--authority", "310000="+shPub, "--correction-quorum", "2")
	for i := 0; i < 4; i++ {
		c.start(i)
	}
	c.agree([]int{0, 1, 2, 3}, 2)
	// A consortium makes a block when transactions wait (and otherwise
	// once a minute): pump submits the next records, a block or more.
	work := c.workload(30, 2, 6)
	pump := func() {
		if len(work) == 0 {
			t.Fatal("the workload ran out")
		}
		n := min(3, len(work))
		c.submit(0, work[:n])
		work = work[n:]
	}
	agree := func(nodes []int, min uint64) (st api.Status) {
		c.waitFor(fmt.Sprintf("nodes %v to pass height %d", nodes, min), func() bool {
			pump()
			s := c.health(nodes[0])
			return s != nil && s.Height >= min
		})
		return c.agree(nodes, min)
	}

	// The fifth organisation, on "its own machine".
	base := freeBase(t, 3)
	rail := filepath.Join(d, "railway")
	card := epiledger(t, "consortium", "keygen", "--home", rail, "--org", "railway", "--p2p", fmt.Sprintf("127.0.0.1:%d", base), "--rpc", fmt.Sprintf("127.0.0.1:%d", base+1), "--loopback")
	var kc comet.KeyCard
	if err := json.Unmarshal([]byte(card), &kc); err != nil {
		t.Fatal(err)
	}
	cardFile := filepath.Join(d, "railway.json")
	writeTestFile(t, cardFile, card)
	kit := filepath.Join(d, "kit")
	epiledger(t, "consortium", "kit", "--home", c.homes[0], "--out", kit)
	epiledger(t, "consortium", "setup", "--home", rail, "--kit", kit, "--listen", fmt.Sprintf("127.0.0.1:%d", base+2))
	c.homes, c.apis, c.rpcs = append(c.homes, rail), append(c.apis, fmt.Sprintf("http://127.0.0.1:%d", base+2)), append(c.rpcs, fmt.Sprintf("http://127.0.0.1:%d", base+1))
	c.procs = append(c.procs, nil)
	c.start(4)
	st := agree([]int{0, 1, 2, 3, 4}, 3)
	pub, _ := hex.DecodeString(kc.PublicKey)
	b64 := base64.StdEncoding.EncodeToString(pub)
	inComet := func(i int, key string) (addr string) {
		for a, k := range cometValidators(t, c, i) {
			if k == key {
				return a
			}
		}
		return ""
	}
	if inComet(0, b64) != "" {
		t.Fatal("the railway is a validator before its join")
	}

	// The join: the chain authority proposes, Shanghai approves.
	out := epiledger(t, "consortium", "propose", "--home", c.homes[0], "--node", c.apis[0], "--card", cardFile, "--reason", "the railway joins")
	id := strings.Fields(out)[2]
	list := func(i int) report.ValidatorsView {
		var v report.ValidatorsView
		if err := json.Unmarshal([]byte(epiledger(t, "consortium", "validators", "--home", c.homes[i], "--node", c.apis[i], "--json")), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	// node0 acknowledged the proposal once it committed it; node1 (asked
	// next, and the approver) holds it once it reaches that height too.
	c.agree([]int{0, 1, 2, 3, 4}, c.health(0).Height)
	if v := list(1); len(v.Changes) != 1 || v.Changes[0].Decided != 0 || len(v.Validators) != 4 {
		t.Fatalf("after one approval of 2: %+v", v)
	}
	epiledger(t, "consortium", "approve", "--home", c.homes[1], "--node", c.apis[1], "--change", id, "--key", shKey)
	var railAddr string
	c.waitFor("CometBFT to name the railway a validator", func() bool { pump(); railAddr = inComet(2, b64); return railAddr != "" })
	st = agree([]int{0, 1, 2, 3, 4}, c.health(0).Height+3)
	if !signers(t, c, 4, st.Height-1)[railAddr] {
		// Its signature may miss one commit; over three it must appear.
		found := false
		for h := st.Height - 3; h < st.Height && !found; h++ {
			found = signers(t, c, 4, h)[railAddr]
		}
		if !found {
			t.Fatalf("the railway signs none of the commits up to %d", st.Height)
		}
	}
	// The railway's node holds neither the chain authority's key nor the
	// chain's secret: it signs the audit records of the reads it serves
	// with its own node key (its card's), once the administrator grants
	// that key the role node; until then it serves no personal data (fail
	// closed), and it never derives a pseudonym from a raw identifier.
	read := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, c.apis[4]+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		api.SignRequest(req, c.node0.Genesis.ChainID, c.node0.Authority(), "case-7", "the railway's node", []byte(body), time.Now())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, tok := range []string{"", c.token} {
		// No operator token on a member's node: a bare "Bearer " and the
		// chain authority's token are refused alike.
		req, _ := http.NewRequest("GET", c.apis[4]+"/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a bearer token %q on the railway's node: %s", tok, res.Status)
		}
	}
	if code, body := read("GET", "/v1/cases", ""); code == http.StatusOK || !strings.Contains(body, "audit") {
		t.Fatalf("a personal read on the railway's node before its key holds the role node: %d %s", code, body)
	}
	epiledger(t, "role", "grant", "--home", c.homes[0], "--node", c.apis[0], "--key", kc.NodeKey, "--role", "node", "--name", "railway's node")
	c.agree([]int{0, 1, 2, 3, 4}, c.health(0).Height)
	if code, body := read("GET", "/v1/cases", ""); code != http.StatusOK {
		t.Fatalf("a personal read on the railway's node: %d %s", code, body)
	}
	if code, body := read("POST", "/v1/trace/contacts", `{"person":"id:420101199001011234"}`); code != http.StatusForbidden || !strings.Contains(body, "not_authority") {
		t.Fatalf("a raw identifier on the railway's node: %d %s", code, body)
	}
	// The audit trail, read on another node, says which node served it.
	c.agree([]int{0, 1, 2, 3, 4}, c.health(4).Height)
	audits, err := c.client(0).Audits(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]int{}
	for _, a := range audits {
		served[a.Node]++
	}
	if served["railway's node"] != 1 {
		t.Fatalf("audit records by the node that served them: %v", served)
	}
	if v := list(4); v.Changes[0].Decided == 0 || len(v.Validators) != 5 {
		t.Fatalf("after the join: %+v", v)
	}

	// org3 leaves; once CometBFT dropped it, its node stops and the
	// others commit on.
	var org3Key string
	for _, x := range list(0).Validators {
		if x.Org == "org3" {
			org3Key = x.Key
		}
	}
	out = epiledger(t, "consortium", "propose", "--home", c.homes[0], "--node", c.apis[0], "--org", "org3", "--validator-key", org3Key, "--power", "0", "--reason", "org3 leaves")
	c.agree([]int{0, 1, 2, 3, 4}, c.health(0).Height)
	epiledger(t, "consortium", "approve", "--home", c.homes[4], "--node", c.apis[4], "--change", strings.Fields(out)[2], "--key", shKey)
	k3, _ := hex.DecodeString(org3Key)
	c.waitFor("CometBFT to drop org3", func() bool {
		pump()
		vs := cometValidators(t, c, 0)
		return len(vs) == 4 && inComet(0, base64.StdEncoding.EncodeToString(k3)) == ""
	})
	c.kill(3)
	st = agree([]int{0, 1, 2, 4}, c.health(0).Height+3)
	for _, x := range list(2).Validators {
		if x.Org == "org3" && x.Power != 0 || x.Org == "railway" && x.Power != 10 {
			t.Fatalf("after the leave: %+v", x)
		}
	}
	c.sameAnswers([]int{0, 1, 2, 4})

	// A record committed after both changes has a proof that checks from
	// the genesis validators across them (the light client's bisection).
	var last *engine.Receipt
	for last == nil {
		if len(work) == 0 {
			t.Fatal("the workload ran out")
		}
		rs := c.submit(4, work[:1])
		work = work[1:]
		if rs[0].Err == nil {
			last = &rs[0]
		}
	}
	proof := filepath.Join(d, "proof.json")
	writeTestFile(t, proof, epiledger(t, "tx", "proof", "--home", c.homes[4], "--node", c.apis[4], last.TxID.String()))
	check := epiledger(t, "tx", "check", "--genesis", filepath.Join(c.homes[1], "cometbft", "config", "genesis.json"), proof)
	if !strings.Contains(check, "3 of 4 validators") && !strings.Contains(check, "4 of 4 validators") {
		t.Fatalf("tx check across the validator changes:\n%s", check)
	}
	t.Logf("tx check:\n%s", check)
	t.Logf("agreed at height %d, state %s", st.Height, st.StateHash)
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
