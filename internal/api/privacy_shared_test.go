package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/privacy"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/testnode"
)

// Issue 13, point 3: every piece of the privacy protocols' shared state
// is on the ledger. A second node holding the same blocks (replayed from
// the first, as a consortium member or `verify --replay` would hold
// them) but none of the first node's files answers every read alike, and
// what it is asked to write against the ledger is refused there, by its
// API or by its state machine.

// secondNode returns a node on another home of a's chain (the same
// genesis and keys, none of a's data or privacy files) holding a's
// blocks, replayed through its own state machine, served over HTTP.
func secondNode(t *testing.T, a *fixture) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "home-b")
	err := filepath.WalkDir(a.h.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a.h.Dir, path)
		switch top := strings.Split(rel, string(filepath.Separator))[0]; {
		case top == "data" || top == "privacy" || top == node.AckedHeadFile || top == "node.json":
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dir, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	hb, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	hb.Config = a.h.Config
	db, err := store.Open(hb.DataDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := hb.Genesis
	if _, err := blocks.Replay(a.n.DB, db, &g, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	nb := testnode.Open(t, hb)
	srv := httptest.NewServer(handler(t, nb, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return &fixture{h: hb, n: nb, srv: srv, token: hb.APIToken()}
}

// TestPrivacyStateShared: node A publishes a universe, runs a session,
// anchors commitments and publishes risk tokens; node B, over the same
// blocks, answers the same universe and risk tokens byte for byte, and
// refuses what the ledger already decided (a universe's name, a
// session's id, an anchored period, a risk publication under a key it
// does not hold) without holding A's mutex, files or memory.
func TestPrivacyStateShared(t *testing.T) {
	t.Parallel()
	a, ca := privFixture(t)
	ctx := context.Background()
	ps := places(12)
	if _, err := ca.PublishUniverse(ctx, api.UniverseRequest{Name: "city", Period: "1h", Places: ps}); err != nil {
		t.Fatal(err)
	}
	rep, err := client.RunSetOp(ctx, ca, privacy.Union, ps, [][]string{{"u1"}, {"u4", "u1"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := ca.Universe(ctx, "city")
	gs := privacy.NewGenerators(u.Digest(), len(ps))
	period := time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC).Unix()
	dev, _ := privacy.NewDevice(u, nil)
	rec, _ := dev.Commit(u, gs, period, []string{"u3"}, nil)
	if err := ca.UploadCommitment(ctx, "city", rec); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Anchor(ctx, "city", period); err != nil {
		t.Fatal(err)
	}
	// Enough hour slots for two token records.
	var visits []api.RiskVisit
	for i := 0; i < privacy.TokensPerChunk/2+10; i++ {
		visits = append(visits, api.RiskVisit{Site: fmt.Sprint("shop-", i), In: "2020-01-20T13:30:00+08:00", Out: "2020-01-20T14:10:00+08:00"})
	}
	info, err := ca.PublishRisk(ctx, visits)
	if err != nil || info.Count != 2*(privacy.TokensPerChunk/2+10) {
		t.Fatalf("publish risk: %+v %v", info, err)
	}

	b := secondNode(t, a)
	cb := client.New(b.srv.URL, b.token)

	// Reads: the same answers, byte for byte.
	for _, path := range []string{"/v1/privacy/universes/city", "/v1/privacy/risk"} {
		ra, rb := a.call(t, "GET", path, "", ""), b.call(t, "GET", path, "", "")
		if ra.status != 200 || rb.status != 200 || string(ra.body) != string(rb.body) {
			t.Errorf("GET %s: node A %d, node B %d; bodies equal: %v", path, ra.status, rb.status, string(ra.body) == string(rb.body))
		}
	}
	if _, err := os.Stat(filepath.Join(b.h.Dir, "privacy", "psi-tokens.bin")); err == nil {
		t.Errorf("node B has a tokens file: its answer must come from the ledger")
	}

	// Writes against what the ledger decided: refused on B.
	expect := func(name string, err error, status int, code string) {
		t.Helper()
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != status || ae.Body.Code != code {
			t.Errorf("%s: %v, want %d %s", name, err, status, code)
		}
	}
	_, err = cb.PublishUniverse(ctx, api.UniverseRequest{Name: "city", Places: []string{"elsewhere"}})
	expect("universe of a taken name", err, 409, "conflict")
	_, err = cb.Anchor(ctx, "city", period)
	expect("anchor an anchored period", err, 409, "conflict")
	_, err = cb.PublishRisk(ctx, visits[:1])
	expect("risk under another key", err, 409, "key_not_held")
	_, err = client.CheckExposure(ctx, client.New(b.srv.URL, ""), privacy.Slots("shop-1", period, period))
	expect("evaluate without the key", err, 409, "key_not_held")
	pub, _ := dev.Public()
	_, err = cb.CommitmentProof(ctx, api.ProofRequest{Universe: "city", Period: time.Unix(period, 0).UTC().Format(time.RFC3339), Device: base64.StdEncoding.EncodeToString(pub)})
	expect("proof of commitments held elsewhere", err, 409, "not_held")
	req, _ := client.OpeningRequest(dev, u, period, period+3600)
	_, err = cb.VerifyOpening(ctx, *req)
	expect("opening of commitments held elsewhere", err, 409, "not_held")

	// The session's records: B knows the id is taken and its result is
	// published, from the ledger alone.
	st, err := b.n.Query.Session(rep.Session)
	if err != nil || st == nil || st.Result == nil || *st.Result.Members != 2 {
		t.Fatalf("session on node B: %+v %v", st, err)
	}

	// The state machine decides, not the API: the same records sent
	// straight to B's engine, past every check of its API, are refused.
	raw := func(topic string, v any) []byte {
		p, _ := json.Marshal(v)
		tx := ledger.NewTx(&ledger.Publish{Topic: topic, Payload: p})
		tx.Sign(b.h.Genesis.ChainID, b.h.Authority())
		return tx.Bytes()
	}
	other, _ := privacy.NewUniverse("city", time.Hour, []string{"elsewhere"})
	second := *st.Result
	second.Result, second.Members = nil, new(int)
	again := *st.Request
	again.Participants, again.Shares = 1, 1
	for _, x := range []struct {
		name  string
		tx    []byte
		code  string
		field string
	}{
		{"universe", raw(privacy.TopicUniverse, privacy.NewUniverseRecord(other)), state.CodeConflict, "name"},
		{"session request", raw(privacy.TopicPSU, &again), state.CodeConflict, "session"},
		{"second result", raw(privacy.TopicPSU, second), state.CodeConflict, "result"},
		{"root", signed(b, &ledger.CommitRoot{Scheme: u.Scheme(), Period: period, Root: ledger.Hash{1}}), state.CodeConflict, "period"},
	} {
		rc := b.n.Engine.Submit(ctx, x.tx)
		if rj, ok := state.IsRejection(rc.Err); !ok || rj.Code != x.code || rj.Field != x.field {
			t.Errorf("%s straight to the engine: %v, want %s %s", x.name, rc.Err, x.code, x.field)
		}
	}
}

func signed(f *fixture, body ledger.Body) []byte {
	tx := ledger.NewTx(body)
	tx.Sign(f.h.Genesis.ChainID, f.h.Authority())
	return tx.Bytes()
}

// TestUniqueWithoutTheMutex: many publications of one universe name, or
// one session's result, at once: exactly one is on the ledger and every
// other caller is told 409, whether its API saw the first on the ledger
// or the state machine refused it.
func TestUniqueWithoutTheMutex(t *testing.T) {
	t.Parallel()
	a, ca := privFixture(t)
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = ca.PublishUniverse(ctx, api.UniverseRequest{Name: "race", Places: []string{fmt.Sprint("p", i)}})
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !isStatus(err, 409):
			t.Errorf("publication %d: %v", i, err)
		}
	}
	pubs, _ := a.n.Query.Publications(api.TopicUniverse)
	if ok != 1 || len(pubs) != 1 {
		t.Errorf("%d accepted, %d on the ledger; want 1 and 1", ok, len(pubs))
	}
}

// TestLegacyRiskPublication: a chain whose risk publication predates the
// tokens on the ledger (record version 1, tokens in the publishing
// node's psi-tokens.bin) stays readable there, with the same tokens; a
// node without that file says so rather than answer other tokens; the
// next publication puts its tokens on the ledger for every node.
func TestLegacyRiskPublication(t *testing.T) {
	t.Parallel()
	a, ca := privFixture(t)
	ctx := context.Background()
	key, _ := privacy.NewRiskKey(nil)
	tokens := key.Tokens(privacy.Slots("shop-1", 1579500000, 1579507200))
	dir := filepath.Join(a.h.Dir, "privacy")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "psi.key"), []byte(fmt.Sprintf("%x\n", key.Bytes())), 0o600)
	os.WriteFile(filepath.Join(dir, "psi-tokens.bin"), append([]byte{0, 0, 0, 0, 0, 0, 0, 1}, tokens...), 0o600)
	d := sha256.Sum256(tokens)
	rec := privacy.RiskRecord{V: 1, Version: 1, Count: len(tokens) / 32, Key: base64.StdEncoding.EncodeToString(key.Public()), Digest: fmt.Sprintf("%x", d)}
	p, _ := json.Marshal(rec)
	if rc := a.n.Engine.Submit(ctx, signed(a, &ledger.Publish{Topic: privacy.TopicRisk, Payload: p})); rc.Err != nil {
		t.Fatal(rc.Err)
	}
	var info api.RiskInfo
	r := a.call(t, "GET", "/v1/privacy/risk", "", "")
	if json.Unmarshal(r.body, &info); r.status != 200 || info.Version != 1 || info.Tokens != base64.StdEncoding.EncodeToString(tokens) {
		t.Fatalf("legacy publication on its node: %d %s", r.status, r.body)
	}
	ex, err := client.CheckExposure(ctx, client.New(a.srv.URL, ""), privacy.Slots("shop-1", 1579503600, 1579503600))
	if err != nil || len(ex.Matches) != 1 {
		t.Fatalf("exposure against the legacy publication: %+v %v", ex, err)
	}
	b := secondNode(t, a)
	if r := b.call(t, "GET", "/v1/privacy/risk", "", ""); r.status != 409 || apiError(t, r).Code != "not_held" {
		t.Errorf("legacy publication on another node: %d %s", r.status, r.body)
	}
	// The next version, from the node holding the key, is on the ledger.
	info2, err := ca.PublishRisk(ctx, []api.RiskVisit{{Site: "shop-2", In: "2020-01-20T13:30:00+08:00", Out: "2020-01-20T13:40:00+08:00"}})
	if err != nil || info2.Version != 2 || info2.Key != rec.Key {
		t.Fatalf("next publication: %+v %v", info2, err)
	}
	b2 := secondNode(t, a)
	ra, rb := a.call(t, "GET", "/v1/privacy/risk", "", ""), b2.call(t, "GET", "/v1/privacy/risk", "", "")
	if ra.status != 200 || string(ra.body) != string(rb.body) {
		t.Errorf("version 2: node A %d %s, node B %d %s", ra.status, ra.body, rb.status, rb.body)
	}
}
