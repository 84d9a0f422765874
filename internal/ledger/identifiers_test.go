package ledger_test

import (
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
)

func TestIdentifierIn(t *testing.T) {
	for s, want := range map[string]string{
		"routine tests found 9 positives":        "",
		"flight CA910 from Moscow on 2021-07-10": "",
		"200 staff, 9 positive, 20210720":        "",
		"case 420101199001011234 at the gate":    "an ID number",
		"ID 42010119900101123X":                  "an ID number",
		"old card 420101900101123":               "an ID number",
		"call 13800138000 for details":           "a phone number",
		"card 6222021234567890123":               "an account number",
		"taxi 沪F54321 took the patient":          "a vehicle plate",
		"plate 京A-12345":                         "a vehicle plate",
		"沪上 Shanghai":                            "",
		"湘ABCDE no digits":                       "",
		"12345678901 not from 1? it is":          "a phone number",
		"22345678901 is not a mobile":            "",
	} {
		if got := ledger.IdentifierIn(s); got != want {
			t.Errorf("IdentifierIn(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzIdentifierIn(f *testing.F) {
	f.Add("taxi 沪F54321, 13800138000")
	f.Fuzz(func(t *testing.T, s string) {
		ledger.IdentifierIn(s) // never panics, on any bytes
	})
}
