package client

import (
	"context"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/report"
)

// Proof fetches a transaction's inclusion proof (GET /v1/tx/{hash}/proof).
func (c *Client) Proof(ctx context.Context, tx string) (*blocks.ProofView, error) {
	var v blocks.ProofView
	return &v, c.do(ctx, "GET", "/v1/tx/"+tx+"/proof", nil, &v)
}

// Corrections lists the corrections of a record with their approvals (GET
// /v1/tx/{hash}/corrections).
func (c *Client) Corrections(ctx context.Context, tx string) ([]report.CorrectionView, error) {
	var v struct {
		Corrections []report.CorrectionView `json:"corrections"`
	}
	err := c.do(ctx, "GET", "/v1/tx/"+tx+"/corrections", nil, &v)
	return v.Corrections, err
}
