package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/console"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/state"
)

// Console sessions (issue 14). A browser holds no key, so the console
// logs in with the role's key once, from the command line, and the browser
// then holds a short-lived session:
//
//  1. `epiledger console` asks GET /v1/console/challenge (public) for a
//     random challenge;
//  2. it sends POST /v1/console/login {"challenge"}, a request signed with
//     the role's key as every API request is (so the key, its role, the
//     request's freshness and its signature are checked as anywhere); the
//     node consumes the challenge and answers a one-time URL;
//  3. the browser opens the URL (GET /console/open?token=...): the node
//     consumes the token and sets the session cookie (HttpOnly,
//     SameSite=Strict, Secure under TLS) and sends the browser to the
//     console;
//  4. the console reads its CSRF token from GET /v1/console/session and
//     sends it as the Epiledger-CSRF header with every call; the API
//     admits a call that carries the cookie and the matching header as
//     the key that logged in, with that key's role (looked up again at
//     every call: a role revoked on the ledger ends what the session may
//     do), and nothing more. Reads of personal data still need their case
//     and purpose headers and are audited as any other; the audit record
//     carries the login request's signature as its evidence.
//
// Sessions live in the node's memory: a restart ends them all. Logout
// (POST /v1/console/logout) or expiry ends one.

// Console session parameters.
const (
	// SessionCookie names the console's session cookie.
	SessionCookie = "epiledger_session"
	// HeaderCSRF carries a console session's CSRF token.
	HeaderCSRF = "Epiledger-CSRF"
	// SessionTTL is how long a console session lasts from its login.
	SessionTTL = time.Hour
	// loginTTL bounds how long a challenge and a one-time URL stay good.
	loginTTL = 2 * time.Minute
	// maxPending bounds outstanding challenges and one-time tokens, and
	// maxSessions open sessions: a flood of logins cannot grow the node's
	// memory without bound.
	maxPending  = 1024
	maxSessions = 4096
)

// session is one console login.
type session struct {
	key     [32]byte
	role    string
	name    string
	csrf    string
	sig     [64]byte // the login request's signature: the audit records' evidence
	expires time.Time
}

// pendingLogin is a one-time URL's token, waiting for its browser.
type pendingLogin struct {
	s       session
	expires time.Time
}

// consoleSessions holds challenges, one-time tokens and sessions, each by
// the SHA-256 of its secret (a dump of the node's memory does not hold a
// usable cookie).
type consoleSessions struct {
	mu         sync.Mutex
	challenges map[[32]byte]time.Time
	pending    map[[32]byte]pendingLogin
	sessions   map[[32]byte]*session
}

func newConsoleSessions() *consoleSessions {
	return &consoleSessions{challenges: map[[32]byte]time.Time{}, pending: map[[32]byte]pendingLogin{}, sessions: map[[32]byte]*session{}}
}

// secret is 32 random bytes, base64url, and the hash it is kept by.
func secret() (string, [32]byte) {
	var b [32]byte
	rand.Read(b[:])
	s := base64.RawURLEncoding.EncodeToString(b[:])
	return s, sha256.Sum256([]byte(s))
}

// sweep drops what has expired; cs.mu is held.
func (cs *consoleSessions) sweep(now time.Time) {
	for k, t := range cs.challenges {
		if now.After(t) {
			delete(cs.challenges, k)
		}
	}
	for k, p := range cs.pending {
		if now.After(p.expires) {
			delete(cs.pending, k)
		}
	}
	for k, s := range cs.sessions {
		if now.After(s.expires) {
			delete(cs.sessions, k)
		}
	}
}

// challenge issues a challenge: GET /v1/console/challenge.
func (s *Server) consoleChallenge(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	now := time.Now()
	cs := s.console
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.sweep(now)
	if len(cs.challenges) >= maxPending {
		return nil, &Error{Status: http.StatusTooManyRequests, Code: "busy", Msg: "too many logins under way; try again shortly", RetryAfter: 10 * time.Second}
	}
	c, h := secret()
	cs.challenges[h] = now.Add(loginTTL)
	return map[string]any{"challenge": c, "expires": now.Add(loginTTL).UTC().Format(time.RFC3339)}, nil
}

// ConsoleLogin is the body of POST /v1/console/login.
type ConsoleLogin struct {
	Challenge string `json:"challenge"`
}

// consoleLogin turns a signed request over a fresh challenge into a
// one-time URL: POST /v1/console/login (any role).
func (s *Server) consoleLogin(r *http.Request) (any, error) {
	p := principalOf(r)
	if p == nil || p.Signature == ([64]byte{}) || p.Session {
		// The operator's token is not a key: it cannot log in; nor can a
		// session open another (and so outlive its hour).
		return nil, errf(http.StatusForbidden, "forbidden", HeaderSignature, "log in to the console with a key that holds a role (epiledger console --as KEY), not the operator's token or a console session")
	}
	var req ConsoleLogin
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	now := time.Now()
	ch := sha256.Sum256([]byte(req.Challenge))
	cs := s.console
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.sweep(now)
	if _, ok := cs.challenges[ch]; !ok || req.Challenge == "" {
		return nil, errf(http.StatusBadRequest, "invalid", "challenge", "not a challenge this node issued, or used or expired (each is good once, for %s)", loginTTL)
	}
	delete(cs.challenges, ch)
	if len(cs.pending) >= maxPending {
		return nil, &Error{Status: http.StatusTooManyRequests, Code: "busy", Msg: "too many logins under way; try again shortly", RetryAfter: 10 * time.Second}
	}
	tok, h := secret()
	cs.pending[h] = pendingLogin{s: session{key: p.Key, role: p.Role, name: p.Name, sig: p.Signature}, expires: now.Add(loginTTL)}
	return map[string]any{"url": "/console/open?token=" + tok, "expires": now.Add(loginTTL).UTC().Format(time.RFC3339),
		"role": p.Role}, nil
}

// consoleOpen spends a one-time token: GET /console/open?token=. It sets
// the session cookie and sends the browser to the console; a token used,
// expired or unknown gets a page that says so.
func (s *Server) consoleOpen(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	tok := r.URL.Query().Get("token")
	now := time.Now()
	cs := s.console
	cs.mu.Lock()
	cs.sweep(now)
	h := sha256.Sum256([]byte(tok))
	pl, ok := cs.pending[h]
	delete(cs.pending, h)
	var id string
	if ok && len(cs.sessions) < maxSessions {
		sess := pl.s
		sess.csrf, _ = secret()
		sess.expires = now.Add(SessionTTL)
		var sh [32]byte
		id, sh = secret()
		cs.sessions[sh] = &sess
	}
	cs.mu.Unlock()
	if !ok || tok == "" {
		s.log.Info("console login refused", "reason", "one-time URL unknown, used or expired")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(openRefused))
		return
	}
	if id == "" {
		http.Error(w, "too many console sessions are open on this node; try again later", http.StatusServiceUnavailable)
		return
	}
	s.log.Info("console session opened", "role", pl.s.role, "key", hex.EncodeToString(pl.s.key[:4]))
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", MaxAge: int(SessionTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r)})
	http.Redirect(w, r, "/#/", http.StatusSeeOther)
}

// openRefused is the page a spent or unknown one-time URL gets.
const openRefused = `<!doctype html><html><head><meta charset="utf-8"><title>epiledger console</title></head>
<body><h1>This login link is no longer valid</h1><p>Each link opens one session, once, within two minutes.
Run <code>epiledger console --node URL --as KEY</code> again for a new one.</p>
<p lang="zh">此登录链接已失效。每个链接只能在两分钟内使用一次，请重新运行 <code>epiledger console</code>。</p></body></html>`

// sessionOf returns r's console session: its cookie names one that has
// not expired. nil, nil: r carries no session cookie.
func (s *Server) sessionOf(r *http.Request) (*session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, nil
	}
	now := time.Now()
	cs := s.console
	cs.mu.Lock()
	defer cs.mu.Unlock()
	sess, ok := cs.sessions[sha256.Sum256([]byte(c.Value))]
	if !ok || now.After(sess.expires) {
		return nil, unauth("session", "the console session ended (logged out or expired): run epiledger console again")
	}
	cp := *sess
	return &cp, nil
}

// fromSession admits a console call: the session's key, with its role as
// the ledger holds it now, when the CSRF header matches.
func (s *Server) fromSession(r *http.Request, sess *session) (*Principal, error) {
	if got := r.Header.Get(HeaderCSRF); subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1 {
		return nil, errf(http.StatusForbidden, "forbidden", HeaderCSRF, "a console call must carry its session's CSRF token")
	}
	g := s.n.Home.Genesis
	role, name, err := state.RoleOf(s.n.DB, &g, sess.key)
	if err != nil {
		return nil, err
	}
	if role != sess.role {
		// Revoked or changed since the login: the session has what the
		// key held then and no more, and now not even that.
		return nil, unauth("session", "the key's role changed since this session opened: log in again")
	}
	return &Principal{Key: sess.key, Role: role, Name: name, Case: r.Header.Get(HeaderCase), Purpose: r.Header.Get(HeaderPurpose),
		Time: time.Now().Unix(), Signature: sess.sig, Session: true}, nil
}

// noSession is the answer of a console-session route to a request
// without a session: 403 for a signed request or the operator's token (the
// route takes only the console's cookie), 401 otherwise.
func noSession(r *http.Request) error {
	if r.Header.Get("Authorization") != "" || r.Header.Get(HeaderSignature) != "" {
		return errf(http.StatusForbidden, "forbidden", "session", "this route takes a console session's cookie, not a signed request or a token")
	}
	return unauth("session", "not logged in: run epiledger console --node URL --as KEY")
}

// consoleSession tells the console who is logged in and its CSRF token:
// GET /v1/console/session (the cookie alone; the answer is readable only
// by the console's own origin).
func (s *Server) consoleSession(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	sess, err := s.sessionOf(r)
	if err != nil {
		return nil, err
	}
	if sess == nil {
		return nil, noSession(r)
	}
	noteRole(r, sess.role)
	return map[string]any{"role": sess.role, "name": sess.name, "key": hex.EncodeToString(sess.key[:]), "csrf": sess.csrf,
		"expires": sess.expires.UTC().Format(time.RFC3339), "chain_id": s.n.Home.Genesis.ChainID, "region": s.n.Home.Genesis.Region}, nil
}

// consoleLogout ends the session: POST /v1/console/logout (cookie and
// CSRF header).
func (s *Server) consoleLogout(w http.ResponseWriter, r *http.Request) (any, error) {
	sess, err := s.sessionOf(r)
	if err != nil {
		return nil, err
	}
	if sess == nil {
		return nil, noSession(r)
	}
	if _, err := s.fromSession(r, sess); err != nil {
		return nil, err
	}
	c, _ := r.Cookie(SessionCookie)
	s.console.mu.Lock()
	delete(s.console.sessions, sha256.Sum256([]byte(c.Value)))
	s.console.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r)})
	return map[string]any{"status": "logged out"}, nil
}

// secureHeaders are sent with every page of the console: scripts and
// everything else from the node itself only, no framing.
func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
}

// consoleRoutes registers the console: its page and files (public, static,
// embedded), its login and session routes, and the public risk-site map's
// data.
func (s *Server) consoleRoutes(mux *http.ServeMux) {
	page := func(h http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			secureHeaders(w)
			h.ServeHTTP(w, r)
		}
	}
	mux.Handle("GET /{$}", page(http.HandlerFunc(console.Index)))
	mux.Handle("GET /console/", page(console.Files("/console/")))
	mux.HandleFunc("GET /console/open", s.consoleOpen)
	mux.HandleFunc("GET /v1/console/challenge", s.public(SmallBody, s.consoleChallenge))
	mux.HandleFunc("POST /v1/console/login", s.signed(anyRole, SmallBody, s.consoleLogin))
	mux.HandleFunc("GET /v1/console/session", s.public(SmallBody, s.consoleSession))
	mux.HandleFunc("POST /v1/console/logout", s.serve(SmallBody, s.consoleLogout))
	// Public: the sites cases visited and when, as POST
	// /v1/trace/risk-sites gives any role, for the console's map that
	// needs no login (a health authority publishes these).
	mux.HandleFunc("GET /v1/public/risk-sites", s.public(SmallBody, s.publicRiskSites))
}

// publicRiskSites is GET /v1/public/risk-sites?from=&to=: the risk sites
// as GeoJSON, no login. Anyone may ask, so one report is computed at a
// time, and the last one is answered again while the ledger's head has
// not moved: a flood of requests costs one scan per block, not one each.
func (s *Server) publicRiskSites(r *http.Request) (any, error) {
	if err := onlyParams(r, "from", "to"); err != nil {
		return nil, err
	}
	q := report.RiskRequest{From: r.URL.Query().Get("from"), To: r.URL.Query().Get("to"), Format: "geojson"}
	c := &s.riskCache
	select {
	case c.turn <- struct{}{}:
		defer func() { <-c.turn }()
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	head := s.n.Engine.Head().Hash
	// A default window ends "now" (the ledger's latest day): the same
	// head and day give the same answer.
	day := time.Now().UTC().Format(time.DateOnly)
	if c.ok && c.q.From == q.From && c.q.To == q.To && c.head == head && c.day == day {
		return c.v, nil
	}
	b := &report.Builder{N: s.n, Now: s.rb.Now}
	rep, err := b.RiskSites(q)
	if err != nil {
		return nil, err
	}
	c.q, c.head, c.day, c.v, c.ok = q, head, day, rep.GeoJSON(), true
	return c.v, nil
}

// riskCache is the last public risk-site report, and the turn to compute
// one.
type riskCache struct {
	turn chan struct{}
	ok   bool
	q    report.RiskRequest
	head ledger.Hash
	day  string
	v    any
}

// overTLS reports whether the browser reached the node over TLS: directly,
// or through a terminator that says so. The header only ever makes the
// cookie stricter (Secure), so trusting it gives a forger nothing.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
