package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cmted "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/privval"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/comet"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/lightclient/lctest"
)

// TestHierarchyCometBFT (issue 15, step 4): a three-level hierarchy in
// separate processes where the city runs on CometBFT: Jiang'an district
// (solo, 420102) anchors into Wuhan city (a consortium of three
// validators, each its own node process, 420100), whose signed headers
// are relayed into Hubei province (solo, 420000) as light anchors and
// verified there by CometBFT's light-client rules. Forged anchors are
// refused: signed by less than 2/3 of the validators, a header of another
// chain signed by the same validators, and a header whose trusted
// validator set is not the one the province holds. A validator change
// inside the city is then followed through the relayed headers.
func TestHierarchyCometBFT(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	must := func(args ...string) string { t.Helper(); return mustRun(t, args...) }
	hubei, jiangan, wuhan := filepath.Join(root, "hubei"), filepath.Join(root, "jiangan"), filepath.Join(root, "wuhan")
	must("init", "--home", hubei, "--chain-id", "hubei-1", "--region", "420000")
	must("init", "--home", jiangan, "--chain-id", "jiangan-1", "--region", "420102")
	hubeiURL, jianganURL := startNode(t, hubei).url, startNode(t, jiangan).url
	base, err := comet.FreePorts(9)
	if err != nil {
		t.Fatal(err)
	}
	must("testnet", "--validators", "3", "--dir", wuhan, "--chain-id", "wuhan-bft", "--region", "420100",
		"--base-port", strconv.Itoa(base), "--api-port", strconv.Itoa(base+6), "--timeout-commit", "200ms")
	nodes := make([]string, 3)
	var wurl [3]string
	for i := range nodes {
		nodes[i] = filepath.Join(wuhan, fmt.Sprintf("node%d", i))
		wurl[i] = startNode(t, nodes[i]).url
	}
	h1, err := home.Load(nodes[1])
	if err != nil {
		t.Fatal(err)
	}
	city := client.New(wurl[1], h1.APIToken())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	h0, err := home.Load(nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	authority := client.New(wurl[0], h0.APIToken())
	// caughtUp waits until node 1, which the relay reads, has every block
	// node 0 (where records are submitted) has, and returns its height.
	caughtUp := func() uint64 {
		t.Helper()
		want, err := authority.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for {
			st, err := city.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Height >= want.Height {
				return st.Height
			}
			select {
			case <-ctx.Done():
				t.Fatalf("node 1 stays at height %d, node 0 is at %d", st.Height, want.Height)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}

	relayKey := filepath.Join(root, "relay.key")
	relayPub := strings.TrimSpace(must("keygen", "--out", relayKey))
	must("role", "grant", "--home", hubei, "--node", hubeiURL, "--key", relayPub, "--role", "relay", "--name", "relay")
	rec := regexp.MustCompile(`grant ([0-9a-f]{64}) committed`).FindStringSubmatch(
		must("role", "grant", "--home", jiangan, "--node", jianganURL, "--key", relayPub, "--role", "relay", "--name", "relay"))
	if rec == nil {
		t.Fatal("no record on the district")
	}
	audKey := filepath.Join(root, "auditor.key")
	audPub := strings.TrimSpace(must("keygen", "--out", audKey))
	for _, c := range [][2]string{{hubei, hubeiURL}, {jiangan, jianganURL}, {nodes[0], wurl[0]}} {
		must("role", "grant", "--home", c[0], "--node", c[1], "--key", audPub, "--role", "auditor", "--name", "auditor")
	}
	must("role", "grant", "--home", nodes[0], "--node", wurl[0], "--key", relayPub, "--role", "relay", "--name", "relay")
	if out := must("child", "register", "--home", hubei, "--node", hubeiURL, "--genesis", filepath.Join(nodes[0], "genesis.json")); !strings.Contains(out, "registered child chain wuhan-bft") {
		t.Fatalf("register the city: %s", out)
	}
	must("child", "register", "--home", nodes[0], "--node", wurl[0], "--genesis", filepath.Join(jiangan, "genesis.json"))

	// The district anchors into the CometBFT city; the city, from a
	// node that is not the chain authority's, into the province.
	if out := must("anchor", "relay", "--home", jiangan, "--node", jianganURL, "--parent", wurl[0], "--relay-key", relayKey, "--once"); !strings.Contains(out, "anchored block ") {
		t.Fatalf("relay the district: %s", out)
	}
	relayCity := func() string {
		t.Helper()
		caughtUp()
		out := must("anchor", "relay", "--home", nodes[1], "--node", wurl[1], "--parent", hubeiURL, "--relay-key", relayKey, "--once")
		if !strings.Contains(out, "signed by its validators") {
			t.Fatalf("relay the city: %s", out)
		}
		return out
	}
	relayCity()
	// More blocks, then again: verified from the last anchored header.
	must("role", "grant", "--home", nodes[0], "--node", wurl[0], "--key", strings.Repeat("ab", 32), "--role", "investigator", "--name", "an investigator")
	if out := relayCity(); !regexp.MustCompile(`verified from [1-9]`).MatchString(out) {
		t.Errorf("the second relay did not verify from the first anchor: %s", out)
	}
	k, err := home.LoadKeyFile(relayKey)
	if err != nil {
		t.Fatal(err)
	}
	province := client.New(hubeiURL, "")
	province.Key, province.ChainID = k, "hubei-1"
	child := func() (held int64) {
		t.Helper()
		ch, ok, err := province.Child(ctx, "wuhan-bft")
		if err != nil || !ok || ch.CometBFT == nil || ch.CometBFT.FrozenAt != 0 {
			t.Fatalf("the city on the province: %+v %v %v", ch, ok, err)
		}
		return int64(ch.Height)
	}
	held := child()
	must("role", "grant", "--home", nodes[0], "--node", wurl[0], "--key", strings.Repeat("cd", 32), "--role", "investigator", "--name", "another investigator")
	if h := caughtUp(); h <= uint64(held) {
		t.Fatalf("the city is at height %d after a record, the province holds %d", h, held)
	}
	next := held + 1
	lb, err := city.LightBlock(ctx, next)
	if err != nil {
		t.Fatal(err)
	}

	// Forgeries, each submitted by the relay as a light anchor.
	submit := func(name string, an lightclient.Anchor, field string) {
		t.Helper()
		tx := ledger.NewTx(&ledger.LightAnchor{ChainID: "wuhan-bft", TrustedHeight: held, SignedHeader: an.SignedHeader,
			Validators: an.Validators, TrustedValidators: an.TrustedValidators})
		tx.Sign("hubei-1", k)
		_, err := province.SubmitOne(ctx, tx.Bytes())
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Body.Field != field {
			t.Errorf("%s: %v, want a refusal naming %s", name, err, field)
		}
	}
	// Signed by one validator of three.
	var p cmtproto.SignedHeader
	if err := p.Unmarshal(lb.SignedHeader); err != nil {
		t.Fatal(err)
	}
	sh, err := types.SignedHeaderFromProto(&p)
	if err != nil {
		t.Fatal(err)
	}
	signed := 0
	for i, s := range sh.Commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit {
			if signed++; signed > 1 {
				sh.Commit.Signatures[i] = types.NewCommitSigAbsent()
			}
		}
	}
	b, err := sh.ToProto().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	submit("signed by one of three validators", lightclient.Anchor{SignedHeader: b, Validators: lb.Validators}, "signed_header")

	// Another chain's header, signed by the city's own validators.
	var keys []cmted.PrivKey
	for _, n := range nodes {
		dir := filepath.Join(n, "cometbft", "config")
		pv := privval.LoadFilePVEmptyState(filepath.Join(dir, "priv_validator_key.json"), "")
		keys = append(keys, pv.Key.PrivKey.(cmted.PrivKey))
	}
	other := lctest.NewChain("wuhan-elsewhere", time.Now().Add(-time.Duration(next)*time.Second), next+1, func(int64) []cmted.PrivKey { return keys })
	submit("another chain's header, signed by the same validators", other.Anchor(next, held), "signed_header")

	// A header made up by strangers, who name themselves the trusted set.
	strangers := lctest.Keys(3)
	fake := lctest.NewChain(sh.ChainID, time.Now().Add(-time.Duration(next)*time.Second), next+1, func(int64) []cmted.PrivKey { return strangers })
	submit("strangers naming themselves the trusted set", fake.ForgedBy(next+1, held, strangers, lctest.SetOf(strangers)), "trusted_validators")
	submit("strangers, adjacent", fake.ForgedBy(next, held, strangers, nil), "signed_header")

	// None of them froze the city or moved it; the honest relay goes on.
	if child() != held {
		t.Fatal("a forged anchor moved the city")
	}
	relayCity()

	// A validator change inside the city: one organisation's power from
	// 10 to 13 (under a third of the voting power at once). The relay goes
	// on, and the province follows the new set through the headers.
	var vs struct {
		Validators []struct {
			Org   string `json:"organisation"`
			Key   string `json:"public_key"`
			Power int64
		}
	}
	if err := json.Unmarshal([]byte(must("consortium", "validators", "--home", nodes[0], "--node", wurl[0], "--json")), &vs); err != nil || len(vs.Validators) != 3 {
		t.Fatalf("the city's validators: %+v %v", vs, err)
	}
	v := vs.Validators[2]
	must("consortium", "propose", "--home", nodes[0], "--node", wurl[0], "--org", v.Org, "--validator-key", v.Key, "--power", "13", "--reason", "a larger share for "+v.Org)
	firstSet := func() string {
		t.Helper()
		as, err := province.ChildAnchors(ctx, "wuhan-bft", 1)
		if err != nil || len(as) == 0 {
			t.Fatalf("the city's anchors on the province: %v", err)
		}
		return as[0].ValidatorsHash
	}()
	followed := false
	for i := 0; i < 20 && !followed; i++ {
		must("role", "grant", "--home", nodes[0], "--node", wurl[0], "--key", fmt.Sprintf("%064x", 0xe0+i), "--role", "investigator", "--name", "after the change")
		relayCity()
		as, err := province.ChildAnchors(ctx, "wuhan-bft", 1)
		if err != nil {
			t.Fatal(err)
		}
		followed = as[len(as)-1].ValidatorsHash != firstSet
	}
	if !followed {
		t.Fatal("the province never verified a header signed by the changed validator set")
	}
	child() // not frozen: the change is the city's own, through its headers

	// A stale validator set: a header after the change presented with the
	// set from before it (the same keys, the old powers) is refused, and
	// so is that old set offered as the trusted one.
	held = child()
	for i := 0; i < 2; i++ {
		must("role", "grant", "--home", nodes[0], "--node", wurl[0], "--key", fmt.Sprintf("%064x", 0xf0+i), "--role", "investigator", "--name", "after the anchor")
	}
	caughtUp()
	stale, err := city.LightBlock(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := city.LightBlock(ctx, held+1)
	if err != nil {
		t.Fatal(err)
	}
	submit("a header after the change with the stale set", lightclient.Anchor{SignedHeader: fresh.SignedHeader, Validators: stale.Validators}, "signed_header")
	later, err := city.LightBlock(ctx, held+2)
	if err != nil {
		t.Fatal(err)
	}
	submit("the stale set as the trusted one", lightclient.Anchor{SignedHeader: later.SignedHeader, Validators: later.Validators,
		TrustedValidators: stale.Validators}, "trusted_validators")
	if child() != held {
		t.Fatal("a stale set moved the city")
	}

	// The district's record, proven to the province offline: its
	// anchor is in the city's CometBFT blocks, signed from the genesis
	// validators the province registered, up to a header the province
	// verified.
	up := must("tx", "proof", "--node", jianganURL, "--as", audKey, "--up", wurl[1], "--up", hubeiURL, rec[1])
	file := filepath.Join(root, "up.json")
	if err := os.WriteFile(file, []byte(up), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok := must("tx", "check", file, "--root", filepath.Join(hubei, "genesis.json")); !strings.Contains(ok, "anchored up 2 level(s)") || !strings.Contains(ok, `of "hubei-1"`) {
		t.Errorf("tx check: %s", ok)
	}
	tampered := strings.Replace(up, `"code": 0`, `"code": 1`, 1)
	if tampered == up {
		t.Fatalf("no result code to tamper with in %s", up)
	}
	if err := os.WriteFile(file, []byte(tampered), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, code := run(t, "tx", "check", file, "--root", filepath.Join(hubei, "genesis.json")); code != 1 || !strings.Contains(out, "INVALID") {
		t.Errorf("a tampered CometBFT level: exit %d %s", code, out)
	}
	if out := must("child", "list", "--home", hubei, "--node", hubeiURL); !strings.Contains(out, "wuhan-bft") || !strings.Contains(out, "cometbft") {
		t.Errorf("child list: %s", out)
	}
	if out := must("child", "list", "--home", nodes[0], "--node", wurl[0]); !strings.Contains(out, "jiangan-1") {
		t.Errorf("the city's children: %s", out)
	}

	// Intelligence from the CometBFT city: its airport team (N3) submits,
	// its health commission (N2) endorses and confirms; the confirmation
	// goes up as an intel_summary_bft, proven under a header the province
	// verified, and is a digest on the province.
	keyOf := func(name string) (file, pub string) {
		file = filepath.Join(root, name+".key")
		return file, strings.TrimSpace(must("keygen", "--out", file))
	}
	airport, airportPub := keyOf("airport")
	cityN2, cityN2Pub := keyOf("city-n2")
	provN2, provN2Pub := keyOf("province-n2")
	must("role", "grant", "--home", nodes[0], "--node", wurl[0], "--key", airportPub, "--role", "n3", "--name", "Tianhe airport")
	must("role", "grant", "--home", nodes[0], "--node", wurl[0], "--key", cityN2Pub, "--role", "n2", "--name", "Wuhan health commission")
	must("role", "grant", "--home", hubei, "--node", hubeiURL, "--key", provN2Pub, "--role", "n2", "--name", "Hubei health commission")
	recFile, draft := filepath.Join(root, "tianhe.json"), filepath.Join(root, "tianhe.draft.json")
	if err := os.WriteFile(recFile, []byte(`{"dimension":"epidemic","level":2,"secrecy":"internal","time":"2021-07-28T09:00:00+08:00",
"region":"420100","place":"Tianhe airport","involved":40,"confirmed":3,"facts":"three cleaners test positive","endorsements":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	must("intel", "draft", recFile, "--key", airport, "--node", wurl[0], "--out", draft)
	txOf := func(out string) string {
		t.Helper()
		m := regexp.MustCompile(`[0-9a-f]{64}`).FindString(out)
		if m == "" {
			t.Fatalf("no transaction in %q", out)
		}
		return m
	}
	intelRec := txOf(must("intel", "endorse", draft, "--key", cityN2, "--node", wurl[0]))
	confirm := txOf(strings.SplitN(must("intel", "confirm", intelRec, "--key", cityN2, "--node", wurl[0]), ": tx ", 2)[1])
	// Its proof waits for the block after the confirmation's, which signs
	// its result; then that block is verified on the province.
	caughtUp()
	must("tx", "proof", "--node", wurl[1], "--as", audKey, confirm)
	relayCity()
	carryIntel := func() string {
		t.Helper()
		return must("intel", "relay", "--node", wurl[1], "--to", hubeiURL, "--relay-key", relayKey)
	}
	if out := carryIntel(); !strings.Contains(out, "1 carried") {
		t.Fatalf("wuhan-bft -> hubei: %s", out)
	}
	if out := carryIntel(); !strings.Contains(out, "0 carried, 1 held there already") {
		t.Errorf("carrying again: %s", out)
	}
	var list struct{ Intel []map[string]any }
	if err := json.Unmarshal([]byte(must("intel", "list", "--node", hubeiURL, "--as", provN2, "--from", "2021-07-01", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Intel) != 1 || list.Intel[0]["record"] != intelRec || list.Intel[0]["origin"] != "wuhan-bft" || list.Intel[0]["from"] != "wuhan-bft" ||
		list.Intel[0]["digest"].(map[string]any)["confirmed"] != 3.0 {
		t.Fatalf("the province's digest from the CometBFT city: %+v", list.Intel)
	}
	// The province proves it offline: its intel_summary_bft holds the
	// city's confirmation, accepted in a CometBFT block, linked to one the
	// province verified.
	digestProof := filepath.Join(root, "digest.json")
	if err := os.WriteFile(digestProof, []byte(must("tx", "proof", "--node", hubeiURL, "--as", audKey, list.Intel[0]["tx"].(string))), 0o644); err != nil {
		t.Fatal(err)
	}
	out := must("tx", "check", digestProof)
	for _, want := range []string{`carries intel_confirm ` + confirm + ` of chain "wuhan-bft"`, "of its CometBFT block (chain wuhan-bft-",
		"a confirmation for the region above of record " + intelRec, "compare CometBFT block "} {
		if !strings.Contains(out, want) {
			t.Errorf("the province's proof of the digest: no %q in\n%s", want, out)
		}
	}
	// The province's N2 confirms it in turn, for the nation.
	must("intel", "confirm", list.Intel[0]["tx"].(string), "--key", provN2, "--node", hubeiURL)
}

// TestBenchHierarchyCometBFT: bench hierarchy --cometbft runs the city as
// three validator processes of this binary, relays each record's block up
// through it (a light anchor into the province) and stops them.
func TestBenchHierarchyCometBFT(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "bench", "hierarchy", "--records", "3", "--cometbft", "--timeout-commit", "50ms")
	for _, want := range []string{"the city on CometBFT (3 validators, timeout_commit 50ms)", "anchored on national", "national chain: 3 anchors", "per light anchor"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench hierarchy --cometbft: no %q in\n%s", want, out)
		}
	}
	if _, errs, code := run(t, "bench", "hierarchy", "--cometbft", "--timeout-commit", "0s"); code == 0 || !strings.Contains(errs, "--timeout-commit") {
		t.Errorf("--timeout-commit 0s: exit %d %s", code, errs)
	}
}
