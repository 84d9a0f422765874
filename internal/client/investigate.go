package client

import (
	"context"

	"github.com/epiledger/epiledger/internal/report"
)

// Chain runs a chain-of-transmission query.
func (c *Client) Chain(ctx context.Context, q report.ChainRequest) (*report.ChainReport, error) {
	var r report.ChainReport
	return &r, c.do(ctx, "POST", "/v1/trace/chain", q, &r)
}

// Sources runs a source search.
func (c *Client) Sources(ctx context.Context, q report.SourcesRequest) (*report.SourcesReport, error) {
	var r report.SourcesReport
	return &r, c.do(ctx, "POST", "/v1/trace/sources", q, &r)
}

// Clusters lists clusters of cases.
func (c *Client) Clusters(ctx context.Context, q report.ClustersRequest) (*report.ClustersReport, error) {
	var r report.ClustersReport
	return &r, c.do(ctx, "POST", "/v1/trace/clusters", q, &r)
}

// RiskSites lists the sites cases visited (q.Format must be "" or
// "json"; GeoJSON is RiskReport.GeoJSON of the reply).
func (c *Client) RiskSites(ctx context.Context, q report.RiskRequest) (*report.RiskReport, error) {
	var r report.RiskReport
	q.Format = ""
	return &r, c.do(ctx, "POST", "/v1/trace/risk-sites", q, &r)
}

// FollowUp fetches the follow-up list of a case.
func (c *Client) FollowUp(ctx context.Context, q report.FollowUpRequest) (*report.FollowUpReport, error) {
	var r report.FollowUpReport
	return &r, c.do(ctx, "POST", "/v1/trace/follow-up", q, &r)
}
