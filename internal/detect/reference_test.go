package detect

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestReference runs R's surveillance::earsC (testdata/ears.R) on three of
// the package's real data sets (ha, salmonella.agona, measlesDE) with C1,
// C2 and C3 and three parameter sets, and checks EARS on the same series
// time point by time point: the same days judged, the same alarms (NA
// where our Upper is Undefined), and our Upper R's upperbound rounded
// down to 10^-6. docs/WARNING.md reports the result.
//
// It skips without Rscript or the R package surveillance, but fails
// without them in CI (CI=true, or EPILEDGER_REQUIRE_R set as .ci/run does).
func TestReference(t *testing.T) {
	t.Parallel()
	start := time.Now()
	out := runReference(t)
	t.Logf("Rscript testdata/ears.R: %v", time.Since(start).Round(time.Millisecond))

	cases, err := parseReference(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("ears.R printed no cases")
	}
	for _, c := range cases {
		t.Run(c.name(), func(t *testing.T) {
			got := compareReference(t, c)
			t.Logf("%s: %d points compared, %d alarms (R %d), %d NA, alarms identical: %v, max |upper - R| %.3g",
				c.name(), got.points, got.alarms, got.alarmsR, got.na, got.alarmsDiffer == 0, got.maxDiff)
		})
	}
}

// runReference returns what testdata/ears.R prints, or skips t (fails it
// in CI) when R or its package surveillance is missing.
func runReference(t *testing.T) []byte {
	t.Helper()
	required := os.Getenv("CI") == "true" || os.Getenv("EPILEDGER_REQUIRE_R") != ""
	missing := func(why string) {
		t.Helper()
		if required {
			t.Fatalf("%s, and CI requires the reference test (apt-get install r-cran-surveillance)", why)
		}
		t.Skipf("%s (apt-get install r-cran-surveillance): EARS was not checked against R", why)
	}
	rscript, err := exec.LookPath("Rscript")
	if err != nil {
		missing("no Rscript on PATH")
	}
	// R loads its package in seconds; a hung R stops here, not at go
	// test's own timeout.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rscript, "--vanilla", "testdata/ears.R")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) && exit.ExitCode() == 3 {
		missing("the R package surveillance does not load")
	}
	if err != nil {
		t.Fatalf("Rscript testdata/ears.R: %v\n%s", err, stderr.Bytes())
	}
	return out
}

// refCase is one run of earsC: a data set, a method and its parameters,
// with every time point of the series.
type refCase struct {
	dataset string
	e       EARS
	// alpha and minSigma as ears.R printed them, for the case's name.
	alpha, minSigma string
	observed        []uint32
	// upper and alarm per time point (0-based), "" where earsC did not
	// judge the point.
	upper, alarm []string
}

func (c refCase) name() string {
	return fmt.Sprintf("%s/%v/baseline=%d,alpha=%s,minSigma=%s", c.dataset, c.e.Method, c.e.Baseline, c.alpha, c.minSigma)
}

// parseReference reads ears.R's CSV into cases, in the order printed, and
// checks that every case of a data set has the same series.
func parseReference(out []byte) ([]refCase, error) {
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading ears.R's CSV: %w", err)
	}
	want := []string{"dataset", "method", "baseline", "alpha", "minsigma", "index", "observed", "upperbound", "alarm"}
	if len(rows) == 0 || !slices.Equal(rows[0], want) {
		return nil, fmt.Errorf("ears.R's header is not %v", want)
	}
	var cases []refCase
	index := map[string]int{}
	series := map[string][]uint32{}
	for line, r := range rows[1:] {
		key := fmt.Sprint(r[:5])
		k, ok := index[key]
		if !ok {
			c, err := newRefCase(r)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line+2, err)
			}
			k = len(cases)
			index[key] = k
			cases = append(cases, c)
		}
		c := &cases[k]
		i, err := strconv.Atoi(r[5])
		if err != nil || i != len(c.observed)+1 {
			return nil, fmt.Errorf("line %d: index %q, want %d", line+2, r[5], len(c.observed)+1)
		}
		y, err := strconv.ParseUint(r[6], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: observed: %w", line+2, err)
		}
		c.observed = append(c.observed, uint32(y))
		c.upper = append(c.upper, r[7])
		c.alarm = append(c.alarm, r[8])
	}
	for _, c := range cases {
		if s, ok := series[c.dataset]; ok && !slices.Equal(s, c.observed) {
			return nil, fmt.Errorf("%s: the series differs between cases", c.name())
		}
		series[c.dataset] = c.observed
	}
	return cases, nil
}

// newRefCase reads a case's parameters from the first five columns.
func newRefCase(r []string) (refCase, error) {
	c := refCase{dataset: r[0], alpha: r[3], minSigma: r[4]}
	switch r[1] {
	case "C1":
		c.e.Method = C1
	case "C2":
		c.e.Method = C2
	case "C3":
		c.e.Method = C3
	default:
		return c, fmt.Errorf("method %q", r[1])
	}
	var err error
	if c.e.Baseline, err = strconv.Atoi(r[2]); err != nil {
		return c, fmt.Errorf("baseline: %w", err)
	}
	if r[3] != "default" {
		if c.e.Alpha, err = parseFixed(r[3]); err != nil {
			return c, fmt.Errorf("alpha: %w", err)
		}
	}
	if c.e.MinSigma, err = parseFixed(r[4]); err != nil {
		return c, fmt.Errorf("minsigma: %w", err)
	}
	return c, c.e.Check()
}

// parseFixed reads a decimal with at most 6 decimals (test code: float64
// is fine here).
func parseFixed(s string) (Fixed, error) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	f := Fixed(math.Round(x * 1e6))
	if float64(f)/1e6 != x {
		return 0, fmt.Errorf("%q is not a multiple of 10^-6", s)
	}
	return f, nil
}

type refResult struct {
	points, alarms, alarmsR, na, alarmsDiffer int
	maxDiff                                   float64
}

// compareReference runs c.e on c.observed and fails t at every time point
// where it differs from earsC.
func compareReference(t *testing.T, c refCase) refResult {
	t.Helper()
	days, err := c.e.Run(c.observed)
	if err != nil {
		t.Fatal(err)
	}
	first := slices.IndexFunc(c.upper, func(s string) bool { return s != "" })
	if first != c.e.First() || len(days) != len(c.observed)-first {
		t.Fatalf("earsC judged points %d to %d, we %d from %d", first, len(c.observed)-1, len(days), c.e.First())
	}
	var res refResult
	for _, d := range days {
		i := d.Index
		rUpper, err := strconv.ParseFloat(c.upper[i], 64)
		if err != nil {
			t.Fatalf("point %d: upperbound %q: %v", i+1, c.upper[i], err)
		}
		res.points++
		if d.Alarm {
			res.alarms++
		}
		switch c.alarm[i] {
		case "TRUE":
			res.alarmsR++
			if !d.Alarm {
				res.alarmsDiffer++
				t.Errorf("point %d (observed %d): earsC alarms (upper %v), we do not (upper %v)", i+1, d.Observed, c.upper[i], d.Upper)
			}
		case "FALSE":
			if d.Alarm {
				res.alarmsDiffer++
				t.Errorf("point %d (observed %d): we alarm (upper %v), earsC does not (upper %v)", i+1, d.Observed, d.Upper, c.upper[i])
			}
		case "NA":
			res.na++
			if d.Alarm || d.Upper.Kind != Undefined {
				res.alarmsDiffer++
				t.Errorf("point %d: earsC's alarm is NA (upper %v), ours %v (upper %v)", i+1, c.upper[i], d.Alarm, d.Upper)
			}
		default:
			t.Fatalf("point %d: alarm %q", i+1, c.alarm[i])
		}
		if math.IsNaN(rUpper) != (d.Upper.Kind == Undefined) {
			t.Errorf("point %d: earsC's upperbound %v, ours %v", i+1, c.upper[i], d.Upper)
			continue
		}
		if math.IsNaN(rUpper) {
			continue
		}
		// Ours is R's value rounded down to 10^-6: at most 10^-6 below,
		// never above, give or take double's rounding (1e-9 is ample at
		// these counts, < 10^3).
		diff := float64(d.Upper.Fixed)/1e6 - rUpper
		res.maxDiff = max(res.maxDiff, math.Abs(diff))
		if d.Upper.Kind != Finite || diff > 1e-9 || diff < -1e-6-1e-9 {
			t.Errorf("point %d: upper %v, earsC %v: not earsC's rounded down", i+1, d.Upper, c.upper[i])
		}
	}
	return res
}
