package sim

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Contact is one overlap between a confirmed case and another person at one
// site: [From, To] is the intersection of their two presences there. Case
// and Other are canonical ids.
type Contact struct {
	Case  string    `json:"case"`
	Other string    `json:"other"`
	Site  string    `json:"site"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
}

// Truth is the expected answer of a contact query for every confirmed case
// of a simulated world, over the whole period [Start, End].
//
// A contact is another person present at exactly the same site id (a mall
// and a venue inside it are different sites) with overlapping presence. On
// transport kinds (record.TransportKinds) any overlap of positive length
// counts; elsewhere the overlap must last at least the world's minimum
// overlap. Moves create no presence. When several presences of the case
// overlap several presences of the other person at one site, each
// overlapping pair is listed.
type Truth struct {
	// Cases are the confirmed cases' canonical ids, sorted.
	Cases []string `json:"cases"`
	// Contacts holds, for every case (even one without contacts), its
	// contacts sorted by Other, Site, From, To.
	Contacts map[string][]Contact `json:"contacts"`
	Start    time.Time            `json:"start"`
	End      time.Time            `json:"end"`
}

// ErrTruth is wrapped by ReadTruth when the input is not a valid truth file.
var ErrTruth = errors.New("sim: invalid truth")

// WriteJSON writes t as one indented JSON document, times in RFC 3339. The
// output is deterministic (map keys are sorted by encoding/json).
func (t *Truth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("sim: write truth: %w", err)
	}
	return nil
}

// ReadTruth reads a document written by WriteJSON. It rejects unknown
// fields, contacts filed under a person who is not a case, and contacts
// whose interval is reversed, with an error wrapping ErrTruth.
func ReadTruth(r io.Reader) (*Truth, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var t Truth
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTruth, err)
	}
	if t.End.Before(t.Start) {
		return nil, fmt.Errorf("%w: end is before start", ErrTruth)
	}
	if t.Contacts == nil {
		t.Contacts = map[string][]Contact{}
	}
	isCase := make(map[string]bool, len(t.Cases))
	for _, c := range t.Cases {
		isCase[c] = true
		if t.Contacts[c] == nil {
			t.Contacts[c] = []Contact{}
		}
	}
	for id, cs := range t.Contacts {
		if !isCase[id] {
			return nil, fmt.Errorf("%w: contacts listed for a person who is not a case", ErrTruth)
		}
		for i, c := range cs {
			if c.Case != id {
				return nil, fmt.Errorf("%w: contact %d filed under another case", ErrTruth, i)
			}
			if c.To.Before(c.From) {
				return nil, fmt.Errorf("%w: contact %d ends before it starts", ErrTruth, i)
			}
		}
	}
	return &t, nil
}

// presence is one visit as the sweep sees it: who, and when (seconds since
// the world's start).
type presence struct {
	person  int32
	in, out int64
}

// rawContact is a contact in index form, before names are looked up.
type rawContact struct {
	caseP, other, site int32
	from, to           int64
}

// sweeper derives the truth from the visits in the order they are written,
// which is non-decreasing in time in. For each site it keeps the presences
// that may still overlap a later one (out > latest in). A new presence is
// compared with every such presence at its site; whenever one side is a
// case and the overlap qualifies, the pair is recorded. Every overlapping
// pair is seen exactly once, when the later-starting presence arrives.
type sweeper struct {
	wd         *world
	minOverlap int64
	isCase     []bool
	active     [][]presence
	lastIn     int64
	found      []rawContact
}

func newSweeper(wd *world, minOverlap int64) *sweeper {
	s := &sweeper{
		wd:         wd,
		minOverlap: minOverlap,
		isCase:     make([]bool, len(wd.idents)),
		active:     make([][]presence, len(wd.sites)),
	}
	for _, c := range wd.cases {
		s.isCase[c] = true
	}
	return s
}

func (s *sweeper) add(site, person int32, in, out int64) {
	if in < s.lastIn {
		panic("sim: sweep fed out of time order")
	}
	s.lastIn = in
	act := s.active[site][:0]
	for _, q := range s.active[site] {
		if q.out <= in {
			continue // cannot overlap this or any later presence
		}
		act = append(act, q)
		if q.person == person || !(s.isCase[person] || s.isCase[q.person]) {
			continue
		}
		from, to := max(in, q.in), min(out, q.out)
		if to <= from || !s.wd.sites[site].transport && to-from < s.minOverlap {
			continue
		}
		if s.isCase[person] {
			s.found = append(s.found, rawContact{caseP: person, other: q.person, site: site, from: from, to: to})
		}
		if s.isCase[q.person] {
			s.found = append(s.found, rawContact{caseP: q.person, other: person, site: site, from: from, to: to})
		}
	}
	s.active[site] = append(act, presence{person: person, in: in, out: out})
}

// truth assembles the Truth from what the sweep found.
func (wd *world) truth() *Truth {
	t := &Truth{Contacts: make(map[string][]Contact, len(wd.cases)), Start: wd.start, End: wd.end}
	for _, c := range wd.cases {
		id := wd.idents[c].id
		t.Cases = append(t.Cases, id)
		t.Contacts[id] = []Contact{}
	}
	slices.Sort(t.Cases)
	for _, f := range wd.sweep.found {
		id := wd.idents[f.caseP].id
		t.Contacts[id] = append(t.Contacts[id], Contact{
			Case: id, Other: wd.idents[f.other].id, Site: wd.sites[f.site].rec.Site,
			From: wd.at(f.from), To: wd.at(f.to),
		})
	}
	for _, cs := range t.Contacts {
		slices.SortFunc(cs, compareContacts)
	}
	return t
}

func compareContacts(a, b Contact) int {
	return cmp.Or(
		cmp.Compare(a.Other, b.Other),
		cmp.Compare(a.Site, b.Site),
		a.From.Compare(b.From),
		a.To.Compare(b.To),
	)
}
