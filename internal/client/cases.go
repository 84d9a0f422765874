package client

import (
	"context"
	"net/url"

	"github.com/epiledger/epiledger/internal/report"
)

// Cases lists the reported cases, each by its latest report, with real
// ids (GET /v1/cases; an investigator's audited read of every case).
func (c *Client) Cases(ctx context.Context, status string) ([]report.CaseInfo, error) {
	var v struct {
		Cases []report.CaseInfo `json:"cases"`
	}
	path := "/v1/cases"
	if status != "" {
		path += "?status=" + url.QueryEscape(status)
	}
	err := c.do(ctx, "GET", path, nil, &v)
	return v.Cases, err
}
