package api_test

import (
	"strings"
	"testing"
)

// TestSites: auditors and administrators list the registered sites, never
// a home; a kind filters; an unknown kind, or homes, is a 400 naming it;
// other roles get 403.
func TestSites(t *testing.T) {
	f := serve(t, world+`{"type":"site","site":"home-9","kind":"home","lat":30.5,"lon":114.3,"region":"420100"}
`)
	aud := f.grant(t, "auditor")
	status, body, _ := f.signedCall(t, aud, "GET", "/v1/sites", nil)
	var all struct {
		Sites []struct {
			Site, Kind string
			Lat        float64
		}
		Truncated bool
	}
	decodeOK(t, reply{status: status, body: body}, &all)
	if len(all.Sites) < 4 || all.Truncated {
		t.Fatalf("sites: %s", body)
	}
	for _, s := range all.Sites {
		if s.Kind == "home" || s.Kind == "device" {
			t.Errorf("a %s is listed: %s", s.Kind, s.Site)
		}
		if s.Lat == 0 {
			t.Errorf("%s without its place", s.Site)
		}
	}
	status, body, _ = f.signedCall(t, aud, "GET", "/v1/sites?kind=taxi", nil)
	if status != 200 || !strings.Contains(string(body), `"site":"taxi-1"`) || strings.Contains(string(body), `"office-1"`) {
		t.Errorf("kind=taxi: %d %s", status, body)
	}
	for _, c := range []struct{ q, field string }{{"kind=home", "kind"}, {"kind=spaceship", "kind"}, {"site=x", "site"}} {
		status, body, _ = f.signedCall(t, aud, "GET", "/v1/sites?"+c.q, nil)
		if status != 400 || !strings.Contains(string(body), `"field":"`+c.field+`"`) {
			t.Errorf("%s: %d %s", c.q, status, body)
		}
	}
	inv := f.grant(t, "investigator")
	if status, body, _ = f.signedCall(t, inv, "GET", "/v1/sites", nil); status != 403 {
		t.Errorf("investigator listing sites: %d %s", status, body)
	}
}
