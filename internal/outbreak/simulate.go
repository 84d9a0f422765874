// Package outbreak measures how well the detection rules of
// internal/detect find outbreaks (issue 16): it simulates a district's
// daily counts of one disease, sporadic cases with a yearly season and
// outbreaks seeded at known days, and scores each rule on the last year
// by sensitivity, false alarm rate and days to detection, over many
// seeds.
//
// Unlike internal/detect, this package is not part of the state machine:
// it uses floating point and math/rand/v2 freely. It is deterministic: a
// seed gives the same series on every run. Across architectures math.Exp,
// math.Cos and fused multiply-adds may differ in the last bit and, rarely,
// change a count, so figures are quoted with the machine's architecture
// in mind (they were measured on amd64).
package outbreak

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// YearDays is the length of a simulated year, and of the evaluated one.
const YearDays = 365

// LeadDays are simulated before the first year of history, so that every
// rule can judge the evaluated year's first day: CIDARS's moving
// percentile reaches 364 days a year back and 20 days more (2 weeks, and
// a 7-day window), EARS with its default baseline 11 days.
const LeadDays = 28

// gapDays keep outbreaks apart: one's tail does not run into the next
// one's first days, so that each is detected (or not) on its own.
const gapDays = 14

// Limits of Config.
const (
	MaxYears        = 10
	MaxBase         = 10_000
	MaxPerYear      = 12
	MaxOutbreakDays = 60
	MaxOutbreakSize = 1e6
)

// ErrConfig is returned, wrapped with the fault, by Config.Check and
// Simulate for parameters out of range.
var ErrConfig = errors.New("outbreak: configuration out of range")

// Config describes the simulated district and disease. All fields are
// used as they are (no zero-means-default): start from DefaultConfig.
type Config struct {
	// Seed selects the series; a seed gives the same series every time.
	Seed uint64 `json:"seed"`
	// Years of history before the evaluated year: 1 to MaxYears.
	Years int `json:"years"`
	// Base is the mean number of sporadic cases a day, averaged over a
	// year: above 0, at most MaxBase.
	Base float64 `json:"base"`
	// Seasonality is the relative amplitude of the yearly cycle, 0 to 1:
	// the mean of a day is Base·(1 + Seasonality·cos(2π(day − peak)/365.25)),
	// the peak day drawn from the seed.
	Seasonality float64 `json:"seasonality"`
	// PerYear outbreaks are seeded in each year, history and the evaluated
	// year alike (past outbreaks are in the baselines, as in real data): 0
	// to MaxPerYear.
	PerYear int `json:"per_year"`
	// MinDays and MaxDays bound an outbreak's duration, drawn uniformly:
	// 1 <= MinDays <= MaxDays <= MaxOutbreakDays.
	MinDays int `json:"min_days"`
	MaxDays int `json:"max_days"`
	// MinSize and MaxSize bound the expected number of excess cases of an
	// outbreak, drawn uniformly: 0 <= MinSize <= MaxSize <= MaxOutbreakSize.
	MinSize float64 `json:"min_size"`
	MaxSize float64 `json:"max_size"`
}

// DefaultConfig is the benchmark's district: 2 sporadic cases a day on
// average, ±50% over the year, and 4 outbreaks a year of 3 to 14 days and
// 10 to 40 excess cases (from under 1 a day over two weeks, hard to tell
// from the season, to 13 a day over three days), 3 years of history.
func DefaultConfig() Config {
	return Config{
		Seed:        1,
		Years:       3,
		Base:        2,
		Seasonality: 0.5,
		PerYear:     4,
		MinDays:     3,
		MaxDays:     14,
		MinSize:     10,
		MaxSize:     40,
	}
}

// Check reports whether c is valid, wrapping ErrConfig.
func (c Config) Check() error {
	fail := func(field, want string) error { return fmt.Errorf("%w: %s: %s", ErrConfig, field, want) }
	switch {
	case c.Years < 1 || c.Years > MaxYears:
		return fail("years", fmt.Sprintf("1 to %d", MaxYears))
	case !(c.Base > 0 && c.Base <= MaxBase):
		return fail("base", fmt.Sprintf("above 0, at most %d cases a day", MaxBase))
	case !(c.Seasonality >= 0 && c.Seasonality <= 1):
		return fail("seasonality", "0 to 1")
	case c.PerYear < 0 || c.PerYear > MaxPerYear:
		return fail("outbreaks a year", fmt.Sprintf("0 to %d", MaxPerYear))
	case c.MinDays < 1 || c.MinDays > c.MaxDays || c.MaxDays > MaxOutbreakDays:
		return fail("outbreak days", fmt.Sprintf("1 <= min <= max <= %d", MaxOutbreakDays))
	case !(c.MinSize >= 0 && c.MinSize <= c.MaxSize && c.MaxSize <= MaxOutbreakSize):
		return fail("outbreak size", fmt.Sprintf("0 <= min <= max <= %g", float64(MaxOutbreakSize)))
	}
	return nil
}

// Outbreak is one seeded outbreak: its ground truth.
type Outbreak struct {
	// Start is the index of its first day in Series.Counts.
	Start int
	// Excess holds the cases it added on each of its days (a day may get
	// none: the excess is drawn around a mean). Its length is the
	// outbreak's duration.
	Excess []uint32
}

// End returns the index of the day after the outbreak's last.
func (o Outbreak) End() int { return o.Start + len(o.Excess) }

// Series is a simulated district: its daily counts and their ground truth.
type Series struct {
	// Counts holds one count per day, oldest first: sporadic cases plus
	// the outbreaks' excess.
	Counts []uint32
	// Outbreaks are in order of Start and do not overlap.
	Outbreaks []Outbreak
	// EvalStart is the first day of the evaluated year, the last
	// YearDays of Counts; the days before are history.
	EvalStart int
}

// Truth returns, for each day of s.Counts, whether it belongs to an
// outbreak.
func (s Series) Truth() []bool {
	in := make([]bool, len(s.Counts))
	for _, o := range s.Outbreaks {
		for d := o.Start; d < o.End(); d++ {
			in[d] = true
		}
	}
	return in
}

// Simulate returns the series of c.Seed: LeadDays, then c.Years years of
// history, then the evaluated year, each year of YearDays. Each day's
// sporadic cases are Poisson around the seasonal mean; each year gets
// c.PerYear outbreaks placed at random, wholly inside it, 14 days or more
// apart, each of a random duration and expected size, its expected excess
// rising to a peak a third of the way in and falling to the end, and each
// day's excess Poisson around it. The error is Check's.
func Simulate(c Config) (Series, error) {
	if err := c.Check(); err != nil {
		return Series{}, err
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x6f7574627265616b)) // "outbreak"
	n := LeadDays + (c.Years+1)*YearDays
	s := Series{Counts: make([]uint32, n), EvalStart: n - YearDays}
	peak := rng.Float64() * YearDays
	for d := range s.Counts {
		mean := c.Base * (1 + c.Seasonality*math.Cos(2*math.Pi*(float64(d)-peak)/365.25))
		s.Counts[d] = poisson(rng, mean)
	}
	for year := LeadDays; year < n; year += YearDays {
		s.Outbreaks = append(s.Outbreaks, place(rng, c, year, s.Outbreaks)...)
	}
	slices.SortFunc(s.Outbreaks, func(a, b Outbreak) int { return cmp.Compare(a.Start, b.Start) })
	for _, o := range s.Outbreaks {
		for i, x := range o.Excess {
			s.Counts[o.Start+i] = uint32(min(uint64(s.Counts[o.Start+i])+uint64(x), math.MaxUint32))
		}
	}
	return s, nil
}

// place draws c.PerYear outbreaks inside the year starting on day year,
// apart from those already placed. A position that clashes is drawn again,
// up to 100 times; after that the outbreak is left out, which happens only
// when the year is nearly full (12 outbreaks of 60 days and their gaps do
// not fit in one). Series.Outbreaks is the truth either way.
func place(rng *rand.Rand, c Config, year int, placed []Outbreak) []Outbreak {
	var out []Outbreak
	for range c.PerYear {
		days := c.MinDays + rng.IntN(c.MaxDays-c.MinDays+1)
		size := c.MinSize + rng.Float64()*(c.MaxSize-c.MinSize)
		for range 100 {
			start := year + rng.IntN(YearDays-days+1)
			if clashes(start, days, placed) || clashes(start, days, out) {
				continue
			}
			out = append(out, Outbreak{Start: start, Excess: excess(rng, days, size)})
			break
		}
	}
	return out
}

// clashes reports whether days days from start come within gapDays of one
// of outbreaks.
func clashes(start, days int, outbreaks []Outbreak) bool {
	for _, o := range outbreaks {
		if start < o.End()+gapDays && o.Start < start+days+gapDays {
			return true
		}
	}
	return false
}

// excess draws an outbreak's cases day by day: a triangle of expected
// cases rising to a peak on day ⌊(days−1)/3⌋ and falling to the last day,
// scaled to size in all, each day Poisson around it (the CDC's simulated
// outbreaks have the same lognormal-like shape: quick rise, slow fall).
func excess(rng *rand.Rand, days int, size float64) []uint32 {
	top := (days - 1) / 3
	w := make([]float64, days)
	var sum float64
	for i := range w {
		if i <= top {
			w[i] = float64(i+1) / float64(top+1)
		} else {
			w[i] = float64(days-i) / float64(days-top)
		}
		sum += w[i]
	}
	x := make([]uint32, days)
	for i := range x {
		x[i] = poisson(rng, size*w[i]/sum)
	}
	return x
}

// poisson draws a Poisson count of the given mean: Knuth's product of
// uniforms, on pieces of at most 30 (a sum of Poisson counts is Poisson,
// and exp(−30) is far from underflow).
func poisson(rng *rand.Rand, mean float64) uint32 {
	var n uint32
	for mean > 0 {
		m := min(mean, 30)
		mean -= m
		limit := math.Exp(-m)
		for p := rng.Float64(); p > limit; p *= rng.Float64() {
			n++
		}
	}
	return n
}
