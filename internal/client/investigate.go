package client

import (
	"context"

	"github.com/epiledger/epiledger/internal/investigate"
)

// Chain runs a chain-of-transmission query.
func (c *Client) Chain(ctx context.Context, q investigate.ChainRequest) (*investigate.ChainReport, error) {
	var r investigate.ChainReport
	return &r, c.do(ctx, "POST", "/v1/trace/chain", q, &r)
}

// Sources runs a source search.
func (c *Client) Sources(ctx context.Context, q investigate.SourcesRequest) (*investigate.SourcesReport, error) {
	var r investigate.SourcesReport
	return &r, c.do(ctx, "POST", "/v1/trace/sources", q, &r)
}

// Clusters lists clusters of cases.
func (c *Client) Clusters(ctx context.Context, q investigate.ClustersRequest) (*investigate.ClustersReport, error) {
	var r investigate.ClustersReport
	return &r, c.do(ctx, "POST", "/v1/trace/clusters", q, &r)
}

// RiskSites lists the sites cases visited (q.Format must be "" or
// "json"; GeoJSON is RiskReport.GeoJSON of the reply).
func (c *Client) RiskSites(ctx context.Context, q investigate.RiskRequest) (*investigate.RiskReport, error) {
	var r investigate.RiskReport
	q.Format = ""
	return &r, c.do(ctx, "POST", "/v1/trace/risk-sites", q, &r)
}

// FollowUp fetches the follow-up list of a case.
func (c *Client) FollowUp(ctx context.Context, q investigate.FollowUpRequest) (*investigate.FollowUpReport, error) {
	var r investigate.FollowUpReport
	return &r, c.do(ctx, "POST", "/v1/trace/follow-up", q, &r)
}
