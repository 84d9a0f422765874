package state

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// Medical supplies (issue 17, docs/SUPPLY.md). The state keeps every
// item a manufacturer commissioned, what each custodian holds of it, the
// shipments in transit, and each item's provenance: the transactions
// that named it, in order. A step that would break conservation (more
// out than in, an item shipped by one who does not hold it, a receipt by
// another than the receiver) is refused and writes nothing. A scan
// (observe), and any step, that shows a counterfeit's marks raises a
// signal on the item instead: a serial never commissioned, one seen
// after its consumption or destruction (a clone), one at a custodian
// while another holds it, a lot or expiry that differs from its
// commissioning, one seen away from the receiver of the shipment it is
// in (a gap in custody).

// Item statuses.
const (
	ItemActive    = "active"
	ItemConsumed  = "consumed"
	ItemDestroyed = "destroyed"
)

// Signal kinds.
const (
	SignalUncommissioned = "uncommissioned"
	SignalAfterUse       = "seen-after-use"
	SignalTwoHolders     = "two-holders"
	SignalLotMismatch    = "lot-mismatch"
	SignalExpiryMismatch = "expiry-mismatch"
	SignalCustodyGap     = "custody-gap"
)

// SignalKinds lists the signal kinds, in their stored order.
var SignalKinds = []string{SignalUncommissioned, SignalAfterUse, SignalTwoHolders, SignalLotMismatch, SignalExpiryMismatch, SignalCustodyGap}

// Item is a commissioned item as the state now holds it.
type Item struct {
	Code                string
	GTIN, Serial, Lot   string
	Expiry              string
	Standard, Cert      string
	Maker               [32]byte    // the manufacturer that commissioned it
	Made                ledger.Hash // the commissioning (the first, for a lot)
	Units               uint64      // a lot's units commissioned (1: an instance)
	Status              string      // an instance's: active, consumed or destroyed
	Holder              [32]byte    // an instance's holder (zero while in transit or used)
	Transit             ledger.Hash // the shipment an instance is in, if any
	Instance            bool
	LastStep, LastEvent string // the last step that named it, for people
	// In is the container an instance is packed in ("" if none): it is
	// held there (Holder is ledger.ContainerKey(In)), and goes where the
	// container goes. Contents counts what a container holds.
	In       string
	Contents uint32
}

func encodeItem(it *Item) []byte {
	var x w
	flag := uint8(0)
	if it.Instance {
		flag = 1
	}
	x.u8(flag)
	for _, s := range []string{it.GTIN, it.Serial, it.Lot, it.Expiry, it.Standard, it.Cert, it.Status, it.LastStep} {
		x.str(s)
	}
	x.raw(it.Maker[:])
	x.raw(it.Made[:])
	x.i64(int64(it.Units))
	x.raw(it.Holder[:])
	x.raw(it.Transit[:])
	x.str(it.In)
	x.u32(it.Contents)
	return x.b
}

func decodeItem(code string, v []byte) (Item, error) {
	x := r2(v)
	it := Item{Code: code, Instance: x.u8() == 1}
	for _, p := range []*string{&it.GTIN, &it.Serial, &it.Lot, &it.Expiry, &it.Standard, &it.Cert, &it.Status, &it.LastStep} {
		*p = x.str()
	}
	copy(it.Maker[:], x.take(32))
	copy(it.Made[:], x.take(32))
	it.Units = uint64(x.i64())
	copy(it.Holder[:], x.take(32))
	copy(it.Transit[:], x.take(32))
	it.In, it.Contents = x.str(), x.u32()
	return it, x.err("supply item")
}

// ItemOf returns item code.
func ItemOf(rd store.Reader, code string) (Item, bool, error) {
	v, ok, err := rd.Get(store.SupplyItemKey(code))
	if err != nil || !ok {
		return Item{}, false, err
	}
	it, err := decodeItem(code, v)
	return it, err == nil, err
}

// EachItem calls fn with every commissioned item, in code order, until
// fn returns false. The item is fn's to keep.
func EachItem(rd store.Reader, fn func(it *Item) bool) error {
	lo, hi := store.TablePrefix(store.TabSupplyItem)
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		it, err := decodeItem(string(k[1:]), v)
		if err != nil {
			derr = err
			return false
		}
		return fn(&it)
	})
	if err == nil {
		err = derr
	}
	return err
}

// HoldingOf returns the units of item code that custodian holds.
func HoldingOf(rd store.Reader, custodian [32]byte, code string) (uint64, error) {
	v, ok, err := rd.Get(store.HoldingKey(custodian, code))
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: a holding", store.ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), nil
}

// Holdings returns what custodian holds, by code.
func Holdings(rd store.Reader, custodian [32]byte) (map[string]uint64, error) {
	lo, hi := store.HoldingRange(custodian)
	out := map[string]uint64{}
	bad := false
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		if len(v) != 8 {
			bad = true
			return false
		}
		out[string(k[len(lo):])] = binary.BigEndian.Uint64(v)
		return true
	})
	if err == nil && bad {
		err = fmt.Errorf("%w: a holding", store.ErrCorrupt)
	}
	return out, err
}

// EachHolding calls fn with every custodian's holding of every item (a
// holding used up is there with 0 units), by custodian then code, until
// fn returns false.
func EachHolding(rd store.Reader, fn func(custodian [32]byte, code string, units uint64) bool) error {
	lo, hi := store.TablePrefix(store.TabHolding)
	bad := false
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		if len(k) < 1+32 || len(v) != 8 {
			bad = true
			return false
		}
		return fn([32]byte(k[1:33]), string(k[33:]), binary.BigEndian.Uint64(v))
	})
	if err == nil && bad {
		err = fmt.Errorf("%w: a holding", store.ErrCorrupt)
	}
	return err
}

// Offer is a shipment: From offered Items to To. The receiver takes
// them in one receipt or several (a short delivery: what arrived, the
// rest still in transit), and the giver may take back what never arrived
// (a void): Receipts are those receipts and voids in order, Left what is
// still in transit, Receipt the one that took the last of it (zero while
// any is in transit).
type Offer struct {
	ID       ledger.Hash
	From, To [32]byte
	Items    []ledger.SupplyItem
	Receipt  ledger.Hash
	Receipts []ledger.Hash
	Left     []ledger.SupplyItem
	// Voided is the last void by which the giver took back some of it
	// (zero if none): Receipts lists the voids among the receipts, and
	// what they took back never arrived.
	Voided ledger.Hash
}

func encodeItems(x *w, items []ledger.SupplyItem) {
	x.u32(uint32(len(items)))
	for _, it := range items {
		x.str(it.GTIN)
		x.str(it.Serial)
		x.str(it.Lot)
		x.u32(it.Qty)
	}
}

func decodeItems(x *r) ([]ledger.SupplyItem, bool) {
	n := int(x.u32())
	if n > ledger.MaxSupplyItems {
		return nil, false
	}
	var out []ledger.SupplyItem
	for i := 0; i < n; i++ {
		out = append(out, ledger.SupplyItem{GTIN: x.str(), Serial: x.str(), Lot: x.str(), Qty: x.u32()})
	}
	return out, true
}

func encodeOffer(o *Offer) []byte {
	var x w
	x.raw(o.From[:])
	x.raw(o.To[:])
	x.raw(o.Receipt[:])
	encodeItems(&x, o.Items)
	encodeItems(&x, o.Left)
	x.u32(uint32(len(o.Receipts)))
	for _, r := range o.Receipts {
		x.raw(r[:])
	}
	if o.Voided != (ledger.Hash{}) {
		x.raw(o.Voided[:]) // only then: a shipment never voided reads as before voids were
	}
	return x.b
}

// OfferOf returns shipment id.
func OfferOf(rd store.Reader, id ledger.Hash) (Offer, bool, error) {
	v, ok, err := rd.Get(store.OfferKey(id))
	if err != nil || !ok {
		return Offer{}, false, err
	}
	x := r2(v)
	o := Offer{ID: id}
	copy(o.From[:], x.take(32))
	copy(o.To[:], x.take(32))
	copy(o.Receipt[:], x.take(32))
	var ok1, ok2 bool
	o.Items, ok1 = decodeItems(x)
	o.Left, ok2 = decodeItems(x)
	n := int(x.u32())
	if !ok1 || !ok2 || n > MaxReceipts {
		return o, false, fmt.Errorf("%w: a shipment", store.ErrCorrupt)
	}
	for i := 0; i < n; i++ {
		o.Receipts = append(o.Receipts, ledger.Hash(x.take(32)))
	}
	if len(x.b) == 32 {
		o.Voided = ledger.Hash(x.take(32))
	}
	return o, x.err("shipment") == nil, x.err("shipment")
}

// Signal is a counterfeit signal raised on an item.
type Signal struct {
	Code, Kind string
	Tx         ledger.Hash
	Height     uint64
	Time       int64 // the block's
	Custodian  [32]byte
	Detail     string
}

// Signals returns the signals raised on item code (every item's, with
// code ""), in the order they were raised.
func Signals(rd store.Reader, code string) ([]Signal, error) {
	lo, hi := store.SupplySignalRange(code, code == "")
	var out []Signal
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		rest := k[1:]
		n := int(rest[0])
		if len(rest) != 1+n+8+4+32+1 || int(rest[len(rest)-1]) >= len(SignalKinds) {
			derr = fmt.Errorf("%w: a supply signal", store.ErrCorrupt)
			return false
		}
		s := Signal{Code: string(rest[1 : 1+n]), Height: binary.BigEndian.Uint64(rest[1+n:]), Kind: SignalKinds[rest[len(rest)-1]]}
		copy(s.Tx[:], rest[1+n+8+4:])
		x := r2(v)
		s.Time = x.i64()
		copy(s.Custodian[:], x.take(32))
		s.Detail = x.str()
		if derr = x.err("supply signal"); derr != nil {
			return false
		}
		out = append(out, s)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// SupplyHistory returns the transactions that named item code, in
// block order.
func SupplyHistory(rd store.Reader, code string) ([]ledger.Hash, error) {
	lo, hi := store.SupplyHistoryRange(code)
	var out []ledger.Hash
	err := rd.Scan(lo, hi, func(k, _ []byte) bool {
		out = append(out, ledger.Hash(k[len(k)-32:]))
		return true
	})
	return out, err
}

// roleIn is key's role as this block sees it: grants take effect from
// the next block, so a block reads each key's role once.
func (blk *Block) roleIn(key [32]byte) (string, error) {
	if r, ok := blk.roles[key]; ok {
		return r, nil
	}
	r, _, err := RoleOf(blk.b, &blk.m.gen, key)
	if err != nil {
		return "", err
	}
	if blk.roles == nil {
		blk.roles = map[[32]byte]string{}
	}
	blk.roles[key] = r
	return r, nil
}

// isCustodian reports whether role may hold supplies.
func isCustodian(role string) bool {
	switch role {
	case ledger.RoleManufacturer, ledger.RoleDistributor, ledger.RoleWarehouse, ledger.RoleHospital, ledger.RoleCharity, "authority":
		return true
	}
	return false
}

// supplyEvent applies a custodian's supply step: everything is checked
// before anything is written, so a refused step changes nothing.
func (blk *Block) supplyEvent(tx *ledger.Tx, id ledger.Hash, b *ledger.SupplyEvent) error {
	signer := tx.Sigs[0].Key
	role, err := blk.roleIn(signer)
	if err != nil {
		return err
	}
	if !isCustodian(role) {
		return reject(CodeWrongSigner, "signature", "supply steps are signed by a custodian: a manufacturer, distributor, warehouse, hospital or charity")
	}
	p := &supplyPlan{blk: blk, id: id, signer: signer, items: map[string]*Item{}, holds: map[string]uint64{}}
	switch b.Step {
	case ledger.StepCommission, ledger.StepTransform:
		if role != ledger.RoleManufacturer && role != "authority" {
			return reject(CodeWrongSigner, "signature", "items are commissioned (and transformed) by a manufacturer")
		}
		if b.Step == ledger.StepTransform {
			// The inputs used up (the step's expiry is the outputs'),
			// then the outputs made.
			if err = p.use(b.Items, "", ItemConsumed); err != nil {
				return err
			}
			err = p.commission(b.Outputs, b)
			break
		}
		err = p.commission(b.Items, b)
	case ledger.StepShip:
		err = p.ship(b)
	case ledger.StepReceive:
		err = p.receive(b)
	case ledger.StepConsume:
		err = p.use(b.Items, b.Expiry, ItemConsumed)
	case ledger.StepDestroy:
		err = p.use(b.Items, b.Expiry, ItemDestroyed)
	case ledger.StepObserve:
		err = p.observe(b)
	case ledger.StepPack:
		err = p.pack(b)
	case ledger.StepUnpack:
		err = p.unpack(b)
	case ledger.StepVoid:
		err = p.void(b)
	}
	if err != nil {
		return err
	}
	if err := p.write(b.Step); err != nil {
		return err
	}
	if b.Step == ledger.StepReceive {
		// A donation's allocation received: delivered.
		if err := blk.delivered(p.offer, p.taken); err != nil {
			return err
		}
	}
	if b.Step == ledger.StepShip && role == ledger.RoleCharity {
		// A charity's allocation: weighed against the hospitals' needs.
		if to, err := blk.roleIn(b.To); err != nil {
			return err
		} else if to == ledger.RoleHospital {
			return blk.weighAllocation(id, b.To, b.Items)
		}
	}
	return nil
}

// supplyPlan is a supply step's changes, gathered before any is written.
type supplyPlan struct {
	blk     *Block
	id      ledger.Hash
	signer  [32]byte
	items   map[string]*Item    // changed (or read) items, by code
	holds   map[string]uint64   // custodian+code -> new units
	offer   *Offer              // a shipment made or taken
	taken   []ledger.SupplyItem // what a receipt took of it
	ref     string              // a shipment's business transaction
	named   []string            // codes for the history, in the event's order
	seen    map[string]bool     // codes named
	signals []Signal
}

func (p *supplyPlan) item(code string) (*Item, bool, error) {
	if it, ok := p.items[code]; ok {
		return it, true, nil
	}
	if it, ok := p.blk.supplyItems[code]; ok {
		c := it // a copy: a refused step changes nothing
		p.items[code] = &c
		return &c, true, nil
	}
	it, ok, err := ItemOf(p.blk.b, code)
	if err != nil || !ok {
		return nil, false, err
	}
	p.items[code] = &it
	return &it, true, nil
}

func (p *supplyPlan) holding(custodian [32]byte, code string) (uint64, error) {
	k := string(store.HoldingKey(custodian, code))
	if v, ok := p.holds[k]; ok {
		return v, nil
	}
	if v, ok := p.blk.supplyHolds[k]; ok {
		return v, nil
	}
	return HoldingOf(p.blk.b, custodian, code)
}

func (p *supplyPlan) move(custodian [32]byte, code string, delta int64) error {
	have, err := p.holding(custodian, code)
	if err != nil {
		return err
	}
	if delta < 0 && have < uint64(-delta) {
		return reject(CodeConflict, "items", "%s: %d unit(s) held, %d wanted (more out than in)", code, have, -delta)
	}
	p.holds[string(store.HoldingKey(custodian, code))] = uint64(int64(have) + delta)
	return nil
}

func (p *supplyPlan) signal(code, kind, detail string) {
	p.signals = append(p.signals, Signal{Code: code, Kind: kind, Custodian: p.signer, Detail: detail})
}

// marks raises the lot and expiry signals of an item named by a step
// other than its commissioning.
func (p *supplyPlan) marks(it *Item, named *ledger.SupplyItem, expiry string) {
	if named.Lot != "" && it.Lot != "" && named.Lot != it.Lot {
		p.signal(it.Code, SignalLotMismatch, fmt.Sprintf("lot %s, commissioned as %s", named.Lot, it.Lot))
	}
	if expiry != "" && expiry != it.Expiry {
		p.signal(it.Code, SignalExpiryMismatch, fmt.Sprintf("expiry %s, commissioned as %s", expiry, it.Expiry))
	}
}

// commission makes items (a commissioning's, or a transformation's
// outputs) with what b says of them.
func (p *supplyPlan) commission(items []ledger.SupplyItem, b *ledger.SupplyEvent) error {
	for i := range items {
		n := &items[i]
		code := n.Code()
		it, ok, err := p.item(code)
		if err != nil {
			return err
		}
		switch {
		case ok && n.Instance():
			return reject(CodeConflict, "items", "%s is commissioned already (by transaction %s)", code, it.Made.String()[:16])
		case ok && (it.Maker != p.signer || it.Expiry != b.Expiry):
			return reject(CodeConflict, "items", "lot %s was commissioned by another manufacturer or with another expiry", code)
		case ok:
			it.Units += uint64(n.Qty)
		default:
			it = &Item{Code: code, GTIN: n.GTIN, Serial: n.Serial, Lot: n.Lot, Expiry: b.Expiry, Standard: b.Standard, Cert: b.Certificate,
				Maker: p.signer, Made: p.id, Units: uint64(n.Qty), Instance: n.Instance()}
			if it.Instance {
				it.Status, it.Holder = ItemActive, p.signer
			}
			p.items[code] = it
			// A new item: no one holds any of it yet.
			p.holds[string(store.HoldingKey(p.signer, code))] = uint64(n.Qty)
			p.name(code)
			continue
		}
		if err := p.move(p.signer, code, int64(n.Qty)); err != nil {
			return err
		}
		p.name(code)
	}
	return nil
}

// held checks that the signer holds n, as a step that gives or uses it
// needs, and returns its item.
func (p *supplyPlan) held(n *ledger.SupplyItem, expiry string) (*Item, error) {
	code := n.Code()
	it, ok, err := p.item(code)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, reject(CodeConflict, "items", "%s was never commissioned", code)
	}
	if it.Instance && (it.Status != ItemActive || it.Holder != p.signer) {
		return nil, reject(CodeConflict, "items", "%s is not held by the signer (it is %s)", code, it.where())
	}
	if err := p.move(p.signer, code, -int64(n.Qty)); err != nil {
		return nil, err
	}
	p.marks(it, n, expiry)
	p.name(code)
	return it, nil
}

// where says where an instance is, for an error.
func (it *Item) where() string {
	switch {
	case it.Status != ItemActive:
		return it.Status
	case it.Transit != (ledger.Hash{}):
		return "in transit"
	case it.In != "":
		return "packed in " + it.In
	}
	return "held by another custodian"
}

func (p *supplyPlan) ship(b *ledger.SupplyEvent) error {
	role, err := p.blk.roleIn(b.To)
	if err != nil {
		return err
	}
	if !isCustodian(role) || b.To == p.signer {
		return reject(CodeInvalid, "to", "the receiver is another custodian: a manufacturer, distributor, warehouse or hospital")
	}
	for i := range b.Items {
		it, err := p.held(&b.Items[i], b.Expiry)
		if err != nil {
			return err
		}
		if it.Instance {
			it.Holder, it.Transit = [32]byte{}, p.id
		}
		if err := p.carry(it, p.signer, [32]byte{}); err != nil {
			return err
		}
	}
	if b.Ref != "" {
		// A receipt may name the shipment by its business transaction:
		// one in transit per receiver and reference.
		if prev, ok, err := p.blk.b.Get(store.OfferRefKey(b.To, b.Ref)); err != nil {
			return err
		} else if ok && len(prev) == 32 {
			o, ok, err := OfferOf(p.blk.b, ledger.Hash(prev))
			if err != nil {
				return err
			}
			if ok && o.Receipt == (ledger.Hash{}) {
				return reject(CodeConflict, "ref", "shipment %s to that custodian under this reference is still in transit", o.ID.String()[:16])
			}
		}
		p.ref = b.Ref
	}
	p.offer = &Offer{ID: p.id, From: p.signer, To: b.To, Items: b.Items, Left: b.Items}
	return nil
}

func (p *supplyPlan) receive(b *ledger.SupplyEvent) error {
	offer := b.Offer
	if b.Ref != "" {
		v, ok, err := p.blk.b.Get(store.OfferRefKey(p.signer, b.Ref))
		if err != nil {
			return err
		}
		if !ok || len(v) != 32 {
			return reject(CodeInvalid, "ref", "no shipment to the signer under this reference")
		}
		offer = ledger.Hash(v)
	}
	o, ok, err := OfferOf(p.blk.b, offer)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		return reject(CodeInvalid, "offer", "no shipment %s on this chain", offer.String()[:16])
	case o.To != p.signer:
		return reject(CodeWrongSigner, "signature", "a shipment is received by the custodian it was shipped to")
	case o.Receipt != (ledger.Hash{}) && o.Receipt == o.Voided:
		return reject(CodeConflict, "offer", "nothing of the shipment is in transit: its giver took back the rest (transaction %s)", o.Receipt.String()[:16])
	case o.Receipt != (ledger.Hash{}):
		return reject(CodeConflict, "offer", "the shipment was received already (transaction %s)", o.Receipt.String()[:16])
	case len(o.Receipts) >= MaxReceipts:
		return reject(CodeConflict, "offer", "a shipment is taken in at most %d receipts", MaxReceipts)
	}
	// What arrives: the items listed (a short delivery), or all that is
	// still in transit.
	taken, err := p.settle(&o, b.Items)
	if err != nil {
		return err
	}
	p.offer, p.taken = &o, taken
	return nil
}

// settle takes want (nothing listed: all still in transit) out of
// shipment o into the signer's stock, a receipt's or a void's: a
// container with what it holds; it closes the shipment once nothing is
// left in transit.
func (p *supplyPlan) settle(o *Offer, want []ledger.SupplyItem) ([]ledger.SupplyItem, error) {
	taken, left, err := takeFrom(o.Left, want)
	if err != nil {
		return nil, err
	}
	for i := range taken {
		n := &taken[i]
		it, ok, err := p.item(n.Code())
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: a shipment of an item never commissioned", store.ErrCorrupt)
		}
		if it.Instance {
			it.Holder, it.Transit = p.signer, ledger.Hash{}
		}
		if err := p.move(p.signer, it.Code, int64(n.Qty)); err != nil {
			return nil, err
		}
		p.name(it.Code)
		if err := p.carry(it, [32]byte{}, p.signer); err != nil {
			return nil, err
		}
	}
	o.Left, o.Receipts = left, append(o.Receipts, p.id)
	if len(left) == 0 {
		o.Receipt = p.id
	}
	return taken, nil
}

// void is the giver's taking back what of its shipment never arrived
// (EPCIS void_shipping): the items it lists, or all still in transit,
// return to its stock; once nothing is in transit the shipment is closed.
// A donation's shipment, and a charity's allocation to a hospital (its
// units count against the hospital's needs), are not voided.
func (p *supplyPlan) void(b *ledger.SupplyEvent) error {
	o, ok, err := OfferOf(p.blk.b, b.Offer)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		return reject(CodeInvalid, "offer", "no shipment %s on this chain", b.Offer.String()[:16])
	case o.From != p.signer:
		return reject(CodeWrongSigner, "signature", "a shipment is voided by the custodian that shipped it")
	case o.Receipt != (ledger.Hash{}):
		return reject(CodeConflict, "offer", "nothing of the shipment is in transit (closed by transaction %s)", o.Receipt.String()[:16])
	case len(o.Receipts) >= MaxReceipts:
		return reject(CodeConflict, "offer", "a shipment is taken in at most %d receipts and voids", MaxReceipts)
	}
	if _, _, linked, err := DonationOfShipment(p.blk.b, o.ID); err != nil {
		return err
	} else if linked {
		return reject(CodeConflict, "offer", "a donation's shipment is received, not voided (not yet supported)")
	}
	if from, err := p.blk.roleIn(o.From); err != nil {
		return err
	} else if to, err := p.blk.roleIn(o.To); err != nil {
		return err
	} else if from == ledger.RoleCharity && to == ledger.RoleHospital {
		return reject(CodeConflict, "offer", "a charity's allocation to a hospital is received, not voided: its units count against the hospital's needs")
	}
	if _, err := p.settle(&o, b.Items); err != nil {
		return err
	}
	o.Voided = p.id
	p.offer = &o
	return nil
}

// MaxReceipts bounds the receipts that take one shipment.
const MaxReceipts = 16

// takeFrom takes want (nothing listed: everything) from what is in
// transit, refusing what is not there; it returns what is taken and what
// is left.
func takeFrom(transit, want []ledger.SupplyItem) (taken, left []ledger.SupplyItem, err error) {
	taken, left, bad := ledger.TakeFrom(transit, want)
	if bad != "" {
		return nil, nil, reject(CodeConflict, "items", "%s", bad)
	}
	return taken, left, nil
}

// use takes items out of stock for good (consumed, destroyed, or a
// transformation's inputs).
func (p *supplyPlan) use(items []ledger.SupplyItem, expiry, status string) error {
	for i := range items {
		it, err := p.held(&items[i], expiry)
		if err != nil {
			return err
		}
		if it.Contents > 0 {
			return reject(CodeConflict, "items", "%s holds %d item(s): unpack it first", it.Code, it.Contents)
		}
		if it.Instance {
			it.Status, it.Holder = status, [32]byte{}
		}
	}
	return nil
}

// observe is a scan: custody does not change; what the scan shows of a
// counterfeit raises signals.
func (p *supplyPlan) observe(b *ledger.SupplyEvent) error {
	for i := range b.Items {
		n := &b.Items[i]
		code := n.Code()
		p.name(code)
		it, ok, err := p.item(code)
		if err != nil {
			return err
		}
		if !ok {
			p.signal(code, SignalUncommissioned, "no manufacturer commissioned it")
			continue
		}
		p.marks(it, n, b.Expiry)
		if !it.Instance {
			// Units held here, loose or packed.
			loose, err := p.holding(p.signer, code)
			if err != nil {
				return err
			}
			packed, err := p.holding(packedKey(p.signer), code)
			if err != nil {
				return err
			}
			if have := loose + packed; have < uint64(n.Qty) {
				p.signal(code, SignalCustodyGap, fmt.Sprintf("%d unit(s) seen, %d held here", n.Qty, have))
			}
			continue
		}
		if it.In != "" {
			if err := p.observeInside(it); err != nil {
				return err
			}
			continue
		}
		if err := p.carry(it, [32]byte{}, [32]byte{}); err != nil {
			return err
		}
		switch {
		case it.Status != ItemActive:
			p.signal(code, SignalAfterUse, "seen after it was "+it.Status)
		case it.Transit != (ledger.Hash{}):
			o, ok, err := OfferOf(p.blk.b, it.Transit)
			if err != nil {
				return err
			}
			if !ok || o.To != p.signer {
				p.signal(code, SignalCustodyGap, "seen here while shipped to another custodian, not yet received")
			}
		case it.Holder != p.signer:
			p.signal(code, SignalTwoHolders, "seen here while another custodian holds it")
		}
	}
	return nil
}

// MaxContents bounds what one container holds, all the way down (the
// cases on a pallet and what each case holds; a lot counts once per
// container it is in): each step of the container is a step of each item
// in it (its provenance), so this bounds what one step writes.
const MaxContents = 1024

// packedKey is where the state counts the units of lots packed in
// containers custodian holds (a key no one holds): a scan of units of a
// lot weighs what the scanner holds loose and packed.
func packedKey(custodian [32]byte) [32]byte {
	return sha256.Sum256(append([]byte("epiledger/v1/packed\x00"), custodian[:]...))
}

// contents returns the codes of what container code holds directly, in
// code order, with the units of each (this step's changes too).
func (p *supplyPlan) contents(code string) ([]string, map[string]uint64, error) {
	ck := ledger.ContainerKey(code)
	held, err := Holdings(p.blk.b, ck)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for _, c := range slices.Sorted(maps.Keys(held)) {
		if held[c], err = p.holding(ck, c); err != nil {
			return nil, nil, err
		}
		if held[c] > 0 {
			out = append(out, c)
		}
	}
	return out, held, nil
}

// packed is what a container holds of an item, directly.
type packed struct {
	code  string
	units uint64
	lot   bool
}

// peek reads item code as this step sees it, without taking it into the
// plan's writes.
func (p *supplyPlan) peek(code string) (*Item, bool, error) {
	if it, ok := p.items[code]; ok {
		return it, true, nil
	}
	if it, ok := p.blk.supplyItems[code]; ok {
		return &it, true, nil
	}
	it, ok, err := ItemOf(p.blk.b, code)
	return &it, ok, err
}

// subtree returns what container it holds, and what the containers among
// that hold, depth first in code order.
func (p *supplyPlan) subtree(it *Item) ([]packed, error) {
	var out []packed
	var walk func(it *Item) error
	walk = func(it *Item) error {
		if it.Contents == 0 {
			return nil
		}
		codes, units, err := p.contents(it.Code)
		if err != nil {
			return err
		}
		if len(codes) != int(it.Contents) {
			return fmt.Errorf("%w: container %s counts %d item(s), holds %d", store.ErrCorrupt, it.Code, it.Contents, len(codes))
		}
		for _, code := range codes {
			in, ok, err := p.peek(code)
			if err != nil {
				return err
			}
			if !ok || len(out) >= MaxContents {
				return fmt.Errorf("%w: container %s holds %s, which the store does not hold, or more than %d items", store.ErrCorrupt, it.Code, code, MaxContents)
			}
			out = append(out, packed{code: code, units: units[code], lot: !in.Instance})
			if in.Instance {
				if err := walk(in); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(it)
}

// carry names what container it holds, all the way down, in the step's
// history (the items go where the container goes), and moves the units
// of lots among them from the packed stock of custodian from to that of
// to (zero: in transit).
func (p *supplyPlan) carry(it *Item, from, to [32]byte) error {
	sub, err := p.subtree(it)
	if err != nil {
		return err
	}
	for _, e := range sub {
		p.name(e.code)
		if !e.lot {
			continue
		}
		if from != ([32]byte{}) {
			if err := p.move(packedKey(from), e.code, -int64(e.units)); err != nil {
				return err
			}
		}
		if to != ([32]byte{}) {
			if err := p.move(packedKey(to), e.code, int64(e.units)); err != nil {
				return err
			}
		}
	}
	return nil
}

// name adds code to the step's history, once.
func (p *supplyPlan) name(code string) {
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if !p.seen[code] {
		p.seen[code] = true
		p.named = append(p.named, code)
	}
}

// outermost returns the container that holds container code, all the way
// up: where an item packed in code is.
func (p *supplyPlan) outermost(code string) (*Item, error) {
	for range MaxContents + 1 {
		c, ok, err := p.peek(code)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: an item is packed in %s, which the store does not hold", store.ErrCorrupt, code)
		}
		if c.In == "" {
			return c, nil
		}
		code = c.In
	}
	return nil, fmt.Errorf("%w: containers nested deeper than %d", store.ErrCorrupt, MaxContents)
}

// observeInside raises the signals of a scan of an item packed in a
// container: it is where the outermost container is.
func (p *supplyPlan) observeInside(it *Item) error {
	c, err := p.outermost(it.In)
	if err != nil {
		return err
	}
	switch {
	case c.Transit != (ledger.Hash{}):
		o, ok, err := OfferOf(p.blk.b, c.Transit)
		if err != nil {
			return err
		}
		if !ok || o.To != p.signer {
			p.signal(it.Code, SignalCustodyGap, "seen here while its container "+c.Code+" is shipped to another custodian")
		}
	case c.Holder != p.signer:
		p.signal(it.Code, SignalTwoHolders, "seen here while another custodian holds its container "+c.Code)
	}
	return nil
}

// pack puts the signer's items into a container it holds (an SSCC is made
// by its first packing): instances, units of lots, or other containers
// with what they hold. They leave its stock for the container's, and go
// where the container goes until unpacked.
func (p *supplyPlan) pack(b *ledger.SupplyEvent) error {
	cont := b.Outputs[0]
	ccode := cont.Code()
	c, ok, err := p.item(ccode)
	switch {
	case err != nil:
		return err
	case !ok && !cont.IsSSCC():
		return reject(CodeConflict, "outputs", "%s was never commissioned: a serialised container is made first", ccode)
	case !ok:
		c = &Item{Code: ccode, Serial: cont.Serial, Instance: true, Status: ItemActive, Holder: p.signer, Maker: p.signer, Made: p.id, Units: 1}
		p.items[ccode] = c
		p.holds[string(store.HoldingKey(p.signer, ccode))] = 1 // a new item: no one held it
	case !c.Instance:
		return reject(CodeConflict, "outputs", "%s is a lot, not a container", ccode)
	case c.Status != ItemActive || c.Holder != p.signer:
		return reject(CodeConflict, "outputs", "the container %s is not held by the signer (it is %s)", ccode, c.where())
	}
	// What the container will hold, all the way down.
	sub, err := p.subtree(c)
	if err != nil {
		return err
	}
	total := len(sub)
	ck := ledger.ContainerKey(ccode)
	for i := range b.Items {
		n := &b.Items[i]
		it, err := p.held(n, b.Expiry)
		if err != nil {
			return err
		}
		if !it.Instance {
			had, err := p.holding(ck, it.Code)
			if err != nil {
				return err
			}
			if had == 0 {
				total++
				c.Contents++
			}
			if had+uint64(n.Qty) > math.MaxUint32 {
				return reject(CodeConflict, "items", "%s: a container holds at most %d units of a lot", it.Code, uint32(math.MaxUint32))
			}
			if err := p.move(ck, it.Code, int64(n.Qty)); err != nil {
				return err
			}
			if err := p.move(packedKey(p.signer), it.Code, int64(n.Qty)); err != nil {
				return err
			}
			continue
		}
		// An instance, or a container with what it holds (the signer
		// holds it, so it holds neither c nor what holds c).
		inner, err := p.subtree(it)
		if err != nil {
			return err
		}
		total += 1 + len(inner)
		if total > MaxContents {
			break
		}
		if err := p.carry(it, [32]byte{}, [32]byte{}); err != nil {
			return err
		}
		it.Holder, it.In = ck, ccode
		c.Contents++
		if err := p.move(ck, it.Code, 1); err != nil {
			return err
		}
	}
	if total > MaxContents {
		return reject(CodeConflict, "items", "a container holds at most %d items, what it holds included", MaxContents)
	}
	p.name(ccode)
	return nil
}

// unpack takes items (all, if it names none) out of a container the
// signer holds, into its stock: an instance, units of a lot, or a
// container with what it holds.
func (p *supplyPlan) unpack(b *ledger.SupplyEvent) error {
	ccode := b.Items[0].Code()
	c, ok, err := p.item(ccode)
	switch {
	case err != nil:
		return err
	case !ok:
		return reject(CodeConflict, "items", "%s was never packed", ccode)
	case c.Status != ItemActive || c.Holder != p.signer:
		return reject(CodeConflict, "items", "the container %s is not held by the signer (it is %s)", ccode, c.where())
	}
	ck := ledger.ContainerKey(ccode)
	// What comes out, by code: what the step names, or all it holds.
	codes, units := make([]string, 0, len(b.Outputs)), map[string]uint64{}
	for _, n := range b.Outputs {
		codes, units[n.Code()] = append(codes, n.Code()), uint64(n.Qty)
	}
	if len(b.Outputs) == 0 {
		if codes, units, err = p.contents(ccode); err != nil {
			return err
		}
	}
	for _, code := range codes {
		qty := units[code]
		it, ok, err := p.item(code)
		if err != nil {
			return err
		}
		have, err := p.holding(ck, code)
		if err != nil {
			return err
		}
		switch {
		case !ok || have == 0 || it.Instance && it.In != ccode:
			return reject(CodeConflict, "outputs", "%s is not in the container %s", code, ccode)
		case have < qty:
			return reject(CodeConflict, "outputs", "%s: %d unit(s) in the container %s, %d taken out", code, have, ccode, qty)
		}
		if err := p.move(ck, code, -int64(qty)); err != nil {
			return err
		}
		if err := p.move(p.signer, code, int64(qty)); err != nil {
			return err
		}
		if have == qty {
			c.Contents--
		}
		p.name(code)
		if !it.Instance {
			if err := p.move(packedKey(p.signer), code, -int64(qty)); err != nil {
				return err
			}
			continue
		}
		it.Holder, it.In = p.signer, ""
		if err := p.carry(it, [32]byte{}, [32]byte{}); err != nil {
			return err
		}
	}
	p.name(ccode)
	return nil
}

// write writes the plan: items, holdings, the shipment, the history and
// the signals, in a fixed order.
func (p *supplyPlan) write(step string) error {
	blk := p.blk
	if blk.supplyItems == nil {
		blk.supplyItems, blk.supplyHolds = map[string]Item{}, map[string]uint64{}
	}
	for _, code := range slices.Sorted(maps.Keys(p.items)) {
		it := p.items[code]
		it.LastStep = step
		if err := blk.set(store.SupplyItemKey(code), encodeItem(it)); err != nil {
			return err
		}
		blk.supplyItems[code] = *it // what later steps of this block read
	}
	for _, k := range slices.Sorted(maps.Keys(p.holds)) {
		if err := blk.set([]byte(k), binary.BigEndian.AppendUint64(nil, p.holds[k])); err != nil {
			return err
		}
		blk.supplyHolds[k] = p.holds[k]
	}
	if p.offer != nil {
		if err := blk.set(store.OfferKey(p.offer.ID), encodeOffer(p.offer)); err != nil {
			return err
		}
		if p.ref != "" {
			if err := blk.set(store.OfferRefKey(p.offer.To, p.ref), p.offer.ID[:]); err != nil {
				return err
			}
		}
	}
	for _, code := range p.named {
		if err := blk.set(store.SupplyHistoryKey(code, blk.height, uint32(len(blk.txids)), p.id), nil); err != nil {
			return err
		}
	}
	for _, s := range p.signals {
		kind := byte(0)
		for i, k := range SignalKinds {
			if k == s.Kind {
				kind = byte(i)
			}
		}
		var x w
		x.i64(blk.now)
		x.raw(s.Custodian[:])
		x.str(s.Detail)
		if err := blk.set(store.SupplySignalKey(s.Code, blk.height, uint32(len(blk.txids)), p.id, kind), x.b); err != nil {
			return err
		}
	}
	return nil
}
