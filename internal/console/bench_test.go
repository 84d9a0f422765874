package console_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/testnode"
)

// BenchmarkConsoleViews measures, in the browser, how long each view of a
// case with 5,000 contacts takes to be on screen and usable: from the
// link followed (the fragment set) to the first frame painted after the
// view's figures are in the page, the node's query, audit commit and the
// page's rendering included. The city is simulated
// (EPILEDGER_BENCH_PEOPLE persons, default 100,000, over
// EPILEDGER_BENCH_DAYS days, default 2), then on the morning after, the
// case and 4,999 others of the city spend two hours in one stadium.
// Reported: the median milliseconds of each view over b.N rounds.
//
//	go test ./internal/console -run '^$' -bench ConsoleViews -benchtime 5x
func BenchmarkConsoleViews(b *testing.B) {
	people, days := envInt(b, "EPILEDGER_BENCH_PEOPLE", 100_000), envInt(b, "EPILEDGER_BENCH_DAYS", 2)
	h, n := testnode.New(b, testnode.NoValidation)
	var buf bytes.Buffer
	start := sim.DefaultStart()
	if _, err := sim.Generate(sim.Config{People: people, Days: days, Seed: 7, Start: start}, ndjson.NewWriter(&buf)); err != nil {
		b.Fatal(err)
	}
	crowd := personsOf(b, buf.Bytes(), 5000)
	day := start.Add(time.Duration(days) * 24 * time.Hour)
	w := ndjson.NewWriter(&buf)
	lines := []any{ndjson.Site{Site: "stadium-1", Kind: "venue", Name: "Stadium 1", Lat: 30.6, Lon: 114.3, Region: "420100"}}
	for _, p := range crowd {
		lines = append(lines, ndjson.Visit{Site: "stadium-1", Person: p, In: day.Add(10 * time.Hour), Out: day.Add(12 * time.Hour), Via: "ticket"})
	}
	for _, l := range lines {
		if err := w.Write(l); err != nil {
			b.Fatal(err)
		}
	}
	fmt.Fprintf(&buf, `{"type":"case","person":%q,"status":"confirmed","onset":%q,"reported":%q,"by":"hospital-1"}`+"\n",
		crowd[0], day.Add(24*time.Hour).Format("2006-01-02"), day.Add(30*time.Hour).Format(time.RFC3339))
	b.Logf("importing a city of %d persons over %d days, %d MiB of records", people, days, buf.Len()>>20)
	if res := testnode.Import(b, h, n, buf.String()); res.Rejected != 0 {
		b.Fatalf("import rejected %d: %v", res.Rejected, res.Rejections[:min(3, len(res.Rejections))])
	}
	c := serveCity(b, h, n, "investigator")

	ctx := browser(b)
	run(b, ctx, "log in", chromedp.Navigate(c.loginURL(b, "investigator")), chromedp.WaitVisible(chromedp.CSS("#st-height")))
	eval[string](b, ctx, `document.getElementById("case").value = "case-bench"; document.getElementById("purposeText").value = "measuring the console"`)
	var tr struct{ Pseudonym string }
	c.signed(b, "investigator", "POST", "/v1/trace/trajectory", `{"person":"`+crowd[0]+`"}`, &tr)
	var ct struct{ Persons int }
	c.signed(b, "investigator", "POST", "/v1/trace/contacts", `{"person":"`+crowd[0]+`"}`, &ct)
	b.Logf("the case has %d contacts", ct.Persons)
	ref := "pn:" + tr.Pseudonym
	views := []struct{ name, hash, ready string }{
		{"trajectory", "#/trajectory/" + ref, "#traj-count"},
		{"contacts", "#/contacts/" + ref, "#contacts-persons"},
		{"chain", "#/chain/" + ref + "?depth=2", "#chain-layers"},
		{"follow-up", "#/followup/" + ref, "#followup-count"},
		// Depth 3 reaches most of the city: the view stays usable with
		// its layers aggregated.
		{"chain-depth-3", "#/chain/" + ref + "?depth=3", "#chain-layers"},
	}
	took := map[string][]float64{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, v := range views {
			js := `(async () => {
			  document.getElementById("main").replaceChildren();
			  performance.clearResourceTimings();
			  const t0 = performance.now();
			  location.hash = ` + strconv.Quote(v.hash) + `;
			  for (;;) {
			    await new Promise(r => requestAnimationFrame(r));
			    const e = document.querySelector(` + strconv.Quote(v.ready) + `);
			    if (e) break;
			    if (document.getElementById("error").textContent) throw new Error(document.getElementById("error").textContent);
			    if (performance.now() - t0 > 60000) throw new Error("not ready in 60 s");
			  }
			  await new Promise(r => requestAnimationFrame(r));
			  const api = performance.getEntriesByType("resource").filter(e => e.name.includes("/v1/trace/")).pop();
			  return [performance.now() - t0, api ? api.duration : -1];
			})()`
			ms, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](js, chromedp.EvalAwaitPromise))
			if err != nil {
				b.Fatalf("%s: %v", v.name, err)
			}
			took[v.name] = append(took[v.name], ms[0])
			took[v.name+"-api"] = append(took[v.name+"-api"], ms[1])
		}
	}
	b.StopTimer()
	b.Logf("the depth-3 chain on screen: %s persons, layers %s, %d nodes drawn",
		eval[string](b, ctx, `document.getElementById("chain-persons").textContent`),
		eval[string](b, ctx, `document.getElementById("chain-layers").textContent`),
		eval[int](b, ctx, `document.getElementById("graph").cy.nodes().length`))
	// Per view: the median of the whole, and of the node's answer alone
	// (the fetch, from the browser's resource timing).
	for _, v := range views {
		for _, k := range []string{v.name, v.name + "-api"} {
			d := took[k]
			slices.Sort(d)
			b.ReportMetric(d[len(d)/2], k+"-ms")
		}
	}
}

// personsOf returns the first k distinct persons the records name.
func personsOf(b *testing.B, text []byte, k int) []string {
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && len(out) < k {
		if !bytes.Contains(sc.Bytes(), []byte(`"type":"visit"`)) {
			continue
		}
		var v struct{ Person string }
		if json.Unmarshal(sc.Bytes(), &v) == nil && strings.HasPrefix(v.Person, "id:") && !seen[v.Person] {
			seen[v.Person] = true
			out = append(out, v.Person)
		}
	}
	if len(out) < k {
		b.Fatalf("the city names only %d persons; want %d", len(out), k)
	}
	return out
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		b.Fatalf("%s=%q: want a positive number", name, s)
	}
	return v
}
