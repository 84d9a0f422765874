package api

import (
	"errors"
	"net/http"

	"github.com/epiledger/epiledger/internal/investigate"
)

// investigateRoutes serves the investigations of issue 4. Every one is a
// POST with a JSON body (persons never travel in URLs) and needs the
// authority's token.
func (s *Server) investigateRoutes(mux *http.ServeMux) {
	b := &investigate.Builder{N: s.n, Now: s.rb.Now}
	mux.HandleFunc("POST /v1/trace/chain", s.wrap(true, func(r *http.Request) (any, error) {
		var q investigate.ChainRequest
		b := s.builder(r)
		return investigated(r, &q, func() (any, error) { return b.Chain(q) })
	}))
	mux.HandleFunc("POST /v1/trace/sources", s.wrap(true, func(r *http.Request) (any, error) {
		var q investigate.SourcesRequest
		b := s.builder(r)
		return investigated(r, &q, func() (any, error) { return b.Sources(q) })
	}))
	mux.HandleFunc("POST /v1/trace/clusters", s.wrap(true, func(r *http.Request) (any, error) {
		var q investigate.ClustersRequest
		b := s.builder(r)
		return investigated(r, &q, func() (any, error) { return b.Clusters(q) })
	}))
	mux.HandleFunc("POST /v1/trace/risk-sites", s.wrap(true, func(r *http.Request) (any, error) {
		var q investigate.RiskRequest
		return investigated(r, &q, func() (any, error) {
			rep, err := b.RiskSites(q)
			if err != nil || q.Format != "geojson" {
				return rep, err
			}
			return rep.GeoJSON(), nil
		})
	}))
	mux.HandleFunc("POST /v1/trace/follow-up", s.wrap(true, func(r *http.Request) (any, error) {
		var q investigate.FollowUpRequest
		b := s.builder(r)
		return investigated(r, &q, func() (any, error) { return b.FollowUp(q) })
	}))
}

// investigated decodes the body into q, runs build, and names the field
// of a reference that is bound to nobody.
func investigated(r *http.Request, q any, build func() (any, error)) (any, error) {
	if err := decode(r, q); err != nil {
		return nil, err
	}
	v, err := build()
	var upe *investigate.UnknownPersonError
	if errors.As(err, &upe) {
		return nil, errf(http.StatusNotFound, "unknown_person", upe.Field, "the reference is not bound to any identity")
	}
	return v, err
}

// builder is the investigations' builder for one request: it commits the
// caller's audit record of each read once the request has been checked.
func (s *Server) builder(r *http.Request) *investigate.Builder {
	return &investigate.Builder{N: s.n, Now: s.rb.Now, Audit: s.auditLater(r)}
}
