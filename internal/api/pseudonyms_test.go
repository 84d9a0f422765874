package api_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/store"
)

// TestPseudonyms: POST /v1/pseudonyms answers a site, a hospital and the
// administrator the ledger form of each reference they send, as the
// home's pseudonymizer computes it, and seals new canonical ids into the
// vault; a malformed reference is a 400 naming refs[i] that seals
// nothing; an empty or oversized batch is a 400 naming refs; an
// investigator and an auditor get 403, an unsigned call 401; no reply
// repeats a reference.
func TestPseudonyms(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	keys := map[string]ed25519.PrivateKey{}
	for _, role := range []string{"site", "hospital", "administrator", "investigator", "auditor"} {
		keys[role] = f.grant(t, role)
	}
	pseud := f.h.Pseudonymizer()
	const idNew, idNew2, idBad = "110101200001010011", "110101200001010022", "110101200001010033"
	body := func(refs ...string) []byte {
		b, err := json.Marshal(api.PseudonymsRequest{Refs: refs})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	vaulted := func(id string) bool {
		t.Helper()
		p := pseud.Person(id)
		v, ok, err := f.n.DB.Get(store.VaultKey(p))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if got, err := f.h.Vault().Open(p, v); err != nil || got != id {
				t.Errorf("the vault entry of a new id does not open to it: %v", err)
			}
		}
		return ok
	}
	many := make([]string, api.MaxPseudonyms+1)
	for i := range many {
		many[i] = fmt.Sprintf("phone:1390000%04d", i)
	}
	long := make([]string, api.MaxPseudonyms)
	for i := range long {
		long[i] = "id:" + strings.Repeat("<", 1200)
	}

	cases := []struct {
		name   string
		role   string
		body   []byte
		status int
		field  string
	}{
		{"site_good_batch", "site", body("id:"+idA, "phone:"+phoneA, " ID: "+idNew+" ", "phone:"+phoneX, "id:"+idA), 200, ""},
		{"hospital_good_batch", "hospital", body("id:" + idNew2), 200, ""},
		{"administrator_good_batch", "administrator", body("phone:" + phoneC), 200, ""},
		{"no_scheme", "site", body("id:"+idBad, phoneA), 400, "refs[1]"},
		{"upper_case_scheme_digits", "site", body("id:"+idBad, "phone:"+phoneA, "PH-ONE:"+phoneC), 400, "refs[2]"},
		{"control_character", "site", body("id:"+idBad, "phone:"+phoneA+"\x00"), 400, "refs[1]"},
		{"empty_value", "site", body("id:"+idBad, "phone:"), 400, "refs[1]"},
		{"ref_129_bytes", "site", body("id:"+idBad, "id:"+strings.Repeat("1", 126)), 400, "refs[1]"},
		{"refs_not_strings", "site", []byte(`{"refs":[` + phoneA + `]}`), 400, "refs"},
		{"unknown_field", "site", []byte(`{"refs":["id:` + idBad + `"],"phone":"` + phoneA + `"}`), 400, "phone"},
		{"no_refs", "site", []byte(`{"refs":[]}`), 400, "refs"},
		{"1001_refs", "site", body(many...), 400, "refs"},
		{"body_over_1_MiB", "site", body(long...), 413, ""},
		{"investigator", "investigator", body("id:" + idBad), 403, ""},
		{"auditor", "auditor", body("id:" + idBad), 403, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, b, _ := f.signedCall(t, keys[c.role], "POST", "/v1/pseudonyms", c.body)
			if code != c.status {
				t.Fatalf("status %d, want %d: %s", code, c.status, b)
			}
			for _, s := range append(secrets, idNew, idNew2, idBad) {
				if code != 200 && strings.Contains(string(b), s) {
					t.Errorf("the reply repeats a reference: %s", b)
				}
			}
			if code != 200 {
				var e struct{ Error api.Error }
				if err := json.Unmarshal(b, &e); err != nil || e.Error.Field != c.field {
					t.Errorf("field %q, want %q: %s", e.Error.Field, c.field, b)
				}
				return
			}
			var req api.PseudonymsRequest
			var rep api.PseudonymsReply
			if err := json.Unmarshal(c.body, &req); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &rep); err != nil || len(rep.Pseudonyms) != len(req.Refs) {
				t.Fatalf("want %d pseudonyms: %v %s", len(req.Refs), err, b)
			}
			for i, r := range req.Refs {
				want, err := pseud.Ref("person", r)
				if err != nil {
					t.Fatal(err)
				}
				if got := rep.Pseudonyms[i]; got.Pseudonym != want.Ref.String() || got.Alias != want.Alias {
					t.Errorf("refs[%d]: got %+v, want %s alias %v", i, got, want.Ref, want.Alias)
				}
			}
			for _, s := range append(secrets, idNew, idNew2) {
				if strings.Contains(string(b), s) {
					t.Errorf("the reply repeats a reference: %s", b)
				}
			}
		})
	}
	if !vaulted(idNew) || !vaulted(idNew2) {
		t.Error("a new canonical id was not sealed into the vault")
	}
	if vaulted(idBad) {
		t.Error("a batch refused for a malformed reference sealed an id")
	}
	if r := f.call(t, "POST", "/v1/pseudonyms", "", string(body("id:"+idBad))); r.status != 401 {
		t.Errorf("unsigned: %d %s", r.status, r.body)
	}
}
