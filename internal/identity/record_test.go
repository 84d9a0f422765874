package identity_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/identity"
)

// TestSealIdentityRoundTrip: what SealIdentity seals opens to the id and
// its aliases, normalized, once each, sorted; a bare id sealed by Seal
// (the first format) opens to the id and no alias; neither opens for
// another person or key.
func TestSealIdentityRoundTrip(t *testing.T) {
	t.Parallel()
	v := vault(t, secretA)
	p := pseudonymizer(t, secretA)
	cases := []struct {
		name string
		in   identity.Identity
		want identity.Identity
	}{
		{name: "no_alias", in: identity.Identity{ID: "420100"}, want: identity.Identity{ID: "420100", Aliases: []string{}}},
		{name: "phone_and_plate", in: identity.Identity{ID: "420100", Aliases: []string{"plate:鄂A12345", "phone:13800000000"}},
			want: identity.Identity{ID: "420100", Aliases: []string{"phone:13800000000", "plate:鄂A12345"}}},
		{name: "repeated_and_unnormalized", in: identity.Identity{ID: "420100", Aliases: []string{" Phone:138 ", "phone:138", "PHONE:138"}},
			want: identity.Identity{ID: "420100", Aliases: []string{"phone:138"}}},
		{name: "empty_id", in: identity.Identity{ID: ""}, want: identity.Identity{ID: "", Aliases: []string{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			person := p.Person(tc.in.ID)
			s, err := v.SealIdentity(person, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tc.want.Aliases {
				if bytes.Contains(s, []byte(a)) {
					t.Errorf("sealed bytes contain %q", a)
				}
			}
			got, err := v.OpenIdentity(person, s)
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("OpenIdentity = %+v, %v; want %+v", got, err, tc.want)
			}
			if _, err := v.OpenIdentity(p.Person("other"), s); !errors.Is(err, identity.ErrSealed) {
				t.Errorf("another person: %v", err)
			}
			if _, err := vault(t, secretB).OpenIdentity(person, s); !errors.Is(err, identity.ErrSealed) {
				t.Errorf("another key: %v", err)
			}
		})
	}
	person := p.Person("420100")
	got, err := v.OpenIdentity(person, v.Seal(person, "420100"))
	if err != nil || got.ID != "420100" || len(got.Aliases) != 0 {
		t.Errorf("a bare id sealed by Seal opens to %+v, %v", got, err)
	}
}

// TestSealIdentityRefusesNonText: an id or alias holding a control
// character (the NUL the format separates with among them), or an alias
// that is not scheme:value, is refused with an error that repeats none of
// it.
func TestSealIdentityRefusesNonText(t *testing.T) {
	t.Parallel()
	v := vault(t, secretA)
	p := pseudonymizer(t, secretA)
	for _, tc := range []struct {
		name string
		in   identity.Identity
	}{
		{name: "nul_in_id", in: identity.Identity{ID: "4201\x00phone:9"}},
		{name: "newline_in_id", in: identity.Identity{ID: "4201\n"}},
		{name: "nul_in_alias", in: identity.Identity{ID: "4201", Aliases: []string{"phone:13\x00800"}}},
		{name: "alias_without_scheme", in: identity.Identity{ID: "4201", Aliases: []string{"13800000000"}}},
		{name: "invalid_utf8_alias", in: identity.Identity{ID: "4201", Aliases: []string{"phone:\xff13800"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := v.SealIdentity(p.Person("4201"), tc.in)
			if !errors.Is(err, identity.ErrIdentity) || s != nil {
				t.Fatalf("SealIdentity = %x, %v; want ErrIdentity", s, err)
			}
			for _, x := range append([]string{tc.in.ID}, tc.in.Aliases...) {
				if strings.Contains(err.Error(), strings.TrimSpace(x)) {
					t.Errorf("error %q repeats %q", err, x)
				}
			}
		})
	}
}

// TestIdentityMerge: merging keeps the id and every alias of both, once,
// sorted.
func TestIdentityMerge(t *testing.T) {
	t.Parallel()
	a := identity.Identity{ID: "1", Aliases: []string{"plate:E1", "phone:2"}}
	b := identity.Identity{ID: "1", Aliases: []string{"phone:2", "wechat:x"}}
	got := a.Merge(b)
	if got.ID != "1" || !slices.Equal(got.Aliases, []string{"phone:2", "plate:E1", "wechat:x"}) {
		t.Errorf("Merge = %+v", got)
	}
	if !a.Merge(identity.Identity{}).Equal(identity.Identity{ID: "1", Aliases: []string{"phone:2", "plate:E1"}}) {
		t.Errorf("Merge with nothing = %+v", a.Merge(identity.Identity{}))
	}
}
