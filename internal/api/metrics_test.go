package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/backup"
)

// TestMetrics scrapes GET /metrics after records were submitted (accepted
// and refused) and an investigator read a trajectory: every documented
// family is there with the counts those requests make, no label or value
// carries a raw identifier or a pseudonym, and the scrape needs no token.
func TestMetrics(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	h := f.h
	good := visit(t, h, nil, "office-1", "id:"+idA, "2020-01-20T08:00:00+08:00", "2020-01-20T12:00:00+08:00")
	forged := visit(t, h, siteKey(t, h, "shop-1"), "office-1", "id:"+idB, "2020-01-20T08:00:00+08:00", "2020-01-20T12:00:00+08:00")
	body, _ := json.Marshal(api.SubmitRequest{Txs: []string{b64(good), b64(forged), b64(good), "%%%"}})
	decodeOK(t, f.call(t, "POST", "/v1/txs", f.token, string(body)), &api.SubmitReply{})
	key := f.grant(t, "investigator")
	if status, resp, _ := f.signedCall(t, key, "POST", "/v1/trace/trajectory", []byte(`{"person":"id:`+idA+`","from":"2020-01-20","to":"2020-01-20"}`)); status != 200 {
		t.Fatalf("trajectory: %d %s", status, resp)
	}

	r := f.call(t, "GET", "/metrics", "", "")
	if r.status != 200 {
		t.Fatalf("GET /metrics: %d %s", r.status, r.body)
	}
	text := string(r.body)
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("not Prometheus's text format: %v", err)
	}
	value := func(name string, labels map[string]string) (float64, bool) {
		fam, ok := fams[name]
		if !ok {
			return 0, false
		}
	next:
		for _, m := range fam.Metric {
			for k, v := range labels {
				found := false
				for _, l := range m.Label {
					found = found || l.GetName() == k && l.GetValue() == v
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
		return 0, false
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   func(float64) bool
		what   string
	}{
		{"epiledger_records_total", map[string]string{"result": "accepted"}, eq(1), "1"},
		{"epiledger_records_total", map[string]string{"result": "wrong_signer"}, eq(1), "1"},
		{"epiledger_records_total", map[string]string{"result": "replay"}, eq(1), "1"},
		{"epiledger_records_total", map[string]string{"result": "invalid"}, eq(1), "1"},
		{"epiledger_commit_latency_seconds", nil, eq(1), "1 observation"},
		{"epiledger_audited_reads_total", map[string]string{"route": "POST /v1/trace/trajectory"}, eq(1), "1"},
		{"epiledger_audit_failures_total", nil, eq(0), "0"},
		{"epiledger_http_request_duration_seconds", map[string]string{"route": "POST /v1/trace/trajectory", "status": "200"}, eq(1), "1 observation"},
		{"epiledger_http_request_duration_seconds", map[string]string{"route": "POST /v1/txs", "status": "200"}, eq(1), "1 observation"},
		{"epiledger_block_height", nil, gt(1), "> 1"},
		{"epiledger_block_interval_seconds", nil, gt(0), "> 0 observations"},
		{"epiledger_engine_halted", nil, eq(0), "0"},
		{"epiledger_store_bytes", nil, gt(0), "> 0"},
		{"go_goroutines", nil, gt(0), "> 0"},
	} {
		v, ok := value(tc.name, tc.labels)
		if !ok || !tc.want(v) {
			t.Errorf("%s%v: %v (present %v), want %s", tc.name, tc.labels, v, ok, tc.what)
		}
	}
	if fam := fams["epiledger_timeline_state"]; fam == nil || len(fam.Metric) != 1 || fam.Metric[0].Gauge.GetValue() != 1 ||
		!strings.Contains(" off loading ready failed ", " "+fam.Metric[0].Label[0].GetValue()+" ") {
		t.Errorf("epiledger_timeline_state: %v, want one state at 1", fam)
	}
	for _, s := range append(secrets, good.ID().String()[:16]) {
		if strings.Contains(text, s) {
			t.Errorf("/metrics holds %q", s)
		}
	}
	// Every family of ours is documented.
	doc := readDoc(t, "OPERATIONS.md")
	for name := range fams {
		if strings.HasPrefix(name, "epiledger_") && !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("docs/OPERATIONS.md does not name %s", name)
		}
	}
	// The sample dashboard asks for no metric the node does not serve.
	dash := readDoc(t, "grafana-dashboard.json")
	for _, name := range regexp.MustCompile(`epiledger_[a-z_]+`).FindAllString(dash, -1) {
		name = strings.TrimSuffix(name, "_bucket")
		if fams[name] == nil {
			t.Errorf("docs/grafana-dashboard.json asks for %s, which /metrics does not serve", name)
		}
	}
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }
func gt(than float64) func(float64) bool { return func(v float64) bool { return v > than } }

// readDoc reads docs/name.
func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBackupRoute: POST /v1/backup is the administrator's: without a
// caller 401, an investigator 403, without a case 400; the chain
// authority gets a tar stream whose first entry is the manifest of this
// chain at its head, and the audit trail holds the backup's record.
func TestBackupRoute(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	if r := f.call(t, "POST", "/v1/backup", "", ""); r.status != 401 {
		t.Errorf("no caller: %d %s", r.status, r.body)
	}
	key := f.grant(t, "investigator")
	if status, body, _ := f.signedCall(t, key, "POST", "/v1/backup", nil); status != 403 {
		t.Errorf("an investigator: %d %s", status, body)
	}
	if r := f.call(t, "POST", "/v1/backup?x=1", f.token, ""); r.status != 400 {
		t.Errorf("an unknown parameter: %d %s", r.status, r.body)
	}
	// It names its case and purpose (its audit record does).
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/backup", nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	if r := f.do(t, req); r.status != 400 || !strings.Contains(string(r.body), `"field":"Epiledger-Case"`) {
		t.Errorf("no case: %d %s", r.status, r.body)
	}
	r := f.call(t, "POST", "/v1/backup", f.token, "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("the authority: %d %s", r.status, r.header.Get("Content-Type"))
	}
	man, err := backup.Extract(bytes.NewReader(r.body), filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	// Its audit record was committed before the copy was taken: the
	// audit trail shows it.
	if a := f.call(t, "GET", "/v1/audit", f.token, ""); a.status != 200 || !strings.Contains(string(a.body), `"POST /v1/backup"`) {
		t.Errorf("the audit trail has no backup: %d %s", a.status, a.body)
	}
	if head := f.n.Engine.Head(); man.Height != head.Height || man.Head != head.Hash.String() || man.GenesisHash != f.h.Genesis.Hash().String() {
		t.Errorf("manifest %+v, head %d %s", man, head.Height, head.Hash)
	}
}
