package outbreak

import (
	"errors"
	"fmt"
	"slices"

	"github.com/epiledger/epiledger/internal/detect"
)

// ErrHistory is returned, wrapped, by Evaluate when a rule's first day
// comes after the start of the evaluated year: the series has too little
// history for it.
var ErrHistory = errors.New("outbreak: the rule needs more history than the series holds")

// Score is what a rule did on the evaluated days of one series, or of
// many added together (Add): the counts behind sensitivity, false alarm
// rate and days to detection, kept as counts so that series pool exactly.
type Score struct {
	// Outbreaks is the number of outbreaks wholly inside the evaluated
	// days, and Detected those of them with an alarm on at least one of
	// their days.
	Outbreaks, Detected int
	// Delays holds, for each detected outbreak, the days from its start
	// to its first alarm: 0 when the alarm comes on its first day.
	Delays []int
	// QuietDays is the number of evaluated days in no outbreak, and
	// FalseAlarms the alarms on them. A window rule (a 7-day count) may
	// still alarm in the days after an outbreak's end, on its cases: those
	// count as false here.
	QuietDays, FalseAlarms int
	// FalseSignals counts the runs of false alarms: a false alarm the day
	// after no alarm. A responder investigates a run once, and a run that
	// goes on from an outbreak's last day (its tail) is not a new one.
	FalseSignals int
	// Series is the number of series (evaluated years) added up.
	Series int
}

// Evaluate runs d on every day of s's evaluated year and scores it against
// the truth. It fails if d is not valid, or wrapping ErrHistory if d
// cannot judge the evaluated year's first day.
func Evaluate(d detect.Detector, s Series) (Score, error) {
	if err := d.Check(); err != nil {
		return Score{}, err
	}
	if first := d.First(); first > s.EvalStart {
		return Score{}, fmt.Errorf("%w: it judges from day %d, the evaluated year starts on day %d", ErrHistory, first, s.EvalStart)
	}
	sc := Score{Series: 1}
	truth := s.Truth()
	alarm := make([]bool, len(s.Counts))
	for t := s.EvalStart; t < len(s.Counts); t++ {
		day, err := d.At(s.Counts, t)
		if err != nil {
			return Score{}, err
		}
		alarm[t] = day.Alarm
		if truth[t] {
			continue
		}
		sc.QuietDays++
		if day.Alarm {
			sc.FalseAlarms++
			if t == s.EvalStart || !alarm[t-1] {
				sc.FalseSignals++
			}
		}
	}
	for _, o := range s.Outbreaks {
		if o.Start < s.EvalStart || o.End() > len(s.Counts) {
			continue
		}
		sc.Outbreaks++
		if i := slices.Index(alarm[o.Start:o.End()], true); i >= 0 {
			sc.Detected++
			sc.Delays = append(sc.Delays, i)
		}
	}
	return sc, nil
}

// Add adds o's counts to sc: the score of both series together.
func (sc *Score) Add(o Score) {
	sc.Outbreaks += o.Outbreaks
	sc.Detected += o.Detected
	sc.Delays = append(sc.Delays, o.Delays...)
	sc.QuietDays += o.QuietDays
	sc.FalseAlarms += o.FalseAlarms
	sc.FalseSignals += o.FalseSignals
	sc.Series += o.Series
}

// Sensitivity returns the share of outbreaks detected, or false when there
// was no outbreak to detect (undefined, not 0).
func (sc Score) Sensitivity() (float64, bool) {
	if sc.Outbreaks == 0 {
		return 0, false
	}
	return float64(sc.Detected) / float64(sc.Outbreaks), true
}

// FalseAlarmRate returns the share of quiet days with an alarm, or false
// when every evaluated day was in an outbreak.
func (sc Score) FalseAlarmRate() (float64, bool) {
	if sc.QuietDays == 0 {
		return 0, false
	}
	return float64(sc.FalseAlarms) / float64(sc.QuietDays), true
}

// FalseSignalsPerYear returns the false signals of an evaluated year, on
// average, or false when no series was added.
func (sc Score) FalseSignalsPerYear() (float64, bool) {
	if sc.Series == 0 {
		return 0, false
	}
	return float64(sc.FalseSignals) / float64(sc.Series), true
}

// MedianDelay returns the median of Delays (the mean of the two middle
// ones for an even number), or false when no outbreak was detected.
func (sc Score) MedianDelay() (float64, bool) {
	if len(sc.Delays) == 0 {
		return 0, false
	}
	d := slices.Sorted(slices.Values(sc.Delays))
	m := len(d) / 2
	if len(d)%2 == 1 {
		return float64(d[m]), true
	}
	return float64(d[m-1]+d[m]) / 2, true
}

// Method is a rule with the name a report gives it.
type Method struct {
	Name     string
	Detector detect.Detector
}

// Methods returns the rules the benchmark compares: EARS C1, C2 and C3 as
// earsC's defaults and with a minimum sigma of 1 (Burkom's advice for
// sparse counts), CIDARS's moving percentile (P80, the current 7 days
// against 5 weeks of each of years past years; and P90 and P95, to show
// what a higher percentile trades), and two fixed thresholds
// such as a district sets by hand for DefaultConfig's level (2 cases a day
// on average, 3 at the season's peak): 9 cases in one day, 30 in 7 days.
func Methods(years int) []Method {
	return []Method{
		{"EARS C1", detect.EARS{Method: detect.C1}},
		{"EARS C2", detect.EARS{Method: detect.C2}},
		{"EARS C3", detect.EARS{Method: detect.C3}},
		{"EARS C1, minSigma 1", detect.EARS{Method: detect.C1, MinSigma: detect.One}},
		{"EARS C2, minSigma 1", detect.EARS{Method: detect.C2, MinSigma: detect.One}},
		{"EARS C3, minSigma 1", detect.EARS{Method: detect.C3, MinSigma: detect.One}},
		{fmt.Sprintf("moving percentile P80, %d years (CIDARS)", years), detect.Percentile{Years: years}},
		{fmt.Sprintf("moving percentile P90, %d years", years), detect.Percentile{Years: years, Percentile: 90}},
		{fmt.Sprintf("moving percentile P95, %d years", years), detect.Percentile{Years: years, Percentile: 95}},
		{"fixed threshold, 9 cases in 1 day", detect.Threshold{Cases: 9, Days: 1}},
		{"fixed threshold, 30 cases in 7 days", detect.Threshold{Cases: 30, Days: 7}},
	}
}

// Result is one method's score over every series of a Bench.
type Result struct {
	Method string
	Score
}

// Bench simulates seeds series, with seeds c.Seed, c.Seed+1, ..., and
// scores every method on each, pooling the counts: sensitivity over all
// the outbreaks, false alarm rate over all the quiet days, the median
// over all the detected outbreaks. It returns one Result per method, in
// order. It fails on a bad Config, a bad method, or a method that needs
// more history than c.Years gives it.
func Bench(c Config, seeds int, methods []Method) ([]Result, error) {
	if seeds < 1 {
		return nil, fmt.Errorf("%w: seeds: at least 1", ErrConfig)
	}
	res := make([]Result, len(methods))
	for i, m := range methods {
		res[i].Method = m.Name
	}
	for k := range seeds {
		cs := c
		cs.Seed = c.Seed + uint64(k)
		s, err := Simulate(cs)
		if err != nil {
			return nil, err
		}
		for i, m := range methods {
			sc, err := Evaluate(m.Detector, s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.Name, err)
			}
			res[i].Add(sc)
		}
	}
	return res, nil
}
