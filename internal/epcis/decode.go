package epcis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Bounds on what Decode reads. A document is read into memory whole (its
// keys may come in any order, @context last), so its size is capped before
// it is read; the caps are far above what a supplier's daily export holds
// (GS1's examples are a few kilobytes) and low enough that an import
// cannot exhaust a node's memory.
const (
	// MaxDocumentSize is the largest document, in bytes, Decode reads.
	MaxDocumentSize = 32 << 20
	// MaxEvents is the most events one document may hold.
	MaxEvents = 100_000
	// MaxValueLen is the longest string value (a URI, a word, a time), in
	// bytes, the decoder accepts.
	MaxValueLen = 4096
)

// Errors from Decode, besides the identifier errors of ParseID. Each comes
// wrapped in a *DecodeError that says where.
var (
	// ErrTooLarge is a document over MaxDocumentSize bytes.
	ErrTooLarge = errors.New("epcis: document too large")
	// ErrTooManyEvents is a document of more than MaxEvents events.
	ErrTooManyEvents = errors.New("epcis: too many events")
	// ErrSyntax is input that is not JSON.
	ErrSyntax = errors.New("epcis: malformed JSON")
	// ErrDocumentType is JSON that is not an EPCIS 2.0 EPCISDocument or
	// EPCISQueryDocument.
	ErrDocumentType = errors.New("epcis: not an EPCIS 2.0 document")
	// ErrMissing is a required field that is absent (or null).
	ErrMissing = errors.New("epcis: missing")
	// ErrUnknownEventType is an event whose type is none of the five
	// EPCIS 2.0 event types.
	ErrUnknownEventType = errors.New("epcis: event type not understood")
)

// DecodeError says where in a document the decoder found bad input: the
// event's index in the event list (-1 when the fault is in the document
// around the events) and the field's path, such as "epcList[2]" or
// "readPoint.id". Err is the reason; errors.Is sees through to it.
type DecodeError struct {
	Event int
	Field string
	Err   error
}

func (e *DecodeError) Error() string {
	// The reason's own "epcis: " would repeat this message's.
	msg := strings.TrimPrefix(e.Err.Error(), "epcis: ")
	if e.Event < 0 {
		return fmt.Sprintf("epcis: %s: %s", e.Field, msg)
	}
	return fmt.Sprintf("epcis: event %d: %s: %s", e.Event, e.Field, msg)
}

// Unwrap returns the reason.
func (e *DecodeError) Unwrap() error { return e.Err }

// Document is a decoded EPCIS 2.0 document.
type Document struct {
	// Type is "EPCISDocument" or "EPCISQueryDocument".
	Type string
	// SchemaVersion is as written ("2.0"); "" when absent.
	SchemaVersion string
	// CreationDate is zero when absent.
	CreationDate time.Time
	// Events are in document order.
	Events []Event
}

// Decode reads one EPCIS 2.0 JSON or JSON-LD document from r and returns
// its events in document order. It reads at most MaxDocumentSize+1 bytes
// of r. On any error it returns no events: a document imports whole or not
// at all. The error is a *DecodeError naming the event and the field,
// except for ErrTooLarge and read errors.
func Decode(r io.Reader) ([]Event, error) {
	d, err := DecodeDocument(r)
	if err != nil {
		return nil, err
	}
	return d.Events, nil
}

// DecodeDocument is Decode that also returns the document's own fields.
func DecodeDocument(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("epcis: reading document: %w", err)
	}
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, MaxDocumentSize)
	}
	return parseDocument(data)
}

func parseDocument(data []byte) (*Document, error) {
	top, err := parseTop(data)
	if err != nil {
		return nil, err
	}
	if raw, ok := top.get("@context"); ok {
		// JSON-LD context: a URL, an inline context or a list of them. The
		// decoder reads the EPCIS 2.0 JSON binding's fixed key names, so
		// it checks the shape and otherwise ignores it.
		if c := raw[0]; c != '"' && c != '{' && c != '[' {
			return nil, top.err("@context", fmt.Errorf("%w: want a string, an object or an array", ErrInvalid))
		}
	}
	var d Document
	if d.Type, err = top.str("type", false); err != nil {
		return nil, err
	}
	switch d.Type {
	case "EPCISDocument", "EPCISQueryDocument":
	case "":
		return nil, top.err("type", fmt.Errorf("%w: no type, want EPCISDocument or EPCISQueryDocument", ErrDocumentType))
	default:
		return nil, top.err("type", fmt.Errorf("%w: type %q, want EPCISDocument or EPCISQueryDocument", ErrDocumentType, d.Type))
	}
	if d.SchemaVersion, err = top.str("schemaVersion", false); err != nil {
		return nil, err
	}
	if d.SchemaVersion != "" && d.SchemaVersion != "2" && !strings.HasPrefix(d.SchemaVersion, "2.") {
		return nil, top.err("schemaVersion", fmt.Errorf("%w: schemaVersion %q, want 2.x", ErrDocumentType, d.SchemaVersion))
	}
	if d.CreationDate, err = top.time("creationDate", false); err != nil {
		return nil, err
	}
	body, err := top.object("epcisBody", true)
	if err != nil {
		return nil, err
	}
	if d.Type == "EPCISQueryDocument" {
		qr, err := body.object("queryResults", true)
		if err != nil {
			return nil, err
		}
		if body, err = qr.object("resultsBody", true); err != nil {
			return nil, err
		}
	}
	list, err := body.list("eventList", true)
	if err != nil {
		return nil, err
	}
	if len(list) > MaxEvents {
		return nil, body.err("eventList", fmt.Errorf("%w: %d events, at most %d", ErrTooManyEvents, len(list), MaxEvents))
	}
	d.Events = make([]Event, len(list))
	for i, raw := range list {
		ev, err := decodeEvent(raw)
		if err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				de.Event = i
				return nil, de
			}
			return nil, &DecodeError{Event: i, Field: "event", Err: err}
		}
		d.Events[i] = ev
	}
	return &d, nil
}

func decodeEvent(raw json.RawMessage) (Event, error) {
	o, err := parseObject(raw, "")
	if err != nil {
		return nil, &DecodeError{Event: -1, Field: "event", Err: err}
	}
	typ, err := o.str("type", true)
	if err != nil {
		return nil, err
	}
	unknown := o.err("type", fmt.Errorf("%w: %q", ErrUnknownEventType, typ))
	switch typ {
	case "ObjectEvent", "AggregationEvent", "TransformationEvent", "AssociationEvent", "TransactionEvent":
	default:
		// Said before any other fault: the other fields mean nothing
		// without a type.
		return nil, unknown
	}
	var c Common
	if err := o.common(&c); err != nil {
		return nil, err
	}
	r := &reader{o: o}
	var e Event
	switch typ {
	case "ObjectEvent":
		e = &ObjectEvent{Common: c, Action: r.action(), EPCList: r.ids("epcList"), QuantityList: r.quantities("quantityList"), ILMD: r.ilmd()}
	case "AggregationEvent":
		a := r.action()
		// EPCIS 2.0 section 7.4.3: the parent may only be left out of an
		// OBSERVE.
		e = &AggregationEvent{Common: c, Action: a, ParentID: r.id("parentID", a != ActionObserve), ChildEPCs: r.ids("childEPCs"), ChildQuantityList: r.quantities("childQuantityList")}
	case "TransformationEvent":
		e = &TransformationEvent{
			Common:             c,
			TransformationID:   r.str("transformationID", false),
			InputEPCList:       r.ids("inputEPCList"),
			InputQuantityList:  r.quantities("inputQuantityList"),
			OutputEPCList:      r.ids("outputEPCList"),
			OutputQuantityList: r.quantities("outputQuantityList"),
			ILMD:               r.ilmd(),
		}
	case "AssociationEvent":
		e = &AssociationEvent{Common: c, Action: r.action(), ParentID: r.id("parentID", true), ChildEPCs: r.ids("childEPCs"), ChildQuantityList: r.quantities("childQuantityList")}
	case "TransactionEvent":
		if len(c.BizTransactions) == 0 {
			return nil, o.err("bizTransactionList", ErrMissing)
		}
		e = &TransactionEvent{Common: c, Action: r.action(), ParentID: r.id("parentID", false), EPCList: r.ids("epcList"), QuantityList: r.quantities("quantityList")}
	default:
		return nil, unknown
	}
	if r.err != nil {
		return nil, r.err
	}
	return e, nil
}

// reader decodes the fields of an event and keeps the first error: once it
// has one, every method returns a zero value. Go evaluates the calls in a
// composite literal left to right, so the error is the first bad field in
// the order the literal names them.
type reader struct {
	o   object
	err error
}

func (r *reader) str(key string, required bool) (v string) {
	if r.err == nil {
		v, r.err = r.o.str(key, required)
	}
	return v
}

func (r *reader) action() (v Action) {
	if r.err == nil {
		v, r.err = r.o.action()
	}
	return v
}

func (r *reader) id(key string, required bool) (v ID) {
	if r.err == nil {
		v, r.err = r.o.id(key, required)
	}
	return v
}

func (r *reader) ids(key string) (v []ID) {
	if r.err == nil {
		v, r.err = r.o.ids(key)
	}
	return v
}

func (r *reader) quantities(key string) (v []Quantity) {
	if r.err == nil {
		v, r.err = r.o.quantities(key)
	}
	return v
}

func (r *reader) ilmd() (v *ILMD) {
	if r.err == nil {
		v, r.err = r.o.ilmd()
	}
	return v
}

// common decodes the fields all event types share.
func (o object) common(c *Common) error {
	var err error
	if c.EventID, err = o.str("eventID", false); err != nil {
		return err
	}
	if c.EventTime, err = o.time("eventTime", true); err != nil {
		return err
	}
	if c.EventTimeZoneOffset, err = o.str("eventTimeZoneOffset", true); err != nil {
		return err
	}
	if !validOffset(c.EventTimeZoneOffset) {
		return o.err("eventTimeZoneOffset", fmt.Errorf("%w: want +hh:mm or -hh:mm between -14:00 and +14:00", ErrInvalid))
	}
	if c.RecordTime, err = o.time("recordTime", false); err != nil {
		return err
	}
	if c.BizStep, err = o.vocab("bizStep", bizStepVocab, false); err != nil {
		return err
	}
	if c.Disposition, err = o.vocab("disposition", dispositionVocab, false); err != nil {
		return err
	}
	if c.ReadPoint, err = o.place("readPoint"); err != nil {
		return err
	}
	if c.BizLocation, err = o.place("bizLocation"); err != nil {
		return err
	}
	if c.BizTransactions, err = o.bizTransactions(); err != nil {
		return err
	}
	if c.Sources, err = o.parties("sourceList", "source"); err != nil {
		return err
	}
	if c.Destinations, err = o.parties("destinationList", "destination"); err != nil {
		return err
	}
	if c.CertificationInfo, err = o.strs("certificationInfo"); err != nil {
		return err
	}
	c.ErrorDeclaration, err = o.errorDeclaration()
	return err
}

func (o object) action() (Action, error) {
	s, err := o.str("action", true)
	if err != nil {
		return "", err
	}
	switch a := Action(s); a {
	case ActionAdd, ActionObserve, ActionDelete:
		return a, nil
	}
	return "", o.err("action", fmt.Errorf("%w: want ADD, OBSERVE or DELETE", ErrInvalid))
}

// place decodes readPoint or bizLocation: an object whose id is a
// location, usually an SGLN.
func (o object) place(key string) (ID, error) {
	p, err := o.object(key, false)
	if err != nil || p.m == nil {
		return ID{}, err
	}
	return p.id("id", true)
}

func (o object) bizTransactions() ([]BizTransaction, error) {
	list, err := o.objects("bizTransactionList")
	if err != nil || len(list) == 0 {
		return nil, err
	}
	out := make([]BizTransaction, len(list))
	for i, b := range list {
		if out[i].Type, err = b.vocab("type", bizTxTypeVocab, false); err != nil {
			return nil, err
		}
		if out[i].ID, err = b.str("bizTransaction", true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parties decodes sourceList (idKey "source") or destinationList
// ("destination").
func (o object) parties(key, idKey string) ([]Party, error) {
	list, err := o.objects(key)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	out := make([]Party, len(list))
	for i, p := range list {
		if out[i].Type, err = p.vocab("type", srcDestTypeVocab, true); err != nil {
			return nil, err
		}
		if out[i].ID, err = p.id(idKey, true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (o object) quantities(key string) ([]Quantity, error) {
	list, err := o.objects(key)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	out := make([]Quantity, len(list))
	for i, q := range list {
		if out[i].EPCClass, err = q.id("epcClass", true); err != nil {
			return nil, err
		}
		if raw, ok := q.get("quantity"); ok {
			var f float64
			if err := json.Unmarshal(raw, &f); err != nil || f < 0 {
				return nil, q.err("quantity", fmt.Errorf("%w: want a number not below 0", ErrInvalid))
			}
			out[i].Quantity, out[i].Known = f, true
		}
		if out[i].UOM, err = q.str("uom", false); err != nil {
			return nil, err
		}
		if out[i].UOM != "" && !validUOM(out[i].UOM) {
			return nil, q.err("uom", fmt.Errorf("%w: want a UN/ECE Rec 20 code of 2 or 3 capitals and digits", ErrInvalid))
		}
	}
	return out, nil
}

func (o object) errorDeclaration() (*ErrorDeclaration, error) {
	d, err := o.object("errorDeclaration", false)
	if err != nil || d.m == nil {
		return nil, err
	}
	var e ErrorDeclaration
	if e.DeclarationTime, err = d.time("declarationTime", true); err != nil {
		return nil, err
	}
	if e.Reason, err = d.vocab("reason", errReasonVocab, false); err != nil {
		return nil, err
	}
	if e.CorrectiveEventIDs, err = d.strs("correctiveEventIDs"); err != nil {
		return nil, err
	}
	return &e, nil
}

// ILMD keys of the CBV master data attributes the ledger reads, in each
// spelling a document may use: compact with the cbvmda prefix the EPCIS
// context defines, bare, or expanded.
var (
	lotNumberKeys  = []string{"cbvmda:lotNumber", "lotNumber", "urn:epcglobal:cbv:mda#lotNumber"}
	expirationKeys = []string{"cbvmda:itemExpirationDate", "itemExpirationDate", "urn:epcglobal:cbv:mda#itemExpirationDate"}
)

func (o object) ilmd() (*ILMD, error) {
	m, err := o.object("ilmd", false)
	if err != nil || m.m == nil {
		return nil, err
	}
	var out ILMD
	pick := func(keys []string) (string, error) {
		var v, from string
		for _, k := range keys {
			if _, ok := m.m[k]; !ok {
				continue
			}
			if from != "" {
				return "", m.err(k, fmt.Errorf("%w: given also as %s", ErrInvalid, from))
			}
			s, err := m.str(k, false)
			if err != nil {
				return "", err
			}
			v, from = s, k
		}
		return v, nil
	}
	if out.LotNumber, err = pick(lotNumberKeys); err != nil {
		return nil, err
	}
	if out.ItemExpirationDate, err = pick(expirationKeys); err != nil {
		return nil, err
	}
	if out.ItemExpirationDate != "" && !validDate(out.ItemExpirationDate) {
		return nil, m.err("itemExpirationDate", fmt.Errorf("%w: want a date YYYY-MM-DD", ErrInvalid))
	}
	for k, raw := range m.m {
		if contains(lotNumberKeys, k) || contains(expirationKeys, k) {
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, m.err(k, fmt.Errorf("%w: %v", ErrSyntax, err))
		}
		if out.Other == nil {
			out.Other = make(map[string]json.RawMessage)
		}
		out.Other[k] = b.Bytes()
	}
	return &out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validOffset reports whether s is an EPCIS time zone offset: +hh:mm or
// -hh:mm from -14:00 to +14:00.
func validOffset(s string) bool {
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !allDigits(s[1:3]) || !allDigits(s[4:]) {
		return false
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[4:])
	return m < 60 && (h < 14 || h == 14 && m == 0)
}

// validDate reports whether s is an xsd:date: YYYY-MM-DD, then perhaps "Z"
// or an offset.
func validDate(s string) bool {
	if len(s) < 10 {
		return false
	}
	if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
		return false
	}
	rest := s[10:]
	return rest == "" || rest == "Z" || validOffset(rest)
}

func validUOM(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= 'A' && s[i] <= 'Z') && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// object is a JSON object of a document with its keys exactly as written
// (encoding/json's struct decoding would match "EventTime" to
// "eventTime") and its place in the event, for error messages.
type object struct {
	m    map[string]json.RawMessage
	path string
}

// parseTop parses the document's outer object, turning JSON syntax errors
// into ErrSyntax with the byte offset.
func parseTop(data []byte) (object, error) {
	o, err := parseObject(data, "")
	if err == nil {
		return o, nil
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		err = fmt.Errorf("%w at byte %d: %v", ErrSyntax, se.Offset, se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("%w: unexpected end of input", ErrSyntax)
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrSyntax):
	default:
		err = fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	var de *DecodeError
	if errors.As(err, &de) {
		return object{}, de
	}
	return object{}, &DecodeError{Event: -1, Field: "document", Err: err}
}

// parseObject reads a JSON object, refusing duplicate keys: with two
// "eventTime"s, which one holds would be up to the parser.
func parseObject(data []byte, path string) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return object{}, err
	}
	if tok != json.Delim('{') {
		return object{}, fmt.Errorf("%w: want a JSON object", ErrInvalid)
	}
	o := object{m: make(map[string]json.RawMessage), path: path}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return object{}, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return object{}, err
		}
		if _, dup := o.m[key]; dup {
			return object{}, o.err(key, fmt.Errorf("%w: key appears twice", ErrInvalid))
		}
		o.m[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return object{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return object{}, fmt.Errorf("%w: data after the JSON object", ErrSyntax)
	}
	return o, nil
}

func (o object) name(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

func (o object) err(key string, err error) error {
	return &DecodeError{Event: -1, Field: o.name(key), Err: err}
}

// get returns the value of key; a null counts as absent.
func (o object) get(key string) (json.RawMessage, bool) {
	raw, ok := o.m[key]
	if !ok || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// value returns the value at key; ok is false when it is absent or null,
// with ErrMissing if it is required.
func (o object) value(key string, required bool) (raw json.RawMessage, ok bool, err error) {
	if raw, ok = o.get(key); !ok && required {
		err = o.err(key, ErrMissing)
	}
	return raw, ok, err
}

func (o object) str(key string, required bool) (string, error) {
	raw, ok, err := o.value(key, required)
	if !ok {
		return "", err
	}
	return o.strValue(key, raw)
}

func (o object) strValue(field string, raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", o.err(field, fmt.Errorf("%w: want a string", ErrInvalid))
	}
	if s == "" {
		return "", o.err(field, fmt.Errorf("%w: empty", ErrInvalid))
	}
	if len(s) > MaxValueLen {
		return "", o.err(field, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxValueLen))
	}
	return s, nil
}

// time decodes an RFC 3339 time, which must carry an offset ("Z" or
// "+hh:mm"). The offset is kept as a fixed zone whatever the machine's
// local zone, so that decoding is the same on every node.
func (o object) time(key string, required bool) (time.Time, error) {
	s, err := o.str(key, required)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, o.err(key, fmt.Errorf("%w: want an RFC 3339 time with an offset", ErrInvalid))
	}
	if _, off := t.Zone(); off != 0 {
		return t.In(time.FixedZone("", off)), nil
	}
	return t.UTC(), nil
}

func (o object) vocab(key string, v vocab, required bool) (string, error) {
	s, err := o.str(key, required)
	if err != nil || s == "" {
		return "", err
	}
	w, err := v.normalise(s)
	if err != nil {
		return "", o.err(key, err)
	}
	return w, nil
}

// idValue parses an identifier for a document: a type ParseID does not
// understand is kept as KindOther, since EPCIS allows any URI and a
// document of GIAIs or PGLNs must still decode; a malformed identifier of
// a type it does understand (a bad check digit) is an error.
func (o object) idValue(field string, raw json.RawMessage) (ID, error) {
	s, err := o.strValue(field, raw)
	if err != nil {
		return ID{}, err
	}
	id, err := ParseID(s)
	if errors.Is(err, ErrUnknownIDType) {
		return ID{URI: s, Kind: KindOther}, nil
	}
	if err != nil {
		return ID{}, o.err(field, err)
	}
	return id, nil
}

func (o object) id(key string, required bool) (ID, error) {
	raw, ok, err := o.value(key, required)
	if !ok {
		return ID{}, err
	}
	return o.idValue(key, raw)
}

// list returns the elements of an array. JSON-LD compaction writes a
// one-element list as the element alone, so a single value is a list of
// one.
func (o object) list(key string, required bool) ([]json.RawMessage, error) {
	raw, ok, err := o.value(key, required)
	if !ok {
		return nil, err
	}
	if raw[0] != '[' {
		return []json.RawMessage{raw}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, o.err(key, fmt.Errorf("%w: %v", ErrInvalid, err))
	}
	return list, nil
}

// object returns the nested object at key; its m is nil when it is absent
// and not required.
func (o object) object(key string, required bool) (object, error) {
	raw, ok, err := o.value(key, required)
	if !ok {
		return object{}, err
	}
	return o.objectValue(key, raw)
}

func (o object) objectValue(field string, raw json.RawMessage) (object, error) {
	c, err := parseObject(raw, o.name(field))
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			return object{}, de
		}
		return object{}, o.err(field, err)
	}
	return c, nil
}

// each decodes every element of the list at key with f, which is given
// the element's field name ("epcList[2]").
func each[T any](o object, key string, f func(field string, raw json.RawMessage) (T, error)) ([]T, error) {
	list, err := o.list(key, false)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	out := make([]T, len(list))
	for i, raw := range list {
		if out[i], err = f(fmt.Sprintf("%s[%d]", key, i), raw); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (o object) ids(key string) ([]ID, error)         { return each(o, key, o.idValue) }
func (o object) strs(key string) ([]string, error)    { return each(o, key, o.strValue) }
func (o object) objects(key string) ([]object, error) { return each(o, key, o.objectValue) }
