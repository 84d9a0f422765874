package report

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// Outbreak intelligence (issue 15, docs/REGIONS.md step 6): who reads a
// record's details is decided by its secrecy and the reader's role.

// IntelCleared reports whether a caller of role reads the details of a
// record of secrecy s: public and internal records, every role on the
// chain; confidential ones, the N2s and N1s, investigators, auditors and
// the administrator; secret ones, the N2s and N1s and the administrator.
// An unknown secrecy clears no one.
func IntelCleared(role, secrecy string) bool {
	if role == RoleGrantee {
		// The national N1 cleared it for the records its grant's scope
		// names, which the API checked.
		return true
	}
	switch secrecy {
	case "public", "internal":
		return role != "" && role != ledger.RoleNone
	case "confidential":
		return slices.Contains([]string{ledger.RoleN2, ledger.RoleN1, ledger.RoleInvestigator, ledger.RoleAuditor, ledger.RoleAdmin, RoleAuthority}, role)
	case "secret":
		return slices.Contains([]string{ledger.RoleN2, ledger.RoleN1, ledger.RoleAdmin, RoleAuthority}, role)
	}
	return false
}

// Response levels by number: 1 is level I, the gravest.
var responseLevels = [...]string{"", "I", "II", "III", "IV"}

// IntelView is an intelligence record as a reader sees it: what it is
// about, how grave and how secret, for every reader; its details only for
// a reader its secrecy clears.
type IntelView struct {
	Tx        string `json:"tx"`
	Time      string `json:"time"`
	Dimension string `json:"dimension"`
	Level     int    `json:"level"`
	Response  string `json:"response"`
	Secrecy   string `json:"secrecy"`
	// Origin is the chain the record was submitted on and Record its id
	// there; From the linked chain its digest came from (absent for a
	// record submitted here), Broadcast set for the national broadcast.
	Origin    string `json:"origin"`
	Record    string `json:"record"`
	From      string `json:"from,omitempty"`
	Broadcast bool   `json:"broadcast,omitempty"`
	// Alert is set for an alert a warning rule raised here (issue 16):
	// Record is the alert's id (GET /v1/alerts).
	Alert bool `json:"alert,omitempty"`
	// Digest is the place and counts, for a role the secrecy clears (as
	// redacted on their way, for a digest from elsewhere); Details the
	// rest, for a record submitted here.
	Digest  *IntelDigestView `json:"digest,omitempty"`
	Details *IntelDetails    `json:"details,omitempty"`
}

// IntelDigestView is a record's place and counts.
type IntelDigestView struct {
	Region    string `json:"region"`
	Involved  uint32 `json:"involved"`
	Confirmed uint32 `json:"confirmed"`
	Suspected uint32 `json:"suspected"`
}

// IntelDetails is the rest of a record: δ's event and opinion, and who
// submitted and endorsed it.
type IntelDetails struct {
	Height uint64 `json:"height"`
	IntelEvent
	Submitter    string   `json:"submitter"`
	Endorsers    []string `json:"endorsers"`
	SubmitterKey string   `json:"submitter_key"`
}

// IntelEvent is δ's event (a) and opinion (i), in JSON: the place (a
// GB/T 2260 code and a name), counts of people, spread and facts; topics,
// sentiment and strength; attachments as SHA-256 hex.
type IntelEvent struct {
	Region      string   `json:"region"`
	Place       string   `json:"place"`
	Involved    uint32   `json:"involved"`
	Confirmed   uint32   `json:"confirmed"`
	Suspected   uint32   `json:"suspected"`
	Spread      string   `json:"spread"`
	Facts       string   `json:"facts"`
	Topics      []string `json:"topics"`
	Sentiment   int32    `json:"sentiment"`
	Strength    uint32   `json:"strength"`
	Attachments []string `json:"attachments"`
}

// MaxIntelListed bounds one listing.
const MaxIntelListed = 1000

// ErrIntelNotCleared is returned for a record the reader's role may not
// read the details of.
var ErrIntelNotCleared = errors.New("report: this record's secrecy does not clear the caller's role")

// Intel lists the records describing a time in the window from..to
// (default: the last 30 days), at most MaxIntelListed, most recent
// last, with the details a caller of role may read; dimension and
// maxLevel filter (maxLevel 0: every level; 2: levels I and II).
func (b *Builder) Intel(from, to, role, dimension string, maxLevel int) (views []IntelView, truncated bool, err error) {
	loc := b.N.Home.Config.Location()
	w, err := ParseWindow(from, to, time.Now(), 30*24*time.Hour, loc)
	if err != nil {
		return nil, false, err
	}
	if dimension != "" && !slices.Contains(ledger.IntelDimensions, dimension) {
		return nil, false, &ledger.FieldError{Field: "dimension", Msg: "one of epidemic, medical, government, public, opinion"}
	}
	ss, err := state.IntelEntries(b.N.DB, w.From.Unix(), w.To.Unix(), 0)
	if err != nil {
		return nil, false, err
	}
	views = []IntelView{}
	for _, s := range ss {
		if dimension != "" && s.Dimension != dimension || maxLevel != 0 && int(s.Level) > maxLevel {
			continue
		}
		if len(views) == MaxIntelListed {
			return views, true, nil
		}
		v, err := b.intelView(s, role)
		if err != nil {
			return nil, false, err
		}
		views = append(views, v)
	}
	return views, false, nil
}

// IntelRecord is entry id (a record submitted here, or a digest carried
// in) with what a caller of role may read; ErrIntelNotCleared (with the
// view's summary) when its secrecy does not clear the role,
// blocks.ErrNotFound when there is no such entry.
func (b *Builder) IntelRecord(id ledger.Hash, role string) (IntelView, error) {
	e, ok, err := state.IntelEntryOf(b.N.DB, id)
	if err != nil {
		return IntelView{}, err
	}
	if !ok {
		return IntelView{}, fmt.Errorf("%w: no intelligence record %s", blocks.ErrNotFound, id.String()[:16])
	}
	v, err := b.intelView(e, role)
	if err == nil && !IntelCleared(role, e.Secrecy) {
		err = ErrIntelNotCleared
	}
	return v, err
}

func (b *Builder) intelView(e state.IntelEntry, role string) (IntelView, error) {
	v := IntelView{Tx: e.Tx.String(), Time: time.Unix(e.Time, 0).In(b.N.Home.Config.Location()).Format(time.RFC3339),
		Dimension: e.Dimension, Level: int(e.Level), Response: responseLevels[e.Level], Secrecy: e.Secrecy,
		Origin: e.Origin, Record: e.OriginTx.String(), From: e.From, Broadcast: e.Broadcast}
	if !IntelCleared(role, e.Secrecy) {
		return v, nil
	}
	v.Digest = &IntelDigestView{Region: e.Region, Involved: e.Involved, Confirmed: e.Confirmed, Suspected: e.Suspected}
	if e.From != "" {
		return v, nil
	}
	if _, alert, err := state.AlertOf(b.N.DB, e.Tx); err != nil {
		return IntelView{}, err
	} else if alert {
		// An alert a warning rule raised here: its details are the
		// alert's (GET /v1/alerts), not a record's.
		v.Alert = true
		return v, nil
	}
	height, idx, err := blocks.Locate(b.N.DB, e.Tx)
	if err != nil {
		return IntelView{}, err
	}
	tx, err := b.txAt(height, idx)
	if err != nil {
		return IntelView{}, err
	}
	d, ok := tx.Body.(*ledger.Intel)
	if !ok {
		return IntelView{}, fmt.Errorf("%w: intelligence entry %s is a %s", store.ErrCorrupt, e.Tx.String()[:16], tx.Body.Kind())
	}
	v.Details = b.intelDetails(height, tx, d)
	return v, nil
}

func (b *Builder) txAt(height uint64, idx uint32) (*ledger.Tx, error) {
	raw, ok, err := store.ReadTx(b.N.DB, height, idx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: transaction %d/%d", store.ErrCorrupt, height, idx)
	}
	return ledger.DecodeTx(raw)
}

func (b *Builder) intelDetails(height uint64, tx *ledger.Tx, d *ledger.Intel) *IntelDetails {
	out := &IntelDetails{Height: height, IntelEvent: IntelEvent{Region: d.Region, Place: d.Place, Involved: d.Involved, Confirmed: d.Confirmed,
		Suspected: d.Suspected, Spread: d.Spread, Facts: d.Facts, Topics: append([]string{}, d.Topics...), Sentiment: d.Sentiment,
		Strength: d.Strength, Attachments: []string{}}, Endorsers: []string{}}
	for _, a := range d.Attachments {
		out.Attachments = append(out.Attachments, a.String())
	}
	g := b.N.Home.Genesis
	name := func(k [32]byte) string {
		if _, n, err := state.RoleOf(b.N.DB, &g, k); err == nil && n != "" {
			return n
		}
		return ledger.Hash(k).String()[:16]
	}
	out.Submitter, out.SubmitterKey = name(tx.Sigs[0].Key), ledger.Hash(tx.Sigs[0].Key).String()
	for _, s := range tx.Sigs[1:] {
		out.Endorsers = append(out.Endorsers, name(s.Key))
	}
	return out
}

// IntelInput is an intelligence record as its submitter writes it (the
// JSON of `epiledger intel draft`): time in RFC 3339, region a GB/T 2260
// code, level 1 (I) to 4 (IV), attachments as SHA-256 hex.
type IntelInput struct {
	Dimension string `json:"dimension"`
	Level     int    `json:"level"`
	Secrecy   string `json:"secrecy"`
	Time      string `json:"time"`
	IntelEvent
	Endorsements int `json:"endorsements"`
}

// Body is the record's ledger body, checked against every field's rules
// (a *ledger.FieldError names the field that breaks one).
func (in *IntelInput) Body(loc *time.Location) (*ledger.Intel, error) {
	t, err := parseTime("time", in.Time, loc, false)
	if err != nil {
		return nil, err
	}
	if in.Level < 1 || in.Level > 4 {
		return nil, &ledger.FieldError{Field: "level", Msg: "a response level from 1 (I) to 4 (IV)"}
	}
	if in.Endorsements == 0 {
		in.Endorsements = 1
	}
	if in.Endorsements < 1 || in.Endorsements > ledger.MaxEndorsements {
		return nil, &ledger.FieldError{Field: "endorsements", Msg: fmt.Sprintf("from 1 to %d", ledger.MaxEndorsements)}
	}
	if len(in.Attachments) > ledger.MaxIntelAttachments {
		return nil, &ledger.FieldError{Field: "attachments", Msg: fmt.Sprintf("at most %d", ledger.MaxIntelAttachments)}
	}
	if len(in.Topics) > ledger.MaxIntelTopics {
		return nil, &ledger.FieldError{Field: "topics", Msg: fmt.Sprintf("at most %d", ledger.MaxIntelTopics)}
	}
	b := &ledger.Intel{Dimension: in.Dimension, Level: uint8(in.Level), Secrecy: in.Secrecy, Time: t.Unix(), Region: in.Region, Place: in.Place,
		Involved: in.Involved, Confirmed: in.Confirmed, Suspected: in.Suspected, Spread: in.Spread, Facts: in.Facts,
		Topics: in.Topics, Sentiment: in.Sentiment, Strength: in.Strength, Endorsements: uint8(in.Endorsements)}
	for _, a := range in.Attachments {
		h, err := ledger.ParseHash(a)
		if err != nil {
			return nil, &ledger.FieldError{Field: "attachments", Msg: "SHA-256 hashes, 64 hex digits"}
		}
		b.Attachments = append(b.Attachments, h)
	}
	if err := ledger.Validate(b); err != nil {
		return nil, err
	}
	return b, nil
}
