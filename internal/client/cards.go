package client

import (
	"context"
	"net/url"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/ledger"
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

// Rules lists the warning rules (GET /v1/rules).
func (c *Client) Rules(ctx context.Context) ([]report.RuleView, error) {
	var v struct {
		Rules []report.RuleView `json:"rules"`
	}
	return v.Rules, c.do(ctx, "GET", "/v1/rules", nil, &v)
}

// Alerts lists the alerts (GET /v1/alerts).
func (c *Client) Alerts(ctx context.Context) (*report.Alerts, error) {
	var v report.Alerts
	return &v, c.do(ctx, "GET", "/v1/alerts", nil, &v)
}

// StatsProof reads one day's proven figures (GET /v1/public/stats/proof,
// no login).
func (c *Client) StatsProof(ctx context.Context, region, disease, date string) (*api.StatsProof, error) {
	q := url.Values{"disease": {disease}, "date": {date}}
	if region != "" {
		q.Set("region", region)
	}
	var v api.StatsProof
	return &v, c.do(ctx, "GET", "/v1/public/stats/proof?"+q.Encode(), nil, &v)
}

// Supply reads item code's provenance with its proofs (GET
// /v1/public/supply/01/{gtin}/{ai}/{value}; no login).
func (c *Client) Supply(ctx context.Context, it ledger.SupplyItem) (*api.SupplyProof, error) {
	ai, v := "10", it.Lot
	if it.Instance() {
		ai, v = "21", it.Serial
	}
	path := "/v1/public/supply/01/" + url.PathEscape(it.GTIN) + "/" + ai + "/" + url.PathEscape(v)
	if it.IsSSCC() {
		path = "/v1/public/supply/00/" + url.PathEscape(it.Serial)
	}
	var out api.SupplyProof
	return &out, c.do(ctx, "GET", path, nil, &out)
}

// Needs reads a product's needs against its allocations (GET
// /v1/public/needs; no login).
func (c *Client) Needs(ctx context.Context, gtin string) (*report.Needs, error) {
	var out report.Needs
	return &out, c.do(ctx, "GET", "/v1/public/needs?"+url.Values{"gtin": {gtin}}.Encode(), nil, &out)
}

// Donation reads a donation's path with its proofs (GET
// /v1/public/donations/{id}; no login).
func (c *Client) Donation(ctx context.Context, id ledger.Hash) (*api.DonationProof, error) {
	var out api.DonationProof
	return &out, c.do(ctx, "GET", "/v1/public/donations/"+id.String(), nil, &out)
}

// DonationTotals reads public totals (GET /v1/public/donations; no
// login): param is charity or hospital (v a key in hex) or gtin.
func (c *Client) DonationTotals(ctx context.Context, param, v string) (*report.Totals, error) {
	var out report.Totals
	return &out, c.do(ctx, "GET", "/v1/public/donations?"+url.Values{param: {v}}.Encode(), nil, &out)
}
