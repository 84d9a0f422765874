package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/state"
)

// Outbreak intelligence (issue 15, docs/REGIONS.md step 6). Records
// arrive as ordinary transactions (POST /v1/tx), signed by their N3 and
// co-signed by the N2s who endorsed them (epiledger intel draft, intel
// endorse); these routes read them, details only for a role the record's
// secrecy clears (report.IntelCleared), and set the endorsement policy.

// intelList lists records: GET /v1/intel?from=&to=&dimension=&max_level=.
func (s *Server) intelList(r *http.Request) (any, error) {
	if err := onlyParams(r, "from", "to", "dimension", "max_level"); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	maxLevel := 0
	if v := q.Get("max_level"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4 {
			return nil, errf(http.StatusBadRequest, "invalid", "max_level", "a response level from 1 (I) to 4 (IV)")
		}
		maxLevel = n
	}
	vs, truncated, err := s.rb.Intel(q.Get("from"), q.Get("to"), principalOf(r).Role, q.Get("dimension"), maxLevel)
	if err != nil {
		return nil, err
	}
	need, err := state.IntelPolicy(s.n.DB)
	if err != nil {
		return nil, err
	}
	return map[string]any{"intel": vs, "truncated": truncated, "endorsements": need}, nil
}

// intelRecord shows one record: GET /v1/intel/{tx}; 403 naming secrecy
// when the caller's role is not cleared for its details.
func (s *Server) intelRecord(r *http.Request) (any, error) {
	p := principalOf(r)
	params := []string{}
	if p.isGrantee() {
		params = append(params, "grant")
	}
	if err := onlyParams(r, params...); err != nil {
		return nil, err
	}
	id, err := ledger.ParseHash(r.PathValue("tx"))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "tx", "want a transaction id, 64 hex digits")
	}
	if p.isGrantee() {
		return s.crossIntel(r, p, id)
	}
	v, err := s.rb.IntelRecord(id, principalOf(r).Role)
	if errors.Is(err, report.ErrIntelNotCleared) {
		return nil, errf(http.StatusForbidden, "forbidden", "secrecy", "this record is %s: its details are not for the role %q", v.Secrecy, principalOf(r).Role)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// IntelPolicyRequest sets the endorsement policy: POST /v1/intel/policy
// (administrator; the node signs an intel_policy as the chain authority).
type IntelPolicyRequest struct {
	Endorsements int `json:"endorsements"`
}

func (s *Server) intelPolicy(r *http.Request) (any, error) {
	var req IntelPolicyRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Endorsements < 1 || req.Endorsements > ledger.MaxEndorsements {
		return nil, errf(http.StatusBadRequest, "invalid", "endorsements", "from 1 to %d N2 signatures", ledger.MaxEndorsements)
	}
	rc, err := s.commitAsAuthority(r, &ledger.IntelPolicy{Endorsements: uint8(req.Endorsements)})
	if err != nil {
		return nil, err
	}
	return s.result(rc), nil
}

// ConfirmationView is one confirmation made on this chain.
type ConfirmationView struct {
	Tx        string `json:"tx"`
	Height    uint64 `json:"height"`
	Broadcast bool   `json:"broadcast"`
	// Statistics marks a publication of the open statistics.
	Statistics bool `json:"statistics,omitempty"`
}

// MaxConfirmationsListed bounds one listing of confirmations.
const MaxConfirmationsListed = 10000

// intelConfirmations lists the confirmations made here from a height on:
// GET /v1/intel/confirmations?from_height=, for relays.
func (s *Server) intelConfirmations(r *http.Request) (any, error) {
	if err := onlyParams(r, "from_height"); err != nil {
		return nil, err
	}
	from := uint64(1)
	if v := r.URL.Query().Get("from_height"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < 1 {
			return nil, errf(http.StatusBadRequest, "invalid", "from_height", "want a height, a whole number from 1")
		}
		from = n
	}
	cs, err := state.IntelConfirmations(s.n.DB, from, MaxConfirmationsListed+1)
	if err != nil {
		return nil, err
	}
	truncated := len(cs) > MaxConfirmationsListed
	if truncated {
		cs = cs[:MaxConfirmationsListed]
	}
	out := []ConfirmationView{}
	for _, c := range cs {
		out = append(out, ConfirmationView{Tx: c.Tx.String(), Height: c.Height, Broadcast: c.Broadcast, Statistics: c.Stats})
	}
	return map[string]any{"confirmations": out, "truncated": truncated}, nil
}
