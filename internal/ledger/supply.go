package ledger

import (
	"crypto/sha256"
	"fmt"
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
//	pack        AggregationEvent ADD (items put into a container: a case, a pallet)
//	unpack      AggregationEvent DELETE (items taken out of a container)
//	void        ObjectEvent OBSERVE, bizStep void_shipping, naming the offer (the giver takes back what never arrived)
const (
	StepCommission = "commission"
	StepShip       = "ship"
	StepReceive    = "receive"
	StepConsume    = "consume"
	StepDestroy    = "destroy"
	StepObserve    = "observe"
	StepTransform  = "transform"
	StepPack       = "pack"
	StepUnpack     = "unpack"
	StepVoid       = "void"
)

// SupplySteps lists the supply steps.
var SupplySteps = []string{StepCommission, StepShip, StepReceive, StepConsume, StepDestroy, StepObserve, StepTransform, StepPack, StepUnpack, StepVoid}

// Bounds of a supply event.
const (
	MaxSupplyItems = 255 // a list's length is one byte
	MaxGS1Text     = 20  // a serial's or lot's longest (GS1 AIs 21 and 10)
	MaxSupplyQty   = 1_000_000_000
)

// SupplyItem is what an event names: one instance (a GTIN and its
// serial, quantity 1) or units of a lot (a GTIN, a lot and a quantity).
// An instance may give its lot too (commissioning records it; a scan
// that gives another is a counterfeit signal). A logistic unit (a pallet,
// a case shipped as one) is named by its SSCC: no GTIN, the 18-digit SSCC
// as its serial, quantity 1.
type SupplyItem struct {
	GTIN   string
	Serial string
	Lot    string
	Qty    uint32
}

// Instance reports whether the item is one serialised instance (an
// SSCC's logistic unit is one).
func (it SupplyItem) Instance() bool { return it.Serial != "" }

// IsSSCC reports whether the item is a logistic unit named by its SSCC.
func (it SupplyItem) IsSSCC() bool { return it.GTIN == "" }

// Code is the item's key in the ledger, GS1 Digital Link's path:
// "01/{gtin}/21/{serial}" for an instance, "01/{gtin}/10/{lot}" for a
// lot, "00/{sscc}" for a logistic unit.
func (it SupplyItem) Code() string {
	if it.IsSSCC() {
		return "00/" + it.Serial
	}
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
	if it.IsSSCC() {
		switch {
		case !ValidSSCC(it.Serial):
			c.fail("serial", "without a GTIN, an SSCC: 18 digits, the last the GS1 check digit")
		case it.Lot != "" || it.Qty != 1:
			c.fail("quantity", "an SSCC is one logistic unit (quantity 1, no lot)")
		}
		return
	}
	switch {
	case !ValidGTIN(it.GTIN):
		c.fail("gtin", "a GTIN-14: 14 digits, the last the GS1 check digit")
	case !gs1Text(it.Serial):
		c.fail("serial", "GS1 characters only (letters, digits and !\"%%&'()*+,-.:;<=>?_; no /, which separates a code's parts)")
	case !gs1Text(it.Lot):
		c.fail("lot", "GS1 characters only (letters, digits and !\"%%&'()*+,-.:;<=>?_; no /, which separates a code's parts)")
	case it.Serial == "" && it.Lot == "":
		c.fail("serial", "an instance's serial, or a lot")
	case it.Instance() && it.Qty != 1:
		c.fail("quantity", "an instance is one item (quantity 1)")
	case it.Qty == 0 || it.Qty > MaxSupplyQty:
		c.fail("quantity", "1 to %d units", MaxSupplyQty)
	}
}

// ValidGTIN reports whether s is a GTIN-14 with a right GS1 check digit.
func ValidGTIN(s string) bool { return len(s) == 14 && gs1Check(s) }

// ValidSSCC reports whether s is an SSCC (18 digits) with a right GS1
// check digit.
func ValidSSCC(s string) bool { return len(s) == 18 && gs1Check(s) }

// gs1Check reports whether s is digits whose last is the GS1 check digit
// of the others (weights 3 and 1 from the right).
func gs1Check(s string) bool {
	n := len(s) - 1
	sum := 0
	for i := 0; i < n; i++ {
		d := s[n-1-i]
		if d < '0' || d > '9' {
			return false
		}
		if i%2 == 0 {
			sum += 3 * int(d-'0')
		} else {
			sum += int(d - '0')
		}
	}
	return s[n] == byte('0'+(10-sum%10)%10)
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
// (Offer), whose items it takes: those it lists (a short delivery), or all
// still in transit; a void names a shipment too, whose giver takes back
// what is still in transit (listed, or all) and closes it. Commissioning gives the
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
	// expiry, standard and certificate. A packing's one output is the
	// container its Items go into; an unpacking's outputs are what it
	// takes out of its one item, the container (none: everything).
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
	ship, receive, void, makes := b.Step == StepShip, b.Step == StepReceive, b.Step == StepVoid, b.Step == StepCommission || b.Step == StepTransform
	switch {
	case !placeOK(c, b.Placed, b.Place):
	case !slices.Contains(SupplySteps, b.Step):
		c.fail("step", "commission, ship, receive, consume, destroy, observe, transform, pack, unpack or void")
	case !receive && !void && len(b.Items) == 0:
		c.fail("items", "the items the step is about")
	case ship != (b.To != [32]byte{}):
		c.fail("to", "a shipment names its receiver's key (and only a shipment)")
	case receive && (b.Offer != Hash{}) == (b.Ref != ""):
		c.fail("offer", "a receipt names the shipment it accepts, by offer or by ref (one of them)")
	case void && ((b.Offer == Hash{}) || b.Ref != ""):
		c.fail("offer", "a void names the shipment by its transaction (offer, not ref): its giver takes back the rest")
	case !receive && !void && (b.Offer != Hash{}):
		c.fail("offer", "only a receipt or a void names a shipment")
	case !makes && (b.Standard != "" || b.Certificate != ""):
		c.fail("standard", "the standard and certificate are the commissioning's")
	case makes && b.Expiry == "":
		c.fail("expiry", "commissioning gives the items' expiry")
	case (b.Step == StepTransform || b.Step == StepPack) && len(b.Outputs) == 0 || len(b.Outputs) > 0 && !slices.Contains([]string{StepTransform, StepPack, StepUnpack}, b.Step):
		c.fail("outputs", "a transformation names what it makes, a packing its container (and only they, and an unpacking, name outputs)")
	case b.Step == StepPack && (len(b.Outputs) != 1 || !b.Outputs[0].Instance()):
		c.fail("outputs", "a packing names one container: an SSCC, or a serialised item")
	case b.Step == StepUnpack && (len(b.Items) != 1 || !b.Items[0].Instance()):
		c.fail("items", "an unpacking names one container: an SSCC, or a serialised item")
	}
	if c.err == nil {
		b.containers(c)
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

// containers checks where a logistic unit (an SSCC) may stand: it is
// packed, shipped, received, scanned and unpacked, never made or used. A
// container holds anything: instances, units of lots, other containers
// (cases on a pallet).
func (b *SupplyEvent) containers(c *codec) {
	switch b.Step {
	case StepCommission, StepTransform, StepConsume, StepDestroy:
		for _, it := range append(slices.Clip(b.Items), b.Outputs...) {
			if it.IsSSCC() {
				c.fail("items", "an SSCC is a logistic unit: it is packed, shipped, received, scanned and unpacked, not made or used")
				return
			}
		}
	}
}

// ContainerKey is where the items packed into container code are held
// while inside it: a key no one holds, so that what is inside counts in
// no custodian's stock but the container's.
func ContainerKey(code string) [32]byte {
	return sha256.Sum256([]byte("epiledger/v1/container\x00" + code))
}

// ParseCode reads an item's code, "01/{gtin}/21/{serial}" or
// "01/{gtin}/10/{lot}" (a Digital Link's path, with or without its
// leading slash), as a SupplyItem of quantity 1.
func ParseCode(s string) (SupplyItem, error) {
	parts := strings.Split(strings.TrimPrefix(s, "/"), "/")
	var it SupplyItem
	switch {
	case len(parts) == 2 && parts[0] == "00":
		it = SupplyItem{Serial: parts[1], Qty: 1}
	case len(parts) != 4 || parts[0] != "01" || parts[2] != "21" && parts[2] != "10":
		return SupplyItem{}, &FieldError{Field: "code", Msg: "01/{GTIN}/21/{serial}, 01/{GTIN}/10/{lot} or 00/{SSCC}"}
	case parts[2] == "21":
		it = SupplyItem{GTIN: parts[1], Serial: parts[3], Qty: 1}
	default:
		it = SupplyItem{GTIN: parts[1], Lot: parts[3], Qty: 1}
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

// TakeFrom is what a receipt listing want takes of a shipment's items
// still in transit (nothing listed: all of them), and what it leaves;
// bad says why it cannot ("" if it can): an item not in transit, or more
// units than are.
func TakeFrom(transit, want []SupplyItem) (taken, left []SupplyItem, bad string) {
	if len(want) == 0 {
		return transit, nil, ""
	}
	units := map[string]uint32{}
	for _, it := range want {
		units[it.Code()] = it.Qty
	}
	for _, it := range transit {
		q, ok := units[it.Code()]
		switch {
		case !ok:
			left = append(left, it)
			continue
		case q > it.Qty:
			return nil, nil, fmt.Sprintf("%s: %d unit(s) received, %d in transit", it.Code(), q, it.Qty)
		case q < it.Qty:
			rest := it
			rest.Qty -= q
			left = append(left, rest)
		}
		got := it
		got.Qty = q
		taken = append(taken, got)
		delete(units, it.Code())
	}
	for _, it := range want {
		if _, ok := units[it.Code()]; ok {
			return nil, nil, it.Code() + " is not in transit in this shipment"
		}
	}
	return taken, left, ""
}
