package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
)

// RegisterChild registers a child region's chain (POST /v1/children; the
// caller needs the administrator role).
func (c *Client) RegisterChild(ctx context.Context, req api.ChildRequest) (*api.TxResult, error) {
	var r api.TxResult
	return c.committed(&r, c.do(ctx, "POST", "/v1/children", req, &r))
}

// RegisterParent registers this chain's parent (POST /v1/parent).
func (c *Client) RegisterParent(ctx context.Context, req api.ChildRequest) (*api.TxResult, error) {
	var r api.TxResult
	return c.committed(&r, c.do(ctx, "POST", "/v1/parent", req, &r))
}

// Parent returns this chain's registered parent (GET /v1/parent); ok is
// false for none.
func (c *Client) Parent(ctx context.Context) (v api.ChildView, ok bool, err error) {
	err = c.do(ctx, "GET", "/v1/parent", nil, &v)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return api.ChildView{}, false, nil
	}
	return v, err == nil, err
}

// Children lists the registered child chains (GET /v1/children).
func (c *Client) Children(ctx context.Context) ([]api.ChildView, error) {
	var v struct {
		Children []api.ChildView `json:"children"`
	}
	err := c.do(ctx, "GET", "/v1/children", nil, &v)
	return v.Children, err
}

// Child returns the registered child chain chainID; ok is false for none.
func (c *Client) Child(ctx context.Context, chainID string) (v api.ChildView, ok bool, err error) {
	cs, err := c.Children(ctx)
	for _, ch := range cs {
		if ch.ChainID == chainID {
			return ch, true, nil
		}
	}
	return api.ChildView{}, false, err
}

// ChildAnchors lists a child's anchored headers from height from (GET
// /v1/children/{chain}/anchors).
func (c *Client) ChildAnchors(ctx context.Context, chainID string, from uint64) ([]api.AnchorView, error) {
	var v struct {
		Anchors []api.AnchorView `json:"anchors"`
	}
	err := c.do(ctx, "GET", fmt.Sprintf("/v1/children/%s/anchors?from=%d", url.PathEscape(chainID), from), nil, &v)
	return v.Anchors, err
}

// Block returns the header of the block at height (GET /v1/blocks/{height}),
// checked against the hash the node gives with it.
func (c *Client) Block(ctx context.Context, height uint64) (*ledger.Header, error) {
	var v blocks.HeaderView
	if err := c.do(ctx, "GET", fmt.Sprintf("/v1/blocks/%d", height), nil, &v); err != nil {
		return nil, err
	}
	h, err := v.Header()
	if err != nil {
		return nil, fmt.Errorf("node at %s: block %d: %w", c.base, height, err)
	}
	return h, nil
}

// LightBlock returns a CometBFT chain's signed header at height with the
// validator set that signed it (GET /v1/light-blocks/{height}).
func (c *Client) LightBlock(ctx context.Context, height int64) (*api.LightBlockView, error) {
	var v api.LightBlockView
	if err := c.do(ctx, "GET", fmt.Sprintf("/v1/light-blocks/%d", height), nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// IntelList is GET /v1/intel's answer.
type IntelList struct {
	Intel        []report.IntelView `json:"intel"`
	Truncated    bool               `json:"truncated"`
	Endorsements int                `json:"endorsements"`
}

// Intel lists intelligence records (GET /v1/intel).
func (c *Client) Intel(ctx context.Context, from, to, dimension string, maxLevel int) (*IntelList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"from": from, "to": to, "dimension": dimension} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if maxLevel != 0 {
		q.Set("max_level", fmt.Sprint(maxLevel))
	}
	var v IntelList
	path := "/v1/intel"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return &v, c.do(ctx, "GET", path, nil, &v)
}

// IntelRecord shows one record (GET /v1/intel/{tx}).
func (c *Client) IntelRecord(ctx context.Context, tx string) (*report.IntelView, error) {
	var v report.IntelView
	return &v, c.do(ctx, "GET", "/v1/intel/"+url.PathEscape(tx), nil, &v)
}

// IntelPolicy sets the endorsement policy (POST /v1/intel/policy).
func (c *Client) IntelPolicy(ctx context.Context, req api.IntelPolicyRequest) (*api.TxResult, error) {
	var r api.TxResult
	return c.committed(&r, c.do(ctx, "POST", "/v1/intel/policy", req, &r))
}

// IntelConfirmations lists the confirmations made on the chain from block
// from on (GET /v1/intel/confirmations).
func (c *Client) IntelConfirmations(ctx context.Context, from uint64) ([]api.ConfirmationView, error) {
	var v struct {
		Confirmations []api.ConfirmationView `json:"confirmations"`
	}
	err := c.do(ctx, "GET", fmt.Sprintf("/v1/intel/confirmations?from_height=%d", from), nil, &v)
	return v.Confirmations, err
}

// Grants lists the national grants the chain holds and the access
// requests made on it (GET /v1/grants); grantee, if not empty, keeps one
// key's.
func (c *Client) Grants(ctx context.Context, grantee string) (*api.GrantsView, error) {
	var v api.GrantsView
	path := "/v1/grants"
	if grantee != "" {
		path += "?grantee=" + url.QueryEscape(grantee)
	}
	return &v, c.do(ctx, "GET", path, nil, &v)
}
