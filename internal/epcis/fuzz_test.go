package epcis_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/epiledger/epiledger/internal/epcis"
)

// FuzzDecode feeds the decoder arbitrary bytes, seeded with GS1's examples
// and small hand-made documents. It must never panic; what it refuses it
// refuses with a *DecodeError and no document; what it accepts it accepts
// again with the same result, and every identifier it classed as a GS1 key
// parses alone to the same keys.
func FuzzDecode(f *testing.F) {
	docs, err := filepath.Glob(filepath.Join("testdata", "*.jsonld"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range docs {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(doc(ev(`"ilmd":{"lotNumber":"L1","itemExpirationDate":"2029-02-28"}`))))
	f.Add([]byte(doc(ev(`"epcList":"https://id.gs1.org/01/09520123456788/21/A%2F1"`))))
	f.Add([]byte(`{"type":"EPCISQueryDocument","epcisBody":{"queryResults":{"resultsBody":{"eventList":[]}}}}`))
	f.Add([]byte(`{"type":"EPCISDocument","type":"EPCISDocument"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := epcis.DecodeDocument(bytes.NewReader(data))
		if err != nil {
			var de *epcis.DecodeError
			if d != nil || !errors.As(err, &de) {
				t.Fatalf("DecodeDocument = %v, %v: want nil and a *DecodeError", d, err)
			}
			return
		}
		again, err := epcis.DecodeDocument(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("second decode failed: %v", err)
		}
		if a, b := render(d), render(again); a != b {
			t.Fatalf("two decodes differ:\n%s\n%s", a, b)
		}
		for _, e := range d.Events {
			for _, id := range eventIDs(e) {
				if id.Kind == epcis.KindOther {
					continue
				}
				alone, err := epcis.ParseID(id.URI)
				if err != nil || alone != id {
					t.Fatalf("ParseID(%q) = %+v, %v; the decoder gave %+v", id.URI, alone, err, id)
				}
			}
		}
	})
}

// eventIDs lists the identifiers an event holds.
func eventIDs(e epcis.Event) []epcis.ID {
	c := e.Base()
	out := []epcis.ID{c.ReadPoint, c.BizLocation}
	for _, p := range append(c.Sources, c.Destinations...) {
		out = append(out, p.ID)
	}
	classes := func(qs []epcis.Quantity) {
		for _, q := range qs {
			out = append(out, q.EPCClass)
		}
	}
	switch e := e.(type) {
	case *epcis.ObjectEvent:
		out = append(out, e.EPCList...)
		classes(e.QuantityList)
	case *epcis.AggregationEvent:
		out = append(append(out, e.ParentID), e.ChildEPCs...)
		classes(e.ChildQuantityList)
	case *epcis.AssociationEvent:
		out = append(append(out, e.ParentID), e.ChildEPCs...)
		classes(e.ChildQuantityList)
	case *epcis.TransactionEvent:
		out = append(append(out, e.ParentID), e.EPCList...)
		classes(e.QuantityList)
	case *epcis.TransformationEvent:
		out = append(append(out, e.InputEPCList...), e.OutputEPCList...)
		classes(e.InputQuantityList)
		classes(e.OutputQuantityList)
	}
	return out
}
