package report_test

import (
	"slices"
	"testing"

	"github.com/epiledger/epiledger/internal/report"
)

// TestMerge: a national investigation's answers merge by time, whatever
// each chain's time zone, each row naming its chain; contacts count
// distinct persons; an empty merge keeps the chains' notes.
func TestMerge(t *testing.T) {
	nanjing := &report.Trajectory{Pseudonym: "p", From: "2021-07-01T08:00:00+08:00", To: "2021-07-20T23:59:59+08:00", Entries: []report.Entry{
		{Site: "lukou", In: "2021-07-10T09:00:00+08:00"}, {Site: "hotel", In: "2021-07-12T20:00:00+08:00"}}}
	// 2021-07-11T02:00Z is 10:00 in Nanjing: between the two.
	suzhou := &report.Trajectory{Pseudonym: "p", From: "2021-06-30T00:00:00Z", To: "2021-07-20T15:59:59Z", Entries: []report.Entry{
		{Site: "station", In: "2021-07-11T02:00:00Z"}}}
	m := report.MergeTrajectories([]report.ChainTrajectory{{Chain: "nanjing", Trajectory: nanjing}, {Chain: "suzhou", Trajectory: suzhou}})
	var got []string
	for _, e := range m.Entries {
		got = append(got, e.Chain+"/"+e.Site)
	}
	if want := []string{"nanjing/lukou", "suzhou/station", "nanjing/hotel"}; !slices.Equal(got, want) {
		t.Errorf("merged trajectory %v, want %v", got, want)
	}
	if m.From != suzhou.From || m.To != nanjing.To || m.Pseudonym != "p" {
		t.Errorf("merged window %s..%s", m.From, m.To)
	}
	c := report.MergeContacts([]report.ChainContacts{
		{Chain: "nanjing", Contacts: &report.Contacts{Contacts: []report.Contact{{Pseudonym: "a", From: "2021-07-10T09:00:00+08:00"}, {Pseudonym: "b", From: "2021-07-09T09:00:00+08:00"}}}},
		{Chain: "suzhou", Contacts: &report.Contacts{Contacts: []report.Contact{{Pseudonym: "a", From: "2021-07-11T02:00:00Z"}}}},
	})
	if c.Persons != 2 || len(c.Contacts) != 3 || c.Contacts[0].Pseudonym != "b" || c.Contacts[2].Chain != "suzhou" {
		t.Errorf("merged contacts: %+v", c)
	}
	empty := report.MergeTrajectories([]report.ChainTrajectory{{Chain: "suzhou", Trajectory: &report.Trajectory{Note: "no records in the window"}}})
	if len(empty.Entries) != 0 || empty.Note != "suzhou: no records in the window" {
		t.Errorf("an empty merge: %+v", empty)
	}
}
