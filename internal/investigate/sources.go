package investigate

import (
	"errors"
	"sort"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/trace"
)

// SourceCase is a case whose source is sought, with the window in which
// it was infected (its incubation window: by default onset-14 d to
// onset-2 d).
type SourceCase struct {
	Person   ledger.Pseudonym
	From, To int64
}

// SourcesQuery asks where one or more cases were infected.
type SourcesQuery struct {
	Cases []SourceCase
	// MinOverlap is the least time together off transport (negative: the
	// rules' default).
	MinOverlap time.Duration
}

// ErrNoCases is returned for a source search without cases.
var ErrNoCases = errors.New("investigate: a source search needs at least one case")

// Met is a person a case met in its window: first and last time
// together, the total time together, the meetings and their sites (device
// ids for encounters) in order. Case says the person is a case.
type Met struct {
	Person      ledger.Pseudonym
	Case        bool
	First, Last int64
	Together    int64 // seconds, summed over meetings
	Meetings    int
	Sites       []string
}

// Visited is a visit of a case in its window (clipped to it), with the
// other cases present at the site during it: a visit of theirs that
// starts before it ends and ends after it starts.
type Visited struct {
	Site     string
	SiteKind string
	In, Out  int64
	TxID     ledger.Hash
	Cases    []ledger.Pseudonym
}

// CaseSources is what a source search found for one case: persons met
// and sites visited in its window, ranked: those involving other cases
// first, then by time.
type CaseSources struct {
	SourceCase
	Persons []Met
	Sites   []Visited
}

// CommonSite is a site that two or more of the cases visited, each in its
// own window, with their visits.
type CommonSite struct {
	Site     string
	SiteKind string
	Cases    int // distinct cases
	Visits   []CaseVisit
}

// CaseVisit is one case's visit at a common site.
type CaseVisit struct {
	Person  ledger.Pseudonym
	In, Out int64
	TxID    ledger.Hash
}

// CommonPerson is a person that two or more of the cases met, each in its
// own window: per case, the first meeting.
type CommonPerson struct {
	Person ledger.Pseudonym
	Case   bool
	Cases  int // distinct cases that met the person
	Met    []CaseMet
}

// CaseMet is when a case first met a common person.
type CaseMet struct {
	Case  ledger.Pseudonym
	First int64
}

// Sources is the result of a source search: per case, then what the
// cases share (empty for one case), ranked by how many cases share it,
// then (persons) cases first, then by time.
type Sources struct {
	Cases         []CaseSources
	CommonSites   []CommonSite
	CommonPersons []CommonPerson
}

// Sources searches for the source of infection of each case: the persons
// met (contacts, encounters included) and the sites visited in its
// window; and, for several cases, the sites and persons two or more of
// them share.
func (iv *Investigator) Sources(sq SourcesQuery) (*Sources, error) {
	if len(sq.Cases) == 0 {
		return nil, ErrNoCases
	}
	cases, err := iv.Cases()
	if err != nil {
		return nil, err
	}
	min := time.Duration(iv.minOverlap(sq.MinOverlap)) * time.Second
	out := &Sources{}
	for _, c := range sq.Cases {
		cs := CaseSources{SourceCase: c, Persons: []Met{}, Sites: []Visited{}}
		ms, err := iv.q.Contacts(c.Person, c.From, c.To, min)
		if err != nil {
			return nil, err
		}
		cs.Persons = aggregate(ms, cases)
		sort.SliceStable(cs.Persons, func(i, j int) bool {
			a, b := &cs.Persons[i], &cs.Persons[j]
			if a.Case != b.Case {
				return a.Case
			}
			if a.First != b.First {
				return a.First < b.First
			}
			return lessP(a.Person, b.Person)
		})
		vs, err := iv.visits(c.Person, c.From, c.To)
		if err != nil {
			return nil, err
		}
		for i := range vs {
			v := &vs[i]
			s, err := iv.q.Site(v.Site)
			if err != nil {
				return nil, err
			}
			seen := map[ledger.Pseudonym]bool{}
			var present []ledger.Pseudonym
			if err := iv.atSite(v.Site, v.In, v.Out, func(o *state.Presence) {
				if o.Person != c.Person && !seen[o.Person] && cases.IsCase(o.Person) {
					seen[o.Person] = true
					present = append(present, o.Person)
				}
			}); err != nil {
				return nil, err
			}
			sortPersons(present)
			cs.Sites = append(cs.Sites, Visited{Site: s.ID, SiteKind: s.Kind, In: v.In, Out: v.Out, TxID: v.TxID, Cases: present})
		}
		sort.SliceStable(cs.Sites, func(i, j int) bool {
			a, b := &cs.Sites[i], &cs.Sites[j]
			if (len(a.Cases) > 0) != (len(b.Cases) > 0) {
				return len(a.Cases) > 0
			}
			if a.In != b.In {
				return a.In < b.In
			}
			if a.Site != b.Site {
				return a.Site < b.Site
			}
			return string(a.TxID[:]) < string(b.TxID[:])
		})
		out.Cases = append(out.Cases, cs)
	}
	out.CommonSites, out.CommonPersons = common(out.Cases, cases)
	return out, nil
}

// aggregate folds a contact list into one row per person, in person
// order.
func aggregate(ms []trace.Contact, cases Cases) []Met {
	byP := map[ledger.Pseudonym]*Met{}
	var order []ledger.Pseudonym
	for i := range ms {
		m := &ms[i]
		r := byP[m.Person]
		if r == nil {
			r = &Met{Person: m.Person, Case: cases.IsCase(m.Person), First: m.From, Last: m.To}
			byP[m.Person] = r
			order = append(order, m.Person)
		}
		r.First, r.Last = min2(r.First, m.From), max(r.Last, m.To)
		r.Together += m.To - m.From
		r.Meetings++
		if !contains(r.Sites, m.Site) {
			r.Sites = append(r.Sites, m.Site)
		}
	}
	sortPersons(order)
	out := make([]Met, 0, len(order))
	for _, p := range order {
		r := byP[p]
		sort.Strings(r.Sites)
		out = append(out, *r)
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// common finds the sites and persons that two or more of the cases share.
func common(per []CaseSources, cases Cases) ([]CommonSite, []CommonPerson) {
	sites := map[string]*CommonSite{}
	persons := map[ledger.Pseudonym]*CommonPerson{}
	for _, cs := range per {
		for _, v := range cs.Sites {
			s := sites[v.Site]
			if s == nil {
				s = &CommonSite{Site: v.Site, SiteKind: v.SiteKind}
				sites[v.Site] = s
			}
			s.Visits = append(s.Visits, CaseVisit{Person: cs.Person, In: v.In, Out: v.Out, TxID: v.TxID})
		}
		for _, m := range cs.Persons {
			p := persons[m.Person]
			if p == nil {
				p = &CommonPerson{Person: m.Person, Case: m.Case}
				persons[m.Person] = p
			}
			p.Met = append(p.Met, CaseMet{Case: cs.Person, First: m.First})
		}
	}
	outS := []CommonSite{}
	for _, s := range sites {
		distinct := map[ledger.Pseudonym]bool{}
		for _, v := range s.Visits {
			distinct[v.Person] = true
		}
		if s.Cases = len(distinct); s.Cases < 2 {
			continue
		}
		sort.Slice(s.Visits, func(i, j int) bool {
			a, b := &s.Visits[i], &s.Visits[j]
			if a.In != b.In {
				return a.In < b.In
			}
			if a.Person != b.Person {
				return lessP(a.Person, b.Person)
			}
			return string(a.TxID[:]) < string(b.TxID[:])
		})
		outS = append(outS, *s)
	}
	sort.Slice(outS, func(i, j int) bool {
		a, b := &outS[i], &outS[j]
		if a.Cases != b.Cases {
			return a.Cases > b.Cases
		}
		if a.Visits[0].In != b.Visits[0].In {
			return a.Visits[0].In < b.Visits[0].In
		}
		return a.Site < b.Site
	})
	outP := []CommonPerson{}
	for _, p := range persons {
		distinct := map[ledger.Pseudonym]bool{}
		for _, m := range p.Met {
			distinct[m.Case] = true
		}
		if p.Cases = len(distinct); p.Cases < 2 {
			continue
		}
		sort.Slice(p.Met, func(i, j int) bool {
			a, b := &p.Met[i], &p.Met[j]
			if a.First != b.First {
				return a.First < b.First
			}
			return lessP(a.Case, b.Case)
		})
		outP = append(outP, *p)
	}
	sort.Slice(outP, func(i, j int) bool {
		a, b := &outP[i], &outP[j]
		if a.Cases != b.Cases {
			return a.Cases > b.Cases
		}
		if a.Case != b.Case {
			return a.Case
		}
		if a.Met[0].First != b.Met[0].First {
			return a.Met[0].First < b.Met[0].First
		}
		return lessP(a.Person, b.Person)
	})
	return outS, outP
}
