package detect

import (
	"errors"
	"fmt"
	"math"
)

// MaxThresholdDays bounds Threshold.Days: a year and a day, as the
// ledger's threshold rule (ledger.MaxRuleDays).
const MaxThresholdDays = 366

// The errors of Threshold.Check, wrapped with the offending value.
var (
	ErrCases = errors.New("detect: threshold cases out of range")
	ErrDays  = errors.New("detect: threshold days out of range")
)

// Threshold is the fixed-threshold rule: an alarm when Cases or more cases
// are counted in the Days days up to and including a day. With 1 case in
// 1 day it is CIDARS's fixed-threshold method for the gravest diseases,
// where a single case is an event; with a larger Cases it is the "k cases in
// d days" rule that surveillance staff set by hand, the baseline every
// statistical method should beat. It computes what the state machine's
// threshold warning rule computes. Both fields are required (no default).
// A Threshold is a plain value: safe to copy and to use from several
// goroutines.
type Threshold struct {
	// Cases is the smallest count that alarms: 1 to 2^32−1.
	Cases int
	// Days is the number of days counted: 1 to MaxThresholdDays.
	Days int
}

// Check reports whether th is a valid parameter set, wrapping ErrCases or
// ErrDays.
func (th Threshold) Check() error {
	switch {
	case th.Cases < 1 || int64(th.Cases) > math.MaxUint32:
		return fmt.Errorf("%w: %d (1 to %d)", ErrCases, th.Cases, uint32(math.MaxUint32))
	case th.Days < 1 || th.Days > MaxThresholdDays:
		return fmt.Errorf("%w: %d (1 to %d)", ErrDays, th.Days, MaxThresholdDays)
	}
	return nil
}

// First returns Days − 1, the first day with Days days to count, or -1 if
// th is not valid.
func (th Threshold) First() int {
	if th.Check() != nil {
		return -1
	}
	return th.Days - 1
}

// At judges day t of counts: Observed is the count of the Days days
// ending on t, capped at 2^32−1, Stat the same count uncapped, Upper
// Cases − 1, and Alarm Observed > Upper. Only counts[t-First:t+1] are
// read. It returns an error wrapping ErrTooShort when t < First or
// t >= len(counts), or Check's.
func (th Threshold) At(counts []uint32, t int) (Day, error) {
	if err := th.Check(); err != nil {
		return Day{}, err
	}
	if t < th.First() || t >= len(counts) {
		return Day{}, fmt.Errorf("%w: day %d of %d with %d cases in %d days needs days %d to %d", ErrTooShort, t, len(counts), th.Cases, th.Days, th.First(), len(counts)-1)
	}
	var s int64 // at most MaxThresholdDays·2^32: no overflow, and fits a Fixed
	for _, y := range counts[t-th.Days+1 : t+1] {
		s += int64(y)
	}
	upper := Fixed(th.Cases-1) * One
	observed := uint32(min(s, math.MaxUint32))
	return Day{
		Index:    t,
		Observed: observed,
		Stat:     Value{Fixed: Fixed(s) * One},
		Upper:    Value{Fixed: upper},
		Alarm:    Fixed(observed)*One > upper,
	}, nil
}
