package client

import (
	"context"
	"net/url"

	"github.com/epiledger/epiledger/internal/report"
)

// Card reads a report card with its versions (GET /v1/cards/{id}; an
// investigator's, or its hospital's, audited read).
func (c *Client) Card(ctx context.Context, id string) (*report.CardView, error) {
	var v report.CardView
	return &v, c.do(ctx, "GET", "/v1/cards/"+url.PathEscape(id), nil, &v)
}

// Stats reads the open statistics (GET /v1/public/stats, no login).
func (c *Client) Stats(ctx context.Context, region, disease, from, to string) (*report.Stats, error) {
	q := url.Values{"disease": {disease}, "from": {from}, "to": {to}}
	if region != "" {
		q.Set("region", region)
	}
	var v report.Stats
	return &v, c.do(ctx, "GET", "/v1/public/stats?"+q.Encode(), nil, &v)
}
