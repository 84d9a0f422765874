package report_test

import (
	"context"
	"errors"
	"testing"

	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/report"
)

// TestParseProbability: what --q and --z (the API's q and z) accept, and
// the field each refusal names.
func TestParseProbability(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		q, z     string
		field    string // "" = accepted
		wantQ    float64
		from, to int
	}{
		{"", "", "", 0.1, 1, 10},
		{"0.3", "7", "", 0.3, 7, 7},
		{"1e-320", "0..9999", "", 1e-320, 0, 9999},
		{"0.9", "100000", "", 0.9, 100000, 100000},
		{"NaN", "", "q", 0, 0, 0},
		{"+Inf", "", "q", 0, 0, 0},
		{"0", "", "q", 0, 0, 0},
		{"1", "", "q", 0, 0, 0},
		{"0.1 ", "", "q", 0, 0, 0},
		{"", "0..10000", "z", 0, 0, 0},
		{"", "100001", "z", 0, 0, 0},
		{"", "2000000000", "z", 0, 0, 0},
		{"", "3..2", "z", 0, 0, 0},
		{"", "-1..2", "z", 0, 0, 0},
		{"", "1..2..3", "z", 0, 0, 0},
		{"", "x", "z", 0, 0, 0},
	} {
		q, from, to, err := report.ParseProbability(c.q, c.z)
		var fe *ndjson.FieldError
		switch {
		case c.field == "" && (err != nil || q != c.wantQ || from != c.from || to != c.to):
			t.Errorf("q=%q z=%q: %v %d..%d %v", c.q, c.z, q, from, to, err)
		case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
			t.Errorf("q=%q z=%q: error %v, want one naming %s", c.q, c.z, err, c.field)
		}
	}
}

// TestProbabilityTableCancelled: a table stops when its request's context
// is done, and refuses what ParseProbability would.
func TestProbabilityTableCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rows, err := report.ProbabilityTable(ctx, 0.4, 90001, 100000); !errors.Is(err, context.Canceled) || rows != nil {
		t.Errorf("cancelled: %d rows, %v", len(rows), err)
	}
	var fe *ndjson.FieldError
	if _, err := report.ProbabilityTable(context.Background(), 0.1, 0, 2000000000); !errors.As(err, &fe) || fe.Field != "z" {
		t.Errorf("z = 2e9: %v", err)
	}
	rows, err := report.ProbabilityTable(context.Background(), 0.1, 1, 10)
	if err != nil || len(rows) != 10 || rows[0].Z != 1 || rows[9].Z != 10 {
		t.Errorf("Table 2: %v %v", rows, err)
	}
}
