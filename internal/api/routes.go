package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
)

// Routes (issue 11). Every route says, where it is registered, which of
// three kinds it is, so that no route inherits a policy by accident:
//
//   - public: no caller identity (GET /v1/health, GET /v1/pseudonyms/key;
//     the privacy protocols' device routes, which check their own
//     session tokens).
//   - signed: a caller holding one of the route's roles; reads no
//     personal data.
//   - personal: a read of personal data by a caller holding one of the
//     route's roles. The request is parsed and checked whole by the
//     builder the read uses (a *node.Read), then its audit records are
//     committed, and only the receipt of that commit runs it. A request
//     that fails to parse is refused before anything is written, and no
//     path runs the read without the receipt.
//
// Request limits: the caller is identified from the headers alone (key,
// time, role, the signature over the body's hash, freshness; or the
// operator's token) before any body is read; a body is read only up to its
// route's limit (small unless the route takes bulk records), under a
// deadline, and must match the hash the signature covers. Public routes,
// whose callers are unknown, run a bounded number at a time.

// Body limits by route kind.
const (
	// SmallBody bounds every route that does not take bulk records:
	// queries, grants, single transactions.
	SmallBody = 64 << 10
	// MediumBody bounds the privacy protocols' device requests (a
	// citizen's blinded tokens, a device's commitment).
	MediumBody = 1 << 20
	// MaxBody bounds the routes that take bulk records (POST /v1/txs,
	// PUT /v1/vault, privacy vectors).
	MaxBody = 32 << 20
)

// Public requests with a body run a bounded number at a time: a few with
// bulk bodies (at most 4 x 32 MiB in memory) and more with small ones.
// Signed routes never wait for them.
const (
	publicBulk  = 4
	publicSmall = 64
)

// bodyDeadline bounds how long a request's body may take to arrive: a
// slow sender cannot hold a slot.
func bodyDeadline(limit int64) time.Duration {
	if limit > MediumBody {
		return 60 * time.Second
	}
	return 10 * time.Second
}

// handler computes a response value; one adapter writes it as JSON.
type handler func(*http.Request) (any, error)

// reader is a checked read of personal data (a *node.Read of any type).
type reader interface {
	Subjects() []node.Subject
	RunAny(*node.Receipt) (any, error)
}

// planned adapts a builder's typed read to reader.
func planned[T any](rd *node.Read[T], err error) (reader, error) {
	if err != nil {
		return nil, err
	}
	return rd, nil
}

// Role sets.
var (
	anyRole []string // nil: every role holder
	writers = []string{ledger.RoleSite, ledger.RoleHospital, ledger.RoleDoctor, ledger.RoleAdmin}
	// relays submit transactions their own signers signed (the state
	// machine checks those signatures): a member's node key may relay.
	// An investigator signs card reviews (the CDC's).
	relays = append(slices.Clip(writers), ledger.RoleInvestigator, ledger.RoleNode, ledger.RoleRelay, ledger.RoleN3, ledger.RoleN2, ledger.RoleN1,
		ledger.RoleManufacturer, ledger.RoleDistributor, ledger.RoleWarehouse, ledger.RoleCharity)
	investigator = []string{ledger.RoleInvestigator}
	// cardReaders: the CDC, and a hospital its own cards (api/cards.go).
	cardReaders  = []string{ledger.RoleInvestigator, ledger.RoleHospital}
	readers      = []string{ledger.RoleInvestigator, ledger.RoleAuditor, ledger.RoleAdmin, ledger.RoleNode}
	auditors     = []string{ledger.RoleAuditor, ledger.RoleAdmin}
	childReaders = append(slices.Clip(readers), ledger.RoleRelay)
	admins       = []string{ledger.RoleAdmin}
	// intelReaders read outbreak intelligence (details as its secrecy
	// allows them).
	intelReaders = append(slices.Clip(readers), ledger.RoleN3, ledger.RoleN2, ledger.RoleN1)
	intelRelays  = append(slices.Clip(intelReaders), ledger.RoleRelay)
)

// routes registers every route of the API on mux.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/health", s.public(SmallBody, s.health))
	mux.HandleFunc("GET /v1/openapi.json", s.public(SmallBody, s.openAPI))
	s.consoleRoutes(mux)
	// Prometheus's text format, unauthenticated as scrapers expect: counts,
	// latencies and states, no personal data (metrics.go).
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /v1/status", s.signed(anyRole, SmallBody, s.health))
	mux.HandleFunc("POST /v1/txs", s.signed(relays, MaxBody, s.submitTxs))
	mux.HandleFunc("POST /v1/tx", s.signed(relays, SmallBody, s.submitTx))
	mux.HandleFunc("GET /v1/tx/{hash}", s.signed(readers, SmallBody, s.getTx))
	mux.HandleFunc("GET /v1/tx/{hash}/proof", s.signed(childReaders, SmallBody, s.proof))
	mux.HandleFunc("GET /v1/tx/{hash}/corrections", s.signed(readers, SmallBody, s.corrections))
	mux.HandleFunc("GET /v1/consortium/validators", s.signed(readers, SmallBody, s.validators))
	// Relays link a carried transaction's block to the anchored one.
	mux.HandleFunc("GET /v1/blocks/{height}", s.signed(childReaders, SmallBody, s.block))
	mux.HandleFunc("GET /v1/verify", s.signed(auditors, SmallBody, s.verify))
	mux.HandleFunc("PUT /v1/vault", s.signed(admins, MaxBody, s.putVault))
	mux.HandleFunc("POST /v1/backup", s.backup)
	// Signed, not personal: a site or hospital gets the pseudonyms of the
	// references it sends and nothing else (no personal data it did not
	// send, nothing about the ledger); see pseudonyms.
	mux.HandleFunc("POST /v1/pseudonyms", s.signed(writers, MediumBody, s.pseudonyms))
	// Signed, not personal: the node sees blinded elements, never a
	// reference, and audits each request (who, how many) before it
	// evaluates; see oblivious.
	mux.HandleFunc("POST /v1/pseudonyms/oblivious", s.signed(writers, SmallBody, s.oblivious))
	mux.HandleFunc("GET /v1/pseudonyms/key", s.public(SmallBody, s.pseudonymKey))
	mux.HandleFunc("POST /v1/validate/close", s.signed(admins, SmallBody, s.closeWindows))
	mux.HandleFunc("GET /v1/validate/probability", s.signed(anyRole, SmallBody, s.probability))
	mux.HandleFunc("GET /v1/audit", s.signed(auditors, SmallBody, s.audits))
	mux.HandleFunc("POST /v1/roles", s.signed(admins, SmallBody, s.grantRole))
	mux.HandleFunc("GET /v1/roles", s.signed(auditors, SmallBody, s.listRoles))
	mux.HandleFunc("GET /v1/sites", s.signed(auditors, SmallBody, s.listSites))
	mux.HandleFunc("POST /v1/children", s.signed(admins, SmallBody, s.registerChild))
	// A child's relay reads what its parent holds of it.
	mux.HandleFunc("GET /v1/children", s.signed(childReaders, SmallBody, s.listChildren))
	mux.HandleFunc("GET /v1/children/{chain}/anchors", s.signed(childReaders, SmallBody, s.childAnchors))
	mux.HandleFunc("POST /v1/parent", s.signed(admins, SmallBody, s.registerParent))
	mux.HandleFunc("GET /v1/parent", s.signed(childReaders, SmallBody, s.parent))
	mux.HandleFunc("GET /v1/light-blocks/{height}", s.signed(childReaders, SmallBody, s.lightBlock))
	mux.HandleFunc("GET /v1/intel", s.signed(intelRelays, SmallBody, s.intelList))
	mux.HandleFunc("GET /v1/intel/confirmations", s.signed(intelRelays, SmallBody, s.intelConfirmations))
	mux.HandleFunc("GET /v1/intel/{tx}", s.signed(granted(intelReaders), SmallBody, s.intelRecord))
	mux.HandleFunc("GET /v1/grants", s.signed(grantReaders, SmallBody, s.listGrants))
	mux.HandleFunc("POST /v1/intel/policy", s.signed(admins, SmallBody, s.intelPolicy))

	mux.HandleFunc("POST /v1/trace/trajectory", s.personal(granted(investigator), s.trajectory))
	mux.HandleFunc("POST /v1/trace/contacts", s.personal(granted(investigator), s.contacts))
	mux.HandleFunc("GET /v1/cases", s.personal(investigator, s.cases))
	mux.HandleFunc("GET /v1/cards/{id}", s.personal(cardReaders, s.card))
	mux.HandleFunc("GET /v1/public/stats", s.public(SmallBody, s.publicStats))
	mux.HandleFunc("GET /v1/public/stats/proof", s.public(SmallBody, s.publicStatsProof))
	mux.HandleFunc("GET /v1/public/supply/01/{gtin}/{ai}/{value}", s.public(SmallBody, s.publicSupply))
	mux.HandleFunc("GET /v1/public/supply/00/{sscc}", s.public(SmallBody, s.publicSupply))
	mux.HandleFunc("GET /v1/public/needs", s.public(SmallBody, s.publicNeeds))
	mux.HandleFunc("GET /v1/public/donations/{id}", s.public(SmallBody, s.publicDonation))
	mux.HandleFunc("GET /v1/public/donations", s.public(SmallBody, s.publicDonations))
	mux.HandleFunc("GET /v1/public/attestations/{hash}", s.public(SmallBody, s.publicAttestations))
	mux.HandleFunc("GET /v1/rules", s.signed(intelReaders, SmallBody, s.rules))
	mux.HandleFunc("GET /v1/alerts", s.signed(intelReaders, SmallBody, s.alerts))
	mux.HandleFunc("GET /v1/persons/{ref}/chain", s.personal(investigator, s.personChain))
	mux.HandleFunc("POST /v1/validate/decisions", s.personal(investigator, s.decisions))
	s.investigateRoutes(mux)
	s.privacyRoutes(mux)
	// The path is not echoed: it could carry what a caller should not
	// have put in a URL.
	mux.HandleFunc("/", s.public(SmallBody, func(r *http.Request) (any, error) {
		return nil, errf(http.StatusNotFound, "not_found", "", "no such endpoint or method (see docs/API.md)")
	}))
}

// public serves a route that needs no caller identity. Its body is read
// (by the handler) up to limit; a request with a body takes a slot of the
// public pool for its whole run.
func (s *Server) public(limit int64, h handler) http.HandlerFunc {
	return s.serve(limit, func(w http.ResponseWriter, r *http.Request) (any, error) {
		if r.ContentLength != 0 {
			release, err := s.slot(r, limit)
			if err != nil {
				return nil, err
			}
			defer release()
		}
		return h(r)
	})
}

// signed serves a route that reads no personal data, to a caller holding
// one of roles (the chain authority holds all).
func (s *Server) signed(roles []string, limit int64, h handler) http.HandlerFunc {
	return s.serve(limit, func(w http.ResponseWriter, r *http.Request) (any, error) {
		r, _, err := s.admit(r, roles, limit)
		if err != nil {
			return nil, err
		}
		return h(r)
	})
}

// personal serves a read of personal data to a caller holding one of
// roles: plan parses and checks the whole request; the audit records of
// what it reads are committed; the read runs with their receipt.
func (s *Server) personal(roles []string, plan func(*http.Request) (reader, error)) http.HandlerFunc {
	return s.serve(SmallBody, func(w http.ResponseWriter, r *http.Request) (any, error) {
		r, p, err := s.admit(r, roles, SmallBody)
		if err != nil {
			return nil, err
		}
		if err := checkCasePurpose(p); err != nil {
			return nil, err
		}
		rd, err := plan(r)
		var unknown *node.UnknownRefError
		if err != nil && p.isGrantee() && errors.As(err, &unknown) {
			// Whether a person is seen here is the grant's to open: out
			// of its scope, the refusal, not the 404.
			if err := s.crossPerson(r, p, unknown.Ref); err != nil {
				return nil, err
			}
		}
		if err != nil {
			// A reference bound to nobody is a lookup all the same: its
			// record is committed before the 404 is answered.
			if err = s.n.AuditMiss(r.Context(), p.caller(r.Pattern), r.Pattern, err); errors.Is(err, node.ErrNoAudit) {
				return nil, s.auditFailed(r, err)
			}
			return nil, err
		}
		if p.isGrantee() {
			// Within the grant, or refused with an audit record.
			if err := s.crossTrace(r, p, rd); err != nil {
				return nil, err
			}
		}
		rc, err := s.n.AuditRead(r.Context(), p.caller(r.Pattern), rd.Subjects())
		if err != nil {
			return nil, s.auditFailed(r, err)
		}
		s.metrics.audited.WithLabelValues(r.Pattern).Inc()
		// The caller sees that the read was recorded, and where (the
		// console shows it): the first audit transaction and how many.
		if txs := rc.Txs(); len(txs) > 0 {
			w.Header().Set(HeaderAuditTx, txs[0].String())
			w.Header().Set(HeaderAuditRecords, strconv.Itoa(len(txs)))
		}
		return rd.RunAny(rc)
	})
}

// auditFailed logs why an audit record was not committed and refuses the
// read.
func (s *Server) auditFailed(r *http.Request, err error) error {
	s.metrics.auditFail.Inc()
	s.log.Error("audit record not written; read refused", "route", r.Pattern, "err", err)
	return errf(http.StatusServiceUnavailable, "audit_failed", "", "the audit record could not be written, so the read does not run")
}

// serve bounds the body, runs h and writes its value or error as JSON. It
// logs one line per request at Info: its id (also the answer's
// Epiledger-Request-Id header, for a caller to quote), method, route (the
// pattern, never the path, which may carry a person's reference), the
// caller's role, status and duration; never bodies.
func (s *Server) serve(limit int64, h func(http.ResponseWriter, *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r, info := s.begin(w, r, limit)
		v, err := h(w, r)
		s.reply(w, r, info, v, err)
	}
}

// begin starts serving r: its id (and the answer's header), its body
// bounded by limit, its deadline.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, limit int64) (*http.Request, *requestInfo) {
	info := &requestInfo{id: newRequestID(), start: time.Now()}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	w.Header().Set(HeaderRequestID, info.id)
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	http.NewResponseController(w).SetReadDeadline(info.start.Add(bodyDeadline(limit)))
	return r, info
}

// reply writes v, or err as the API's error, as JSON, and ends r (done).
func (s *Server) reply(w http.ResponseWriter, r *http.Request, info *requestInfo, v any, err error) {
	status := http.StatusOK
	if err != nil {
		e := s.toError(err)
		status, v = e.Status, map[string]*Error{"error": e}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	if raw, ok := v.(*rawReply); ok {
		w.Header().Set("Content-Type", raw.contentType)
		w.WriteHeader(status)
		w.Write(raw.body)
		s.done(r, info, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
	s.done(r, info, status)
}

// done logs r's line and counts it in the metrics.
func (s *Server) done(r *http.Request, info *requestInfo, status int) {
	d := time.Since(info.start)
	s.metrics.request(r.Pattern, status, d)
	role := info.role
	if role == "" {
		role = "-"
	}
	s.log.Info("request", "id", info.id, "method", r.Method, "route", r.Pattern, "role", role, "status", status,
		"ms", float64(d.Microseconds())/1000)
}

// HeaderAuditTx and HeaderAuditRecords name the headers of a personal
// read's answer that say which audit transaction recorded it (the first,
// when it took several) and how many did.
const (
	HeaderAuditTx      = "Epiledger-Audit-Tx"
	HeaderAuditRecords = "Epiledger-Audit-Records"
)

// HeaderRequestID names the answer's header that carries the request's
// id, the one its log line has.
const HeaderRequestID = "Epiledger-Request-Id"

// requestInfo is what serve logs of a request that the handler learns:
// the caller's role, once admitted.
type requestInfo struct {
	id    string
	start time.Time
	role  string
}

type requestInfoKey struct{}

// newRequestID is 8 random bytes in hex.
func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// noteRole records the admitted caller's role for the request's log line.
func noteRole(r *http.Request, role string) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.role = role
	}
}

// slot takes a slot of the public pool for a request with a body of at
// most limit (which picks the pool), waiting while the request lives;
// release gives it back.
func (s *Server) slot(r *http.Request, limit int64) (release func(), err error) {
	pool := s.publicSmall
	if limit > MediumBody {
		pool = s.publicBulk
	}
	select {
	case pool <- struct{}{}:
		return func() { <-pool }, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// onlyParams refuses query parameters other than names: a misspelt
// parameter is an error, not a silent default.
func onlyParams(r *http.Request, names ...string) error {
	for k := range r.URL.Query() {
		ok := false
		for _, n := range names {
			ok = ok || k == n
		}
		if !ok {
			return errf(http.StatusBadRequest, "invalid", echoable(k, "query"), "unknown parameter (this route takes %s)", paramList(names))
		}
	}
	return nil
}

// echoable returns name if it can be a field's name (a few lower-case
// letters, digits and underscores), else instead: an error names the
// field, but never repeats what a caller could have put there (an
// identifier sent as a parameter's name).
func echoable(name, instead string) string {
	if len(name) == 0 || len(name) > 32 {
		return instead
	}
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return instead
		}
	}
	return name
}

func paramList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// withPrincipal and principalOf carry the caller in a request's context.
type principalKey struct{}

func withPrincipal(r *http.Request, p *Principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

// principalOf is the caller admit attached to r (nil on a public route).
func principalOf(r *http.Request) *Principal {
	p, _ := r.Context().Value(principalKey{}).(*Principal)
	return p
}

// caller is p as an audit record names it, reading route.
func (p *Principal) caller(route string) node.Caller {
	if p.isGrantee() {
		route = grantRoute(route, p.Grant)
	}
	return node.Caller{Key: p.Key, Role: p.Role, Case: p.Case, Purpose: p.Purpose, Route: route, Time: p.Time,
		Request: p.Request, RequestSig: p.Signature}
}
