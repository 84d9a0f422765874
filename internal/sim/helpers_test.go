package sim

import (
	"bufio"
	"bytes"
	"cmp"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
)

// output is what a test can learn from the NDJSON alone, with every person
// reference resolved to its canonical id. It is built without any of the
// simulator's internal state, so the checks below are independent of it.
type output struct {
	lines     int
	sites     map[string]*ndjson.Site
	siteOrder []string
	owner     map[string]string // "id:X" or alias -> canonical id
	ids       []string
	visits    []visit // in output order
	moves     []*ndjson.Move
	cases     []*ndjson.Case
	caseIDs   []string // canonical ids of the case records' persons
}

type visit struct {
	*ndjson.Visit
	id string // canonical id of Person
}

// parseOutput parses every line and checks what any output must satisfy:
// each line parses; sites come first, then identities, then the rest in
// non-decreasing time; ids and aliases are unique; parents, referenced
// sites and person references exist.
func parseOutput(t testing.TB, data []byte) *output {
	t.Helper()
	o := &output{sites: map[string]*ndjson.Site{}, owner: map[string]string{}}
	phase := 0 // 0 sites, 1 identities, 2 events
	var last time.Time
	resolve := func(ref string) string {
		id, ok := o.owner[ref]
		if !ok {
			t.Fatalf("line %d: person ref %q is neither id:<known id> nor a bound alias", o.lines, ref)
		}
		return id
	}
	needSite := func(id string) {
		if o.sites[id] == nil {
			t.Fatalf("line %d: unknown site %q", o.lines, id)
		}
	}
	order := func(at time.Time) {
		phase = 2
		if at.Before(last) {
			t.Fatalf("line %d: time %s before previous %s", o.lines, at, last)
		}
		last = at
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		o.lines++
		v, err := ndjson.Parse(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v: %s", o.lines, err, sc.Text())
		}
		switch r := v.(type) {
		case *ndjson.Site:
			if phase != 0 {
				t.Fatalf("line %d: site after identities or events", o.lines)
			}
			if o.sites[r.Site] != nil {
				t.Fatalf("line %d: duplicate site %q", o.lines, r.Site)
			}
			if r.Parent != "" {
				needSite(r.Parent)
			}
			o.sites[r.Site] = r
			o.siteOrder = append(o.siteOrder, r.Site)
		case *ndjson.Identity:
			if phase > 1 {
				t.Fatalf("line %d: identity after events", o.lines)
			}
			phase = 1
			if len(r.ID) != 18 {
				t.Fatalf("line %d: id %q is not 18 characters", o.lines, r.ID)
			}
			for _, ref := range append([]string{"id:" + r.ID}, r.Aliases...) {
				if _, dup := o.owner[ref]; dup {
					t.Fatalf("line %d: %q bound twice", o.lines, ref)
				}
				o.owner[ref] = r.ID
			}
			o.ids = append(o.ids, r.ID)
		case *ndjson.Visit:
			order(r.In)
			needSite(r.Site)
			o.visits = append(o.visits, visit{Visit: r, id: resolve(r.Person)})
		case *ndjson.Move:
			order(r.Depart)
			needSite(r.From)
			needSite(r.To)
			resolve(r.Person)
			o.moves = append(o.moves, r)
		case *ndjson.Case:
			order(r.Reported)
			needSite(r.By)
			o.cases = append(o.cases, r)
			o.caseIDs = append(o.caseIDs, resolve(r.Person))
		default:
			t.Fatalf("line %d: unexpected record %T", o.lines, v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return o
}

// haversineKm is the great-circle distance between two sites.
func haversineKm(a, b *ndjson.Site) float64 {
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	dlat, dlon := rad(b.Lat-a.Lat), rad(b.Lon-a.Lon)
	h := math.Pow(math.Sin(dlat/2), 2) + math.Cos(rad(a.Lat))*math.Cos(rad(b.Lat))*math.Pow(math.Sin(dlon/2), 2)
	return 2 * 6371 * math.Asin(math.Sqrt(h))
}

// bruteContacts recomputes the truth the slow way: every presence of every
// case against every presence of everyone else.
func bruteContacts(o *output, minOverlap time.Duration) map[string][]Contact {
	out := map[string][]Contact{}
	for _, c := range o.caseIDs {
		out[c] = []Contact{}
	}
	for _, pc := range o.visits {
		if _, isCase := out[pc.id]; !isCase {
			continue
		}
		for _, q := range o.visits {
			if q.id == pc.id || q.Site != pc.Site {
				continue
			}
			from, to := pc.In, pc.Out
			if q.In.After(from) {
				from = q.In
			}
			if q.Out.Before(to) {
				to = q.Out
			}
			if !to.After(from) {
				continue
			}
			if !slices.Contains(ledger.DefaultTransportKinds, o.sites[pc.Site].Kind) && to.Sub(from) < minOverlap {
				continue
			}
			out[pc.id] = append(out[pc.id], Contact{Case: pc.id, Other: q.id, Site: pc.Site, From: from, To: to})
		}
	}
	for _, cs := range out {
		slices.SortFunc(cs, func(a, b Contact) int {
			return cmp.Or(strings.Compare(a.Other, b.Other), strings.Compare(a.Site, b.Site), a.From.Compare(b.From), a.To.Compare(b.To))
		})
	}
	return out
}

// diffContacts reports the first difference between two contact lists, or
// "" when they are equal.
func diffContacts(got, want []Contact) string {
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return "missing " + contactString(want[i])
		case i >= len(want):
			return "unexpected " + contactString(got[i])
		case got[i].Case != want[i].Case || got[i].Other != want[i].Other || got[i].Site != want[i].Site ||
			!got[i].From.Equal(want[i].From) || !got[i].To.Equal(want[i].To):
			return "got " + contactString(got[i]) + ", want " + contactString(want[i])
		}
	}
	return ""
}

func contactString(c Contact) string {
	return c.Case + "~" + c.Other + "@" + c.Site + "[" + c.From.Format(time.RFC3339) + "," + c.To.Format(time.RFC3339) + "]"
}

// checkTruth compares a Truth against the brute-force recomputation from
// the output.
func checkTruth(t *testing.T, tr *Truth, o *output, minOverlap time.Duration) {
	t.Helper()
	want := bruteContacts(o, minOverlap)
	wantCases := slices.Sorted(func(yield func(string) bool) {
		for c := range want {
			if !yield(c) {
				return
			}
		}
	})
	if !slices.Equal(tr.Cases, wantCases) {
		t.Fatalf("Truth.Cases = %v, case records name %v", tr.Cases, wantCases)
	}
	if len(tr.Contacts) != len(want) {
		t.Fatalf("Truth.Contacts has %d cases, want %d", len(tr.Contacts), len(want))
	}
	for _, c := range wantCases {
		if d := diffContacts(tr.Contacts[c], want[c]); d != "" {
			t.Errorf("contacts of case %s: %s (got %d, want %d)", c, d, len(tr.Contacts[c]), len(want[c]))
		}
	}
}
