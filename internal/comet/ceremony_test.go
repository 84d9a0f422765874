package comet_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/comet"
)

const goodCard = `{"organisation":"cdc","public_key":"69fb305e4a01a7d058fdd55f3327458f28d1b0842a793c738e3949556689b423","power":10,"node_id":"303db95c91b482f356ef4d32c159fdbda5a11360","p2p":"cdc.example.org:26656"}`

// TestParseCardRefuses: a card that does not read is ErrBadCard naming
// its field, and no card.
func TestParseCardRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, from, to, field string }{
		{"empty_org", `"cdc"`, `""`, "organisation"},
		{"control_in_org", `"cdc"`, `"c\u0007dc"`, "organisation"},
		{"short_key", `"69fb305e`, `"69fb`, "public_key"},
		{"negative_power", `"power":10`, `"power":-1`, "power"},
		{"huge_power", `"power":10`, `"power":1099511627777`, "power"},
		{"bad_node_id", `"303db95c`, `"zz3db95c`, "node_id"},
		{"no_port", `:26656"`, `"`, "p2p"},
		{"unknown_field", `"power":10`, `"power":10,"secret":"x"`, "secret"},
		{"two_values", `26656"}`, `26656"}{}`, "more than one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := strings.Replace(goodCard, tc.from, tc.to, 1)
			if in == goodCard {
				t.Fatal("the case changes nothing")
			}
			c, err := comet.ParseCard([]byte(in))
			if !errors.Is(err, comet.ErrBadCard) || !strings.Contains(err.Error(), tc.field) || c != (comet.KeyCard{}) {
				t.Fatalf("got %+v, %v; want ErrBadCard naming %s", c, err, tc.field)
			}
		})
	}
	if c, err := comet.ParseCard([]byte(goodCard)); err != nil || c.Org != "cdc" || c.Peer() != "303db95c91b482f356ef4d32c159fdbda5a11360@cdc.example.org:26656" {
		t.Fatalf("the good card: %+v, %v", c, err)
	}
}

// FuzzParseCard: a card either reads or is ErrBadCard with no card; one
// that reads is written and read back the same.
func FuzzParseCard(f *testing.F) {
	f.Add([]byte(goodCard))
	f.Add([]byte(`{"organisation":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := comet.ParseCard(b)
		if err != nil {
			if !errors.Is(err, comet.ErrBadCard) || c != (comet.KeyCard{}) {
				t.Fatalf("%v with %+v", err, c)
			}
			return
		}
		again, _ := json.Marshal(c)
		c2, err := comet.ParseCard(again)
		if err != nil || c2 != c {
			t.Fatalf("%+v written as %s reads back as %+v, %v", c, again, c2, err)
		}
	})
}
