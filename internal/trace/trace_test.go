package trace_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/testnode"
	"github.com/epiledger/epiledger/internal/trace"
)

type visit struct {
	site, person string
	in, out      int64
}

// TestContactsMatchBruteForce builds random small worlds (sites of every
// kind, overlapping visits of all lengths, aliases) and checks the indexed
// trajectory and contact queries against a brute-force scan of every visit,
// for random persons, windows and minimum overlaps.
func TestContactsMatchBruteForce(t *testing.T) {
	t.Parallel()
	kinds := []string{"office", "shop", "taxi", "metro", "train_carriage", "home", "venue"}
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 99))
			// Random worlds are not physically consistent: validation
			// would rightly reject records the twin does not know about.
			h, n := testnode.New(t, testnode.NoValidation)
			var b strings.Builder
			nsites, npeople := 2+rng.IntN(6), 3+rng.IntN(12)
			kindOf := map[string]string{}
			for s := 0; s < nsites; s++ {
				k := kinds[rng.IntN(len(kinds))]
				kindOf[fmt.Sprint("s", s)] = k
				fmt.Fprintf(&b, `{"type":"site","site":"s%d","kind":"%s","lat":30.5,"lon":114.3}`+"\n", s, k)
			}
			for p := 0; p < npeople; p++ {
				fmt.Fprintf(&b, `{"type":"identity","id":"P%d","aliases":["phone:%d"]}`+"\n", p, 1000+p)
			}
			base := time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC).Unix()
			var vs []visit
			for i := 0; i < 40+rng.IntN(80); i++ {
				v := visit{site: fmt.Sprint("s", rng.IntN(nsites)), person: fmt.Sprint("P", rng.IntN(npeople))}
				v.in = base + int64(rng.IntN(48*60))*60
				v.out = v.in + int64([]int{0, 1, 14, 15, 16, 60, 600, 2000}[rng.IntN(8)])*60
				vs = append(vs, v)
				ref := "id:" + v.person
				if rng.IntN(3) == 0 {
					ref = fmt.Sprintf("phone:%d", 1000+atoi(v.person[1:]))
				}
				fmt.Fprintf(&b, `{"type":"visit","site":"%s","person":"%s","in":"%s","out":"%s"}`+"\n", v.site, ref,
					time.Unix(v.in, 0).UTC().Format(time.RFC3339), time.Unix(v.out, 0).UTC().Format(time.RFC3339))
			}
			if res := testnode.Import(t, h, n, b.String()); res.Rejected != 0 {
				// Identical random visits are replays; drop them from the twin too.
				vs = dedupe(vs)
				for _, r := range res.Rejections {
					if r.Code != "replay" {
						t.Fatalf("unexpected rejection %v", r)
					}
				}
			}
			for q := 0; q < 30; q++ {
				who := fmt.Sprint("P", rng.IntN(npeople))
				from := base + int64(rng.IntN(50*60)-120)*60
				to := from + int64(rng.IntN(30*60))*60
				min := time.Duration([]int{0, 15, 30}[rng.IntN(3)]) * time.Minute
				p := n.Pseud.Person(who)
				got, err := n.Query.Contacts(p, from, to, min)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteContacts(vs, kindOf, who, from, to, int64(min/time.Second))
				if g, w := render(n, testnode.Receipt(t, n), got), strings.Join(want, "\n"); g != w {
					t.Fatalf("query %d (%s, [%d,%d], min %s):\n got:\n%s\nwant:\n%s", q, who, from, to, min, g, w)
				}
				tr, err := n.Query.Trajectory(p, from, to, false)
				if err != nil {
					t.Fatal(err)
				}
				var gt []string
				for _, e := range tr {
					gt = append(gt, fmt.Sprintf("%s %d %d", e.Site, e.In, e.Out))
				}
				sort.Strings(gt)
				if g, w := strings.Join(gt, "\n"), strings.Join(bruteTrajectory(vs, who, from, to), "\n"); g != w {
					t.Fatalf("trajectory %d: got\n%s\nwant\n%s", q, g, w)
				}
			}
		})
	}
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func dedupe(vs []visit) []visit {
	seen := map[visit]bool{}
	var out []visit
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func bruteContacts(vs []visit, kindOf map[string]string, who string, from, to, min int64) []string {
	var out []string
	for _, a := range vs {
		if a.person != who {
			continue
		}
		lo, hi := max(a.in, from), minInt(a.out, to)
		if hi < lo {
			continue
		}
		for _, o := range vs {
			if o.person == who || o.site != a.site {
				continue
			}
			f, t := max(lo, o.in), minInt(hi, o.out)
			if t <= f {
				continue
			}
			if slices.Contains(ledger.DefaultTransportKinds, kindOf[a.site]) || t-f >= min {
				out = append(out, fmt.Sprintf("%s %s %d %d", o.person, a.site, f, t))
			}
		}
	}
	sort.Strings(out)
	return out
}

func bruteTrajectory(vs []visit, who string, from, to int64) []string {
	var out []string
	for _, v := range vs {
		if v.person == who && v.out >= from && v.in <= to {
			out = append(out, fmt.Sprintf("%s %d %d", v.site, v.in, v.out))
		}
	}
	sort.Strings(out)
	return out
}

func minInt(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func render(n *node.Node, rc *node.Receipt, cs []trace.Contact) string {
	var out []string
	for _, c := range cs {
		id, _, _ := n.RealID(rc, c.Person)
		out = append(out, fmt.Sprintf("%s %s %d %d", id, c.Site, c.From, c.To))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
