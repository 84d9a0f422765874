package api

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/state"
)

// Authentication (issue 4). Every call but GET /v1/health is
// authenticated by a signed request: the caller signs, with an Ed25519 key
// the administrator registered on the ledger (a grant_role transaction),
//
//	"epiledger/v1/request\0" chain-id "\n" METHOD "\n" REQUEST-URI "\n"
//	TIME "\n" NONCE "\n" CASE "\n" PURPOSE "\n" hex(SHA-256(body))
//
// and sends headers Epiledger-Key (hex public key), Epiledger-Time (Unix
// seconds, within 5 minutes of the node's clock), Epiledger-Nonce (random,
// so that two identical requests are two requests), Epiledger-Case and
// Epiledger-Purpose (what the read is for; required where personal data is
// read) and Epiledger-Signature (base64). Why signed requests and not mutual
// TLS: the keys are the same Ed25519 keys the ledger already uses, the
// administrator registers them on the ledger itself (no certificate
// authority to run), a signature binds the exact request body, case and
// purpose, and the node can put the caller's signature into the audit
// record as evidence; TLS can still carry it (put a TLS terminator in
// front). The node operator's bearer token (derived from the chain
// authority's secret) authenticates as the chain authority.
//
// Each route has a policy: the roles that may call it and whether a call
// reads personal data, in which case an audit transaction is committed to
// the ledger before the handler runs, and the call fails if it cannot be.

// Header names of signed requests.
const (
	HeaderKey       = "Epiledger-Key"
	HeaderTime      = "Epiledger-Time"
	HeaderCase      = "Epiledger-Case"
	HeaderPurpose   = "Epiledger-Purpose"
	HeaderSignature = "Epiledger-Signature"
	HeaderNonce     = "Epiledger-Nonce"
)

// MaxSkew is how far a request's time may be from the node's clock.
const MaxSkew = 5 * time.Minute

// roleAuthority is the chain authority: it holds every role.
const roleAuthority = "authority"

// policy says who may call a route.
type policy struct {
	roles []string // roles allowed, besides the chain authority; nil: any role
	audit bool     // reads personal data: audit first
}

var (
	writers      = []string{ledger.RoleSite, ledger.RoleHospital, ledger.RoleAdmin}
	investigator = []string{ledger.RoleInvestigator}
	readers      = []string{ledger.RoleInvestigator, ledger.RoleAuditor, ledger.RoleAdmin}
	auditors     = []string{ledger.RoleAuditor, ledger.RoleAdmin}
	admins       = []string{ledger.RoleAdmin}
)

// policies by route pattern. A route missing here that needs
// authentication is treated as a personal-data read by investigators: the
// safe default.
var policies = map[string]policy{
	"GET /v1/status":                      {},
	"POST /v1/txs":                        {roles: writers},
	"POST /v1/tx":                         {roles: writers},
	"GET /v1/tx/{hash}":                   {roles: readers},
	"GET /v1/tx/{hash}/proof":             {roles: readers},
	"GET /v1/blocks/{height}":             {roles: readers},
	"GET /v1/verify":                      {roles: auditors},
	"PUT /v1/vault":                       {roles: admins},
	"POST /v1/trace/trajectory":           {roles: investigator, audit: true},
	"POST /v1/trace/contacts":             {roles: investigator, audit: true},
	"GET /v1/cases":                       {roles: investigator, audit: true},
	"GET /v1/persons/{ref}/chain":         {roles: investigator, audit: true},
	"POST /v1/validate/decisions":         {roles: investigator, audit: true},
	"POST /v1/validate/close":             {roles: admins},
	"GET /v1/validate/probability":        {},
	"GET /v1/audit":                       {roles: auditors},
	"POST /v1/roles":                      {roles: admins},
	"POST /v1/trace/risk-sites":           {}, // no personal data: made to be published
	"POST /v1/privacy/universes":          {roles: admins},
	"POST /v1/privacy/sessions":           {roles: admins},
	"POST /v1/privacy/commitments/anchor": {roles: admins},
	"POST /v1/privacy/commitments/verify": {roles: admins},
	"POST /v1/privacy/risk":               {roles: admins},
}

func policyOf(pattern string) policy {
	if p, ok := policies[pattern]; ok {
		return p
	}
	return policy{roles: investigator, audit: true}
}

// Principal is an authenticated caller.
type Principal struct {
	Key       [32]byte
	Role      string
	Name      string
	Case      string
	Purpose   string
	Time      int64
	Signature [64]byte
	Request   ledger.Hash
}

// replays remembers recent request signatures so that a captured request
// cannot be sent again.
type replays struct {
	mu   sync.Mutex
	seen map[[64]byte]time.Time
}

func (rp *replays) check(sig [64]byte, now time.Time) bool {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.seen == nil {
		rp.seen = map[[64]byte]time.Time{}
	}
	if len(rp.seen) > 100000 {
		for k, t := range rp.seen {
			if now.Sub(t) > 2*MaxSkew {
				delete(rp.seen, k)
			}
		}
	}
	if _, dup := rp.seen[sig]; dup {
		return false
	}
	rp.seen[sig] = now
	return true
}

// RequestMessage is what a caller signs.
func RequestMessage(chainID, method, uri string, t int64, nonce, caseRef, purpose string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte("epiledger/v1/request\x00" + chainID + "\n" + method + "\n" + uri + "\n" + strconv.FormatInt(t, 10) + "\n" +
		nonce + "\n" + caseRef + "\n" + purpose + "\n" + hex.EncodeToString(sum[:]))
}

// SignRequest sets the signed-request headers on req for body.
func SignRequest(req *http.Request, chainID string, key ed25519.PrivateKey, caseRef, purpose string, body []byte, now time.Time) {
	t := now.Unix()
	var nb [12]byte
	rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	msg := RequestMessage(chainID, req.Method, req.URL.RequestURI(), t, nonce, caseRef, purpose, body)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderKey, hex.EncodeToString(key.Public().(ed25519.PublicKey)))
	req.Header.Set(HeaderTime, strconv.FormatInt(t, 10))
	req.Header.Set(HeaderCase, caseRef)
	req.Header.Set(HeaderPurpose, purpose)
	req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg)))
}

func unauth(field, format string, args ...any) *Error {
	return errf(http.StatusUnauthorized, "unauthorized", field, format, args...)
}

// authenticate identifies the caller of r, whose body has been read.
func (s *Server) authenticate(r *http.Request, body []byte) (*Principal, error) {
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		if !s.n.Home.Config.Node.OperatorToken {
			return nil, unauth("Authorization", "this node accepts signed requests only (node.operator_token = false): sign with a key that holds a role")
		}
		if !s.authorised(r) {
			return nil, unauth("Authorization", "the bearer token is not the node operator's")
		}
		p := &Principal{Key: s.n.Home.Genesis.Authority, Role: roleAuthority, Name: "chain authority (operator token)",
			Case: r.Header.Get(HeaderCase), Purpose: r.Header.Get(HeaderPurpose), Time: time.Now().Unix()}
		// No signature to make the record unique: a nonce does.
		var nonce [16]byte
		rand.Read(nonce[:])
		p.Request = sha256.Sum256(RequestMessage(s.n.Home.Genesis.ChainID, r.Method, r.URL.RequestURI(), p.Time, hex.EncodeToString(nonce[:]), p.Case, p.Purpose, body))
		return p, nil
	}
	kh, th, sh := r.Header.Get(HeaderKey), r.Header.Get(HeaderTime), r.Header.Get(HeaderSignature)
	if kh == "" || th == "" || sh == "" {
		return nil, unauth(HeaderSignature, "sign the request: headers %s, %s and %s (see docs/API.md)", HeaderKey, HeaderTime, HeaderSignature)
	}
	kb, err := hex.DecodeString(kh)
	if err != nil || len(kb) != 32 {
		return nil, unauth(HeaderKey, "want 64 hex digits (an Ed25519 public key)")
	}
	t, err := strconv.ParseInt(th, 10, 64)
	if err != nil {
		return nil, unauth(HeaderTime, "want Unix seconds")
	}
	now := time.Now()
	if d := now.Sub(time.Unix(t, 0)); d > MaxSkew || d < -MaxSkew {
		return nil, unauth(HeaderTime, "not within %s of the node's clock", MaxSkew)
	}
	sig, err := base64.StdEncoding.DecodeString(sh)
	if err != nil || len(sig) != 64 {
		return nil, unauth(HeaderSignature, "want a base64 Ed25519 signature")
	}
	p := &Principal{Case: r.Header.Get(HeaderCase), Purpose: r.Header.Get(HeaderPurpose), Time: t}
	copy(p.Key[:], kb)
	copy(p.Signature[:], sig)
	nonce := r.Header.Get(HeaderNonce)
	if len(nonce) > 64 {
		return nil, unauth(HeaderNonce, "at most 64 characters")
	}
	msg := RequestMessage(s.n.Home.Genesis.ChainID, r.Method, r.URL.RequestURI(), t, nonce, p.Case, p.Purpose, body)
	if !ed25519.Verify(kb, msg, sig) {
		return nil, unauth(HeaderSignature, "the signature does not verify for this request")
	}
	if !s.replays.check(p.Signature, now) {
		return nil, unauth(HeaderSignature, "this request was already received (replay)")
	}
	p.Request = sha256.Sum256(msg)
	g := s.n.Home.Genesis
	if p.Role, p.Name, err = state.RoleOf(s.n.DB, &g, p.Key); err != nil {
		return nil, err
	}
	if p.Role == ledger.RoleNone {
		return nil, errf(http.StatusForbidden, "forbidden", HeaderKey, "this key holds no role on this chain")
	}
	return p, nil
}

// allowed reports whether p may call a route with policy pol.
func allowed(p *Principal, pol policy) bool {
	if p.Role == roleAuthority || pol.roles == nil {
		return true
	}
	for _, r := range pol.roles {
		if r == p.Role {
			return true
		}
	}
	return false
}

// readBody reads the whole (bounded) body and puts it back for the handler.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

// auditFirst commits the audit record of a personal-data read; the read
// runs only if this succeeds.
func (s *Server) auditFirst(r *http.Request, p *Principal, body []byte) (run bool, err error) {
	a := &ledger.Audit{Caller: p.Key, Role: p.Role, Case: p.Case, Purpose: p.Purpose, Route: r.Pattern,
		Request: p.Request, RequestSig: p.Signature, Time: p.Time}
	// What was asked, without the identifier: the person's pseudonym and
	// the window. A request that is bad in itself (malformed body, bad
	// window, unknown person) is refused before anything is written: bad
	// input changes nothing.
	var q report.Query
	var others []ledger.Pseudonym // further persons a request reads (a source search over several cases)
	ref := r.PathValue("ref")
	if queryRoutes[r.Pattern] && ref == "" {
		// The handler decodes the same way and refuses what fails here,
		// with the precise reason; the read never runs, so nothing is
		// audited.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			return true, nil
		}
		if _, err := dec.Token(); err != io.EOF {
			return true, nil
		}
	}
	if ref != "" {
		q.Person = ref
		q.From, q.To = r.URL.Query().Get("from"), r.URL.Query().Get("to")
	}
	if !queryRoutes[r.Pattern] && len(body) > 0 {
		// Other investigations (chains, sources, follow-up...): take the
		// person and window for the record; a person that does not
		// resolve is refused by the handler, so nothing is audited.
		var lenient struct {
			Person, From, To string
			Persons          []string
		}
		if json.Unmarshal(body, &lenient) == nil && (lenient.Person != "" || len(lenient.Persons) > 0) {
			for _, ref := range append([]string{lenient.Person}, lenient.Persons...) {
				if ref == "" {
					continue
				}
				pp, err := s.rb.ResolveAny(ref)
				if err != nil {
					return true, nil
				}
				for _, o := range others {
					if o == pp {
						return true, nil // a person twice: the handler refuses it
					}
				}
				others = append(others, pp)
			}
			a.Person, others = others[0], others[1:]
			if w, err := report.ParseWindow(lenient.From, lenient.To, time.Now(), s.n.Home.Config.Trace.Lookback.Duration, s.n.Home.Config.Location()); err == nil {
				a.From, a.To = w.From.Unix(), w.To.Unix()
			}
		}
	}
	if queryRoutes[r.Pattern] {
		w, err := report.ParseWindow(q.From, q.To, time.Now(), s.n.Home.Config.Trace.Lookback.Duration, s.n.Home.Config.Location())
		if err != nil {
			return false, err
		}
		a.From, a.To = w.From.Unix(), w.To.Unix()
		if q.MinOverlap != "" {
			if d, err := time.ParseDuration(q.MinOverlap); err != nil || d < 0 {
				return true, nil // the handler names the field; nothing is audited
			}
		}
		pp, err := s.rb.ResolveAny(q.Person)
		if err != nil {
			return false, err
		}
		a.Person = pp
	}
	if err := checkCasePurpose(p); err != nil {
		return false, err
	}
	// One record per person read.
	for _, person := range append([]ledger.Pseudonym{a.Person}, others...) {
		rec := *a
		rec.Person = person
		if err := s.commitAudit(r, &rec); err != nil {
			return false, err
		}
	}
	return true, nil
}

// checkCasePurpose refuses a read of personal data that does not say
// which case it is for and why.
func checkCasePurpose(p *Principal) error {
	if p.Case == "" {
		return errf(http.StatusBadRequest, "invalid", HeaderCase, "a read of personal data names its case (a case reference, not a person)")
	}
	if p.Purpose == "" {
		return errf(http.StatusBadRequest, "invalid", HeaderPurpose, "a read of personal data states its purpose")
	}
	if len(p.Case) > 128 || len(p.Purpose) > 128 {
		return errf(http.StatusBadRequest, "invalid", HeaderCase, "case and purpose are at most 128 bytes each")
	}
	return nil
}

// commitAudit signs an audit record as the authority and waits until it
// is committed; the read runs only if it is.
func (s *Server) commitAudit(r *http.Request, a *ledger.Audit) error {
	tx := ledger.NewTx(a)
	tx.Sign(s.n.Home.Genesis.ChainID, s.n.Home.Authority())
	if rc := s.n.Engine.Submit(r.Context(), tx.Bytes()); rc.Err != nil {
		s.log.Error("audit record not written; read refused", "err", rc.Err)
		return errf(http.StatusServiceUnavailable, "audit_failed", "", "the audit record could not be written, so the read does not run")
	}
	return nil
}

// auditLaterRoutes are the investigations: their handlers check the whole
// request (window, depth, durations, persons) and only then, just before
// each read of personal data, commit its audit record (auditLater), so
// that a request refused for any reason leaves no record of a read that
// never ran.
var auditLaterRoutes = map[string]bool{
	"POST /v1/trace/chain":     true,
	"POST /v1/trace/sources":   true,
	"POST /v1/trace/clusters":  true,
	"POST /v1/trace/follow-up": true,
}

type principalKey struct{}

// auditLater returns the audit hook of an investigation request: it
// commits the caller's audit record of a read of person (the zero
// pseudonym: every case, for clusters) over w.
func (s *Server) auditLater(r *http.Request) func(route string, person ledger.Pseudonym, w report.Window) error {
	return func(_ string, person ledger.Pseudonym, w report.Window) error {
		p, ok := r.Context().Value(principalKey{}).(*Principal)
		if !ok {
			return fmt.Errorf("api: %s: no caller to audit", r.Pattern)
		}
		return s.commitAudit(r, &ledger.Audit{Caller: p.Key, Role: p.Role, Case: p.Case, Purpose: p.Purpose, Route: r.Pattern,
			Request: p.Request, RequestSig: p.Signature, Time: p.Time, Person: person, From: w.From.Unix(), To: w.To.Unix()})
	}
}

// queryRoutes take a report.Query body (or a person in the path), which
// the guard checks before auditing.
var queryRoutes = map[string]bool{
	"POST /v1/trace/trajectory":   true,
	"POST /v1/trace/contacts":     true,
	"POST /v1/validate/decisions": true,
	"GET /v1/persons/{ref}/chain": true,
}

// AuditView is an audit record in JSON.
type AuditView struct {
	Tx        string `json:"tx"`
	Height    uint64 `json:"height"`
	Recorded  string `json:"recorded"`
	Caller    string `json:"caller"`
	Role      string `json:"role"`
	Name      string `json:"name,omitempty"`
	Case      string `json:"case"`
	Purpose   string `json:"purpose"`
	Route     string `json:"route"`
	Pseudonym string `json:"pseudonym,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Request   string `json:"request"`
}

// audits lists the audit trail: GET /v1/audit?from=&to=.
func (s *Server) audits(r *http.Request) (any, error) {
	w, err := report.ParseWindow(r.URL.Query().Get("from"), r.URL.Query().Get("to"), time.Now(), 100*365*24*time.Hour, s.n.Home.Config.Location())
	if err != nil {
		return nil, err
	}
	es, err := s.n.Query.Audits(w.From.Unix(), w.To.Unix())
	if err != nil {
		return nil, err
	}
	loc := s.n.Home.Config.Location()
	g := s.n.Home.Genesis
	out := []AuditView{}
	for _, e := range es {
		a := e.Audit
		v := AuditView{Tx: e.TxID.String(), Height: e.Height, Recorded: time.Unix(e.Block, 0).In(loc).Format(time.RFC3339),
			Caller: hex.EncodeToString(a.Caller[:]), Role: a.Role, Case: a.Case, Purpose: a.Purpose, Route: a.Route, Request: a.Request.String()}
		if _, name, err := state.RoleOf(s.n.DB, &g, a.Caller); err == nil {
			v.Name = name
		}
		if a.Person != (ledger.Pseudonym{}) {
			v.Pseudonym = a.Person.String()
		}
		if a.From != 0 || a.To != 0 {
			v.From, v.To = time.Unix(a.From, 0).In(loc).Format(time.RFC3339), time.Unix(a.To, 0).In(loc).Format(time.RFC3339)
		}
		out = append(out, v)
	}
	return map[string]any{"audits": out}, nil
}

// RoleRequest grants a role: POST /v1/roles (administrator). The node signs
// the grant_role transaction with the chain authority's key.
type RoleRequest struct {
	Key  string `json:"key"`
	Role string `json:"role"`
	Name string `json:"name"`
}

func (s *Server) grantRole(r *http.Request) (any, error) {
	var req RoleRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	k, err := ledger.ParseHash(req.Key)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "key", "want 64 hex digits (an Ed25519 public key)")
	}
	tx := ledger.NewTx(&ledger.GrantRole{Key: k, Role: req.Role, Name: req.Name})
	tx.Sign(s.n.Home.Genesis.ChainID, s.n.Home.Authority())
	rc := s.n.Engine.Submit(r.Context(), tx.Bytes())
	if rc.Err != nil {
		return nil, rc.Err
	}
	return s.result(rc), nil
}

var _ = subtle.ConstantTimeCompare
var _ = fmt.Sprintf
