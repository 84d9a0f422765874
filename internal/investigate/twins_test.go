package investigate_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
)

// The brute-force twins below read the world's plain lists: every visit
// against every visit, every encounter, every report. They share no code
// with the package, only the definitions in its documentation.

// visitsOf is p's visits that overlap [from, to] (end after from, start
// before to), clipped to it.
func (w *world) visitsOf(p int, from, to int64) []wVisit {
	var out []wVisit
	for _, v := range w.visits {
		if v.person == p && v.out > from && v.in < to {
			v.in, v.out = max(v.in, from), minI(v.out, to)
			out = append(out, v)
		}
	}
	return out
}

// selected is the persons whose latest report has status (any but
// cleared when empty).
func (w *world) selected(status string) []int {
	var out []int
	for p, c := range w.latest() {
		if status == "" && c.status != "cleared" || status != "" && c.status == status {
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return out
}

// row renders a value for comparison, persons by world number.
type namer struct {
	w *world
	n *node.Node
}

func (nm namer) name(p ledger.Pseudonym) string { return fmt.Sprint("P", nm.w.index(nm.n, p)) }

func (nm namer) names(ps []ledger.Pseudonym) string {
	var s []string
	for _, p := range ps {
		s = append(s, nm.name(p))
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// bruteMet folds u's brute-force contacts into per-person rows.
func (w *world) bruteMet(n *node.Node, u int, from, to, min int64) map[int]*investigate.Met {
	rows := map[int]*investigate.Met{}
	for _, m := range w.contactsOf(u, from, to, min) {
		r := rows[m.other]
		if r == nil {
			r = &investigate.Met{Person: w.p(n, m.other), Case: w.isCase(m.other), First: m.start, Last: m.end}
			rows[m.other] = r
		}
		r.First, r.Last = minI(r.First, m.start), max(r.Last, m.end)
		r.Together += m.end - m.start
		r.Meetings++
		found := false
		for _, s := range r.Sites {
			found = found || s == m.site
		}
		if !found {
			r.Sites = append(r.Sites, m.site)
			sort.Strings(r.Sites)
		}
	}
	return rows
}

func lessPs(a, b ledger.Pseudonym) bool { return string(a[:]) < string(b[:]) }

// TestSourcesMatchBruteForce: for random cases (one to three) with random
// incubation windows, the persons met and sites visited (with the other
// cases present) and what the cases share equal the brute force, in the
// documented rank order.
func TestSourcesMatchBruteForce(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 16; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 5))
			w := randomWorld(rng)
			n, iv := w.load(t)
			nm := namer{w, n}
			for q := 0; q < 10; q++ {
				k := 1 + rng.IntN(3)
				var sq investigate.SourcesQuery
				var who []int
				for i := 0; i < k; i++ {
					p := rng.IntN(w.npeople)
					from, to := w.window(rng)
					who = append(who, p)
					sq.Cases = append(sq.Cases, investigate.SourceCase{Person: w.p(n, p), From: from, To: to})
				}
				min := int64([]int{0, 15, 30}[rng.IntN(3)]) * 60
				sq.MinOverlap = time.Duration(min) * time.Second
				got, err := iv.Sources(sq)
				if err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("query %d %v", q, who)
				if len(got.Cases) != k {
					t.Fatalf("%s: %d case results", what, len(got.Cases))
				}
				siteCases := map[string]map[int]bool{}
				personCases := map[int]map[int]bool{}
				for i, p := range who {
					c := sq.Cases[i]
					// Persons met, ranked: cases first, then first meeting, then pseudonym.
					rows := w.bruteMet(n, p, c.From, c.To, min)
					var want []investigate.Met
					for o, r := range rows {
						want = append(want, *r)
						if personCases[o] == nil {
							personCases[o] = map[int]bool{}
						}
						personCases[o][p] = true
					}
					sort.Slice(want, func(i, j int) bool {
						a, b := &want[i], &want[j]
						if a.Case != b.Case {
							return a.Case
						}
						if a.First != b.First {
							return a.First < b.First
						}
						return lessPs(a.Person, b.Person)
					})
					if len(want) == 0 {
						want = []investigate.Met{}
					}
					if !reflect.DeepEqual(got.Cases[i].Persons, want) {
						t.Fatalf("%s case P%d persons\n got %+v\nwant %+v", what, p, got.Cases[i].Persons, want)
					}
					// Sites visited, ranked: with other cases first, then by time.
					type srow struct {
						site    string
						in, out int64
						cases   string
					}
					var wantS []srow
					for _, v := range w.visitsOf(p, c.From, c.To) {
						var present []ledger.Pseudonym
						for _, o := range w.visits {
							if o.site == v.site && o.person != p && w.isCase(o.person) && o.in < v.out && o.out > v.in {
								present = append(present, w.p(n, o.person))
							}
						}
						sname := fmt.Sprint("s", v.site)
						wantS = append(wantS, srow{sname, v.in, v.out, nm.names(dedupe(present))})
						if siteCases[sname] == nil {
							siteCases[sname] = map[int]bool{}
						}
						siteCases[sname][p] = true
					}
					var gotS []srow
					for _, s := range got.Cases[i].Sites {
						gotS = append(gotS, srow{s.Site, s.In, s.Out, nm.names(s.Cases)})
					}
					for j := 1; j < len(gotS); j++ {
						a, b := gotS[j-1], gotS[j]
						if a.cases == "" && b.cases != "" || (a.cases == "") == (b.cases == "") && a.in > b.in {
							t.Fatalf("%s case P%d sites out of rank order: %+v", what, p, gotS)
						}
					}
					if !sameMultiset(gotS, wantS) {
						t.Fatalf("%s case P%d sites\n got %+v\nwant %+v", what, p, gotS, wantS)
					}
				}
				// Shared by two or more cases.
				var wantCS []string
				for s, cs := range siteCases {
					if len(cs) >= 2 {
						wantCS = append(wantCS, fmt.Sprint(s, "/", len(cs)))
					}
				}
				var gotCS []string
				for _, s := range got.CommonSites {
					gotCS = append(gotCS, fmt.Sprint(s.Site, "/", s.Cases))
				}
				if !sameMultiset(gotCS, wantCS) {
					t.Fatalf("%s common sites %v, want %v", what, gotCS, wantCS)
				}
				var wantCP []string
				for o, cs := range personCases {
					if len(cs) >= 2 {
						wantCP = append(wantCP, fmt.Sprint("P", o, "/", len(cs)))
					}
				}
				var gotCP []string
				for i, cp := range got.CommonPersons {
					gotCP = append(gotCP, fmt.Sprint(nm.name(cp.Person), "/", cp.Cases))
					if i > 0 && got.CommonPersons[i-1].Cases < cp.Cases {
						t.Fatalf("%s common persons not ranked by cases", what)
					}
				}
				if !sameMultiset(gotCP, wantCP) {
					t.Fatalf("%s common persons %v, want %v", what, gotCP, wantCP)
				}
			}
		})
	}
}

func dedupe(ps []ledger.Pseudonym) []ledger.Pseudonym {
	seen := map[ledger.Pseudonym]bool{}
	var out []ledger.Pseudonym
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// sameMultiset compares two slices as multisets (by their printed form).
func sameMultiset[T any](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, x := range a {
		count[fmt.Sprintf("%+v", x)]++
	}
	for _, x := range b {
		count[fmt.Sprintf("%+v", x)]--
	}
	for _, c := range count {
		if c != 0 {
			return false
		}
	}
	return true
}

// TestClustersMatchBruteForce: clusters (with and without episodes,
// status filters and a higher case threshold) equal the brute force:
// per site, case presences grouped into episodes, episodes of enough
// distinct cases linked when they share a case, and every other person
// who overlapped a case presence there by the contact rules.
func TestClustersMatchBruteForce(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 16; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 6))
			w := randomWorld(rng)
			// More cases than randomWorld draws, so that clusters form.
			w.moreCases(rng)
			n, iv := w.load(t)
			nm := namer{w, n}
			for q := 0; q < 10; q++ {
				cq := investigate.ClusterQuery{Status: []string{"", "confirmed", "suspected"}[rng.IntN(3)], MinCases: []int{0, 2, 3}[rng.IntN(3)]}
				cq.From, cq.To = w.window(rng)
				if rng.IntN(2) == 0 {
					cq.Within = int64(rng.IntN(4)) * 3600
				}
				min := int64([]int{0, 15, 30}[rng.IntN(3)]) * 60
				cq.MinOverlap = time.Duration(min) * time.Second
				got, err := iv.Clusters(cq)
				if err != nil {
					t.Fatal(err)
				}
				want := w.bruteClusters(cq, min)
				var gotS []string
				for i, c := range got {
					gotS = append(gotS, nm.cluster(c))
					if i > 0 && got[i-1].From > c.From {
						t.Fatalf("query %d: clusters out of time order", q)
					}
				}
				if !sameMultiset(gotS, want) {
					t.Fatalf("query %d %+v\n got %v\nwant %v", q, cq, gotS, want)
				}
			}
		})
	}
}

func (nm namer) cluster(c investigate.Cluster) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cases %s span %d-%d;", nm.names(c.Cases), c.From, c.To)
	var sites []string
	for _, s := range c.Sites {
		var ps []string
		for _, p := range s.Presences {
			ps = append(ps, fmt.Sprintf("%s@%d-%d", nm.name(p.Person), p.In, p.Out))
		}
		sort.Strings(ps)
		sites = append(sites, fmt.Sprintf("%s %d-%d n%d [%s]", s.Site, s.From, s.To, s.Cases, strings.Join(ps, " ")))
	}
	sort.Strings(sites)
	fmt.Fprintf(&b, " sites %s;", strings.Join(sites, " | "))
	var ex []string
	for _, x := range c.Exposed {
		ex = append(ex, fmt.Sprintf("%s %d-%d %v", nm.name(x.Person), x.First, x.Last, x.Sites))
	}
	sort.Strings(ex)
	fmt.Fprintf(&b, " exposed %s", strings.Join(ex, " | "))
	return b.String()
}

func (w *world) bruteClusters(cq investigate.ClusterQuery, min int64) []string {
	minCases := max(cq.MinCases, 2)
	type ep struct {
		site    int
		from    int64
		to      int64
		pres    []wVisit
		persons map[int]bool
	}
	var eps []ep
	cases := w.selected(cq.Status)
	for s := range w.kinds {
		var ps []wVisit
		for _, p := range cases {
			for _, v := range w.visitsOf(p, cq.From, cq.To) {
				if v.site == s {
					ps = append(ps, v)
				}
			}
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].in < ps[j].in })
		var cur *ep
		for _, v := range ps {
			if cur == nil || cq.Within > 0 && v.in > cur.to+cq.Within {
				if cur != nil {
					eps = append(eps, *cur)
				}
				cur = &ep{site: s, from: v.in, to: v.out, persons: map[int]bool{}}
			}
			cur.to = max(cur.to, v.out)
			cur.pres = append(cur.pres, v)
			cur.persons[v.person] = true
		}
		if cur != nil {
			eps = append(eps, *cur)
		}
	}
	var good []ep
	for _, e := range eps {
		if len(e.persons) >= minCases {
			good = append(good, e)
		}
	}
	// Merge episodes sharing a case, by repeated passes.
	comp := make([]int, len(good))
	for i := range comp {
		comp[i] = i
	}
	for changed := true; changed; {
		changed = false
		for i := range good {
			for j := range good {
				shared := false
				for p := range good[i].persons {
					shared = shared || good[j].persons[p]
				}
				if shared && comp[i] != comp[j] {
					c := minInt(comp[i], comp[j])
					comp[i], comp[j], changed = c, c, true
				}
			}
		}
	}
	var out []string
	for c := range good {
		var members []ep
		for i := range good {
			if comp[i] == c {
				members = append(members, good[i])
			}
		}
		if len(members) == 0 {
			continue
		}
		persons := map[int]bool{}
		from, to := int64(1)<<62, int64(-1)<<62
		var sites []string
		for _, e := range members {
			var ps []string
			for _, v := range e.pres {
				persons[v.person] = true
				ps = append(ps, fmt.Sprintf("P%d@%d-%d", v.person, v.in, v.out))
			}
			sort.Strings(ps)
			from, to = minI(from, e.from), max(to, e.to)
			sites = append(sites, fmt.Sprintf("s%d %d-%d n%d [%s]", e.site, e.from, e.to, len(e.persons), strings.Join(ps, " ")))
		}
		sort.Strings(sites)
		type x struct {
			first, last int64
			sites       map[string]bool
		}
		exposed := map[int]*x{}
		for _, e := range members {
			k := w.kinds[e.site]
			for _, o := range w.visits {
				if o.site != e.site || persons[o.person] {
					continue
				}
				for _, c := range e.pres {
					f, t := max(c.in, o.in), minI(c.out, o.out)
					if t <= f || !slices.Contains(ledger.DefaultTransportKinds, k) && t-f < min {
						continue
					}
					r := exposed[o.person]
					if r == nil {
						r = &x{f, t, map[string]bool{}}
						exposed[o.person] = r
					}
					r.first, r.last = minI(r.first, f), max(r.last, t)
					r.sites[fmt.Sprint("s", e.site)] = true
				}
			}
		}
		var ex []string
		for p, r := range exposed {
			var ss []string
			for s := range r.sites {
				ss = append(ss, s)
			}
			sort.Strings(ss)
			ex = append(ex, fmt.Sprintf("P%d %d-%d %v", p, r.first, r.last, ss))
		}
		sort.Strings(ex)
		var names []string
		for p := range persons {
			names = append(names, fmt.Sprint("P", p))
		}
		sort.Strings(names)
		out = append(out, fmt.Sprintf("cases %s span %d-%d; sites %s; exposed %s", strings.Join(names, ","), from, to,
			strings.Join(sites, " | "), strings.Join(ex, " | ")))
	}
	return out
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// TestRiskSitesMatchBruteForce: risk sites equal, per site not of an
// excluded kind, the union of the selected cases' clipped visits; and no
// field of the result can name a person.
func TestRiskSitesMatchBruteForce(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 7))
			w := randomWorld(rng)
			n, iv := w.load(t)
			for q := 0; q < 10; q++ {
				rq := investigate.RiskQuery{Status: []string{"", "confirmed"}[rng.IntN(2)]}
				rq.From, rq.To = w.window(rng)
				exclude := investigate.DefaultPrivateKinds
				if rng.IntN(3) == 0 {
					rq.Exclude = []string{"shop", "taxi"}
					exclude = rq.Exclude
				}
				got, err := iv.RiskSites(rq)
				if err != nil {
					t.Fatal(err)
				}
				periods := map[int][][2]int64{}
				for _, p := range w.selected(rq.Status) {
					for _, v := range w.visitsOf(p, rq.From, rq.To) {
						periods[v.site] = append(periods[v.site], [2]int64{v.in, v.out})
					}
				}
				var want []string
				for s, ps := range periods {
					excluded := false
					for _, k := range exclude {
						excluded = excluded || w.kinds[s] == k
					}
					if excluded {
						continue
					}
					// Union by sweeping every second boundary pair.
					sort.Slice(ps, func(i, j int) bool { return ps[i][0] < ps[j][0] || ps[i][0] == ps[j][0] && ps[i][1] < ps[j][1] })
					var u [][2]int64
					for _, p := range ps {
						if len(u) > 0 && p[0] <= u[len(u)-1][1] {
							u[len(u)-1][1] = max(u[len(u)-1][1], p[1])
						} else {
							u = append(u, p)
						}
					}
					want = append(want, fmt.Sprintf("s%d %s %v", s, w.kinds[s], u))
				}
				var gotS []string
				for i, r := range got {
					var u [][2]int64
					for _, p := range r.Periods {
						u = append(u, [2]int64{p.From, p.To})
					}
					gotS = append(gotS, fmt.Sprintf("%s %s %v", r.Site, r.Kind, u))
					if r.Name != "Site "+r.Site[1:] || r.LatE6 == 0 {
						t.Fatalf("site details %+v", r)
					}
					if i > 0 && got[i-1].Periods[0].From > r.Periods[0].From {
						t.Fatalf("risk sites out of order")
					}
				}
				if !sameMultiset(gotS, want) {
					t.Fatalf("query %d %+v\n got %v\nwant %v", q, rq, gotS, want)
				}
				_ = n
			}
		})
	}
}

// TestFollowUpMatchesBruteForce: the follow-up list is one row per
// contact (co-presence and encounters) with first and last exposure, the
// meetings, the sites and last exposure + days, most recent first.
func TestFollowUpMatchesBruteForce(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 8))
			w := randomWorld(rng)
			n, iv := w.load(t)
			for q := 0; q < 10; q++ {
				p := rng.IntN(w.npeople)
				from, to := w.window(rng)
				days := []int{7, 14, 21}[rng.IntN(3)]
				min := int64([]int{0, 15, 30}[rng.IntN(3)]) * 60
				got, err := iv.FollowUp(investigate.FollowUpQuery{Person: w.p(n, p), From: from, To: to, Days: days, MinOverlap: time.Duration(min) * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				want := []investigate.FollowUp{}
				for _, r := range w.bruteMet(n, p, from, to, min) {
					want = append(want, investigate.FollowUp{Met: *r, Until: r.Last + int64(days)*86400})
				}
				sort.Slice(want, func(i, j int) bool {
					if want[i].Last != want[j].Last {
						return want[i].Last > want[j].Last
					}
					return lessPs(want[i].Person, want[j].Person)
				})
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("query %d P%d\n got %+v\nwant %+v", q, p, got, want)
				}
			}
		})
	}
}

// TestContactsIncludeEncountersMatchBruteForce: the contact query every
// investigation builds on (trace.Contacts, with encounters joining
// co-presence) equals the brute-force contact list.
func TestContactsIncludeEncountersMatchBruteForce(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 9))
			w := randomWorld(rng)
			n, _ := w.load(t)
			for q := 0; q < 15; q++ {
				p := rng.IntN(w.npeople)
				from, to := w.window(rng)
				min := int64([]int{0, 15, 30}[rng.IntN(3)]) * 60
				cs, err := n.Query.Contacts(w.p(n, p), from, to, time.Duration(min)*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				var got, want []string
				for _, c := range cs {
					got = append(got, fmt.Sprintf("P%d %s %s %d-%d", w.index(n, c.Person), c.Site, c.SiteKind, c.From, c.To))
				}
				for _, m := range w.contactsOf(p, from, to, min) {
					want = append(want, fmt.Sprintf("P%d %s %s %d-%d", m.other, m.site, m.kind, m.start, m.end))
				}
				if !sameMultiset(got, want) {
					t.Fatalf("query %d P%d\n got %v\nwant %v", q, p, got, want)
				}
			}
		})
	}
}
