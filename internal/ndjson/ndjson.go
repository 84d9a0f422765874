// Package ndjson holds the NDJSON import format: one JSON object per line,
// each a site, an identity, a visit, a movement, a case or a pre-signed
// transaction. It parses and validates lines into typed values and writes them
// back; it knows nothing about keys or pseudonyms, and of the ledger only
// its limits: field lengths, text (ledger.CheckText) and times
// (ledger.CheckTime), which a line must meet to become a transaction.
//
// Validation here is only what a line can say about itself (required fields,
// time order, known kinds). Whether a site or alias exists is the state
// machine's business.
package ndjson

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/epiledger/epiledger/internal/ledger"
)

// Limits on field sizes, so that a single line cannot blow up the ledger.
// Names and tags are the ledger's limits; site ids (the vocabulary's
// MaxSiteIDLen) and aliases are tighter.
const (
	MaxNameLen = ledger.MaxNameLen
	MaxRefLen  = 128
	MaxTagLen  = ledger.MaxTagLen
	MaxAliases = 32
)

// FieldError says which field of a line is wrong and why. Its message never
// repeats the field's value: values may be personal identifiers. It is the
// ledger's type, so that a limit the ledger checks reads the same here.
type FieldError = ledger.FieldError

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Site registers a place or vehicle that records presences.
type Site struct {
	Site   string  `json:"site"`
	Kind   string  `json:"kind"`
	Name   string  `json:"name,omitempty"`
	Lat    float64 `json:"lat"`
	Lon    float64 `json:"lon"`
	Region string  `json:"region,omitempty"`
	Parent string  `json:"parent,omitempty"`
	// Origin and Destination are a vehicle's route, [lat, lon] each: where
	// a passenger is at the start and at the end of a ride. A carriage
	// without its own inherits its train's.
	Origin      *[2]float64 `json:"origin,omitempty"`
	Destination *[2]float64 `json:"destination,omitempty"`
	// Key is the Ed25519 public key (64 hex digits, lower case) the site
	// signs its records with, when its operator holds the key (and imports
	// with --node and --as); without it, the importing home creates the
	// site's key in its keystore.
	Key string `json:"key,omitempty"`
}

// Identity binds aliases ("phone:...", "plate:...") to one canonical id.
type Identity struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
}

// Visit is a presence of a person at a site between In and Out.
type Visit struct {
	Site   string    `json:"site"`
	Person string    `json:"person"`
	In     time.Time `json:"in"`
	Out    time.Time `json:"out"`
	Via    string    `json:"via,omitempty"`
	Role   string    `json:"role,omitempty"`
}

// Move is a movement from site From (departing at Depart) to site To
// (arriving at Arrive). Both sites sign it.
type Move struct {
	Person string    `json:"person"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Depart time.Time `json:"depart"`
	Arrive time.Time `json:"arrive"`
	Via    string    `json:"via,omitempty"`
}

// Case is a hospital's report of a person's status.
type Case struct {
	Person   string    `json:"person"`
	Status   string    `json:"status"`
	Onset    string    `json:"onset,omitempty"` // YYYY-MM-DD
	Reported time.Time `json:"reported"`
	By       string    `json:"by"`
}

// SignedTx is a transaction already signed elsewhere (by a site's own
// device), carried as base64 of its exact bytes.
type SignedTx struct {
	Tx string `json:"tx"`
}

// raw is the union of all fields, used for decoding with a strict field set.
type raw struct {
	Type     string      `json:"type"`
	Site     string      `json:"site"`
	Kind     string      `json:"kind"`
	Name     string      `json:"name"`
	Lat      *float64    `json:"lat"`
	Lon      *float64    `json:"lon"`
	Region   string      `json:"region"`
	Parent   string      `json:"parent"`
	Origin   *[2]float64 `json:"origin"`
	Dest     *[2]float64 `json:"destination"`
	ID       string      `json:"id"`
	Aliases  []string    `json:"aliases"`
	Person   string      `json:"person"`
	In       string      `json:"in"`
	Out      string      `json:"out"`
	Via      string      `json:"via"`
	Role     string      `json:"role"`
	From     string      `json:"from"`
	To       string      `json:"to"`
	Depart   string      `json:"depart"`
	Arrive   string      `json:"arrive"`
	Status   string      `json:"status"`
	Onset    string      `json:"onset"`
	Reported string      `json:"reported"`
	By       string      `json:"by"`
	Tx       string      `json:"tx"`
	Key      string      `json:"key"`
}

// ErrEmpty is returned by Parse for a blank line, which importers skip.
var ErrEmpty = errors.New("record: empty line")

// Parse decodes and validates one NDJSON line against the default
// vocabulary (ParseWith).
func Parse(line []byte) (any, error) { return ParseWith(line, nil) }

// ParseWith decodes and validates one NDJSON line. It returns *Site,
// *Identity, *Visit, *Move, *Case or *SignedTx, or an error (a *FieldError
// when one field is at fault). Site kinds, case statuses and the length
// of site ids are checked against voc, the chain's vocabulary (its
// genesis's); nil means ledger.DefaultVocabulary, for a caller that does
// not know the chain (the state machine checks them again in any case).
// Unknown fields are allowed ("more fields are welcome") and ignored.
func ParseWith(line []byte, voc *ledger.Vocabulary) (any, error) {
	if voc == nil {
		d := ledger.DefaultVocabulary()
		voc = &d
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, ErrEmpty
	}
	var r raw
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, fmt.Errorf("malformed JSON: %s", jsonErrMsg(err))
	}
	switch r.Type {
	case "site":
		return nonNil(parseSite(&r, voc))
	case "identity":
		return nonNil(parseIdentity(&r))
	case "visit":
		return nonNil(parseVisit(&r, voc))
	case "move":
		return nonNil(parseMove(&r, voc))
	case "case":
		return nonNil(parseCase(&r, voc))
	case "tx":
		if r.Tx == "" {
			return nil, fieldErr("tx", "required")
		}
		return &SignedTx{Tx: r.Tx}, nil
	case "":
		return nil, fieldErr("type", "required")
	default:
		return nil, fieldErr("type", "unknown record type %q (want site, identity, visit, move, case or tx)", clip(r.Type))
	}
}

// nonNil turns a typed nil pointer into a nil interface, so that a failed
// parse returns nothing usable.
func nonNil[T any](v *T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// jsonErrMsg keeps JSON syntax errors but drops any echoed value: a
// type error message would otherwise quote part of the input.
func jsonErrMsg(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
	}
	return "cannot decode"
}

// clip shortens a non-personal value for an error message, on a rune
// boundary.
func clip(s string) string {
	if len(s) <= 32 {
		return s
	}
	i := 32
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

func checkSiteID(voc *ledger.Vocabulary, field, s string) error {
	if s == "" {
		return fieldErr(field, "required")
	}
	if len(s) > voc.MaxSiteIDLen {
		return fieldErr(field, "longer than %d bytes", voc.MaxSiteIDLen)
	}
	return ledger.CheckText(field, s)
}

func parseSite(r *raw, voc *ledger.Vocabulary) (*Site, error) {
	if err := checkSiteID(voc, "site", r.Site); err != nil {
		return nil, err
	}
	if !voc.KnownKind(r.Kind) {
		if r.Kind == "" {
			return nil, fieldErr("kind", "required")
		}
		return nil, fieldErr("kind", "unknown site kind %q (known: %s)", clip(r.Kind), strings.Join(voc.SiteKinds, ", "))
	}
	if len(r.Name) > MaxNameLen {
		return nil, fieldErr("name", "longer than %d bytes", MaxNameLen)
	}
	if err := ledger.CheckText("name", r.Name); err != nil {
		return nil, err
	}
	if r.Lat == nil {
		return nil, fieldErr("lat", "required")
	}
	if r.Lon == nil {
		return nil, fieldErr("lon", "required")
	}
	if *r.Lat < -90 || *r.Lat > 90 {
		return nil, fieldErr("lat", "must be within [-90, 90]")
	}
	if *r.Lon < -180 || *r.Lon > 180 {
		return nil, fieldErr("lon", "must be within [-180, 180]")
	}
	if err := checkTag("region", r.Region); err != nil {
		return nil, err
	}
	if r.Parent != "" {
		if err := checkSiteID(voc, "parent", r.Parent); err != nil {
			return nil, err
		}
	}
	if (r.Origin == nil) != (r.Dest == nil) {
		if r.Origin == nil {
			return nil, fieldErr("origin", "required with destination")
		}
		return nil, fieldErr("destination", "required with origin")
	}
	for _, f := range []struct {
		name string
		p    *[2]float64
	}{{"origin", r.Origin}, {"destination", r.Dest}} {
		if f.p != nil && (f.p[0] < -90 || f.p[0] > 90 || f.p[1] < -180 || f.p[1] > 180) {
			return nil, fieldErr(f.name, "must be [lat, lon] within [-90, 90] and [-180, 180]")
		}
	}
	if r.Key != "" {
		if b, err := hex.DecodeString(r.Key); err != nil || len(b) != 32 {
			return nil, fieldErr("key", "want the site's Ed25519 public key: 64 hex digits (epiledger keygen prints it)")
		}
	}
	return &Site{Site: r.Site, Kind: r.Kind, Name: r.Name, Lat: *r.Lat, Lon: *r.Lon, Region: r.Region, Parent: r.Parent, Origin: r.Origin, Destination: r.Dest,
		Key: strings.ToLower(r.Key)}, nil
}

// CheckRef validates a person reference "scheme:value" such as
// "id:420100..." or "phone:138...": at most MaxRefLen bytes of text
// (ledger.CheckText: no invalid UTF-8, control character or U+FFFD, so
// that two different byte strings never name one person). The message
// never includes the value.
func CheckRef(field, ref string) error {
	if ref == "" {
		return fieldErr(field, "required")
	}
	if len(ref) > MaxRefLen {
		return fieldErr(field, "longer than %d bytes", MaxRefLen)
	}
	if err := ledger.CheckText(field, ref); err != nil {
		return err
	}
	i := strings.IndexByte(ref, ':')
	if i <= 0 || i == len(ref)-1 {
		return fieldErr(field, "must be scheme:value, such as id:<canonical id> or phone:<number>")
	}
	for _, c := range ref[:i] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fieldErr(field, "scheme must be lower-case letters, digits or _")
		}
	}
	return nil
}

func parseIdentity(r *raw) (*Identity, error) {
	if r.ID == "" {
		return nil, fieldErr("id", "required")
	}
	if strings.Contains(r.ID, ":") {
		return nil, fieldErr("id", "is the bare canonical id, without a scheme prefix")
	}
	if len(r.ID) > MaxRefLen-3 {
		return nil, fieldErr("id", "longer than %d bytes", MaxRefLen-3)
	}
	if err := ledger.CheckText("id", r.ID); err != nil {
		return nil, err
	}
	if len(r.Aliases) > MaxAliases {
		return nil, fieldErr("aliases", "more than %d aliases", MaxAliases)
	}
	for i, a := range r.Aliases {
		if err := CheckRef(fmt.Sprintf("aliases[%d]", i), a); err != nil {
			return nil, err
		}
		if strings.HasPrefix(a, "id:") {
			return nil, fieldErr(fmt.Sprintf("aliases[%d]", i), "an alias cannot use the id: scheme")
		}
	}
	return &Identity{ID: r.ID, Aliases: r.Aliases}, nil
}

// ParseTime parses an RFC 3339 time for the named field. The instant must
// be within ledger.MinTime and ledger.MaxTime (ledger.CheckTime, the state
// machine's own check), whatever its offset.
func ParseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fieldErr(field, "required")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fieldErr(field, "not an RFC 3339 time (e.g. 2020-01-20T08:00:00+08:00)")
	}
	if err := ledger.CheckTime(field, t.Unix()); err != nil {
		return time.Time{}, err
	}
	if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
		return time.Time{}, fieldErr(field, "time zone offset out of range")
	}
	return t, nil
}

func checkTag(field, s string) error {
	if len(s) > MaxTagLen {
		return fieldErr(field, "longer than %d bytes", MaxTagLen)
	}
	return ledger.CheckText(field, s)
}

func parseVisit(r *raw, voc *ledger.Vocabulary) (*Visit, error) {
	if err := checkSiteID(voc, "site", r.Site); err != nil {
		return nil, err
	}
	if err := CheckRef("person", r.Person); err != nil {
		return nil, err
	}
	in, err := ParseTime("in", r.In)
	if err != nil {
		return nil, err
	}
	out, err := ParseTime("out", r.Out)
	if err != nil {
		return nil, err
	}
	if out.Before(in) {
		return nil, fieldErr("out", "is before in")
	}
	if err := checkTag("via", r.Via); err != nil {
		return nil, err
	}
	if err := checkTag("role", r.Role); err != nil {
		return nil, err
	}
	return &Visit{Site: r.Site, Person: r.Person, In: in, Out: out, Via: r.Via, Role: r.Role}, nil
}

func parseMove(r *raw, voc *ledger.Vocabulary) (*Move, error) {
	if err := CheckRef("person", r.Person); err != nil {
		return nil, err
	}
	if err := checkSiteID(voc, "from", r.From); err != nil {
		return nil, err
	}
	if err := checkSiteID(voc, "to", r.To); err != nil {
		return nil, err
	}
	if r.From == r.To {
		return nil, fieldErr("to", "is the same site as from")
	}
	dep, err := ParseTime("depart", r.Depart)
	if err != nil {
		return nil, err
	}
	arr, err := ParseTime("arrive", r.Arrive)
	if err != nil {
		return nil, err
	}
	if arr.Before(dep) {
		return nil, fieldErr("arrive", "is before depart")
	}
	if err := checkTag("via", r.Via); err != nil {
		return nil, err
	}
	return &Move{Person: r.Person, From: r.From, To: r.To, Depart: dep, Arrive: arr, Via: r.Via}, nil
}

func parseCase(r *raw, voc *ledger.Vocabulary) (*Case, error) {
	if err := CheckRef("person", r.Person); err != nil {
		return nil, err
	}
	if !voc.KnownStatus(r.Status) {
		return nil, fieldErr("status", "must be one of %s", strings.Join(voc.CaseStatuses, ", "))
	}
	if r.Onset != "" {
		if err := ledger.CheckDate("onset", r.Onset); err != nil {
			return nil, err
		}
	}
	rep, err := ParseTime("reported", r.Reported)
	if err != nil {
		return nil, err
	}
	if err := checkSiteID(voc, "by", r.By); err != nil {
		return nil, err
	}
	return &Case{Person: r.Person, Status: r.Status, Onset: r.Onset, Reported: rep, By: r.By}, nil
}

// Writer writes records as NDJSON lines, each with its "type" field first.
type Writer struct {
	w   io.Writer
	buf bytes.Buffer
	err error
}

// NewWriter returns a Writer on w. The caller buffers w if it wants to.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes one record (*Site, *Identity, *Visit, *Move, *Case or
// *SignedTx, or the same as values). Times are written in RFC 3339 with
// their own offset.
func (w *Writer) Write(v any) error {
	if w.err != nil {
		return w.err
	}
	var typ string
	switch v.(type) {
	case *Site, Site:
		typ = "site"
	case *Identity, Identity:
		typ = "identity"
	case *Visit, Visit:
		typ = "visit"
	case *Move, Move:
		typ = "move"
	case *Case, Case:
		typ = "case"
	case *SignedTx, SignedTx:
		typ = "tx"
	default:
		return fmt.Errorf("record: cannot write %T", v)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.buf.Reset()
	w.buf.WriteString(`{"type":"`)
	w.buf.WriteString(typ)
	w.buf.WriteString(`"`)
	if len(body) > 2 {
		w.buf.WriteByte(',')
		w.buf.Write(body[1:])
	} else {
		w.buf.WriteByte('}')
	}
	w.buf.WriteByte('\n')
	_, w.err = w.w.Write(w.buf.Bytes())
	return w.err
}
