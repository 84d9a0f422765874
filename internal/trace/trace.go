// Package trace answers the investigators' questions from the state's
// indexes: where a person was (trajectory) and who was with them (contacts).
// Every query reads only the index ranges it needs: a person's records in
// the window, and each visited site's presences around each visit; nothing
// scans the ledger.
package trace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/timeline"
)

// Rules decide what counts as a contact.
type Rules struct {
	// MinOverlap is the least time together at a non-transport site.
	MinOverlap time.Duration
	// MaxPresence bounds how long one presence may be (the consensus rule),
	// which bounds how far back a person's records must be read.
	MaxPresence time.Duration
	// Validation are the chain's validation rules (windows, for status).
	Validation state.Validation
	// Vocabulary is the chain's (its transport kinds: any time together
	// there is a contact).
	Vocabulary ledger.Vocabulary
}

// Transport reports whether any time together at a site of kind k is a
// contact on this chain (its genesis's transport kinds).
func (q *Querier) Transport(k string) bool { return q.rules.Vocabulary.Transport(k) }

// Querier runs queries on a store. It is safe for concurrent use.
type Querier struct {
	r     store.Reader
	rules Rules

	mu    sync.RWMutex
	sites map[uint32]*state.Site

	tl *timeline.Timeline
}

// New returns a Querier over r.
func New(r store.Reader, rules Rules) *Querier {
	return &Querier{r: r, rules: rules, sites: map[uint32]*state.Site{}}
}

// SetTimeline makes the querier, and the investigations over it, read
// contacts and chains from a resident timeline of db whenever it is
// loaded (the store otherwise). Call it before the first query.
func (q *Querier) SetTimeline(t *timeline.Timeline) { q.tl = t }

// Timeline returns the resident timeline set, or nil.
func (q *Querier) Timeline() *timeline.Timeline { return q.tl }

// Rules returns the querier's rules.
func (q *Querier) Rules() Rules { return q.rules }

// Site returns the site with number num.
func (q *Querier) Site(num uint32) (*state.Site, error) {
	q.mu.RLock()
	s := q.sites[num]
	q.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	id, ok, err := q.r.Get(store.SiteNumKey(num))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: site number %d has no site", store.ErrCorrupt, num)
	}
	v, ok, err := q.r.Get(store.SiteKey(string(id)))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: site %q has no record", store.ErrCorrupt, id)
	}
	if s, err = state.DecodeSite(v); err != nil {
		return nil, err
	}
	q.mu.Lock()
	q.sites[num] = s
	q.mu.Unlock()
	return s, nil
}

// SiteByID returns the site registered as id; ok is false for none.
func (q *Querier) SiteByID(id string) (s *state.Site, ok bool, err error) {
	v, ok, err := q.r.Get(store.SiteKey(id))
	if err != nil || !ok {
		return nil, false, err
	}
	s, err = state.DecodeSite(v)
	return s, err == nil, err
}

// Resolve turns a ledger person reference into the person's pseudonym;
// ok is false for an alias that is not bound.
func (q *Querier) Resolve(ref ledger.PersonRef) (p ledger.Pseudonym, ok bool, err error) {
	if !ref.Alias {
		return ref.Ref, true, nil
	}
	v, ok, err := q.r.Get(store.AliasKey(ref.Ref))
	if err != nil || !ok {
		return p, false, err
	}
	if len(v) != 64 {
		return p, false, fmt.Errorf("%w: alias record", store.ErrCorrupt)
	}
	copy(p[:], v[:32])
	return p, true, nil
}

// Binding returns the id of the transaction that bound an alias.
func (q *Querier) Binding(alias ledger.Pseudonym) (ledger.Hash, bool, error) {
	v, ok, err := q.r.Get(store.AliasKey(alias))
	if err != nil || !ok {
		return ledger.Hash{}, false, err
	}
	if len(v) != 64 {
		return ledger.Hash{}, false, fmt.Errorf("%w: alias record", store.ErrCorrupt)
	}
	return ledger.Hash(v[32:]), true, nil
}

// PersonBlocks returns a person's blocks whose windows overlap [from, to].
func (q *Querier) PersonBlocks(p ledger.Pseudonym, from, to int64) ([]*ledger.PersonBlock, error) {
	lo, hi := store.PersonBlockPrefix(p)
	var out []*ledger.PersonBlock
	var derr error
	err := q.r.Scan(lo, hi, func(k, v []byte) bool {
		var b *ledger.PersonBlock
		if b, derr = ledger.DecodePersonBlock(v); derr != nil {
			derr = fmt.Errorf("%w: %v", store.ErrCorrupt, derr)
			return false
		}
		if b.WindowEnd > from && b.WindowStart <= to {
			out = append(out, b)
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// Entry is one row of a trajectory.
type Entry struct {
	// Status is "pending" (its validation window is still open),
	// "accepted", "rejected" (off the winning chain), "annulled" or
	// "amended" (by an approved correction).
	Status   string
	Kind     string // "visit" or "move"
	Site     string // the visited site, or the departure site of a move
	SiteKind string
	To       string // the arrival site of a move
	In, Out  int64  // Unix seconds: in/out of a visit, depart/arrive of a move
	Via      string
	Role     string
	TxID     ledger.Hash
}

// Trajectory returns the person's visits and movements that overlap
// [from, to], in time order: those that count (pending or accepted), or
// with all set also those rejected, annulled or amended.
func (q *Querier) Trajectory(person ledger.Pseudonym, from, to int64, all bool) ([]Entry, error) {
	ps, err := q.presences(person, from, to)
	if err != nil {
		return nil, err
	}
	head, err := state.ReadPersonHead(q.r, person)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(ps))
	for i := range ps {
		p := &ps[i]
		if !all && !p.Visible() {
			continue
		}
		s, err := q.Site(p.Site)
		if err != nil {
			return nil, err
		}
		e := Entry{Status: q.status(p, head), Kind: "visit", Site: s.ID, SiteKind: s.Kind, In: p.In, Out: p.Out, Via: p.Via, Role: p.Role, TxID: p.TxID}
		if p.Kind == state.PresenceMove {
			s2, err := q.Site(p.Site2)
			if err != nil {
				return nil, err
			}
			e.Kind, e.To = "move", s2.ID
		}
		out = append(out, e)
	}
	return out, nil
}

// status names a record's standing: a recorded record is accepted once
// its window closed.
func (q *Querier) status(p *state.Presence, head state.PersonHead) string {
	if p.Status != state.StatusRecorded {
		return p.Status.String()
	}
	if q.rules.Validation.Enabled {
		if _, end := q.rules.Validation.WindowOf(p.In); end > head.ClosedEnd {
			return "pending"
		}
	}
	return "accepted"
}

// presences reads the person's index for records overlapping [from, to].
// Records are keyed by start time, so it starts MaxPresence early and
// drops what ended before from.
func (q *Querier) presences(person ledger.Pseudonym, from, to int64) ([]state.Presence, error) {
	lo, hi := store.PersonRange(person, from-int64(q.rules.MaxPresence/time.Second), to)
	var out []state.Presence
	var derr error
	err := q.r.Scan(lo, hi, func(k, v []byte) bool {
		var p state.Presence
		if derr = state.DecodePresenceInto(v, &p); derr != nil {
			return false
		}
		if p.Out >= from {
			out = append(out, p)
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// Contact is one overlap of another person with the case at a site.
type Contact struct {
	Person   ledger.Pseudonym
	Site     string
	SiteKind string
	From, To int64 // the overlap interval, Unix seconds
	Role     string
	Via      string
	TxID     ledger.Hash // the other person's presence record
	CaseTxID ledger.Hash // the case's presence record
}

// Contacts returns every other person present at the same site as the
// person, with overlapping time, during [from, to]: at least MinOverlap
// together (minOverlap overrides it when >= 0), or any overlap on
// transport. The case's presences are clipped to [from, to]. Proximity
// encounters in the window join them (Site the device, SiteKind
// EncounterKind, any time together). Results are sorted by person, site
// and time.
func (q *Querier) Contacts(person ledger.Pseudonym, from, to int64, minOverlap time.Duration) ([]Contact, error) {
	if minOverlap < 0 {
		minOverlap = q.rules.MinOverlap
	}
	min := int64(minOverlap / time.Second)
	if q.tl != nil {
		var out []Contact
		err := q.tl.Read(func(v *timeline.View) error {
			var err error
			out, err = q.residentContacts(v, person, from, to, min)
			return err
		})
		// Not loaded, or a visit it showed changed in the store since
		// (timeline.ErrStale): the store answers, as it holds every write
		// the timeline held.
		if !timeline.Fallback(err) {
			return out, err
		}
	}
	ps, err := q.presences(person, from, to)
	if err != nil {
		return nil, err
	}
	// One iterator over the site index for every visit: seeking it costs
	// far less than opening one per visit.
	slo, shi := store.TablePrefix(store.TabSiteIdx)
	cur, err := q.r.Cursor(slo, shi)
	if err != nil {
		return nil, err
	}
	defer cur.Close()
	longest := map[uint32]int64{}
	var out []Contact
	for i := range ps {
		p := &ps[i]
		if p.Kind != state.PresenceVisit || !p.Visible() {
			continue
		}
		a, b := max(p.In, from), min2(p.Out, to)
		if b < a {
			continue
		}
		s, err := q.Site(p.Site)
		if err != nil {
			return nil, err
		}
		transport := q.Transport(s.Kind)
		l, ok := longest[p.Site]
		if !ok {
			if l, err = q.longest(p.Site); err != nil {
				return nil, err
			}
			longest[p.Site] = l
		}
		lo, hi := store.SiteIdxRange(p.Site, a-l, b)
		var derr error
		var o state.PresenceCore
		err = cur.Range(lo, hi, func(k, v []byte) bool {
			// The fixed fields first, without allocating; the strings
			// only for a contact.
			if derr = state.DecodePresenceCore(v, &o); derr != nil {
				return false
			}
			if o.Person == person || o.Status != state.StatusRecorded {
				return true
			}
			f, t := max(a, o.In), min2(b, o.Out)
			if transport && t > f || !transport && t-f >= min && t > f {
				var full state.Presence
				if derr = state.DecodePresenceInto(v, &full); derr != nil {
					return false
				}
				out = append(out, Contact{Person: o.Person, Site: s.ID, SiteKind: s.Kind, From: f, To: t,
					Role: full.Role, Via: full.Via, TxID: o.TxID, CaseTxID: p.TxID})
			}
			return true
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return nil, err
		}
	}
	enc, err := q.encounterContacts(person, from, to)
	if err != nil {
		return nil, err
	}
	out = append(out, enc...)
	SortContacts(out)
	return out, nil
}

// SortContacts orders contacts by person, site, start and end, then the
// two record ids: a total order, whatever the sort algorithm. It sorts
// an index and moves each contact once: a Contact is large, and a sort
// that swaps them spends its time copying.
func SortContacts(cs []Contact) {
	idx := make([]int32, len(cs))
	for i := range idx {
		idx[i] = int32(i)
	}
	sort.Slice(idx, func(i, j int) bool {
		a, b := &cs[idx[i]], &cs[idx[j]]
		if a.Person != b.Person {
			return string(a.Person[:]) < string(b.Person[:])
		}
		if a.Site != b.Site {
			return a.Site < b.Site
		}
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		if a.TxID != b.TxID {
			return string(a.TxID[:]) < string(b.TxID[:])
		}
		return string(a.CaseTxID[:]) < string(b.CaseTxID[:])
	})
	sorted := make([]Contact, len(cs))
	for i, k := range idx {
		sorted[i] = cs[k]
	}
	copy(cs, sorted)
}

func min2(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// longest is the longest presence recorded at a site, in seconds.
func (q *Querier) longest(num uint32) (int64, error) {
	v, ok, err := q.r.Get(store.SiteDurKey(num))
	if err != nil || !ok {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// Case is a case report as a query returns it.
type Case = state.Case

// Cases lists case reports with status (empty: any) reported in [from, to].
func (q *Querier) Cases(status string, from, to int64) ([]Case, error) {
	lo, hi := store.TablePrefix(store.TabCaseList)
	var persons []ledger.Pseudonym
	err := q.r.Scan(lo, hi, func(k, v []byte) bool {
		var p ledger.Pseudonym
		copy(p[:], v)
		persons = append(persons, p)
		return true
	})
	if err != nil {
		return nil, err
	}
	seen := map[ledger.Pseudonym]bool{}
	var out []Case
	for _, p := range persons {
		if seen[p] {
			continue
		}
		seen[p] = true
		cs, err := q.CasesOf(p)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if (status == "" || c.Status == status) && c.Reported >= from && c.Reported <= to {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// CasesOf returns a person's case reports in time order.
func (q *Querier) CasesOf(p ledger.Pseudonym) ([]Case, error) {
	lo, hi := store.CasePrefix(p)
	var out []Case
	var derr error
	err := q.r.Scan(lo, hi, func(k, v []byte) bool {
		var c *state.Case
		c, derr = state.DecodeCase(v)
		if derr != nil {
			return false
		}
		out = append(out, *c)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// DecisionOf returns the decision that rejected a record, or nil if the
// record was not rejected by the longest-chain rule.
func (q *Querier) DecisionOf(txid ledger.Hash) (*state.Decision, error) {
	dk, ok, err := q.r.Get(store.RejectedKey(txid))
	if err != nil || !ok {
		return nil, err
	}
	v, ok, err := q.r.Get(dk)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: rejected record points to no decision", store.ErrCorrupt)
	}
	return state.DecodeDecision(v)
}

// Decisions returns a person's decisions for windows ending in [from, to].
func (q *Querier) Decisions(person ledger.Pseudonym, from, to int64) ([]*state.Decision, error) {
	lo, hi := store.DecisionRange(person, from, to)
	var out []*state.Decision
	var derr error
	err := q.r.Scan(lo, hi, func(k, v []byte) bool {
		var d *state.Decision
		if d, derr = state.DecodeDecision(v); derr != nil {
			return false
		}
		out = append(out, d)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// CorrectionsOf returns the corrections proposed for a record, applied or
// pending, in id order.
func (q *Querier) CorrectionsOf(target ledger.Hash) ([]*state.Correction, error) {
	lo, hi := store.CorrectionHistPrefix(target)
	var ids []ledger.Hash
	if err := q.r.Scan(lo, hi, func(k, _ []byte) bool {
		ids = append(ids, ledger.Hash(k[len(k)-32:]))
		return true
	}); err != nil {
		return nil, err
	}
	var out []*state.Correction
	for _, id := range ids {
		c, err := q.Correction(id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Correction returns a correction by id.
func (q *Querier) Correction(id ledger.Hash) (*state.Correction, error) {
	v, ok, err := q.r.Get(store.CorrectionKey(id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: correction %s…", ErrNoCorrection, id.String()[:16])
	}
	return state.DecodeCorrection(v)
}

// ErrNoCorrection is returned for an unknown correction id.
var ErrNoCorrection = errors.New("no such correction")

// Span says when a person's records run: the start of the first and of
// the last of their presences, movements and encounters (every record,
// whatever validation decided). ok is false when the ledger holds none of
// them: a reference that resolves but names nobody the ledger has seen,
// such as a mistyped canonical id.
func (q *Querier) Span(p ledger.Pseudonym) (first, last int64, ok bool, err error) {
	for _, prefix := range []func([32]byte) ([]byte, []byte){store.PersonPrefix, store.EncounterPrefix} {
		lo, hi := prefix(p)
		var f int64
		found := false
		var short bool
		if err := q.r.Scan(lo, hi, func(k, _ []byte) bool {
			short = len(k) < store.PersonKeyLen
			if !short {
				f, found = store.KeyTime(k), true
			}
			return false
		}); err != nil {
			return 0, 0, false, err
		}
		if short {
			return 0, 0, false, fmt.Errorf("%w: a person's record key", store.ErrCorrupt)
		}
		if !found {
			continue
		}
		k, _, _, err := q.r.Last(lo, hi)
		if err != nil {
			return 0, 0, false, err
		}
		if len(k) < store.PersonKeyLen {
			return 0, 0, false, fmt.Errorf("%w: a person's record key", store.ErrCorrupt)
		}
		l := store.KeyTime(k)
		if !ok || f < first {
			first = f
		}
		if !ok || l > last {
			last = l
		}
		ok = true
	}
	return first, last, ok, nil
}

// DataClock is the latest record time the ledger has seen (the state's
// data clock); ok is false on a ledger without records.
func (q *Querier) DataClock() (t int64, ok bool, err error) {
	v, ok, err := q.r.Get(store.CounterKey("clock"))
	if err != nil || !ok {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("%w: data clock", store.ErrCorrupt)
	}
	return int64(binary.BigEndian.Uint64(v)), true, nil
}

// CaseSummary is what a person's case reports say of their case.
type CaseSummary struct {
	// Status is the latest report's status ("cleared" ends a case).
	Status string
	// FirstReported and LastReported are the times of the first and the
	// latest report (Unix seconds).
	FirstReported, LastReported int64
	// Onset is the first non-empty onset reported (YYYY-MM-DD), "" when no
	// report gives one.
	Onset string
}

// CaseOf summarises a person's case reports, in the order CasesOf reads
// them (by reported time, then transaction id: the last is the latest);
// ok is false when the person has none.
func (q *Querier) CaseOf(p ledger.Pseudonym) (s CaseSummary, ok bool, err error) {
	cs, err := q.CasesOf(p)
	if err != nil || len(cs) == 0 {
		return s, false, err
	}
	s = CaseSummary{Status: cs[len(cs)-1].Status, FirstReported: cs[0].Reported, LastReported: cs[len(cs)-1].Reported}
	for _, c := range cs {
		if c.Onset != "" {
			s.Onset = c.Onset
			break
		}
	}
	return s, true, nil
}
