package api

import (
	"net/http"

	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/store"
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
// (the code's Digital Link path: ai 21 a serial, 10 a lot) and
// /v1/public/supply/00/{sscc} (a logistic unit), with no login: anyone
// may check a code.
func (s *Server) publicSupply(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	code := "01/" + r.PathValue("gtin") + "/" + r.PathValue("ai") + "/" + r.PathValue("value")
	if sscc := r.PathValue("sscc"); sscc != "" {
		code = "00/" + sscc
	}
	it, err := ledger.ParseCode(code)
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

// DonationProof is GET /v1/public/donations/{id}'s answer: a donation's
// path, with each transaction's inclusion proof (Proofs[i] is Txs[i]'s),
// so that "epiledger donate follow" can derive from the proven
// transactions alone the figures the answer gives.
type DonationProof struct {
	*report.Donation
	Proofs []consortium.TxProof `json:"proofs"`
}

// publicDonation serves GET /v1/public/donations/{id}, with no login:
// a donor (and anyone) follows a donation by its receipt id.
func (s *Server) publicDonation(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	id, err := ledger.ParseHash(r.PathValue("id"))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "id", "a donation's receipt id: 64 hex digits")
	}
	d, err := s.rb.Donation(id)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, errf(http.StatusNotFound, "not_found", "id", "no donation with this receipt id on this chain")
	}
	out := &DonationProof{Donation: d, Proofs: []consortium.TxProof{}}
	for _, bp := range d.Proofs {
		tp, err := s.withConsortium(bp)
		if err != nil {
			return nil, err
		}
		out.Proofs = append(out.Proofs, *tp)
	}
	return out, nil
}

// publicDonations serves GET /v1/public/donations?charity=|hospital=|gtin=,
// with no login: the public totals of a charity, a hospital or a product
// (one of them), and the donations they count.
func (s *Server) publicDonations(r *http.Request) (any, error) {
	if err := onlyParams(r, "charity", "hospital", "gtin"); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	var given []string
	for _, p := range []string{"charity", "hospital", "gtin"} {
		if q.Has(p) {
			given = append(given, p)
		}
	}
	if len(given) != 1 {
		return nil, errf(http.StatusBadRequest, "invalid", "charity", "one of charity (a key), hospital (a key) or gtin")
	}
	field := given[0]
	v := q.Get(field)
	if field == "gtin" {
		if !ledger.ValidGTIN(v) {
			return nil, errf(http.StatusBadRequest, "invalid", "gtin", "a GTIN-14: 14 digits, the last the GS1 check digit")
		}
		return s.rb.Totals(store.ScopeProduct, []byte(v))
	}
	k, err := ledger.ParseHash(v)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", field, "a key: 64 hex digits")
	}
	scope := byte(store.ScopeCharity)
	if field == "hospital" {
		scope = store.ScopeHospital
	}
	return s.rb.Totals(scope, k[:])
}
