package api_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/testnode"
)

// browser is a console session's client: a cookie jar, no redirects
// followed, and the CSRF token once the session is read.
type browser struct {
	f    *fixture
	hc   *http.Client
	csrf string
	// header is sent with every request (a TLS terminator's, say).
	header http.Header
}

func newBrowser(f *fixture) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// call sends a request with the session's cookie, and with the CSRF token
// and a case and purpose when withCSRF.
func (b *browser) call(t *testing.T, method, path, body string, withCSRF bool) reply {
	t.Helper()
	req, err := http.NewRequest(method, b.f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	if withCSRF {
		req.Header.Set(api.HeaderCSRF, b.csrf)
	}
	req.Header.Set(api.HeaderCase, "case-2020-0117")
	req.Header.Set(api.HeaderPurpose, "contact tracing")
	resp, err := b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

// login runs the console's login for key: challenge, signed login, the
// one-time URL in the browser, the session read. It returns the one-time
// URL's path and query and the login's signature.
func (b *browser) login(t *testing.T, key ed25519.PrivateKey) (string, [64]byte) {
	t.Helper()
	r := b.f.call(t, "GET", "/v1/console/challenge", "", "")
	var ch struct{ Challenge string }
	decodeOK(t, r, &ch)
	status, body, sig := b.f.signedCall(t, key, "POST", "/v1/console/login", []byte(`{"challenge":"`+ch.Challenge+`"}`))
	if status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	var lg struct{ URL, Role string }
	if err := json.Unmarshal(body, &lg); err != nil || !strings.HasPrefix(lg.URL, "/console/open?token=") {
		t.Fatalf("login answer %s (%v)", body, err)
	}
	r = b.call(t, "GET", lg.URL, "", false)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/#/" {
		t.Fatalf("open: %d %v %s", r.status, r.header, r.body)
	}
	sc := r.header.Get("Set-Cookie")
	if secure := strings.Contains(sc, "Secure"); secure != (b.header.Get("X-Forwarded-Proto") == "https") {
		t.Errorf("session cookie %q: Secure %v behind %v", sc, secure, b.header)
	}
	if b.header.Get("X-Forwarded-Proto") == "https" {
		// The jar keeps a Secure cookie from plain http: the test goes
		// no further.
		return lg.URL, sig
	}
	for _, want := range []string{api.SessionCookie + "=", "HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie %q lacks %q", sc, want)
		}
	}
	r = b.call(t, "GET", "/v1/console/session", "", false)
	var s struct{ Role, CSRF string }
	decodeOK(t, r, &s)
	b.csrf = s.CSRF
	return lg.URL, sig
}

func TestConsoleSession(t *testing.T) {
	f := serve(t, world)
	inv := f.grant(t, "investigator")
	site := f.grant(t, "site")
	b := newBrowser(f)
	once, sig := b.login(t, inv)

	// A personal read through the session: audited, the record carrying
	// the login's signature as evidence, the answer naming the record.
	before := f.auditsOf(t, sig)
	r := b.call(t, "POST", "/v1/trace/trajectory", `{"person":"phone:`+phoneA+`"}`, true)
	if r.status != 200 {
		t.Fatalf("trajectory through the session: %d %s", r.status, r.body)
	}
	if got := f.auditsOf(t, sig); got != before+1 {
		t.Errorf("audit records with the login's signature: %d, want %d", got, before+1)
	}
	if tx := r.header.Get(api.HeaderAuditTx); len(tx) != 64 || r.header.Get(api.HeaderAuditRecords) != "1" {
		t.Errorf("audit headers: %q %q", tx, r.header.Get(api.HeaderAuditRecords))
	}
	var tr struct {
		Pseudonym string
		Entries   []struct{ Lat, Lon float64 }
	}
	decodeOK(t, r, &tr)
	if len(tr.Entries) == 0 || tr.Entries[0].Lat == 0 {
		t.Errorf("trajectory entries without places: %s", r.body)
	}
	// The same person by pseudonym, as the console's links name them.
	r = b.call(t, "POST", "/v1/trace/trajectory", `{"person":"pn:`+tr.Pseudonym+`"}`, true)
	var tr2 struct{ Pseudonym string }
	decodeOK(t, r, &tr2)
	if tr2.Pseudonym != tr.Pseudonym {
		t.Errorf("pn: reference read %s, want %s", tr2.Pseudonym, tr.Pseudonym)
	}

	refused := []struct {
		name   string
		do     func() reply
		status int
		field  string
	}{
		{"no CSRF header", func() reply { return b.call(t, "POST", "/v1/trace/trajectory", `{"person":"phone:`+phoneA+`"}`, false) }, 403, api.HeaderCSRF},
		{"a route the role may not call", func() reply { return b.call(t, "GET", "/v1/audit", "", true) }, 403, ""},
		{"the one-time URL again", func() reply { return b.call(t, "GET", once, "", false) }, 401, ""},
		{"a made-up token", func() reply { return b.call(t, "GET", "/console/open?token=x", "", false) }, 401, ""},
		{"a pseudonym that is not 64 hex digits", func() reply { return b.call(t, "POST", "/v1/trace/trajectory", `{"person":"pn:12"}`, true) }, 400, "person"},
		{"a challenge that is a number", func() reply {
			s, body, _ := f.signedCall(t, inv, "POST", "/v1/console/login", []byte(`{"challenge":5}`))
			return reply{status: s, body: body}
		}, 400, "challenge"},
		{"a login body with another field", func() reply {
			s, body, _ := f.signedCall(t, inv, "POST", "/v1/console/login", []byte(`{"challenge":"x","role":"administrator"}`))
			return reply{status: s, body: body}
		}, 400, "role"},
		{"a login body of null", func() reply {
			s, body, _ := f.signedCall(t, inv, "POST", "/v1/console/login", []byte(`null`))
			return reply{status: s, body: body}
		}, 400, ""},
		{"an unknown challenge", func() reply {
			s, body, _ := f.signedCall(t, inv, "POST", "/v1/console/login", []byte(`{"challenge":"nope"}`))
			return reply{status: s, body: body}
		}, 400, "challenge"},
		{"the operator's token", func() reply {
			ch := f.call(t, "GET", "/v1/console/challenge", "", "")
			var c struct{ Challenge string }
			decodeOK(t, ch, &c)
			return f.call(t, "POST", "/v1/console/login", f.token, `{"challenge":"`+c.Challenge+`"}`)
		}, 403, api.HeaderSignature},
		{"a session that asks for another", func() reply {
			ch := f.call(t, "GET", "/v1/console/challenge", "", "")
			var c struct{ Challenge string }
			decodeOK(t, ch, &c)
			return b.call(t, "POST", "/v1/console/login", `{"challenge":"`+c.Challenge+`"}`, true)
		}, 403, api.HeaderSignature},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			r := c.do()
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.field != "" && !strings.Contains(string(r.body), `"field":"`+c.field+`"`) {
				t.Errorf("error does not name %s: %s", c.field, r.body)
			}
		})
	}

	// A challenge is good once.
	ch := f.call(t, "GET", "/v1/console/challenge", "", "")
	var c struct{ Challenge string }
	decodeOK(t, ch, &c)
	for i, want := range []int{200, 400} {
		if s, body, _ := f.signedCall(t, inv, "POST", "/v1/console/login", []byte(`{"challenge":"`+c.Challenge+`"}`)); s != want {
			t.Errorf("login %d with one challenge: %d %s", i+1, s, body)
		}
	}

	// A site's session reads no personal data.
	sb := newBrowser(f)
	sb.login(t, site)
	if r := sb.call(t, "POST", "/v1/trace/trajectory", `{"person":"phone:`+phoneA+`"}`, true); r.status != 403 {
		t.Errorf("site session reading a trajectory: %d %s", r.status, r.body)
	}
	if r := sb.call(t, "GET", "/v1/status", "", true); r.status != 200 {
		t.Errorf("site session reading the status: %d %s", r.status, r.body)
	}

	// Behind a TLS terminator the cookie is Secure.
	tb := newBrowser(f)
	tb.header = http.Header{"X-Forwarded-Proto": {"https"}}
	tb.login(t, inv)

	// Revoking the key's role ends what the session may do.
	if r := f.call(t, "POST", "/v1/roles", f.token, `{"key":"`+hex.EncodeToString(site.Public().(ed25519.PublicKey))+`","role":"none","name":"revoked"}`); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := sb.call(t, "GET", "/v1/status", "", true); r.status != 401 {
		t.Errorf("revoked key's session: %d %s", r.status, r.body)
	}

	// Logout ends the session, and the cookie with it.
	if r := b.call(t, "POST", "/v1/console/logout", `{}`, false); r.status != 403 {
		t.Errorf("logout without CSRF: %d %s", r.status, r.body)
	}
	if r := b.call(t, "POST", "/v1/console/logout", `{}`, true); r.status != 200 || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout: %d %v %s", r.status, r.header, r.body)
	}
	u, _ := url.Parse(f.srv.URL)
	if len(b.hc.Jar.Cookies(u)) != 0 {
		t.Errorf("cookie kept after logout")
	}
	b.hc.Jar.SetCookies(u, []*http.Cookie{{Name: api.SessionCookie, Value: "stale"}})
	if r := b.call(t, "GET", "/v1/status", "", true); r.status != 401 || !strings.Contains(string(r.body), `"field":"session"`) {
		t.Errorf("after logout: %d %s", r.status, r.body)
	}
}

// TestConsolePages checks the console's page and files: served from the
// binary with a policy that loads nothing from elsewhere, no directory
// listings, and the public risk sites without a login.
func TestConsolePages(t *testing.T) {
	f := serve(t, world)
	r := f.call(t, "GET", "/", "", "")
	if r.status != 200 || !strings.Contains(string(r.body), "/console/app.js") {
		t.Fatalf("GET /: %d %s", r.status, r.body)
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for path, want := range map[string]int{"/console/app.js": 200, "/console/vendor/leaflet.js": 200, "/console/vendor/LICENSES.txt": 200,
		"/console/vendor/": 404, "/console/": 404, "/console/../go.mod": 404, "/v1/nothing": 404} {
		if r := f.call(t, "GET", path, "", ""); r.status != want {
			t.Errorf("GET %s: %d, want %d", path, r.status, want)
		}
	}
	r = f.call(t, "GET", "/v1/public/risk-sites", "", "")
	var g struct {
		Type     string
		Features []struct{ Properties struct{ Site string } }
	}
	decodeOK(t, r, &g)
	if g.Type != "FeatureCollection" || len(g.Features) == 0 {
		t.Errorf("public risk sites: %s", r.body)
	}
	for _, s := range secrets {
		if strings.Contains(string(r.body), s) {
			t.Errorf("public risk sites carry an identifier")
		}
	}
	// Asked again, the same answer (computed once per head); after a new
	// block in which a case visits another site, that site too.
	if again := f.call(t, "GET", "/v1/public/risk-sites", "", ""); string(again.body) != string(r.body) {
		t.Errorf("the same head answered differently")
	}
	testnode.Import(t, f.h, f.n, `{"type":"site","site":"shop-77","kind":"shop","lat":30.59,"lon":114.3,"region":"420100"}
{"type":"visit","site":"shop-77","person":"id:`+idA+`","in":"2020-01-21T08:00:00+08:00","out":"2020-01-21T08:20:00+08:00","via":"payment"}
`)
	if after := f.call(t, "GET", "/v1/public/risk-sites", "", ""); !strings.Contains(string(after.body), `"site":"shop-77"`) {
		t.Errorf("a new risk site is not in the public answer: %s", after.body)
	}
	if r := f.call(t, "GET", "/v1/public/risk-sites?person=x", "", ""); r.status != 400 {
		t.Errorf("unknown parameter: %d %s", r.status, r.body)
	}
}

// TestConsoleLoginFlood: challenges outstanding are bounded (1,024): the
// next is a 429 with Retry-After, not memory without end.
func TestConsoleLoginFlood(t *testing.T) {
	f := serve(t, world)
	for i := 0; i < 1024; i++ {
		if r := f.call(t, "GET", "/v1/console/challenge", "", ""); r.status != 200 {
			t.Fatalf("challenge %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := f.call(t, "GET", "/v1/console/challenge", "", "")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("challenge 1025: %d %v %s", r.status, r.header, r.body)
	}
}
