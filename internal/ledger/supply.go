package ledger

import (
	"slices"
	"strings"
)

// Medical supplies from factory to ward (issue 17, docs/SUPPLY.md), in
// the vocabulary the industry already uses: items are identified as GS1
// does (a GTIN with a serial, one box; or with a lot, so many units of
// it), and each event is one of GS1 EPCIS 2.0's, named by its business
// step. Custodians (manufacturers, distributors, warehouses, hospitals)
// hold keys the administrator granted, as sites do, and sign what they
// do; custody passes on two signatures, the giver's offer (ship) and the
// receiver's acceptance (receive): nothing moves on one word.

// Custodian roles, granted by the administrator (grant_role); hospitals
// hold RoleHospital.
const (
	RoleManufacturer = "manufacturer"
	RoleDistributor  = "distributor"
	RoleWarehouse    = "warehouse"
)

// Supply steps, each an EPCIS event:
//
//	commission  ObjectEvent ADD, bizStep commissioning (a manufacturer makes the items)
//	ship        ObjectEvent OBSERVE, bizStep shipping, with a destination (an offer: in transit)
//	receive     ObjectEvent OBSERVE, bizStep receiving, naming the offer (custody passes)
//	consume     ObjectEvent DELETE, bizStep dispensing (used on a ward)
//	destroy     ObjectEvent DELETE, bizStep destroying
//	observe     ObjectEvent OBSERVE, any other bizStep (a scan: custody unchanged)
//	transform   TransformationEvent (inputs used up, outputs made: test kits assembled, masks repacked)
const (
	StepCommission = "commission"
	StepShip       = "ship"
	StepReceive    = "receive"
	StepConsume    = "consume"
	StepDestroy    = "destroy"
	StepObserve    = "observe"
	StepTransform  = "transform"
)

// SupplySteps lists the supply steps.
var SupplySteps = []string{StepCommission, StepShip, StepReceive, StepConsume, StepDestroy, StepObserve, StepTransform}

// Bounds of a supply event.
const (
	MaxSupplyItems = 256
	MaxGS1Text     = 20 // a serial's or lot's longest (GS1 AIs 21 and 10)
	MaxSupplyQty   = 1_000_000_000
)

// SupplyItem is what an event names: one instance (a GTIN and its
// serial, quantity 1) or units of a lot (a GTIN, a lot and a quantity).
// An instance may give its lot too (commissioning records it; a scan
// that gives another is a counterfeit signal).
type SupplyItem struct {
	GTIN   string
	Serial string
	Lot    string
	Qty    uint32
}

// Instance reports whether the item is one serialised instance.
func (it SupplyItem) Instance() bool { return it.Serial != "" }

// Code is the item's key in the ledger, GS1 Digital Link's path:
// "01/{gtin}/21/{serial}" for an instance, "01/{gtin}/10/{lot}" for a lot.
func (it SupplyItem) Code() string {
	if it.Instance() {
		return "01/" + it.GTIN + "/21/" + it.Serial
	}
	return "01/" + it.GTIN + "/10/" + it.Lot
}

func (it *SupplyItem) fields(c *codec) {
	c.str(&it.GTIN, "gtin", 14)
	c.str(&it.Serial, "serial", MaxGS1Text)
	c.str(&it.Lot, "lot", MaxGS1Text)
	c.u32(&it.Qty, "quantity")
	if c.mode != checking || c.err != nil {
		return
	}
	switch {
	case !ValidGTIN(it.GTIN):
		c.fail("gtin", "a GTIN-14: 14 digits, the last the GS1 check digit")
	case !gs1Text(it.Serial):
		c.fail("serial", "GS1 characters only (letters, digits and !\"%%&'()*+,-./:;<=>?_)")
	case !gs1Text(it.Lot):
		c.fail("lot", "GS1 characters only (letters, digits and !\"%%&'()*+,-./:;<=>?_)")
	case it.Serial == "" && it.Lot == "":
		c.fail("serial", "an instance's serial, or a lot")
	case it.Instance() && it.Qty != 1:
		c.fail("quantity", "an instance is one item (quantity 1)")
	case it.Qty == 0 || it.Qty > MaxSupplyQty:
		c.fail("quantity", "1 to %d units", MaxSupplyQty)
	}
}

// ValidGTIN reports whether s is a GTIN-14 with a right GS1 check digit.
func ValidGTIN(s string) bool {
	if len(s) != 14 {
		return false
	}
	sum := 0
	for i := 0; i < 13; i++ {
		d := s[12-i]
		if d < '0' || d > '9' {
			return false
		}
		if i%2 == 0 {
			sum += 3 * int(d-'0')
		} else {
			sum += int(d - '0')
		}
	}
	return s[13] == byte('0'+(10-sum%10)%10)
}

// gs1Text reports whether s holds GS1's AI-encodable characters only
// (GS1 General Specifications, figure 7.11-1), so that a code is a path
// and a serial never carries a separator.
func gs1Text(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if c == '/' || !strings.ContainsRune(`!"%&'()*+,-.:;<=>?_`, rune(c)) {
			return false
		}
	}
	return true
}

// SupplyEvent is one supply step by the custodian that signs it: Items,
// at Time (the event time, Unix seconds). A shipment names its receiver
// (To: a custodian's key); a receipt names the shipment it accepts
// (Offer), whose items it takes, all of them (if it lists items, they are
// the shipment's: a partial receipt is refused). Commissioning gives the
// items' expiry, the standard they meet and their registration
// certificate (e.g. "GB 19083-2010", a medical device registration
// number); a scan may give an expiry too, compared with it. Ref is the
// business transaction the step belongs to (EPCIS bizTransaction: a
// purchase order, a despatch advice), as written: a receipt may name its
// shipment by it instead of by Offer.
type SupplyEvent struct {
	Step        string
	Items       []SupplyItem
	Time        int64
	To          [32]byte
	Offer       Hash
	Expiry      string // YYYY-MM-DD
	Standard    string
	Certificate string
	Ref         string
	// Nonce tells apart two steps that say the same at the same second
	// (a ward using ten masks, then ten more): without it the second
	// would be the first's transaction again, refused as a replay.
	Nonce uint64
	// Place, when Placed, is where the step happened (EPCIS's read
	// point), to a 0.01-degree cell: an organisation's premises, shown
	// on a code's journey.
	Placed bool
	Place  Cell
	// Outputs are what a transformation makes of its Items (its inputs,
	// used up): new items, commissioned by the signer with the step's
	// expiry, standard and certificate. Only a transformation has them.
	Outputs []SupplyItem
}

// MaxRefLen bounds a business transaction's reference (a URI).
const MaxRefLen = 256

func (*SupplyEvent) Kind() Kind   { return KindSupplyEvent }
func (*SupplyEvent) Signers() int { return 1 }
func (b *SupplyEvent) fields(c *codec) {
	c.str(&b.Step, "step", MaxTagLen)
	n := len(b.Items)
	c.count(&n, "items", MaxSupplyItems)
	if c.reading() && c.err == nil {
		b.Items = make([]SupplyItem, n)
	}
	for i := 0; i < n && c.err == nil; i++ {
		b.Items[i].fields(c)
	}
	c.time(&b.Time, "time")
	c.bytes32(&b.To, "to")
	c.bytes32((*[32]byte)(&b.Offer), "offer")
	c.str(&b.Expiry, "expiry", len(OnsetLayout))
	c.str(&b.Standard, "standard", MaxNameLen)
	c.str(&b.Certificate, "certificate", MaxNameLen)
	c.str(&b.Ref, "ref", MaxRefLen)
	c.u64(&b.Nonce, "nonce")
	c.flag(&b.Placed, "placed")
	c.i32(&b.Place.Lat, "place")
	c.i32(&b.Place.Lon, "place")
	n = len(b.Outputs)
	c.count(&n, "outputs", MaxSupplyItems)
	if c.reading() && c.err == nil {
		b.Outputs = make([]SupplyItem, n)
	}
	for i := 0; i < n && c.err == nil; i++ {
		b.Outputs[i].fields(c)
	}
	if c.mode != checking || c.err != nil {
		return
	}
	ship, receive, makes := b.Step == StepShip, b.Step == StepReceive, b.Step == StepCommission || b.Step == StepTransform
	switch {
	case !placeOK(c, b.Placed, b.Place):
	case !slices.Contains(SupplySteps, b.Step):
		c.fail("step", "commission, ship, receive, consume, destroy, observe or transform")
	case !receive && len(b.Items) == 0:
		c.fail("items", "the items the step is about")
	case ship != (b.To != [32]byte{}):
		c.fail("to", "a shipment names its receiver's key (and only a shipment)")
	case receive && (b.Offer != Hash{}) == (b.Ref != ""):
		c.fail("offer", "a receipt names the shipment it accepts, by offer or by ref (one of them)")
	case !receive && (b.Offer != Hash{}):
		c.fail("offer", "only a receipt names a shipment")
	case !makes && (b.Standard != "" || b.Certificate != ""):
		c.fail("standard", "the standard and certificate are the commissioning's")
	case makes && b.Expiry == "":
		c.fail("expiry", "commissioning gives the items' expiry")
	case (b.Step == StepTransform) != (len(b.Outputs) > 0):
		c.fail("outputs", "a transformation names what it makes (and only a transformation)")
	}
	if c.err == nil && b.Expiry != "" {
		if err := CheckDate("expiry", b.Expiry); err != nil {
			c.err = err.(*FieldError)
		}
	}
	seen := map[string]bool{}
	for i, it := range append(slices.Clip(b.Items), b.Outputs...) {
		if c.err != nil {
			return
		}
		code := it.Code()
		if seen[code] {
			c.fail(map[bool]string{true: "items", false: "outputs"}[i < len(b.Items)], "an item named twice")
		}
		seen[code] = true
	}
}

// ParseCode reads an item's code, "01/{gtin}/21/{serial}" or
// "01/{gtin}/10/{lot}" (a Digital Link's path, with or without its
// leading slash), as a SupplyItem of quantity 1.
func ParseCode(s string) (SupplyItem, error) {
	parts := strings.Split(strings.TrimPrefix(s, "/"), "/")
	if len(parts) != 4 || parts[0] != "01" || parts[2] != "21" && parts[2] != "10" {
		return SupplyItem{}, &FieldError{Field: "code", Msg: "01/{GTIN}/21/{serial} or 01/{GTIN}/10/{lot}"}
	}
	it := SupplyItem{GTIN: parts[1], Qty: 1}
	if parts[2] == "21" {
		it.Serial = parts[3]
	} else {
		it.Lot = parts[3]
	}
	c := codec{mode: checking}
	it.fields(&c)
	if c.err != nil {
		return SupplyItem{}, &FieldError{Field: "code", Msg: c.err.Field + ": " + c.err.Msg}
	}
	return it, nil
}

// RoleCharity is a charity's key (granted by the administrator): it
// receives donated supplies and allocates them to hospitals, each
// allocation a shipment weighed against the hospitals' declared needs.
const RoleCharity = "charity"

// Urgencies of a hospital's need.
var Urgencies = []string{"critical", "urgent", "normal"}

// SupplyNeed is a hospital's declared need of a product (a GTIN): Units,
// how urgent, and whether the hospital is a designated fever clinic
// (issue 17: allocations are shown against needs, and a rule flags those
// that go against them). A later need of the same GTIN replaces it; Units
// 0 withdraws it. Signed by the hospital.
type SupplyNeed struct {
	GTIN        string
	Units       uint32
	Urgency     string
	FeverClinic bool
	Time        int64
}

func (*SupplyNeed) Kind() Kind   { return KindSupplyNeed }
func (*SupplyNeed) Signers() int { return 1 }
func (b *SupplyNeed) fields(c *codec) {
	c.str(&b.GTIN, "gtin", 14)
	c.u32(&b.Units, "units")
	c.str(&b.Urgency, "urgency", MaxTagLen)
	c.flag(&b.FeverClinic, "fever_clinic")
	c.time(&b.Time, "time")
	if c.mode != checking || c.err != nil {
		return
	}
	switch {
	case !ValidGTIN(b.GTIN):
		c.fail("gtin", "a GTIN-14: 14 digits, the last the GS1 check digit")
	case b.Units > MaxSupplyQty:
		c.fail("units", "0 (withdrawn) to %d", MaxSupplyQty)
	case !slices.Contains(Urgencies, b.Urgency):
		c.fail("urgency", "critical, urgent or normal")
	}
}
