package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/testnode"
)

// lentEvening: the seed's lent access card, as in the CLI scenario.
const lentEvening = `{"type":"site","site":"office-tower","kind":"office","lat":30.58,"lon":114.27,"region":"420100"}
{"type":"site","site":"metro-2","kind":"metro","lat":30.60,"lon":114.35,"region":"420100"}
{"type":"site","site":"mall","kind":"mall","lat":30.62,"lon":114.42,"region":"420100"}
{"type":"identity","id":"P1","aliases":["access:card-1"]}
{"type":"visit","site":"office-tower","person":"access:card-1","in":"2020-01-20T18:00:00+08:00","out":"2020-01-20T18:00:00+08:00","via":"access_card"}
{"type":"visit","site":"metro-2","person":"id:P1","in":"2020-01-20T20:50:00+08:00","out":"2020-01-20T21:20:00+08:00","via":"payment"}
{"type":"visit","site":"office-tower","person":"access:card-1","in":"2020-01-20T21:00:00+08:00","out":"2020-01-20T21:00:00+08:00","via":"access_card"}
{"type":"visit","site":"mall","person":"id:P1","in":"2020-01-20T21:30:00+08:00","out":"2020-01-20T21:35:00+08:00","via":"face"}
`

// TestValidationEndpoints: close through the API, then decisions, the
// person chain (checked offline, and by pseudonym too) and the probability
// table; bad input names its field; no token, no data.
func TestValidationEndpoints(t *testing.T) {
	t.Parallel()
	h, n := testnode.New(t)
	testnode.Import(t, h, n, lentEvening)
	srv := httptest.NewServer(handler(t, n, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	call := func(method, path, body string, auth bool) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "Bearer "+h.APIToken())
			req.Header.Set(api.HeaderCase, "case-1")
			req.Header.Set(api.HeaderPurpose, "testing")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, body := call("POST", "/v1/validate/close", `{"until":"yesterday"}`, true); code != 400 || !strings.Contains(string(body), `"field":"until"`) {
		t.Fatalf("bad until: %d %s", code, body)
	}
	if code, _ := call("POST", "/v1/validate/close", `{"until":"2020-01-21T07:00:00+08:00"}`, false); code != 401 {
		t.Fatalf("close without a token: %d", code)
	}
	if code, body := call("POST", "/v1/validate/close", `{"until":"2020-01-21T07:00:00+08:00"}`, true); code != 200 {
		t.Fatalf("close: %d %s", code, body)
	}
	code, body := call("POST", "/v1/validate/decisions", `{"person":"id:P1","from":"2020-01-20","to":"2020-01-20"}`, true)
	var ds report.Decisions
	if code != 200 || json.Unmarshal(body, &ds) != nil || len(ds.Decisions) != 1 || len(ds.Decisions[0].Rejected) != 1 {
		t.Fatalf("decisions: %d %s", code, body)
	}
	for _, ref := range []string{"id:P1", ds.Pseudonym} {
		code, body = call("GET", "/v1/persons/"+ref+"/chain?from=2020-01-20&to=2020-01-20", "", true)
		var v blocks.PersonChainView
		if code != 200 || json.Unmarshal(body, &v) != nil {
			t.Fatalf("chain by %s: %d %s", ref, code, body)
		}
		if nblocks, entries, err := v.Check(); err != nil || nblocks != 1 || entries != 3 || len(v.Bindings) != 1 {
			t.Fatalf("chain by %s: %d blocks %d entries %d bindings: %v", ref, nblocks, entries, len(v.Bindings), err)
		}
	}
	if code, body = call("GET", "/v1/persons/not-a-ref/chain", "", true); code != 400 || !strings.Contains(string(body), `"field":"person"`) {
		t.Fatalf("bad ref: %d %s", code, body)
	}
	if code, body = call("GET", "/v1/persons/id:P1/chain", "", false); code != 401 || strings.Contains(string(body), "P1") {
		t.Fatalf("chain without a token: %d %s", code, body)
	}
	code, body = call("GET", "/v1/validate/probability?q=0.1&z=1..2", "", true)
	if code != 200 || !strings.Contains(string(body), `"p":0.2045872739`) {
		t.Fatalf("probability: %d %s", code, body)
	}
	if code, body = call("GET", "/v1/validate/probability?q=2", "", true); code != 400 || !strings.Contains(string(body), `"field":"q"`) {
		t.Fatalf("bad q: %d %s", code, body)
	}
}
