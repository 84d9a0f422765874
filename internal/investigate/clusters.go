package investigate

import (
	"sort"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// ClusterQuery asks for the clusters of cases in a window.
type ClusterQuery struct {
	From, To int64
	// Status selects the cases by their latest report's status; empty
	// means every status but "cleared".
	Status string
	// Within, when positive, splits a site's case presences into
	// episodes: a presence that starts more than Within after every
	// earlier one ended starts a new episode. Zero: one episode per site
	// over the whole window.
	Within int64
	// MinCases is how many distinct cases make an episode a cluster
	// site (at least 2; 0 means 2).
	MinCases int
	// MinOverlap is the least time together off transport for a person
	// to count as exposed (negative: the rules' default).
	MinOverlap time.Duration
}

// CasePresence is a case's visit at a cluster site, clipped to the
// window.
type CasePresence struct {
	Person  ledger.Pseudonym
	In, Out int64
	TxID    ledger.Hash
}

// ClusterSite is one episode at a site: the cases' presences in it and
// their span.
type ClusterSite struct {
	Site      string
	SiteKind  string
	From, To  int64
	Cases     int // distinct cases
	Presences []CasePresence
}

// Exposed is a person who was with a cluster's case at one of its sites
// (a contact by the usual rules): first and last time together there, and
// the sites.
type Exposed struct {
	Person      ledger.Pseudonym
	First, Last int64
	Sites       []string
}

// Cluster is a group of cases linked by sites where two or more of them
// were present; clusters that share a case are one.
type Cluster struct {
	Cases    []ledger.Pseudonym
	From, To int64
	Sites    []ClusterSite
	Exposed  []Exposed
}

// caseVisits reads the visits of the cases with status (see
// Cases.Select) in [from, to], clipped to it, by site number.
func (iv *Investigator) caseVisits(status string, from, to int64) (map[uint32][]CasePresence, error) {
	cases, err := iv.Cases()
	if err != nil {
		return nil, err
	}
	bySite := map[uint32][]CasePresence{}
	for _, p := range cases.Select(status) {
		vs, err := iv.visits(p, from, to)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			bySite[v.Site] = append(bySite[v.Site], CasePresence{Person: p, In: v.In, Out: v.Out, TxID: v.TxID})
		}
	}
	return bySite, nil
}

// Clusters finds the sites where MinCases or more cases were present in
// the window (per episode when Within is set), with everyone exposed
// there, and merges the ones that share a case. It reads each case's
// records in the window and, for each cluster site, the site's
// presences around the episode. Clusters come ordered by start, then
// first case.
func (iv *Investigator) Clusters(cq ClusterQuery) ([]Cluster, error) {
	if cq.MinCases < 2 {
		cq.MinCases = 2
	}
	min := iv.minOverlap(cq.MinOverlap)
	bySite, err := iv.caseVisits(cq.Status, cq.From, cq.To)
	if err != nil {
		return nil, err
	}
	nums := make([]uint32, 0, len(bySite))
	for n := range bySite {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })

	type episode struct {
		num  uint32
		site ClusterSite
	}
	var eps []episode
	for _, num := range nums {
		ps := bySite[num]
		sort.Slice(ps, func(i, j int) bool {
			a, b := &ps[i], &ps[j]
			if a.In != b.In {
				return a.In < b.In
			}
			if a.Person != b.Person {
				return lessP(a.Person, b.Person)
			}
			return string(a.TxID[:]) < string(b.TxID[:])
		})
		for i := 0; i < len(ps); {
			j, end := i+1, ps[i].Out
			for j < len(ps) && (cq.Within <= 0 || ps[j].In <= end+cq.Within) {
				end = max(end, ps[j].Out)
				j++
			}
			group := ps[i:j]
			i = j
			distinct := map[ledger.Pseudonym]bool{}
			for _, c := range group {
				distinct[c.Person] = true
			}
			if len(distinct) < cq.MinCases {
				continue
			}
			s, err := iv.q.Site(num)
			if err != nil {
				return nil, err
			}
			eps = append(eps, episode{num: num, site: ClusterSite{Site: s.ID, SiteKind: s.Kind, From: group[0].In, To: end,
				Cases: len(distinct), Presences: append([]CasePresence(nil), group...)}})
		}
	}

	// Episodes sharing a case are one cluster.
	parent := make([]int, len(eps))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	firstEp := map[ledger.Pseudonym]int{}
	for i, e := range eps {
		for _, c := range e.site.Presences {
			if j, ok := firstEp[c.Person]; ok {
				parent[find(i)] = find(j)
			} else {
				firstEp[c.Person] = i
			}
		}
	}
	groups := map[int][]int{}
	var roots []int
	for i := range eps {
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], i)
	}

	out := make([]Cluster, 0, len(roots))
	for _, r := range roots {
		cl := Cluster{From: 1 << 62, To: -1 << 62}
		inCluster := map[ledger.Pseudonym]bool{}
		for _, i := range groups[r] {
			for _, c := range eps[i].site.Presences {
				if !inCluster[c.Person] {
					inCluster[c.Person] = true
					cl.Cases = append(cl.Cases, c.Person)
				}
			}
		}
		sortPersons(cl.Cases)
		exposed := map[ledger.Pseudonym]*Exposed{}
		for _, i := range groups[r] {
			e := &eps[i]
			cl.Sites = append(cl.Sites, e.site)
			cl.From, cl.To = min2(cl.From, e.site.From), max(cl.To, e.site.To)
			transport := iv.q.Transport(e.site.SiteKind)
			err := iv.atSite(e.num, e.site.From, e.site.To, func(o *state.Presence) {
				if inCluster[o.Person] {
					return
				}
				for _, c := range e.site.Presences {
					f, t := max(c.In, o.In), min2(c.Out, o.Out)
					if t <= f || !transport && t-f < min {
						continue
					}
					x := exposed[o.Person]
					if x == nil {
						x = &Exposed{Person: o.Person, First: f, Last: t}
						exposed[o.Person] = x
					}
					x.First, x.Last = min2(x.First, f), max(x.Last, t)
					if !contains(x.Sites, e.site.Site) {
						x.Sites = append(x.Sites, e.site.Site)
					}
				}
			})
			if err != nil {
				return nil, err
			}
		}
		sort.Slice(cl.Sites, func(i, j int) bool {
			a, b := &cl.Sites[i], &cl.Sites[j]
			if a.From != b.From {
				return a.From < b.From
			}
			return a.Site < b.Site
		})
		cl.Exposed = []Exposed{}
		for _, x := range exposed {
			sort.Strings(x.Sites)
			cl.Exposed = append(cl.Exposed, *x)
		}
		sort.Slice(cl.Exposed, func(i, j int) bool {
			a, b := &cl.Exposed[i], &cl.Exposed[j]
			if a.First != b.First {
				return a.First < b.First
			}
			return lessP(a.Person, b.Person)
		})
		out = append(out, cl)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return lessP(out[i].Cases[0], out[j].Cases[0])
	})
	return out, nil
}
