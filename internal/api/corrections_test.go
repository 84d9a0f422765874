package api_test

import (
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
)

// TestCorrectionsOfUnknownTx (issue 12, adversarial pass): GET
// /v1/tx/{hash}/corrections answers a hash that names no transaction on
// the ledger as GET /v1/tx/{hash} does, 404 not_found, not 200 with an
// empty list; a transaction on the ledger without corrections is an empty
// list; upper-case hex works on both routes, as docs/API.md says; a
// malformed hash is a 400 naming hash.
func TestCorrectionsOfUnknownTx(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	raws, err := blocks.Txs(f.n.DB, 1)
	if err != nil || len(raws) == 0 {
		t.Fatal(err)
	}
	tx, err := ledger.DecodeTx(raws[0])
	if err != nil {
		t.Fatal(err)
	}
	known := tx.ID().String()
	unknown := strings.Repeat("ab", 32)
	cases := []struct {
		name, hash string
		status     int
		code       string
		field      string
	}{
		{"on_the_ledger", known, 200, "", ""},
		{"upper_case", strings.ToUpper(known), 200, "", ""},
		{"not_on_the_ledger", unknown, 404, "not_found", ""},
		{"not_on_the_ledger_upper_case", strings.ToUpper(unknown), 404, "not_found", ""},
		{"63_digits", known[:63], 400, "invalid", "hash"},
		{"not_hex", "zz" + known[2:], 400, "invalid", "hash"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/v1/tx/" + c.hash, "/v1/tx/" + c.hash + "/corrections"} {
				r := f.call(t, "GET", path, f.token, "")
				if r.status != c.status {
					t.Fatalf("%s: %d, want %d: %s", path, r.status, c.status, r.body)
				}
				if c.status != 200 {
					if e := apiError(t, r); e.Code != c.code || e.Field != c.field {
						t.Errorf("%s: %+v, want code %q field %q", path, e, c.code, c.field)
					}
				}
			}
			if c.status == 200 {
				var got struct{ Corrections []any }
				decodeOK(t, f.call(t, "GET", "/v1/tx/"+c.hash+"/corrections", f.token, ""), &got)
				if got.Corrections == nil || len(got.Corrections) != 0 {
					t.Errorf("corrections of a record never corrected: %v", got.Corrections)
				}
			}
		})
	}
}
