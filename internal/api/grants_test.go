package api_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/testnode"
)

// TestCrossRegionReads: on a chain that holds a national grant (here the
// national chain itself, which the grant names), a key with no role
// reads what the grant's scope opens, each read audited with the grant;
// without a grant, with another key's, an expired one or out of its
// scope it is refused, and each refusal is audited; trace reports carry
// pseudonyms only.
func TestCrossRegionReads(t *testing.T) {
	f := serveWith(t, world, testnode.National)
	chain := f.h.Genesis.ChainID
	n3, n2, n1, reader := f.grant(t, "n3"), f.grant(t, "n2"), f.grant(t, "n1"), f.grant(t, "n2")
	auditor := f.grant(t, "auditor")
	submit := func(by ed25519.PrivateKey, tx *ledger.Tx) {
		t.Helper()
		status, b, _ := f.signedCall(t, by, "POST", "/v1/tx", []byte(`{"tx":"`+base64.StdEncoding.EncodeToString(tx.Bytes())+`"}`))
		if status != 200 {
			t.Fatalf("submit %s: %d %s", tx.Body.Kind(), status, b)
		}
	}
	signed := func(b ledger.Body, by ...ed25519.PrivateKey) *ledger.Tx {
		tx := ledger.NewTx(b)
		for _, k := range by {
			tx.Sign(chain, k)
		}
		return tx
	}
	at := time.Now().Add(-time.Hour).Unix()
	record := func(dimension, secrecy string) *ledger.Tx {
		return signed(&ledger.Intel{Dimension: dimension, Level: 2, Secrecy: secrecy, Time: at, Region: "420100", Place: "Tianhe airport",
			Confirmed: 3, Facts: "3 positives", Endorsements: 1}, n3, n2)
	}
	epidemic, secret, medical := record("epidemic", "internal"), record("epidemic", "secret"), record("medical", "internal")
	for _, tx := range []*ledger.Tx{epidemic, secret, medical} {
		submit(n2, tx)
	}
	a, err := f.n.Resolve("person", "id:"+idA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.n.Resolve("person", "id:"+idB)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC).Unix()
	scope := ledger.AccessScope{Chains: []string{chain}, Reads: []string{"intel", "trace"}, Dimensions: []string{"epidemic"},
		Persons: []ledger.Pseudonym{a}, From: day - 2*86400, To: at + 60}
	req := signed(&ledger.AccessRequest{Scope: scope, Reason: "the Tianhe cluster reaches our province"}, reader)
	submit(reader, req)
	grant := signed(&ledger.AccessGrant{Request: req.ID(), Grantee: pubOf(reader), Scope: scope, Expires: time.Now().Add(time.Hour).Unix()}, n1)
	submit(n1, grant)
	intelOnly := scope
	intelOnly.Reads = []string{"intel"}
	short := signed(&ledger.AccessGrant{Request: req.ID(), Grantee: pubOf(reader), Scope: intelOnly, Expires: time.Now().Add(time.Minute).Unix()}, n1)
	submit(n1, short)
	// A third grant, revoked before its expiry.
	withdrawn := signed(&ledger.AccessGrant{Request: req.ID(), Grantee: pubOf(reader), Scope: scope, Expires: time.Now().Add(time.Hour).Unix() + 1}, n1)
	submit(n1, withdrawn)
	revocation := signed(&ledger.AccessRevoke{Grant: withdrawn.ID(), Reason: "asked in error"}, n1)
	submit(n1, revocation)
	// The reader's role on this chain is revoked: from here on it is a
	// key from another region, with its grants.
	if r := f.call(t, "POST", "/v1/roles", f.token, fmt.Sprintf(`{"key":"%x","role":"none","name":"revoked"}`, reader.Public())); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	_, stranger, _ := ed25519.GenerateKey(nil)
	G, S := grant.ID().String(), short.ID().String()
	call := func(key ed25519.PrivateKey, method, path, body string, when time.Time) (int, api.Error) {
		t.Helper()
		req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		api.SignRequest(req, chain, key, "case-2021-0720", "cross-region investigation", []byte(body), when)
		r := f.do(t, req)
		var e struct{ Error api.Error }
		json.Unmarshal(r.body, &e)
		if r.status == 200 && bytes.Contains(r.body, []byte(idA)) {
			t.Errorf("%s %s: a raw identifier crossed the region: %s", method, path, r.body)
		}
		return r.status, e.Error
	}
	now := time.Now()
	trace := func(who ledger.Pseudonym, to string) string {
		return `{"person":"pn:` + ledger.Hash(who).String() + `","from":"2020-01-19","to":"` + to + `"}`
	}
	for _, tc := range []struct {
		name          string
		key           ed25519.PrivateKey
		method, path  string
		body          string
		when          time.Time
		status        int
		field         string
		audit, refuse bool
	}{
		{name: "a record in scope", key: reader, method: "GET", path: "/v1/intel/" + epidemic.ID().String() + "?grant=" + G, status: 200, audit: true},
		{name: "a secret record in scope", key: reader, method: "GET", path: "/v1/intel/" + secret.ID().String() + "?grant=" + G, status: 200, audit: true},
		{name: "a dimension out of scope", key: reader, method: "GET", path: "/v1/intel/" + medical.ID().String() + "?grant=" + G, status: 403, field: "tx", audit: true, refuse: true},
		{name: "the trajectory of a person in scope", key: reader, method: "POST", path: "/v1/trace/trajectory?grant=" + G, body: trace(a, "2020-01-21"), status: 200, audit: true},
		{name: "contacts of a person in scope", key: reader, method: "POST", path: "/v1/trace/contacts?grant=" + G, body: trace(a, "2020-01-21"), status: 200, audit: true},
		{name: "a person out of scope", key: reader, method: "POST", path: "/v1/trace/trajectory?grant=" + G, body: trace(b, "2020-01-21"), status: 403, field: "person", audit: true, refuse: true},
		{name: "a person never seen here, out of scope", key: reader, method: "POST", path: "/v1/trace/trajectory?grant=" + G, body: trace(ledger.Pseudonym{0x5e}, "2020-01-21"), status: 403, field: "person", audit: true, refuse: true},
		{name: "a raw reference under a grant", key: reader, method: "POST", path: "/v1/trace/contacts?grant=" + G, body: `{"person":"id:` + idA + `","from":"2020-01-19","to":"2020-01-21"}`, status: 400, field: "person"},
		{name: "a window past the grant's", key: reader, method: "POST", path: "/v1/trace/trajectory?grant=" + G, body: trace(a, now.Add(2*time.Hour).Format(time.RFC3339)), status: 403, field: "to", audit: true, refuse: true},
		{name: "a grant that opens no trace", key: reader, method: "POST", path: "/v1/trace/trajectory?grant=" + S, body: trace(a, "2020-01-21"), status: 403, field: "grant", audit: true, refuse: true},
		{name: "a revoked grant", key: reader, method: "GET", path: "/v1/intel/" + epidemic.ID().String() + "?grant=" + withdrawn.ID().String(), status: 403, field: "grant", audit: true, refuse: true},
		{name: "an expired grant", key: reader, method: "GET", path: "/v1/intel/" + epidemic.ID().String() + "?grant=" + S, when: now.Add(4 * time.Minute), status: 403, field: "grant", audit: true, refuse: true},
		{name: "no such grant", key: reader, method: "GET", path: "/v1/intel/" + epidemic.ID().String() + "?grant=" + req.ID().String(), status: 403, field: "grant", audit: true, refuse: true},
		{name: "another key's grant", key: stranger, method: "GET", path: "/v1/intel/" + epidemic.ID().String() + "?grant=" + G, status: 403, field: "grant", audit: true, refuse: true},
		{name: "no grant named", key: reader, method: "GET", path: "/v1/intel/" + epidemic.ID().String(), status: 403, field: api.HeaderKey},
		{name: "a malformed grant", key: reader, method: "GET", path: "/v1/intel/" + epidemic.ID().String() + "?grant=xyz", status: 400, field: "grant"},
		{name: "two grants", key: reader, method: "GET", path: "/v1/intel/" + epidemic.ID().String() + "?grant=" + G + "&grant=" + S, status: 400, field: "grant"},
		{name: "a route that serves no grantee", key: reader, method: "GET", path: "/v1/intel?grant=" + G, status: 403},
		{name: "any role's route", key: reader, method: "GET", path: "/v1/status?grant=" + G, status: 403},
		{name: "a role holder's grant parameter", key: auditor, method: "GET", path: "/v1/intel/" + epidemic.ID().String() + "?grant=" + G, status: 400, field: "grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.audits(t)
			when := tc.when
			if when.IsZero() {
				when = time.Now()
			}
			status, e := call(tc.key, tc.method, tc.path, tc.body, when)
			if status != tc.status || tc.field != "" && e.Field != tc.field {
				t.Fatalf("%d %+v, want %d naming %q", status, e, tc.status, tc.field)
			}
			after := f.audits(t)
			if !tc.audit {
				if len(after) != len(before) {
					t.Fatalf("%d audit records written, want none", len(after)-len(before))
				}
				return
			}
			if len(after) != len(before)+1 {
				t.Fatalf("%d audit records written, want 1", len(after)-len(before))
			}
			seen := map[string]bool{}
			for _, v := range before {
				seen[v.Tx] = true
			}
			var last report.AuditView
			for _, v := range after {
				if !seen[v.Tx] {
					last = v
				}
			}
			if last.Role != api.RoleGrantee || strings.Contains(last.Route, "refused") != tc.refuse ||
				!tc.refuse && !strings.Contains(last.Route, "under grant "+G[:16]) {
				t.Fatalf("the audit record: %+v", last)
			}
		})
	}
	// The trajectory under the grant: the person by pseudonym, every
	// visit, no identity.
	rq, _ := http.NewRequest("POST", f.srv.URL+"/v1/trace/trajectory?grant="+G, strings.NewReader(trace(a, "2020-01-21")))
	api.SignRequest(rq, chain, reader, "case-2021-0720", "cross-region investigation", []byte(trace(a, "2020-01-21")), time.Now())
	var tr report.Trajectory
	if r := f.do(t, rq); r.status != 200 || json.Unmarshal(r.body, &tr) != nil || tr.Person != "" || tr.Pseudonym != ledger.Hash(a).String() || len(tr.Entries) < 3 {
		t.Fatalf("the trajectory under the grant: %d %s", r.status, r.body)
	}
	// The grants held, for relays and auditors.
	status, body, _ := f.signedCall(t, n1, "GET", "/v1/grants", nil)
	var gs api.GrantsView
	if status != 200 || json.Unmarshal(body, &gs) != nil || len(gs.Grants) != 3 || len(gs.Requests) != 1 {
		t.Fatalf("GET /v1/grants: %d %s", status, body)
	}
	for _, g := range gs.Grants {
		if revoked := g.ID == withdrawn.ID().String(); revoked != (g.Revoked == revocation.ID().String() && g.RevokedAt != "") {
			t.Errorf("grant %s: revoked %q at %q", g.ID[:16], g.Revoked, g.RevokedAt)
		}
	}
	// On the national chain each grant is its own carrier, and the request
	// shows what was asked.
	if g := gs.Grants[0]; g.Carrier != g.ID || gs.Requests[0].ID != g.Request || gs.Requests[0].Signer != g.Grantee || gs.Requests[0].Reason == "" {
		t.Errorf("the grant and its request: %+v %+v", g, gs.Requests[0])
	}
	other := pubOf(n3)
	status, body, _ = f.signedCall(t, n1, "GET", "/v1/grants?grantee="+fmt.Sprintf("%x", other[:]), nil)
	if status != 200 || json.Unmarshal(body, &gs) != nil || len(gs.Grants) != 0 || len(gs.Requests) != 0 {
		t.Errorf("another key's grants: %d %s", status, body)
	}
	if status, body, _ := f.signedCall(t, n1, "GET", "/v1/grants?grantee=zz", nil); status != 400 {
		t.Errorf("a malformed grantee: %d %s", status, body)
	}
}

// audits are the audit records committed so far, in order.
func (f *fixture) audits(t *testing.T) []report.AuditView {
	t.Helper()
	vs, err := (&report.Builder{N: f.n}).Audits("2000-01-01T00:00:00Z", time.Now().Add(time.Hour).Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func pubOf(k ed25519.PrivateKey) (p [32]byte) {
	copy(p[:], k.Public().(ed25519.PublicKey))
	return p
}
