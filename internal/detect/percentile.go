package detect

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Limits and defaults of Percentile's parameters. The defaults are
// CIDARS's: the current 7 days against the same 5 weeks of the 3 years
// before, alarm above the 80th percentile.
const (
	// DefaultYears is the number of past years when Percentile.Years is 0.
	DefaultYears = 3
	// MaxYears bounds Years: ten years of history is already more than
	// a district's reporting usually stays comparable for.
	MaxYears = 10
	// DefaultWeeks is the half-window when Percentile.Weeks is 0: the
	// same week and the 2 weeks before and after it, 5 periods a year.
	DefaultWeeks = 2
	// MaxWeeks bounds Weeks (17 periods a year).
	MaxWeeks = 8
	// DefaultPercentile is CIDARS's threshold for most diseases.
	DefaultPercentile = 80
	// DefaultWindow is the number of days summed into one count.
	DefaultWindow = 7
	// MaxWindow bounds Window: four weeks.
	MaxWindow = 28
	// YearDays is the distance from a day to the same day a year
	// before: 52 weeks, so that the day of the week is the same and the
	// weeks of past years line up with this one's (see Percentile).
	YearDays = 364
	// WeekDays is the step between the periods of one year's window.
	WeekDays = 7
)

// The errors of Percentile.Check, wrapped with the offending value.
var (
	ErrYears      = errors.New("detect: percentile years out of range")
	ErrWeeks      = errors.New("detect: percentile half-window in weeks out of range")
	ErrPercentile = errors.New("detect: percentile out of range")
	ErrWindow     = errors.New("detect: percentile window in days out of range")
	ErrMinCases   = errors.New("detect: percentile minimum cases out of range")
)

// Percentile is the moving percentile method of China's CIDARS (the China
// Infectious Disease Automated-alert and Response System; Yang W. et al.,
// Western Pac Surveill Response J 2011, 2(1):10-15): on each day, the count
// of the last Window days is compared with the counts of the same Window
// days in each of the Years years before, at the same week and the Weeks
// weeks before and after it, and alarms when it exceeds their
// Percentile-th percentile. With the defaults that is the current 7 days
// against 3 × 5 = 15 past 7-day counts, above P80.
//
// Where the literature leaves a choice, Percentile takes one:
//
//   - A year is YearDays = 364 days (52 weeks): the past periods of day t
//     are the Window days ending on t − 364k + 7j, for k = 1 to Years and
//     j = −Weeks to Weeks. The periods keep the day of the week (weekly
//     reporting patterns cancel out) and never overlap; against the
//     calendar they drift by 1.25 days a year, 3.75 days after 3 years,
//     well inside the ±2 weeks.
//   - The percentile is R's quantile(type = 7), Excel's PERCENTILE and
//     PERCENTILE.INC, numpy's default: on the n past counts sorted,
//     x[h] with h = (n−1)·P/100 counted from 0, interpolated linearly
//     between x[⌊h⌋] and x[⌊h⌋+1]. Since P is a whole percent, the
//     interpolation weight is a multiple of 0.01 and the percentile a
//     multiple of 0.01: exact as a Fixed, no rounding at all.
//   - An alarm needs the current count above the percentile and at least
//     MinCases (default 1, so a count of 0 never alarms; with a baseline
//     of zeros any case does).
//   - A Window-day count above 2^32−1 counts as 2^32−1, current and past
//     alike (the state machine's threshold rule caps its count the same
//     way): any counts are judged, none is refused.
//
// The zero value of each field means its default. A Percentile is a plain
// value: safe to copy and to use from several goroutines.
type Percentile struct {
	// Years is the number of past years compared: 0 means 3, else 1 to
	// MaxYears.
	Years int
	// Weeks is the half-window, in weeks, around the same week of each
	// past year: 0 means 2 (5 periods a year), else 1 to MaxWeeks. The
	// same week alone is not offered: the literature always takes
	// neighbours, and 0 is the default.
	Weeks int
	// Percentile is P, a whole percent: 0 means 80, else 1 to 100 (100
	// is the largest past count).
	Percentile int
	// Window is the number of days summed into the current count and
	// into each past one: 0 means 7, else 1 to MaxWindow.
	Window int
	// MinCases is the smallest current count that may alarm: 0 means 1
	// (the same: a count of 0 never exceeds a percentile), else up to
	// 2^32−1.
	MinCases int
}

// pctParams are a Percentile's parameters after Check, defaults filled in.
type pctParams struct {
	years, weeks, percent, window int
	minCases                      uint32
}

// Check reports whether p is a valid parameter set, wrapping one of
// ErrYears, ErrWeeks, ErrPercentile, ErrWindow or ErrMinCases.
func (p Percentile) Check() error {
	_, err := p.params()
	return err
}

func (p Percentile) params() (pctParams, error) {
	q := pctParams{
		years:   orDefault(p.Years, DefaultYears),
		weeks:   orDefault(p.Weeks, DefaultWeeks),
		percent: orDefault(p.Percentile, DefaultPercentile),
		window:  orDefault(p.Window, DefaultWindow),
	}
	switch {
	case q.years < 1 || q.years > MaxYears:
		return q, fmt.Errorf("%w: %d (1 to %d)", ErrYears, q.years, MaxYears)
	case q.weeks < 1 || q.weeks > MaxWeeks:
		return q, fmt.Errorf("%w: %d (1 to %d)", ErrWeeks, q.weeks, MaxWeeks)
	case q.percent < 1 || q.percent > 100:
		return q, fmt.Errorf("%w: %d (1 to 100)", ErrPercentile, q.percent)
	case q.window < 1 || q.window > MaxWindow:
		return q, fmt.Errorf("%w: %d (1 to %d)", ErrWindow, q.window, MaxWindow)
	case p.MinCases < 0 || int64(p.MinCases) > math.MaxUint32:
		return q, fmt.Errorf("%w: %d (0 to %d)", ErrMinCases, p.MinCases, uint32(math.MaxUint32))
	}
	q.minCases = uint32(max(p.MinCases, 1))
	return q, nil
}

// orDefault returns v, or def when v is 0 (a field left to its default).
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// First returns the index of the first day p can judge: the one whose
// earliest past period, Years years and Weeks weeks back, starts at
// index 0: 364·Years + 7·Weeks + Window − 1 (1,112 with the defaults). It
// returns -1 if p is not valid.
func (p Percentile) First() int {
	q, err := p.params()
	if err != nil {
		return -1
	}
	return q.first()
}

func (q pctParams) first() int {
	return YearDays*q.years + WeekDays*q.weeks + q.window - 1
}

// Run judges every day of counts from First on. counts are one count per
// day, oldest first; Run neither keeps nor changes them. A series too short
// for one verdict gives no days and no error. The error is Check's.
func (p Percentile) Run(counts []uint32) ([]Day, error) {
	q, err := p.params()
	if err != nil {
		return nil, err
	}
	first := q.first()
	if len(counts) <= first {
		return nil, nil
	}
	days := make([]Day, 0, len(counts)-first)
	for t := first; t < len(counts); t++ {
		days = append(days, q.at(counts, t))
	}
	return days, nil
}

// At judges day t of counts alone, as Run would: the state machine's daily
// call. Only counts[t-First:t+1] are read. The Day's Observed is the
// Window-day count ending on t (not the day's own count), Stat the
// percentile of the past counts, and Upper the largest current count that
// does not alarm: the percentile, or MinCases − 1 if that is larger. Alarm
// is Observed > Upper. It returns an error wrapping ErrTooShort when
// t < First or t >= len(counts), or Check's.
func (p Percentile) At(counts []uint32, t int) (Day, error) {
	q, err := p.params()
	if err != nil {
		return Day{}, err
	}
	if t < q.first() || t >= len(counts) {
		return Day{}, fmt.Errorf("%w: day %d of %d with the moving percentile needs days %d to %d", ErrTooShort, t, len(counts), q.first(), len(counts)-1)
	}
	return q.at(counts, t), nil
}

// at judges day t; t is within counts and at least q.first().
func (q pctParams) at(counts []uint32, t int) Day {
	var buf [MaxYears * (2*MaxWeeks + 1)]uint32
	past := buf[:0]
	for k := 1; k <= q.years; k++ {
		for j := -q.weeks; j <= q.weeks; j++ {
			past = append(past, q.sum(counts, t-YearDays*k+WeekDays*j))
		}
	}
	slices.Sort(past)
	pct := percentile(past, q.percent)
	upper := max(pct, Fixed(q.minCases-1)*One)
	y := q.sum(counts, t)
	return Day{
		Index:    t,
		Observed: y,
		Stat:     Value{Fixed: pct},
		Upper:    Value{Fixed: upper},
		Alarm:    Fixed(y)*One > upper,
	}
}

// sum returns the count of the q.window days ending on end, capped at
// 2^32−1; end-q.window+1 is at least 0.
func (q pctParams) sum(counts []uint32, end int) uint32 {
	var s uint64 // at most MaxWindow·2^32: no overflow
	for _, y := range counts[end-q.window+1 : end+1] {
		s += uint64(y)
	}
	return uint32(min(s, math.MaxUint32))
}

// percentile returns R's quantile(x, p/100, type = 7) of sorted, which is
// not empty, exactly: x[lo] + r/100·(x[lo+1] − x[lo]), where
// lo·100 + r = (n−1)·p. Every term is a multiple of 0.01 (Fixed 10^4), and
// at most 2^32−1, far inside Fixed's range.
func percentile(sorted []uint32, p int) Fixed {
	h := (len(sorted) - 1) * p
	lo, r := h/100, h%100
	v := Fixed(sorted[lo]) * One
	if r != 0 { // then lo+1 < len(sorted): r is 0 when p is 100
		v += Fixed(r) * Fixed(sorted[lo+1]-sorted[lo]) * (One / 100)
	}
	return v
}
