package report

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/sim"
)

// TruthDiff compares the ledger's contacts of every case in a simulated
// world with the world's ground truth.
type TruthDiff struct {
	Cases    int
	Expected int      // contacts in the ground truth
	Found    int      // contacts the ledger returned
	Missing  []string // in the truth, not found
	Extra    []string // found, not in the truth
}

// OK is true when the ledger found exactly the ground truth.
func (d *TruthDiff) OK() bool { return len(d.Missing) == 0 && len(d.Extra) == 0 }

func contactKey(caseID, other, site string, from, to time.Time) string {
	return fmt.Sprintf("%s %s %s %d %d", caseID, other, site, from.Unix(), to.Unix())
}

// CheckTruth runs the contact query for every case of t over t's whole
// period, audited as c, and compares with t's contacts (other person,
// site, overlap).
func (b *Builder) CheckTruth(ctx context.Context, c node.Caller, t *sim.Truth) (*TruthDiff, error) {
	d := &TruthDiff{Cases: len(t.Cases)}
	for _, cid := range t.Cases {
		want := map[string]bool{}
		for _, c := range t.Contacts[cid] {
			want[contactKey(cid, c.Other, c.Site, c.From, c.To)] = true
		}
		d.Expected += len(want)
		rd, err := b.Contacts(Query{Person: "id:" + cid, From: t.Start.Format(time.RFC3339), To: t.End.Format(time.RFC3339)})
		if err != nil {
			return nil, fmt.Errorf("case %d: %w", len(d.Missing), err)
		}
		rep, err := node.Perform(ctx, b.N, c, rd)
		if err != nil {
			return nil, fmt.Errorf("case %d: %w", len(d.Missing), err)
		}
		got := map[string]bool{}
		for _, c := range rep.Contacts {
			from, _ := time.Parse(time.RFC3339, c.From)
			to, _ := time.Parse(time.RFC3339, c.To)
			other := c.Person
			if len(other) > 3 && other[:3] == "id:" {
				other = other[3:]
			}
			got[contactKey(cid, other, c.Site, from, to)] = true
		}
		d.Found += len(got)
		for k := range want {
			if !got[k] {
				d.Missing = append(d.Missing, k)
			}
		}
		for k := range got {
			if !want[k] {
				d.Extra = append(d.Extra, k)
			}
		}
	}
	sort.Strings(d.Missing)
	sort.Strings(d.Extra)
	return d, nil
}
