package api

import "net/http"

// validators answers GET /v1/consortium/validators: the validator set the
// ledger records and every proposed change with its approvals.
func (s *Server) validators(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	return s.rb.Validators()
}
