package identity_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
)

var (
	secretA = bytes.Repeat([]byte{0xa1}, 32)
	secretB = bytes.Repeat([]byte{0xb2}, 32)
)

func vault(t testing.TB, secret []byte) *identity.Vault {
	t.Helper()
	v, err := identity.NewVault(secret)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func pseudonymizer(t testing.TB, secret []byte) *identity.Pseudonymizer {
	t.Helper()
	p, err := identity.NewPseudonymizer(secret)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewRejectsShortSecrets(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 31} {
		if _, err := identity.NewVault(make([]byte, n)); err == nil {
			t.Errorf("NewVault(%d bytes) = nil error", n)
		}
		if _, err := identity.NewPseudonymizer(make([]byte, n)); err == nil {
			t.Errorf("NewPseudonymizer(%d bytes) = nil error", n)
		}
	}
	for _, n := range []int{32, 64} {
		if _, err := identity.NewVault(make([]byte, n)); err != nil {
			t.Errorf("NewVault(%d bytes) = %v", n, err)
		}
		if _, err := identity.NewPseudonymizer(make([]byte, n)); err != nil {
			t.Errorf("NewPseudonymizer(%d bytes) = %v", n, err)
		}
	}
}

func TestVaultRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, id string }{
		{name: "empty", id: ""},
		{name: "digits_18", id: "420100199001011234"},
		{name: "passport_E12345678", id: "E12345678"},
		{name: "unicode_name", id: "张三/1990"},
		{name: "one_kib", id: strings.Repeat("9", 1024)},
	}
	v := vault(t, secretA)
	p := pseudonymizer(t, secretA)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			person := p.Person(tc.id)
			s1 := v.Seal(person, tc.id)
			s2 := v.Seal(person, tc.id)
			if bytes.Equal(s1, s2) {
				t.Error("two seals of the same id are equal: the nonce is not fresh")
			}
			if bytes.Contains(s1, []byte(tc.id)) && tc.id != "" {
				t.Error("sealed bytes contain the id")
			}
			for i, s := range [][]byte{s1, s2} {
				got, err := v.Open(person, s)
				if err != nil || got != tc.id {
					t.Errorf("seal %d: Open = %q, %v; want %q", i, got, err, tc.id)
				}
			}
			// A vault from the same secret opens it too: the key is derived,
			// not random.
			if got, err := vault(t, secretA).Open(person, s1); err != nil || got != tc.id {
				t.Errorf("Open by a second vault of the same secret = %q, %v", got, err)
			}
		})
	}
}

func TestVaultOpenRefuses(t *testing.T) {
	t.Parallel()
	v := vault(t, secretA)
	p := pseudonymizer(t, secretA)
	const id = "420100199001011234"
	person := p.Person(id)
	sealed := v.Seal(person, id)
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	cases := []struct {
		name   string
		vault  *identity.Vault
		person ledger.Pseudonym
		sealed []byte
	}{
		{name: "other_person", vault: v, person: p.Person("420100199001010000"), sealed: sealed},
		{name: "zero_person", vault: v, person: ledger.Pseudonym{}, sealed: sealed},
		{name: "other_secret", vault: vault(t, secretB), person: person, sealed: sealed},
		{name: "nil", vault: v, person: person, sealed: nil},
		{name: "empty", vault: v, person: person, sealed: []byte{}},
		{name: "nonce_only", vault: v, person: person, sealed: sealed[:12]},
		{name: "11_bytes", vault: v, person: person, sealed: sealed[:11]},
		{name: "nonce_and_15_tag_bytes", vault: v, person: person, sealed: sealed[:12+15]},
		{name: "last_byte_cut", vault: v, person: person, sealed: sealed[:len(sealed)-1]},
		{name: "extra_zero_byte", vault: v, person: person, sealed: append(bytes.Clone(sealed), 0)},
	}
	for i := range sealed {
		cases = append(cases, struct {
			name   string
			vault  *identity.Vault
			person ledger.Pseudonym
			sealed []byte
		}{name: "flip_byte_" + strconv.Itoa(i), vault: v, person: person, sealed: flip(i)})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.vault.Open(tc.person, tc.sealed)
			if !errors.Is(err, identity.ErrSealed) {
				t.Errorf("Open = %q, %v; want ErrSealed", got, err)
			}
			if got != "" {
				t.Errorf("Open returned %q with its error", got)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{in: "PHONE: 138", want: "phone:138"},
		{in: "phone:138", want: "phone:138"},
		{in: "  Phone :138 \t", want: "phone :138"},
		{in: "plate:E·12345", want: "plate:E·12345"},
		{in: "Plate: AbC ", want: "plate:AbC"},
		{in: "ID:420100", want: "id:420100"},
		{in: "no colon ", want: "no colon"},
		{in: "", want: ""},
		{in: ":", want: ":"},
		{in: "phone:13 8", want: "phone:13 8"},
		{in: "a:b:C", want: "a:b:C"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := identity.Normalize(tc.in); got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPseudonyms(t *testing.T) {
	t.Parallel()
	a := pseudonymizer(t, secretA)
	a2 := pseudonymizer(t, secretA)
	b := pseudonymizer(t, secretB)
	if a.Of("phone:138") != a.Of("phone:138") || a.Of("phone:138") != a2.Of("phone:138") {
		t.Error("the same reference gives different pseudonyms")
	}
	if a.Of("phone:138") == b.Of("phone:138") {
		t.Error("different secrets give the same pseudonym")
	}
	if a.Of("phone:138") == a.Of("phone:139") || a.Of("phone:138") == a.Of("plate:138") {
		t.Error("different references give the same pseudonym")
	}
	if a.Person("420100") != a.Of("id:420100") {
		t.Error(`Person(id) != Of("id:"+id)`)
	}
	var zero ledger.Pseudonym
	if a.Of("") == zero {
		t.Error("Of(\"\") is the zero pseudonym")
	}
}

func TestRef(t *testing.T) {
	t.Parallel()
	p := pseudonymizer(t, secretA)
	cases := []struct {
		in    string
		want  ledger.PersonRef
		field string // non-empty: want a FieldError for it
	}{
		{in: "PHONE: 138", want: ledger.PersonRef{Ref: p.Of("phone:138"), Alias: true}},
		{in: "phone:138", want: ledger.PersonRef{Ref: p.Of("phone:138"), Alias: true}},
		{in: " ID:420100 ", want: ledger.PersonRef{Ref: p.Person("420100")}},
		{in: "id:420100", want: ledger.PersonRef{Ref: p.Person("420100")}},
		{in: "identity:420100", want: ledger.PersonRef{Ref: p.Of("identity:420100"), Alias: true}},
		{in: "13800138000", field: "person"},
		{in: "phone:", field: "person"},
		{in: "phone: ", field: "person"},
		{in: ":13800138000", field: "person"},
		{in: "mobile-phone:13800138000", field: "person"},
		{in: "", field: "person"},
		// Not text: refused, never dropped or replaced (issue 11).
		{in: "id:\x00abc", field: "person"},
		{in: "id:13800138000\x00", field: "person"},
		{in: "id:13800138000\t", field: "person"},
		{in: "\nid:13800138000", field: "person"},
		{in: "id:138\x7f00138000", field: "person"},
		{in: "id:\u008513800138000", field: "person"},
		{in: "id:\xff13800138000", field: "person"},
		{in: "id:13800138000\xe4\xb8", field: "person"},
		{in: "id:\ufffd13800138000", field: "person"},
		{in: "phone:138\u009f00138000", field: "person"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := p.Ref("person", tc.in)
			if tc.field == "" {
				if err != nil || got != tc.want {
					t.Errorf("Ref = %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			var fe *ndjson.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Ref = %+v, %v; want a FieldError for %q", got, err, tc.field)
			}
			if strings.Contains(err.Error(), "13800138000") {
				t.Errorf("error %q repeats the value", err)
			}
			if got != (ledger.PersonRef{}) {
				t.Errorf("Ref returned %+v with its error", got)
			}
		})
	}
}

// FuzzVaultOpen checks that Open never panics and opens only what Seal
// made for that person.
func FuzzVaultOpen(f *testing.F) {
	v := vault(f, secretA)
	var person ledger.Pseudonym
	f.Add(v.Seal(person, "420100199001011234"))
	f.Add(v.Seal(person, ""))
	f.Add([]byte{})
	f.Add(make([]byte, 28))
	f.Fuzz(func(t *testing.T, sealed []byte) {
		got, err := v.Open(person, sealed)
		if err != nil {
			if !errors.Is(err, identity.ErrSealed) || got != "" {
				t.Fatalf("Open = %q, %v; want \"\", ErrSealed", got, err)
			}
			return
		}
		// Only an authentic seal opens; it must not open for another person.
		other := person
		other[0] ^= 1
		if _, err := v.Open(other, sealed); err == nil {
			t.Fatalf("sealed bytes open for two persons")
		}
	})
}

// FuzzNormalize checks that Normalize is idempotent and that Ref accepts a
// reference exactly when it is text (ledger.CheckText) and its normalized
// form passes record.CheckRef.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"PHONE: 138", "  Phone :138 ", "id:1", "", ":", "a:b:c", "\u00c9:x", "\xff:1", "id:\x00abc", "id:1\t", "id:\u0085x", "id:\ufffd"} {
		f.Add(s)
	}
	p := pseudonymizer(f, secretA)
	f.Fuzz(func(t *testing.T, ref string) {
		n := identity.Normalize(ref)
		if nn := identity.Normalize(n); nn != n {
			t.Fatalf("Normalize is not idempotent: %q -> %q -> %q", ref, n, nn)
		}
		r, err := p.Ref("person", ref)
		if (err == nil) != (ledger.CheckText("person", ref) == nil && ndjson.CheckRef("person", n) == nil) {
			t.Fatalf("Ref(%q) = %v, but CheckText and CheckRef(Normalize) disagree", ref, err)
		}
		if err == nil && r.Ref != p.Of(n) {
			t.Fatalf("Ref(%q).Ref != Of(Normalize(ref))", ref)
		}
	})
}

// TestLookAlikeRefs: a reference that prints like another (an invisible
// or direction-changing character, full-width digits in an id or a phone)
// is refused, so that no row reads as a person it is not; ordinary
// references, non-ASCII aliases among them, pass.
func TestLookAlikeRefs(t *testing.T) {
	for _, tc := range []struct {
		ref string
		ok  bool
	}{
		{"id:420100199001011234", true},
		{"id:42010019900101123X", true},
		{"phone:13800000000", true},
		{"plate:鄂A12345", true},
		{"wechat:小明", true},
		{"id:420100199001011234\u200b", false},
		{"id:\u202e4321110109910010024", false},
		{"id:\ufeff420100199001011234", false},
		{"id:４２０１００１９９００１０１１２３４", false},
		{"phone:１３８００００００００", false},
		{"plate:鄂A\u200d12345", false},
	} {
		_, err := identity.CheckRef("person", tc.ref)
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok %v", tc.ref, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(tc.ref, "id:")) {
			t.Errorf("%q: the error repeats the reference: %v", tc.ref, err)
		}
	}
}
