package supply_test

import (
	"os"
	"slices"
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
	gs1Refused(t, "Example_9.6.4-TransformationEvent.jsonld", "inputQuantityList: 10 KGM")
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",
"creationDate":"2020-02-01T08:00:00+08:00","epcisBody":{"eventList":[{"type":"TransformationEvent","eventTime":"2020-02-01T08:00:00+08:00",
"eventTimeZoneOffset":"+08:00","eventID":"urn:uuid:1","bizStep":"assembling","readPoint":{"id":"geo:30.5928,114.3055"},
"inputEPCList":["urn:epc:id:sgtin:0614141.107346.SW1"],
"inputQuantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.R7","quantity":100,"uom":"EA"}],
"outputEPCList":["urn:epc:id:sgtin:0614141.107346.KIT1"],"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.K2","quantity":50}],
"ilmd":{"lotNumber":"K2","itemExpirationDate":"2021-06-30"}}]}}`
	evs, err := epcis.Decode(strings.NewReader(doc))
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

// TestFromEPCISAggregation: ADD packs the children into the parent (an
// SSCC among them is a container in a container; a childQuantityList
// gives units of lots), DELETE takes them out (none listed: all), OBSERVE
// shipping ships the parent; GS1's own example, whose children are
// counted in kilograms and by a pattern, is refused saying why.
func TestFromEPCISAggregation(t *testing.T) {
	gs1Refused(t, "Example_9.6.3-AggregationEvent.jsonld", "childQuantityList")
	ev := func(action, bizStep, children string) string {
		return `{"type":"AggregationEvent","eventTime":"2020-02-01T08:00:00+08:00","eventTimeZoneOffset":"+08:00","action":"` + action +
			`","bizStep":"` + bizStep + `","parentID":"urn:epc:id:sscc:0614141.1234567890","childEPCs":[` + children +
			`],"destinationList":[{"type":"owning_party","destination":"urn:epc:id:pgln:0614141.00002"}]}`
	}
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",
"creationDate":"2020-02-01T08:00:00+08:00","epcisBody":{"eventList":[` +
		ev("ADD", "packing", `"urn:epc:id:sgtin:0614141.107346.A1","urn:epc:id:sgtin:0614141.107346.A2"`) + "," +
		ev("OBSERVE", "shipping", "") + "," + ev("DELETE", "unpacking", "") + "," +
		`{"type":"AggregationEvent","eventTime":"2020-02-01T09:00:00+08:00","eventTimeZoneOffset":"+08:00","action":"ADD","bizStep":"packing",
"parentID":"urn:epc:id:sgtin:0614141.107346.CASE1","childEPCs":["urn:epc:id:sscc:0614141.1234567890"],
"childQuantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.L7","quantity":200,"uom":"EA"}]}` + `]}}`
	evs, err := epcis.Decode(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	to := [32]byte{7}
	parties := supply.Parties{Keys: map[string][32]byte{"urn:epc:id:pgln:0614141.00002": to}}
	pallet := ledger.SupplyItem{Serial: "106141412345678908", Qty: 1}
	boxes := []ledger.SupplyItem{{GTIN: "10614141073464", Serial: "A1", Qty: 1}, {GTIN: "10614141073464", Serial: "A2", Qty: 1}}
	for i, want := range []struct {
		step           string
		items, outputs []ledger.SupplyItem
		to             [32]byte
	}{
		{ledger.StepPack, boxes, []ledger.SupplyItem{pallet}, [32]byte{}},
		{ledger.StepShip, []ledger.SupplyItem{pallet}, nil, to},
		{ledger.StepUnpack, []ledger.SupplyItem{pallet}, nil, [32]byte{}},
		{ledger.StepPack, []ledger.SupplyItem{pallet, {GTIN: "10614141073464", Lot: "L7", Qty: 200}},
			[]ledger.SupplyItem{{GTIN: "10614141073464", Serial: "CASE1", Qty: 1}}, [32]byte{}},
	} {
		b, err := supply.FromEPCIS(evs[i], parties, i)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if b.Step != want.step || !slices.Equal(b.Items, want.items) || !slices.Equal(b.Outputs, want.outputs) || b.To != want.to {
			t.Errorf("event %d: %+v, want %+v", i, b, want)
		}
	}
}

// gs1Refused checks that GS1's example document name, of one event, is
// refused with an error that says want.
func gs1Refused(t *testing.T, name, want string) {
	t.Helper()
	f, err := os.Open("../epcis/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := epcis.Decode(f)
	if err != nil || len(evs) != 1 {
		t.Fatalf("GS1's example: %d events, %v", len(evs), err)
	}
	if _, err := supply.FromEPCIS(evs[0], supply.Parties{}, 0); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("GS1's example %s: %v, want %q", name, err, want)
	}
}

// TestFromEPCISVoidShipping: a void_shipping ObjectEvent is no scan: it
// is refused, saying how the ledger voids a shipment.
func TestFromEPCISVoidShipping(t *testing.T) {
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",
"creationDate":"2020-02-01T08:00:00+08:00","epcisBody":{"eventList":[{"type":"ObjectEvent","eventTime":"2020-02-01T08:00:00+08:00",
"eventTimeZoneOffset":"+08:00","action":"OBSERVE","bizStep":"urn:epcglobal:cbv:bizstep:void_shipping","epcList":["urn:epc:id:sgtin:0614141.107346.A1"]}]}}`
	evs, err := epcis.Decode(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := supply.FromEPCIS(evs[0], supply.Parties{}, 0); err == nil || !strings.Contains(err.Error(), "supply void") {
		t.Errorf("void_shipping: %+v, %v", b, err)
	}
}
