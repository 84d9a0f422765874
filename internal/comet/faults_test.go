package comet_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/cli"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/comet"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/state"
)

// The fault tests run each validator as its own process: this test
// binary, re-executed as the epiledger command.
func TestMain(m *testing.M) {
	if os.Getenv("EPILEDGER_TEST_CLI") == "1" {
		if os.Getenv("EPILEDGER_TEST_POISON") == "1" {
			// A transaction signed for another chain: it decodes, its
			// signature does not verify here.
			_, k, _ := ed25519.GenerateKey(nil)
			tx := ledger.NewTx(&ledger.RegisterSite{Site: "poison", Kind_: "shop"})
			tx.Sign("another-chain", k)
			comet.SetTestPoison(tx.Bytes())
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// cluster is a consortium of validators on loopback, each a process.
type cluster struct {
	t     *testing.T
	dir   string
	homes []string
	apis  []string
	rpcs  []string
	procs []*exec.Cmd
	token string
	node0 *home.Home
}

// freeBase finds n consecutive free loopback ports.
func freeBase(t *testing.T, n int) int {
	t.Helper()
	base, err := comet.FreePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

func newCluster(t *testing.T, n int, testnetArgs ...string) *cluster {
	t.Helper()
	dir := t.TempDir()
	base := freeBase(t, 3*n)
	var out, errb bytes.Buffer
	args := []string{"testnet", "--validators", strconv.Itoa(n), "--dir", dir, "--chain-id", "faults", "--region", "420100",
		"--base-port", strconv.Itoa(base), "--api-port", strconv.Itoa(base + 2*n), "--timeout-commit", "100ms"}
	args = append(args, testnetArgs...)
	if code := cli.Main(context.Background(), args, nil, &out, &errb); code != 0 {
		t.Fatalf("testnet: %s%s", out.String(), errb.String())
	}
	c := &cluster{t: t, dir: dir, procs: make([]*exec.Cmd, n)}
	for i := 0; i < n; i++ {
		c.homes = append(c.homes, filepath.Join(dir, fmt.Sprintf("node%d", i)))
		c.apis = append(c.apis, fmt.Sprintf("http://127.0.0.1:%d", base+2*n+i))
		c.rpcs = append(c.rpcs, fmt.Sprintf("http://127.0.0.1:%d", base+2*i+1))
	}
	h, err := home.Load(c.homes[0])
	if err != nil {
		t.Fatal(err)
	}
	c.node0, c.token = h, h.APIToken()
	t.Cleanup(func() {
		for i := range c.procs {
			if c.procs[i] != nil {
				c.kill(i)
			}
		}
		if t.Failed() {
			for i := range c.homes {
				b, _ := os.ReadFile(filepath.Join(c.homes[i], "node.log"))
				t.Logf("node%d log (tail):\n%s", i, tail(string(b), 3000))
			}
		}
	})
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (c *cluster) start(i int, env ...string) {
	c.t.Helper()
	logf, err := os.OpenFile(filepath.Join(c.homes[i], "node.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	p := exec.Command(os.Args[0], "node", "--home", c.homes[i])
	p.Env = append(append(os.Environ(), "EPILEDGER_TEST_CLI=1"), env...)
	p.Stdout, p.Stderr = logf, logf
	if err := p.Start(); err != nil {
		c.t.Fatal(err)
	}
	logf.Close()
	c.procs[i] = p
}

func (c *cluster) kill(i int) {
	c.procs[i].Process.Kill()
	c.procs[i].Wait()
	c.procs[i] = nil
}

// client is node i's client: with the operator's token, or, on a
// consortium member's node (which has none), signed with the chain
// authority's key.
func (c *cluster) client(i int) *client.Client {
	if !c.member(i) {
		return client.New(c.apis[i], c.token)
	}
	cl := client.New(c.apis[i], "")
	cl.Key, cl.ChainID = c.node0.Authority(), c.node0.Genesis.ChainID
	cl.Case, cl.Purpose = "fault-tests", "the consortium's fault tests"
	return cl
}

// member says node i's home is a consortium member's (consortium setup
// from a kit): it holds its node key, not the chain's keys.
func (c *cluster) member(i int) bool {
	_, err := os.Stat(filepath.Join(c.homes[i], "keys", home.NodeKeyFile))
	return err == nil
}

// health is node i's status, or nil while it does not answer.
func (c *cluster) health(i int) *api.Status {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.client(i).Status(ctx)
	if err != nil {
		return nil
	}
	return s
}

// waitFor polls cond until it holds; the deadline only bounds a test that
// would otherwise hang.
func (c *cluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// agree waits until nodes answer with one height, head and state hash,
// at least min, and returns that status.
func (c *cluster) agree(nodes []int, min uint64) api.Status {
	c.t.Helper()
	var st api.Status
	c.waitFor(fmt.Sprintf("nodes %v to agree at height >= %d", nodes, min), func() bool {
		var first *api.Status
		for _, i := range nodes {
			s := c.health(i)
			if s == nil || s.Height < min || first != nil && (s.Height != first.Height || s.Head != first.Head || s.StateHash != first.StateHash) {
				return false
			}
			if first == nil {
				first = s
			}
		}
		st = *first
		return true
	})
	return st
}

// raceRegistrations sends two registrations of one site id ("raced",
// two keys, both signed by the authority) to node0 and node1 at once and
// returns them with their receipts.
func (c *cluster) raceRegistrations() (racers [2][]byte, race [2][]engine.Receipt) {
	for k := range racers {
		_, key, _ := ed25519.GenerateKey(nil)
		var pub [32]byte
		copy(pub[:], key.Public().(ed25519.PublicKey))
		tx := ledger.NewTx(&ledger.RegisterSite{Site: "raced", Kind_: "shop", Region: "420100", Key: pub})
		tx.Sign(c.node0.Genesis.ChainID, c.node0.Authority())
		racers[k] = tx.Bytes()
	}
	var wg sync.WaitGroup
	for k := range racers {
		wg.Add(1)
		go func() { defer wg.Done(); race[k] = c.submit(k, [][]byte{racers[k]}) }()
	}
	wg.Wait()
	return racers, race
}

// sameAnswers checks that the nodes answer the same queries alike: the
// whole-chain verification (blocks, transactions, head, state, chains)
// and every block header.
func (c *cluster) sameAnswers(nodes []int) {
	c.t.Helper()
	// The chain may move on between two nodes' answers (an empty block
	// after a change): asked again until they agree; a divergence stays.
	var got, want []byte
	var at int
	for try := 0; try < 50; try++ {
		want, at = nil, -1
		for _, i := range nodes {
			got = c.answers(i)
			if want == nil {
				want = got
			} else if !bytes.Equal(got, want) {
				at = i
				break
			}
		}
		if at < 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("node%d answers otherwise than node%d:\n%s\n%s", at, nodes[0], got, want)
}

// answers is node i's whole-chain verification and every block header.
func (c *cluster) answers(i int) []byte {
	c.t.Helper()
	v, err := c.client(i).Verify(context.Background())
	if err != nil || !v.OK {
		c.t.Fatalf("node%d verify: %+v, %v", i, v, err)
	}
	var headers []json.RawMessage
	for h := uint64(1); h <= v.Blocks; h++ {
		headers = append(headers, c.get(i, "/v1/blocks/"+strconv.FormatUint(h, 10)))
	}
	got, _ := json.Marshal(struct {
		V *api.VerifyReply
		H []json.RawMessage
	}{v, headers})
	return got
}

func (c *cluster) get(i int, path string) json.RawMessage {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.apis[i]+path, nil)
	if c.member(i) {
		api.SignRequest(req, c.node0.Genesis.ChainID, c.node0.Authority(), "fault-tests", "the consortium's fault tests", nil, time.Now())
	} else {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var v json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != 200 {
		c.t.Fatalf("GET %s on node%d: %d, %v", path, i, res.StatusCode, err)
	}
	return v
}

// workload signs a small simulated city's records with node0's keys.
func (c *cluster) workload(people, days int, seed uint64) [][]byte { //nolint:unparam
	c.t.Helper()
	var buf bytes.Buffer
	if _, err := sim.Generate(sim.Config{People: people, Days: days, Seed: seed}, ndjson.NewWriter(&buf)); err != nil {
		c.t.Fatal(err)
	}
	col := &importer.Collector{}
	if _, err := importer.New(c.node0, col).Import(&buf); err != nil {
		c.t.Fatal(err)
	}
	return col.Txs
}

// submit sends txs to node i and returns the receipts, in order.
func (c *cluster) submit(i int, txs [][]byte) []engine.Receipt {
	c.t.Helper()
	cl := c.client(i)
	out := make([]engine.Receipt, len(txs))
	var wg sync.WaitGroup
	wg.Add(len(txs))
	for k, raw := range txs {
		k := k
		if err := cl.SubmitAsync(raw, func(r engine.Receipt) { out[k] = r; wg.Done() }); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := cl.Flush(); err != nil {
		c.t.Fatalf("submit to node%d: %v", i, err)
	}
	wg.Wait()
	return out
}

func accepted(rs []engine.Receipt) (n int) {
	for _, r := range rs {
		if r.Err == nil {
			n++
		}
	}
	return n
}

// refusals names the distinct errors of rs, for a failure message.
func refusals(rs []engine.Receipt) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		if r.Err != nil && !seen[r.Err.Error()] {
			seen[r.Err.Error()] = true
			out = append(out, r.Err.Error())
		}
	}
	return out
}

// TestConsortiumFaults runs four validators as processes on loopback and
// checks, by state hashes and record counts, never by timing: a workload
// with refused records leaves every node with the same state and the same
// answers; one validator killed, the others commit, and it catches up when
// restarted; two of four killed, no block is committed, and one brought
// back resumes the commits with nothing lost; a validator stopped
// (SIGSTOP) while the others commit catches up when continued; and all
// four killed during a submission keep every acknowledged record.
func TestConsortiumFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four validator processes")
	}
	c := newCluster(t, 4)
	all := []int{0, 1, 2, 3}
	for _, i := range all {
		c.start(i)
	}
	c.agree(all, 1)

	// A workload, with refused records: replays of accepted ones and a
	// site registration signed by a site, not the authority.
	world := c.workload(40, 3, 1)
	// The world's records in order: the first part holds its sites and
	// identities; each later part goes in at one of the faults below.
	cut := func(from, to int) [][]byte { return world[len(world)*from/100 : len(world)*to/100] }
	txs := cut(0, 40)
	rs := c.submit(1, txs)
	if n := accepted(rs); n != len(txs) {
		t.Fatalf("%d of %d accepted: %v", n, len(txs), firstErr(rs))
	}
	// node2 has committed them too before they are sent again: until it
	// has, a resubmission is a first submission there, committed with them.
	var top uint64
	for _, r := range rs {
		top = max(top, r.Height)
	}
	c.agree(all, top)
	_, siteKey, _ := ed25519.GenerateKey(nil)
	forged := ledger.NewTx(&ledger.RegisterSite{Site: "forged", Kind_: "shop", Region: "420100"})
	forged.Sign(c.node0.Genesis.ChainID, siteKey)
	bad := c.submit(2, [][]byte{txs[0], txs[len(txs)-1], forged.Bytes()})
	for k, want := range []string{state.CodeReplay, state.CodeReplay, state.CodeWrongSigner} {
		if r, ok := state.IsRejection(bad[k].Err); !ok || r.Code != want {
			t.Fatalf("refused record %d: %v, want %s", k, bad[k].Err, want)
		}
	}
	// Two registrations of one site id, sent to two nodes at once: both
	// may pass their node's door, the block refuses one of them.
	_, race := c.raceRegistrations()
	if n := accepted(race[0]) + accepted(race[1]); n != 1 {
		t.Fatalf("%d of two registrations of one site accepted: %v / %v", n, race[0][0].Err, race[1][0].Err)
	}
	total := uint64(len(txs) + 1)
	st := c.agree(all, 2)
	c.sameAnswers(all)
	checkTxs(t, c, all, total)
	t.Logf("4 validators agree at height %d with %d records", st.Height, total)

	// One validator killed: the other three commit.
	c.kill(3)
	more := cut(40, 55)
	if n := accepted(c.submit(0, more)); n != len(more) {
		t.Fatalf("with node3 down, %d of %d accepted", n, len(more))
	}
	total += uint64(len(more))
	st = c.agree([]int{0, 1, 2}, st.Height+1)
	// Restarted, it catches up and agrees.
	c.start(3)
	st = c.agree(all, st.Height)
	c.sameAnswers(all)
	checkTxs(t, c, all, total)

	// Two of four killed: a record submitted is not committed (the round
	// moves on without a commit: more than 2/3 of the power is needed).
	c.kill(2)
	c.kill(3)
	before := c.health(0).Height // no block can be committed from here on
	late := cut(55, 70)
	done := make(chan []engine.Receipt, 1)
	go func() { done <- c.submit(0, late) }()
	// Both live validators have voted at the next height, and more than
	// 2/3 of the power is not there: it cannot commit.
	c.waitFor("the two live validators to prevote at the next height", func() bool { return prevotes(c, 0, before+1) >= 2 })
	for _, i := range []int{0, 1} {
		if s := c.health(i); s == nil || s.Height != before {
			t.Fatalf("node%d committed with two of four validators down: %+v (was at %d)", i, s, before)
		}
	}
	// One brought back: commits resume, and the waiting records are in.
	c.start(2)
	if n := accepted(<-done); n != len(late) {
		t.Fatalf("after node2 came back, %d of %d accepted", n, len(late))
	}
	total += uint64(len(late))
	c.start(3)
	st = c.agree(all, before+1)
	c.sameAnswers(all)
	checkTxs(t, c, all, total)

	// SIGSTOP one while the others commit; SIGCONT: it catches up.
	c.procs[1].Process.Signal(syscall.SIGSTOP)
	paused := cut(70, 80)
	if n := accepted(c.submit(0, paused)); n != len(paused) {
		t.Fatalf("with node1 stopped, %d of %d accepted", n, len(paused))
	}
	total += uint64(len(paused))
	st = c.agree([]int{0, 2, 3}, st.Height+1)
	c.procs[1].Process.Signal(syscall.SIGCONT)
	st = c.agree(all, st.Height)
	checkTxs(t, c, all, total)

	// All four killed during a submission: every acknowledged record is
	// there when they restart.
	last := cut(80, 100)
	acked := make(chan ledger.Hash, len(last))
	go func() {
		cl := c.client(0)
		for _, raw := range last {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			r, err := cl.SubmitOne(ctx, raw)
			cancel()
			if err != nil {
				break
			}
			var id ledger.Hash
			if id, err = ledger.ParseHash(r.Tx); err == nil {
				acked <- id
			}
		}
		close(acked)
	}()
	var ids []ledger.Hash
	for id := range acked {
		ids = append(ids, id)
		if len(ids) == 5 {
			for _, i := range all {
				c.kill(i)
			}
		}
	}
	if len(ids) < 5 {
		t.Fatalf("only %d records acknowledged before the kill", len(ids))
	}
	for _, i := range all {
		c.start(i)
	}
	c.agree(all, st.Height)
	for _, id := range ids {
		for _, i := range all {
			c.get(i, "/v1/tx/"+id.String())
		}
	}
	c.sameAnswers(all)
	t.Logf("%d records acknowledged before all four were killed: all on every node after restart", len(ids))
}

func firstErr(rs []engine.Receipt) error {
	for _, r := range rs {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// checkTxs checks that each node's chain holds want records.
func checkTxs(t *testing.T, c *cluster, nodes []int, want uint64) {
	t.Helper()
	for _, i := range nodes {
		v, err := c.client(i).Verify(context.Background())
		if err != nil || v.Txs != want {
			t.Fatalf("node%d holds %d records, want %d (%v): %+v", i, v.Txs, want, err, v)
		}
	}
}

// rpcJSON decodes the answer of CometBFT's RPC at url into v.
func rpcJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// prevotes counts the prevotes node i has seen in a round at
// height, from CometBFT's RPC (0 when it is at another height or does
// not answer).
func prevotes(c *cluster, i int, height uint64) int {
	res, err := http.Get(c.rpcs[i] + "/consensus_state")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	var v struct {
		Result struct {
			RoundState struct {
				HRS   string `json:"height/round/step"`
				Votes []struct {
					Prevotes string `json:"prevotes_bit_array"`
				} `json:"height_vote_set"`
			} `json:"round_state"`
		} `json:"result"`
	}
	if json.NewDecoder(res.Body).Decode(&v) != nil {
		return 0
	}
	rs := v.Result.RoundState
	if h, _, _ := strings.Cut(rs.HRS, "/"); h != strconv.FormatUint(height, 10) || len(rs.Votes) == 0 {
		return 0
	}
	// "BA{4:xx__} 20/40 = 0.50": an x per validator that voted; the
	// most in any round.
	most := 0
	for _, r := range rs.Votes {
		bits, _, _ := strings.Cut(r.Prevotes, "}")
		most = max(most, strings.Count(bits, "x"))
	}
	return most
}

// TestFaultyProposer: a validator that puts a transaction whose signature
// does not verify into every proposal it makes has those proposals
// refused by the others; the chain moves on without them, and no block
// holds the transaction.
func TestFaultyProposer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four validator processes")
	}
	c := newCluster(t, 4)
	all := []int{0, 1, 2, 3}
	c.start(0, "EPILEDGER_TEST_POISON=1")
	for _, i := range all[1:] {
		c.start(i)
	}
	c.agree(all, 1)
	world := c.workload(20, 2, 7)
	// In parts, so that every validator's turn to propose comes.
	parts := 8
	var height uint64
	for k := 0; k < parts; k++ {
		part := world[len(world)*k/parts : len(world)*(k+1)/parts]
		// A part may name an alias bound in the one before: the node it
		// goes to checks it at its door, so it must have committed that
		// part first (the receipts came from another node).
		i := 1 + k%3
		c.waitFor(fmt.Sprintf("node%d at height >= %d", i, height), func() bool {
			s := c.health(i)
			return s != nil && s.Height >= height
		})
		rs := c.submit(i, part)
		if accepted(rs) != len(part) {
			t.Fatalf("part %d: %d of %d accepted; refused: %q", k, accepted(rs), len(part), refusals(rs))
		}
		for _, r := range rs {
			height = max(height, r.Height)
		}
	}
	st := c.agree(all, uint64(parts))
	c.sameAnswers(all)
	checkTxs(t, c, all, uint64(len(world)))
	// Every transaction in CometBFT's blocks is a record of ours: the
	// poisoned one is in none.
	inBlocks := 0
	for h := uint64(1); h <= st.Height; h++ {
		res, err := http.Get(c.rpcs[1] + "/block?height=" + strconv.FormatUint(h, 10))
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Result struct {
				Block struct {
					Data struct {
						Txs []string `json:"txs"`
					} `json:"data"`
				} `json:"block"`
			} `json:"result"`
		}
		err = json.NewDecoder(res.Body).Decode(&b)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, b64 := range b.Result.Block.Data.Txs {
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatal(err)
			}
			if !lightclient.IsBundle(raw) {
				inBlocks++
				continue
			}
			recs, err := lightclient.Unbundle(raw)
			if err != nil {
				t.Fatalf("block %d: %v", h, err)
			}
			inBlocks += len(recs)
		}
	}
	if inBlocks != len(world) {
		t.Fatalf("CometBFT's blocks hold %d records (bundled or not), the ledger %d", inBlocks, len(world))
	}
	refused := 0
	for _, i := range all[1:] {
		b, _ := os.ReadFile(filepath.Join(c.homes[i], "node.log"))
		refused += strings.Count(string(b), "proposal refused: a signature does not verify")
	}
	if refused == 0 {
		t.Fatal("no validator refused a proposal of the faulty proposer")
	}
	t.Logf("%d refusals of the faulty proposer's proposals; %d heights, %d records", refused, st.Height, len(world))
}

// TestOtherGenesisRefused: a node whose epiledger genesis differs from the
// consortium's (here one rule: the grace period) is on another CometBFT
// network, and its peers refuse it at the handshake: it gets no block,
// while the others commit. A node whose genesis.json differs but runs the
// consortium's CometBFT genesis refuses to start, saying so.
func TestOtherGenesisRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts validator processes")
	}
	c := newCluster(t, 4)
	editGrace(t, c.homes[3])
	// Its own genesis in its CometBFT genesis too: another network.
	odd, err := home.Load(c.homes[3])
	if err != nil {
		t.Fatal(err)
	}
	var vals []comet.Validator
	for i := range c.homes {
		h, _ := home.Load(c.homes[i])
		v, err := comet.ReadValidator(h)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, v)
	}
	if err := comet.WriteGenesis(odd, vals); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 2, 3} {
		c.start(i)
	}
	// 3 of 4 commit without it.
	c.agree([]int{0, 1, 2}, 1)
	txs := c.workload(10, 1, 9)
	if n := accepted(c.submit(0, txs)); n != len(txs) {
		t.Fatalf("%d of %d accepted", n, len(txs))
	}
	st := c.agree([]int{0, 1, 2}, 2)
	c.waitFor("node3 to serve", func() bool { return c.health(3) != nil })
	for _, i := range []int{0, 1, 2} {
		for _, id := range peerIDs(t, c, i) {
			if id == vals[3].NodeID {
				t.Fatalf("node%d took the node of another genesis as a peer", i)
			}
		}
	}
	if s := c.health(3); s.Height != 0 || st.Height == 0 {
		t.Fatalf("the node of another genesis is at height %d (the others at %d)", s.Height, st.Height)
	}

	// The consortium's CometBFT genesis, its own epiledger genesis: it
	// refuses to run.
	c.kill(3)
	h0, _ := home.Load(c.homes[0])
	if err := comet.WriteGenesis(h0, vals); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(c.homes[0], "cometbft", "config", "genesis.json"))
	os.WriteFile(filepath.Join(c.homes[3], "cometbft", "config", "genesis.json"), b, 0o644)
	os.RemoveAll(filepath.Join(c.homes[3], "cometbft", "data"))
	os.MkdirAll(filepath.Join(c.homes[3], "cometbft", "data"), 0o700)
	os.WriteFile(filepath.Join(c.homes[3], "cometbft", "data", "priv_validator_state.json"), []byte(`{"height":"0","round":0,"step":0}`), 0o600)
	p := exec.Command(os.Args[0], "node", "--home", c.homes[3])
	p.Env = append(os.Environ(), "EPILEDGER_TEST_CLI=1")
	out, err := p.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is not the consortium's") {
		t.Fatalf("a node on another genesis.json: %v\n%s", err, tail(string(out), 2000))
	}
}

// editGrace changes one rule of a home's genesis.json.
func editGrace(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, "genesis.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	nb := bytes.Replace(b, []byte(`"grace": "6h"`), []byte(`"grace": "5h"`), 1)
	if bytes.Equal(nb, b) {
		t.Fatal("genesis.json has no grace of 6h")
	}
	if err := os.WriteFile(p, nb, 0o644); err != nil {
		t.Fatal(err)
	}
}

// peerIDs are the node ids of node i's peers, from CometBFT's RPC.
func peerIDs(t *testing.T, c *cluster, i int) []string {
	t.Helper()
	res, err := http.Get(c.rpcs[i] + "/net_info")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct {
		Result struct {
			Peers []struct {
				NodeInfo struct {
					ID string `json:"id"`
				} `json:"node_info"`
			} `json:"peers"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range v.Result.Peers {
		ids = append(ids, p.NodeInfo.ID)
	}
	return ids
}
