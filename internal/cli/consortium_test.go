package cli_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/comet"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/report"
)

// TestConsortiumValidators (issue 13, point 6) runs the ceremony and a
// join and a leave through the CLI on a solo home, which records the
// changes (and applies none: it has no validators): four organisations
// generate their keys and cards, the authority names them in the genesis;
// a fifth organisation's join is decided by 2 of the 4 authorities; bad
// keys, strangers, repeated approvals, a change of a third of the power,
// a leave with another key are refused and change nothing; the kit makes
// the fifth organisation's home beside its keys.
func TestConsortiumValidators(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	keyHB, keySH, keyAdmin, keyStranger := filepath.Join(d, "hubei.key"), filepath.Join(d, "shanghai.key"), filepath.Join(d, "admin.key"), filepath.Join(d, "stranger.key")
	pub := map[string]string{}
	for _, k := range []string{keyHB, keySH, keyAdmin, keyStranger} {
		pub[k] = strings.TrimSpace(mustRun(t, "keygen", "--out", k))
	}
	dir := filepath.Join(d, "authority")
	mustRun(t, "init", "--home", dir, "--region", "000000", "--authority", "420100="+pub[keyHB], "--authority", "310000="+pub[keySH],
		"--administrator", pub[keyAdmin], "--correction-quorum", "2")
	orgs := []string{"health-commission", "cdc", "police", "transport", "railway"}
	cards := make([]string, len(orgs))
	keys := make([]string, len(orgs))
	for i, org := range orgs {
		out := mustRun(t, "consortium", "keygen", "--home", filepath.Join(d, org), "--org", org, "--p2p", fmt.Sprintf("127.0.0.1:%d", 27000+2*i), "--loopback")
		var c comet.KeyCard
		if err := json.Unmarshal([]byte(out), &c); err != nil || c.Org != org || len(c.PublicKey) != 64 || c.NodeID == "" {
			t.Fatalf("card %q: %v", out, err)
		}
		if again := mustRun(t, "consortium", "keygen", "--home", filepath.Join(d, org), "--org", org, "--p2p", c.P2P, "--loopback"); again != out {
			t.Fatalf("keygen run again printed another card: %s, then %s", out, again)
		}
		cards[i], keys[i] = writeFile(t, org+".json", out), c.PublicKey
	}
	mustRun(t, append([]string{"consortium", "genesis", "--home", dir}, cards[:4]...)...)
	h, err := home.Load(dir)
	if err != nil || len(h.Genesis.Validators) != 4 {
		t.Fatalf("genesis validators: %v %+v", err, h)
	}
	list := func() report.ValidatorsView {
		t.Helper()
		var v report.ValidatorsView
		if err := json.Unmarshal([]byte(mustRun(t, "consortium", "validators", "--home", dir, "--json")), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	power := func(v report.ValidatorsView) map[string]int64 {
		out := map[string]int64{}
		for _, x := range v.Validators {
			out[x.Org] = x.Power
		}
		return out
	}
	if p := power(list()); len(p) != 4 || p["cdc"] != 10 {
		t.Fatalf("genesis set: %v", p)
	}
	if out := mustRun(t, "consortium", "validators", "--home", dir); !strings.Contains(out, "cdc") || !strings.Contains(out, keys[1]) || !strings.Contains(out, "genesis") {
		t.Fatalf("validators table:\n%s", out)
	}
	fail := func(want string, args ...string) {
		t.Helper()
		out, errs, code := run(t, append(args, "--home", dir)...)
		if code != 1 || !strings.Contains(errs, want) {
			t.Fatalf("epiledger %v: exit %d, stdout %q stderr %q; want %q", args, code, out, errs, want)
		}
	}
	join := []string{"consortium", "propose", "--card", cards[4], "--reason", "the railway joins"}
	fail("wrong_signer", append(join, "--key", keyStranger)...)
	fail("key: not an Ed25519 public key", "consortium", "propose", "--org", "railway", "--validator-key", strings.Repeat("ff", 32), "--reason", "x", "--key", keyHB)
	fail("key: a key of small order", "consortium", "propose", "--org", "railway", "--validator-key", strings.Repeat("00", 32), "--reason", "x", "--key", keyHB)
	fail("--validator-key: the validator's public key", "consortium", "propose", "--org", "railway", "--validator-key", "abc", "--reason", "x", "--key", keyHB)
	fail("a third or more", append(join, "--power", "14", "--key", keyHB)...)
	fail("is organisation \"cdc\"'s validator key", "consortium", "propose", "--org", "railway", "--validator-key", keys[1], "--reason", "x", "--key", keyHB)
	fail("nothing to leave", append(join, "--power", "0", "--key", keyHB)...)
	if v := list(); len(v.Changes) != 0 {
		t.Fatalf("refused proposals left changes: %+v", v.Changes)
	}
	out := mustRun(t, append(join, "--key", keyHB, "--home", dir)...)
	id := strings.Fields(out)[2]
	v := list()
	if len(v.Changes) != 1 || v.Changes[0].Decided != 0 || v.Changes[0].Approvals != 1 || v.Changes[0].Quorum != 2 || len(v.Changes[0].Parties) != 4 || power(v)["railway"] != 0 {
		t.Fatalf("after one approval of 2: %+v", v)
	}
	fail("already approved", "consortium", "approve", "--change", id, "--key", keyHB)
	fail("wrong_signer", "consortium", "approve", "--change", id, "--key", keyStranger)
	fail("--change: ledger: hash must be 64 hex digits", "consortium", "approve", "--change", "xyz", "--key", keySH)
	mustRun(t, "consortium", "approve", "--home", dir, "--change", id, "--key", keySH)
	v = list()
	if power(v)["railway"] != 10 || v.Changes[0].Decided == 0 || len(v.Validators) != 5 {
		t.Fatalf("after two approvals of 2: %+v", v)
	}
	fail("decided at height", "consortium", "approve", "--change", id, "--key", keyAdmin)
	// A leave names the current key; the chain authority (the authority
	// of region 000000) proposes, the administrator approves.
	fail("validator key is another", "consortium", "propose", "--org", "police", "--validator-key", pub[keyStranger], "--power", "0", "--reason", "x")
	out = mustRun(t, "consortium", "propose", "--home", dir, "--org", "police", "--validator-key", keys[2], "--power", "0", "--reason", "the police leave")
	mustRun(t, "consortium", "approve", "--home", dir, "--change", strings.Fields(out)[2], "--key", keyAdmin)
	if p := power(list()); p["police"] != 0 || p["railway"] != 10 || p["cdc"] != 10 {
		t.Fatalf("after the leave: %v", p)
	}
	if out := mustRun(t, "verify", "--home", dir, "--replay"); !strings.Contains(out, "ok") {
		t.Fatalf("verify --replay: %s", out)
	}

	// The kit makes the railway's node home beside the keys keygen wrote.
	kit := filepath.Join(d, "kit")
	_, errs, code := run(t, "consortium", "kit", "--home", dir, "--out", kit)
	if code != 1 || !strings.Contains(errs, "--peers") {
		t.Fatalf("a kit of a home without a node and without --peers: exit %d, %s", code, errs)
	}
	mustRun(t, "consortium", "kit", "--home", dir, "--out", kit, "--peers", "aa@127.0.0.1:27000")
	rail := filepath.Join(d, "railway")
	mustRun(t, "consortium", "setup", "--home", rail, "--kit", kit, "--listen", "127.0.0.1:7199")
	rh, err := home.Load(rail)
	if err != nil || rh.Genesis.Hash() != h.Genesis.Hash() || rh.Config.Engine.Kind != "cometbft" {
		t.Fatalf("the railway's home: %v", err)
	}
	if _, err := os.Stat(filepath.Join(rail, "cometbft", "config", "genesis.json")); err != nil {
		t.Fatal(err)
	}
	// Neither the kit nor the railway's home holds the chain authority's
	// key or the chain's secret: the railway's node signs with its own
	// node key, the one its card names.
	for _, f := range []string{filepath.Join(kit, "keys"), filepath.Join(rail, "keys", "authority.key"), filepath.Join(rail, "keys", "secret.key")} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want none", f, err)
		}
	}
	var railCard comet.KeyCard
	if b, err := os.ReadFile(cards[4]); err != nil || json.Unmarshal(b, &railCard) != nil {
		t.Fatalf("card: %v", err)
	}
	if !rh.Member() || rh.Authority() != nil || rh.Vault() != nil || rh.APIToken() != "" || rh.Pseudonymizer() != nil ||
		hex.EncodeToString(rh.Signer().Public().(ed25519.PublicKey)) != railCard.NodeKey {
		t.Fatalf("the railway's home is not a member's holding its card's node key")
	}
	if !bytes.Equal(rh.Genesis.PseudonymKey, h.Genesis.PseudonymKey) {
		t.Fatal("the member's genesis lost the pseudonym key")
	}
	_, errs, code = run(t, "consortium", "setup", "--home", filepath.Join(d, "nokeys"), "--kit", kit)
	if code != 1 || !strings.Contains(errs, "consortium keygen") {
		t.Fatalf("setup without keys: exit %d, %s", code, errs)
	}
}

// TestConsortiumAuthorityNode: the chain authority's organisation runs
// its node on the authority's own home (the one node that holds the
// chain's secret): keygen there prints a card naming no node key (the
// same card when run again), and the genesis that names it makes the home
// that node's (engine cometbft, the other cards as its peers).
func TestConsortiumAuthorityNode(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir := filepath.Join(d, "authority")
	mustRun(t, "init", "--home", dir, "--region", "420100")
	out := mustRun(t, "consortium", "keygen", "--home", dir, "--org", "health-commission", "--p2p", "127.0.0.1:27100", "--loopback")
	var own comet.KeyCard
	if err := json.Unmarshal([]byte(out), &own); err != nil || own.NodeKey != "" || own.Org != "health-commission" || own.NodeID == "" {
		t.Fatalf("the authority's card %q: %v", out, err)
	}
	if again := mustRun(t, "consortium", "keygen", "--home", dir, "--org", "health-commission", "--p2p", "127.0.0.1:27100"); again != out {
		t.Fatalf("keygen run again on the authority's home: %s, then %s", out, again)
	}
	cdc := mustRun(t, "consortium", "keygen", "--home", filepath.Join(d, "cdc"), "--org", "cdc", "--p2p", "127.0.0.1:27102", "--loopback")
	var cc comet.KeyCard
	if err := json.Unmarshal([]byte(cdc), &cc); err != nil || len(cc.NodeKey) != 64 {
		t.Fatalf("cdc's card %q: %v", cdc, err)
	}
	mustRun(t, "consortium", "genesis", "--home", dir, writeFile(t, "health.json", out), writeFile(t, "cdc.json", cdc))
	h, err := home.Load(dir)
	if err != nil || h.Member() || h.Authority() == nil || h.Config.Engine.Kind != "cometbft" || len(h.Genesis.Validators) != 2 {
		t.Fatalf("the authority's home after the genesis: %v %+v", err, h.Config.Engine)
	}
	cfg, err := comet.LoadConfig(h)
	if err != nil || cfg.P2P.PersistentPeers != cc.Peer() {
		t.Fatalf("the authority's node's peers: %q, want %q (%v)", cfg.P2P.PersistentPeers, cc.Peer(), err)
	}
	if _, errs, code := run(t, "consortium", "keygen", "--home", dir, "--org", "other", "--p2p", "127.0.0.1:27104"); code != 0 || errs != "" {
		t.Fatalf("keygen again after the genesis: exit %d %s", code, errs)
	}
}

// TestTransportKinds: a chain names its own transport kinds in its
// genesis (rules.vocabulary.transport_kinds): two minutes together in a
// Ferris-wheel cabin are a contact on a chain that lists the cabin, and
// not on one that only knows the kind (the 15-minute minimum applies).
func TestTransportKinds(t *testing.T) {
	t.Parallel()
	lines := `{"type":"site","site":"wheel-7","kind":"ferris_wheel_cabin","lat":30.59,"lon":114.30}
{"type":"visit","site":"wheel-7","person":"id:420100199001011234","in":"2020-01-20T10:00:00+08:00","out":"2020-01-20T10:10:00+08:00","via":"ticket"}
{"type":"visit","site":"wheel-7","person":"id:310101198001010011","in":"2020-01-20T10:08:00+08:00","out":"2020-01-20T10:20:00+08:00","via":"ticket"}
`
	data := writeFile(t, "wheel.ndjson", lines)
	for _, transport := range []bool{true, false} {
		dir := filepath.Join(t.TempDir(), "h")
		mustRun(t, "init", "--home", dir, "--region", "420100")
		p := filepath.Join(dir, "genesis.json")
		var g map[string]any
		b, _ := os.ReadFile(p)
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		voc := g["rules"].(map[string]any)["vocabulary"].(map[string]any)
		voc["site_kinds"] = append(voc["site_kinds"].([]any), "ferris_wheel_cabin")
		if transport {
			voc["transport_kinds"] = []any{"taxi", "ferris_wheel_cabin"}
		}
		b, _ = json.Marshal(g)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		mustRun(t, "import", "--home", dir, data)
		out := mustRun(t, "trace", "contacts", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20", "--json")
		if got := strings.Contains(out, "id:310101198001010011"); got != transport {
			t.Errorf("transport_kinds names the cabin: %v; the two minutes together a contact: %v\n%s", transport, got, out)
		}
	}
}
