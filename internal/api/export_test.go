package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/node"
)

// NewWithQuota is New with a quota of POST /v1/pseudonyms of limit ids
// per window, for tests.
func NewWithQuota(n *node.Node, log *slog.Logger, limit int, window time.Duration) (http.Handler, error) {
	s, err := newServer(n, log)
	if err != nil {
		return nil, err
	}
	s.ids = newIDQuota(limit, window)
	return s.mux, nil
}

// NewWithVerify is New whose GET /v1/verify runs verify, for tests.
func NewWithVerify(n *node.Node, log *slog.Logger, verify func(context.Context) (*blocks.VerifyReport, error)) (http.Handler, error) {
	s, err := newServer(n, log)
	if err != nil {
		return nil, err
	}
	s.verifyChain = verify
	return s.mux, nil
}
