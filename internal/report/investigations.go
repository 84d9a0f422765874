package report

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
)

// The requests and reports below are the JSON of the HTTP API (POST
// /v1/trace/chain, sources, clusters, risk-sites, follow-up) and of the
// CLI's --json. Persons are references in requests ("id:..." or a bound
// alias) and real ids from the vault in reports, each with its pseudonym;
// times are RFC 3339 in the display offset; durations are Go durations
// ("15m", "36h") or whole days ("14d").

// ChainRequest asks for the chains of transmission from a case.
type ChainRequest struct {
	Person     string `json:"person"`
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
	Depth      int    `json:"depth,omitempty"` // default 2
	MinOverlap string `json:"min_overlap,omitempty"`
	Latent     string `json:"latent,omitempty"`
	Infectious string `json:"infectious,omitempty"`
	// AllEdges lists every meeting through which one person of the chain
	// can have exposed another, not only one into each person (the
	// longest of those that give their earliest exposure).
	AllEdges bool `json:"all_edges,omitempty"`
}

// ChainNode is a person in a chain
type ChainNode struct {
	Person    string `json:"person"`
	Pseudonym string `json:"pseudonym"`
	Layer     int    `json:"layer"`
	Exposure  string `json:"exposure"`
	Case      string `json:"case,omitempty"` // the latest case status, for cases
}

// ChainEdge is a meeting through which one node can have exposed another
// (from and to are pseudonyms of nodes). By default there is one into
// each person but the case: of the meetings that give their earliest
// exposure, the longest together (then the smaller record ids).
type ChainEdge struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Site     string `json:"site"`
	SiteKind string `json:"site_kind"`
	Start    string `json:"start"`
	End      string `json:"end"`
	Tx       string `json:"tx"`
	FromTx   string `json:"from_tx"`
}

// ChainReport is a chain of transmission as a graph.
type ChainReport struct {
	Person     string `json:"person"`
	Pseudonym  string `json:"pseudonym"`
	From       string `json:"from"`
	To         string `json:"to"`
	Depth      int    `json:"depth"`
	MinOverlap string `json:"min_overlap"`
	Latent     string `json:"latent"`
	Infectious string `json:"infectious"` // "" : until the end of the window
	AllEdges   bool   `json:"all_edges"`
	WindowBasis
	// Note says why the chain reaches nobody: the window, and when the
	// case's records run.
	Note   string      `json:"note,omitempty"`
	Layers []int       `json:"layers"` // persons per layer, the case's first
	Nodes  []ChainNode `json:"nodes"`
	Edges  []ChainEdge `json:"edges"`
}

// SourcesRequest asks where one or more cases were infected.
type SourcesRequest struct {
	Persons []string `json:"persons"`
	// Onset overrides the reported onset (one person only).
	Onset             string `json:"onset,omitempty"`
	IncubationMinDays *int   `json:"incubation_min_days,omitempty"` // default 2
	IncubationMaxDays *int   `json:"incubation_max_days,omitempty"` // default 14
	MinOverlap        string `json:"min_overlap,omitempty"`
}

// PersonRef names a person in a
type PersonRef struct {
	Person    string `json:"person"`
	Pseudonym string `json:"pseudonym"`
}

// MetRow is a person a case met.
type MetRow struct {
	PersonRef
	Case     string   `json:"case,omitempty"`
	First    string   `json:"first"`
	Last     string   `json:"last"`
	Together string   `json:"together"`
	Meetings int      `json:"meetings"`
	Sites    []string `json:"sites"`
}

// VisitRow is a site a case visited, with the other cases present.
type VisitRow struct {
	Site     string      `json:"site"`
	SiteKind string      `json:"site_kind"`
	In       string      `json:"in"`
	Out      string      `json:"out"`
	Tx       string      `json:"tx"`
	Cases    []PersonRef `json:"cases"`
}

// CaseSourcesReport is the source search of one case.
type CaseSourcesReport struct {
	PersonRef
	Onset   string     `json:"onset"`
	From    string     `json:"from"`
	To      string     `json:"to"`
	Persons []MetRow   `json:"persons"`
	Sites   []VisitRow `json:"sites"`
}

// CommonSiteRow is a site two or more cases visited.
type CommonSiteRow struct {
	Site     string         `json:"site"`
	SiteKind string         `json:"site_kind"`
	Cases    int            `json:"cases"`
	Visits   []CaseVisitRow `json:"visits"`
}

// CaseVisitRow is one case's visit.
type CaseVisitRow struct {
	PersonRef
	In  string `json:"in"`
	Out string `json:"out"`
	Tx  string `json:"tx"`
}

// CommonPersonRow is a person two or more cases met.
type CommonPersonRow struct {
	PersonRef
	Case  string       `json:"case,omitempty"`
	Cases int          `json:"cases"`
	Met   []CaseMetRow `json:"met"`
}

// CaseMetRow is when a case first met a common person.
type CaseMetRow struct {
	Case          string `json:"case"`
	CasePseudonym string `json:"case_pseudonym"`
	First         string `json:"first"`
}

// SourcesReport is a source search.
type SourcesReport struct {
	IncubationMinDays int                 `json:"incubation_min_days"`
	IncubationMaxDays int                 `json:"incubation_max_days"`
	MinOverlap        string              `json:"min_overlap"`
	Cases             []CaseSourcesReport `json:"cases"`
	CommonSites       []CommonSiteRow     `json:"common_sites"`
	CommonPersons     []CommonPersonRow   `json:"common_persons"`
}

// ClustersRequest asks for clusters of cases.
type ClustersRequest struct {
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
	Status     string `json:"status,omitempty"`
	Within     string `json:"within,omitempty"`
	MinCases   int    `json:"min_cases,omitempty"`
	MinOverlap string `json:"min_overlap,omitempty"`
}

// CaseRef is a case in a cluster.
type CaseRef struct {
	PersonRef
	Status string `json:"status"`
}

// ClusterSiteRow is one episode at a cluster site.
type ClusterSiteRow struct {
	Site      string         `json:"site"`
	SiteKind  string         `json:"site_kind"`
	From      string         `json:"from"`
	To        string         `json:"to"`
	Cases     int            `json:"cases"`
	Presences []CaseVisitRow `json:"presences"`
}

// ExposedRow is a person exposed at a cluster's sites.
type ExposedRow struct {
	PersonRef
	First string   `json:"first"`
	Last  string   `json:"last"`
	Sites []string `json:"sites"`
}

// ClusterRow is one cluster.
type ClusterRow struct {
	ID      int              `json:"id"`
	From    string           `json:"from"`
	To      string           `json:"to"`
	Cases   []CaseRef        `json:"cases"`
	Sites   []ClusterSiteRow `json:"sites"`
	Exposed []ExposedRow     `json:"exposed"`
}

// ClustersReport lists clusters.
type ClustersReport struct {
	From       string       `json:"from"`
	To         string       `json:"to"`
	Status     string       `json:"status,omitempty"`
	Within     string       `json:"within,omitempty"`
	MinCases   int          `json:"min_cases"`
	MinOverlap string       `json:"min_overlap"`
	Clusters   []ClusterRow `json:"clusters"`
}

// RiskRequest asks for the sites to publish.
type RiskRequest struct {
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Status string `json:"status,omitempty"`
	// ExcludeKinds adds kinds to leave out; homes and devices
	// (DefaultPrivateKinds) are always left out.
	ExcludeKinds []string `json:"exclude_kinds,omitempty"`
	// Format is "json" (default) or "geojson".
	Format string `json:"format,omitempty"`
}

// PeriodRow is a time range.
type PeriodRow struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// RiskSiteRow is a site to publish: no personal data.
type RiskSiteRow struct {
	Site    string      `json:"site"`
	Name    string      `json:"name,omitempty"`
	Kind    string      `json:"kind"`
	Region  string      `json:"region,omitempty"`
	Parent  string      `json:"parent,omitempty"`
	Lat     float64     `json:"lat"`
	Lon     float64     `json:"lon"`
	Periods []PeriodRow `json:"periods"`
}

// RiskReport lists the sites cases visited in a window.
type RiskReport struct {
	From         string        `json:"from"`
	To           string        `json:"to"`
	ExcludeKinds []string      `json:"exclude_kinds"`
	Sites        []RiskSiteRow `json:"sites"`
}

// GeoJSON is a FeatureCollection of the risk sites as points (RFC 7946:
// coordinates are [longitude, latitude]).
type GeoJSON struct {
	Type     string       `json:"type"`
	Features []GeoFeature `json:"features"`
}

// GeoFeature is one site.
type GeoFeature struct {
	Type       string      `json:"type"`
	Geometry   GeoPoint    `json:"geometry"`
	Properties RiskSiteRow `json:"properties"`
}

// GeoPoint is a GeoJSON point.
type GeoPoint struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"`
}

// FollowUpRequest asks for the contacts of a case to follow up.
//
// Days must be 1 to 366, 0 included in what is refused: a JSON request
// without "days" gets DefaultFollowUpDays because it is decoded into a
// NewFollowUpRequest, which holds it, so that an explicit 0 stays 0 and is
// a 400 rather than silently 14. Days is always sent (no omitempty): a Go
// caller sets it (the CLI's --days defaults to 14).
type FollowUpRequest struct {
	Person     string `json:"person"`
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
	Days       int    `json:"days"`
	MinOverlap string `json:"min_overlap,omitempty"`
}

// NewFollowUpRequest is the request a JSON body is decoded into: Days is
// DefaultFollowUpDays unless the body gives it.
func NewFollowUpRequest() FollowUpRequest { return FollowUpRequest{Days: DefaultFollowUpDays} }

// FollowUpRow is a contact to call: Aliases are how to reach them, the
// aliases the vault holds of them and the ledger binds to them (phone
// numbers first; node.Aliases), read with their ids in the audited read.
type FollowUpRow struct {
	MetRow
	Aliases   []string `json:"aliases"`
	Until     string   `json:"until"`
	UntilDate string   `json:"until_date"`
}

// FollowUpReport is the follow-up list of a case.
type FollowUpReport struct {
	Person     string `json:"person"`
	Pseudonym  string `json:"pseudonym"`
	From       string `json:"from"`
	To         string `json:"to"`
	Days       int    `json:"days"`
	MinOverlap string `json:"min_overlap"`
	WindowBasis
	// Encounters counts the meetings in the list that a proximity device
	// reported (any time together counts for them).
	Encounters int           `json:"encounters"`
	Contacts   []FollowUpRow `json:"contacts"`
	// Note says why the list is empty: the window, and when the case's
	// records run.
	Note string `json:"note,omitempty"`
}

// Defaults.
const (
	DefaultDepth         = 2
	DefaultIncubationMin = 2
	DefaultIncubationMax = DefaultIncubationMaxDays
	DefaultFollowUpDays  = 14
	maxDays              = 366
	maxSourceCases       = 100
)

func (b *Builder) inv() *investigate.Investigator { return investigate.New(b.N.DB, b.N.Query) }

func (b *Builder) windowOf(from, to string) (Window, error) {
	return DefaultWindow(b.N, b.Now, from, to)
}

func (b *Builder) ref(rc *node.Receipt, p ledger.Pseudonym) (PersonRef, error) {
	id, err := b.realID(rc, p)
	return PersonRef{Person: id, Pseudonym: p.String()}, err
}

func fieldErr(field, format string, args ...any) error {
	return &ndjson.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// UnknownPersonError says which request field names nobody (and the
// reference's pseudonym, for the audit record of the lookup); it wraps
// node.ErrUnknownPerson and never holds the reference.
type UnknownPersonError = node.UnknownRefError

func (b *Builder) resolve(field, ref string) (ledger.Pseudonym, error) {
	if strings.TrimSpace(ref) == "" {
		return ledger.Pseudonym{}, fieldErr(field, "required")
	}
	if b.Pseudonymous && !strings.HasPrefix(ref, node.PseudonymRef) {
		// A reader from another region names persons as its grant does:
		// this node derives no pseudonym for it from a raw identifier.
		return ledger.Pseudonym{}, fieldErr(field, "under a grant, name the person by pseudonym: pn:<64 hex digits>")
	}
	return b.N.Resolve(field, ref)
}

// ParseDuration parses a Go duration ("36h", "15m") or whole days
// ("14d"); empty is def. Negative durations are refused.
func ParseDuration(field, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		if err == nil && (days < 0 || days > maxDays) {
			err = errors.New("range")
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < 0 {
		return 0, fieldErr(field, "not a non-negative duration (e.g. 15m, 36h or 14d)")
	}
	return d, nil
}

func (b *Builder) minOverlap(s string) (time.Duration, error) {
	return ParseDuration("min_overlap", s, b.N.Query.Rules().MinOverlap)
}

func dur(seconds int64) string { return (time.Duration(seconds) * time.Second).String() }

// caseStatus is a person's latest case status, "" for no case (cleared
// counts as no case).
func caseStatus(cs investigate.Cases, p ledger.Pseudonym) string {
	if !cs.IsCase(p) {
		return ""
	}
	return cs[p].Status
}

// Chain checks a chain request and returns its read: the chain
func (b *Builder) Chain(r ChainRequest) (*node.Read[*ChainReport], error) {
	w, err := b.windowOf(r.From, r.To)
	if err != nil {
		return nil, err
	}
	if r.Depth == 0 {
		r.Depth = DefaultDepth
	}
	if r.Depth < 1 || r.Depth > investigate.MaxDepth {
		return nil, fieldErr("depth", "must be 1 to %d", investigate.MaxDepth)
	}
	min, err := b.minOverlap(r.MinOverlap)
	if err != nil {
		return nil, err
	}
	latent, err := ParseDuration("latent", r.Latent, 0)
	if err != nil {
		return nil, err
	}
	infectious, err := ParseDuration("infectious", r.Infectious, 0)
	if err != nil {
		return nil, err
	}
	if r.Infectious != "" && infectious == 0 {
		return nil, fieldErr("infectious", "must be positive (leave it out for no limit)")
	}
	p, err := b.resolve("person", r.Person)
	if err != nil {
		return nil, err
	}
	if w, err = PersonWindow(b.N, w, p); err != nil {
		return nil, err
	}
	return node.NewRead(b.N, subject("trace chain", p, w), func(rc *node.Receipt) (*ChainReport, error) {
		return b.chain(rc, r, p, w, min, latent, infectious)
	}), nil
}

func (b *Builder) chain(rc *node.Receipt, r ChainRequest, p ledger.Pseudonym, w Window, min, latent, infectious time.Duration) (*ChainReport, error) {
	g, err := b.inv().Chain(investigate.ChainQuery{Person: p, From: w.From.Unix(), To: w.To.Unix(), Depth: r.Depth, MinOverlap: min,
		Latent: int64(latent / time.Second), Infectious: int64(infectious / time.Second), AllEdges: r.AllEdges})
	if err != nil {
		return nil, err
	}
	cases, err := b.inv().Cases()
	if err != nil {
		return nil, err
	}
	root, err := b.ref(rc, p)
	if err != nil {
		return nil, err
	}
	out := &ChainReport{Person: root.Person, Pseudonym: root.Pseudonym, From: b.ts(w.From.Unix()), To: b.ts(w.To.Unix()), Depth: r.Depth,
		MinOverlap: min.String(), Latent: latent.String(), AllEdges: r.AllEdges, WindowBasis: w.WindowBasis, Nodes: []ChainNode{}, Edges: []ChainEdge{}, Layers: make([]int, r.Depth+1)}
	if infectious > 0 {
		out.Infectious = infectious.String()
	}
	for _, n := range g.Nodes {
		ref, err := b.ref(rc, n.Person)
		if err != nil {
			return nil, err
		}
		out.Layers[n.Layer]++
		out.Nodes = append(out.Nodes, ChainNode{Person: ref.Person, Pseudonym: ref.Pseudonym, Layer: n.Layer, Exposure: b.ts(n.Exposure), Case: caseStatus(cases, n.Person)})
	}
	for _, e := range g.Edges {
		out.Edges = append(out.Edges, ChainEdge{From: e.From.String(), To: e.To.String(), Site: e.Site, SiteKind: e.SiteKind,
			Start: b.ts(e.Start), End: b.ts(e.End), Tx: e.TxID.String(), FromTx: e.FromTxID.String()})
	}
	if len(out.Edges) == 0 {
		if out.Note, err = EmptyNote(b.N, p, w, "contact"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Sources builds the source-search  Each case's window runs from
// the start of the day incubation_max_days before its onset to the end
// of the day incubation_min_days before it.
func (b *Builder) Sources(r SourcesRequest) (*node.Read[*SourcesReport], error) {
	if len(r.Persons) == 0 {
		return nil, fieldErr("persons", "give at least one case")
	}
	if len(r.Persons) > maxSourceCases {
		return nil, fieldErr("persons", "at most %d cases", maxSourceCases)
	}
	if r.Onset != "" && len(r.Persons) > 1 {
		return nil, fieldErr("onset", "applies to one case only; with several, each case's reported onset is used")
	}
	lo, hi := DefaultIncubationMin, DefaultIncubationMax
	if r.IncubationMinDays != nil {
		lo = *r.IncubationMinDays
	}
	if r.IncubationMaxDays != nil {
		hi = *r.IncubationMaxDays
	}
	if lo < 0 || lo > maxDays {
		return nil, fieldErr("incubation_min_days", "must be 0 to %d", maxDays)
	}
	if hi < lo || hi > maxDays {
		return nil, fieldErr("incubation_max_days", "must be incubation_min_days to %d", maxDays)
	}
	min, err := b.minOverlap(r.MinOverlap)
	if err != nil {
		return nil, err
	}
	loc := b.N.Home.Config.Location()
	var sq investigate.SourcesQuery
	sq.MinOverlap = min
	onsets := make([]time.Time, len(r.Persons))
	seen := map[ledger.Pseudonym]bool{}
	for i, ref := range r.Persons {
		field := fmt.Sprintf("persons[%d]", i)
		p, err := b.resolve(field, ref)
		if err != nil {
			return nil, err
		}
		if seen[p] {
			return nil, fieldErr(field, "the same person is listed twice")
		}
		seen[p] = true
		var onset time.Time
		if r.Onset != "" {
			if onset, err = time.ParseInLocation("2006-01-02", r.Onset, loc); err != nil {
				return nil, fieldErr("onset", "not a date YYYY-MM-DD")
			}
		} else {
			t, ok, err := b.inv().Onset(p, loc)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fieldErr(field, "no onset reported for this person; give onset")
			}
			onset = time.Unix(t, 0).In(loc)
		}
		onsets[i] = onset
		from := onset.AddDate(0, 0, -hi)
		to := onset.AddDate(0, 0, -lo+1).Add(-time.Second)
		sq.Cases = append(sq.Cases, investigate.SourceCase{Person: p, From: from.Unix(), To: to.Unix()})
	}
	var subjects []node.Subject
	for _, c := range sq.Cases {
		subjects = append(subjects, node.Subject{Route: "trace sources", Person: c.Person, From: c.From, To: c.To})
	}
	return node.NewRead(b.N, subjects, func(rc *node.Receipt) (*SourcesReport, error) {
		return b.sources(rc, sq, onsets, lo, hi)
	}), nil
}

func (b *Builder) sources(rc *node.Receipt, sq investigate.SourcesQuery, onsets []time.Time, lo, hi int) (*SourcesReport, error) {
	min := sq.MinOverlap
	res, err := b.inv().Sources(sq)
	if err != nil {
		return nil, err
	}
	out := &SourcesReport{IncubationMinDays: lo, IncubationMaxDays: hi, MinOverlap: min.String(), Cases: []CaseSourcesReport{},
		CommonSites: []CommonSiteRow{}, CommonPersons: []CommonPersonRow{}}
	for i, c := range res.Cases {
		ref, err := b.ref(rc, c.Person)
		if err != nil {
			return nil, err
		}
		cr := CaseSourcesReport{PersonRef: ref, Onset: onsets[i].Format("2006-01-02"), From: b.ts(c.From), To: b.ts(c.To), Persons: []MetRow{}, Sites: []VisitRow{}}
		if cr.Persons, err = b.metRows(rc, c.Persons); err != nil {
			return nil, err
		}
		for _, v := range c.Sites {
			row := VisitRow{Site: v.Site, SiteKind: v.SiteKind, In: b.ts(v.In), Out: b.ts(v.Out), Tx: v.TxID.String(), Cases: []PersonRef{}}
			for _, p := range v.Cases {
				pr, err := b.ref(rc, p)
				if err != nil {
					return nil, err
				}
				row.Cases = append(row.Cases, pr)
			}
			cr.Sites = append(cr.Sites, row)
		}
		out.Cases = append(out.Cases, cr)
	}
	for _, s := range res.CommonSites {
		row := CommonSiteRow{Site: s.Site, SiteKind: s.SiteKind, Cases: s.Cases}
		for _, v := range s.Visits {
			pr, err := b.ref(rc, v.Person)
			if err != nil {
				return nil, err
			}
			row.Visits = append(row.Visits, CaseVisitRow{PersonRef: pr, In: b.ts(v.In), Out: b.ts(v.Out), Tx: v.TxID.String()})
		}
		out.CommonSites = append(out.CommonSites, row)
	}
	cases, err := b.inv().Cases()
	if err != nil {
		return nil, err
	}
	for _, cp := range res.CommonPersons {
		pr, err := b.ref(rc, cp.Person)
		if err != nil {
			return nil, err
		}
		row := CommonPersonRow{PersonRef: pr, Case: caseStatus(cases, cp.Person), Cases: cp.Cases}
		for _, m := range cp.Met {
			cr, err := b.ref(rc, m.Case)
			if err != nil {
				return nil, err
			}
			row.Met = append(row.Met, CaseMetRow{Case: cr.Person, CasePseudonym: cr.Pseudonym, First: b.ts(m.First)})
		}
		out.CommonPersons = append(out.CommonPersons, row)
	}
	return out, nil
}

func (b *Builder) metRows(rc *node.Receipt, ms []investigate.Met) ([]MetRow, error) {
	cases, err := b.inv().Cases()
	if err != nil {
		return nil, err
	}
	out := []MetRow{}
	for _, m := range ms {
		pr, err := b.ref(rc, m.Person)
		if err != nil {
			return nil, err
		}
		out = append(out, MetRow{PersonRef: pr, Case: caseStatus(cases, m.Person), First: b.ts(m.First), Last: b.ts(m.Last),
			Together: dur(m.Together), Meetings: m.Meetings, Sites: m.Sites})
	}
	return out, nil
}

// Clusters checks a clusters request and returns its read: the clusters
//
//	It reads every case, so its audit record names no person.
func (b *Builder) Clusters(r ClustersRequest) (*node.Read[*ClustersReport], error) {
	w, err := b.windowOf(r.From, r.To)
	if err != nil {
		return nil, err
	}
	if err := b.checkStatus(r.Status); err != nil {
		return nil, err
	}
	within, err := ParseDuration("within", r.Within, 0)
	if err != nil {
		return nil, err
	}
	if r.MinCases == 0 {
		r.MinCases = 2
	}
	if r.MinCases < 2 {
		return nil, fieldErr("min_cases", "must be at least 2")
	}
	min, err := b.minOverlap(r.MinOverlap)
	if err != nil {
		return nil, err
	}
	return node.NewRead(b.N, subject("trace clusters", ledger.Pseudonym{}, w), func(rc *node.Receipt) (*ClustersReport, error) {
		return b.clusters(rc, r, w, within, min)
	}), nil
}

func (b *Builder) clusters(rc *node.Receipt, r ClustersRequest, w Window, within, min time.Duration) (*ClustersReport, error) {
	cls, err := b.inv().Clusters(investigate.ClusterQuery{From: w.From.Unix(), To: w.To.Unix(), Status: r.Status, Within: int64(within / time.Second),
		MinCases: r.MinCases, MinOverlap: min})
	if err != nil {
		return nil, err
	}
	cases, err := b.inv().Cases()
	if err != nil {
		return nil, err
	}
	out := &ClustersReport{From: b.ts(w.From.Unix()), To: b.ts(w.To.Unix()), Status: r.Status, MinCases: r.MinCases, MinOverlap: min.String(), Clusters: []ClusterRow{}}
	if within > 0 {
		out.Within = within.String()
	}
	for i, c := range cls {
		row := ClusterRow{ID: i + 1, From: b.ts(c.From), To: b.ts(c.To), Exposed: []ExposedRow{}}
		for _, p := range c.Cases {
			pr, err := b.ref(rc, p)
			if err != nil {
				return nil, err
			}
			row.Cases = append(row.Cases, CaseRef{PersonRef: pr, Status: cases[p].Status})
		}
		for _, s := range c.Sites {
			sr := ClusterSiteRow{Site: s.Site, SiteKind: s.SiteKind, From: b.ts(s.From), To: b.ts(s.To), Cases: s.Cases}
			for _, p := range s.Presences {
				pr, err := b.ref(rc, p.Person)
				if err != nil {
					return nil, err
				}
				sr.Presences = append(sr.Presences, CaseVisitRow{PersonRef: pr, In: b.ts(p.In), Out: b.ts(p.Out), Tx: p.TxID.String()})
			}
			row.Sites = append(row.Sites, sr)
		}
		for _, x := range c.Exposed {
			pr, err := b.ref(rc, x.Person)
			if err != nil {
				return nil, err
			}
			row.Exposed = append(row.Exposed, ExposedRow{PersonRef: pr, First: b.ts(x.First), Last: b.ts(x.Last), Sites: x.Sites})
		}
		out.Clusters = append(out.Clusters, row)
	}
	return out, nil
}

// checkStatus refuses a status the chain's vocabulary does not know.
func (b *Builder) checkStatus(s string) error {
	if voc := b.vocabulary(); s != "" && !voc.KnownStatus(s) {
		return fieldErr("status", "one of %s", strings.Join(voc.CaseStatuses, ", "))
	}
	return nil
}

// vocabulary is the chain's (its genesis's).
func (b *Builder) vocabulary() *ledger.Vocabulary {
	return &b.N.Home.Genesis.Params.Vocabulary
}

// RiskSites builds the risk-site  It holds no personal data.
func (b *Builder) RiskSites(r RiskRequest) (*RiskReport, error) {
	w, err := b.windowOf(r.From, r.To)
	if err != nil {
		return nil, err
	}
	if err := b.checkStatus(r.Status); err != nil {
		return nil, err
	}
	switch r.Format {
	case "", "json", "geojson":
	default:
		return nil, fieldErr("format", "json or geojson")
	}
	// The report is made to be published, by any role: a case's home
	// (personal data) is never in it, whatever the request asks.
	exclude := append([]string{}, investigate.DefaultPrivateKinds...)
	for i, k := range r.ExcludeKinds {
		if !b.vocabulary().KnownKind(k) {
			return nil, fieldErr(fmt.Sprintf("exclude_kinds[%d]", i), "unknown site kind")
		}
		if !slices.Contains(exclude, k) {
			exclude = append(exclude, k)
		}
	}
	rs, err := b.inv().RiskSites(investigate.RiskQuery{From: w.From.Unix(), To: w.To.Unix(), Status: r.Status, Exclude: exclude})
	if err != nil {
		return nil, err
	}
	out := &RiskReport{From: b.ts(w.From.Unix()), To: b.ts(w.To.Unix()), ExcludeKinds: append([]string{}, exclude...), Sites: []RiskSiteRow{}}
	for _, s := range rs {
		row := RiskSiteRow{Site: s.Site, Name: s.Name, Kind: s.Kind, Region: s.Region, Parent: s.Parent,
			Lat: float64(s.LatE6) / 1e6, Lon: float64(s.LonE6) / 1e6}
		for _, p := range s.Periods {
			row.Periods = append(row.Periods, PeriodRow{From: b.ts(p.From), To: b.ts(p.To)})
		}
		out.Sites = append(out.Sites, row)
	}
	return out, nil
}

// GeoJSON returns the risk sites as a GeoJSON FeatureCollection.
func (r *RiskReport) GeoJSON() *GeoJSON {
	g := &GeoJSON{Type: "FeatureCollection", Features: []GeoFeature{}}
	for _, s := range r.Sites {
		g.Features = append(g.Features, GeoFeature{Type: "Feature", Geometry: GeoPoint{Type: "Point", Coordinates: [2]float64{s.Lon, s.Lat}}, Properties: s})
	}
	return g
}

// FollowUp checks a follow-up request and returns its read: the
// follow-up list.
func (b *Builder) FollowUp(r FollowUpRequest) (*node.Read[*FollowUpReport], error) {
	w, err := b.windowOf(r.From, r.To)
	if err != nil {
		return nil, err
	}
	if r.Days < 1 || r.Days > maxDays {
		return nil, fieldErr("days", "must be 1 to %d", maxDays)
	}
	min, err := b.minOverlap(r.MinOverlap)
	if err != nil {
		return nil, err
	}
	p, err := b.resolve("person", r.Person)
	if err != nil {
		return nil, err
	}
	if w, err = PersonWindow(b.N, w, p); err != nil {
		return nil, err
	}
	// The list is for calling: its read opens each contact's aliases in
	// the vault, and its audit record says so.
	subjects := subject("trace follow-up", p, w)
	subjects[0].Aliases = true
	return node.NewRead(b.N, subjects, func(rc *node.Receipt) (*FollowUpReport, error) {
		return b.followUp(rc, r, p, w, min)
	}), nil
}

func (b *Builder) followUp(rc *node.Receipt, r FollowUpRequest, p ledger.Pseudonym, w Window, min time.Duration) (*FollowUpReport, error) {
	fs, err := b.inv().FollowUp(investigate.FollowUpQuery{Person: p, From: w.From.Unix(), To: w.To.Unix(), Days: r.Days, MinOverlap: min})
	if err != nil {
		return nil, err
	}
	ref, err := b.ref(rc, p)
	if err != nil {
		return nil, err
	}
	out := &FollowUpReport{Person: ref.Person, Pseudonym: ref.Pseudonym, From: b.ts(w.From.Unix()), To: b.ts(w.To.Unix()), Days: r.Days,
		MinOverlap: min.String(), WindowBasis: w.WindowBasis, Contacts: []FollowUpRow{}}
	ms := make([]investigate.Met, len(fs))
	for i, f := range fs {
		ms[i] = f.Met
	}
	rows, err := b.metRows(rc, ms)
	if err != nil {
		return nil, err
	}
	for i, f := range fs {
		as, err := b.N.Aliases(rc, f.Person)
		if err != nil {
			return nil, err
		}
		until := b.ts(f.Until)
		out.Contacts = append(out.Contacts, FollowUpRow{MetRow: rows[i], Aliases: as, Until: until, UntilDate: until[:10]})
	}
	if len(out.Contacts) == 0 {
		if out.Note, err = EmptyNote(b.N, p, w, "contact"); err != nil {
			return nil, err
		}
	}
	// Each encounter in the window is a meeting in the list: any time
	// together counts for it.
	es, err := b.N.Query.Encounters(p, w.From.Unix(), w.To.Unix())
	if err != nil {
		return nil, err
	}
	out.Encounters = len(es)
	return out, nil
}
