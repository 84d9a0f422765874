package investigate_test

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/testnode"
)

// A world is a small random city written as plain lists, loaded into a
// node for the fast queries and read directly by the brute-force twins.

type wVisit struct {
	site, person int
	in, out      int64
}

type wEnc struct {
	a, b       int
	start, end int64
}

type wCase struct {
	person   int
	status   string
	onset    string // YYYY-MM-DD or ""
	reported int64
}

type world struct {
	kinds   []string // per site
	npeople int
	visits  []wVisit
	encs    []wEnc
	cases   []wCase
	base    int64
	loc     *time.Location
	// validated worlds are loaded with validation on: some visits are
	// refused at the door, some rejected when their window closes.
	validated bool
}

var worldKinds = []string{"office", "shop", "taxi", "metro", "train_carriage", "home", "venue", "restaurant"}

// worldBase is midnight of 2020-01-20 in the display offset (+08:00).
var worldLoc = time.FixedZone("CST", 8*3600)
var worldBase = time.Date(2020, 1, 20, 0, 0, 0, 0, worldLoc).Unix()

// randomWorld draws sites of mixed kinds, persons, visits of lengths
// around the 15-minute threshold, encounters and case reports (some
// without onset, some cleared, some reported twice), over about 2 days.
func randomWorld(rng *rand.Rand) *world {
	w := &world{base: worldBase, loc: worldLoc}
	nsites := 2 + rng.IntN(4)
	for s := 0; s < nsites; s++ {
		w.kinds = append(w.kinds, worldKinds[rng.IntN(len(worldKinds))])
	}
	w.npeople = 3 + rng.IntN(9)
	seen := map[wVisit]bool{}
	for i := 0; i < 30+rng.IntN(70); i++ {
		v := wVisit{site: rng.IntN(nsites), person: rng.IntN(w.npeople)}
		v.in = w.base + int64(rng.IntN(2))*86400 + 8*3600 + int64(rng.IntN(10*4))*900
		v.out = v.in + int64([]int{0, 1, 10, 14, 15, 16, 45, 60, 120, 240, 600}[rng.IntN(11)])*60
		if !seen[v] {
			seen[v] = true
			w.visits = append(w.visits, v)
		}
	}
	seenE := map[wEnc]bool{}
	for i := 0; i < rng.IntN(20); i++ {
		e := wEnc{a: rng.IntN(w.npeople), b: rng.IntN(w.npeople)}
		if e.a == e.b {
			continue
		}
		if e.a > e.b {
			e.a, e.b = e.b, e.a
		}
		e.start = w.base + int64(rng.IntN(2))*86400 + 8*3600 + int64(rng.IntN(10*60))*60
		e.end = e.start + int64(1+rng.IntN(3))*int64([]int{20, 60, 600}[rng.IntN(3)])
		if !seenE[e] {
			seenE[e] = true
			w.encs = append(w.encs, e)
		}
	}
	statuses := []string{"confirmed", "confirmed", "suspected", "recovered", "cleared"}
	for p := 0; p < w.npeople; p++ {
		if rng.IntN(3) != 0 {
			continue
		}
		at := w.base + int64(rng.IntN(4*24))*3600
		for r := 0; r < 1+rng.IntN(2); r++ {
			at += int64(1+rng.IntN(48)) * 3600 // distinct times: the latest report is unambiguous
			c := wCase{person: p, status: statuses[rng.IntN(len(statuses))], reported: at}
			if rng.IntN(4) != 0 {
				c.onset = time.Unix(w.base, 0).In(w.loc).AddDate(0, 0, rng.IntN(20)).Format("2006-01-02")
			}
			w.cases = append(w.cases, c)
		}
	}
	return w
}

// moreCases confirms about a third of the persons, late (after every
// visit), so that clusters form.
func (w *world) moreCases(rng *rand.Rand) {
	for p := 0; p < w.npeople; p++ {
		if rng.IntN(3) == 0 {
			w.cases = append(w.cases, wCase{person: p, status: "confirmed", reported: w.base + 30*86400 + int64(p)})
		}
	}
}

// load imports the world into a fresh node (validation off: random worlds
// are not physically consistent) and returns the node and an
// investigator on it.
func (w *world) load(t testing.TB) (*node.Node, *investigate.Investigator) {
	t.Helper()
	h, n := testnode.New(t, testnode.NoValidation)
	w.fill(t, h, n)
	return n, investigate.New(n.DB, n.Query)
}

// fill imports the world into node n of home h.
func (w *world) fill(t testing.TB, h *home.Home, n *node.Node) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintln(&b, `{"type":"site","site":"hosp","kind":"hospital","lat":30.5,"lon":114.3}`)
	fmt.Fprintln(&b, `{"type":"site","site":"tag","kind":"device","lat":0,"lon":0}`)
	for s, k := range w.kinds {
		fmt.Fprintf(&b, `{"type":"site","site":"s%d","kind":"%s","name":"Site %d","lat":30.%d,"lon":114.%d,"region":"420100"}`+"\n", s, k, s, 500+s, 300+s)
	}
	ts := func(u int64) string { return time.Unix(u, 0).In(w.loc).Format(time.RFC3339) }
	for _, v := range w.visits {
		fmt.Fprintf(&b, `{"type":"visit","site":"s%d","person":"id:P%d","in":"%s","out":"%s"}`+"\n", v.site, v.person, ts(v.in), ts(v.out))
	}
	for _, c := range w.cases {
		onset := ""
		if c.onset != "" {
			onset = fmt.Sprintf(`,"onset":"%s"`, c.onset)
		}
		fmt.Fprintf(&b, `{"type":"case","person":"id:P%d","status":"%s"%s,"reported":"%s","by":"hosp"}`+"\n", c.person, c.status, onset, ts(c.reported))
	}
	if res := testnode.Import(t, h, n, b.String()); res.Rejected != 0 && !w.validated {
		t.Fatalf("world import: %v", res.Rejections)
	}
	if len(w.encs) > 0 {
		key, err := h.Keys.Get("tag")
		if err != nil || key == nil {
			t.Fatalf("device key: %v", err)
		}
		b.Reset()
		for _, e := range w.encs {
			a, bb := ledger.PersonRef{Ref: w.p(n, e.a)}, ledger.PersonRef{Ref: w.p(n, e.b)}
			if ledger.RefLess(bb, a) {
				a, bb = bb, a
			}
			tx := ledger.NewTx(&ledger.Encounter{Device: "tag", A: a, B: bb, Start: e.start, Duration: uint32(e.end - e.start)})
			tx.Sign(h.Genesis.ChainID, key)
			fmt.Fprintf(&b, `{"type":"tx","tx":"%s"}`+"\n", base64.StdEncoding.EncodeToString(tx.Bytes()))
		}
		if res := testnode.Import(t, h, n, b.String()); res.Rejected != 0 {
			t.Fatalf("encounter import: %v", res.Rejections)
		}
	}
}

// p is person i's pseudonym.
func (w *world) p(n *node.Node, i int) ledger.Pseudonym { return n.Pseud.Person(fmt.Sprint("P", i)) }

// meeting is a contact as the twin computes it.
type meeting struct {
	other      int
	site       string // "s3", or "tag" for an encounter
	kind       string // the site kind, or "encounter"
	start, end int64
}

// contactsOf is the brute-force contact list of person u in [from, to]:
// every pair of u's visit and another person's visit at the same site,
// overlapping by at least min (any overlap on transport), and every
// encounter of u, each clipped to the window.
func (w *world) contactsOf(u int, from, to, min int64) []meeting {
	var out []meeting
	for _, a := range w.visits {
		if a.person != u {
			continue
		}
		for _, o := range w.visits {
			if o.person == u || o.site != a.site {
				continue
			}
			f := max(a.in, o.in, from)
			t := minI(a.out, o.out, to)
			k := w.kinds[a.site]
			if t > f && (slices.Contains(ledger.DefaultTransportKinds, k) || t-f >= min) {
				out = append(out, meeting{other: o.person, site: fmt.Sprint("s", a.site), kind: k, start: f, end: t})
			}
		}
	}
	for _, e := range w.encs {
		other := -1
		switch u {
		case e.a:
			other = e.b
		case e.b:
			other = e.a
		}
		if other < 0 {
			continue
		}
		if f, t := max(e.start, from), minI(e.end, to); t > f {
			out = append(out, meeting{other: other, site: "tag", kind: "encounter", start: f, end: t})
		}
	}
	return out
}

func minI(a int64, bs ...int64) int64 {
	for _, b := range bs {
		if b < a {
			a = b
		}
	}
	return a
}

// latest is the latest report of each person (reported times of a person
// are distinct).
func (w *world) latest() map[int]wCase {
	out := map[int]wCase{}
	for _, c := range w.cases {
		if o, ok := out[c.person]; !ok || c.reported >= o.reported {
			out[c.person] = c
		}
	}
	return out
}

func (w *world) isCase(p int) bool {
	c, ok := w.latest()[p]
	return ok && c.status != "cleared"
}

// index is the world number of a pseudonym (-1 if none).
func (w *world) index(n *node.Node, p ledger.Pseudonym) int {
	for i := 0; i < w.npeople; i++ {
		if w.p(n, i) == p {
			return i
		}
	}
	return -1
}

// window draws a query window: half the time the whole world, else a
// random stretch of it.
func (w *world) window(rng *rand.Rand) (from, to int64) {
	if rng.IntN(2) == 0 {
		return w.base - 3600, w.base + 3*86400
	}
	from = w.base + int64(rng.IntN(36*60)-60)*60
	return from, from + int64(rng.IntN(2*24*60))*60
}
