package report_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/testnode"
)

// TestCityContactsEqualGroundTruth imports a simulated city of 10,000
// people over 14 days through the engine and checks that the contacts the
// ledger finds for every confirmed case equal the simulator's ground truth
// exactly (same persons, sites and overlap intervals).
func TestCityContactsEqualGroundTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("imports ~640k records")
	}
	t.Parallel()
	var buf bytes.Buffer
	truth, err := sim.Generate(sim.Config{People: 10000, Days: 14, Seed: 42}, ndjson.NewWriter(&buf))
	if err != nil {
		t.Fatal(err)
	}
	h, n := testnode.New(t)
	res := testnode.Import(t, h, n, buf.String())
	if res.Rejected != 0 {
		t.Fatalf("%d records rejected, first: %v", res.Rejected, res.Rejections[0])
	}
	d, err := (&report.Builder{N: n}).CheckTruth(context.Background(), testnode.Caller(n), truth)
	if err != nil {
		t.Fatal(err)
	}
	if d.Cases < 5 || d.Expected < 1000 {
		t.Fatalf("the city is too small to mean much: %d cases, %d contacts", d.Cases, d.Expected)
	}
	if !d.OK() {
		t.Fatalf("%d cases: %d contacts expected, %d found; missing %d (e.g. %v), extra %d (e.g. %v)",
			d.Cases, d.Expected, d.Found, len(d.Missing), first(d.Missing), len(d.Extra), first(d.Extra))
	}
	t.Logf("%d records, %d cases, %d contacts: all equal the ground truth", res.Accepted, d.Cases, d.Expected)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
