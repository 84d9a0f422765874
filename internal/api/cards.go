package api

import (
	"net/http"

	"github.com/epiledger/epiledger/internal/ledger"
)

// Report cards and the open statistics (issue 16, docs/WARNING.md).

// card plans GET /v1/cards/{id}: a report card as it now stands, with
// its versions, for the CDC (an investigator) or the hospital that
// reported it; audited as a read of the card's patient.
func (s *Server) card(r *http.Request) (reader, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	id, err := ledger.ParseHash(r.PathValue("id"))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "id", "want a report card's id, 64 hex digits")
	}
	var hospital *[32]byte
	if p := principalOf(r); p.Role == ledger.RoleHospital {
		hospital = &p.Key
	}
	return planned(s.rb.Card(id, hospital))
}

// writes reports whether p records for a site, hospital or doctor: a key
// bound to a quota of pseudonyms, told nothing of others' records.
func (p *Principal) writes() bool {
	return p.Role == ledger.RoleSite || p.Role == ledger.RoleHospital || p.Role == ledger.RoleDoctor
}

// rawReply is an answer that is not JSON: its content type and bytes.
type rawReply struct {
	contentType string
	body        []byte
}

// publicStats serves GET /v1/public/stats, with no login: a disease's
// cases reported per day in a region (this chain's by default), by
// classification, as JSON or (format=csv) CSV. Counts only.
func (s *Server) publicStats(r *http.Request) (any, error) {
	if err := onlyParams(r, "region", "disease", "from", "to", "format"); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	reg := q.Get("region")
	if reg == "" {
		reg = s.n.Home.Genesis.Region
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return nil, errf(http.StatusBadRequest, "invalid", "format", "json (the default) or csv")
	}
	st, err := s.rb.Stats(reg, q.Get("disease"), q.Get("from"), q.Get("to"))
	if err != nil {
		return nil, err
	}
	if format == "csv" {
		return &rawReply{contentType: "text/csv; charset=utf-8", body: st.CSV()}, nil
	}
	return st, nil
}

// rules serves GET /v1/rules: the warning rules, retired ones too.
func (s *Server) rules(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	rs, err := s.rb.Rules()
	if err != nil {
		return nil, err
	}
	return map[string]any{"rules": rs}, nil
}

// alerts serves GET /v1/alerts: the alerts raised here, the latest
// first, and how fast each region's were answered. Nothing personal.
func (s *Server) alerts(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	return s.rb.Alerts()
}
