package api_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestPseudonymsSameWorkAndQuota (issue 12, adversarial pass): POST
// /v1/pseudonyms does the same work whether or not the vault holds an id
// (every call, with or without new entries, commits the caller's
// latest-call record in its synced write); the vault's log says which key
// had which ids sealed, and only the new ones; a site's or a hospital's
// key may send at most its quota of distinct ids, counted whether the
// vault held them or not (else a key at its limit would learn which ids
// are known), and is then refused with a 429 naming refs and the limit,
// with Retry-After, storing nothing; aliases cost nothing, each key has
// its own quota, the administrator none; the quota comes back with time.
func TestPseudonymsSameWorkAndQuota(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	h, err := api.NewWithQuota(f.n, slog.New(slog.NewTextHandler(io.Discard, nil)), 3, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(contract(t, h))
	t.Cleanup(f.srv.Close)
	site, hospital, admin := f.grant(t, "site"), f.grant(t, "hospital"), f.grant(t, "administrator")
	pseud := f.h.Pseudonymizer()
	const id1, id2, id3 = "110101200001010044", "110101200001010055", "110101200001010066"
	call := func(key ed25519.PrivateKey, refs ...string) reply {
		t.Helper()
		b, _ := json.Marshal(api.PseudonymsRequest{Refs: refs})
		req, err := http.NewRequest("POST", f.srv.URL+"/v1/pseudonyms", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		api.SignRequest(req, f.h.Genesis.ChainID, key, "", "", b, time.Now())
		r := f.do(t, req)
		for _, s := range append(secrets, id1, id2, id3) {
			if strings.Contains(string(r.body), s) && r.status != 200 {
				t.Errorf("a refusal repeats a reference: %s", r.body)
			}
		}
		return r
	}
	pub := func(k ed25519.PrivateKey) (p [32]byte) { copy(p[:], k.Public().(ed25519.PublicKey)); return p }
	latest := func(k ed25519.PrivateKey) []byte {
		t.Helper()
		v, _, err := f.n.DB.Get(store.VaultCallKey(pub(k)))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	logged := func(k ed25519.PrivateKey) (ps []string) {
		t.Helper()
		lo, hi := store.VaultLogPrefix(pub(k))
		if err := f.n.DB.Scan(lo, hi, func(_, v []byte) bool {
			for ; len(v) >= 32; v = v[32:] {
				ps = append(ps, fmt.Sprintf("%x", v[:32]))
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return ps
	}
	held := func(id string) bool {
		_, ok, err := f.n.DB.Get(store.VaultKey(pseud.Person(id)))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	// Two distinct ids (one twice) and an alias: 2 of the 3.
	if r := call(site, "id:"+id1, "id:"+id1, "ID: "+id2, "phone:"+phoneA); r.status != 200 {
		t.Fatalf("site: %d %s", r.status, r.body)
	}
	if got, want := logged(site), []string{pseud.Person(id1).String(), pseud.Person(id2).String()}; !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("the log of the site's key: %v, want %v", got, want)
	}
	if n := binary.BigEndian.Uint32(latest(site)[8:]); n != 2 {
		t.Errorf("the site's latest call sealed %d, want 2", n)
	}
	// A call naming only held ids, or only aliases, writes all the same:
	// the latest-call record is rewritten; the log gains nothing.
	before := latest(site)
	if r := call(site, "phone:"+phoneA); r.status != 200 {
		t.Fatalf("aliases: %d %s", r.status, r.body)
	}
	if after := latest(site); bytes.Equal(before, after) || binary.BigEndian.Uint32(after[8:]) != 0 {
		t.Errorf("a call sealing nothing did not write its record: %x then %x", before, after)
	}
	before = latest(hospital)
	if r := call(hospital, "id:"+idA); r.status != 200 {
		t.Fatalf("hospital, a held id: %d %s", r.status, r.body)
	}
	if after := latest(hospital); bytes.Equal(before, after) || len(logged(hospital)) != 0 {
		t.Errorf("a call of a held id: record %x then %x, log %v", before, after, logged(hospital))
	}

	// The site has 1 id left: two ids are refused, held or not, and
	// nothing is sealed.
	for _, refs := range [][]string{{"id:" + id3, "phone:" + phoneA, "id:" + idC}, {"id:" + idA, "id:" + idB}} {
		r := call(site, refs...)
		if r.status != 429 {
			t.Fatalf("over the quota: %d %s", r.status, r.body)
		}
		var e struct{ Error api.Error }
		if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Field != "refs" || e.Error.Code != "quota" ||
			!strings.Contains(e.Error.Msg, "at most 3 distinct id: references in 1h") {
			t.Errorf("over the quota: %s", r.body)
		}
		if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
			t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
		}
	}
	if held(id3) || len(logged(site)) != 2 {
		t.Error("a refused call sealed an id")
	}
	if r := call(site, "phone:"+phoneC, "plate:"+phoneX); r.status != 200 {
		t.Errorf("aliases over the quota: %d %s", r.status, r.body)
	}
	if r := call(hospital, "id:"+id3, "id:"+idB); r.status != 200 {
		t.Errorf("another key: %d %s", r.status, r.body)
	}
	many := []string{"id:" + idA, "id:" + idB, "id:" + idC, "id:" + id1, "id:" + id2, "id:" + id3}
	for range 2 {
		if r := call(admin, many...); r.status != 200 {
			t.Errorf("the administrator: %d %s", r.status, r.body)
		}
	}

	// A quota of 2 in 2s: back after a second.
	h, err = api.NewWithQuota(f.n, slog.New(slog.NewTextHandler(io.Discard, nil)), 2, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(contract(t, h))
	t.Cleanup(f.srv.Close)
	if r := call(site, "id:"+id1, "id:"+id2); r.status != 200 {
		t.Fatalf("a fresh quota: %d %s", r.status, r.body)
	}
	r := call(site, "id:"+id3)
	if r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Fatalf("quota used: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := call(site, "id:"+id3); r.status != 200 {
		t.Errorf("after Retry-After: %d %s", r.status, r.body)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
