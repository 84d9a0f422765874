package api

import (
	"net/http"

	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
)

// SupplyProof is GET /v1/public/supply/{code}'s answer: the item's
// provenance, each of its steps with its inclusion proof (Proofs[i] is
// Events[i]'s), so that "epiledger supply check" can derive from the
// proven steps alone what the answer says of the item.
type SupplyProof struct {
	*report.Provenance
	Proofs []consortium.TxProof `json:"proofs"`
}

// publicSupply serves GET /v1/public/supply/01/{gtin}/{ai}/{value}
// (the code's Digital Link path: ai 21 a serial, 10 a lot), with no
// login: anyone may check a code.
func (s *Server) publicSupply(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	it, err := ledger.ParseCode("01/" + r.PathValue("gtin") + "/" + r.PathValue("ai") + "/" + r.PathValue("value"))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "code", "%v", err.(*ledger.FieldError).Msg)
	}
	p, err := s.rb.Supply(it)
	if err != nil {
		return nil, err
	}
	proofs, err := s.withConsortiumAll(p.Proofs)
	if err != nil {
		return nil, err
	}
	return &SupplyProof{Provenance: p, Proofs: proofs}, nil
}

// publicNeeds serves GET /v1/public/needs?gtin=G, with no login: a
// product's needs against its allocations, and the flags.
func (s *Server) publicNeeds(r *http.Request) (any, error) {
	if err := onlyParams(r, "gtin"); err != nil {
		return nil, err
	}
	gtin := r.URL.Query().Get("gtin")
	if !ledger.ValidGTIN(gtin) {
		return nil, errf(http.StatusBadRequest, "invalid", "gtin", "a GTIN-14: 14 digits, the last the GS1 check digit")
	}
	return s.rb.Needs(gtin)
}
