package epcis_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/epcis"
)

// doc wraps events (JSON object texts) in an EPCISDocument.
func doc(events ...string) string {
	return `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-03-01T00:00:00Z","epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`
}

// ev is a valid ObjectEvent with extra fields spliced in (or, with a
// leading "-", a field's key renamed away so that it is absent).
func ev(extra string) string {
	base := `"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-03-01T09:00:00+08:00","eventTimeZoneOffset":"+08:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"]`
	if k, ok := strings.CutPrefix(extra, "-"); ok {
		return "{" + strings.Replace(base, `"`+k+`"`, `"x-`+k+`"`, 1) + "}"
	}
	if extra != "" {
		base += "," + extra
	}
	return "{" + base + "}"
}

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		in   string
		// check looks at the one decoded event.
		check func(t *testing.T, e epcis.Event)
	}{
		{"context as a string", strings.Replace(doc(ev("")), `["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]`, `"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"`, 1), nil},
		{"context as an object", strings.Replace(doc(ev("")), `["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]`, `{"example":"http://ns.example.com/epcis/"}`, 1), nil},
		{"no context", strings.Replace(doc(ev("")), `"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],`, ``, 1), nil},
		{"extension fields", doc(ev(`"example:myField":{"a":[1,2]},"example:n":3`)), nil},
		{"bizStep as a bare word", doc(ev(`"bizStep":"shipping"`)), func(t *testing.T, e epcis.Event) { wantEq(t, e.Base().BizStep, "shipping") }},
		{"bizStep as a URN", doc(ev(`"bizStep":"urn:epcglobal:cbv:bizstep:shipping"`)), func(t *testing.T, e epcis.Event) { wantEq(t, e.Base().BizStep, "shipping") }},
		{"bizStep as a GS1 web URI", doc(ev(`"bizStep":"https://ref.gs1.org/cbv/BizStep-shipping"`)), func(t *testing.T, e epcis.Event) { wantEq(t, e.Base().BizStep, "shipping") }},
		{"bizStep of a user vocabulary", doc(ev(`"bizStep":"https://example.com/steps/sterilising"`)), func(t *testing.T, e epcis.Event) {
			wantEq(t, e.Base().BizStep, "https://example.com/steps/sterilising")
		}},
		{"disposition as a URN", doc(ev(`"disposition":"urn:epcglobal:cbv:disp:in_transit"`)), func(t *testing.T, e epcis.Event) { wantEq(t, e.Base().Disposition, "in_transit") }},
		{"disposition as a GS1 web URI", doc(ev(`"disposition":"https://ref.gs1.org/cbv/Disp-recalled"`)), func(t *testing.T, e epcis.Event) { wantEq(t, e.Base().Disposition, "recalled") }},
		{"ilmd with bare keys", doc(ev(`"ilmd":{"lotNumber":"L1","itemExpirationDate":"2029-02-28","other":true}`)), func(t *testing.T, e epcis.Event) {
			m := e.(*epcis.ObjectEvent).ILMD
			wantEq(t, m.LotNumber, "L1")
			wantEq(t, m.ItemExpirationDate, "2029-02-28")
			wantEq(t, string(m.Other["other"]), "true")
		}},
		{"ilmd with cbvmda keys", doc(ev(`"ilmd":{"cbvmda:lotNumber":"L2","cbvmda:itemExpirationDate":"2029-02-28Z"}`)), func(t *testing.T, e epcis.Event) {
			m := e.(*epcis.ObjectEvent).ILMD
			wantEq(t, m.LotNumber, "L2")
			wantEq(t, m.ItemExpirationDate, "2029-02-28Z")
		}},
		{"single value for a list", doc(ev("-epcList")[:len(ev("-epcList"))-1] + `,"epcList":"https://id.gs1.org/01/09520123456788/21/1"}`), func(t *testing.T, e epcis.Event) {
			l := e.(*epcis.ObjectEvent).EPCList
			if len(l) != 1 || l[0].Serial != "1" {
				t.Errorf("EPCList = %+v", l)
			}
		}},
		{"null optional field", doc(ev(`"bizStep":null`)), nil},
		{"identifier of another type kept", doc(ev(`"readPoint":{"id":"urn:epc:id:giai:4000001.12345"}`)), func(t *testing.T, e epcis.Event) {
			if rp := e.Base().ReadPoint; rp.Kind != epcis.KindOther || rp.URI != "urn:epc:id:giai:4000001.12345" {
				t.Errorf("ReadPoint = %+v", rp)
			}
		}},
		{"aggregation OBSERVE without parent", doc(`{"type":"AggregationEvent","action":"OBSERVE","eventTime":"2026-03-01T09:00:00Z","eventTimeZoneOffset":"+00:00","childEPCs":["urn:epc:id:sgtin:0614141.107346.2017"]}`), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs, err := epcis.Decode(strings.NewReader(c.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1", len(evs))
			}
			if c.check != nil {
				c.check(t, evs[0])
			}
		})
	}
}

func wantEq(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		in   string
		is   error
		msg  string // the whole message, or a part of it
	}{
		{"empty input", ``, epcis.ErrSyntax, "epcis: document: malformed JSON: unexpected end of input"},
		{"malformed JSON", `{"type":"EPCISDocument",}`, epcis.ErrSyntax, "malformed JSON at byte"},
		{"truncated JSON", doc(ev(""))[:100], epcis.ErrSyntax, "malformed JSON"},
		{"trailing data", doc(ev("")) + `{}`, epcis.ErrSyntax, "data after the JSON object"},
		{"not an object", `[1,2]`, epcis.ErrInvalid, "want a JSON object"},
		{"wrong type", strings.Replace(doc(ev("")), `"EPCISDocument"`, `"EPCISMasterDataDocument"`, 1), epcis.ErrDocumentType, `epcis: type: not an EPCIS 2.0 document: type "EPCISMasterDataDocument"`},
		{"no type", strings.Replace(doc(ev("")), `"type":"EPCISDocument",`, ``, 1), epcis.ErrDocumentType, "no type"},
		{"EPCIS 1.2 schema version", strings.Replace(doc(ev("")), `"2.0"`, `"1.2"`, 1), epcis.ErrDocumentType, "schemaVersion"},
		{"context a number", strings.Replace(doc(ev("")), `["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]`, `7`, 1), epcis.ErrInvalid, "@context"},
		{"duplicate key", strings.Replace(doc(ev("")), `"schemaVersion":"2.0"`, `"schemaVersion":"2.0","schemaVersion":"2.0"`, 1), epcis.ErrInvalid, "schemaVersion: invalid value: key appears twice"},
		{"no body", `{"type":"EPCISDocument"}`, epcis.ErrMissing, "epcis: epcisBody: missing"},
		{"query document without results", `{"type":"EPCISQueryDocument","epcisBody":{"eventList":[]}}`, epcis.ErrMissing, "epcisBody.queryResults: missing"},
		{"missing eventTime", doc(ev(""), ev(""), ev(""), ev("-eventTime")), epcis.ErrMissing, "epcis: event 3: eventTime: missing"},
		{"eventTime without offset", doc(ev("-eventTime")[:len(ev("-eventTime"))-1] + `,"eventTime":"2026-03-01T09:00:00"}`), epcis.ErrInvalid, "event 0: eventTime: invalid value: want an RFC 3339 time with an offset"},
		{"bad eventTimeZoneOffset", strings.Replace(doc(ev("")), `"eventTimeZoneOffset":"+08:00"`, `"eventTimeZoneOffset":"+15:00"`, 1), epcis.ErrInvalid, "eventTimeZoneOffset"},
		{"missing eventTimeZoneOffset", doc(ev("-eventTimeZoneOffset")), epcis.ErrMissing, "event 0: eventTimeZoneOffset: missing"},
		{"bad action", strings.Replace(doc(ev("")), `"OBSERVE"`, `"UPDATE"`, 1), epcis.ErrInvalid, "event 0: action: invalid value: want ADD, OBSERVE or DELETE"},
		{"missing action", doc(ev("-action")), epcis.ErrMissing, "event 0: action: missing"},
		{"unknown event type", strings.Replace(doc(ev("")), `"ObjectEvent"`, `"QuantityEvent"`, 1), epcis.ErrUnknownEventType, `event 0: type: event type not understood: "QuantityEvent"`},
		{"unknown event type before other faults", doc(`{"type":"SensorEvent"}`), epcis.ErrUnknownEventType, `event 0: type: event type not understood: "SensorEvent"`},
		{"bad check digit", doc(ev(""), ev("-epcList")[:len(ev("-epcList"))-1]+`,"epcList":["https://id.gs1.org/01/09520123456788/21/1","https://id.gs1.org/01/09520123456787/21/2"]}`), epcis.ErrCheckDigit, "epcis: event 1: epcList[1]: wrong check digit: GTIN 09520123456787 ends in 7, want 8"},
		{"malformed SGTIN", strings.Replace(doc(ev("")), `0614141.107346.2017`, `0614141.10734.2017`, 1), epcis.ErrInvalid, "event 0: epcList[0]: invalid value: urn:epc:id:sgtin"},
		{"epcList not strings", strings.Replace(doc(ev("")), `["urn:epc:id:sgtin:0614141.107346.2017"]`, `[7]`, 1), epcis.ErrInvalid, "epcList[0]: invalid value: want a string"},
		{"bad bizStep", doc(ev(`"bizStep":"Shipping Out"`)), epcis.ErrInvalid, "event 0: bizStep: invalid value: not a CBV word or a URI"},
		{"bad URN bizStep", doc(ev(`"bizStep":"urn:epcglobal:cbv:bizstep:"`)), epcis.ErrInvalid, "event 0: bizStep"},
		{"readPoint without id", doc(ev(`"readPoint":{}`)), epcis.ErrMissing, "event 0: readPoint.id: missing"},
		{"readPoint a string", doc(ev(`"readPoint":"urn:epc:id:sgln:0614141.07346.0"`)), epcis.ErrInvalid, "event 0: readPoint: invalid value: want a JSON object"},
		{"quantity negative", doc(ev(`"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":-1}]`)), epcis.ErrInvalid, "event 0: quantityList[0].quantity"},
		{"quantity a string", doc(ev(`"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":"10"}]`)), epcis.ErrInvalid, "quantityList[0].quantity"},
		{"bad uom", doc(ev(`"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":1,"uom":"kg"}]`)), epcis.ErrInvalid, "quantityList[0].uom"},
		{"source without type", doc(ev(`"sourceList":[{"source":"urn:epc:id:sgln:0614141.07346.0"}]`)), epcis.ErrMissing, "event 0: sourceList[0].type: missing"},
		{"lot number twice", doc(ev(`"ilmd":{"lotNumber":"A","cbvmda:lotNumber":"B"}`)), epcis.ErrInvalid, "ilmd.lotNumber: invalid value: given also as cbvmda:lotNumber"},
		{"bad expiry date", doc(ev(`"ilmd":{"itemExpirationDate":"28/02/2029"}`)), epcis.ErrInvalid, "ilmd.itemExpirationDate"},
		{"lot number not a string", doc(ev(`"ilmd":{"cbvmda:lotNumber":12}`)), epcis.ErrInvalid, "ilmd.cbvmda:lotNumber: invalid value: want a string"},
		{"error declaration without time", doc(ev(`"errorDeclaration":{"reason":"incorrect_data"}`)), epcis.ErrMissing, "errorDeclaration.declarationTime: missing"},
		{"association without parent", doc(`{"type":"AssociationEvent","action":"ADD","eventTime":"2026-03-01T09:00:00Z","eventTimeZoneOffset":"+00:00","childEPCs":["urn:epc:id:giai:4000001.12345"]}`), epcis.ErrMissing, "event 0: parentID: missing"},
		{"aggregation ADD without parent", doc(`{"type":"AggregationEvent","action":"ADD","eventTime":"2026-03-01T09:00:00Z","eventTimeZoneOffset":"+00:00","childEPCs":["urn:epc:id:sgtin:0614141.107346.2017"]}`), epcis.ErrMissing, "event 0: parentID: missing"},
		{"transaction without business transaction", doc(`{"type":"TransactionEvent","action":"ADD","eventTime":"2026-03-01T09:00:00Z","eventTimeZoneOffset":"+00:00","epcList":[]}`), epcis.ErrMissing, "event 0: bizTransactionList: missing"},
		{"event not an object", doc(`"ObjectEvent"`), epcis.ErrInvalid, "event 0: event: invalid value: want a JSON object"},
		{"oversized value", doc(ev(`"eventID":"urn:uuid:` + strings.Repeat("a", epcis.MaxValueLen) + `"`)), epcis.ErrInvalid, "eventID: invalid value: longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs, err := epcis.Decode(strings.NewReader(c.in))
			if !errors.Is(err, c.is) {
				t.Fatalf("Decode = %d events, %v; want an error wrapping %v", len(evs), err, c.is)
			}
			if evs != nil {
				t.Errorf("Decode returned %d events with its error", len(evs))
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
			var de *epcis.DecodeError
			if !errors.As(err, &de) {
				t.Errorf("error %v is not a *DecodeError", err)
			}
		})
	}
}

func TestDecodeRefusesOversizedDocument(t *testing.T) {
	t.Parallel()
	// A valid start followed by more bytes than the limit: Decode must stop
	// reading at the limit, not read the whole stream.
	head := `{"type":"EPCISDocument","epcisBody":{"eventList":[`
	r := &countingReader{r: io.MultiReader(strings.NewReader(head), endless{})}
	_, err := epcis.Decode(r)
	if !errors.Is(err, epcis.ErrTooLarge) {
		t.Fatalf("Decode = %v, want ErrTooLarge", err)
	}
	if r.n > epcis.MaxDocumentSize+1 {
		t.Errorf("Decode read %d bytes, want at most %d", r.n, epcis.MaxDocumentSize+1)
	}
}

func TestDecodeRefusesTooManyEvents(t *testing.T) {
	t.Parallel()
	events := strings.TrimSuffix(strings.Repeat("{},", epcis.MaxEvents+1), ",")
	_, err := epcis.Decode(strings.NewReader(`{"type":"EPCISDocument","epcisBody":{"eventList":[` + events + `]}}`))
	if !errors.Is(err, epcis.ErrTooManyEvents) {
		t.Fatalf("Decode = %v, want ErrTooManyEvents", err)
	}
}

// endless is a reader of spaces that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestDecodeQueryDocumentMatchesDocument(t *testing.T) {
	t.Parallel()
	// GS1's query document example holds the same two events as its
	// example 9.6.1 document; decoding either gives the same events.
	q := `{"@context":"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld","type":"EPCISQueryDocument","schemaVersion":"2.0","epcisBody":{"queryResults":{"queryName":"SimpleEventQuery","resultsBody":{"eventList":[` + ev(`"bizStep":"shipping"`) + `]}}}}`
	a, err := epcis.DecodeDocument(strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	b, err := epcis.DecodeDocument(bytes.NewReader([]byte(doc(ev(`"bizStep":"shipping"`)))))
	if err != nil {
		t.Fatal(err)
	}
	a.Type, b.Type, b.CreationDate = "", "", a.CreationDate
	if ra, rb := render(a), render(b); ra != rb {
		t.Errorf("query document:\n%s\ndocument:\n%s", ra, rb)
	}
}
