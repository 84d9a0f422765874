package api_test

import (
	"bytes"
	"crypto/ed25519"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
)

// TestDocsSayWhoMayCall (issue 12, adversarial pass): the table of
// docs/API.md that says who may call each route lists every route the
// API registers and nothing else, and says it truly: an unsigned request
// to a route that is not public gets 401 (the docs once said "No token"
// of POST /v1/tx and GET /v1/status, which refuse it), a public one does
// not; a key of each role gets 403 exactly where the table does not name
// its role; the operator's token passes every signed route and those
// session routes that name it.
func TestDocsSayWhoMayCall(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "API.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `((?:GET|POST|PUT|DELETE) /v1/[^`]*)` \\| ([^|]+) \\|$")
	who := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		if _, dup := who[m[1]]; dup {
			t.Errorf("docs/API.md lists %s twice", m[1])
		}
		who[m[1]] = strings.TrimSpace(m[2])
	}
	registered := registeredRoutes(t)
	for _, rt := range registered {
		if _, ok := who[rt]; !ok {
			t.Errorf("docs/API.md does not say who may call %s", rt)
		}
	}
	for rt := range who {
		if !slices.Contains(registered, rt) {
			t.Errorf("docs/API.md lists %s, which no code registers", rt)
		}
	}

	f := serve(t, world)
	roles := []string{"site", "hospital", "investigator", "auditor", "administrator", "node"}
	keys := map[string]ed25519.PrivateKey{}
	for _, r := range roles {
		keys[r] = f.grant(t, r)
	}
	fill := strings.NewReplacer("{hash}", strings.Repeat("ab", 32), "{height}", "1", "{ref}", strings.Repeat("cd", 32),
		"{name}", "no-such-universe", "{id}", "no-such-session")
	send := func(route string, sign func(*http.Request, []byte)) int {
		t.Helper()
		method, path, _ := strings.Cut(route, " ")
		var body []byte
		if method != "GET" {
			body = []byte("{}")
		}
		req, err := http.NewRequest(method, f.srv.URL+fill.Replace(path), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if sign != nil {
			sign(req, body)
		}
		return f.do(t, req).status
	}
	byKey := func(k ed25519.PrivateKey) func(*http.Request, []byte) {
		return func(req *http.Request, body []byte) {
			api.SignRequest(req, f.h.Genesis.ChainID, k, "case-docs", "checking the docs", body, time.Now())
		}
	}
	byToken := func(req *http.Request, _ []byte) {
		req.Header.Set("Authorization", "Bearer "+f.token)
		req.Header.Set(api.HeaderCase, "case-docs")
		req.Header.Set(api.HeaderPurpose, "checking the docs")
	}
	for rt, w := range who {
		if w == "any role's key" {
			// Keys of every role; the operator's token is refused (403).
			if st := send(rt, byToken); st != 403 {
				t.Errorf("%s: documented %q, answers the operator's token %d, not 403", rt, w, st)
			}
			for _, r := range roles {
				if st := send(rt, byKey(keys[r])); st == 401 || st == 403 {
					t.Errorf("%s: documented %q, answers a %s key %d", rt, w, r, st)
				}
			}
			if unsigned := send(rt, nil); unsigned != 401 {
				t.Errorf("%s: documented %q, answers an unsigned request %d, not 401", rt, w, unsigned)
			}
			continue
		}
		session, token := strings.HasPrefix(w, "session:"), strings.Contains(w, "operator token")
		switch unsigned := send(rt, nil); {
		case w == "public" && (unsigned == 401 || unsigned == 403):
			t.Errorf("%s: documented public, answers an unsigned request %d", rt, unsigned)
		case w != "public" && unsigned != 401:
			t.Errorf("%s: documented %q, answers an unsigned request %d, not 401", rt, w, unsigned)
		}
		if w == "public" {
			continue
		}
		if st := send(rt, byToken); token || !session && w != "operator token" {
			if st == 401 || st == 403 {
				t.Errorf("%s: documented %q, refuses the operator's token: %d", rt, w, st)
			}
		} else if st != 403 {
			t.Errorf("%s: documented %q, answers the operator's token %d, not 403", rt, w, st)
		}
		if session || token {
			// Role keys do not count on session routes.
			for _, r := range roles {
				if st := send(rt, byKey(keys[r])); st != 401 && st != 403 {
					t.Errorf("%s: documented %q, answers a %s key %d", rt, w, r, st)
				}
			}
			continue
		}
		named := strings.Split(w, ", ")
		for _, r := range roles {
			st := send(rt, byKey(keys[r]))
			may := w == "any role" || slices.Contains(named, r)
			if may && (st == 401 || st == 403) || !may && st != 403 {
				t.Errorf("%s: documented %q, answers a %s key %d", rt, w, r, st)
			}
		}
	}
}

// registeredRoutes are the patterns the API's source registers, but the
// catch-all "/".
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`mux\.HandleFunc\("([A-Z]+ /v1/[^"]*)"`)
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			out = append(out, string(m[1]))
		}
	}
	if len(out) < 40 {
		t.Fatalf("found only %d routes in the source: %v", len(out), out)
	}
	return out
}

// TestNodeHelpListsRoutes (issue 12, adversarial pass): the routes
// "epiledger node --help" lists (internal/cli/node.go) are the routes the
// API registers, but the privacy protocols' (listed as /v1/privacy/...);
// it once lacked POST /v1/pseudonyms and GET /v1/tx/{hash}/corrections.
func TestNodeHelpListsRoutes(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("..", "cli", "node.go"))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^  (GET|POST|PUT) +(/v1/[^ \[]+)`)
	listed := map[string]bool{}
	for _, m := range line.FindAllStringSubmatch(string(src), -1) {
		dir, last := filepath.Split(m[2])
		for _, l := range strings.Split(last, "|") {
			listed[m[1]+" "+dir+l] = true
		}
	}
	for _, rt := range registeredRoutes(t) {
		if !strings.Contains(rt, "/v1/privacy/") && !listed[rt] {
			t.Errorf("node --help does not list %s", rt)
		}
		delete(listed, rt)
	}
	for rt := range listed {
		t.Errorf("node --help lists %s, which no code registers", rt)
	}
}
