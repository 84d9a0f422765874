package api_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestProbabilityBadInput: every q or z the catch-up table cannot take is
// a 400 naming the field, answered at once (z = 2e9 once pinned both
// cores until the node was killed; q = NaN answered 200 with an empty
// body).
func TestProbabilityBadInput(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	for _, c := range []struct{ q, z, field string }{
		{"NaN", "", "q"},
		{"nan", "", "q"},
		{"Inf", "", "q"},
		{"-Inf", "", "q"},
		{"0", "", "q"},
		{"-0.1", "", "q"},
		{"1", "", "q"},
		{"2", "", "q"},
		{"0.1abc", "", "q"},
		{"1e400", "", "q"},
		{"zzz", "", "q"},
		{"", "2000000000", "z"},
		{"", "1..2000000000", "z"},
		{"", "100001", "z"},
		{"", "0..10000", "z"},
		{"", "-1", "z"},
		{"", "5..1", "z"},
		{"", "1..", "z"},
		{"", "..3", "z"},
		{"", "1...3", "z"},
		{"", "1.5", "z"},
		{"", "99999999999999999999", "z"},
		{"", "zzz", "z"},
	} {
		v := url.Values{}
		if c.q != "" {
			v.Set("q", c.q)
		}
		if c.z != "" {
			v.Set("z", c.z)
		}
		r := f.call(t, "GET", "/v1/validate/probability?"+v.Encode(), f.token, "")
		if r.status != http.StatusBadRequest {
			t.Errorf("q=%q z=%q: status %d, want 400: %s", c.q, c.z, r.status, r.body)
			continue
		}
		if e := apiError(t, r); e.Field != c.field {
			t.Errorf("q=%q z=%q: field %q, want %q: %s", c.q, c.z, e.Field, c.field, r.body)
		}
	}
}

// TestProbabilityUnknownParameter: a misspelt parameter is a 400 naming
// it, not a silent default.
func TestProbabilityUnknownParameter(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	r := f.call(t, "GET", "/v1/validate/probability?q=0.1&zz=3", f.token, "")
	if e := apiError(t, r); r.status != http.StatusBadRequest || e.Field != "zz" {
		t.Errorf("status %d %s, want 400 naming zz", r.status, r.body)
	}
}

// TestProbabilityLargeZ: z = 10,000 once answered p = 1 (the sum
// underflowed); q = 1e-320 a negative probability. Now: tiny and
// positive where float64 holds it, 0 where it does not, never negative;
// the widest table is whole (its cost is counted in TestCatchUpSteps).
func TestProbabilityLargeZ(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	type table struct {
		Q    float64 `json:"q"`
		Rows []struct {
			Z int     `json:"z"`
			P float64 `json:"p"`
		} `json:"rows"`
	}
	get := func(q, z string) table {
		t.Helper()
		var tb table
		decodeOK(t, f.call(t, "GET", "/v1/validate/probability?q="+q+"&z="+z, f.token, ""), &tb)
		return tb
	}
	if tb := get("0.45", "10000"); len(tb.Rows) != 1 || !(tb.Rows[0].P > 0 && tb.Rows[0].P < 1e-80) {
		t.Errorf("q=0.45 z=10000: %+v, want a tiny positive p", tb.Rows)
	}
	if tb := get("0.1", "10000"); len(tb.Rows) != 1 || tb.Rows[0].P != 0 {
		t.Errorf("q=0.1 z=10000: %+v, want 0 (10^-5682 is below float64)", tb.Rows)
	}
	tb := get("1e-320", "")
	if len(tb.Rows) != 10 {
		t.Errorf("q=1e-320: %+v", tb.Rows)
	}
	for _, r := range tb.Rows {
		if r.P < 0 || r.P > 3e-320 || r.Z == 1 && r.P < 1e-320 {
			t.Errorf("q=1e-320, z=%d: p = %v", r.Z, r.P)
		}
	}
	if tb := get("0.4999", "90001..100000"); len(tb.Rows) != 10000 || !(tb.Rows[0].P > tb.Rows[9999].P) {
		t.Errorf("widest table: %d rows", len(tb.Rows))
	}
}
