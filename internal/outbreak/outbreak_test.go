package outbreak

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/detect"
)

// TestSimulateDeterministic: a seed gives the same series every time, and
// another seed another series.
func TestSimulateDeterministic(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	a, err := Simulate(c)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Simulate(c)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two series of the same seed differ")
	}
	c.Seed++
	other, _ := Simulate(c)
	if reflect.DeepEqual(a.Counts, other.Counts) {
		t.Fatal("seeds 1 and 2 give the same counts")
	}
}

// TestSimulateTruth checks the ground truth of 20 series: the length, the
// outbreaks (as many as asked, in order, apart, each inside its year,
// their excess in the counts) and Truth marking exactly their days.
func TestSimulateTruth(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		c := DefaultConfig()
		c.Seed = seed
		s, err := Simulate(c)
		if err != nil {
			t.Fatal(err)
		}
		if n := LeadDays + 4*YearDays; len(s.Counts) != n || s.EvalStart != n-YearDays {
			t.Fatalf("seed %d: %d days, evaluated from %d", seed, len(s.Counts), s.EvalStart)
		}
		if len(s.Outbreaks) != 4*c.PerYear {
			t.Fatalf("seed %d: %d outbreaks, want %d", seed, len(s.Outbreaks), 4*c.PerYear)
		}
		perYear := map[int]int{}
		marked := 0
		for i, o := range s.Outbreaks {
			year := (o.Start - LeadDays) / YearDays
			perYear[year]++
			if o.Start < LeadDays || (o.End()-1-LeadDays)/YearDays != year {
				t.Errorf("seed %d: outbreak %d (days %d to %d) crosses a year", seed, i, o.Start, o.End()-1)
			}
			if d := len(o.Excess); d < c.MinDays || d > c.MaxDays {
				t.Errorf("seed %d: outbreak %d lasts %d days", seed, i, d)
			}
			if i > 0 && o.Start < s.Outbreaks[i-1].End()+gapDays {
				t.Errorf("seed %d: outbreak %d starts %d, %d days after the previous one's end", seed, i, o.Start, o.Start-s.Outbreaks[i-1].End())
			}
			for k, x := range o.Excess {
				if s.Counts[o.Start+k] < x {
					t.Errorf("seed %d: day %d counts %d, below its excess %d", seed, o.Start+k, s.Counts[o.Start+k], x)
				}
			}
			marked += len(o.Excess)
		}
		for year := range 4 {
			if perYear[year] != c.PerYear {
				t.Errorf("seed %d: year %d has %d outbreaks", seed, year, perYear[year])
			}
		}
		truth := s.Truth()
		n := 0
		for d, in := range truth {
			if in {
				n++
			}
			if in != inAny(d, s.Outbreaks) {
				t.Fatalf("seed %d: Truth says %v for day %d", seed, in, d)
			}
		}
		if n != marked {
			t.Errorf("seed %d: %d days marked, %d outbreak days", seed, n, marked)
		}
	}
}

func inAny(d int, outbreaks []Outbreak) bool {
	for _, o := range outbreaks {
		if o.Start <= d && d < o.End() {
			return true
		}
	}
	return false
}

// TestSimulateBackground: without outbreaks the counts average Base a day,
// higher around the season's peak than around its trough; and the
// outbreaks add about the expected excess.
func TestSimulateBackground(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	c.PerYear = 0
	c.Years = 10
	s, err := Simulate(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Outbreaks) != 0 {
		t.Fatalf("%d outbreaks with none asked", len(s.Outbreaks))
	}
	var sum float64
	for _, y := range s.Counts {
		sum += float64(y)
	}
	if mean := sum / float64(len(s.Counts)); math.Abs(mean-c.Base) > 0.05*c.Base {
		t.Errorf("mean %.3f a day, want about %v", mean, c.Base)
	}
	// The busiest and quietest 91 days of the year, over 10 years: about
	// 1.45 and 0.55 times the base with a seasonality of 0.5.
	var quarter [4]float64
	for d, y := range s.Counts[:10*YearDays] {
		quarter[(d%YearDays)*4/YearDays] += float64(y)
	}
	hi, lo := quarter[0], quarter[0]
	for _, q := range quarter {
		hi, lo = max(hi, q), min(lo, q)
	}
	if hi < 2*lo {
		t.Errorf("quarters %v: no season", quarter)
	}

	c = DefaultConfig()
	c.MinSize, c.MaxSize = 30, 30
	var excess, outbreaks float64
	for seed := range uint64(20) {
		c.Seed = seed
		s, _ := Simulate(c)
		for _, o := range s.Outbreaks {
			outbreaks++
			for _, x := range o.Excess {
				excess += float64(x)
			}
		}
	}
	if mean := excess / outbreaks; math.Abs(mean-30) > 1.5 {
		t.Errorf("outbreaks of 30 expected cases add %.2f on average", mean)
	}
}

// TestConfigCheck names each refused configuration.
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero", func(c *Config) { *c = Config{} }, "years"},
		{"years 11", func(c *Config) { c.Years = MaxYears + 1 }, "years"},
		{"base 0", func(c *Config) { c.Base = 0 }, "base"},
		{"base NaN", func(c *Config) { c.Base = math.NaN() }, "base"},
		{"seasonality 1.5", func(c *Config) { c.Seasonality = 1.5 }, "seasonality"},
		{"13 outbreaks a year", func(c *Config) { c.PerYear = 13 }, "outbreaks a year"},
		{"days 5 to 3", func(c *Config) { c.MinDays, c.MaxDays = 5, 3 }, "outbreak days"},
		{"days 0", func(c *Config) { c.MinDays = 0 }, "outbreak days"},
		{"size -1", func(c *Config) { c.MinSize = -1 }, "outbreak size"},
		{"size 50 to 40", func(c *Config) { c.MinSize = 50 }, "outbreak size"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			c.edit(&cfg)
			err := cfg.Check()
			_, simErr := Simulate(cfg)
			if c.want == "" {
				if err != nil || simErr != nil {
					t.Fatalf("Check = %v, Simulate %v", err, simErr)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !errors.Is(simErr, ErrConfig) {
				t.Fatalf("Check = %v, Simulate %v; want ErrConfig", err, simErr)
			}
			if got := err.Error(); !strings.Contains(got, c.want) {
				t.Errorf("Check = %q, want it to name %q", got, c.want)
			}
		})
	}
}

// quiet returns the series of seed 7 without outbreaks.
func quiet(t *testing.T) Series {
	t.Helper()
	c := DefaultConfig()
	c.Seed, c.PerYear = 7, 0
	s, err := Simulate(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEvaluateHugeOutbreak: 100 more cases a day for 5 days, 100 days into
// the evaluated year, are detected by every method on their first day,
// but EARS C3 on the second (earsC's C3 alarms on the days after an
// excess, see internal/detect).
func TestEvaluateHugeOutbreak(t *testing.T) {
	t.Parallel()
	s := quiet(t)
	o := Outbreak{Start: s.EvalStart + 100, Excess: []uint32{100, 100, 100, 100, 100}}
	for i, x := range o.Excess {
		s.Counts[o.Start+i] += x
	}
	s.Outbreaks = []Outbreak{o}
	for _, m := range Methods(3) {
		sc, err := Evaluate(m.Detector, s)
		if err != nil {
			t.Fatal(err)
		}
		if sens, ok := sc.Sensitivity(); sc.Outbreaks != 1 || sc.Detected != 1 || !ok || sens != 1 {
			t.Errorf("%s: %+v, sensitivity %v %v", m.Name, sc, sens, ok)
			continue
		}
		want := 0.0
		if m.Name == "EARS C3" || m.Name == "EARS C3, minSigma 1" {
			want = 1
		}
		if d, ok := sc.MedianDelay(); !ok || d != want {
			t.Errorf("%s: detected after %v days (%v), want %v", m.Name, d, ok, want)
		}
		if sc.QuietDays != YearDays-5 || sc.Series != 1 {
			t.Errorf("%s: %d quiet days of %d series", m.Name, sc.QuietDays, sc.Series)
		}
	}
}

// TestEvaluateNoOutbreak: without outbreaks sensitivity and days to
// detection are undefined, not 0, and every alarm is false: the score
// counts what the rule's own days say, and a false signal per run of
// them.
func TestEvaluateNoOutbreak(t *testing.T) {
	t.Parallel()
	s := quiet(t)
	for _, m := range Methods(3) {
		sc, err := Evaluate(m.Detector, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := sc.Sensitivity(); ok || sc.Outbreaks != 0 {
			t.Errorf("%s: sensitivity defined with %d outbreaks", m.Name, sc.Outbreaks)
		}
		if _, ok := sc.MedianDelay(); ok {
			t.Errorf("%s: days to detection defined without an outbreak", m.Name)
		}
		alarms, runs := 0, 0
		prev := false
		for day := s.EvalStart; day < len(s.Counts); day++ {
			d, err := m.Detector.At(s.Counts, day)
			if err != nil {
				t.Fatal(err)
			}
			if d.Alarm {
				alarms++
				if !prev {
					runs++
				}
			}
			prev = d.Alarm
		}
		rate, ok := sc.FalseAlarmRate()
		if sc.QuietDays != YearDays || sc.FalseAlarms != alarms || sc.FalseSignals != runs || !ok || rate != float64(alarms)/YearDays {
			t.Errorf("%s: %+v (rate %v), want %d false alarms in %d runs", m.Name, sc, rate, alarms, runs)
		}
	}
}

// TestEvaluateRefuses: a bad rule, or one that needs more history than
// the series has.
func TestEvaluateRefuses(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	c.Years = 1
	s, err := Simulate(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Evaluate(detect.Percentile{Years: 2}, s); !errors.Is(err, ErrHistory) {
		t.Errorf("2 years on 1: %v, want ErrHistory", err)
	}
	if _, err := Evaluate(detect.Percentile{Years: 1}, s); err != nil {
		t.Errorf("1 year on 1: %v", err)
	}
	if _, err := Evaluate(detect.Threshold{}, s); !errors.Is(err, detect.ErrCases) {
		t.Errorf("an empty threshold: %v, want ErrCases", err)
	}
	if _, err := Bench(c, 0, Methods(1)); !errors.Is(err, ErrConfig) {
		t.Errorf("no seeds: %v, want ErrConfig", err)
	}
	if _, err := Bench(c, 1, Methods(3)); !errors.Is(err, ErrHistory) {
		t.Errorf("3 years of percentile on 1: %v, want ErrHistory", err)
	}
}

// TestScore: pooling adds the counts; the median of an even number of
// delays is the mean of the middle two.
func TestScore(t *testing.T) {
	t.Parallel()
	var sc Score
	sc.Add(Score{Outbreaks: 4, Detected: 3, Delays: []int{5, 0, 1}, QuietDays: 300, FalseAlarms: 6, FalseSignals: 2, Series: 1})
	sc.Add(Score{Outbreaks: 4, Detected: 1, Delays: []int{2}, QuietDays: 300, FalseAlarms: 0, Series: 1})
	want := Score{Outbreaks: 8, Detected: 4, Delays: []int{5, 0, 1, 2}, QuietDays: 600, FalseAlarms: 6, FalseSignals: 2, Series: 2}
	if !reflect.DeepEqual(sc, want) {
		t.Fatalf("%+v, want %+v", sc, want)
	}
	sens, _ := sc.Sensitivity()
	rate, _ := sc.FalseAlarmRate()
	perYear, _ := sc.FalseSignalsPerYear()
	median, _ := sc.MedianDelay()
	if sens != 0.5 || rate != 0.01 || perYear != 1 || median != 1.5 {
		t.Errorf("sensitivity %v, false alarm rate %v, false signals a year %v, median %v", sens, rate, perYear, median)
	}
	sc.Delays = sc.Delays[:3]
	if median, _ := sc.MedianDelay(); median != 1 {
		t.Errorf("median of 5 0 1: %v", median)
	}
	if _, ok := (Score{}).FalseAlarmRate(); ok {
		t.Error("a false alarm rate without quiet days")
	}
	if _, ok := (Score{}).FalseSignalsPerYear(); ok {
		t.Error("false signals a year without a series")
	}
}

// TestBench: a bench is its series' scores added up, and the same twice.
func TestBench(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	c.Seed = 40
	methods := Methods(3)
	res, err := Bench(c, 3, methods)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Bench(c, 3, methods)
	if !reflect.DeepEqual(res, again) {
		t.Fatal("two benches differ")
	}
	for i, m := range methods {
		var want Score
		for seed := range uint64(3) {
			c.Seed = 40 + seed
			s, _ := Simulate(c)
			sc, err := Evaluate(m.Detector, s)
			if err != nil {
				t.Fatal(err)
			}
			want.Add(sc)
		}
		if res[i].Method != m.Name || !reflect.DeepEqual(res[i].Score, want) {
			t.Errorf("%s: %+v, want %+v", m.Name, res[i], want)
		}
		if res[i].Outbreaks != 3*c.PerYear || res[i].Series != 3 {
			t.Errorf("%s: %d outbreaks in %d series", m.Name, res[i].Outbreaks, res[i].Series)
		}
	}
}
