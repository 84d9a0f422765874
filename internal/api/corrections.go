package api

import (
	"net/http"

	"github.com/epiledger/epiledger/internal/blocks"
)

// corrections lists the corrections proposed for a record, applied or
// pending, oldest first. A correction names records and parties, never
// persons: it is no personal read. A hash that names no transaction on
// the ledger is a 404, as for GET /v1/tx/{hash} (the same lookup), not an
// empty list.
func (s *Server) corrections(r *http.Request) (any, error) {
	h, err := hashParam(r)
	if err != nil {
		return nil, err
	}
	if _, _, err := blocks.Locate(s.n.DB, h); err != nil {
		return nil, err
	}
	out, err := s.rb.Corrections(h)
	if err != nil {
		return nil, err
	}
	return map[string]any{"corrections": out}, nil
}
