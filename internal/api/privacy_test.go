package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/privacy"
	"github.com/epiledger/epiledger/internal/testnode"
)

// privFixture is a fresh node served over HTTP, with an authority client.
func privFixture(t *testing.T) (*fixture, *client.Client) {
	t.Helper()
	h, n := testnode.New(t)
	srv := httptest.NewServer(handler(t, n, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return &fixture{h: h, n: n, srv: srv, token: h.APIToken()}, client.New(srv.URL, h.APIToken())
}

func places(m int) []string {
	out := make([]string, m)
	for i := range out {
		out[i] = fmt.Sprintf("u%d", i+1)
	}
	return out
}

// plainSetOp is the brute-force twin over place names.
func plainSetOp(op privacy.Op, ps []string, visits [][]string) []string {
	out := []string{}
	for _, p := range ps {
		in := 0
		for _, v := range visits {
			if slices.Contains(v, p) {
				in++
			}
		}
		if (op == privacy.Union && in > 0) || (op == privacy.Intersection && in == len(visits)) {
			out = append(out, p)
		}
	}
	return out
}

// TestSetOpThroughAPI runs every role through the HTTP API on random
// itineraries (with duplicate visits, empty and full sets) and compares
// with the plain computation; the request and the result are on the
// ledger.
func TestSetOpThroughAPI(t *testing.T) {
	t.Parallel()
	f, c := privFixture(t)
	rng := rand.New(rand.NewPCG(1, 2))
	ps := places(30)
	cases := [][][]string{
		{{"u1", "u3", "u3"}}, // n = 1, a duplicate visit
		{{}, {}, {}},         // empty sets
		{ps, ps},             // all places
		{{"u2"}, {"u2", "u5"}, {"u2", "u5", "u9"}}, // nested
	}
	for k := 0; k < 3; k++ {
		n := 2 + rng.IntN(5)
		var v [][]string
		for i := 0; i < n; i++ {
			var mine []string
			for _, p := range ps {
				if rng.IntN(3) == 0 {
					mine = append(mine, p)
				}
			}
			v = append(v, mine)
		}
		cases = append(cases, v)
	}
	for i, visits := range cases {
		for _, op := range []privacy.Op{privacy.Union, privacy.Intersection} {
			rep, err := client.RunSetOp(context.Background(), c, op, ps, visits, 0)
			if err != nil {
				t.Fatalf("case %d %s: %v", i, op, err)
			}
			if want := plainSetOp(op, ps, visits); !slices.Equal(rep.Result, want) {
				t.Errorf("case %d %s: got %v, want %v", i, op, rep.Result, want)
			}
		}
	}
	pubs, err := f.n.Query.Publications(api.TopicPSU)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * 2 * len(cases); len(pubs) != want {
		t.Errorf("%d session records on the ledger, want %d (a request and a result per session)", len(pubs), want)
	}
}

// tamperProxy sits between the roles and the node and rewrites the JSON
// reply of one route, as a compromised network or storage would.
func tamperProxy(t *testing.T, f *fixture, route string, rewrite func(body []byte) []byte) *client.Client {
	t.Helper()
	target, _ := url.Parse(f.srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != "GET" || !strings.HasSuffix(resp.Request.URL.Path, route) {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		b = rewrite(b)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return client.New(srv.URL, f.token)
}

// flipIn flips one bit of the first base64 value of field in a JSON body
// (once it is ready).
func flipIn(field string) func([]byte) []byte {
	return func(b []byte) []byte {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil || m["ready"] != true {
			return b
		}
		var flip func(v any) bool
		flip = func(v any) bool {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if s, ok := e.(string); ok && k == field {
						raw, _ := base64.StdEncoding.DecodeString(s)
						raw[len(raw)/2] ^= 0x04
						x[k] = base64.StdEncoding.EncodeToString(raw)
						return true
					}
					if flip(e) {
						return true
					}
				}
			case []any:
				for _, e := range x {
					if flip(e) {
						return true
					}
				}
			}
			return false
		}
		flip(m)
		out, _ := json.Marshal(m)
		return out
	}
}

// TestTamperingInTransitNamed: a share, an upload or the cloud's product
// altered between the node and its reader is detected by that reader and
// named (the sender, the participant, the place); nothing is published.
func TestTamperingInTransitNamed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		route, field string
		want         string
	}{
		{"/shares", "box", "share from participant"},
		{"/uploads", "vector", "upload of participant"},
		{"/product", "vector", "the cloud's product"},
	} {
		t.Run(c.route, func(t *testing.T) {
			t.Parallel()
			f, _ := privFixture(t)
			bad := tamperProxy(t, f, c.route, flipIn(c.field))
			_, err := client.RunSetOp(context.Background(), bad, privacy.Union, places(8), [][]string{{"u1"}, {"u2"}, {"u3"}}, 0)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming %q", err, c.want)
			}
			pubs, _ := f.n.Query.Publications(api.TopicPSU)
			for _, p := range pubs {
				if strings.Contains(string(p.Payload), `"type":"result"`) {
					t.Error("a result was published despite the tampering")
				}
			}
		})
	}
}

// session starts a session of n participants on a fresh universe and
// returns its credentials.
func startSession(t *testing.T, c *client.Client, m, n int) (*api.SessionCreated, *privacy.SecretKey) {
	t.Helper()
	name := "t-" + client.NewSessionID()[4:]
	if _, err := c.PublishUniverse(context.Background(), api.UniverseRequest{Name: name, Places: places(m)}); err != nil {
		t.Fatal(err)
	}
	sk, _ := privacy.GenerateKey(nil)
	s, err := client.StartSession(context.Background(), c, sk, name, privacy.Union, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s, sk
}

// TestSessionCredentials: each token opens only its own session and role.
func TestSessionCredentials(t *testing.T) {
	t.Parallel()
	f, c := privFixture(t)
	s, _ := startSession(t, c, 4, 2)
	other, _ := startSession(t, c, 4, 2)
	p0, cloud := s.ParticipantTokens[0], s.CloudToken
	path := "/v1/privacy/sessions/" + s.Session
	for _, x := range []struct {
		name, method, path, token string
		status                    int
	}{
		{"no token", "GET", path, "", 401},
		{"another session's token", "GET", path, other.ParticipantTokens[0], 401},
		{"garbage token", "GET", path, "psu_00", 401},
		{"participant reads", "GET", path, p0, 200},
		{"cloud reads", "GET", path, cloud, 200},
		{"authority reads", "GET", path, f.token, 200},
		{"cloud joins", "POST", path + "/join", cloud, 403},
		{"authority joins", "POST", path + "/join", f.token, 403},
		{"participant reads uploads", "GET", path + "/uploads", p0, 403},
		{"participant posts product", "POST", path + "/product", p0, 403},
		{"cloud reads product", "GET", path + "/product", cloud, 403},
		{"cloud posts result", "POST", path + "/result", cloud, 403},
		{"unknown session", "GET", "/v1/privacy/sessions/psu-0000000000000000", f.token, 404},
	} {
		r := f.call(t, x.method, x.path, x.token, `{}`)
		if r.status != x.status {
			t.Errorf("%s: status %d, want %d: %s", x.name, r.status, x.status, r.body)
		}
		if r.status >= 400 {
			apiError(t, r)
		}
	}
	var info api.SessionInfo
	json.Unmarshal(f.call(t, "GET", path, p0, "").body, &info)
	if info.Role != "participant" || info.Index == nil || *info.Index != 0 || info.Places != 4 {
		t.Errorf("participant's view: %+v", info)
	}
}

// TestSessionInputsRefused: malformed or out-of-turn messages get a 4xx
// naming the field, and change nothing.
func TestSessionInputsRefused(t *testing.T) {
	t.Parallel()
	f, c := privFixture(t)
	s, _ := startSession(t, c, 3, 2)
	path := "/v1/privacy/sessions/" + s.Session
	p0, p1 := s.ParticipantTokens[0], s.ParticipantTokens[1]
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	key2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	expect := func(name, method, p, token, body string, status int, field string) {
		t.Helper()
		r := f.call(t, method, path+p, token, body)
		if r.status != status {
			t.Fatalf("%s: status %d, want %d: %s", name, r.status, status, r.body)
		}
		if status >= 400 {
			if e := apiError(t, r); e.Field != field {
				t.Errorf("%s: field %q, want %q (%s)", name, e.Field, field, e.Msg)
			}
		}
	}
	expect("short key", "POST", "/join", p0, `{"dh":"AAAA","sign":"`+key+`"}`, 400, "dh")
	expect("unknown field", "POST", "/join", p0, `{"dh":"`+key+`","sign":"`+key+`","x":1}`, 400, "x")
	expect("shares before all joined", "POST", "/shares", p0, `{"shares":[]}`, 409, "")
	expect("join", "POST", "/join", p0, `{"dh":"`+key+`","sign":"`+key+`"}`, 200, "")
	expect("join twice", "POST", "/join", p0, `{"dh":"`+key2+`","sign":"`+key2+`"}`, 409, "index")
	expect("same key as another", "POST", "/join", p1, `{"dh":"`+key+`","sign":"`+key2+`"}`, 400, "dh")
	expect("join 1", "POST", "/join", p1, `{"dh":"`+key2+`","sign":"`+key2+`"}`, 200, "")
	box := base64.StdEncoding.EncodeToString(make([]byte, privacy.BoxSize))
	expect("share to self", "POST", "/shares", p0, `{"shares":[{"to":0,"box":"`+box+`"}]}`, 400, "shares[0].to")
	expect("short box", "POST", "/shares", p0, `{"shares":[{"to":1,"box":"AAAA"}]}`, 400, "shares[0].box")
	expect("bad wait", "GET", "/peers?wait=forever", p0, "", 400, "wait")
	// An upload: wrong size, bad signature, malformed element.
	expect("short vector", "POST", "/upload", p0, `{"vector":"AAAA","sig":"`+base64.StdEncoding.EncodeToString(make([]byte, 64))+`"}`, 400, "vector")
	vec := make([]byte, 3*privacy.CiphertextSize)
	expect("bad signature", "POST", "/upload", p0, `{"vector":"`+base64.StdEncoding.EncodeToString(vec)+`","sig":"`+base64.StdEncoding.EncodeToString(make([]byte, 64))+`"}`, 400, "sig")
	expect("product before uploads", "POST", "/product", s.CloudToken, `{"vector":"`+base64.StdEncoding.EncodeToString(vec)+`"}`, 409, "")
}

// TestCommitmentsThroughAPI: a device commits every period (idle ones
// too), the authority anchors the roots on the ledger, an honest opening
// matches, a false one is recorded as dishonest, and altered storage is
// named.
func TestCommitmentsThroughAPI(t *testing.T) {
	t.Parallel()
	f, c := privFixture(t)
	ctx := context.Background()
	ps := places(20)
	if _, err := c.PublishUniverse(ctx, api.UniverseRequest{Name: "city", Period: "1h", Places: ps}); err != nil {
		t.Fatal(err)
	}
	u, err := c.Universe(ctx, "city")
	if err != nil {
		t.Fatal(err)
	}
	gs := privacy.NewGenerators(u.Digest(), len(ps))
	start := time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC).Unix()
	dev, _ := privacy.NewDevice(u, nil)
	other, _ := privacy.NewDevice(u, nil)
	itinerary := map[int][]string{1: {"u3"}, 2: {"u3", "u7"}, 5: {"u7"}} // hours 0, 3, 4: idle
	for h := 0; h < 6; h++ {
		p := start + int64(h)*3600
		rec, err := dev.Commit(u, gs, p, itinerary[h], nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.UploadCommitment(ctx, "city", rec); err != nil {
			t.Fatalf("hour %d: %v", h, err)
		}
		orec, _ := other.Commit(u, gs, p, []string{"u1"}, nil)
		if err := c.UploadCommitment(ctx, "city", orec); err != nil {
			t.Fatal(err)
		}
		if h == 0 {
			if err := c.UploadCommitment(ctx, "city", rec); !isStatus(err, 409) {
				t.Errorf("second upload for a period: %v", err)
			}
		}
		a, err := c.Anchor(ctx, "city", p)
		if err != nil || a.Count != 2 {
			t.Fatalf("anchor hour %d: %+v %v", h, a, err)
		}
		if err := c.UploadCommitment(ctx, "city", rec); !isStatus(err, 409) {
			t.Errorf("upload after anchoring: %v", err)
		}
	}
	// An inclusion proof checks against the root on the ledger.
	pub, _ := dev.Public()
	pr, err := c.CommitmentProof(ctx, api.ProofRequest{Universe: "city", Period: time.Unix(start+3600, 0).UTC().Format(time.RFC3339), Device: base64.StdEncoding.EncodeToString(pub)})
	if err != nil {
		t.Fatal(err)
	}
	if pr.AnchoredRoot == "" || pr.AnchoredRoot != pr.Root {
		t.Errorf("proof root %s, anchored %s", pr.Root, pr.AnchoredRoot)
	}
	cb, _ := base64.StdEncoding.DecodeString(pr.Commitment)
	sig, _ := base64.StdEncoding.DecodeString(pr.Sig)
	rec := privacy.CommitRecord{Device: pub, Period: start + 3600, Sig: sig}
	copy(rec.C[:], cb)
	var path []ledger.Hash
	for _, h := range pr.Path {
		x, _ := ledger.ParseHash(h)
		path = append(path, x)
	}
	root, _ := ledger.ParseHash(pr.AnchoredRoot)
	if err := ledger.VerifyInclusion(rec.Bytes(), uint64(pr.Index), uint64(pr.Count), path, root); err != nil {
		t.Errorf("inclusion proof: %v", err)
	}

	// The honest opening of the six hours.
	req, err := client.OpeningRequest(dev, u, start, start+6*3600)
	if err != nil {
		t.Fatal(err)
	}
	if req.Counts["u3"] != 2 || req.Counts["u7"] != 2 || len(req.Counts) != 2 {
		t.Errorf("counts %v", req.Counts)
	}
	rep, err := c.VerifyOpening(ctx, *req)
	if err != nil || rep.Verdict != "match" || rep.Periods != 6 || len(rep.Missing) != 0 {
		t.Fatalf("honest opening: %+v %v", rep, err)
	}
	// Hiding a visit: mismatch, recorded as evidence without the counts.
	req.Counts["u7"] = 1
	rep, err = c.VerifyOpening(ctx, *req)
	if err != nil || rep.Verdict != "mismatch" {
		t.Fatalf("false opening: %+v %v", rep, err)
	}
	pubs, _ := f.n.Query.Publications(api.TopicOpening)
	verdicts := map[string]int{}
	for _, p := range pubs {
		var rec struct{ Verdict, Device string }
		json.Unmarshal(p.Payload, &rec)
		verdicts[rec.Verdict]++
		if strings.Contains(string(p.Payload), `"u7"`) || rec.Device != fmt.Sprintf("%x", pub) {
			t.Errorf("evidence record: %s", p.Payload)
		}
	}
	if len(pubs) != 2 || verdicts["match"] != 1 || verdicts["mismatch"] != 1 {
		t.Errorf("evidence on the ledger: %v", verdicts)
	}
	// A window with an unanchored period is refused.
	req.To = time.Unix(start+7*3600, 0).UTC().Format(time.RFC3339)
	if _, err := c.VerifyOpening(ctx, *req); !isStatus(err, 409) {
		t.Errorf("unanchored period: %v", err)
	}
	// Storage altered on disk: the period is named.
	req.To = time.Unix(start+6*3600, 0).UTC().Format(time.RFC3339)
	file := privacy.NewCommitStore(f.h.Dir+"/privacy").PeriodFile(u, start+2*3600)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1 // a signature byte of the last record
	os.WriteFile(file, b, 0o600)
	_, err = c.VerifyOpening(ctx, *req)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Body.Code != "storage_tampered" || !strings.Contains(ae.Body.Msg, "2020-01-20T10:00:00+08:00") {
		t.Errorf("tampered storage: %v", err)
	}
}

func isStatus(err error, status int) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Status == status
}

// TestExposureCheckThroughAPI: the device learns which of its visits
// match; blinded elements that are malformed are named; the evaluation is
// rate-limited.
func TestExposureCheckThroughAPI(t *testing.T) {
	t.Parallel()
	f, c := privFixture(t)
	ctx := context.Background()
	info, err := c.PublishRisk(ctx, []api.RiskVisit{
		{Site: "shop-1", In: "2020-01-20T13:00:00+08:00", Out: "2020-01-20T14:30:00+08:00"}, // two slots
		{Site: "taxi-1", In: "2020-01-20T14:10:00+08:00", Out: "2020-01-20T14:20:00+08:00"},
	})
	if err != nil || info.Count != 3 || info.Version != 1 || info.Tx == "" {
		t.Fatalf("publish: %+v %v", info, err)
	}
	at := func(s string) int64 { x, _ := time.Parse(time.RFC3339, s); return x.Unix() }
	mine := append(privacy.Slots("shop-1", at("2020-01-20T14:05:00+08:00"), at("2020-01-20T14:06:00+08:00")),
		privacy.Slots("office-1", at("2020-01-20T08:00:00+08:00"), at("2020-01-20T12:00:00+08:00"))...)
	anon := client.New(f.srv.URL, "")
	ex, err := client.CheckExposure(ctx, anon, mine)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Checked != 6 || len(ex.Matches) != 1 || !strings.HasPrefix(ex.Matches[0], "shop-1 @ 2020-01-20T06:00:00Z") {
		t.Errorf("exposure: %+v", ex)
	}
	// Malformed blinded element.
	bad := make([]byte, 2*privacy.ElementSize)
	bad[privacy.ElementSize] = 1
	r := f.call(t, "POST", "/v1/privacy/risk/evaluate", "", `{"blinded":"`+base64.StdEncoding.EncodeToString(bad)+`"}`)
	if e := apiError(t, r); r.status != 400 || e.Field != "blinded" || !strings.Contains(e.Msg, "element 0") {
		t.Errorf("malformed: %d %+v", r.status, e)
	}
	// Rate limit: 2048 at once; the burst runs out.
	many := make([]privacy.Visit, api.MaxEvaluate)
	for i := range many {
		many[i] = privacy.Visit{Site: fmt.Sprint("s", i)}
	}
	var limited error
	for k := 0; k < 3 && limited == nil; k++ {
		_, limited = client.CheckExposure(ctx, anon, many)
	}
	var ae *client.APIError
	if !errors.As(limited, &ae) || ae.Status != 429 || ae.Body.Code != "rate_limited" {
		t.Errorf("rate limit: %v", limited)
	}
	// Publishing needs the authority.
	if r := f.call(t, "POST", "/v1/privacy/risk", "", `{"visits":[]}`); r.status != 401 {
		t.Errorf("unauthenticated publish: %d", r.status)
	}
}

// TestPrivacyErrorsCarryNoPlaces: errors name positions, never the
// places or sites a caller sent.
func TestPrivacyErrorsCarryNoPlaces(t *testing.T) {
	t.Parallel()
	f, c := privFixture(t)
	if _, err := c.PublishUniverse(context.Background(), api.UniverseRequest{Name: "pv", Places: []string{"secret-clinic", "home-of-x"}}); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"name":"pv2","places":["secret-clinic","secret-clinic"]}`,
		`{"name":"pv","places":["secret-clinic"]}`,
	} {
		r := f.call(t, "POST", "/v1/privacy/universes", f.token, body)
		if r.status < 400 || strings.Contains(string(r.body), "secret-clinic") {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	r := f.call(t, "POST", "/v1/privacy/commitments/verify", f.token, `{"universe":"pv","device":"`+base64.StdEncoding.EncodeToString(make([]byte, 32))+
		`","from":"2020-01-20T00:00:00Z","to":"2020-01-20T01:00:00Z","counts":{"home-of-y":1},"r":"`+base64.StdEncoding.EncodeToString(make([]byte, 32))+`"}`)
	if r.status != 400 || strings.Contains(string(r.body), "home-of-y") {
		t.Errorf("unknown place in counts: %d %s", r.status, r.body)
	}
}

// TestSessionRequestRefused: a request with a malformed key, Enc(e) or
// proof, or impossible parameters, is refused naming the field; nothing
// goes on the ledger.
func TestSessionRequestRefused(t *testing.T) {
	t.Parallel()
	f, c := privFixture(t)
	if _, err := c.PublishUniverse(context.Background(), api.UniverseRequest{Name: "req", Places: places(4)}); err != nil {
		t.Fatal(err)
	}
	u, _ := c.Universe(context.Background(), "req")
	sk, _ := privacy.GenerateKey(nil)
	p := &privacy.Params{Session: "req-test-0001", Op: privacy.Union, Universe: u.Digest(), Places: 4, Participants: 2, Shares: 2}
	if err := sk.NewRequest(p, nil); err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString
	valid := api.SessionRequest{Session: p.Session, Op: "union", Universe: "req", Participants: 2, Shares: 2,
		Key: enc(p.Key.Bytes()), EncE: enc(p.EncE.Bytes()), Proof: enc(p.Proof.Bytes())}
	badC2 := p.EncE.Bytes()
	badC2[privacy.ElementSize] |= 1
	for _, x := range []struct {
		name   string
		alter  func(r *api.SessionRequest)
		status int
		field  string
	}{
		{"key not base64", func(r *api.SessionRequest) { r.Key = "%%" }, 400, "key"},
		{"identity key", func(r *api.SessionRequest) { r.Key = enc(make([]byte, 32)) }, 400, "key"},
		{"malformed c2", func(r *api.SessionRequest) { r.EncE = enc(badC2) }, 400, "enc_e"},
		{"short proof", func(r *api.SessionRequest) { r.Proof = enc(make([]byte, 10)) }, 400, "proof"},
		{"proof for other parameters", func(r *api.SessionRequest) { r.Participants = 3; r.Shares = 3 }, 400, "proof"},
		{"unknown universe", func(r *api.SessionRequest) { r.Universe = "nope" }, 404, "universe"},
		{"bad op", func(r *api.SessionRequest) { r.Op = "xor" }, 400, "op"},
		{"no participants", func(r *api.SessionRequest) { r.Participants = 0; r.Shares = 0 }, 400, "participants"},
		{"one share for two", func(r *api.SessionRequest) { r.Shares = 1 }, 400, "shares"},
		{"bad session id", func(r *api.SessionRequest) { r.Session = "UPPER CASE" }, 400, "session"},
	} {
		req := valid
		x.alter(&req)
		b, _ := json.Marshal(req)
		r := f.call(t, "POST", "/v1/privacy/sessions", f.token, string(b))
		if r.status != x.status {
			t.Errorf("%s: status %d, want %d: %s", x.name, r.status, x.status, r.body)
			continue
		}
		if e := apiError(t, r); e.Field != x.field {
			t.Errorf("%s: field %q, want %q (%s)", x.name, e.Field, x.field, e.Msg)
		}
	}
	pubs, _ := f.n.Query.Publications(api.TopicPSU)
	if len(pubs) != 0 {
		t.Errorf("%d session records from refused requests", len(pubs))
	}
	b, _ := json.Marshal(valid)
	if r := f.call(t, "POST", "/v1/privacy/sessions", f.token, string(b)); r.status != 200 {
		t.Fatalf("valid request: %d %s", r.status, r.body)
	}
	if r := f.call(t, "POST", "/v1/privacy/sessions", f.token, string(b)); r.status != 409 {
		t.Errorf("same session twice: %d", r.status)
	}
}
