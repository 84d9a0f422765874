package client

import (
	"context"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/report"
)

// Roles lists who holds which role on the node's chain (GET /v1/roles;
// the caller needs the auditor or administrator role).
func (c *Client) Roles(ctx context.Context) ([]report.RoleView, error) {
	var v struct {
		Roles []report.RoleView `json:"roles"`
	}
	err := c.do(ctx, "GET", "/v1/roles", nil, &v)
	return v.Roles, err
}

// GrantRole grants (or with role "none" revokes) a role: the node signs
// the grant_role with its chain authority's key (POST /v1/roles; the
// caller needs the administrator role).
func (c *Client) GrantRole(ctx context.Context, req api.RoleRequest) (*api.TxResult, error) {
	var r api.TxResult
	return c.committed(&r, c.do(ctx, "POST", "/v1/roles", req, &r))
}
