package client

import (
	"context"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/ledger"
)

// Attestations reads a content's attestations, by its SHA-256, with their
// proofs (GET /v1/public/attestations/{hash}; no login).
func (c *Client) Attestations(ctx context.Context, content ledger.Hash) (*api.AttestationProof, error) {
	var out api.AttestationProof
	return &out, c.do(ctx, "GET", "/v1/public/attestations/"+content.String(), nil, &out)
}
