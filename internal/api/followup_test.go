package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/report"
)

// sealAliases puts what the authority's vault holds of C: the canonical
// id and the phone the identity record binds.
func sealAliases(t *testing.T, f *fixture) {
	t.Helper()
	p := f.h.Pseudonymizer().Person(idC)
	s, err := f.n.Vault.SealIdentity(p, identity.Identity{ID: idC, Aliases: []string{"phone:" + phoneC}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.n.PutVault([]node.VaultEntry{{Person: p, Sealed: s}}); err != nil {
		t.Fatal(err)
	}
}

// TestFollowUpReachesContacts: an investigator's follow-up list names how
// to reach each contact (C's phone, from the vault), in the read whose
// audit record, committed before the answer and bound to the request's
// signature, says it read aliases; without a window it is the case's own
// (A is a confirmed case: onset 2020-01-19, reported 2020-01-21), and the
// reply says so. Neither the node's log nor an error carries the phone
// (issue 12, points 4 and 7).
func TestFollowUpReachesContacts(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	sealAliases(t, f)
	var logs bytes.Buffer
	srv := httptest.NewServer(handler(t, f.n, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	defer srv.Close()
	f.srv = srv
	key := f.grant(t, "investigator")

	status, body, sig := f.signedCall(t, key, "POST", "/v1/trace/follow-up", []byte(`{"person":"phone:`+phoneA+`"}`))
	if status != 200 {
		t.Fatalf("follow-up: %d %s", status, body)
	}
	var fu report.FollowUpReport
	if err := json.Unmarshal(body, &fu); err != nil {
		t.Fatal(err)
	}
	var reached bool
	for _, c := range fu.Contacts {
		if c.Person == "id:"+idC {
			reached = slices.Equal(c.Aliases, []string{"phone:" + phoneC})
		}
		if c.Aliases == nil {
			t.Errorf("%s: aliases is null, want a list", c.Person)
		}
	}
	if !reached {
		t.Errorf("follow-up does not reach C at phone:%s: %s", phoneC, body)
	}
	if fu.Basis != report.WindowCase || fu.From != "2020-01-05T00:00:00+08:00" || fu.To != "2020-01-21T23:59:59+08:00" ||
		!strings.Contains(fu.WindowBasis.Note, "onset (2020-01-19)") {
		t.Errorf("window %s to %s, %+v; want the case's own, 2020-01-05 to 2020-01-21", fu.From, fu.To, fu.WindowBasis)
	}
	es, err := f.n.Query.Audits(-1<<62, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range es {
		if e.Audit.RequestSig != sig {
			continue
		}
		found = true
		if e.Audit.Route != "POST /v1/trace/follow-up"+node.AliasesRoute {
			t.Errorf("audit route %q does not say the read opened aliases", e.Audit.Route)
		}
		if e.Audit.From != unix(t, fu.From) || e.Audit.To != unix(t, fu.To) {
			t.Errorf("audit window %d-%d, reply %s-%s", e.Audit.From, e.Audit.To, fu.From, fu.To)
		}
	}
	if !found {
		t.Error("no audit record carries the request's signature")
	}

	// A refused request: its error names the field, never the phone.
	status, body, _ = f.signedCall(t, key, "POST", "/v1/trace/follow-up", []byte(`{"person":"phone:`+phoneA+`","days":400}`))
	if status != 400 {
		t.Errorf("days 400: %d %s", status, body)
	}
	noSecrets(t, "a refused follow-up", body)
	if !bytes.Contains(logs.Bytes(), []byte("/v1/trace/follow-up")) {
		t.Fatalf("the node logged no request: %s", logs.Bytes())
	}
	noSecrets(t, "the node's log", logs.Bytes())
}

// TestWindowBasis: a read about a person without from and to takes a
// reported case's own window, anyone else's the lookback up to the
// ledger's latest record (A's report, 2020-01-21 10:00); an explicit
// from or to always wins; the reply says which (issue 12, point 4).
func TestWindowBasis(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	type basis struct {
		From, To string
		report.WindowBasis
	}
	cases := []struct {
		name, path, body string
		want             string
		from, to         string
	}{
		{name: "trajectory_of_a_case", path: "/v1/trace/trajectory", body: `{"person":"id:` + idA + `"}`,
			want: report.WindowCase, from: "2020-01-05T00:00:00+08:00", to: "2020-01-21T23:59:59+08:00"},
		{name: "contacts_of_a_case", path: "/v1/trace/contacts", body: `{"person":"id:` + idA + `"}`,
			want: report.WindowCase, from: "2020-01-05T00:00:00+08:00", to: "2020-01-21T23:59:59+08:00"},
		{name: "chain_of_a_case", path: "/v1/trace/chain", body: `{"person":"id:` + idA + `"}`,
			want: report.WindowCase, from: "2020-01-05T00:00:00+08:00", to: "2020-01-21T23:59:59+08:00"},
		{name: "decisions_of_a_case", path: "/v1/validate/decisions", body: `{"person":"id:` + idA + `"}`,
			want: report.WindowCase, from: "2020-01-05T00:00:00+08:00", to: "2020-01-21T23:59:59+08:00"},
		{name: "contacts_of_a_case_from_given", path: "/v1/trace/contacts", body: `{"person":"id:` + idA + `","from":"2020-01-20"}`,
			want: report.WindowGiven, from: "2020-01-20T00:00:00+08:00", to: "2020-01-21T23:59:59+08:00"},
		{name: "contacts_of_a_case_to_given", path: "/v1/trace/contacts", body: `{"person":"id:` + idA + `","to":"2020-01-20"}`,
			want: report.WindowGiven, from: "2019-12-22T00:00:00+08:00", to: "2020-01-20T23:59:59+08:00"},
		{name: "contacts_of_no_case", path: "/v1/trace/contacts", body: `{"person":"id:` + idB + `"}`,
			want: report.WindowLatest, from: "2019-12-23T00:00:00+08:00", to: "2020-01-21T23:59:59+08:00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got basis
			decodeOK(t, f.call(t, "POST", tc.path, f.token, tc.body), &got)
			if got.Basis != tc.want || got.From != tc.from || got.To != tc.to {
				t.Errorf("window %s to %s (%q: %s), want %s to %s (%q)", got.From, got.To, got.Basis, got.Note, tc.from, tc.to, tc.want)
			}
			if (got.Note == "") != (tc.want == report.WindowGiven) {
				t.Errorf("window note %q for a window %s", got.Note, got.Basis)
			}
		})
	}
}

// TestFollowUpDays (issue 12, adversarial pass): "days" omitted is 14;
// given, it must be 1 to 366, and 0 is a 400 naming days like -1 and 367,
// not a silent 14.
func TestFollowUpDays(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	const person = `"person":"id:` + idA + `","from":"2020-01-15","to":"2020-01-22"`
	for _, c := range []struct {
		days   string
		status int
		want   int
	}{
		{"", 200, 14},
		{`,"days":null`, 200, 14},
		{`,"days":1`, 200, 1},
		{`,"days":366`, 200, 366},
		{`,"days":0`, 400, 0},
		{`,"days":-1`, 400, 0},
		{`,"days":367`, 400, 0},
	} {
		r := f.call(t, "POST", "/v1/trace/follow-up", f.token, "{"+person+c.days+"}")
		if r.status != c.status {
			t.Errorf("days %q: %d, want %d: %s", c.days, r.status, c.status, r.body)
			continue
		}
		if c.status != 200 {
			if e := apiError(t, r); e.Field != "days" || e.Msg != "must be 1 to 366" {
				t.Errorf("days %q: %+v", c.days, e)
			}
			continue
		}
		var fu report.FollowUpReport
		decodeOK(t, r, &fu)
		if fu.Days != c.want {
			t.Errorf("days %q: the list used %d, want %d", c.days, fu.Days, c.want)
		}
	}
}
