package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/node"
)

// TestMemberNode: a consortium member's node (a home made from a kit:
// its node key, no chain authority key, no secret) refuses every bearer
// token, and answers 403 not_authority, naming the field, for whatever
// needs the secret or the authority's key, even to the chain authority's
// own signed request; the public pseudonym key is still served. A
// member's home never runs a chain of its own.
func TestMemberNode(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	ah, err := home.Init(filepath.Join(d, "authority"), home.InitOptions{ChainID: "member-test", Region: "420100"})
	if err != nil {
		t.Fatal(err)
	}
	kit, dir := filepath.Join(d, "kit"), filepath.Join(d, "member")
	if err := home.WriteKitFiles(ah, kit); err != nil {
		t.Fatal(err)
	}
	if _, err := home.NodeKey(dir); err != nil {
		t.Fatal(err)
	}
	mh, err := home.FromKit(kit, dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := node.Open(mh, log, node.Options{}); err == nil || !strings.Contains(err.Error(), "consortium engine only") {
		t.Fatalf("a member's home on the solo engine: %v", err)
	}
	n, err := node.Open(mh, log, node.Options{NoEngine: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	h, err := api.New(n, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(contract(t, h))
	defer srv.Close()

	do := func(method, path, body string, sign bool, bearer string) (int, api.Error) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if sign {
			api.SignRequest(req, ah.Genesis.ChainID, ah.Authority(), "case-1", "member test", []byte(body), time.Now())
		} else if bearer != "-" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var e struct {
			Error api.Error `json:"error"`
		}
		b, _ := io.ReadAll(res.Body)
		json.Unmarshal(b, &e)
		if e.Error.Code == "" {
			json.Unmarshal(b, &e.Error)
		}
		return res.StatusCode, e.Error
	}
	for _, tok := range []string{"", ah.APIToken(), "x"} {
		// "Bearer " alone reaches the server trimmed, as no token at all.
		if code, e := do("GET", "/v1/status", "", false, tok); code != http.StatusUnauthorized || tok != "" && !strings.Contains(e.Msg, "consortium member's") {
			t.Errorf("bearer %q: %d %+v", tok, code, e)
		}
	}
	id := `{"person":"id:420101199001011234"}`
	for _, c := range []struct{ method, path, body, field string }{
		{"POST", "/v1/trace/contacts", id, "person"},
		{"POST", "/v1/trace/trajectory", id, "person"},
		{"POST", "/v1/pseudonyms", `{"refs":["id:420101199001011234"]}`, "refs"},
		{"POST", "/v1/pseudonyms/oblivious", `{"blinded":["AAAA"]}`, "blinded"},
		{"POST", "/v1/roles", `{"key":"` + strings.Repeat("ab", 32) + `","role":"investigator","name":"x"}`, "role"},
	} {
		code, e := do(c.method, c.path, c.body, true, "")
		if code != http.StatusForbidden || e.Code != "not_authority" || e.Field != c.field {
			t.Errorf("%s %s on a member's node: %d %+v, want 403 not_authority naming %q", c.method, c.path, code, e, c.field)
		}
	}
	if code, _ := do("GET", "/v1/pseudonyms/key", "", false, "-"); code != http.StatusOK {
		t.Errorf("the public pseudonym key: %d", code)
	}
}
