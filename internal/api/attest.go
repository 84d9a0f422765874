package api

import (
	"net/http"

	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/report"
)

// AttestationProof is GET /v1/public/attestations/{hash}'s answer: a
// content's attestations, each with its inclusion proof (Proofs[i] is
// Attestations[i]'s), so that "epiledger attest check" can tell from the
// answer alone who attested the content first.
type AttestationProof struct {
	*report.ContentAttestations
	Proofs []consortium.TxProof `json:"proofs"`
}

// publicAttestations serves GET /v1/public/attestations/{hash} (a
// content's SHA-256), with no login: anyone may trace a rumour to its
// first publisher. A content no one attested is answered (no
// attestations), as an item no one made is.
func (s *Server) publicAttestations(r *http.Request) (any, error) {
	content, err := hashParam(r)
	if err != nil {
		return nil, err
	}
	a, err := s.rb.Attestations(content)
	if err != nil {
		return nil, err
	}
	proofs, err := s.withConsortiumAll(a.Proofs)
	if err != nil {
		return nil, err
	}
	return &AttestationProof{ContentAttestations: a, Proofs: proofs}, nil
}
