package trace_test

import (
	"bytes"
	"testing"

	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/testnode"
)

// BenchmarkContacts times the contact query of each confirmed case of a
// simulated city (2,000 people, 7 days) over the whole period.
func BenchmarkContacts(b *testing.B) {
	var buf bytes.Buffer
	truth, err := sim.Generate(sim.Config{People: 2000, Days: 7, Seed: 1}, ndjson.NewWriter(&buf))
	if err != nil {
		b.Fatal(err)
	}
	h, n := testnode.New(b)
	if res := testnode.Import(b, h, n, buf.String()); res.Rejected != 0 {
		b.Fatalf("rejected: %v", res.Rejections[0])
	}
	from, to := truth.Start.Unix(), truth.End.Unix()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := truth.Cases[i%len(truth.Cases)]
		if _, err := n.Query.Contacts(n.Pseud.Person(id), from, to, -1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrajectory times a case's 7-day trajectory.
func BenchmarkTrajectory(b *testing.B) {
	var buf bytes.Buffer
	truth, err := sim.Generate(sim.Config{People: 2000, Days: 7, Seed: 1}, ndjson.NewWriter(&buf))
	if err != nil {
		b.Fatal(err)
	}
	h, n := testnode.New(b)
	testnode.Import(b, h, n, buf.String())
	from, to := truth.Start.Unix(), truth.End.Unix()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := n.Query.Trajectory(n.Pseud.Person(truth.Cases[i%len(truth.Cases)]), from, to, false); err != nil {
			b.Fatal(err)
		}
	}
}
