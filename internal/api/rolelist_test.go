package api_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/epiledger/epiledger/internal/report"
)

// TestRoleList: GET /v1/roles lists the chain authority and every key
// granted a role, each with the height and transaction of its grant, to
// auditors and the administrator; a revoked key is left out; an
// investigator, a site and a hospital are refused with 403, an unsigned
// call with 401, a query parameter with 400.
func TestRoleList(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	keys := map[string]ed25519.PrivateKey{}
	for _, role := range []string{"site", "hospital", "investigator", "auditor", "administrator"} {
		keys[role] = f.grant(t, role)
	}
	revoked := f.grant(t, "investigator")
	body := `{"key":"` + hex.EncodeToString(revoked.Public().(ed25519.PublicKey)) + `","role":"none","name":""}`
	if r := f.call(t, "POST", "/v1/roles", f.token, body); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}

	cases := []struct {
		name string
		key  ed25519.PrivateKey
		path string
		want int
	}{
		{"auditor", keys["auditor"], "/v1/roles", 200},
		{"administrator", keys["administrator"], "/v1/roles", 200},
		{"investigator", keys["investigator"], "/v1/roles", 403},
		{"site", keys["site"], "/v1/roles", 403},
		{"hospital", keys["hospital"], "/v1/roles", 403},
		{"unknown_parameter", keys["auditor"], "/v1/roles?role=auditor", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, b, _ := f.signedCall(t, c.key, "GET", c.path, nil)
			if code != c.want {
				t.Fatalf("status %d, want %d: %s", code, c.want, b)
			}
			if code != 200 {
				return
			}
			var v struct {
				Roles []report.RoleView `json:"roles"`
			}
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if len(v.Roles) != 6 || v.Roles[0].Role != "authority" || v.Roles[0].Key != hex.EncodeToString(f.h.Genesis.Authority[:]) {
				t.Fatalf("want the authority and 5 grants: %s", b)
			}
			held := map[string]report.RoleView{}
			for _, r := range v.Roles[1:] {
				held[r.Key] = r
			}
			for role, k := range keys {
				r, ok := held[hex.EncodeToString(k.Public().(ed25519.PublicKey))]
				if !ok || r.Role != role || r.Name != "test "+role || r.Height == 0 || len(r.Tx) != 64 || r.Granted == "" {
					t.Errorf("%s: %+v", role, r)
				}
			}
			if _, ok := held[hex.EncodeToString(revoked.Public().(ed25519.PublicKey))]; ok {
				t.Errorf("a revoked key is listed: %s", b)
			}
		})
	}
	if r := f.call(t, "GET", "/v1/roles", "", ""); r.status != 401 {
		t.Errorf("unsigned: %d %s", r.status, r.body)
	}
}
