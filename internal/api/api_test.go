package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/testnode"
)

// Canonical ids and aliases of the test world. No response may carry
// them except where the authority asks for real identities (trace reports
// and the case list).
const (
	idA    = "420100199001011234"
	phoneA = "13800000000"
	idB    = "420100199202025678"
	idC    = "420100198503037777"
	phoneC = "13900000000"
	// phoneX is bound to nobody.
	phoneX = "13999999999"
)

// registry holds the sites and identities; world adds records on 2020-01-20
// (+08:00): A at the office, a move to the shop, A, B and C at the shop
// (A-B 40m together, A-C 5m), A in C's taxi (10m, transport), and A's case.
const registry = `{"type":"site","site":"office-1","kind":"office","lat":30.5,"lon":114.3,"region":"420100"}
{"type":"site","site":"shop-1","kind":"shop","lat":30.6,"lon":114.3,"region":"420100"}
{"type":"site","site":"taxi-1","kind":"taxi","lat":30.6,"lon":114.3,"region":"420100"}
{"type":"site","site":"hospital-1","kind":"hospital","lat":30.6,"lon":114.4,"region":"420100"}
{"type":"identity","id":"` + idA + `","aliases":["phone:` + phoneA + `"]}
{"type":"identity","id":"` + idB + `"}
{"type":"identity","id":"` + idC + `","aliases":["phone:` + phoneC + `"]}
`

const world = registry + `{"type":"visit","site":"office-1","person":"id:` + idA + `","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T12:00:00+08:00","via":"staff_card"}
{"type":"move","person":"phone:` + phoneA + `","from":"office-1","to":"shop-1","depart":"2020-01-20T12:30:00+08:00","arrive":"2020-01-20T12:50:00+08:00","via":"walk"}
{"type":"visit","site":"shop-1","person":"phone:` + phoneA + `","in":"2020-01-20T13:00:00+08:00","out":"2020-01-20T14:00:00+08:00","via":"payment"}
{"type":"visit","site":"shop-1","person":"id:` + idB + `","in":"2020-01-20T13:10:00+08:00","out":"2020-01-20T13:50:00+08:00","via":"face"}
{"type":"visit","site":"shop-1","person":"phone:` + phoneC + `","in":"2020-01-20T13:55:00+08:00","out":"2020-01-20T14:30:00+08:00","via":"payment"}
{"type":"visit","site":"taxi-1","person":"phone:` + phoneC + `","in":"2020-01-20T07:00:00+08:00","out":"2020-01-20T19:00:00+08:00","role":"driver"}
{"type":"visit","site":"taxi-1","person":"id:` + idA + `","in":"2020-01-20T14:10:00+08:00","out":"2020-01-20T14:20:00+08:00"}
{"type":"case","person":"id:` + idA + `","status":"confirmed","onset":"2020-01-19","reported":"2020-01-21T10:00:00+08:00","by":"hospital-1"}
`

// secrets are the raw identifiers that must never appear where a response
// is not an authorised report.
var secrets = []string{idA, phoneA, idB, idC, phoneC, phoneX}

// fixture is a node with the test world, served over HTTP.
type fixture struct {
	h     *home.Home
	n     *node.Node
	srv   *httptest.Server
	token string
}

// serve starts the API over a fresh node into which text is imported; every
// line must be accepted.
func serve(t testing.TB, text string) *fixture {
	t.Helper()
	return serveWith(t, text)
}

// serveWith is serve on a home the options change.
func serveWith(t testing.TB, text string, opts ...testnode.Option) *fixture {
	t.Helper()
	h, n := testnode.New(t, opts...)
	if res := testnode.Import(t, h, n, text); res.Rejected != 0 {
		t.Fatalf("setup rejected: %v", res.Rejections)
	}
	srv := httptest.NewServer(handler(t, n, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return &fixture{h: h, n: n, srv: srv, token: h.APIToken()}
}

// handler returns the API handler of n, every request and answer
// checked against openapi.json (contract, openapi_test.go).
func handler(t testing.TB, n *node.Node, log *slog.Logger) http.Handler {
	t.Helper()
	h, err := api.New(n, log)
	if err != nil {
		t.Fatal(err)
	}
	return contract(t, h)
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request; token "" sends no Authorization header.
func (f *fixture) call(t testing.TB, method, path, token, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Epiledger-Case", "case-test")
		req.Header.Set("Epiledger-Purpose", "testing")
	}
	return f.do(t, req)
}

// do sends req to the fixture's server and reads the whole reply.
func (f *fixture) do(t testing.TB, req *http.Request) reply {
	t.Helper()
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// apiError decodes an error body strictly: {"error":{"code","message"[,"field"]}}
// and nothing else.
func apiError(t *testing.T, r reply) api.Error {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e struct {
		Error *api.Error `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == nil {
		t.Fatalf("status %d: body is not a JSON error: %v: %s", r.status, err, r.body)
	}
	if e.Error.Code == "" || e.Error.Msg == "" {
		t.Errorf("error without code or message: %s", r.body)
	}
	return *e.Error
}

func decodeOK(t *testing.T, r reply, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func noSecrets(t *testing.T, what string, b []byte, extra ...string) {
	t.Helper()
	for _, s := range append(secrets, extra...) {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s leaks %q: %s", what, s, b)
		}
	}
}

func unix(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.Unix()
}

func siteKey(t *testing.T, h *home.Home, site string) ed25519.PrivateKey {
	t.Helper()
	k, err := h.Keys.Get(site)
	if err != nil || k == nil {
		t.Fatalf("no key for %s: %v", site, err)
	}
	return k
}

func personRef(t *testing.T, h *home.Home, ref string) ledger.PersonRef {
	t.Helper()
	r, err := h.Pseudonymizer().Ref("person", ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// visit builds a visit at site signed by key (nil: the site's own key).
func visit(t *testing.T, h *home.Home, key ed25519.PrivateKey, site, ref, in, out string) *ledger.Tx {
	t.Helper()
	if key == nil {
		key = siteKey(t, h, site)
	}
	tx := ledger.NewTx(&ledger.Visit{Site: site, Person: personRef(t, h, ref), In: unix(t, in), Out: unix(t, out), Via: "face"})
	tx.Sign(h.Genesis.ChainID, key)
	return tx
}

func b64(tx *ledger.Tx) string { return base64.StdEncoding.EncodeToString(tx.Bytes()) }

func txJSON(tx *ledger.Tx) string { return `{"tx":"` + b64(tx) + `"}` }

func pseudonymHex(h *home.Home, canonicalID string) string {
	return h.Pseudonymizer().Person(canonicalID).String()
}

func TestHealth(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	head := f.n.Engine.Head()
	for _, path := range []string{"/v1/health", "/v1/status"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			var s api.Status
			decodeOK(t, f.call(t, "GET", path, f.token, ""), &s) // health needs none; status any role
			want := api.Status{Status: "ok", ChainID: "test-chain", Region: "420100", Height: head.Height,
				Head: head.Hash.String(), StateHash: head.StateHash.String(), Timeline: "ready"}
			if s != want {
				t.Errorf("got %+v, want %+v", s, want)
			}
			if s.Height == 0 {
				t.Error("height 0 after an import")
			}
		})
	}
}

type endpoint struct{ name, method, path, body string }

// protected lists every endpoint that needs the token, each with a request
// that succeeds with it.
func protected(t *testing.T, f *fixture) []endpoint {
	t.Helper()
	rd, err := (&report.Builder{N: f.n}).Trajectory(report.Query{Person: "id:" + idA, From: "2020-01-20", To: "2020-01-20"})
	tr, err := testnode.Perform(t, f.n, rd, err)
	if err != nil || len(tr.Entries) == 0 {
		t.Fatalf("trajectory: %v %+v", err, tr)
	}
	tx := tr.Entries[0].Tx
	sealed := base64.StdEncoding.EncodeToString(f.h.Vault().Seal(f.h.Pseudonymizer().Person(idB), idB))
	q := `{"person":"phone:` + phoneA + `","from":"2020-01-20","to":"2020-01-20"}`
	return []endpoint{
		{"get_tx", "GET", "/v1/tx/" + tx, ""},
		{"get_proof", "GET", "/v1/tx/" + tx + "/proof", ""},
		{"get_block", "GET", "/v1/blocks/1", ""},
		{"put_vault", "PUT", "/v1/vault", `{"entries":[{"person":"` + pseudonymHex(f.h, idB) + `","sealed":"` + sealed + `"}]}`},
		{"trajectory", "POST", "/v1/trace/trajectory", q},
		{"contacts", "POST", "/v1/trace/contacts", q},
		{"cases", "GET", "/v1/cases", ""},
		{"verify", "GET", "/v1/verify", ""},
	}
}

// TestUnauthorized sends each protected request with no token, a wrong
// token and malformed Authorization headers: all 401, no personal data.
func TestUnauthorized(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	pseudonyms := []string{pseudonymHex(f.h, idA), pseudonymHex(f.h, idB), pseudonymHex(f.h, idC)}
	auths := []struct {
		name   string
		header string // "" = no Authorization header
	}{
		{"no_token", ""},
		{"wrong_token", "Bearer " + strings.Repeat("0", len(f.token))},
		{"token_prefix", "Bearer " + f.token[:len(f.token)-1]},
		{"token_without_bearer", f.token},
		{"basic_scheme", "Basic " + f.token},
		{"lower_case_bearer", "bearer " + f.token},
	}
	for _, ep := range protected(t, f) {
		for _, a := range auths {
			t.Run(ep.name+"_"+a.name, func(t *testing.T) {
				t.Parallel()
				var rd io.Reader
				if ep.body != "" {
					rd = strings.NewReader(ep.body)
				}
				req, err := http.NewRequest(ep.method, f.srv.URL+ep.path, rd)
				if err != nil {
					t.Fatal(err)
				}
				if a.header != "" {
					req.Header.Set("Authorization", a.header)
				}
				resp, err := f.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				r := reply{status: resp.StatusCode, header: resp.Header, body: b}
				if r.status != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401: %s", r.status, b)
				}
				if e := apiError(t, r); e.Code != "unauthorized" {
					t.Errorf("code %q, want unauthorized", e.Code)
				}
				noSecrets(t, "401 body", b, pseudonyms...)
			})
		}
	}
	// The same requests with the token succeed, so the 401s above were
	// about the token and nothing else.
	for _, ep := range protected(t, f) {
		if r := f.call(t, ep.method, ep.path, f.token, ep.body); r.status != http.StatusOK {
			t.Errorf("%s %s with the token: status %d: %s", ep.method, ep.path, r.status, r.body)
		}
	}
}

// TestBadInput sends malformed requests to every endpoint: each is a 4xx
// JSON error naming its field, and none of them changes the chain, the
// vault or a trajectory.
func TestBadInput(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	tok := f.token
	unknownTx := strings.Repeat("ab", 32)
	goodSealed := base64.StdEncoding.EncodeToString(f.h.Vault().Seal(f.h.Pseudonymizer().Person(idB), idB))
	person := pseudonymHex(f.h, idB)
	trajQ := `{"person":"id:` + idA + `","from":"2020-01-20","to":"2020-01-20"}`
	before := f.call(t, "POST", "/v1/trace/trajectory", tok, trajQ)
	headBefore := f.n.Engine.Head()

	cases := []struct {
		name         string
		method, path string
		token        string
		body         string
		status       int
		code         string
		field        string
		msgHas       string   // the message must contain this
		msgHasNot    []string // and must not contain these
	}{
		// Bodies.
		{name: "contacts_malformed_json", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person":`, status: 400, code: "invalid"},
		{name: "contacts_syntax_error", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person" "id:` + idA + `"}`, status: 400, code: "invalid", msgHasNot: []string{idA}},
		{name: "contacts_unknown_field", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person":"id:` + idA + `","since":"2020-01-20"}`, status: 400, code: "invalid", field: "since", msgHas: "since", msgHasNot: []string{idA}},
		{name: "contacts_person_number", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person":13800000000}`, status: 400, code: "invalid", field: "person", msgHasNot: []string{phoneA}},
		{name: "contacts_empty_body", method: "POST", path: "/v1/trace/contacts", token: tok, body: ``, status: 400, code: "invalid", msgHas: "empty body"},
		{name: "contacts_array_body", method: "POST", path: "/v1/trace/contacts", token: tok, body: `["id:` + idA + `"]`, status: 400, code: "invalid", msgHasNot: []string{idA}},
		{name: "trajectory_malformed_json", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{`, status: 400, code: "invalid"},
		{name: "trajectory_trailing_data", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{"person":"id:x"} {"person":"id:y"}`, status: 400, code: "invalid", msgHas: "after the JSON object"},
		{name: "trajectory_unknown_field", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{"person_id":"x"}`, status: 400, code: "invalid", field: "person_id", msgHas: "person_id"},
		{name: "trajectory_from_number", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{"person":"id:` + idA + `","from":20200120}`, status: 400, code: "invalid", field: "from"},
		{name: "trajectory_empty_body", method: "POST", path: "/v1/trace/trajectory", token: tok, body: ``, status: 400, code: "invalid", msgHas: "empty body"},
		{name: "txs_malformed_json", method: "POST", token: tok, path: "/v1/txs", body: `{"txs":[`, status: 400, code: "invalid"},
		{name: "txs_unknown_field", method: "POST", token: tok, path: "/v1/txs", body: `{"tx":["AAAA"]}`, status: 400, code: "invalid", field: "tx", msgHas: `"tx"`},
		{name: "txs_string_not_list", method: "POST", token: tok, path: "/v1/txs", body: `{"txs":"AAAA"}`, status: 400, code: "invalid", field: "txs"},
		{name: "txs_empty_body", method: "POST", token: tok, path: "/v1/txs", body: ``, status: 400, code: "invalid", msgHas: "empty body"},
		{name: "txs_too_many", method: "POST", token: tok, path: "/v1/txs", body: `{"txs":[` + strings.Repeat(`"!",`, api.MaxSubmit) + `"!"]}`, status: 400, code: "invalid", field: "txs"},
		{name: "txs_body_over_max", method: "POST", token: tok, path: "/v1/txs", body: `{"txs":["` + strings.Repeat("A", api.MaxBody) + `"]}`, status: 413, code: "too_large"},
		{name: "tx_malformed_json", method: "POST", token: tok, path: "/v1/tx", body: `{"tx":`, status: 400, code: "invalid"},
		{name: "tx_unknown_field", method: "POST", token: tok, path: "/v1/tx", body: `{"txs":"AAAA"}`, status: 400, code: "invalid", field: "txs", msgHas: `"txs"`},
		{name: "tx_number", method: "POST", token: tok, path: "/v1/tx", body: `{"tx":1}`, status: 400, code: "invalid", field: "tx"},
		{name: "tx_empty_body", method: "POST", token: tok, path: "/v1/tx", body: ``, status: 400, code: "invalid", msgHas: "empty body"},
		{name: "tx_empty_string", method: "POST", token: tok, path: "/v1/tx", body: `{"tx":""}`, status: 400, code: "invalid", field: "tx"},
		{name: "tx_not_base64", method: "POST", token: tok, path: "/v1/tx", body: `{"tx":"not base64!"}`, status: 400, code: "invalid", field: "tx"},
		{name: "tx_undecodable_bytes", method: "POST", token: tok, path: "/v1/tx", body: `{"tx":"AAAA"}`, status: 422, code: "invalid", field: "tx"},
		{name: "vault_malformed_json", method: "PUT", path: "/v1/vault", token: tok, body: `{"entries":[{`, status: 400, code: "invalid"},
		{name: "vault_unknown_field", method: "PUT", path: "/v1/vault", token: tok, body: `{"entries":[{"person":"` + person + `","sealed":"` + goodSealed + `","id":"x"}]}`, status: 400, code: "invalid", field: "id", msgHas: `"id"`},
		{name: "vault_entries_object", method: "PUT", path: "/v1/vault", token: tok, body: `{"entries":{}}`, status: 400, code: "invalid", field: "entries"},
		{name: "vault_empty_body", method: "PUT", path: "/v1/vault", token: tok, body: ``, status: 400, code: "invalid", msgHas: "empty body"},
		{name: "vault_person_not_hex", method: "PUT", path: "/v1/vault", token: tok, body: `{"entries":[{"person":"id:` + idB + `","sealed":"` + goodSealed + `"}]}`, status: 400, code: "invalid", field: "entries[0].person", msgHasNot: []string{idB}},
		{name: "vault_sealed_not_base64", method: "PUT", path: "/v1/vault", token: tok, body: `{"entries":[{"person":"` + person + `","sealed":"` + idB + `!"}]}`, status: 400, code: "invalid", field: "entries[0].sealed", msgHasNot: []string{idB}},
		{name: "vault_sealed_for_other_person", method: "PUT", path: "/v1/vault", token: tok, body: `{"entries":[{"person":"` + pseudonymHex(f.h, idC) + `","sealed":"` + goodSealed + `"}]}`, status: 400, code: "invalid", field: "entries[0].sealed"},
		// Paths.
		{name: "tx_hash_not_hex", method: "GET", path: "/v1/tx/xyz", token: tok, status: 400, code: "invalid", field: "hash"},
		{name: "tx_hash_63_digits", method: "GET", path: "/v1/tx/" + unknownTx[:63], token: tok, status: 400, code: "invalid", field: "hash"},
		{name: "tx_hash_66_digits", method: "GET", path: "/v1/tx/" + unknownTx + "ab", token: tok, status: 400, code: "invalid", field: "hash"},
		{name: "tx_unknown", method: "GET", path: "/v1/tx/" + unknownTx, token: tok, status: 404, code: "not_found"},
		{name: "proof_hash_not_hex", method: "GET", path: "/v1/tx/xyz/proof", token: tok, status: 400, code: "invalid", field: "hash"},
		{name: "proof_unknown_tx", method: "GET", path: "/v1/tx/" + unknownTx + "/proof", token: tok, status: 404, code: "not_found"},
		{name: "block_height_word", method: "GET", path: "/v1/blocks/abc", token: tok, status: 400, code: "invalid", field: "height"},
		{name: "block_height_0", method: "GET", path: "/v1/blocks/0", token: tok, status: 400, code: "invalid", field: "height"},
		{name: "block_height_negative", method: "GET", path: "/v1/blocks/-1", token: tok, status: 400, code: "invalid", field: "height"},
		{name: "block_height_overflow", method: "GET", path: "/v1/blocks/18446744073709551616", token: tok, status: 400, code: "invalid", field: "height"},
		{name: "block_height_past_head", method: "GET", path: "/v1/blocks/1000000", token: tok, status: 404, code: "not_found"},
		// Bodies: one JSON object, its fields named exactly.
		{name: "body_null", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `null`, status: 400, code: "invalid"},
		{name: "body_array", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `[{"person":"id:` + idA + `"}]`, status: 400, code: "invalid"},
		{name: "field_in_capitals", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{"PERSON":"id:` + idA + `"}`, status: 400, code: "invalid", field: "body", msgHasNot: []string{idA}},
		{name: "field_capitalised", method: "POST", path: "/v1/roles", token: tok, body: `{"Key":"` + strings.Repeat("ab", 32) + `","role":"site","name":"x"}`, status: 400, code: "invalid", field: "body"},
		// Trace queries.
		{name: "trajectory_unknown_alias", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{"person":"phone:` + phoneX + `","from":"2020-01-20","to":"2020-01-20"}`, status: 404, code: "unknown_person", field: "person", msgHasNot: []string{phoneX}},
		{name: "contacts_unknown_alias", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person":"phone:` + phoneX + `","from":"2020-01-20","to":"2020-01-20"}`, status: 404, code: "unknown_person", field: "person", msgHasNot: []string{phoneX}},
		{name: "trajectory_person_without_scheme", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{"person":"` + idA + `"}`, status: 400, code: "invalid", field: "person", msgHasNot: []string{idA}},
		{name: "contacts_person_missing", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"from":"2020-01-20"}`, status: 400, code: "invalid", field: "person"},
		{name: "trajectory_from_word", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{"person":"id:` + idA + `","from":"yesterday"}`, status: 400, code: "invalid", field: "from"},
		{name: "contacts_from_bad_date", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person":"id:` + idA + `","from":"2020-13-45"}`, status: 400, code: "invalid", field: "from"},
		{name: "contacts_from_without_zone", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person":"id:` + idA + `","from":"2020-01-20T08:00:00"}`, status: 400, code: "invalid", field: "from"},
		{name: "trajectory_to_word", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{"person":"id:` + idA + `","to":"tomorrow"}`, status: 400, code: "invalid", field: "to"},
		{name: "trajectory_to_before_from", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{"person":"id:` + idA + `","from":"2020-01-20","to":"2020-01-19"}`, status: 400, code: "invalid", field: "to"},
		{name: "contacts_to_before_from", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person":"id:` + idA + `","from":"2020-01-20T12:00:00+08:00","to":"2020-01-20T11:59:59+08:00"}`, status: 400, code: "invalid", field: "to"},
		{name: "contacts_min_overlap_word", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person":"id:` + idA + `","from":"2020-01-20","to":"2020-01-20","min_overlap":"fifteen"}`, status: 400, code: "invalid", field: "min_overlap"},
		{name: "contacts_min_overlap_negative", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person":"id:` + idA + `","from":"2020-01-20","to":"2020-01-20","min_overlap":"-5m"}`, status: 400, code: "invalid", field: "min_overlap"},
		{name: "contacts_min_overlap_no_unit", method: "POST", path: "/v1/trace/contacts", token: tok, body: `{"person":"id:` + idA + `","from":"2020-01-20","to":"2020-01-20","min_overlap":"15"}`, status: 400, code: "invalid", field: "min_overlap"},
		{name: "trajectory_min_overlap_number", method: "POST", path: "/v1/trace/trajectory", token: tok, body: `{"person":"id:` + idA + `","min_overlap":15}`, status: 400, code: "invalid", field: "min_overlap"},
		// Routes.
		{name: "unknown_route", method: "GET", path: "/v1/persons/id:" + idA, status: 404, code: "not_found"},
		{name: "unknown_version", method: "GET", path: "/v2/health", status: 404, code: "not_found"},
		{name: "root_by_post", method: "POST", path: "/", status: 404, code: "not_found"},
		{name: "trace_by_get", method: "GET", path: "/v1/trace/contacts", token: tok, status: 404, code: "not_found"},
		{name: "delete_vault", method: "DELETE", path: "/v1/vault", token: tok, status: 404, code: "not_found"},
	}
	t.Run("requests", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				r := f.call(t, c.method, c.path, c.token, c.body)
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %.300s", r.status, c.status, r.body)
				}
				e := apiError(t, r)
				if e.Code != c.code || e.Field != c.field {
					t.Errorf("error %s/%s (%s), want %s/%s", e.Code, e.Field, e.Msg, c.code, c.field)
				}
				if !strings.Contains(e.Msg, c.msgHas) {
					t.Errorf("message %q does not contain %q", e.Msg, c.msgHas)
				}
				for _, s := range c.msgHasNot {
					if strings.Contains(e.Msg, s) {
						t.Errorf("message %q echoes %q", e.Msg, s)
					}
				}
			})
		}
	})
	// Nothing but the audit records of the lookups that found nobody (a
	// lookup is a read: TestLookupOfNobodyIsAudited) was committed.
	lookups := 0
	for _, c := range cases {
		if c.code == "unknown_person" {
			lookups++
		}
	}
	head := f.n.Engine.Head()
	var raws [][]byte
	for h := headBefore.Height + 1; h <= head.Height; h++ {
		txs, err := blocks.Txs(f.n.DB, h)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, txs...)
	}
	audits := 0
	for _, raw := range raws {
		if tx, err := ledger.DecodeTx(raw); err == nil && tx.Body.Kind() == ledger.KindAudit {
			audits++
		}
	}
	if len(raws) != lookups || audits != lookups {
		t.Errorf("refused requests moved the head from %d to %d with %d transactions (%d audit records), want only the %d lookups' audit records",
			headBefore.Height, head.Height, len(raws), audits, lookups)
	}
	if after := f.call(t, "POST", "/v1/trace/trajectory", tok, trajQ); !bytes.Equal(after.body, before.body) {
		t.Errorf("trajectory changed:\nbefore %s\nafter  %s", before.body, after.body)
	}
	if id, ok, err := f.n.RealID(testnode.Receipt(t, f.n), f.h.Pseudonymizer().Person(idC)); err != nil || id != idC || !ok {
		t.Errorf("vault entry of C after a refused PUT: %q %v %v", id, ok, err)
	}
}

// TestSubmitRejected submits one transaction per rejection code through
// POST /v1/tx: each is a 422 with its code and field, names no person, and
// nothing is committed.
func TestSubmitRejected(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	h := f.h
	const in, out = "2020-01-21T09:00:00+08:00", "2020-01-21T10:00:00+08:00"

	committed := visit(t, h, nil, "office-1", "id:"+idB, in, out)
	if r := f.call(t, "POST", "/v1/tx", f.token, txJSON(committed)); r.status != http.StatusOK {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	badSig := visit(t, h, nil, "office-1", "id:"+idC, in, out)
	badSig.Sigs[0].Sig[0] ^= 0xff
	_, stranger, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reRegister := ledger.NewTx(&ledger.RegisterSite{Site: "office-1", Kind_: "office", LatE6: 30500000, LonE6: 114300000, Region: "420100"})
	reRegister.Sign(h.Genesis.ChainID, h.Authority())
	siteByStranger := ledger.NewTx(&ledger.RegisterSite{Site: "office-2", Kind_: "office", Region: "420100"})
	siteByStranger.Sign(h.Genesis.ChainID, stranger)
	caseByShop := ledger.NewTx(&ledger.Case{Person: personRef(t, h, "id:"+idB), Status: "confirmed", Reported: unix(t, out), By: "shop-1"})
	caseByShop.Sign(h.Genesis.ChainID, siteKey(t, h, "shop-1"))
	otherChain := ledger.NewTx(&ledger.Visit{Site: "office-1", Person: personRef(t, h, "id:"+idC), In: unix(t, in), Out: unix(t, out)})
	otherChain.Sign("other-chain", siteKey(t, h, "office-1"))

	headBefore := f.n.Engine.Head()
	cases := []struct {
		name  string
		tx    *ledger.Tx
		code  string
		field string
	}{
		{"visit_signature_flipped", badSig, "bad_signature", "signature"},
		{"visit_signed_for_other_chain", otherChain, "bad_signature", "signature"},
		{"visit_already_committed", committed, "replay", ""},
		{"visit_at_unregistered_site", visit(t, h, stranger, "nowhere", "id:"+idB, in, out), "unknown_site", "site"},
		{"visit_of_unbound_alias", visit(t, h, nil, "shop-1", "phone:"+phoneX, in, out), "unknown_person", "person"},
		{"visit_signed_by_other_site", visit(t, h, siteKey(t, h, "shop-1"), "office-1", "id:"+idC, in, out), "wrong_signer", "site"},
		{"site_signed_by_stranger", siteByStranger, "wrong_signer", "signature"},
		{"case_by_shop", caseByShop, "wrong_signer", "by"},
		{"visit_out_before_in", visit(t, h, nil, "office-1", "id:"+idB, out, in), "invalid", "out"},
		{"site_registered_twice", reRegister, "conflict", "site"},
	}
	t.Run("submit", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				r := f.call(t, "POST", "/v1/tx", f.token, txJSON(c.tx))
				if r.status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422: %s", r.status, r.body)
				}
				if e := apiError(t, r); e.Code != c.code || e.Field != c.field {
					t.Errorf("error %s/%s (%s), want %s/%s", e.Code, e.Field, e.Msg, c.code, c.field)
				}
				noSecrets(t, "rejection", r.body, pseudonymHex(h, idB), pseudonymHex(h, idC))
				// A submission needs no token; the lookup proves the
				// transaction is not on the ledger (the replay is, from
				// the setup).
				want := http.StatusNotFound
				if c.code == "replay" {
					want = http.StatusOK
				}
				if g := f.call(t, "GET", "/v1/tx/"+c.tx.ID().String(), f.token, ""); g.status != want {
					t.Errorf("GET tx after the rejection: status %d, want %d", g.status, want)
				}
			})
		}
	})
	if head := f.n.Engine.Head(); head != headBefore {
		t.Errorf("rejections moved the head from %+v to %+v", headBefore, head)
	}
}

// TestSubmitBatch posts good, non-base64, undecodable and wrong-signer
// transactions in one POST /v1/txs: one result per item, in order, and
// exactly the good ones are committed.
func TestSubmitBatch(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	h := f.h
	good1 := visit(t, h, nil, "office-1", "id:"+idA, "2020-01-20T08:00:00+08:00", "2020-01-20T12:00:00+08:00")
	forged := visit(t, h, siteKey(t, h, "shop-1"), "office-1", "id:"+idB, "2020-01-20T08:00:00+08:00", "2020-01-20T12:00:00+08:00")
	good2 := visit(t, h, nil, "shop-1", "phone:"+phoneA, "2020-01-20T13:00:00+08:00", "2020-01-20T14:00:00+08:00")
	items := []struct {
		name  string
		b64   string
		tx    *ledger.Tx // nil: no id expected
		code  string     // "" = committed
		field string
	}{
		{"good_office_visit", b64(good1), good1, "", ""},
		{"not_base64", "%%% not base64 %%%", nil, "invalid", "txs[1]"},
		{"signed_by_other_site", b64(forged), forged, "wrong_signer", "site"},
		{"undecodable", "AAAA", nil, "invalid", "tx"},
		{"good_shop_visit", b64(good2), good2, "", ""},
		{"same_good_visit_again", b64(good2), good2, "replay", ""},
	}
	req := api.SubmitRequest{}
	for _, it := range items {
		req.Txs = append(req.Txs, it.b64)
	}
	body, _ := json.Marshal(req)
	var rep api.SubmitReply
	decodeOK(t, f.call(t, "POST", "/v1/txs", f.token, string(body)), &rep)
	if len(rep.Results) != len(items) {
		t.Fatalf("%d results for %d transactions", len(rep.Results), len(items))
	}
	for i, it := range items {
		res := rep.Results[i]
		if it.tx != nil && res.Tx != it.tx.ID().String() {
			t.Errorf("%s: result %d is for tx %s, want %s", it.name, i, res.Tx, it.tx.ID())
		}
		if it.code == "" {
			if res.Error != nil || res.Height == 0 {
				t.Errorf("%s: %+v, want committed", it.name, res)
				continue
			}
			var info api.TxInfo
			decodeOK(t, f.call(t, "GET", "/v1/tx/"+res.Tx, f.token, ""), &info)
			if info.Height != res.Height || info.Index != res.Index || info.Bytes != it.b64 || info.Kind != "visit" {
				t.Errorf("%s: stored %+v, result %+v", it.name, info, res)
			}
			continue
		}
		if res.Error == nil || res.Error.Code != it.code || res.Error.Field != it.field || res.Height != 0 {
			t.Errorf("%s: %+v (error %+v), want %s/%s", it.name, res, res.Error, it.code, it.field)
		}
	}
	// The forged visit is not on the ledger: the ledger holds no record of
	// B at all, and A's trajectory holds the two good visits.
	if r := f.call(t, "POST", "/v1/trace/trajectory", f.token, `{"person":"id:`+idB+`","from":"2020-01-20","to":"2020-01-20"}`); r.status != 404 || !strings.Contains(string(r.body), "no record of this person") {
		t.Errorf("trajectory of B: %d %s, want 404: no record", r.status, r.body)
	}
	for _, c := range []struct {
		person string
		sites  string
	}{{"id:" + idA, "office-1 shop-1 "}} {
		var tr report.Trajectory
		decodeOK(t, f.call(t, "POST", "/v1/trace/trajectory", f.token, `{"person":"`+c.person+`","from":"2020-01-20","to":"2020-01-20"}`), &tr)
		got := ""
		for _, e := range tr.Entries {
			got += e.Site + " "
		}
		if got != c.sites {
			t.Errorf("trajectory of %s: sites %q, want %q", c.person, got, c.sites)
		}
	}
}

// TestTraceMatchesReport submits the world's records as site-signed
// transactions through POST /v1/txs, then checks that the API's trace
// replies are byte for byte what report.Builder (the CLI's local path)
// encodes for the same queries.
func TestTraceMatchesReport(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	h := f.h
	move := ledger.NewTx(&ledger.Move{Person: personRef(t, h, "phone:"+phoneA), From: "office-1", To: "shop-1",
		Depart: unix(t, "2020-01-20T12:30:00+08:00"), Arrive: unix(t, "2020-01-20T12:50:00+08:00"), Via: "walk"})
	move.Sign(h.Genesis.ChainID, siteKey(t, h, "office-1"))
	move.Sign(h.Genesis.ChainID, siteKey(t, h, "shop-1"))
	txs := []*ledger.Tx{
		visit(t, h, nil, "office-1", "id:"+idA, "2020-01-20T08:00:00+08:00", "2020-01-20T12:00:00+08:00"),
		move,
		visit(t, h, nil, "shop-1", "phone:"+phoneA, "2020-01-20T13:00:00+08:00", "2020-01-20T14:00:00+08:00"),
		visit(t, h, nil, "shop-1", "id:"+idB, "2020-01-20T13:10:00+08:00", "2020-01-20T13:50:00+08:00"),
		visit(t, h, nil, "shop-1", "phone:"+phoneC, "2020-01-20T13:55:00+08:00", "2020-01-20T14:30:00+08:00"),
		visit(t, h, nil, "taxi-1", "phone:"+phoneC, "2020-01-20T07:00:00+08:00", "2020-01-20T19:00:00+08:00"),
		visit(t, h, nil, "taxi-1", "id:"+idA, "2020-01-20T14:10:00+08:00", "2020-01-20T14:20:00+08:00"),
	}
	var req api.SubmitRequest
	for _, tx := range txs {
		req.Txs = append(req.Txs, b64(tx))
	}
	body, _ := json.Marshal(req)
	var rep api.SubmitReply
	decodeOK(t, f.call(t, "POST", "/v1/txs", f.token, string(body)), &rep)
	for i, res := range rep.Results {
		if res.Error != nil {
			t.Fatalf("tx %d refused: %+v", i, res.Error)
		}
	}

	b := &report.Builder{N: f.n}
	cases := []struct {
		name     string
		endpoint string
		q        report.Query
		contacts int // contacts expected (a sanity check on the world)
	}{
		{"contacts_of_id_on_the_day", "contacts", report.Query{Person: "id:" + idA, From: "2020-01-20", To: "2020-01-20"}, 2},
		{"contacts_of_alias_on_the_day", "contacts", report.Query{Person: "phone:" + phoneA, From: "2020-01-20", To: "2020-01-20"}, 2},
		{"contacts_of_alias_with_spaces", "contacts", report.Query{Person: " PHONE: " + phoneA + " ", From: "2020-01-20", To: "2020-01-20"}, 2},
		{"contacts_min_overlap_5m", "contacts", report.Query{Person: "id:" + idA, From: "2020-01-20", To: "2020-01-20", MinOverlap: "5m"}, 3},
		{"contacts_min_overlap_0", "contacts", report.Query{Person: "id:" + idA, From: "2020-01-20", To: "2020-01-20", MinOverlap: "0s"}, 3},
		{"contacts_rfc3339_window", "contacts", report.Query{Person: "id:" + idB, From: "2020-01-20T13:00:00+08:00", To: "2020-01-20T13:30:00+08:00"}, 1},
		{"contacts_of_driver", "contacts", report.Query{Person: "phone:" + phoneC, From: "2020-01-20", To: "2020-01-20"}, 1},
		{"contacts_day_before", "contacts", report.Query{Person: "id:" + idA, From: "2020-01-19", To: "2020-01-19"}, 0},
		{"trajectory_of_id_on_the_day", "trajectory", report.Query{Person: "id:" + idA, From: "2020-01-20", To: "2020-01-20"}, -1},
		{"trajectory_of_alias_over_two_days", "trajectory", report.Query{Person: "phone:" + phoneA, From: "2020-01-19", To: "2020-01-20"}, -1},
		{"trajectory_utc_window", "trajectory", report.Query{Person: "phone:" + phoneC, From: "2020-01-20T05:00:00Z", To: "2020-01-20T06:00:00Z"}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var local any
			var err error
			if c.endpoint == "contacts" {
				var cs *report.Contacts
				rd, err2 := b.Contacts(c.q)
				cs, err = testnode.Perform(t, f.n, rd, err2)
				if err == nil && len(cs.Contacts) != c.contacts {
					t.Errorf("%d contacts, want %d: %+v", len(cs.Contacts), c.contacts, cs.Contacts)
				}
				local = cs
			} else {
				var tr *report.Trajectory
				rd, err2 := b.Trajectory(c.q)
				tr, err = testnode.Perform(t, f.n, rd, err2)
				if err == nil && len(tr.Entries) == 0 {
					t.Error("empty trajectory")
				}
				local = tr
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(local)
			if err != nil {
				t.Fatal(err)
			}
			q, _ := json.Marshal(c.q)
			r := f.call(t, "POST", "/v1/trace/"+c.endpoint, f.token, string(q))
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if got := bytes.TrimSuffix(r.body, []byte("\n")); !bytes.Equal(got, want) {
				t.Errorf("API and report differ:\napi    %s\nreport %s", got, want)
			}
		})
	}
}

// TestProof fetches an inclusion proof over HTTP and checks it the way
// "epiledger tx check" does; each tampering makes the check fail.
func TestProof(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	rd, err := (&report.Builder{N: f.n}).Trajectory(report.Query{Person: "id:" + idA, From: "2020-01-20", To: "2020-01-20"})
	tr, err := testnode.Perform(t, f.n, rd, err)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tr.Entries {
		t.Run(e.Kind+"_"+e.Site, func(t *testing.T) {
			t.Parallel()
			r := f.call(t, "GET", "/v1/tx/"+e.Tx+"/proof", f.token, "")
			var v blocks.ProofView
			decodeOK(t, r, &v)
			noSecrets(t, "proof", r.body)
			p, err := v.Proof()
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Check(); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if v.Tx != e.Tx {
				t.Errorf("proof of %s, want %s", v.Tx, e.Tx)
			}
			// The header is the block's, as GET /v1/blocks/{height} serves it.
			var hv blocks.HeaderView
			decodeOK(t, f.call(t, "GET", "/v1/blocks/"+jsonNum(v.Header.Height), f.token, ""), &hv)
			if hv != v.Header {
				t.Errorf("proof header %+v, block %+v", v.Header, hv)
			}
			raw, err := base64.StdEncoding.DecodeString(v.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			for _, flip := range []struct {
				name string
				at   int
			}{{"version_byte", 0}, {"kind_byte", 1}, {"body_byte", 8}, {"middle_byte", len(raw) / 2}, {"last_signature_byte", len(raw) - 1}} {
				bad := bytes.Clone(raw)
				bad[flip.at] ^= 0x01
				w := v
				w.Bytes = base64.StdEncoding.EncodeToString(bad)
				p, err := w.Proof()
				if err == nil {
					err = p.Check()
				}
				if err == nil {
					t.Errorf("tx_bytes with the %s flipped: proof accepted", flip.name)
				}
			}
			if len(v.Path) > 0 {
				w := v
				w.Path = append([]string(nil), v.Path...)
				w.Path[0] = strings.Repeat("0", 64)
				if p, err := w.Proof(); err == nil && p.Check() == nil {
					t.Error("proof with a zeroed path node accepted")
				}
			}
			w := v
			w.Header.MerkleRoot = strings.Repeat("0", 64)
			if _, err := w.Proof(); err == nil {
				t.Error("header with a changed Merkle root accepted")
			}
		})
	}
}

// TestCasesRefusesUnknownInput: a status that is none, a parameter the
// route does not take or a body on the GET is refused before anything
// is read or audited (issue 11: GET /v1/cases with a body naming an
// unbound alias answered every case's real id, unaudited).
func TestCasesRefusesUnknownInput(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	for _, c := range []struct{ name, query, body, field string }{
		{"status_nonsense", "?status=nonsense", "", "status"},
		{"unknown_param", "?person=phone:0", "", "person"},
		{"body_on_get", "", `{"person":"phone:0"}`, "body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			before := f.n.Engine.Head().Height
			resp := f.call(t, "GET", "/v1/cases"+c.query, f.token, c.body)
			if b := string(resp.body); resp.status != 400 || !strings.Contains(b, `"field":"`+c.field+`"`) || strings.Contains(b, idA) {
				t.Fatalf("status %d %s, want 400 naming %s", resp.status, resp.body, c.field)
			}
			if after := f.n.Engine.Head().Height; after != before {
				t.Errorf("a refused request moved the head from %d to %d", before, after)
			}
		})
	}
}

func jsonNum(u uint64) string {
	b, _ := json.Marshal(u)
	return string(b)
}

// TestCases lists the world's case with its real id, filtered by status.
func TestCases(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	want := report.CaseInfo{Person: "id:" + idA, Pseudonym: pseudonymHex(f.h, idA), Status: "confirmed", Onset: "2020-01-19",
		Reported: "2020-01-21T10:00:00+08:00", By: "hospital-1"}
	for _, c := range []struct {
		query string
		n     int
	}{{"", 1}, {"?status=confirmed", 1}, {"?status=suspected", 0}} {
		t.Run("status"+c.query, func(t *testing.T) {
			t.Parallel()
			var got struct {
				Cases []report.CaseInfo `json:"cases"`
			}
			decodeOK(t, f.call(t, "GET", "/v1/cases"+c.query, f.token, ""), &got)
			if got.Cases == nil || len(got.Cases) != c.n {
				t.Fatalf("cases = %+v, want %d", got.Cases, c.n)
			}
			if c.n == 0 {
				return
			}
			g := got.Cases[0]
			if _, err := ledger.ParseHash(g.Tx); err != nil {
				t.Errorf("tx %q: %v", g.Tx, err)
			}
			g.Tx = ""
			if g != want {
				t.Errorf("case = %+v, want %+v", g, want)
			}
		})
	}
}

// TestClient imports a world through the client package (the CLI's
// --node path) and runs trace queries with it.
func TestClient(t *testing.T) {
	t.Parallel()
	f := serve(t, "")
	bad := `{"type":"visit","site":"nowhere","person":"id:` + idA + `","in":"2020-01-20T13:00:00+08:00","out":"2020-01-20T14:00:00+08:00"}
{"type":"visit","site":"shop-1","person":"phone:` + phoneX + `","in":"2020-01-20T13:00:00+08:00","out":"2020-01-20T14:00:00+08:00"}
{"type":"visit","site":"shop-1","person":"id:` + idA + `","in":"2020-01-20T15:00:00+08:00","out":"2020-01-20T14:00:00+08:00"}
{"type":"visit","site":"office-1","person":"id:` + idA + `","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T12:00:00+08:00","via":"staff_card"}
`
	cl := client.New(f.srv.URL, f.token)
	cl.Case, cl.Purpose = "case-test", "testing"
	cl.BatchSize = 3 // several batches in flight
	res, err := importer.New(f.h, cl).Import(strings.NewReader(world + bad))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(world+bad, "\n")
	if res.Lines != lines || res.Accepted != lines-4 || res.Rejected != 4 {
		t.Fatalf("lines %d accepted %d rejected %d, want %d, %d, 4: %v", res.Lines, res.Accepted, res.Rejected, lines, lines-4, res.Rejections)
	}
	var got []string
	for _, r := range res.Rejections {
		got = append(got, r.Code+"/"+r.Field)
	}
	if want := "[unknown_site/site unknown_person/person invalid/out replay/]"; strings.Join(got, " ") != strings.Trim(want, "[]") {
		t.Errorf("rejections %v, want %s", got, want)
	}
	st, err := cl.Status(context.Background())
	if err != nil || st.Height != f.n.Engine.Head().Height {
		t.Errorf("status %+v, %v", st, err)
	}

	ctx := context.Background()
	b := &report.Builder{N: f.n}
	q := report.Query{Person: "phone:" + phoneA, From: "2020-01-20", To: "2020-01-20"}
	tr, err := cl.Trajectory(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := b.Trajectory(q)
	wantTr, err := testnode.Perform(t, f.n, rt, err)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(t, tr), mustJSON(t, wantTr); g != w || len(tr.Entries) != 4 || tr.Person != "id:"+idA {
		t.Errorf("client trajectory:\n%s\nwant\n%s", g, w)
	}
	cs, err := cl.Contacts(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	rcs, err := b.Contacts(q)
	wantCs, err := testnode.Perform(t, f.n, rcs, err)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(t, cs), mustJSON(t, wantCs); g != w || cs.Persons != 2 {
		t.Errorf("client contacts:\n%s\nwant\n%s", g, w)
	}

	errCases := []struct {
		name   string
		token  string
		q      report.Query
		status int
		code   string
	}{
		{"wrong_token", "not-the-token", q, 401, "unauthorized"},
		{"no_token", "", q, 401, "unauthorized"},
		{"unknown_alias", f.token, report.Query{Person: "phone:" + phoneX}, 404, "unknown_person"},
		{"bad_from", f.token, report.Query{Person: "id:" + idA, From: "soon"}, 400, "invalid"},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cl := client.New(f.srv.URL, c.token)
			cl.Case, cl.Purpose = "case-test", "testing"
			_, err := cl.Contacts(ctx, c.q)
			if !client.IsBadInput(err) {
				t.Fatalf("err = %v, want a 4xx", err)
			}
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Status != c.status || ae.Body.Code != c.code {
				t.Errorf("err = %#v, want %d %s", err, c.status, c.code)
			}
			noSecrets(t, "client error", []byte(err.Error()))
		})
	}
}

// TestClientWrongTokenImport imports through a client with a wrong token:
// the vault upload is refused, the import fails, and nothing is committed.
func TestClientWrongTokenImport(t *testing.T) {
	t.Parallel()
	f := serve(t, "")
	head := f.n.Engine.Head()
	_, err := importer.New(f.h, client.New(f.srv.URL, "wrong")).Import(strings.NewReader(world))
	if !client.IsBadInput(err) {
		t.Fatalf("err = %v, want the 401 from PUT /v1/vault", err)
	}
	if got := f.n.Engine.Head(); got != head {
		t.Errorf("head moved from %+v to %+v", head, got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPutVaultRefusedStoresNothing sends a vault upload whose first entry
// is good and whose second does not open: the request is refused, so the
// first entry must not be stored either.
func TestPutVaultRefusedStoresNothing(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	p := f.h.Pseudonymizer().Person("999")
	sealed := base64.StdEncoding.EncodeToString(f.h.Vault().Seal(p, "999"))
	body := `{"entries":[{"person":"` + p.String() + `","sealed":"` + sealed + `"},{"person":"` + pseudonymHex(f.h, idC) + `","sealed":"` + sealed + `"}]}`
	r := f.call(t, "PUT", "/v1/vault", f.token, body)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", r.status, r.body)
	}
	if id, ok, err := f.n.RealID(testnode.Receipt(t, f.n), p); ok || err != nil {
		t.Errorf("a refused upload stored %q (err %v)", id, err)
	}
}

// TestVerifyEndpoint: the node verifies its own chain on request, and names
// a block whose bytes were altered.
func TestVerifyEndpoint(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	var v api.VerifyReply
	decodeOK(t, f.call(t, "GET", "/v1/verify", f.token, ""), &v)
	head := f.n.Engine.Head()
	if !v.OK || v.Blocks != head.Height || v.Head != head.Hash.String() {
		t.Fatalf("verify: %+v, head %d", v, head.Height)
	}
	raws, err := blocks.Txs(f.n.DB, 1)
	if err != nil || len(raws) == 0 {
		t.Fatal(err)
	}
	bad := append([]byte(nil), raws[0]...)
	bad[len(bad)-1] ^= 1
	b := f.n.DB.NewBatch()
	b.Set(store.TxKey(1, 0), bad)
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	decodeOK(t, f.call(t, "GET", "/v1/verify", f.token, ""), &v)
	if v.OK || v.BadHeight != 1 {
		t.Fatalf("verify after tampering: %+v", v)
	}
}
