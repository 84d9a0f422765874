package client

import (
	"context"

	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/report"
)

// Proof fetches a transaction's inclusion proof (GET /v1/tx/{hash}/proof),
// with its consortium section when the node runs the CometBFT engine. A
// consortium node answers 425 too_early (an *APIError) while the block
// after the transaction's is not committed.
func (c *Client) Proof(ctx context.Context, tx string) (*consortium.TxProof, error) {
	var v consortium.TxProof
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

// Validators reads the consortium's validator set and its proposed
// changes (GET /v1/consortium/validators).
func (c *Client) Validators(ctx context.Context) (*report.ValidatorsView, error) {
	var v report.ValidatorsView
	return &v, c.do(ctx, "GET", "/v1/consortium/validators", nil, &v)
}
