package supply_test

import (
	"os"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/epcis"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/supply"
)

// TestFromEPCISTransformation: a TransformationEvent is a transformation
// (inputs used up, outputs made with the ILMD's lot and expiry, at a geo:
// read point's cell); GS1's own example, which counts an input in
// kilograms and another by a pattern, is refused saying why.
func TestFromEPCISTransformation(t *testing.T) {
	f, err := os.Open("../epcis/testdata/Example_9.6.4-TransformationEvent.jsonld")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := epcis.Decode(f)
	if err != nil || len(evs) != 1 {
		t.Fatalf("GS1's example: %d events, %v", len(evs), err)
	}
	if _, err := supply.FromEPCIS(evs[0], supply.Parties{}, 0); err == nil || !strings.Contains(err.Error(), "inputQuantityList: 10 KGM") {
		t.Errorf("GS1's example: %v, want the kilograms reported", err)
	}
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",
"creationDate":"2020-02-01T08:00:00+08:00","epcisBody":{"eventList":[{"type":"TransformationEvent","eventTime":"2020-02-01T08:00:00+08:00",
"eventTimeZoneOffset":"+08:00","eventID":"urn:uuid:1","bizStep":"assembling","readPoint":{"id":"geo:30.5928,114.3055"},
"inputEPCList":["urn:epc:id:sgtin:0614141.107346.SW1"],
"inputQuantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.R7","quantity":100,"uom":"EA"}],
"outputEPCList":["urn:epc:id:sgtin:0614141.107346.KIT1"],"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.K2","quantity":50}],
"ilmd":{"lotNumber":"K2","itemExpirationDate":"2021-06-30"}}]}}`
	evs, err = epcis.Decode(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	b, err := supply.FromEPCIS(evs[0], supply.Parties{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	const gtin = "10614141073464"
	want := &ledger.SupplyEvent{Step: ledger.StepTransform, Time: b.Time, Nonce: b.Nonce, Expiry: "2021-06-30", Placed: true, Place: ledger.Cell{Lat: 3059, Lon: 11431},
		Items:   []ledger.SupplyItem{{GTIN: gtin, Serial: "SW1", Qty: 1}, {GTIN: gtin, Lot: "R7", Qty: 100}},
		Outputs: []ledger.SupplyItem{{GTIN: gtin, Serial: "KIT1", Lot: "K2", Qty: 1}, {GTIN: gtin, Lot: "K2", Qty: 50}}}
	if got, w := ledger.NewTx(b).ID(), ledger.NewTx(want).ID(); got != w {
		t.Errorf("the transformation: %+v\nwant %+v", b, want)
	}
}
