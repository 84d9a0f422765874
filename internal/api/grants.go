package api

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/state"
)

// Cross-region reads by grant (issue 15, docs/REGIONS.md step 8). A key
// this chain does not know may read here only under a grant of the
// national chain that this chain holds (carried down by a relay, checked
// by the state machine against the national headers it follows): it
// names the grant in the query (?grant=ID, so that the request's
// signature covers it) and is then the principal "grantee", which only
// the routes that list it admit: GET /v1/intel/{tx} and POST
// /v1/trace/trajectory and /v1/trace/contacts. Each such read is checked
// against the grant (this key's, not expired by the node's clock, opening
// that read on this chain, the record or the persons and window within
// its scope); an allowed read is audited on this chain before it runs,
// with the grant in the audit record's route, and a refused one is
// audited too, its reason in the route, before the 403 is answered. Trace
// reads answer pseudonyms only: the identities this chain's vault holds
// stay in the region.

// RoleGrantee is a grant holder's principal role.
const RoleGrantee = report.RoleGrantee

// granted lists the routes' roles with the grantee's.
func granted(roles []string) []string { return append(slices.Clip(roles), RoleGrantee) }

// grantReaders list the grants held here: relays carry them down.
var grantReaders = append(slices.Clip(readers), ledger.RoleN2, ledger.RoleN1, ledger.RoleRelay)

// grantParam reads ?grant= of a request from a key without a role here:
// ok false when there is none.
func grantParam(r *http.Request) (id ledger.Hash, ok bool, err error) {
	v, has := r.URL.Query()["grant"]
	if !has {
		return id, false, nil
	}
	if len(v) != 1 {
		return id, true, errf(http.StatusBadRequest, "invalid", "grant", "one grant per request")
	}
	id, err = ledger.ParseHash(v[0])
	if err != nil {
		return id, true, errf(http.StatusBadRequest, "invalid", "grant", "want a grant's id: its access_grant transaction's, 64 hex digits")
	}
	return id, true, nil
}

// refusalBudget bounds the refusals audited per minute: a refused read's
// audit record is written by the node on the ledger, so a flood of
// signed requests from made-up keys must not fill the ledger. Past it a
// refusal is answered 429 without a record (and counted in the metrics).
const refusalBudget = 600

type refusalLimiter struct {
	mu     sync.Mutex
	minute int64
	n      int
}

func (l *refusalLimiter) take(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m := now.Unix() / 60; m != l.minute {
		l.minute, l.n = m, 0
	}
	if l.n >= refusalBudget {
		return false
	}
	l.n++
	return true
}

// crossRefusal is a refused cross-region read: its audit record's reason
// and the answer's field.
type crossRefusal struct{ field, reason string }

// refuse audits p's refused read of route and answers 403 naming field.
func (s *Server) refuse(r *http.Request, p *Principal, c crossRefusal) error {
	if !s.refusals.take(time.Now()) {
		s.metrics.auditFail.Inc()
		return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Field: c.field, RetryAfter: time.Minute,
			Msg: "refused (" + c.reason + "); too many refusals this minute to audit another: try later"}
	}
	caller := p.caller(r.Pattern)
	caller.Route = clip(r.Pattern+" refused: "+c.reason, ledger.MaxAuditLen)
	if caller.Case == "" {
		caller.Case = "none given"
	}
	if caller.Purpose == "" {
		caller.Purpose = "none given"
	}
	if node.CheckCase(caller.Case, caller.Purpose) != nil {
		caller.Case, caller.Purpose = "not text", "not text"
	}
	rc, err := s.n.AuditRead(r.Context(), caller, []node.Subject{{Route: caller.Route}})
	if err != nil {
		return s.auditFailed(r, err)
	}
	s.metrics.audited.WithLabelValues(r.Pattern).Inc()
	return errf(http.StatusForbidden, "forbidden", c.field, "refused, and the refusal audited on this chain (tx %s): %s", rc.Txs()[0].String()[:16], c.reason)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// grantOf is the grant p presents, checked for a read of kind read on
// this chain at now: held here, p's, not revoked, not expired.
func (s *Server) grantOf(p *Principal, read string, now time.Time) (state.AccessGrantHeld, *crossRefusal, error) {
	g, ok, err := state.GrantOf(s.n.DB, p.Grant)
	if err != nil {
		return g, nil, err
	}
	switch {
	case !ok:
		return g, &crossRefusal{"grant", "no grant " + p.Grant.String()[:16] + " is held on this chain"}, nil
	case g.Grantee != p.Key:
		return g, &crossRefusal{"grant", "grant " + p.Grant.String()[:16] + " is not this key's"}, nil
	case g.Revoked != (ledger.Hash{}):
		return g, &crossRefusal{"grant", "grant " + p.Grant.String()[:16] + " was revoked at " + s.stamp(g.RevokedAt)}, nil
	case g.Expired(now.Unix()):
		return g, &crossRefusal{"grant", "grant " + p.Grant.String()[:16] + " expired at " + time.Unix(g.Expires, 0).UTC().Format(time.RFC3339)}, nil
	case !g.Scope.Opens(read, s.n.Home.Genesis.ChainID):
		return g, &crossRefusal{"grant", fmt.Sprintf("grant %s does not open %s reads on chain %s", p.Grant.String()[:16], read, s.n.Home.Genesis.ChainID)}, nil
	}
	return g, nil, nil
}

// intelInScope says why entry e is outside g's scope, nil when it is in.
func intelInScope(g *state.AccessGrantHeld, e state.IntelEntry) *crossRefusal {
	sc := &g.Scope
	switch {
	case len(sc.Records) > 0 && !slices.Contains(sc.Records, e.OriginTx) && !slices.Contains(sc.Records, e.Tx):
		return &crossRefusal{"tx", "out of the grant's scope: a record it does not name"}
	case len(sc.Dimensions) > 0 && !slices.Contains(sc.Dimensions, e.Dimension):
		return &crossRefusal{"tx", "out of the grant's scope: dimension " + e.Dimension}
	case e.Time < sc.From || e.Time > sc.To:
		return &crossRefusal{"tx", "out of the grant's scope: the record's time"}
	}
	return nil
}

// traceInScope says why a trace read of subjects is outside g's scope.
func traceInScope(g *state.AccessGrantHeld, subjects []node.Subject) *crossRefusal {
	for _, sj := range subjects {
		switch {
		case !slices.Contains(g.Scope.Persons, sj.Person):
			return &crossRefusal{"person", "out of the grant's scope: a person it does not name"}
		case sj.From < g.Scope.From:
			return &crossRefusal{"from", "out of the grant's scope: the window starts before the grant's"}
		case sj.To > g.Scope.To:
			return &crossRefusal{"to", "out of the grant's scope: the window ends after the grant's"}
		}
	}
	return nil
}

// crossIntel serves GET /v1/intel/{tx} to a grantee.
func (s *Server) crossIntel(r *http.Request, p *Principal, id ledger.Hash) (any, error) {
	if err := checkCasePurpose(p); err != nil {
		return nil, err
	}
	g, refusal, err := s.grantOf(p, "intel", p.now())
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, s.refuse(r, p, *refusal)
	}
	e, ok, err := state.IntelEntryOf(s.n.DB, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.refuse(r, p, crossRefusal{"tx", "no intelligence record " + id.String()[:16] + " on this chain"})
	}
	if refusal := intelInScope(&g, e); refusal != nil {
		return nil, s.refuse(r, p, *refusal)
	}
	if _, err := s.n.AuditRead(r.Context(), p.caller(r.Pattern), []node.Subject{{Route: r.Pattern, From: e.Time, To: e.Time}}); err != nil {
		return nil, s.auditFailed(r, err)
	}
	s.metrics.audited.WithLabelValues(r.Pattern).Inc()
	return s.rb.IntelRecord(id, RoleGrantee)
}

// crossTrace checks a grantee's trace read rd before it is audited and
// run: nil when the grant allows it, else the audited refusal.
func (s *Server) crossTrace(r *http.Request, p *Principal, rd reader) error {
	g, refusal, err := s.grantOf(p, "trace", p.now())
	if err != nil {
		return err
	}
	if refusal == nil {
		refusal = traceInScope(&g, rd.Subjects())
	}
	if refusal != nil {
		return s.refuse(r, p, *refusal)
	}
	return nil
}

// ScopeView is an access scope as the API shows it.
type ScopeView struct {
	Chains     []string `json:"chains"`
	Reads      []string `json:"reads"`
	Records    []string `json:"records"`
	Dimensions []string `json:"dimensions"`
	Persons    []string `json:"persons"`
	WindowFrom string   `json:"window_from"`
	WindowTo   string   `json:"window_to"`
}

// crossPerson checks that a grantee's trace read names a person within
// its grant, when the read names someone this chain has not seen: nil
// when it does (the 404 follows), else the audited refusal.
func (s *Server) crossPerson(r *http.Request, p *Principal, person ledger.Pseudonym) error {
	g, refusal, err := s.grantOf(p, "trace", p.now())
	if err != nil {
		return err
	}
	if refusal == nil && !slices.Contains(g.Scope.Persons, person) {
		refusal = &crossRefusal{"person", "out of the grant's scope: a person it does not name"}
	}
	if refusal != nil {
		return s.refuse(r, p, *refusal)
	}
	return nil
}

// GrantView is a grant held on this chain.
type GrantView struct {
	ID      string `json:"id"`
	Origin  string `json:"origin"`
	From    string `json:"from,omitempty"`
	Carrier string `json:"carrier"`
	Request string `json:"request"`
	Grantee string `json:"grantee"`
	ScopeView
	Expires string `json:"expires"`
	Expired bool   `json:"expired"`
	// Revoked is the transaction here that holds the grant's revocation,
	// RevokedAt its block's time.
	Revoked   string `json:"revoked,omitempty"`
	RevokedAt string `json:"revoked_at,omitempty"`
}

// AccessRequestView is an access request made on this chain.
type AccessRequestView struct {
	ID     string `json:"id"`
	Signer string `json:"signer"`
	ScopeView
	Reason string `json:"reason"`
}

// GrantsView answers GET /v1/grants.
type GrantsView struct {
	Grants   []GrantView         `json:"grants"`
	Requests []AccessRequestView `json:"requests"`
}

func (s *Server) stamp(t int64) string {
	return time.Unix(t, 0).In(s.n.Home.Config.Location()).Format(time.RFC3339)
}

func (s *Server) scopeView(sc *ledger.AccessScope) ScopeView {
	v := ScopeView{Chains: sc.Chains, Reads: sc.Reads, Records: []string{}, Dimensions: sc.Dimensions, Persons: []string{},
		WindowFrom: s.stamp(sc.From), WindowTo: s.stamp(sc.To)}
	if v.Dimensions == nil {
		v.Dimensions = []string{}
	}
	for _, h := range sc.Records {
		v.Records = append(v.Records, h.String())
	}
	for _, ps := range sc.Persons {
		v.Persons = append(v.Persons, ledger.Hash(ps).String())
	}
	return v
}

func (s *Server) grantView(g state.AccessGrantHeld, now time.Time) GrantView {
	v := GrantView{ID: g.ID.String(), Origin: g.Origin, From: g.From, Carrier: g.Carrier.String(), Request: g.Request.String(),
		Grantee: hex.EncodeToString(g.Grantee[:]), ScopeView: s.scopeView(&g.Scope), Expires: s.stamp(g.Expires), Expired: g.Expired(now.Unix())}
	if g.Revoked != (ledger.Hash{}) {
		v.Revoked, v.RevokedAt = g.Revoked.String(), s.stamp(g.RevokedAt)
	}
	return v
}

// listGrants lists the grants held here and the access requests made
// here: GET /v1/grants?grantee=KEY.
func (s *Server) listGrants(r *http.Request) (any, error) {
	if err := onlyParams(r, "grantee"); err != nil {
		return nil, err
	}
	var grantee [32]byte
	if v := r.URL.Query().Get("grantee"); v != "" {
		b, err := hex.DecodeString(v)
		if err != nil || len(b) != 32 {
			return nil, errf(http.StatusBadRequest, "invalid", "grantee", "want an Ed25519 public key, 64 hex digits")
		}
		copy(grantee[:], b)
	}
	gs, err := state.Grants(s.n.DB, grantee)
	if err != nil {
		return nil, err
	}
	rs, err := state.AccessRequests(s.n.DB)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := GrantsView{Grants: []GrantView{}, Requests: []AccessRequestView{}}
	for _, g := range gs {
		out.Grants = append(out.Grants, s.grantView(g, now))
	}
	for _, q := range rs {
		if grantee == ([32]byte{}) || q.Signer == grantee {
			out.Requests = append(out.Requests, AccessRequestView{ID: q.ID.String(), Signer: hex.EncodeToString(q.Signer[:]),
				ScopeView: s.scopeView(&q.Scope), Reason: q.Reason})
		}
	}
	return out, nil
}

// now is the time a grant's expiry is checked at: the node's clock, or
// the request's own time when that is later (within MaxSkew): a caller
// can date a request to make its grant look more expired, never less.
func (p *Principal) now() time.Time {
	return time.Unix(max(time.Now().Unix(), p.Time), 0)
}

// isGrantee reports whether p reads under a grant.
func (p *Principal) isGrantee() bool { return p.Role == RoleGrantee }

// grantRoute is the route an audit record of a grantee's read names.
func grantRoute(route string, grant ledger.Hash) string {
	return clip(route+" under grant "+strings.ToLower(grant.String()[:16]), ledger.MaxAuditLen)
}

// builder is the report builder for r's caller: a grantee's reports
// carry pseudonyms only.
func (s *Server) builder(r *http.Request) *report.Builder {
	if principalOf(r).isGrantee() {
		return s.rbCross
	}
	return s.rb
}
