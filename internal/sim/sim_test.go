package sim

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ndjson"
)

func generate(t testing.TB, cfg Config) ([]byte, *Truth) {
	t.Helper()
	var buf bytes.Buffer
	tr, err := Generate(cfg, ndjson.NewWriter(&buf))
	if err != nil {
		t.Fatalf("Generate(%+v): %v", cfg, err)
	}
	return buf.Bytes(), tr
}

// smallWorlds are the configurations most tests run on: small enough for
// brute force, varied enough to hit the edges.
func smallWorlds() []struct {
	name string
	cfg  Config
} {
	return []struct {
		name string
		cfg  Config
	}{
		{"1 person 1 day", Config{People: 1, Days: 1, Seed: 1}},
		{"40 people 2 days", Config{People: 40, Days: 2, Seed: 2}},
		{"300 people 3 days", Config{People: 300, Days: 3, Seed: 3}},
		{"300 people 3 days 5m overlap 30 cases", Config{People: 300, Days: 3, Seed: 4, MinOverlap: 5 * time.Minute, Cases: 30}},
		{"800 people 8 days from a Saturday", Config{People: 800, Days: 8, Seed: 5, Start: time.Date(2021, 3, 6, 0, 0, 0, 0, time.FixedZone("", 8*3600))}},
	}
}

func TestGenerateOutputIsValid(t *testing.T) {
	t.Parallel()
	for _, tc := range smallWorlds() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, tr := generate(t, tc.cfg)
			o := parseOutput(t, data)
			if len(o.ids) != tc.cfg.People {
				t.Errorf("%d identities, want %d", len(o.ids), tc.cfg.People)
			}
			center := &ndjson.Site{Lat: cityLat, Lon: cityLon}
			for _, id := range o.siteOrder {
				s := o.sites[id]
				if d := haversineKm(center, s); d > 15 {
					t.Errorf("site %s is %.1f km from the city centre", id, d)
				}
				if s.Region != cityRegion {
					t.Errorf("site %s region %q", id, s.Region)
				}
			}
			for _, v := range o.visits {
				if v.In.Before(tr.Start) || v.Out.After(tr.End) {
					t.Errorf("visit %s %s..%s outside the period", v.Site, v.In, v.Out)
				}
				if v.Out.Sub(v.In) >= 24*time.Hour {
					t.Errorf("visit %s lasts %s", v.Site, v.Out.Sub(v.In))
				}
				if _, off := v.In.Zone(); off != 8*3600 {
					t.Errorf("visit time %s not in +08:00", v.In)
				}
			}
			if len(o.cases) != len(tr.Cases) {
				t.Errorf("%d case records, truth has %d cases", len(o.cases), len(tr.Cases))
			}
			half := tr.Start.Add(time.Duration(tc.cfg.Days/2) * 24 * time.Hour)
			for i, c := range o.cases {
				if c.Status != "confirmed" || o.sites[c.By].Kind != "hospital" {
					t.Errorf("case %d: status %q by %s (%s)", i, c.Status, c.By, o.sites[c.By].Kind)
				}
				var hv *visit
				for j := range o.visits {
					if v := &o.visits[j]; v.id == o.caseIDs[i] && v.Site == c.By && v.In.Before(c.Reported) {
						hv = v
					}
				}
				if hv == nil {
					t.Fatalf("case %d: no hospital visit before the report", i)
				}
				if hv.In.Before(half) {
					t.Errorf("case %d diagnosed %s, in the first half of the period", i, hv.In)
				}
				day := hv.In.Format("2006-01-02")
				before1 := hv.In.AddDate(0, 0, -1).Format("2006-01-02")
				before2 := hv.In.AddDate(0, 0, -2).Format("2006-01-02")
				if c.Onset != before1 && c.Onset != before2 {
					t.Errorf("case %d: onset %s, hospital visit on %s", i, c.Onset, day)
				}
			}
		})
	}
}

// TestGenerateCityHasEverything checks that a mid-sized city uses every
// kind of site, role, via and reference the importer must handle.
func TestGenerateCityHasEverything(t *testing.T) {
	t.Parallel()
	data, tr := generate(t, Config{People: 3000, Days: 7, Seed: 7})
	o := parseOutput(t, data)
	kinds := map[string]int{}
	for _, s := range o.sites {
		kinds[s.Kind]++
		if strings.HasPrefix(s.Site, "taxi-") && len(s.Site) != len("taxi-0001") {
			t.Errorf("taxi site id %q", s.Site)
		}
	}
	visitKinds, vias, schemes, staff := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for _, v := range o.visits {
		visitKinds[o.sites[v.Site].Kind]++
		vias[v.Via]++
		schemes[v.Person[:strings.IndexByte(v.Person, ':')]]++
		if v.Role == "staff" {
			staff[o.sites[v.Site].Kind]++
			if v.Via != "staff_card" {
				t.Errorf("staff visit via %q", v.Via)
			}
		}
	}
	for _, k := range []string{"home", "office", "school", "shop", "restaurant", "mall", "venue", "metro", "train", "train_carriage", "taxi", "hospital"} {
		if kinds[k] == 0 {
			t.Errorf("no site of kind %s", k)
		}
		if k != "train" && visitKinds[k] == 0 {
			t.Errorf("no visit at a site of kind %s", k)
		}
	}
	for _, k := range []string{"shop", "restaurant", "taxi", "hospital", "school"} {
		if staff[k] == 0 {
			t.Errorf("no staff visits at kind %s", k)
		}
	}
	for _, v := range []string{"id_card", "face", "payment", "phone", "staff_card", "plate"} {
		if vias[v] == 0 {
			t.Errorf("no visit via %s", v)
		}
	}
	for _, s := range []string{"id", "phone", "wechat", "alipay", "plate"} {
		if schemes[s] == 0 {
			t.Errorf("no visit names a person by %s:", s)
		}
	}
	if schemes["id"]*2 < len(o.visits) {
		t.Errorf("only %d of %d visits name the person by id:", schemes["id"], len(o.visits))
	}
	moved := 0
	for _, m := range o.moves {
		if o.sites[m.From].Kind == "train_carriage" && o.sites[m.To].Kind == "taxi" {
			moved++
		}
	}
	if moved == 0 || moved != len(o.moves) {
		t.Errorf("%d of %d moves go from a carriage to a taxi", moved, len(o.moves))
	}
	checkTrajectories(t, o)
	checkTruth(t, tr, o, 15*time.Minute)
	for _, c := range tr.Cases {
		if len(tr.Contacts[c]) < 10 {
			t.Errorf("case %s has only %d contacts", c, len(tr.Contacts[c]))
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	for _, tc := range smallWorlds() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, ta := generate(t, tc.cfg)
			b, tb := generate(t, tc.cfg)
			if !bytes.Equal(a, b) {
				t.Fatal("same config, different output")
			}
			var ja, jb bytes.Buffer
			if err := ta.WriteJSON(&ja); err != nil {
				t.Fatal(err)
			}
			if err := tb.WriteJSON(&jb); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ja.Bytes(), jb.Bytes()) {
				t.Fatal("same config, different truth")
			}
			other := tc.cfg
			other.Seed++
			if c, _ := generate(t, other); bytes.Equal(a, c) {
				t.Fatal("different seed, same output")
			}
		})
	}
}

// TestGeneratePhysicallyConsistent checks every person's trajectory and
// every move (see checkTrajectories).
func TestGeneratePhysicallyConsistent(t *testing.T) {
	t.Parallel()
	for _, tc := range smallWorlds() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, _ := generate(t, tc.cfg)
			checkTrajectories(t, parseOutput(t, data))
		})
	}
}

// checkTrajectories checks that no two presences of a person overlap, that
// consecutive ones are at least minTransfer apart and far enough apart in
// time to cover the distance at 20 km/h, and that every move joins the
// presence it leaves to the one it arrives at.
func checkTrajectories(t *testing.T, o *output) {
	t.Helper()
	byPerson := map[string][]visit{}
	for _, v := range o.visits {
		byPerson[v.id] = append(byPerson[v.id], v)
	}
	for id, vs := range byPerson {
		for i := 1; i < len(vs); i++ {
			a, b := vs[i-1], vs[i]
			gap := b.In.Sub(a.Out)
			need := time.Duration(haversineKm(o.sites[a.Site], o.sites[b.Site]) / 20 * float64(time.Hour))
			if gap < minTransfer*time.Second || gap < need {
				t.Fatalf("person %s: %s until %s, then %s from %s: gap %s, need %s",
					id, a.Site, a.Out, b.Site, b.In, gap, max(need, minTransfer*time.Second))
			}
		}
	}
	for _, m := range o.moves {
		id := o.owner[m.Person]
		ok := false
		for i, v := range byPerson[id] {
			if v.Site == m.From && v.Out.Equal(m.Depart) && i+1 < len(byPerson[id]) {
				next := byPerson[id][i+1]
				ok = next.Site == m.To && next.In.Equal(m.Arrive)
			}
		}
		if !ok {
			t.Errorf("move of %s from %s at %s to %s at %s joins no two presences", id, m.From, m.Depart, m.To, m.Arrive)
		}
	}
}

// TestGenerateManySeeds is a property test: over many seeds, sizes, period
// lengths and starting weekdays, the output stays valid and physically
// consistent and the truth equals the brute-force recomputation.
func TestGenerateManySeeds(t *testing.T) {
	t.Parallel()
	for seed := uint64(100); seed < 130; seed++ {
		cfg := Config{
			People:     1 + int(seed*seed*7%900),
			Days:       1 + int(seed%9),
			Seed:       seed,
			Start:      time.Date(2020, 2, 1+int(seed%7), 0, 0, 0, 0, time.FixedZone("CST", 8*3600)),
			MinOverlap: time.Duration(seed%4) * 10 * time.Minute,
		}
		cfg.Cases = min(int(seed%6), cfg.People)
		data, tr := generate(t, cfg)
		o := parseOutput(t, data)
		checkTrajectories(t, o)
		overlap := cfg.MinOverlap
		if overlap == 0 {
			overlap = 15 * time.Minute
		}
		checkTruth(t, tr, o, overlap)
		if t.Failed() {
			t.Fatalf("config %+v", cfg)
		}
	}
}

func TestGenerateTruthMatchesBruteForce(t *testing.T) {
	t.Parallel()
	for _, tc := range smallWorlds() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, tr := generate(t, tc.cfg)
			o := parseOutput(t, data)
			overlap := tc.cfg.MinOverlap
			if overlap == 0 {
				overlap = 15 * time.Minute
			}
			checkTruth(t, tr, o, overlap)
			wantCases := tc.cfg.Cases
			if wantCases == 0 {
				wantCases = 3
			}
			wantCases = min(wantCases, tc.cfg.People)
			if len(tr.Cases) != wantCases {
				t.Errorf("%d cases, want %d", len(tr.Cases), wantCases)
			}
			if want := tr.Start.Add(time.Duration(tc.cfg.Days) * 24 * time.Hour); !tr.End.Equal(want) {
				t.Errorf("End = %s, want %s", tr.End, want)
			}
		})
	}
}

func TestGenerateDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		people, cases int
	}{
		{2, 2}, {3, 3}, {2000, 3}, {7000, 4}, {10000, 5},
	}
	for _, tc := range tests {
		cfg, err := Config{People: tc.people, Days: 1}.normalized()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Cases != tc.cases {
			t.Errorf("People=%d: %d cases by default, want %d", tc.people, cfg.Cases, tc.cases)
		}
		if !cfg.Start.Equal(time.Date(2020, 1, 6, 0, 0, 0, 0, time.FixedZone("", 8*3600))) || cfg.Start.Weekday() != time.Monday {
			t.Errorf("default Start = %s", cfg.Start)
		}
		if cfg.MinOverlap != 15*time.Minute {
			t.Errorf("default MinOverlap = %s", cfg.MinOverlap)
		}
	}
}

func TestGenerateRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no people", Config{Days: 1}},
		{"negative people", Config{People: -1, Days: 1}},
		{"too many people", Config{People: MaxPeople + 1, Days: 1}},
		{"no days", Config{People: 10}},
		{"too many days", Config{People: 10, Days: MaxDays + 1}},
		{"negative overlap", Config{People: 10, Days: 1, MinOverlap: -time.Minute}},
		{"negative cases", Config{People: 10, Days: 1, Cases: -1}},
		{"more cases than people", Config{People: 10, Days: 1, Cases: 11}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Generate(tc.cfg, ndjson.NewWriter(&buf))
			if !errors.Is(err, ErrConfig) {
				t.Errorf("err = %v, want ErrConfig", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes for a bad config", buf.Len())
			}
		})
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n--; f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestGenerateReportsWriteErrors(t *testing.T) {
	t.Parallel()
	for _, after := range []int{0, 10, 1000} {
		_, err := Generate(Config{People: 200, Days: 2}, ndjson.NewWriter(&failWriter{n: after}))
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("failing after %d lines: err = %v", after, err)
		}
	}
}

// TestGenerateRecordRate checks the volume the benchmarks rely on: about
// 4-6 records per person per day.
func TestGenerateRecordRate(t *testing.T) {
	t.Parallel()
	cfg := Config{People: 2000, Days: 7, Seed: 9}
	data, _ := generate(t, cfg)
	lines := bytes.Count(data, []byte("\n"))
	rate := float64(lines) / float64(cfg.People*cfg.Days)
	if rate < 4 || rate > 6 {
		t.Errorf("%.2f records per person per day, want 4-6", rate)
	}
}

func TestIDNumber(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, n := range []int{0, 1, 9, 10, 1234, 999999, 9999999} {
		id := idNumber("4201001990", n)
		if len(id) != 18 || seen[id] {
			t.Errorf("idNumber(%d) = %q", n, id)
		}
		seen[id] = true
		for _, c := range id[:17] {
			if c < '0' || c > '9' {
				t.Errorf("idNumber(%d) = %q has a non-digit body", n, id)
			}
		}
	}
	// A known valid resident ID number (the GB 11643 example).
	if got := idNumber("1101051949", 1231002)[17]; got != 'X' {
		t.Errorf("check character of 11010519491231002 = %c, want X", got)
	}
}

func TestTruthJSONRoundTrip(t *testing.T) {
	t.Parallel()
	_, tr := generate(t, Config{People: 300, Days: 3, Seed: 3})
	var buf bytes.Buffer
	if err := tr.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTruth(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Cases, tr.Cases) || !got.Start.Equal(tr.Start) || !got.End.Equal(tr.End) {
		t.Fatalf("round trip changed cases or period")
	}
	for _, c := range tr.Cases {
		if d := diffContacts(got.Contacts[c], tr.Contacts[c]); d != "" {
			t.Errorf("case %s: %s", c, d)
		}
	}
	var again bytes.Buffer
	if err := got.WriteJSON(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("WriteJSON(ReadTruth(b)) != b")
	}
}

func TestReadTruthRejects(t *testing.T) {
	t.Parallel()
	const period = `"start":"2020-01-06T00:00:00+08:00","end":"2020-01-07T00:00:00+08:00"`
	const contact = `{"case":"A","other":"B","site":"s","from":"2020-01-06T08:00:00+08:00","to":"2020-01-06T09:00:00+08:00"}`
	tests := []struct {
		name, in string
	}{
		{"empty", ``},
		{"not JSON", `{`},
		{"unknown field", `{"cases":[],"contacts":{},` + period + `,"extra":1}`},
		{"end before start", `{"cases":[],"start":"2020-01-07T00:00:00+08:00","end":"2020-01-06T00:00:00+08:00"}`},
		{"bad time", `{"cases":[],"start":"yesterday","end":"2020-01-06T00:00:00+08:00"}`},
		{"contacts of a non-case", `{"cases":[],"contacts":{"A":[` + contact + `]},` + period + `}`},
		{"contact filed under another case", `{"cases":["A","C"],"contacts":{"C":[` + contact + `]},` + period + `}`},
		{"reversed interval", `{"cases":["A"],"contacts":{"A":[{"case":"A","other":"B","site":"s","from":"2020-01-06T09:00:00+08:00","to":"2020-01-06T08:00:00+08:00"}]},` + period + `}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ReadTruth(strings.NewReader(tc.in))
			if !errors.Is(err, ErrTruth) || tr != nil {
				t.Errorf("ReadTruth = %v, %v; want nil, ErrTruth", tr, err)
			}
		})
	}
	tr, err := ReadTruth(strings.NewReader(`{"cases":["A"],` + period + `}`))
	if err != nil || tr.Contacts["A"] == nil || len(tr.Contacts["A"]) != 0 {
		t.Errorf("case without contacts: %+v, %v", tr, err)
	}
}

func BenchmarkGenerate10k14d(b *testing.B) {
	cfg := Config{People: 10000, Days: 14, Seed: 1}
	var lines countingWriter
	for b.Loop() {
		lines = 0
		if _, err := Generate(cfg, ndjson.NewWriter(io.MultiWriter(io.Discard, &lines))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines), "records/op")
}

// countingWriter counts lines; record.Writer writes one line per call.
type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(bytes.Count(p, []byte("\n")))
	return len(p), nil
}
