package ledger

import (
	"errors"
	"testing"
)

func TestAccessScopeChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		edit  func(*AccessRequest)
		field string
	}{
		{"no chains", func(r *AccessRequest) { r.Scope.Chains = nil }, "chains"},
		{"no reads", func(r *AccessRequest) { r.Scope.Reads = nil }, "reads"},
		{"unknown read", func(r *AccessRequest) { r.Scope.Reads = []string{"vault"} }, "reads"},
		{"unknown dimension", func(r *AccessRequest) { r.Scope.Dimensions = []string{"weather"} }, "dimensions"},
		{"trace without persons", func(r *AccessRequest) { r.Scope.Persons = nil }, "persons"},
		{"backwards", func(r *AccessRequest) { r.Scope.To = r.Scope.From - 1 }, "to"},
		{"no reason", func(r *AccessRequest) { r.Reason = "" }, "reason"},
		{"an id number in the reason", func(r *AccessRequest) { r.Reason = "patient 420101199001011234" }, "reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &AccessRequest{Scope: sampleScope(), Reason: "a reason"}
			tc.edit(r)
			err := Validate(r)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Validate: %v, want an error on %q", err, tc.field)
			}
		})
	}
}

func TestAccessScopeWithin(t *testing.T) {
	t.Parallel()
	req := sampleScope()
	for _, tc := range []struct {
		name  string
		edit  func(*AccessScope)
		wider string
	}{
		{"the same", func(*AccessScope) {}, ""},
		{"narrower window", func(s *AccessScope) { s.From++; s.To-- }, ""},
		{"one read", func(s *AccessScope) { s.Reads = []string{"intel"} }, ""},
		{"another chain", func(s *AccessScope) { s.Chains = append(s.Chains, "suzhou-1") }, "chains"},
		{"any record of a request naming one", func(s *AccessScope) { s.Records = nil }, "records"},
		{"another record", func(s *AccessScope) { s.Records = []Hash{{1}} }, "records"},
		{"any dimension", func(s *AccessScope) { s.Dimensions = nil }, "dimensions"},
		{"another person", func(s *AccessScope) { s.Persons = []Pseudonym{{1}} }, "persons"},
		{"earlier", func(s *AccessScope) { s.From-- }, "from"},
		{"later", func(s *AccessScope) { s.To++ }, "to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := sampleScope()
			g.Chains = append([]string(nil), g.Chains...)
			tc.edit(&g)
			if got := g.Within(&req); got != tc.wider {
				t.Fatalf("Within: %q, want %q", got, tc.wider)
			}
		})
	}
}
