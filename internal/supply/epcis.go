package supply

import (
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/epcis"
	"github.com/epiledger/epiledger/internal/ledger"
)

// Parties maps the parties an EPCIS document names (a destination's ID,
// as written: an SGLN, a PGLN, a URL) to custodians' keys; To is the
// receiver of a shipment whose destination names no known party.
type Parties struct {
	Keys map[string][32]byte
	To   [32]byte
}

// FromEPCIS maps one EPCIS event to a supply step (docs/SUPPLY.md): an
// ObjectEvent ADD is a commissioning (with its ILMD's lot and expiry), an
// OBSERVE with bizStep shipping a shipment to its destination party,
// receiving a receipt of the shipment under the same business
// transaction (the whole shipment: its items must be the event's),
// any other bizStep a scan; a DELETE destroying a
// destruction, any other DELETE a consumption. Items are its epcList's
// SGTINs and its quantityList's LGTINs counted in units. A
// TransformationEvent is a transformation: its inputs used up, its outputs
// made. An event the ledger cannot hold (an aggregation, a quantity in
// kilograms) is an error that says why; the caller reports it and goes
// on.
func FromEPCIS(ev epcis.Event, parties Parties, nonce int) (*ledger.SupplyEvent, error) {
	if ev.Base().ErrorDeclaration != nil {
		return nil, fmt.Errorf("an error declaration (a retraction) is not imported: the ledger corrects by new steps")
	}
	if t, ok := ev.(*epcis.TransformationEvent); ok {
		return fromTransformation(t, nonce)
	}
	if a, ok := ev.(*epcis.AggregationEvent); ok {
		return fromAggregation(a, parties, nonce)
	}
	o, ok := ev.(*epcis.ObjectEvent)
	if !ok {
		return nil, fmt.Errorf("a %T is not imported yet (object, aggregation and transformation events only)", ev)
	}
	b := step(&o.Common, nonce)
	var err error
	if b.Items, err = itemsOf("epcList", o.EPCList, "quantityList", o.QuantityList); err != nil {
		return nil, err
	}
	if b.Expiry, err = expiryOf(o.ILMD); err != nil {
		return nil, err
	}
	return objectStep(b, &o.Common, o.Action, o.ILMD, parties)
}

// objectStep completes b, event c's step with its items, by the event's
// action and business step (ilmd: what a commissioning says of them).
func objectStep(b *ledger.SupplyEvent, c *epcis.Common, action epcis.Action, ilmd *epcis.ILMD, parties Parties) (*ledger.SupplyEvent, error) {
	switch {
	case action == epcis.ActionAdd:
		b.Step = ledger.StepCommission
		lotOf(b.Items, ilmd)
		if len(c.CertificationInfo) > 0 {
			b.Certificate = c.CertificationInfo[0]
		}
		b.Ref = ""
	case action == epcis.ActionDelete && c.BizStep == "destroying":
		b.Step = ledger.StepDestroy
	case action == epcis.ActionDelete:
		b.Step = ledger.StepConsume
	case c.BizStep == "shipping":
		b.Step, b.To = ledger.StepShip, parties.To
		for _, p := range c.Destinations {
			if k, ok := parties.Keys[p.ID.URI]; ok && (p.Type == "owning_party" || p.Type == "possessing_party") {
				b.To = k
			}
		}
		if b.To == ([32]byte{}) {
			return nil, fmt.Errorf("destinationList: no party this import knows (--party ID=KEY, or --to KEY)")
		}
	case c.BizStep == "receiving":
		b.Step = ledger.StepReceive
		if b.Ref == "" {
			return nil, fmt.Errorf("bizTransactionList: a receipt names its shipment by a business transaction")
		}
	case c.BizStep == "void_shipping":
		// Not a scan: the giver takes back what never arrived, which the
		// ledger does of a shipment named by its transaction.
		return nil, fmt.Errorf("bizStep void_shipping: not imported; the shipper voids the shipment by its transaction (epiledger supply void SHIPMENT)")
	default:
		b.Step = ledger.StepObserve
	}
	if err := ledger.Validate(b); err != nil {
		return nil, err
	}
	return b, nil
}

// step is the supply step common fields of an event: its time, a nonce
// from its ID (or, without one, its time to the nanosecond and its place
// in the document) that tells it from another that says the same at the
// same second, its first business transaction, and where it happened.
func step(c *epcis.Common, nonce int) *ledger.SupplyEvent {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%d", c.EventID, c.EventTime.UnixNano(), nonce)
	b := &ledger.SupplyEvent{Time: c.EventTime.Unix(), Nonce: h.Sum64()}
	if len(c.BizTransactions) > 0 {
		b.Ref = c.BizTransactions[0].ID
	}
	// A read point named by its coordinates (CBV 2.0's geo: URI, RFC
	// 5870) is where the step happened; a GLN names none the ledger knows.
	for _, loc := range []string{c.ReadPoint.URI, c.BizLocation.URI} {
		if cell, ok := GeoCell(loc); ok {
			b.Placed, b.Place = true, cell
			break
		}
	}
	return b
}

// lotOf gives the instances made that name no lot the ILMD's.
func lotOf(items []ledger.SupplyItem, m *epcis.ILMD) {
	if m == nil || m.LotNumber == "" {
		return
	}
	for i := range items {
		if items[i].Instance() && items[i].Lot == "" {
			items[i].Lot = m.LotNumber
		}
	}
}

// ItemOf is the item an EPC names: an SGTIN's instance, an SSCC's
// logistic unit, or an LGTIN's lot (one unit of it).
func ItemOf(id epcis.ID) (ledger.SupplyItem, error) {
	switch id.Kind {
	case epcis.KindSGTIN:
		return ledger.SupplyItem{GTIN: id.GTIN, Serial: id.Serial, Lot: id.Lot, Qty: 1}, nil
	case epcis.KindSSCC:
		return ledger.SupplyItem{Serial: id.SSCC, Qty: 1}, nil
	case epcis.KindLGTIN:
		return ledger.SupplyItem{GTIN: id.GTIN, Lot: id.Lot, Qty: 1}, nil
	}
	return ledger.SupplyItem{}, fmt.Errorf("a %s names no item: an SGTIN (a serial), an SSCC (a logistic unit) or an LGTIN (a lot)", id.Kind)
}

// itemsOf reads an event's list of instances (SGTINs, SSCCs) and of lots
// in units (LGTINs), named epcs and qs in the document.
func itemsOf(epcs string, ids []epcis.ID, qs string, qq []epcis.Quantity) ([]ledger.SupplyItem, error) {
	var out []ledger.SupplyItem
	for _, id := range ids {
		it, err := ItemOf(id)
		if err != nil || id.Kind == epcis.KindLGTIN {
			return nil, fmt.Errorf("%s: a %s is not an instance (an SGTIN or an SSCC)", epcs, id.Kind)
		}
		out = append(out, it)
	}
	for _, q := range qq {
		switch {
		case q.EPCClass.Kind != epcis.KindLGTIN:
			return nil, fmt.Errorf("%s: a %s is not a lot (an LGTIN)", qs, q.EPCClass.Kind)
		case q.UOM != "" && q.UOM != "EA" && q.UOM != "H87":
			return nil, fmt.Errorf("%s: %g %s: the ledger counts units (no unit of measure, EA or H87)", qs, q.Quantity, q.UOM)
		case !q.Known || q.Quantity < 1 || q.Quantity != math.Trunc(q.Quantity) || q.Quantity > ledger.MaxSupplyQty:
			return nil, fmt.Errorf("%s: a whole number of units, 1 to %d", qs, ledger.MaxSupplyQty)
		}
		out = append(out, ledger.SupplyItem{GTIN: q.EPCClass.GTIN, Lot: q.EPCClass.Lot, Qty: uint32(q.Quantity)})
	}
	return out, nil
}

// expiryOf is an ILMD's expiry date ("" without one).
func expiryOf(m *epcis.ILMD) (string, error) {
	if m == nil || m.ItemExpirationDate == "" {
		return "", nil
	}
	d := m.ItemExpirationDate
	if len(d) >= 10 {
		d = d[:10]
	}
	if _, err := time.Parse(ledger.OnsetLayout, d); err != nil {
		return "", fmt.Errorf("ilmd: itemExpirationDate %q: a date", m.ItemExpirationDate)
	}
	return d, nil
}

// fromAggregation maps an AggregationEvent: ADD packs its children into
// its parent, DELETE takes them (none listed: all) out, OBSERVE is a step
// of the parent (a pallet shipped, received, scanned) as an ObjectEvent
// of it would be. Children are instances (cases, other containers) and
// units of lots (childQuantityList, counted in units).
func fromAggregation(a *epcis.AggregationEvent, parties Parties, nonce int) (*ledger.SupplyEvent, error) {
	if a.ParentID.URI == "" {
		return nil, fmt.Errorf("parentID: an aggregation names its container")
	}
	parent, err := ItemOf(a.ParentID)
	if err != nil || !parent.Instance() {
		return nil, fmt.Errorf("parentID: a container is an SSCC or an SGTIN")
	}
	b := step(&a.Common, nonce)
	children, err := itemsOf("childEPCs", a.ChildEPCs, "childQuantityList", a.ChildQuantityList)
	if err != nil {
		return nil, err
	}
	switch a.Action {
	case epcis.ActionAdd:
		b.Step, b.Items, b.Outputs, b.Ref = ledger.StepPack, children, []ledger.SupplyItem{parent}, ""
	case epcis.ActionDelete:
		b.Step, b.Items, b.Outputs, b.Ref = ledger.StepUnpack, []ledger.SupplyItem{parent}, children, ""
	default:
		b.Items = []ledger.SupplyItem{parent}
		return objectStep(b, &a.Common, a.Action, nil, parties)
	}
	if err := ledger.Validate(b); err != nil {
		return nil, err
	}
	return b, nil
}

// fromTransformation maps a TransformationEvent to a transformation: its
// inputs used up, its outputs made with its ILMD's expiry (and lot, for
// output instances that give none).
func fromTransformation(t *epcis.TransformationEvent, nonce int) (*ledger.SupplyEvent, error) {
	b := step(&t.Common, nonce)
	b.Step, b.Ref = ledger.StepTransform, ""
	var err error
	if b.Items, err = itemsOf("inputEPCList", t.InputEPCList, "inputQuantityList", t.InputQuantityList); err != nil {
		return nil, err
	}
	if b.Outputs, err = itemsOf("outputEPCList", t.OutputEPCList, "outputQuantityList", t.OutputQuantityList); err != nil {
		return nil, err
	}
	if b.Expiry, err = expiryOf(t.ILMD); err != nil {
		return nil, err
	}
	lotOf(b.Outputs, t.ILMD)
	if err := ledger.Validate(b); err != nil {
		return nil, err
	}
	return b, nil
}

// GeoCell reads a geo: URI (RFC 5870: "geo:30.59,114.30", an altitude
// and parameters ignored) as a 0.01-degree cell.
func GeoCell(uri string) (ledger.Cell, bool) {
	rest, ok := strings.CutPrefix(strings.ToLower(uri), "geo:")
	if !ok {
		return ledger.Cell{}, false
	}
	rest, _, _ = strings.Cut(rest, ";")
	parts := strings.Split(rest, ",")
	if len(parts) < 2 || len(parts) > 3 {
		return ledger.Cell{}, false
	}
	lat, err1 := strconv.ParseFloat(parts[0], 64)
	lon, err2 := strconv.ParseFloat(parts[1], 64)
	if err1 != nil || err2 != nil {
		return ledger.Cell{}, false
	}
	c, err := ledger.CellOf(lat, lon)
	return c, err == nil
}
