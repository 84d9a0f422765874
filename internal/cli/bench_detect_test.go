package cli_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/outbreak"
)

// TestBenchDetect runs `epiledger bench detect` on 5 districts with 2
// years of history: the table has a row per rule, each once, with its
// four figures in range, then CIDARS's reported rows; --json has the same
// rules.
func TestBenchDetect(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "bench", "detect", "--seeds", "5", "--years", "2")
	for _, want := range []string{"simulated   5 districts (seeds 1 to 5, ", "2 years of history, then 365 days evaluated", "evaluated   20 outbreaks, ",
		"* reported, not simulated", "533,829 signals"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	for name, want := range map[string]string{
		"CIDARS temporal (moving percentile)*": "98.15% 1.79% - 1",
		"CIDARS spatio-temporal*":              "98.15% 0.73% - 0",
	} {
		if got := strings.Join(row(t, out, name), " "); got != want {
			t.Errorf("row %q: %q, want %q", name, got, want)
		}
	}
	methods := outbreak.Methods(2)
	if methods[6].Name != "moving percentile P80, 2 years (CIDARS)" {
		t.Fatalf("the percentile's row is %q", methods[6].Name)
	}
	for _, m := range methods {
		f := row(t, out, m.Name)
		if len(f) != 4 {
			continue
		}
		sens := percent(t, f[0])
		rate := percent(t, f[1])
		perYear, err1 := strconv.ParseFloat(f[2], 64)
		median, err2 := strconv.ParseFloat(f[3], 64)
		if sens <= 0 || sens > 100 || rate < 0 || rate > 100 || err1 != nil || perYear < 0 || err2 != nil || median < 0 || median > outbreak.MaxOutbreakDays {
			t.Errorf("row %q: %v out of range", m.Name, f)
		}
	}

	var res struct {
		Seeds   int `json:"seeds"`
		Methods []struct {
			Method      string   `json:"method"`
			Outbreaks   int      `json:"outbreaks"`
			Sensitivity *float64 `json:"sensitivity"`
			QuietDays   int      `json:"quiet_days"`
		} `json:"methods"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "bench", "detect", "--seeds", "2", "--years", "2", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Seeds != 2 || len(res.Methods) != len(methods) {
		t.Fatalf("JSON: %d seeds, %d methods", res.Seeds, len(res.Methods))
	}
	for i, m := range res.Methods {
		if m.Method != methods[i].Name || m.Outbreaks != 8 || m.Sensitivity == nil || m.QuietDays < 600 {
			t.Errorf("JSON method %d: %+v", i, m)
		}
	}
}

// row returns the four figures of the table's one row for name, and
// fails t if there is not exactly one, or not four figures.
func row(t *testing.T, table, name string) []string {
	t.Helper()
	var rows []string
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, name+"  ") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 1 {
		t.Errorf("%d rows for %q:\n%s", len(rows), name, table)
		return nil
	}
	f := strings.Fields(strings.TrimPrefix(rows[0], name))
	if len(f) != 4 {
		t.Errorf("row %q: %d figures", rows[0], len(f))
	}
	return f
}

// percent parses a figure such as "76.4%".
func percent(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || !strings.HasSuffix(s, "%") {
		t.Errorf("%q is not a percentage", s)
	}
	return v
}

// TestBenchDetectRefuses: flags out of range are refused with what is
// allowed, before any work.
func TestBenchDetectRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--seeds", "0"}, "epiledger: error: --seeds 0: 1 to 10000"},
		{[]string{"--seeds", "10001"}, "--seeds 10001: 1 to 10000"},
		{[]string{"--years", "0"}, "epiledger: error: --years 0: 1 to 10"},
		{[]string{"--years", "11"}, "--years 11: 1 to 10"},
		{[]string{"--seeds", "many"}, `invalid argument "many" for "--seeds"`},
		{[]string{"extra"}, `unknown command "extra"`},
	} {
		out, errs, code := run(t, append([]string{"bench", "detect"}, c.args...)...)
		if code != 1 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("bench detect %v: exit %d, stdout %q, stderr %q; want %q", c.args, code, out, errs, c.want)
		}
	}
}
