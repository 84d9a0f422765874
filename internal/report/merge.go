package report

import (
	"slices"
	"strings"
	"time"
)

// A national investigation (issue 15, docs/REGIONS.md step 8) asks each
// region's chain under one grant and merges the answers: one person's
// trajectory across the chains, by time, and the union of their contact
// lists, each row naming the chain that answered it (site ids are each
// chain's own). The chains name persons by pseudonym, the same in every
// region (docs/PRIVACY.md section 5), so the rows join on it.

// ChainTrajectory is one chain's answer.
type ChainTrajectory struct {
	Chain string
	*Trajectory
}

// ChainContacts is one chain's answer.
type ChainContacts struct {
	Chain string
	*Contacts
}

// MergeTrajectories merges the chains' trajectories of one person into
// one, ordered by time; its window spans theirs.
func MergeTrajectories(parts []ChainTrajectory) *Trajectory {
	out := &Trajectory{Entries: []Entry{}}
	var notes []string
	for i, p := range parts {
		if i == 0 {
			out.Pseudonym, out.From, out.To, out.WindowBasis = p.Pseudonym, p.From, p.To, p.WindowBasis
		}
		out.From, out.To = earlier(out.From, p.From), later(out.To, p.To)
		for _, e := range p.Entries {
			e.Chain = p.Chain
			out.Entries = append(out.Entries, e)
		}
		if len(p.Entries) == 0 && p.Note != "" {
			notes = append(notes, p.Chain+": "+p.Note)
		}
	}
	slices.SortStableFunc(out.Entries, func(a, b Entry) int { return compareTimes(a.In, b.In) })
	if len(out.Entries) == 0 {
		out.Note = strings.Join(notes, "\n")
	}
	return out
}

// MergeContacts merges the chains' contact lists of one person, ordered
// by the time of the meeting; Persons counts distinct pseudonyms.
func MergeContacts(parts []ChainContacts) *Contacts {
	out := &Contacts{Contacts: []Contact{}}
	seen := map[string]bool{}
	var notes []string
	for i, p := range parts {
		if i == 0 {
			out.Pseudonym, out.From, out.To, out.MinOverlap, out.WindowBasis = p.Pseudonym, p.From, p.To, p.MinOverlap, p.WindowBasis
		}
		out.From, out.To = earlier(out.From, p.From), later(out.To, p.To)
		for _, c := range p.Contacts.Contacts {
			c.Chain = p.Chain
			out.Contacts = append(out.Contacts, c)
			seen[c.Pseudonym] = true
		}
		if len(p.Contacts.Contacts) == 0 && p.Note != "" {
			notes = append(notes, p.Chain+": "+p.Note)
		}
	}
	slices.SortStableFunc(out.Contacts, func(a, b Contact) int { return compareTimes(a.From, b.From) })
	out.Persons = len(seen)
	if len(out.Contacts) == 0 {
		out.Note = strings.Join(notes, "\n")
	}
	return out
}

// compareTimes orders RFC 3339 times, which chains in other time zones
// write with other offsets; one that does not parse goes last.
func compareTimes(a, b string) int {
	ta, ea := time.Parse(time.RFC3339, a)
	tb, eb := time.Parse(time.RFC3339, b)
	switch {
	case ea != nil || eb != nil:
		return strings.Compare(a, b)
	default:
		return ta.Compare(tb)
	}
}

func earlier(a, b string) string {
	if a == "" || compareTimes(b, a) < 0 {
		return b
	}
	return a
}

func later(a, b string) string {
	if a == "" || compareTimes(b, a) > 0 {
		return b
	}
	return a
}
