package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/testnode"
)

// obliviousBody is the JSON body carrying elements.
func obliviousBody(t testing.TB, elements [][]byte) []byte {
	t.Helper()
	req := api.ObliviousRequest{Blinded: make([]string, len(elements))}
	for i, e := range elements {
		req.Blinded[i] = base64.StdEncoding.EncodeToString(e)
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// obliviousAudits counts the audit records of the oblivious route.
func obliviousAudits(t testing.TB, f *fixture) int {
	t.Helper()
	es, err := f.n.Query.Audits(-1<<62, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Audit.Route == api.ObliviousRoute {
			n++
		}
	}
	return n
}

// storeHolds reports whether any key or value of the node's store holds s.
func storeHolds(t testing.TB, f *fixture, s string) bool {
	t.Helper()
	found := false
	if err := f.n.DB.Scan([]byte{0}, bytes.Repeat([]byte{0xff}, 8), func(k, v []byte) bool {
		found = bytes.Contains(k, []byte(s)) || bytes.Contains(v, []byte(s))
		return !found
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

// TestObliviousPseudonyms (issue 13, point 7): a site blinds references,
// the node evaluates the blinded elements, and the site, checking the
// proof against the genesis's key, obtains exactly the pseudonyms the
// authority's own import gave the same persons (its records are found
// under them) and POST /v1/pseudonyms gives; the request is audited on
// the ledger (key, role, how many) before the answer; nothing the node
// wrote or logged - store, ledger, vault, log, reply - holds a reference,
// and the vault gains no entry for a new id. GET /v1/pseudonyms/key names
// the genesis's key.
func TestObliviousPseudonyms(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	logBuf := &syncBuffer{}
	f.srv = httptest.NewServer(handler(t, f.n, slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	t.Cleanup(f.srv.Close)
	site := f.grant(t, "site")
	pz := f.h.Pseudonymizer()
	pub := pz.PublicKey()
	if pub == nil || !bytes.Equal(pub.Bytes(), f.h.Genesis.PseudonymKey) {
		t.Fatal("a new home's pseudonymizer is not the VOPRF one its genesis names")
	}

	var key api.PseudonymKey
	decodeOK(t, f.call(t, "GET", "/v1/pseudonyms/key", "", ""), &key)
	if key.Scheme != identity.OPRFScheme || key.Key != hex.EncodeToString(f.h.Genesis.PseudonymKey) ||
		key.Genesis != f.h.Genesis.Hash().String() || key.ChainID != f.h.Genesis.ChainID {
		t.Errorf("GET /v1/pseudonyms/key: %+v", key)
	}

	const idNew = "110101200001010099"
	refs := []string{"id:" + idA, "phone:" + phoneA, "id:" + idNew, "id:" + idA}
	b, err := identity.Blind(refs)
	if err != nil {
		t.Fatal(err)
	}
	body := obliviousBody(t, b.Elements())
	before := obliviousAudits(t, f)
	code, out, sig := f.signedCall(t, site, "POST", "/v1/pseudonyms/oblivious", body)
	if code != 200 {
		t.Fatalf("status %d: %s", code, out)
	}
	var rep api.ObliviousReply
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Evaluated) != len(refs) {
		t.Fatalf("reply: %v %s", err, out)
	}
	ev := make([][]byte, len(rep.Evaluated))
	for i, s := range rep.Evaluated {
		ev[i], _ = base64.StdEncoding.DecodeString(s)
	}
	proof, _ := base64.StdEncoding.DecodeString(rep.Proof)
	ps, err := b.Finalize(pub, ev, proof)
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	for i, r := range refs {
		if want := pz.Checked(r); ps[i] != want {
			t.Errorf("%d: oblivious %v, the node's own %v", i, ps[i], want)
		}
	}
	if ps[0] != ps[3] || ps[1].Alias == false || ps[0].Alias {
		t.Errorf("repeat or alias flag wrong: %+v", ps)
	}
	// The authority's import recorded A under the same pseudonym.
	if tr, err := f.n.Query.Trajectory(ps[0].Ref, unix(t, "2020-01-20T00:00:00+08:00"), unix(t, "2020-01-21T00:00:00+08:00"), false); err != nil || len(tr) == 0 {
		t.Errorf("no record of A under its oblivious pseudonym: %v %v", tr, err)
	}
	if _, ok, _ := f.n.DB.Get(store.VaultKey(pz.Person(idNew))); ok {
		t.Error("the vault holds an entry for an id sent only blinded")
	}
	// POST /v1/pseudonyms agrees (and, being sent the ids, seals idNew).
	pb, _ := json.Marshal(api.PseudonymsRequest{Refs: refs})
	var direct api.PseudonymsReply
	code, out, _ = f.signedCall(t, site, "POST", "/v1/pseudonyms", pb)
	if code != 200 || json.Unmarshal(out, &direct) != nil {
		t.Fatalf("POST /v1/pseudonyms: %d %s", code, out)
	}
	for i := range refs {
		if direct.Pseudonyms[i].Pseudonym != ps[i].Ref.String() {
			t.Errorf("%d: POST /v1/pseudonyms %s, oblivious %s", i, direct.Pseudonyms[i].Pseudonym, ps[i].Ref)
		}
	}

	// Audited: one record, naming the site and how many, before the reply.
	if n := f.auditsOf(t, sig); n != 1 || obliviousAudits(t, f) != before+1 {
		t.Fatalf("%d audit records of the request, want 1", n)
	}
	es, _ := f.n.Query.Audits(-1<<62, 1<<62)
	for _, e := range es {
		if e.Audit.RequestSig != sig {
			continue
		}
		a := e.Audit
		if a.Caller != [32]byte(site.Public().(ed25519.PublicKey)) || a.Role != "site" || a.Purpose != "evaluate 4 blinded elements" || a.Person != (ledger.Pseudonym{}) {
			t.Errorf("audit record: %+v", a)
		}
	}

	// Nothing holds a reference: the vault gained no entry for the new
	// id (the node never saw it); the store, the log and the reply hold
	// none of the references.
	// (idNew was checked before the direct call, which sealed it.) A
	// fresh id for the store and log check:
	const idOnlyBlinded = "110101200001010088"
	b2, _ := identity.Blind([]string{"id:" + idOnlyBlinded, "phone:13711112222"})
	if code, out, _ := f.signedCall(t, site, "POST", "/v1/pseudonyms/oblivious", obliviousBody(t, b2.Elements())); code != 200 {
		t.Fatalf("second request: %d %s", code, out)
	}
	for _, s := range []string{idOnlyBlinded, "13711112222"} {
		if storeHolds(t, f, s) {
			t.Errorf("the store holds %s", s)
		}
		if strings.Contains(logBuf.String(), s) {
			t.Errorf("the log holds %s", s)
		}
	}
	noSecrets(t, "the oblivious reply", out, idNew)
	if !strings.Contains(logBuf.String(), "/v1/pseudonyms/oblivious") {
		t.Errorf("the log does not name the route (is it the API's?): %s", logBuf.String())
	}
}

// TestObliviousClientRefusesAnotherKey: the client checks every answer
// against the key it trusts. A node of another chain (another secret,
// another key), a proxy that alters one evaluated element or flips a bit
// of the proof, or a reply with an element missing: each fails with
// identity.ErrProof and returns nothing. Against the right node, the same
// client gets the pseudonyms the node computes.
func TestObliviousClientRefusesAnotherKey(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	other := serve(t, registry)
	trusted := f.h.Pseudonymizer().PublicKey()
	if trusted.Equal(other.h.Pseudonymizer().PublicKey()) {
		t.Fatal("two homes derived the same key")
	}
	refs := []string{"id:" + idA, "phone:" + phoneC}
	signer := func(fx *fixture, tamper func(*api.ObliviousReply)) *client.Client {
		key := fx.grant(t, "site")
		url := fx.srv.URL
		if tamper != nil {
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, _ := http.NewRequest(r.Method, fx.srv.URL+r.URL.RequestURI(), r.Body)
				req.Header = r.Header.Clone()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					http.Error(w, err.Error(), 502)
					return
				}
				defer resp.Body.Close()
				var rep api.ObliviousReply
				if json.NewDecoder(resp.Body).Decode(&rep) != nil {
					http.Error(w, "bad reply", 502)
					return
				}
				tamper(&rep)
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(rep)
			}))
			t.Cleanup(proxy.Close)
			url = proxy.URL
		}
		c := client.New(url, "")
		c.Key, c.ChainID = key, fx.h.Genesis.ChainID
		return c
	}
	flip := func(s string, bit int) string {
		b, _ := base64.StdEncoding.DecodeString(s)
		b[bit/8] ^= 1 << (bit % 8)
		return base64.StdEncoding.EncodeToString(b)
	}
	// The first evaluated element swapped for the second: a valid element,
	// just not the one that was asked.
	swap := func(r *api.ObliviousReply) { r.Evaluated[0], r.Evaluated[1] = r.Evaluated[1], r.Evaluated[0] }
	cases := []struct {
		name string
		cl   *client.Client
	}{
		{"another_chains_node", signer(other, nil)},
		{"evaluated_swapped", signer(f, swap)},
		{"proof_bit_flipped", signer(f, func(r *api.ObliviousReply) { r.Proof = flip(r.Proof, 3) })},
		{"proof_s_bit_flipped", signer(f, func(r *api.ObliviousReply) { r.Proof = flip(r.Proof, 260) })},
		{"element_missing", signer(f, func(r *api.ObliviousReply) { r.Evaluated = r.Evaluated[:1] })},
		{"element_not_base64", signer(f, func(r *api.ObliviousReply) { r.Evaluated[1] = "%%" })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ob := &client.Oblivious{C: c.cl, Key: trusted}
			ps, err := ob.Pseudonyms(context.Background(), refs)
			if !errors.Is(err, identity.ErrProof) || ps != nil {
				t.Fatalf("got %v, %v; want identity.ErrProof and nothing", ps, err)
			}
		})
	}
	ob := &client.Oblivious{C: signer(f, nil), Key: trusted}
	ps, err := ob.Pseudonyms(context.Background(), append(refs, refs...))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range append(refs, refs...) {
		if ps[i] != f.h.Pseudonymizer().Checked(r) {
			t.Errorf("%d: %v", i, ps[i])
		}
	}
	// The repeats of the second half were not sent again: 2 elements
	// were audited.
	es, _ := f.n.Query.Audits(-1<<62, 1<<62)
	var purposes []string
	for _, e := range es {
		if e.Audit.Route == api.ObliviousRoute {
			purposes = append(purposes, e.Audit.Purpose)
		}
	}
	if got := purposes[len(purposes)-1]; got != "evaluate 2 blinded elements" {
		t.Errorf("the last request: %q, want 2 elements", got)
	}
}

// TestObliviousRefusals: every malformed, oversized, unauthorised or
// replayed request, and the (N+1)th element over a quota of N, is a 4xx
// with a JSON error naming the field (and the element), and commits no
// audit record; a chain of HMAC pseudonyms answers 409.
func TestObliviousRefusals(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	h, err := api.NewWithQuota(f.n, slog.New(slog.NewTextHandler(io.Discard, nil)), 5, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(contract(t, h))
	t.Cleanup(f.srv.Close)
	keys := map[string]ed25519.PrivateKey{}
	for _, role := range []string{"site", "hospital", "administrator", "investigator", "auditor"} {
		keys[role] = f.grant(t, role)
	}
	good, err := identity.Blind([]string{"id:" + idA})
	if err != nil {
		t.Fatal(err)
	}
	el := good.Elements()[0]
	enc := base64.StdEncoding.EncodeToString(el)
	// A base64 string whose last character carries stray bits: decodes
	// (leniently) to the same 32 bytes.
	stray := enc[:len(enc)-2] + string(enc[len(enc)-2]+1) + "="
	nonCanonical := bytes.Repeat([]byte{0xff}, 32)
	with := func(bs ...string) []byte {
		b, _ := json.Marshal(api.ObliviousRequest{Blinded: bs})
		return b
	}
	many := make([]string, api.MaxOblivious+1)
	for i := range many {
		many[i] = enc
	}
	long := make([]string, api.MaxOblivious)
	for i := range long {
		long[i] = strings.Repeat("A", 80)
	}
	cases := []struct {
		name   string
		role   string
		body   []byte
		status int
		field  string
	}{
		{"not_base64", "site", with(enc, "not*base64"), 400, "blinded[1]"},
		{"stray_bits", "site", with(enc, enc, stray), 400, "blinded[2]"},
		{"no_padding", "site", with(strings.TrimRight(enc, "=")), 400, "blinded[0]"},
		{"31_bytes", "site", with(enc, base64.StdEncoding.EncodeToString(el[:31])), 400, "blinded[1]"},
		{"33_bytes", "site", with(base64.StdEncoding.EncodeToString(append(bytes.Clone(el), 0))), 400, "blinded[0]"},
		{"identity", "site", with(base64.StdEncoding.EncodeToString(make([]byte, 32))), 400, "blinded[0]"},
		{"non_canonical", "site", with(enc, base64.StdEncoding.EncodeToString(nonCanonical)), 400, "blinded[1]"},
		{"empty_list", "site", with(), 400, "blinded"},
		{"1001_elements", "site", with(many...), 400, "blinded"},
		{"not_strings", "site", []byte(`{"blinded":[1,2]}`), 400, "blinded"},
		{"unknown_field", "site", []byte(`{"blinded":["` + enc + `"],"refs":["id:` + idA + `"]}`), 400, "refs"},
		{"trailing_data", "site", []byte(`{"blinded":["` + enc + `"]}{}`), 400, ""},
		{"body_over_64_KiB", "site", with(long...), 413, ""},
		{"investigator", "investigator", with(enc), 403, ""},
		{"auditor", "auditor", with(enc), 403, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := obliviousAudits(t, f)
			code, out, _ := f.signedCall(t, keys[c.role], "POST", "/v1/pseudonyms/oblivious", c.body)
			r := reply{status: code, header: http.Header{"Content-Type": {"application/json"}}, body: out}
			if code != c.status {
				t.Fatalf("status %d, want %d: %s", code, c.status, out)
			}
			e := apiError(t, r)
			if e.Field != c.field {
				t.Errorf("field %q, want %q: %s", e.Field, c.field, out)
			}
			if strings.Contains(string(out), enc[:20]) || strings.Contains(string(out), idA) {
				t.Errorf("the error repeats the request: %s", out)
			}
			if after := obliviousAudits(t, f); after != before {
				t.Errorf("a refused request committed %d audit records", after-before)
			}
		})
	}

	// Unsigned: 401.
	if r := f.call(t, "POST", "/v1/pseudonyms/oblivious", "", string(with(enc))); r.status != 401 {
		t.Errorf("unsigned: %d %s", r.status, r.body)
	}
	// Replayed: the same signed request twice is refused the second time.
	body := with(enc)
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/pseudonyms/oblivious", bytes.NewReader(body))
	api.SignRequest(req, f.h.Genesis.ChainID, keys["hospital"], "", "", body, time.Now())
	req2 := req.Clone(context.Background())
	req2.Body = io.NopCloser(bytes.NewReader(body))
	if r := f.do(t, req); r.status != 200 {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	before := obliviousAudits(t, f)
	if r := f.do(t, req2); r.status != 401 {
		t.Errorf("replayed: %d %s", r.status, r.body)
	}
	if obliviousAudits(t, f) != before {
		t.Error("a replayed request was audited")
	}

	// The quota (5 here): every element counts, repeats included; the
	// 6th is refused with 429 naming blinded, and POST /v1/pseudonyms
	// draws from the same bucket.
	site := keys["site"]
	if code, out, _ := f.signedCall(t, site, "POST", "/v1/pseudonyms/oblivious", with(enc, enc, enc)); code != 200 {
		t.Fatalf("3 of 5: %d %s", code, out)
	}
	pb, _ := json.Marshal(api.PseudonymsRequest{Refs: []string{"id:" + idA}})
	if code, out, _ := f.signedCall(t, site, "POST", "/v1/pseudonyms", pb); code != 200 {
		t.Fatalf("4 of 5, by POST /v1/pseudonyms: %d %s", code, out)
	}
	if code, out, _ := f.signedCall(t, site, "POST", "/v1/pseudonyms/oblivious", with(enc)); code != 200 {
		t.Fatalf("5 of 5: %d %s", code, out)
	}
	before = obliviousAudits(t, f)
	req, _ = http.NewRequest("POST", f.srv.URL+"/v1/pseudonyms/oblivious", bytes.NewReader(body))
	api.SignRequest(req, f.h.Genesis.ChainID, site, "", "", body, time.Now())
	r := f.do(t, req)
	if r.status != 429 {
		t.Fatalf("6th element: %d %s", r.status, r.body)
	}
	if e := apiError(t, r); e.Code != "quota" || e.Field != "blinded" || !strings.Contains(e.Msg, "at most 5 blinded elements in 1h") {
		t.Errorf("6th element: %+v", e)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if obliviousAudits(t, f) != before {
		t.Error("a request over the quota was audited")
	}
	if code, out, _ := f.signedCall(t, site, "POST", "/v1/pseudonyms", pb); code != 429 {
		t.Errorf("POST /v1/pseudonyms after the quota: %d %s", code, out)
	}
	// Another key has its own quota; the administrator has none.
	if code, out, _ := f.signedCall(t, keys["hospital"], "POST", "/v1/pseudonyms/oblivious", with(enc, enc, enc)); code != 200 {
		t.Errorf("another key: %d %s", code, out)
	}
	for range 3 {
		if code, out, _ := f.signedCall(t, keys["administrator"], "POST", "/v1/pseudonyms/oblivious", with(enc, enc)); code != 200 {
			t.Errorf("the administrator: %d %s", code, out)
		}
	}

	// A chain of HMAC pseudonyms: 409, nothing audited; the key route
	// says hmac-sha256.
	hh, err := home.Init(filepath.Join(t.TempDir(), "hmac"), home.InitOptions{ChainID: "hmac-chain", Region: "420100", HMACPseudonyms: true})
	if err != nil {
		t.Fatal(err)
	}
	if hh.Genesis.PseudonymKey != nil || hh.Pseudonymizer().PublicKey() != nil {
		t.Fatal("an HMAC home has a VOPRF key")
	}
	hn := testnode.Open(t, hh)
	hf := &fixture{h: hh, n: hn, srv: httptest.NewServer(handler(t, hn, slog.New(slog.NewTextHandler(io.Discard, nil)))), token: hh.APIToken()}
	t.Cleanup(hf.srv.Close)
	hsite := hf.grant(t, "site")
	code, out, _ := hf.signedCall(t, hsite, "POST", "/v1/pseudonyms/oblivious", with(enc))
	if e := apiError(t, reply{status: code, header: http.Header{"Content-Type": {"application/json"}}, body: out}); code != 409 || e.Code != "not_oblivious" {
		t.Errorf("HMAC chain: %d %s", code, out)
	}
	var key api.PseudonymKey
	decodeOK(t, hf.call(t, "GET", "/v1/pseudonyms/key", "", ""), &key)
	if key.Scheme != api.HMACScheme || key.Key != "" {
		t.Errorf("HMAC chain's key: %+v", key)
	}
	if es, _ := hn.Query.Audits(-1<<62, 1<<62); len(es) != 0 {
		t.Errorf("HMAC chain: %d audit records", len(es))
	}
}

// FuzzDecodeOblivious: the request decoder never panics; what it refuses
// is a 4xx *api.Error naming a field and returns nothing; what it accepts
// is 1 to MaxOblivious valid 32-byte elements, each of which the input
// held in its one canonical base64 form (so re-encoding the elements
// gives the input's strings back), and which BlindEvaluate accepts.
func FuzzDecodeOblivious(f *testing.F) {
	b, _ := identity.Blind([]string{"id:" + idA, "phone:" + phoneA})
	f.Add(obliviousBody(f, b.Elements()))
	f.Add([]byte(`{"blinded":[]}`))
	f.Add([]byte(`{"blinded":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}`))
	f.Add([]byte(`{"blinded":["` + strings.Repeat("/", 43) + `="]}`))
	f.Add([]byte(`{"blinded":null}`))
	f.Add([]byte(`{"blinded":["x"],"y":1}`))
	f.Add([]byte(`[]`))
	pz, err := identity.NewOPRFPseudonymizer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		els, err := api.DecodeOblivious(in)
		if err != nil {
			var e *api.Error
			if els != nil || !errors.As(err, &e) || e.Status < 400 || e.Status >= 500 {
				t.Fatalf("refusal %v with %d elements", err, len(els))
			}
			return
		}
		if len(els) < 1 || len(els) > api.MaxOblivious {
			t.Fatalf("%d elements", len(els))
		}
		var req api.ObliviousRequest
		if json.Unmarshal(in, &req) != nil || len(req.Blinded) != len(els) {
			t.Fatalf("accepted %q, which encoding/json reads otherwise", in)
		}
		for i, e := range els {
			if len(e) != 32 || base64.StdEncoding.EncodeToString(e) != req.Blinded[i] {
				t.Fatalf("element %d: %x from %q", i, e, req.Blinded[i])
			}
		}
		if _, _, err := pz.BlindEvaluate(els); err != nil {
			t.Fatalf("accepted elements that BlindEvaluate refuses: %v", err)
		}
		again, err := api.DecodeOblivious(obliviousBody(t, els))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(els) {
			t.Fatalf("re-encoded: %v", err)
		}
	})
}
