package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/report"
)

// The outbreak scenario (internal/investigate/testdata/README.md): index
// case A, colleague B, B's lunch D, D's tag meeting E's, taxi driver F,
// earlier cases G and H, K at the mall with A and G.
const (
	outA = "id:420100199001010001"
	outB = "id:420100199001010002"
	outD = "id:420100199001010004"
	outE = "id:420100199001010005"
	outF = "id:420100199001010006"
	outG = "id:420100199001010007"
	outH = "id:420100199001010008"
	outK = "id:420100199001010009"
)

func serveOutbreak(t *testing.T) *fixture {
	t.Helper()
	dir := filepath.Join("..", "investigate", "testdata")
	text, err := os.ReadFile(filepath.Join(dir, "outbreak.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	f := serve(t, string(text))
	tags, err := os.Open(filepath.Join(dir, "outbreak-tags.dat"))
	if err != nil {
		t.Fatal(err)
	}
	defer tags.Close()
	start, _ := time.Parse(time.RFC3339, "2020-01-20T15:00:00+08:00")
	res, err := importer.New(f.h, importer.EngineSink{Node: f.n}).ImportSocioPatterns(tags, importer.SocioPatterns{Start: start, Device: "tags-ward"})
	if err != nil || res.Rejected != 0 || res.Accepted != 2 {
		t.Fatalf("tags: %v %+v", err, res)
	}
	return f
}

// TestInvestigationsScenario walks the five investigations of the
// outbreak scenario through the HTTP API.
func TestInvestigationsScenario(t *testing.T) {
	t.Parallel()
	f := serveOutbreak(t)
	post := func(path, body string, v any) {
		t.Helper()
		decodeOK(t, f.call(t, "POST", path, f.token, body), v)
	}

	// Chain from A (by alias) over 01-15..01-22, three layers: B, F, G
	// and K first, D through B's lunch after B's exposure, E through D's
	// tag; C (met B before B's exposure) and H (met G before G's) are not
	// reached.
	var ch report.ChainReport
	post("/v1/trace/chain", `{"person":"phone:13800000001","from":"2020-01-15","to":"2020-01-22","depth":3}`, &ch)
	got := map[string]string{}
	for _, n := range ch.Nodes {
		got[n.Person] = string(rune('0'+n.Layer)) + " " + n.Exposure + " " + n.Case
	}
	want := map[string]string{
		outA: "0 2020-01-15T00:00:00+08:00 confirmed",
		outG: "1 2020-01-17T14:00:00+08:00 confirmed",
		outK: "1 2020-01-17T14:10:00+08:00 ",
		outB: "1 2020-01-20T09:00:00+08:00 ",
		outF: "1 2020-01-21T10:00:00+08:00 ",
		outD: "2 2020-01-20T13:00:00+08:00 ",
		outE: "3 2020-01-20T15:00:00+08:00 ",
	}
	if len(got) != len(want) {
		t.Fatalf("chain nodes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("chain node %s = %q, want %q", k, got[k], v)
		}
	}
	if ch.Person != outA || ch.Nodes[0].Person != outA || ch.Layers[0] != 1 || ch.Layers[1] != 4 || ch.Layers[2] != 1 || ch.Layers[3] != 1 {
		t.Errorf("chain head %s %v", ch.Person, ch.Layers)
	}
	var enc *report.ChainEdge
	for i, e := range ch.Edges {
		if e.SiteKind == "encounter" {
			enc = &ch.Edges[i]
		}
	}
	if enc == nil || enc.Site != "tags-ward" || enc.Start != "2020-01-20T15:00:00+08:00" || enc.End != "2020-01-20T15:10:00+08:00" {
		t.Errorf("encounter edge %+v", enc)
	}
	// Infectious for one day only: B (exposed 01-20 09:00) still reaches
	// D at lunch; with a 2-day latent period nobody passes anything on.
	post("/v1/trace/chain", `{"person":"`+outA+`","from":"2020-01-15","to":"2020-01-22","depth":3,"latent":"2d"}`, &ch)
	if ch.Layers[1] != 4 || ch.Layers[2] != 0 || ch.Latent != "48h0m0s" {
		t.Errorf("chain with a 2-day latent period: %v", ch.Layers)
	}

	// Sources of A (onset 01-24: exposures 01-10 .. 01-22): G, a case,
	// first; the mall, where G was, first among sites; the home is
	// listed (the investigator sees everything).
	var src report.SourcesReport
	post("/v1/trace/sources", `{"persons":["`+outA+`"]}`, &src)
	c := src.Cases[0]
	if c.From != "2020-01-10T00:00:00+08:00" || c.To != "2020-01-22T23:59:59+08:00" || c.Onset != "2020-01-24" {
		t.Errorf("sources window %s..%s onset %s", c.From, c.To, c.Onset)
	}
	var persons, sites []string
	for _, p := range c.Persons {
		persons = append(persons, p.Person+"/"+p.Case)
	}
	for _, s := range c.Sites {
		sites = append(sites, s.Site+"/"+string(rune('0'+len(s.Cases))))
	}
	if strings.Join(persons, " ") != outG+"/confirmed "+outK+"/ "+outB+"/ "+outF+"/" {
		t.Errorf("sources persons %v", persons)
	}
	if strings.Join(sites, " ") != "mall-1/1 office-1/0 taxi-1/0 home-a/0" || c.Sites[0].Cases[0].Person != outG {
		t.Errorf("sources sites %v", sites)
	}
	// A and G together: the mall is their common site, K their common
	// contact.
	post("/v1/trace/sources", `{"persons":["`+outA+`","`+outG+`"],"incubation_max_days":10}`, &src)
	if len(src.CommonSites) != 1 || src.CommonSites[0].Site != "mall-1" || src.CommonSites[0].Cases != 2 ||
		len(src.CommonPersons) != 1 || src.CommonPersons[0].Person != outK || src.IncubationMaxDays != 10 {
		t.Errorf("common exposures %+v %+v", src.CommonSites, src.CommonPersons)
	}

	// Clusters: G and H at the cinema, A and G at the mall, merged by G;
	// K exposed at the mall. Confirmed cases only: just the mall.
	var cl report.ClustersReport
	post("/v1/trace/clusters", `{"from":"2020-01-15","to":"2020-01-25"}`, &cl)
	if len(cl.Clusters) != 1 || len(cl.Clusters[0].Cases) != 3 || len(cl.Clusters[0].Sites) != 2 ||
		cl.Clusters[0].Sites[0].Site != "mall-1/cinema" || cl.Clusters[0].Sites[1].Site != "mall-1" ||
		len(cl.Clusters[0].Exposed) != 1 || cl.Clusters[0].Exposed[0].Person != outK {
		t.Errorf("clusters %+v", cl.Clusters)
	}
	post("/v1/trace/clusters", `{"from":"2020-01-15","to":"2020-01-25","status":"confirmed"}`, &cl)
	if len(cl.Clusters) != 1 || len(cl.Clusters[0].Cases) != 2 || len(cl.Clusters[0].Sites) != 1 {
		t.Errorf("clusters of confirmed cases %+v", cl.Clusters)
	}

	// Risk sites: no home, no person, no pseudonym; GeoJSON points.
	r := f.call(t, "POST", "/v1/trace/risk-sites", f.token, `{"from":"2020-01-15","to":"2020-01-25"}`)
	var rs report.RiskReport
	decodeOK(t, r, &rs)
	var names []string
	for _, s := range rs.Sites {
		names = append(names, s.Site)
	}
	if strings.Join(names, " ") != "mall-1/cinema mall-1 office-1 taxi-1" || rs.Sites[3].Periods[0].From != "2020-01-21T10:00:00+08:00" {
		t.Errorf("risk sites %v %+v", names, rs.Sites)
	}
	noPersons(t, f, "risk sites", r.body)
	r = f.call(t, "POST", "/v1/trace/risk-sites", f.token, `{"from":"2020-01-15","to":"2020-01-25","format":"geojson"}`)
	var gj map[string]any
	decodeOK(t, r, &gj)
	feats, _ := gj["features"].([]any)
	if gj["type"] != "FeatureCollection" || len(feats) != 4 {
		t.Fatalf("geojson %s", r.body)
	}
	geom := feats[2].(map[string]any)["geometry"].(map[string]any)
	if coords := geom["coordinates"].([]any); geom["type"] != "Point" || coords[0] != 114.27 || coords[1] != 30.58 {
		t.Errorf("office-1 geometry %v", geom)
	}
	noPersons(t, f, "geojson", r.body)

	// Follow-up of A, 14 days: F, B, G, K, most recent first.
	var fu report.FollowUpReport
	post("/v1/trace/follow-up", `{"person":"`+outA+`","from":"2020-01-15","to":"2020-01-22"}`, &fu)
	var rows []string
	for _, c := range fu.Contacts {
		rows = append(rows, c.Person+" "+c.Last+" "+c.UntilDate)
	}
	wantRows := []string{outF + " 2020-01-21T10:20:00+08:00 2020-02-04", outB + " 2020-01-20T12:00:00+08:00 2020-02-03",
		outG + " 2020-01-17T15:00:00+08:00 2020-01-31", outK + " 2020-01-17T14:50:00+08:00 2020-01-31"}
	if strings.Join(rows, "|") != strings.Join(wantRows, "|") || fu.Days != 14 {
		t.Errorf("follow-up\n got %v\nwant %v", rows, wantRows)
	}
}

// noPersons checks that a public reply names no person: no id of the
// scenario and no pseudonym of any of them.
func noPersons(t *testing.T, f *fixture, what string, body []byte) {
	t.Helper()
	for _, id := range []string{outA, outB, outD, outE, outF, outG, outH, outK} {
		p := f.n.Pseud.Person(strings.TrimPrefix(id, "id:"))
		for _, s := range []string{strings.TrimPrefix(id, "id:"), p.String(), p.String()[:16]} {
			if strings.Contains(string(body), s) {
				t.Errorf("%s names a person (%s…): %s", what, s[:8], body)
			}
		}
	}
	if strings.Contains(string(body), "home-a") || strings.Contains(string(body), "13800000001") {
		t.Errorf("%s shows a home or a phone: %s", what, body)
	}
}

// TestInvestigationErrors: bad requests are 400s naming the field, a
// reference bound to nobody is a 404 naming it, no token is a 401, and
// no error repeats a reference.
func TestInvestigationErrors(t *testing.T) {
	t.Parallel()
	f := serveOutbreak(t)
	for _, tc := range []struct {
		name, path, body string
		status           int
		code, field      string
	}{
		{"chain_without_person", "/v1/trace/chain", `{"from":"2020-01-15"}`, 400, "invalid", "person"},
		{"chain_depth_11", "/v1/trace/chain", `{"person":"` + outA + `","depth":11}`, 400, "invalid", "depth"},
		{"chain_negative_depth", "/v1/trace/chain", `{"person":"` + outA + `","depth":-1}`, 400, "invalid", "depth"},
		{"chain_bad_latent", "/v1/trace/chain", `{"person":"` + outA + `","latent":"soon"}`, 400, "invalid", "latent"},
		{"chain_zero_infectious", "/v1/trace/chain", `{"person":"` + outA + `","infectious":"0s"}`, 400, "invalid", "infectious"},
		{"chain_to_before_from", "/v1/trace/chain", `{"person":"` + outA + `","from":"2020-01-22","to":"2020-01-15"}`, 400, "invalid", "to"},
		{"chain_unknown_alias", "/v1/trace/chain", `{"person":"phone:13999999999"}`, 404, "unknown_person", "person"},
		{"chain_unknown_field", "/v1/trace/chain", `{"person":"` + outA + `","deep":3}`, 400, "invalid", "deep"},
		{"chain_depth_as_string", "/v1/trace/chain", `{"person":"` + outA + `","depth":"3"}`, 400, "invalid", "depth"},
		{"sources_no_persons", "/v1/trace/sources", `{"persons":[]}`, 400, "invalid", "persons"},
		{"sources_second_unknown", "/v1/trace/sources", `{"persons":["` + outA + `","phone:13999999999"]}`, 404, "unknown_person", "persons[1]"},
		{"sources_listed_twice", "/v1/trace/sources", `{"persons":["` + outA + `","phone:13800000001"]}`, 400, "invalid", "persons[1]"},
		{"sources_no_onset", "/v1/trace/sources", `{"persons":["` + outB + `"]}`, 400, "invalid", "persons[0]"},
		{"sources_onset_for_two", "/v1/trace/sources", `{"persons":["` + outA + `","` + outG + `"],"onset":"2020-01-20"}`, 400, "invalid", "onset"},
		{"sources_bad_onset", "/v1/trace/sources", `{"persons":["` + outB + `"],"onset":"20/01/2020"}`, 400, "invalid", "onset"},
		{"sources_max_below_min", "/v1/trace/sources", `{"persons":["` + outA + `"],"incubation_min_days":5,"incubation_max_days":3}`, 400, "invalid", "incubation_max_days"},
		{"clusters_bad_status", "/v1/trace/clusters", `{"status":"sick"}`, 400, "invalid", "status"},
		{"clusters_min_cases_1", "/v1/trace/clusters", `{"min_cases":1}`, 400, "invalid", "min_cases"},
		{"clusters_bad_within", "/v1/trace/clusters", `{"within":"-3h"}`, 400, "invalid", "within"},
		{"risk_bad_format", "/v1/trace/risk-sites", `{"format":"kml"}`, 400, "invalid", "format"},
		{"risk_bad_kind", "/v1/trace/risk-sites", `{"exclude_kinds":["home","castle"]}`, 400, "invalid", "exclude_kinds[1]"},
		{"follow_up_400_days", "/v1/trace/follow-up", `{"person":"` + outA + `","days":400}`, 400, "invalid", "days"},
		{"follow_up_bad_min_overlap", "/v1/trace/follow-up", `{"person":"` + outA + `","min_overlap":"-1m"}`, 400, "invalid", "min_overlap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.call(t, "POST", tc.path, f.token, tc.body)
			e := apiError(t, r)
			if r.status != tc.status || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("%d %s field %q (%s), want %d %s field %q", r.status, e.Code, e.Field, e.Msg, tc.status, tc.code, tc.field)
			}
			noSecrets(t, tc.name, r.body, "13999999999", "420100199001010002", "420100199001010001")
		})
	}
	for _, path := range []string{"/v1/trace/chain", "/v1/trace/sources", "/v1/trace/clusters", "/v1/trace/risk-sites", "/v1/trace/follow-up"} {
		r := f.call(t, "POST", path, "", `{"person":"`+outA+`"}`)
		if e := apiError(t, r); r.status != http.StatusUnauthorized || e.Code != "unauthorized" {
			t.Errorf("%s without token: %d %s", path, r.status, e.Code)
		}
		if r := f.call(t, "GET", path, f.token, ""); r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d (persons never travel in URLs: POST only)", path, r.status)
		}
	}
	var v json.RawMessage
	decodeOK(t, f.call(t, "POST", "/v1/trace/chain", f.token, `{"person":"`+outA+`","from":"2020-01-15","to":"2020-01-22"}`), &v)
}

// TestRiskSitesNeverPublishHomes: any role may ask for the risk sites, so
// no request brings a case's home into them (the review of issue 11: a
// site key sent "exclude_kinds":[] and got the home's place and the hours
// a case was there).
func TestRiskSitesNeverPublishHomes(t *testing.T) {
	t.Parallel()
	f := serveOutbreak(t)
	key := f.grant(t, "site")
	for _, body := range []string{
		`{"from":"2020-01-15","to":"2020-01-25","exclude_kinds":[]}`,
		`{"from":"2020-01-15","to":"2020-01-25","exclude_kinds":["taxi"]}`,
		`{"from":"2020-01-15","to":"2020-01-25","exclude_kinds":[],"format":"geojson"}`,
	} {
		status, resp, _ := f.signedCall(t, key, "POST", "/v1/trace/risk-sites", []byte(body))
		if status != 200 || !strings.Contains(string(resp), "mall-1") {
			t.Fatalf("%s: %d %s", body, status, resp)
		}
		noPersons(t, f, body, resp)
	}
}
