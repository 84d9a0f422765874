package api_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/testnode"
)

// TestRoleMatrix walks every endpoint with every role: a call the role may
// make gets through (neither 401 nor 403), every other one is refused with
// 403 and a body that names no person; unsigned calls are refused with 401;
// every read of personal data by an investigator leaves an audit record,
// which only auditors (and the administrator) can list.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	h, n := testnode.New(t)
	testnode.Import(t, h, n, lentEvening)
	srv := httptest.NewServer(handler(t, n, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	roles := []string{"site", "hospital", "investigator", "auditor", "administrator", "none"}
	keys := map[string]ed25519.PrivateKey{}
	for _, role := range roles {
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		keys[role] = k
		if role == "none" {
			continue // never granted
		}
		body := `{"key":"` + hex.EncodeToString(k.Public().(ed25519.PublicKey)) + `","role":"` + role + `","name":"test ` + role + `"}`
		req, _ := http.NewRequest("POST", srv.URL+"/v1/roles", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+h.APIToken())
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("grant %s: %v %v", role, err, resp.Status)
		}
		resp.Body.Close()
	}
	call := func(key ed25519.PrivateKey, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader([]byte(body)))
		if key != nil {
			api.SignRequest(req, h.Genesis.ChainID, key, "case-2020-0117", "contact tracing", []byte(body), time.Now())
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A transaction and a pseudonym to ask about.
	raws, err := blocks.Txs(n.DB, 1)
	if err != nil || len(raws) == 0 {
		t.Fatal(err)
	}
	id, _ := decodeID(raws[0])
	tx := id
	q := `{"person":"id:P1","from":"2020-01-20","to":"2020-01-20"}`
	endpoints := []struct {
		method, path, body string
		allowed            []string // besides the chain authority
		personal           bool     // a read of personal data: audited
	}{
		{"GET", "/v1/status", "", roles[:5], false},
		{"GET", "/v1/validate/probability?z=1..2", "", roles[:5], false},
		{"POST", "/v1/txs", `{"txs":[]}`, []string{"site", "hospital", "administrator", "investigator"}, false},
		{"POST", "/v1/tx", `{"tx":""}`, []string{"site", "hospital", "administrator", "investigator"}, false},
		{"GET", "/v1/tx/" + tx, "", []string{"investigator", "auditor", "administrator"}, false},
		{"GET", "/v1/tx/" + tx + "/proof", "", []string{"investigator", "auditor", "administrator"}, false},
		{"GET", "/v1/blocks/1", "", []string{"investigator", "auditor", "administrator"}, false},
		{"GET", "/v1/verify", "", []string{"auditor", "administrator"}, false},
		{"PUT", "/v1/vault", `{"entries":[]}`, []string{"administrator"}, false},
		{"POST", "/v1/validate/close", `{"until":"2020-01-21T07:00:00+08:00"}`, []string{"administrator"}, false},
		{"GET", "/v1/audit", "", []string{"auditor", "administrator"}, false},
		{"POST", "/v1/roles", `{"key":"` + strings.Repeat("ab", 32) + `","role":"auditor","name":"x"}`, []string{"administrator"}, false},
		{"POST", "/v1/trace/trajectory", q, []string{"investigator"}, true},
		{"POST", "/v1/trace/contacts", q, []string{"investigator"}, true},
		{"GET", "/v1/cases", "", []string{"investigator"}, true},
		{"GET", "/v1/persons/id:P1/chain?from=2020-01-20&to=2020-01-20", "", []string{"investigator"}, true},
		{"POST", "/v1/validate/decisions", q, []string{"investigator"}, true},
		{"POST", "/v1/trace/chain", `{"person":"id:P1","depth":2,"from":"2020-01-20","to":"2020-01-20"}`, []string{"investigator"}, true},
		{"POST", "/v1/trace/risk-sites", `{"from":"2020-01-20","to":"2020-01-21"}`, roles[:5], false},
	}
	audited := 0
	for _, ep := range endpoints {
		// Unsigned: 401, nothing leaked.
		if code, body := call(nil, ep.method, ep.path, ep.body); code != 401 || strings.Contains(body, "P1") {
			t.Errorf("%s %s unsigned: %d %s", ep.method, ep.path, code, body)
		}
		for _, role := range roles {
			code, body := call(keys[role], ep.method, ep.path, ep.body)
			ok := false
			for _, a := range ep.allowed {
				ok = ok || a == role
			}
			switch {
			case ok && (code == 401 || code == 403):
				t.Errorf("%s %s as %s: refused %d %s", ep.method, ep.path, role, code, body)
			case ok && ep.personal && code != 200:
				t.Errorf("%s %s as %s: %d %s", ep.method, ep.path, role, code, body)
			case !ok && code != 403:
				t.Errorf("%s %s as %s: %d, want 403: %s", ep.method, ep.path, role, code, body)
			case !ok && (strings.Contains(body, "P1") || strings.Contains(body, "access:")):
				t.Errorf("%s %s as %s: the refusal leaks: %s", ep.method, ep.path, role, body)
			}
			if ok && ep.personal && code == 200 {
				audited++
			}
		}
	}
	// The audit trail holds one record per personal-data read, with who,
	// case and purpose; refusals wrote none.
	code, body := call(keys["auditor"], "GET", "/v1/audit", "")
	var trail struct{ Audits []report.AuditView }
	if code != 200 || json.Unmarshal([]byte(body), &trail) != nil {
		t.Fatalf("audit list: %d %s", code, body)
	}
	inv := hex.EncodeToString(keys["investigator"].Public().(ed25519.PublicKey))
	got := 0
	for _, a := range trail.Audits {
		if a.Caller == inv {
			got++
			if a.Case != "case-2020-0117" || a.Purpose != "contact tracing" || a.Role != "investigator" || a.Name != "test investigator" || a.Route == "" {
				t.Errorf("audit record: %+v", a)
			}
			if strings.Contains(body, "P1") {
				t.Errorf("the audit trail holds a raw identifier")
			}
		}
	}
	if got != audited || audited != 6 {
		t.Fatalf("%d audit records for %d audited reads (want 6)", got, audited)
	}
	// A replayed request is refused.
	req, _ := http.NewRequest("GET", srv.URL+"/v1/status", nil)
	api.SignRequest(req, h.Genesis.ChainID, keys["auditor"], "", "", nil, time.Now())
	for i, want := range []int{200, 401} {
		r2 := req.Clone(req.Context())
		resp, err := http.DefaultClient.Do(r2)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("send %d of the same signed request: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	// A read without case and purpose is refused and not audited.
	req, _ = http.NewRequest("POST", srv.URL+"/v1/trace/contacts", strings.NewReader(q))
	api.SignRequest(req, h.Genesis.ChainID, keys["investigator"], "", "", []byte(q), time.Now())
	resp, _ := http.DefaultClient.Do(req)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), api.HeaderCase) {
		t.Fatalf("read without a case: %d %s", resp.StatusCode, b)
	}
	// Investigations refused for their own reasons, after the guard let
	// them through (a depth out of range, a bad duration, a bad window, a
	// person bound to nobody), never ran: they leave no audit record.
	for _, bad := range []struct{ path, body, field string }{
		{"/v1/trace/chain", `{"person":"id:P1","depth":11,"from":"2020-01-20","to":"2020-01-20"}`, "depth"},
		{"/v1/trace/chain", `{"person":"id:P1","latent":"soon","from":"2020-01-20","to":"2020-01-20"}`, "latent"},
		{"/v1/trace/follow-up", `{"person":"id:P1","from":"2020-01-21","to":"2020-01-20"}`, "to"},
		{"/v1/trace/sources", `{"person":"id:NOBODY","onset":"2020-01-25"}`, "person"},
		{"/v1/trace/clusters", `{"from":"2020-01-20","to":"yesterday-ish"}`, "to"},
	} {
		code, body := call(keys["investigator"], "POST", bad.path, bad.body)
		if code < 400 || code >= 500 || !strings.Contains(body, `"field":"`+bad.field+`"`) {
			t.Errorf("%s %s: %d %s, want a 4xx naming %q", bad.path, bad.body, code, body, bad.field)
		}
	}
	code, body = call(keys["auditor"], "GET", "/v1/audit", "")
	trail.Audits = nil
	if code != 200 || json.Unmarshal([]byte(body), &trail) != nil {
		t.Fatalf("audit list: %d %s", code, body)
	}
	got = 0
	for _, a := range trail.Audits {
		if a.Caller == inv {
			got++
		}
	}
	if got != audited {
		t.Fatalf("%d audit records after refused investigations, want %d: a refused request was audited", got, audited)
	}
}

func decodeID(raw []byte) (string, error) {
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		return "", err
	}
	return tx.ID().String(), nil
}

// TestSignedOnly: with node.operator_token = false the bearer token is
// refused (401 naming the header, nothing read) and signed requests work,
// the authority's own key included.
func TestSignedOnly(t *testing.T) {
	t.Parallel()
	h, n := testnode.New(t, func(s *testnode.Setup) { s.Config.Node.OperatorToken = false })
	srv := httptest.NewServer(handler(t, n, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+h.APIToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), `"field":"Authorization"`) || !strings.Contains(string(b), "signed requests only") {
		t.Fatalf("bearer token on a signed-only node: %d %s", resp.StatusCode, b)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/v1/status", nil)
	api.SignRequest(req, h.Genesis.ChainID, h.Authority(), "", "", nil, time.Now())
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("signed by the authority on a signed-only node: %d", resp.StatusCode)
	}
}
