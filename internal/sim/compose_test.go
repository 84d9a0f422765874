package sim

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/epiledger/epiledger/internal/ndjson"
)

// TestCityAndWorkedCaseDisjoint: the demo imports a city and the worked case
// into one ledger, so they must not share a site id, a canonical id or an
// alias (a shared alias would be refused as bound to another person).
func TestCityAndWorkedCaseDisjoint(t *testing.T) {
	t.Parallel()
	names := func(gen func(*ndjson.Writer) error) map[string]bool {
		var buf bytes.Buffer
		if err := gen(ndjson.NewWriter(&buf)); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			v, err := ndjson.Parse(sc.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			switch v := v.(type) {
			case *ndjson.Site:
				out["site "+v.Site] = true
			case *ndjson.Identity:
				out["id "+v.ID] = true
				for _, a := range v.Aliases {
					out["alias "+a] = true
				}
			}
		}
		return out
	}
	city := names(func(w *ndjson.Writer) error {
		_, err := Generate(Config{People: 20000, Days: 1, Seed: 3}, w)
		return err
	})
	worked := names(func(w *ndjson.Writer) error { _, err := WorkedCase(w); return err })
	for k := range worked {
		if city[k] {
			t.Errorf("city and worked case share %s", k)
		}
	}
}
