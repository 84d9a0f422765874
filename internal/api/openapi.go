package api

import (
	_ "embed"
	"encoding/json"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 document of the API (openapi.json, written by
// hand): every route of routes() but the console's, with its parameters,
// bodies, answers and who may call it. GET /v1/openapi.json serves it; the
// package's tests validate every request and response they send against
// it, so that it cannot drift from the code (openapi_test.go).
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the document: GET /v1/openapi.json (public: it says
// nothing that docs/API.md does not).
func (s *Server) openAPI(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	return json.RawMessage(openAPIDoc), nil
}
