package detect

// Detector is what the rules of this package have in common: a parameter
// set that judges one day of a series of daily counts from the days before
// it. EARS, Percentile and Threshold satisfy it, so that a caller (the
// state machine, internal/outbreak's evaluation) can hold any of them.
type Detector interface {
	// Check reports whether the parameters are valid.
	Check() error
	// First returns the index of the first day the rule can judge, or -1
	// if its parameters are not valid.
	First() int
	// At judges day t of counts, reading only counts[t-First():t+1]. The
	// Day's Alarm is Observed > Upper. It fails, wrapping ErrTooShort,
	// for t outside First() to len(counts)−1, or with Check's error.
	At(counts []uint32, t int) (Day, error)
}

var (
	_ Detector = EARS{}
	_ Detector = Percentile{}
	_ Detector = Threshold{}
)
