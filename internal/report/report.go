// Package report builds what investigators see: trajectories and contact
// lists with real identities from the vault, as JSON (the API's and the
// CLI's --json output) and as text tables. The API and the CLI use the same
// builders, so their outputs cannot drift apart.
package report

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/epiledger/epiledger/internal/feasibility"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/trace"
)

// Query is a trace request.
type Query struct {
	Person     string `json:"person"`
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
	MinOverlap string `json:"min_overlap,omitempty"`
	// All includes records that do not count (rejected, annulled,
	// amended) in a trajectory, with their status and reason.
	All bool `json:"all,omitempty"`
}

// Window is a resolved query window, and where it came from.
type Window struct {
	From, To time.Time
	WindowBasis
}

// ParseWindow parses --from/--to (RFC 3339 or YYYY-MM-DD; a date as --to
// means the end of that day). Missing --to is now; missing --from is
// lookback before --to.
func ParseWindow(from, to string, now time.Time, lookback time.Duration, loc *time.Location) (Window, error) {
	var w Window
	var err error
	if to == "" {
		w.To = now
	} else if w.To, err = parseTime("to", to, loc, true); err != nil {
		return w, err
	}
	if from == "" {
		// The lookback ending at to, both ends included: before the end of
		// a day (23:59:59), whole days from a midnight.
		w.From = w.To.Add(-lookback + time.Second)
	} else if w.From, err = parseTime("from", from, loc, false); err != nil {
		return w, err
	}
	if w.To.Before(w.From) {
		return w, &ndjson.FieldError{Field: "to", Msg: "is before from"}
	}
	return w, nil
}

func parseTime(field, s string, loc *time.Location, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if end {
			return d.Add(24*time.Hour - time.Second), nil
		}
		return d, nil
	}
	return time.Time{}, &ndjson.FieldError{Field: field, Msg: "not an RFC 3339 time or a date YYYY-MM-DD"}
}

// Entry is a trajectory row.
type Entry struct {
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Kind     string `json:"kind"`
	Site     string `json:"site"`
	SiteKind string `json:"site_kind"`
	To       string `json:"to_site,omitempty"`
	In       string `json:"in"`
	Out      string `json:"out"`
	Via      string `json:"via,omitempty"`
	Role     string `json:"role,omitempty"`
	Tx       string `json:"tx"`
	// Chain is the chain that answered the row: set in a merged national
	// investigation (MergeTrajectories), never in a node's answer.
	Chain string `json:"chain,omitempty"`
	// Lat and Lon place Site, ToLat and ToLon the arrival site of a
	// move (degrees; absent for a site registered without a place), so
	// that a map can draw the trajectory.
	Lat   float64 `json:"lat,omitempty"`
	Lon   float64 `json:"lon,omitempty"`
	ToLat float64 `json:"to_lat,omitempty"`
	ToLon float64 `json:"to_lon,omitempty"`
}

// Trajectory is a person's trajectory in a window.
type Trajectory struct {
	Person    string `json:"person"`
	Pseudonym string `json:"pseudonym"`
	From      string `json:"from"`
	To        string `json:"to"`
	WindowBasis
	Entries []Entry `json:"entries"`
	// Note says why the answer is empty: the window, and when the
	// person's records run.
	Note string `json:"note,omitempty"`
}

// Contact is a contacts row.
type Contact struct {
	Person    string `json:"person"`
	Pseudonym string `json:"pseudonym"`
	Site      string `json:"site"`
	SiteKind  string `json:"site_kind"`
	From      string `json:"from"`
	To        string `json:"to"`
	Overlap   string `json:"overlap"`
	Role      string `json:"role,omitempty"`
	Via       string `json:"via,omitempty"`
	Tx        string `json:"tx"`
	// Chain: see Entry.Chain.
	Chain string `json:"chain,omitempty"`
}

// Contacts is the close-contact list of a person in a window.
type Contacts struct {
	Person     string `json:"person"`
	Pseudonym  string `json:"pseudonym"`
	From       string `json:"from"`
	To         string `json:"to"`
	MinOverlap string `json:"min_overlap"`
	WindowBasis
	Persons  int       `json:"persons"`
	Contacts []Contact `json:"contacts"`
	// Note says why the answer is empty (see Trajectory.Note).
	Note string `json:"note,omitempty"`
}

// Builder builds reports from an open node. Each report of personal data
// is returned as a *node.Read: the request checked and resolved, not yet
// run; it runs only with the receipt of its committed audit records
// (node.Perform, or the API's audited adapter).
type Builder struct {
	N *node.Node
	// Now is the clock for default windows; nil means time.Now.
	Now func() time.Time
	// Pseudonymous builds reports without real identities: the vault is
	// not opened (a read under a grant from another region).
	Pseudonymous bool
}

// check refuses the fields of q that the report does not use, so that a
// request is never half-read: uses says which optional fields it takes.
func (q Query) check(minOverlap, all bool) error {
	if q.MinOverlap != "" && !minOverlap {
		return &ndjson.FieldError{Field: "min_overlap", Msg: "applies to contacts only"}
	}
	if q.All && !all {
		return &ndjson.FieldError{Field: "all", Msg: "applies to trajectories only"}
	}
	return nil
}

func subject(route string, p ledger.Pseudonym, w Window) []node.Subject {
	return []node.Subject{{Route: route, Person: p, From: w.From.Unix(), To: w.To.Unix()}}
}

func (b *Builder) window(q Query) (Window, error) {
	return DefaultWindow(b.N, b.Now, q.From, q.To)
}

// place is where site id is, in degrees (zeros for an unknown site).
func (b *Builder) place(id string) (lat, lon float64, err error) {
	s, ok, err := b.N.Query.SiteByID(id)
	if err != nil || !ok {
		return 0, 0, err
	}
	return float64(s.LatE6) / 1e6, float64(s.LonE6) / 1e6, nil
}

func (b *Builder) ts(t int64) string {
	return time.Unix(t, 0).In(b.N.Home.Config.Location()).Format(time.RFC3339)
}

func (b *Builder) realID(rc *node.Receipt, p ledger.Pseudonym) (string, error) {
	if b.Pseudonymous {
		return "", nil
	}
	id, ok, err := b.N.RealID(rc, p)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", nil
	}
	return "id:" + id, nil
}

// Trajectory checks a trajectory request and returns its read.
func (b *Builder) Trajectory(q Query) (*node.Read[*Trajectory], error) {
	if err := q.check(false, true); err != nil {
		return nil, err
	}
	w, err := b.window(q)
	if err != nil {
		return nil, err
	}
	p, err := b.resolve("person", q.Person)
	if err != nil {
		return nil, err
	}
	if w, err = PersonWindow(b.N, w, p); err != nil {
		return nil, err
	}
	return node.NewRead(b.N, subject("trace trajectory", p, w), func(rc *node.Receipt) (*Trajectory, error) {
		return b.trajectory(rc, p, w, q.All)
	}), nil
}

func (b *Builder) trajectory(rc *node.Receipt, p ledger.Pseudonym, w Window, all bool) (*Trajectory, error) {
	es, err := b.N.Query.Trajectory(p, w.From.Unix(), w.To.Unix(), all)
	if err != nil {
		return nil, err
	}
	id, err := b.realID(rc, p)
	if err != nil {
		return nil, err
	}
	out := &Trajectory{Person: id, Pseudonym: p.String(), From: b.ts(w.From.Unix()), To: b.ts(w.To.Unix()), WindowBasis: w.WindowBasis, Entries: []Entry{}}
	for _, e := range es {
		row := Entry{Status: e.Status, Kind: e.Kind, Site: e.Site, SiteKind: e.SiteKind, To: e.To,
			In: b.ts(e.In), Out: b.ts(e.Out), Via: e.Via, Role: e.Role, Tx: e.TxID.String()}
		if row.Lat, row.Lon, err = b.place(e.Site); err != nil {
			return nil, err
		}
		if e.To != "" {
			if row.ToLat, row.ToLon, err = b.place(e.To); err != nil {
				return nil, err
			}
		}
		switch e.Status {
		case "rejected":
			d, err := b.N.Query.DecisionOf(e.TxID)
			if err != nil {
				return nil, err
			}
			if d != nil {
				row.Reason = b.reason(d)
			}
		case "annulled", "amended":
			cs, err := b.N.Query.CorrectionsOf(e.TxID)
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				if c.Applied != 0 {
					row.Reason = CorrectionText(c)
				}
			}
		}
		out.Entries = append(out.Entries, row)
	}
	if len(out.Entries) == 0 {
		if out.Note, err = EmptyNote(b.N, p, w, "record"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CorrectionText describes an applied correction.
func CorrectionText(c *state.Correction) string {
	verb := "annulled"
	if c.Action == ledger.ActionAmend {
		verb = "amended (the corrected record is " + c.ID.String()[:16] + "…)"
	}
	parties := fmt.Sprintf("the authority of region %q and the administrator", c.Regions[0])
	if c.Regions[0] != c.Regions[1] {
		parties = fmt.Sprintf("the authorities of regions %q and %q and the administrator", c.Regions[0], c.Regions[1])
	}
	return fmt.Sprintf("%s by correction %s… at height %d, approved by %d of %d required parties (%s): %s",
		verb, c.ID.String()[:16], c.Applied, len(c.Approvals), len(c.Required), parties, c.Reason)
}

// reason says why a record was rejected: which chain won, by how much,
// and how likely the rival is to be the true story.
func (b *Builder) reason(d *state.Decision) string {
	q := b.N.Home.Genesis.Params.Validation.Q
	return fmt.Sprintf("off the winning chain of the window %s (person block #%d %s…): the winner has %d records (weight %d), the best rival %d (weight %d); z = %d, P(rival is true) = %.7f at q = %g",
		short(b.ts(d.WindowStart)), d.PersonBlock, d.PersonBlockH.String()[:12], len(d.Chain), d.Weight, len(d.Rival), d.RivalWeight, d.Z, feasibility.CatchUp(q, int(d.Z)), q)
}

// Contacts checks a contacts request and returns its read.
func (b *Builder) Contacts(q Query) (*node.Read[*Contacts], error) {
	if err := q.check(true, false); err != nil {
		return nil, err
	}
	w, err := b.window(q)
	if err != nil {
		return nil, err
	}
	min := time.Duration(-1)
	if q.MinOverlap != "" {
		if min, err = time.ParseDuration(q.MinOverlap); err != nil || min < 0 {
			return nil, &ndjson.FieldError{Field: "min_overlap", Msg: "not a non-negative duration (e.g. 15m)"}
		}
	}
	p, err := b.resolve("person", q.Person)
	if err != nil {
		return nil, err
	}
	if w, err = PersonWindow(b.N, w, p); err != nil {
		return nil, err
	}
	return node.NewRead(b.N, subject("trace contacts", p, w), func(rc *node.Receipt) (*Contacts, error) {
		return b.contacts(rc, p, w, min)
	}), nil
}

func (b *Builder) contacts(rc *node.Receipt, p ledger.Pseudonym, w Window, min time.Duration) (*Contacts, error) {
	cs, err := b.N.Query.Contacts(p, w.From.Unix(), w.To.Unix(), min)
	if err != nil {
		return nil, err
	}
	id, err := b.realID(rc, p)
	if err != nil {
		return nil, err
	}
	if min < 0 {
		min = b.N.Query.Rules().MinOverlap
	}
	out := &Contacts{Person: id, Pseudonym: p.String(), From: b.ts(w.From.Unix()), To: b.ts(w.To.Unix()), MinOverlap: min.String(), WindowBasis: w.WindowBasis, Contacts: []Contact{}}
	persons := map[ledger.Pseudonym]bool{}
	for _, c := range cs {
		cid, err := b.realID(rc, c.Person)
		if err != nil {
			return nil, err
		}
		persons[c.Person] = true
		out.Contacts = append(out.Contacts, Contact{Person: cid, Pseudonym: c.Person.String(), Site: c.Site, SiteKind: c.SiteKind,
			From: b.ts(c.From), To: b.ts(c.To), Overlap: (time.Duration(c.To-c.From) * time.Second).String(),
			Role: c.Role, Via: c.Via, Tx: c.TxID.String()})
	}
	out.Persons = len(persons)
	if len(out.Contacts) == 0 {
		if out.Note, err = EmptyNote(b.N, p, w, "contact"); err != nil {
			return nil, err
		}
	}
	// Tracers read a list in time order; RFC 3339 strings in one offset
	// sort as times.
	sort.SliceStable(out.Contacts, func(i, j int) bool {
		a, b := &out.Contacts[i], &out.Contacts[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.Site != b.Site {
			return a.Site < b.Site
		}
		return a.Person < b.Person
	})
	return out, nil
}

// EmptyNote says why a report of p over w on n is empty: the window, and
// when p's records run, so that an investigator widens the window rather
// than reading "none". what names what is missing ("contact").
func EmptyNote(n *node.Node, p ledger.Pseudonym, w Window, what string) (string, error) {
	first, last, ok, err := n.Query.Span(p)
	if err != nil || !ok {
		return "no " + what + " in the window: the ledger holds no presence, movement or encounter of this person", err
	}
	loc := n.Home.Config.Location()
	ts := func(t int64) string { return time.Unix(t, 0).In(loc).Format("2006-01-02 15:04") }
	return fmt.Sprintf("no %s from %s to %s: this person's records run from %s to %s", what,
		ts(w.From.Unix()), ts(w.To.Unix()), ts(first), ts(last)), nil
}

// IsBadInput reports whether err is the caller's fault (a 4xx), as opposed
// to a failure of the node.
func IsBadInput(err error) bool {
	var fe *ndjson.FieldError
	return errors.As(err, &fe) || errors.Is(err, node.ErrUnknownPerson)
}

func short(ts string) string {
	// 2020-01-20T08:00:00+08:00 -> 2020-01-20 08:00
	if len(ts) >= 16 {
		return strings.Replace(ts[:16], "T", " ", 1)
	}
	return ts
}

func name(id, pseudonym string) string {
	if id != "" {
		return id
	}
	if len(pseudonym) > 16 {
		pseudonym = pseudonym[:16]
	}
	return "pseudonym:" + pseudonym
}

// WriteTrajectory prints a trajectory as a table, each row ending with
// its record's whole transaction id (for tx proof and correct).
func WriteTrajectory(w io.Writer, t *Trajectory) error {
	fmt.Fprintf(w, "Trajectory of %s from %s to %s: %d records\n%s\n", name(t.Person, t.Pseudonym), short(t.From), short(t.To), len(t.Entries), t.WindowBasis.Line())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tIN\tOUT\tSITE\tKIND\tVIA\tROLE\tSTATUS\tTX")
	var reasons []string
	for i, e := range t.Entries {
		site, kind := e.Site, e.SiteKind
		if e.Kind == "move" {
			site, kind = e.Site+" -> "+e.To, "move"
		}
		if e.Chain != "" {
			site = e.Chain + ": " + site
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, short(e.In), short(e.Out), site, kind, dash(e.Via), dash(e.Role), e.Status, e.Tx)
		if e.Reason != "" {
			reasons = append(reasons, fmt.Sprintf("  #%d %s: %s", i+1, e.Status, e.Reason))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range reasons {
		fmt.Fprintln(w, r)
	}
	if t.Note != "" {
		fmt.Fprintf(w, "\n%s\n", t.Note)
	}
	return nil
}

// WriteContacts prints a contact list as a table, each row ending with
// the whole transaction id of the contact's record of the meeting.
func WriteContacts(w io.Writer, c *Contacts) error {
	encounters := false
	for _, x := range c.Contacts {
		encounters = encounters || x.SiteKind == EncounterKind
	}
	fmt.Fprintf(w, "Close contacts of %s from %s to %s (%s): %d persons, %d contacts\n%s\n",
		name(c.Person, c.Pseudonym), short(c.From), short(c.To), ContactRule(c.MinOverlap, encounters), c.Persons, len(c.Contacts), c.WindowBasis.Line())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tPERSON\tSITE\tKIND\tFROM\tTO\tOVERLAP\tROLE\tTX")
	for i, x := range c.Contacts {
		if x.Chain != "" {
			x.Site = x.Chain + ": " + x.Site
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, name(x.Person, x.Pseudonym), x.Site, x.SiteKind, short(x.From), short(x.To), x.Overlap, dash(x.Role), x.Tx)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if c.Note != "" {
		fmt.Fprintf(w, "\n%s\n", c.Note)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// EncounterKind is the site kind of a contact that a proximity device
// reported (trace.EncounterKind).
const EncounterKind = trace.EncounterKind

// ContactRule says how a table's contacts were counted, for its heading:
// at least min together at a site, any overlap on transport and, when
// some of its rows are encounters, every encounter a proximity device
// reported however short (a SocioPatterns tag's 20 s window is one).
func ContactRule(min string, encounters bool) string {
	r := "at least " + min + " together at a site; any overlap on transport"
	if encounters {
		r += "; every encounter a proximity device reported, however short"
	}
	return r
}
