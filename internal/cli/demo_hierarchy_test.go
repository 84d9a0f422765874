package cli_test

import (
	"strings"
	"testing"
)

// TestDemoHierarchy: the Nanjing 2021 scenario reaches every chain; a
// scenario without the broadcast's way down leaves it on the three chains
// it went up through; malformed scenarios are refused naming the line.
func TestDemoHierarchy(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "demo", "hierarchy")
	for _, want := range []string{"nanjing holds record", "nanjing -> jiangsu: head anchored", "broadcast to every region",
		"jiangsu -> suzhou", "held on 5 of 5 chains"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo hierarchy: no %q in\n%s", want, out)
		}
	}
	head := `{"chains":[{"name":"national","region":"000000"},{"name":"jiangsu","region":"32","parent":"national"},{"name":"nanjing","region":"3201","parent":"jiangsu"},{"name":"suzhou","region":"3205","parent":"jiangsu"}],
"actors":[{"name":"airport","chain":"nanjing","role":"n3"},{"name":"c1","chain":"nanjing","role":"n2"},{"name":"c2","chain":"jiangsu","role":"n2"}]}`
	head = strings.ReplaceAll(head, "\n", "")
	rec := `{"step":"submit","actor":"airport","endorsers":["c1"],"record":{"dimension":"epidemic","level":2,"secrecy":"confidential","time":"2021-07-20T18:00:00+08:00","region":"3201","confirmed":9}}`
	up := head + "\n" + rec + "\n" + `{"step":"confirm","actor":"c1"}` + "\n" + `{"step":"up","from":"nanjing"}` + "\n" +
		`{"step":"confirm","actor":"c2"}` + "\n" + `{"step":"up","from":"jiangsu"}` + "\n" + `{"step":"check"}` + "\n"
	out = mustRun(t, "demo", "hierarchy", "--scenario", writeFile(t, "up.ndjson", up))
	if !strings.Contains(out, "held on 3 of 4 chains") {
		t.Errorf("a scenario that goes up only:\n%s", out)
	}
	for name, bad := range map[string]string{
		"a region two levels down": strings.Replace(head, `"region":"3201"`, `"region":"320115"`, 1),
		"an unknown actor":         head + "\n" + `{"step":"confirm","actor":"nobody"}`,
		"an unknown step":          head + "\n" + `{"step":"fly","actor":"c1"}`,
		"up from the top":          head + "\n" + `{"step":"up","from":"national"}`,
		"an unknown field":         head + "\n" + `{"step":"check","when":"now"}`,
	} {
		if _, errs, code := run(t, "demo", "hierarchy", "--scenario", writeFile(t, "bad.ndjson", bad)); code == 0 || !strings.Contains(errs, "--scenario: ") {
			t.Errorf("%s: exit %d %s", name, code, errs)
		}
	}
}

// TestBenchHierarchy: bench hierarchy relays each record up three levels
// and reports each level's percentiles and the bytes per anchor.
func TestBenchHierarchy(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "bench", "hierarchy", "--records", "3")
	for _, want := range []string{"anchored on wuhan", "anchored on hubei", "anchored on national", "national chain: 3 anchors"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench hierarchy: no %q in\n%s", want, out)
		}
	}
	if _, errs, code := run(t, "bench", "hierarchy", "--records", "0"); code == 0 || !strings.Contains(errs, "--records") {
		t.Errorf("--records 0: exit %d %s", code, errs)
	}
}

// TestBenchHierarchySimulate: a whole hierarchy (2 provinces, 2 cities,
// 4 districts) with every district's digests carried to the nation: two
// rounds bring 4 anchors and 8 digests there.
func TestBenchHierarchySimulate(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "bench", "hierarchy", "--simulate", "2,2,4", "--rounds", "2")
	for _, want := range []string{"1 national, 2 provinces, 2 cities, 4 districts (9 chains", "national chain: 4 anchors", "8 digests", "per day"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench hierarchy --simulate: no %q in\n%s", want, out)
		}
	}
	for _, bad := range []string{"4,16", "4,10,64", "0,1,1", "x,1,1", "89,89,89"} {
		if _, errs, code := run(t, "bench", "hierarchy", "--simulate", bad); code == 0 || !strings.Contains(errs, "--simulate") {
			t.Errorf("--simulate %s: exit %d %s", bad, code, errs)
		}
	}
}
