package api

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
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
// read), Epiledger-Body-SHA256 (the hash the message ends with, so that the
// node checks the signature before it reads the body, then the body
// against the hash as it reads it) and Epiledger-Signature (base64). Why signed requests and not mutual
// TLS: the keys are the same Ed25519 keys the ledger already uses, the
// administrator registers them on the ledger itself (no certificate
// authority to run), a signature binds the exact request body, case and
// purpose, and the node can put the caller's signature into the audit
// record as evidence; TLS can still carry it (put a TLS terminator in
// front). The node operator's bearer token (derived from the chain
// authority's secret) authenticates as the chain authority.
//
// Each route is registered as public, signed (with the roles that may call
// it) or personal (a read of personal data: checked whole, then audited,
// then run; see routes.go and node.Read).

// Header names of signed requests.
const (
	HeaderKey       = "Epiledger-Key"
	HeaderTime      = "Epiledger-Time"
	HeaderCase      = "Epiledger-Case"
	HeaderPurpose   = "Epiledger-Purpose"
	HeaderSignature = "Epiledger-Signature"
	HeaderNonce     = "Epiledger-Nonce"
	HeaderBodyHash  = "Epiledger-Body-SHA256"
)

// MaxSkew is how far a request's time may be from the node's clock.
const MaxSkew = 5 * time.Minute

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
	// Session is set for a console session's call; Signature is then the
	// login request's.
	Session bool
	// Grant is the grant a key without a role here reads under (Role
	// RoleGrantee; grants.go).
	Grant ledger.Hash
}

// RequestMessage is what a caller signs for body.
func RequestMessage(chainID, method, uri string, t int64, nonce, caseRef, purpose string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return requestMessage(chainID, method, uri, t, nonce, caseRef, purpose, hex.EncodeToString(sum[:]))
}

// requestMessage is the signed message of a body whose SHA-256 is
// bodyHash (lower-case hex).
func requestMessage(chainID, method, uri string, t int64, nonce, caseRef, purpose, bodyHash string) []byte {
	return []byte("epiledger/v1/request\x00" + chainID + "\n" + method + "\n" + uri + "\n" + strconv.FormatInt(t, 10) + "\n" +
		nonce + "\n" + caseRef + "\n" + purpose + "\n" + bodyHash)
}

// SignRequest sets the signed-request headers on req for body.
func SignRequest(req *http.Request, chainID string, key ed25519.PrivateKey, caseRef, purpose string, body []byte, now time.Time) {
	t := now.Unix()
	var nb [12]byte
	rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	sum := sha256.Sum256(body)
	msg := requestMessage(chainID, req.Method, req.URL.RequestURI(), t, nonce, caseRef, purpose, hex.EncodeToString(sum[:]))
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderBodyHash, hex.EncodeToString(sum[:]))
	req.Header.Set(HeaderKey, hex.EncodeToString(key.Public().(ed25519.PublicKey)))
	req.Header.Set(HeaderTime, strconv.FormatInt(t, 10))
	req.Header.Set(HeaderCase, caseRef)
	req.Header.Set(HeaderPurpose, purpose)
	req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg)))
}

func unauth(field, format string, args ...any) *Error {
	return errf(http.StatusUnauthorized, "unauthorized", field, format, args...)
}

// admit identifies the caller of r from its headers - the operator's
// token, or a signed request's key, role, signature and freshness - and
// checks that they hold one of roles; only then does it read the body (up
// to limit) and, for a signed request, check it against the hash the
// signature covers. It returns r with its body readable again and the
// caller in its context.
func (s *Server) admit(r *http.Request, roles []string, limit int64) (*http.Request, *Principal, error) {
	p, bodyHash, err := s.identify(r)
	if err != nil {
		return r, nil, err
	}
	noteRole(r, p.Role)
	if !allowed(p, roles) {
		return r, nil, errf(http.StatusForbidden, "forbidden", "", "this route needs one of the roles %s; the key holds %q", strings.Join(roles, ", "), p.Role)
	}
	body, err := readBody(r)
	if err != nil {
		return r, nil, err
	}
	sum := sha256.Sum256(body)
	if bodyHash != "" && hex.EncodeToString(sum[:]) != bodyHash {
		return r, nil, unauth(HeaderBodyHash, "the body is not the one the signature covers")
	}
	if len(body) > 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		return r, nil, errf(http.StatusBadRequest, "invalid", "body", "%s takes no body", r.Method)
	}
	if bodyHash == "" {
		// The operator's token: no signature to make the audit record
		// unique, a nonce does.
		var nonce [16]byte
		rand.Read(nonce[:])
		p.Request = sha256.Sum256(RequestMessage(s.n.Home.Genesis.ChainID, r.Method, r.URL.RequestURI(), p.Time, hex.EncodeToString(nonce[:]), p.Case, p.Purpose, body))
	}
	return withPrincipal(r, p), p, nil
}

// identify names the caller of r from its headers alone: the operator's
// bearer token (bodyHash ""), or a signed request's key, time, role and
// signature, not seen before; bodyHash is then the body's SHA-256 the
// signature covers, which the body read next must match.
func (s *Server) identify(r *http.Request) (p *Principal, bodyHash string, err error) {
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		if s.token == "" {
			return nil, "", unauth("Authorization", "this node is a consortium member's (no chain secret, so no operator token): sign with a key that holds a role (--as KEY)")
		}
		if !s.n.Home.Config.Node.OperatorToken {
			return nil, "", unauth("Authorization", "this node accepts signed requests only (node.operator_token = false): sign with a key that holds a role")
		}
		if !s.authorised(r) {
			return nil, "", unauth("Authorization", "the bearer token is not the node operator's")
		}
		return &Principal{Key: s.n.Home.Genesis.Authority, Role: report.RoleAuthority, Name: "chain authority (operator token)",
			Case: r.Header.Get(HeaderCase), Purpose: r.Header.Get(HeaderPurpose), Time: time.Now().Unix()}, "", nil
	}
	kh, th, sh := r.Header.Get(HeaderKey), r.Header.Get(HeaderTime), r.Header.Get(HeaderSignature)
	if kh == "" && th == "" && sh == "" {
		// A console session (console.go): its cookie, and its CSRF
		// header checked by fromSession.
		sess, err := s.sessionOf(r)
		if err != nil {
			return nil, "", err
		}
		if sess != nil {
			p, err := s.fromSession(r, sess)
			return p, "", err
		}
	}
	if kh == "" || th == "" || sh == "" {
		return nil, "", unauth(HeaderSignature, "sign the request: headers %s, %s and %s (see docs/API.md)", HeaderKey, HeaderTime, HeaderSignature)
	}
	kb, err := hex.DecodeString(kh)
	if err != nil || len(kb) != 32 {
		return nil, "", unauth(HeaderKey, "want 64 hex digits (an Ed25519 public key)")
	}
	t, err := strconv.ParseInt(th, 10, 64)
	if err != nil {
		return nil, "", unauth(HeaderTime, "want Unix seconds")
	}
	if d := time.Since(time.Unix(t, 0)); d > MaxSkew || d < -MaxSkew {
		return nil, "", unauth(HeaderTime, "not within %s of the node's clock", MaxSkew)
	}
	sig, err := base64.StdEncoding.DecodeString(sh)
	if err != nil || len(sig) != 64 {
		return nil, "", unauth(HeaderSignature, "want a base64 Ed25519 signature")
	}
	bodyHash = r.Header.Get(HeaderBodyHash)
	if hb, err := hex.DecodeString(bodyHash); err != nil || len(hb) != sha256.Size || bodyHash != strings.ToLower(bodyHash) {
		return nil, "", unauth(HeaderBodyHash, "want the body's SHA-256 in 64 lower-case hex digits (see docs/API.md)")
	}
	if len(r.Header.Get(HeaderNonce)) > 64 {
		return nil, "", unauth(HeaderNonce, "at most 64 characters")
	}
	p = &Principal{Case: r.Header.Get(HeaderCase), Purpose: r.Header.Get(HeaderPurpose), Time: t}
	copy(p.Key[:], kb)
	copy(p.Signature[:], sig)
	g := s.n.Home.Genesis
	if p.Role, p.Name, err = state.RoleOf(s.n.DB, &g, p.Key); err != nil {
		return nil, "", err
	}
	if p.Role == ledger.RoleNone {
		id, ok, err := grantParam(r)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			return nil, "", errf(http.StatusForbidden, "forbidden", HeaderKey, "this key holds no role on this chain (a reader from another region names its grant: ?grant=ID)")
		}
		p.Role, p.Name, p.Grant = RoleGrantee, "reader under a national grant", id
	}
	if err := s.checkSignature(r, p, bodyHash); err != nil {
		return nil, "", err
	}
	return p, bodyHash, nil
}

// checkSignature checks p's signature over r's headers and bodyHash, and
// that it was not received before.
func (s *Server) checkSignature(r *http.Request, p *Principal, bodyHash string) error {
	msg := requestMessage(s.n.Home.Genesis.ChainID, r.Method, r.URL.RequestURI(), p.Time, r.Header.Get(HeaderNonce), p.Case, p.Purpose, bodyHash)
	if !ed25519.Verify(p.Key[:], msg, p.Signature[:]) {
		return unauth(HeaderSignature, "the signature does not verify for this request")
	}
	fresh, err := s.replay.Fresh(p.Signature, p.Time, time.Now())
	if err != nil {
		return err
	}
	if !fresh {
		return unauth(HeaderSignature, "this request was already received (replay), or its time is no longer within %s of the node's clock", MaxSkew)
	}
	p.Request = sha256.Sum256(msg)
	return nil
}

// allowed reports whether p may call a route open to roles (nil: any
// role).
func allowed(p *Principal, roles []string) bool {
	if p.isGrantee() {
		// Only the routes that name the grantee serve one: never "any
		// role".
		return slices.Contains(roles, RoleGrantee)
	}
	if p.Role == report.RoleAuthority || roles == nil {
		return true
	}
	for _, r := range roles {
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

// checkCasePurpose refuses a read of personal data that does not say
// which case it is for and why (node.CheckCase), naming the header.
func checkCasePurpose(p *Principal) error {
	err := node.CheckCase(p.Case, p.Purpose)
	var ce *node.CaseError
	if errors.As(err, &ce) {
		field := HeaderCase
		if ce.Field == "purpose" {
			field = HeaderPurpose
		}
		return errf(http.StatusBadRequest, "invalid", field, "%s", ce.Msg)
	}
	return err
}

// audits lists the audit trail: GET /v1/audit?from=&to=.
func (s *Server) audits(r *http.Request) (any, error) {
	if err := onlyParams(r, "from", "to"); err != nil {
		return nil, err
	}
	vs, err := s.rb.Audits(r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"audits": vs}, nil
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
	// A name over 128 bytes or not text is a 400 naming the field (a
	// *ledger.FieldError), never a panic.
	rc, err := s.commitAsAuthority(r, &ledger.GrantRole{Key: k, Role: req.Role, Name: req.Name})
	if err != nil {
		return nil, err
	}
	return s.result(rc), nil
}

// commitAsAuthority builds body (which checks the ledger's limits), signs it
// with the chain authority's key and commits it.
func (s *Server) commitAsAuthority(r *http.Request, body ledger.Body) (engine.Receipt, error) {
	if s.n.Home.Authority() == nil {
		return engine.Receipt{}, &node.NotAuthorityError{Field: "role", What: "sign role grants as the chain authority (grant at the authority's node)"}
	}
	tx, err := ledger.Build(body)
	if err != nil {
		return engine.Receipt{}, err
	}
	tx.Sign(s.n.Home.Genesis.ChainID, s.n.Home.Authority())
	rc := s.n.Engine.Submit(r.Context(), tx.Bytes())
	return rc, rc.Err
}

// listSites lists the registered sites (homes and devices left out): GET
// /v1/sites?kind= (auditor, administrator).
func (s *Server) listSites(r *http.Request) (any, error) {
	if err := onlyParams(r, "kind"); err != nil {
		return nil, err
	}
	vs, truncated, err := s.rb.Sites(r.URL.Query().Get("kind"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"sites": vs, "truncated": truncated}, nil
}

// listRoles lists who holds which role: GET /v1/roles (auditor,
// administrator).
func (s *Server) listRoles(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	vs, err := s.rb.Roles()
	if err != nil {
		return nil, err
	}
	return map[string]any{"roles": vs}, nil
}
