package api_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
)

// TestIntel: records signed by an N3 and co-signed by N2s, submitted by
// the last N2; read with details as their secrecy allows; the policy set
// by the administrator; bad input named.
func TestIntel(t *testing.T) {
	f := serve(t, world)
	n3, n2a, n2b := f.grant(t, "n3"), f.grant(t, "n2"), f.grant(t, "n2")
	inv, site := f.grant(t, "investigator"), f.grant(t, "site")
	record := func(secrecy string, level uint8, endorsers ...ed25519.PrivateKey) *ledger.Tx {
		tx := ledger.NewTx(&ledger.Intel{Dimension: "epidemic", Level: level, Secrecy: secrecy, Time: time.Now().Add(-time.Hour).Unix(),
			Region: "420100", Place: "Tianhe airport", Involved: 200, Confirmed: 9, Facts: "9 positives", Endorsements: uint8(len(endorsers))})
		tx.Sign(f.h.Genesis.ChainID, n3)
		for _, k := range endorsers {
			tx.Sign(f.h.Genesis.ChainID, k)
		}
		return tx
	}
	submit := func(by ed25519.PrivateKey, tx *ledger.Tx) (int, string) {
		status, b, _ := f.signedCall(t, by, "POST", "/v1/tx", []byte(`{"tx":"`+base64.StdEncoding.EncodeToString(tx.Bytes())+`"}`))
		return status, string(b)
	}
	internal, secret := record("internal", 1, n2a), record("secret", 2, n2a, n2b)
	for _, tx := range []*ledger.Tx{internal, secret} {
		if status, b := submit(n2a, tx); status != 200 {
			t.Fatalf("submit: %d %s", status, b)
		}
	}
	list := func(key ed25519.PrivateKey, query string) (v struct {
		Intel        []report.IntelView
		Endorsements int
	}) {
		t.Helper()
		status, b, _ := f.signedCall(t, key, "GET", "/v1/intel"+query, nil)
		if status != 200 || json.Unmarshal(b, &v) != nil {
			t.Fatalf("GET /v1/intel%s: %d %s", query, status, b)
		}
		return v
	}
	byTx := func(vs []report.IntelView) map[string]report.IntelView {
		out := map[string]report.IntelView{}
		for _, v := range vs {
			out[v.Tx] = v
		}
		return out
	}
	// The N3 sees both; the details of the internal one only.
	got := byTx(list(n3, "").Intel)
	if len(got) != 2 || got[internal.ID().String()].Details == nil || got[secret.ID().String()].Details != nil ||
		got[secret.ID().String()].Response != "II" || got[internal.ID().String()].Details.Confirmed != 9 {
		t.Fatalf("as the N3: %+v", got)
	}
	// An N2 sees every detail, with who endorsed.
	got = byTx(list(n2b, "").Intel)
	if d := got[secret.ID().String()].Details; d == nil || len(d.Endorsers) != 2 || d.Submitter != "test n3" {
		t.Fatalf("as an N2: %+v", got[secret.ID().String()])
	}
	if v := list(inv, "?max_level=1"); len(v.Intel) != 1 || v.Intel[0].Tx != internal.ID().String() || v.Endorsements != 1 {
		t.Errorf("level I only: %+v", v)
	}
	if v := list(inv, "?dimension=opinion"); len(v.Intel) != 0 {
		t.Errorf("another dimension: %+v", v)
	}
	for path, want := range map[string]int{
		"/v1/intel/" + secret.ID().String():     403,
		"/v1/intel/" + internal.ID().String():   200,
		"/v1/intel/" + strings.Repeat("0", 64):  404,
		"/v1/intel/xyz":                         400,
		"/v1/intel?max_level=5":                 400,
		"/v1/intel?dimension=weather":           400,
		"/v1/intel?from=yesterday":              400,
		"/v1/intel?level=1":                     400,
		"/v1/intel/confirmations":               200,
		"/v1/intel/confirmations?from_height=0": 400,
	} {
		if status, b, _ := f.signedCall(t, n3, "GET", path, nil); status != want {
			t.Errorf("GET %s as the N3: %d %s, want %d", path, status, b, want)
		}
	}
	if status, b, _ := f.signedCall(t, n3, "GET", "/v1/intel/"+secret.ID().String(), nil); !strings.Contains(string(b), `"field":"secrecy"`) {
		t.Errorf("a secret record for the N3: %d %s", status, b)
	}
	if status, _, _ := f.signedCall(t, site, "GET", "/v1/intel", nil); status != 403 {
		t.Errorf("a site reading intelligence: %d", status)
	}

	// The policy: two endorsements from now on.
	if r := f.call(t, "POST", "/v1/intel/policy", f.token, `{"endorsements":9}`); r.status != 400 || !strings.Contains(string(r.body), `"field":"endorsements"`) {
		t.Errorf("nine endorsements: %d %s", r.status, r.body)
	}
	if status, b, _ := f.signedCall(t, n3, "POST", "/v1/intel/policy", []byte(`{"endorsements":2}`)); status != 403 {
		t.Errorf("the N3 setting the policy: %d %s", status, b)
	}
	if r := f.call(t, "POST", "/v1/intel/policy", f.token, `{"endorsements":2}`); r.status != 200 {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	if status, b := submit(n2a, record("public", 3, n2a)); status < 400 || status >= 500 || !strings.Contains(b, `"field":"endorsements"`) {
		t.Errorf("one endorsement under a policy of two: %d %s", status, b)
	}
	if status, b := submit(n2a, record("public", 3, n2a, n2b)); status != 200 {
		t.Errorf("two endorsements: %d %s", status, b)
	}
	if v := list(inv, ""); len(v.Intel) != 3 || v.Endorsements != 2 {
		t.Errorf("after the policy: %+v", v)
	}
	bySite := ledger.NewTx(&ledger.Intel{Dimension: "public", Level: 4, Secrecy: "public", Time: time.Now().Unix() - 60, Region: "420100", Endorsements: 2})
	for _, k := range []ed25519.PrivateKey{site, n2a, n2b} {
		bySite.Sign(f.h.Genesis.ChainID, k)
	}
	if status, b := submit(site, bySite); status < 400 || status >= 500 || !strings.Contains(b, "wrong_signer") {
		t.Errorf("a site submitting intelligence: %d %s", status, b)
	}
}
