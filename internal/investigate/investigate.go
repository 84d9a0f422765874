// Package investigate answers the questions a health authority asks after
// a case is confirmed, from the state's indexes (issue 4): chains of
// transmission several layers deep (Chain), the likely source of an
// infection and the exposures several cases share (Sources), clusters of
// cases at sites (Clusters), the sites to publish (RiskSites) and the list
// of contacts to follow up (FollowUp).
//
// Every query reads only index ranges: a person's records in a window,
// each visited site's presences around each visit, a person's encounters,
// the case list. Nothing scans the ledger. Results name persons by
// pseudonym; Builder turns them into reports with real ids from the vault.
package investigate

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/trace"
)

// Investigator runs investigations over a node's store. It is safe for
// concurrent use: queries only read.
type Investigator struct {
	r store.Reader
	q *trace.Querier
	// sweep chooses how a chain on a resident timeline sets out a
	// layer's probes (chainRun.sweeper): by the layer's size (0), always
	// site by site (1, tests) or always person by person (-1, tests).
	sweep int
	// scanBest makes a chain that keeps one edge a person find it by
	// comparing every probe a presence meets, as one with all edges
	// does, rather than through bestIndex (tests compare the two).
	scanBest bool
}

// New returns an Investigator reading r through q (a node's DB and
// Query).
func New(r store.Reader, q *trace.Querier) *Investigator {
	return &Investigator{r: r, q: q}
}

// Querier returns the querier the investigator reads through.
func (iv *Investigator) Querier() *trace.Querier { return iv.q }

// minOverlap resolves a query's minimum overlap: negative means the
// rules' default.
func (iv *Investigator) minOverlap(d time.Duration) int64 {
	if d < 0 {
		d = iv.q.Rules().MinOverlap
	}
	return int64(d / time.Second)
}

func min2(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// Cases are the persons with case reports: the latest report of each.
type Cases map[ledger.Pseudonym]state.Case

// IsCase reports whether p's latest report makes p a case: any status but
// "cleared".
func (cs Cases) IsCase(p ledger.Pseudonym) bool {
	c, ok := cs[p]
	return ok && c.Status != "cleared"
}

// Select returns the cases whose latest status is status (any but
// "cleared" when status is empty), sorted by pseudonym.
func (cs Cases) Select(status string) []ledger.Pseudonym {
	var out []ledger.Pseudonym
	for p, c := range cs {
		if status == "" && c.Status != "cleared" || status != "" && c.Status == status {
			out = append(out, p)
		}
	}
	sortPersons(out)
	return out
}

// Cases reads the latest case report of every person who has one. Reports
// are ordered by reported time, then transaction id; the last wins.
func (iv *Investigator) Cases() (Cases, error) {
	all, err := iv.q.Cases("", -1<<62, 1<<62)
	if err != nil {
		return nil, err
	}
	out := Cases{}
	for _, c := range all {
		if o, ok := out[c.Person]; !ok || later(&c, &o) {
			out[c.Person] = c
		}
	}
	return out, nil
}

func later(a, b *state.Case) bool {
	if a.Reported != b.Reported {
		return a.Reported > b.Reported
	}
	return string(a.TxID[:]) > string(b.TxID[:])
}

// Onset returns the onset a person's reports give: the first reported
// non-empty onset, as the start of that day in loc; ok is false when no
// report gives one.
func (iv *Investigator) Onset(p ledger.Pseudonym, loc *time.Location) (t int64, ok bool, err error) {
	c, ok, err := iv.q.CaseOf(p)
	if err != nil || !ok || c.Onset == "" {
		return 0, false, err
	}
	d, err := time.ParseInLocation("2006-01-02", c.Onset, loc)
	if err != nil {
		return 0, false, fmt.Errorf("%w: case onset %q", store.ErrCorrupt, c.Onset)
	}
	return d.Unix(), true, nil
}

// visits returns the person's visible visits (not movements) overlapping
// [from, to] by a positive time, in time order, clipped to the window.
func (iv *Investigator) visits(p ledger.Pseudonym, from, to int64) ([]state.Presence, error) {
	lo, hi := store.PersonRange(p, from-int64(iv.q.Rules().MaxPresence/time.Second), to)
	var out []state.Presence
	var derr error
	err := iv.r.Scan(lo, hi, func(k, v []byte) bool {
		var o state.Presence
		if derr = state.DecodePresenceInto(v, &o); derr != nil {
			return false
		}
		if o.Kind == state.PresenceVisit && o.Visible() && o.Out > from && o.In < to {
			o.In, o.Out = max(o.In, from), min2(o.Out, to)
			out = append(out, o)
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// atSite calls fn for every visible visit at site num that overlaps
// [from, to] by a positive time (unclipped). Presences are keyed by their
// start, so the scan starts the site's longest presence early.
func (iv *Investigator) atSite(num uint32, from, to int64, fn func(o *state.Presence)) error {
	longest, err := iv.longest(num)
	if err != nil {
		return err
	}
	lo, hi := store.SiteIdxRange(num, from-longest, to)
	var derr error
	var o state.Presence
	err = iv.r.Scan(lo, hi, func(k, v []byte) bool {
		if derr = state.DecodePresenceInto(v, &o); derr != nil {
			return false
		}
		if o.Visible() && o.Out > from && o.In < to {
			fn(&o)
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return err
}

// longest is the longest presence recorded at a site, in seconds.
func (iv *Investigator) longest(num uint32) (int64, error) {
	v, ok, err := iv.r.Get(store.SiteDurKey(num))
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: longest presence of site %d", store.ErrCorrupt, num)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func sortPersons(ps []ledger.Pseudonym) {
	sort.Slice(ps, func(i, j int) bool { return string(ps[i][:]) < string(ps[j][:]) })
}

func lessP(a, b ledger.Pseudonym) bool { return string(a[:]) < string(b[:]) }
