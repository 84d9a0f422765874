package api

import (
	"net/http"

	"github.com/epiledger/epiledger/internal/report"
)

// investigateRoutes serves the investigations of issue 4. Every one is a
// POST with a JSON body (persons never travel in URLs). All but risk
// sites read personal data: checked whole, audited, then run.
func (s *Server) investigateRoutes(mux *http.ServeMux) {
	b := &report.Builder{N: s.n, Now: s.rb.Now}
	mux.HandleFunc("POST /v1/trace/chain", s.personal(investigator, func(r *http.Request) (reader, error) {
		var q report.ChainRequest
		return investigated(r, &q, func() (reader, error) { return planned(b.Chain(q)) })
	}))
	mux.HandleFunc("POST /v1/trace/sources", s.personal(investigator, func(r *http.Request) (reader, error) {
		var q report.SourcesRequest
		return investigated(r, &q, func() (reader, error) { return planned(b.Sources(q)) })
	}))
	mux.HandleFunc("POST /v1/trace/clusters", s.personal(investigator, func(r *http.Request) (reader, error) {
		var q report.ClustersRequest
		return investigated(r, &q, func() (reader, error) { return planned(b.Clusters(q)) })
	}))
	mux.HandleFunc("POST /v1/trace/follow-up", s.personal(investigator, func(r *http.Request) (reader, error) {
		// Omitted, days is 14; given, even 0, it is checked.
		q := report.NewFollowUpRequest()
		return investigated(r, &q, func() (reader, error) { return planned(b.FollowUp(q)) })
	}))
	// No personal data: made to be published. Any role may ask.
	mux.HandleFunc("POST /v1/trace/risk-sites", s.signed(anyRole, SmallBody, func(r *http.Request) (any, error) {
		var q report.RiskRequest
		return investigated(r, &q, func() (any, error) {
			rep, err := b.RiskSites(q)
			if err != nil || q.Format != "geojson" {
				return rep, err
			}
			return rep.GeoJSON(), nil
		})
	}))
}

// investigated decodes the body into q and runs build.
func investigated[T any](r *http.Request, q any, build func() (T, error)) (T, error) {
	if err := decode(r, q); err != nil {
		var zero T
		return zero, err
	}
	return build()
}
