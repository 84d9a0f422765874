package report

import (
	"fmt"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/store"
)

// The window of a read about a person (issue 12, point 4). A window asked
// for (--from or --to, or both) is the window; without either, a reported
// case's own window (CaseWindow); anyone else's, and every read that names
// no person, the lookback (trace.lookback) up to the end of the day of the
// ledger's latest record (DefaultEnd).

// Where a window came from: WindowBasis.Basis.
const (
	// WindowGiven: the request gave from or to.
	WindowGiven = "given"
	// WindowCase: the reported case's own window.
	WindowCase = "case"
	// WindowLatest: the lookback up to the ledger's latest record.
	WindowLatest = "latest"
)

// DefaultIncubationMaxDays is the longest incubation, in days: how far a
// case's own window reaches back before its onset, and the default of a
// source search (DefaultIncubationMax).
const DefaultIncubationMaxDays = 14

// WindowBasis says where a report's window came from (Basis, one of the
// Window* constants) and, unless it was given, why (Note, in words). The
// reports embed it, so their JSON carries window_basis and window_note.
type WindowBasis struct {
	Basis string `json:"window_basis"`
	Note  string `json:"window_note,omitempty"`
}

// Line is the line a table prints under its heading: "Window: <note>",
// or "" for a window given.
func (wb WindowBasis) Line() string {
	if wb.Note == "" {
		return ""
	}
	return "Window: " + wb.Note + "\n"
}

// DefaultWindow resolves from and to (see ParseWindow) for a read on n:
// a missing to is DefaultEnd (clock nil: time.Now), a missing from the
// config's lookback before it. Its basis is WindowGiven when from or to
// is set, WindowLatest otherwise.
func DefaultWindow(n *node.Node, clock func() time.Time, from, to string) (Window, error) {
	c := n.Home.Config
	end, fromData, err := defaultEnd(n, clock)
	if err != nil {
		return Window{}, err
	}
	w, err := ParseWindow(from, to, end, c.Trace.Lookback.Duration, c.Location())
	if err != nil || from != "" || to != "" {
		w.WindowBasis = WindowBasis{Basis: WindowGiven}
		return w, err
	}
	upTo := "now: the ledger holds no record yet"
	if fromData {
		upTo = "the end of the day of the ledger's latest record (" + w.To.Format("2006-01-02") + "; or of a later validate close --until)"
	} else if _, ok, err := n.Query.DataClock(); err != nil {
		return Window{}, err
	} else if ok {
		upTo = "now, the day of the ledger's latest record"
	}
	w.WindowBasis = WindowBasis{Basis: WindowLatest,
		Note: fmt.Sprintf("the default, the %s (trace.lookback) up to %s; --from and --to set another", days(c.Trace.Lookback.Duration), upTo)}
	return w, nil
}

// PersonWindow is the window of a read about p, given the window w that
// DefaultWindow resolved for the request: when the request gave neither
// from nor to (WindowLatest) and p is a reported case, the case's own
// window (CaseWindow); w otherwise. An explicit from or to always wins.
func PersonWindow(n *node.Node, w Window, p ledger.Pseudonym) (Window, error) {
	if w.Basis != WindowLatest {
		return w, nil
	}
	cw, ok, err := CaseWindow(n, p)
	if err != nil || !ok {
		return w, err
	}
	return cw, nil
}

// CaseWindow is a reported case's own window: from the start of the day
// DefaultIncubationMaxDays before its onset (the first onset its reports
// give; without one, before its first report), so that it holds where the
// case can have been infected, to the end of the day of its latest
// report, so that it holds everyone it can have infected before it was
// reported. This is the source search's window (docs/INVESTIGATIONS.md,
// 3) extended to the report. ok is false when p has no case report, or
// its latest report clears it.
func CaseWindow(n *node.Node, p ledger.Pseudonym) (Window, bool, error) {
	cs, ok, err := n.Query.CaseOf(p)
	if err != nil || !ok || cs.Status == "cleared" {
		return Window{}, false, err
	}
	loc := n.Home.Config.Location()
	day := func(t time.Time) time.Time {
		y, m, d := t.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	reported := day(time.Unix(cs.LastReported, 0))
	w := Window{To: reported.AddDate(0, 0, 1).Add(-time.Second)}
	var from string
	if cs.Onset != "" {
		onset, err := time.ParseInLocation("2006-01-02", cs.Onset, loc)
		if err != nil {
			return Window{}, false, fmt.Errorf("%w: case onset %q", store.ErrCorrupt, cs.Onset)
		}
		w.From = onset.AddDate(0, 0, -DefaultIncubationMaxDays)
		from = fmt.Sprintf("%d days (the longest incubation) before its onset (%s)", DefaultIncubationMaxDays, cs.Onset)
	} else {
		first := day(time.Unix(cs.FirstReported, 0))
		w.From = first.AddDate(0, 0, -DefaultIncubationMaxDays)
		from = fmt.Sprintf("%d days (the longest incubation) before its first report (%s; no onset reported)", DefaultIncubationMaxDays, first.Format("2006-01-02"))
	}
	if !w.From.Before(w.To) {
		// An onset reported long after the report: no window of its own.
		return Window{}, false, nil
	}
	w.WindowBasis = WindowBasis{Basis: WindowCase,
		Note: fmt.Sprintf("the case's own (a reported case, %s): from %s to the end of the day of its latest report (%s); --from and --to set another",
			cs.Status, from, reported.Format("2006-01-02"))}
	return w, true, nil
}

// days says a duration in whole days when it is some ("30 days").
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		if d == 24*time.Hour {
			return "day"
		}
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// DefaultEnd is where a window without --to ends: the end of the day of
// the ledger's latest record (its data clock) when that is earlier than
// now (clock; nil: time.Now), so that a query on data from another month
// finds it rather than an empty last 30 days; now on a ledger without
// records.
func DefaultEnd(n *node.Node, clock func() time.Time) (time.Time, error) {
	t, _, err := defaultEnd(n, clock)
	return t, err
}

// defaultEnd is DefaultEnd, and whether it is the end of the latest
// record's day (rather than now).
func defaultEnd(n *node.Node, clock func() time.Time) (time.Time, bool, error) {
	now := time.Now()
	if clock != nil {
		now = clock()
	}
	t, ok, err := n.Query.DataClock()
	if err != nil || !ok || t >= now.Unix() {
		return now, false, err
	}
	// The end of that record's day, so that the day's records are whole.
	loc := n.Home.Config.Location()
	y, m, d := time.Unix(t, 0).In(loc).Date()
	end := time.Date(y, m, d+1, 0, 0, 0, 0, loc).Add(-time.Second)
	if end.After(now) {
		return now, false, nil
	}
	return end, true, nil
}
