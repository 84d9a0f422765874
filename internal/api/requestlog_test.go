package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestLog: every request is one JSON log line at info, with the
// id the answer's Epiledger-Request-Id header carries, the route as its
// pattern (never the path: a person's reference can be in it), the
// caller's role, the status and the duration; no line holds a raw
// identifier, whatever the request carried.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	var logs syncBuffer
	srv := httptest.NewServer(handler(t, f.n, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	t.Cleanup(srv.Close)
	f.srv = srv
	key := f.grant(t, "investigator")
	type want struct{ route, role string }
	var ids []string
	var wants []want
	r := f.call(t, "GET", "/v1/health", "", "")
	ids, wants = append(ids, r.header.Get("Epiledger-Request-Id")), append(wants, want{"GET /v1/health", "-"})
	r = f.call(t, "GET", "/v1/persons/id:"+idA+"/chain", "", "")
	ids, wants = append(ids, r.header.Get("Epiledger-Request-Id")), append(wants, want{"GET /v1/persons/{ref}/chain", "-"})
	status, _, _ := f.signedCall(t, key, "POST", "/v1/trace/trajectory", []byte(`{"person":"phone:`+phoneA+`","from":"2020-01-20","to":"2020-01-20"}`))
	if status != 200 {
		t.Fatalf("trajectory: %d", status)
	}
	wants = append(wants, want{"POST /v1/trace/trajectory", "investigator"})

	lines := map[string]map[string]any{}
	var byRoute = map[string]map[string]any{}
	for _, ln := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("not a JSON line: %q", ln)
		}
		if m["msg"] != "request" {
			continue
		}
		for _, k := range []string{"id", "method", "route", "role", "status", "ms"} {
			if _, ok := m[k]; !ok {
				t.Errorf("request line without %s: %s", k, ln)
			}
		}
		lines[m["id"].(string)] = m
		byRoute[m["route"].(string)] = m
	}
	for i, id := range ids {
		if id == "" || lines[id] == nil {
			t.Errorf("request %d: id %q has no log line", i, id)
		}
	}
	for _, w := range wants {
		m := byRoute[w.route]
		if m == nil || m["role"] != w.role {
			t.Errorf("%s: line %v, want role %q", w.route, m, w.role)
		}
	}
	if m := byRoute["GET /v1/persons/{ref}/chain"]; m == nil || m["status"] != float64(401) {
		t.Errorf("an unauthenticated read: %v, want status 401", m)
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log holds %q", s)
		}
	}
}
