package state

import (
	"fmt"
	"maps"
	"slices"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// Donations (issue 17, docs/SUPPLY.md). The state keeps each donation
// as its steps leave it: what was pledged, what arrived, what the money
// bought, what went to which hospital and what the hospitals received,
// and public totals per charity, hospital and product. A step that would
// take more than the donation brought (more money received than pledged,
// more spent than received, more units allocated than received and
// bought) is refused and writes nothing; a shipment carries one donation
// at most. The hospital's receipt of an allocation is the delivery: it
// is counted here as the supply step is applied.

// MaxDonationSteps bounds a donation's steps (each proven in its public
// view, which reads one block per step), deliveries included.
const MaxDonationSteps = 256

// maxDonationProducts bounds the products one donation counts.
const maxDonationProducts = 256

// Donation is a donation as its steps left it.
type Donation struct {
	ID                       ledger.Hash // the pledge's transaction: the donor's receipt id
	Donor, Charity           [32]byte
	Name, Purpose            string
	Time                     int64 // the pledge's
	Height                   uint64
	Pledged, Received, Spent uint64 // money, in fen
	Goods                    []DonatedGoods
	Steps                    []ledger.Hash // after the pledge, in order: the charity's steps and the hospitals' receipts
	Pending                  uint32        // allocations not yet received
}

// DonatedGoods is what a donation counts of one product, in units.
type DonatedGoods struct {
	GTIN                                            string
	Pledged, Received, Bought, Allocated, Delivered uint64
}

// line returns the donation's counts of product gtin, added if new.
func (d *Donation) line(gtin string) (*DonatedGoods, bool) {
	i, ok := slices.BinarySearchFunc(d.Goods, gtin, func(g DonatedGoods, t string) int {
		switch {
		case g.GTIN < t:
			return -1
		case g.GTIN > t:
			return 1
		}
		return 0
	})
	if !ok {
		d.Goods = slices.Insert(d.Goods, i, DonatedGoods{GTIN: gtin})
	}
	return &d.Goods[i], !ok
}

func encodeDonation(d *Donation) []byte {
	var x w
	x.raw(d.Donor[:])
	x.raw(d.Charity[:])
	x.str(d.Name)
	x.str(d.Purpose)
	x.i64(d.Time)
	x.i64(int64(d.Height))
	x.i64(int64(d.Pledged))
	x.i64(int64(d.Received))
	x.i64(int64(d.Spent))
	x.u32(d.Pending)
	x.u32(uint32(len(d.Goods)))
	for _, g := range d.Goods {
		x.str(g.GTIN)
		for _, v := range []uint64{g.Pledged, g.Received, g.Bought, g.Allocated, g.Delivered} {
			x.i64(int64(v))
		}
	}
	x.u32(uint32(len(d.Steps)))
	for _, s := range d.Steps {
		x.raw(s[:])
	}
	return x.b
}

// DonationOf returns donation id (its pledge's transaction).
func DonationOf(rd store.Reader, id ledger.Hash) (Donation, bool, error) {
	v, ok, err := rd.Get(store.DonationKey(id))
	if err != nil || !ok {
		return Donation{}, false, err
	}
	x := r2(v)
	d := Donation{ID: id}
	copy(d.Donor[:], x.take(32))
	copy(d.Charity[:], x.take(32))
	d.Name, d.Purpose = x.str(), x.str()
	d.Time, d.Height = x.i64(), uint64(x.i64())
	d.Pledged, d.Received, d.Spent = uint64(x.i64()), uint64(x.i64()), uint64(x.i64())
	d.Pending = x.u32()
	n := int(x.u32())
	if n > maxDonationProducts {
		return d, false, fmt.Errorf("%w: a donation", store.ErrCorrupt)
	}
	for i := 0; i < n; i++ {
		g := DonatedGoods{GTIN: x.str()}
		for _, p := range []*uint64{&g.Pledged, &g.Received, &g.Bought, &g.Allocated, &g.Delivered} {
			*p = uint64(x.i64())
		}
		d.Goods = append(d.Goods, g)
	}
	n = int(x.u32())
	if n > MaxDonationSteps {
		return d, false, fmt.Errorf("%w: a donation", store.ErrCorrupt)
	}
	for i := 0; i < n; i++ {
		d.Steps = append(d.Steps, ledger.Hash(x.take(32)))
	}
	if err := x.err("donation"); err != nil {
		return d, false, err
	}
	return d, true, nil
}

// Donation links: how a shipment carries a donation.
const (
	LinkReceived  = 'r' // the goods the donor gave, received by the charity
	LinkBought    = 'p' // what the money bought, shipped to the charity
	LinkAllocated = 'a' // the charity's shipment to a hospital
)

// DonationOfShipment returns the donation shipment id carries, and how
// (a Link kind), if any.
func DonationOfShipment(rd store.Reader, id ledger.Hash) (ledger.Hash, byte, bool, error) {
	v, ok, err := rd.Get(store.DonationShipKey(id))
	if err != nil || !ok {
		return ledger.Hash{}, 0, false, err
	}
	if len(v) != 33 {
		return ledger.Hash{}, 0, false, fmt.Errorf("%w: a donation link", store.ErrCorrupt)
	}
	return ledger.Hash(v[:32]), v[32], true, nil
}

// Totals are the public totals of a charity, a hospital or a product:
// how many donations (a charity's taken, a product's given under, a
// hospital's allocations), the money, and the units of each product.
type Totals struct {
	Donations                uint64
	Pledged, Received, Spent uint64 // money, in fen (a charity's)
	Goods                    []DonatedGoods
}

// TotalsOf returns who's totals in scope (store.ScopeCharity, ScopeHospital
// or ScopeProduct).
func TotalsOf(rd store.Reader, scope byte, who []byte) (Totals, error) {
	lo, hi := store.DonationTotalRange(scope, who)
	var t Totals
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		x := r2(v)
		var c [5]uint64
		for i := range c {
			c[i] = uint64(x.i64())
		}
		if derr = x.err("donation totals"); derr != nil {
			return false
		}
		gtin := string(k[len(lo):])
		if gtin == "" {
			t.Donations, t.Pledged, t.Received, t.Spent = c[0], c[1], c[2], c[3]
			return true
		}
		t.Goods = append(t.Goods, DonatedGoods{GTIN: gtin, Pledged: c[0], Received: c[1], Bought: c[2], Allocated: c[3], Delivered: c[4]})
		return true
	})
	if err == nil {
		err = derr
	}
	return t, err
}

// DonationsUnder returns the donations under who in scope (a charity's,
// a hospital's, a product's), at most max, in id order.
func DonationsUnder(rd store.Reader, scope byte, who []byte, max int) ([]ledger.Hash, bool, error) {
	lo, hi := store.DonationIndexRange(scope, who)
	var out []ledger.Hash
	more := false
	err := rd.Scan(lo, hi, func(k, _ []byte) bool {
		if len(out) == max {
			more = true
			return false
		}
		out = append(out, ledger.Hash(k[len(k)-32:]))
		return true
	})
	return out, more, err
}

// addTotals adds counts to who's totals in scope: c is (donations,
// pledged, received, spent) for the money row (gtin ""), (pledged,
// received, bought, allocated, delivered) units for a product's.
func (blk *Block) addTotals(scope byte, who []byte, gtin string, c [5]uint64) error {
	k := store.DonationTotalKey(scope, who, gtin)
	have, err := blk.totals(k)
	if err != nil {
		return err
	}
	var x w
	for i := range have {
		x.i64(int64(have[i] + c[i]))
	}
	return blk.set(k, x.b)
}

// totals reads one row of totals.
func (blk *Block) totals(k []byte) ([5]uint64, error) {
	var have [5]uint64
	v, ok, err := blk.b.Get(k)
	if err != nil || !ok {
		return have, err
	}
	x := r2(v)
	for i := range have {
		have[i] = uint64(x.i64())
	}
	return have, x.err("donation totals")
}

// donationPledge takes a donor's pledge, signed by the donor and the
// charity it names.
func (blk *Block) donationPledge(tx *ledger.Tx, id ledger.Hash, b *ledger.DonationPledge) error {
	donor, charity := tx.Sigs[0].Key, tx.Sigs[1].Key
	if charity != b.Charity {
		return reject(CodeWrongSigner, "signature", "a pledge is signed second by the charity it names")
	}
	if donor == charity {
		return reject(CodeWrongSigner, "signature", "a pledge is signed first by the donor, a key other than the charity's")
	}
	role, err := blk.roleIn(charity)
	if err != nil {
		return err
	}
	if role != ledger.RoleCharity {
		return reject(CodeWrongSigner, "signature", "the pledge's charity is a key holding the role charity")
	}
	// The charity's pledged total bounds its received and spent ones
	// (each donation's do not exceed its pledge): it alone may overflow.
	if t, err := blk.totals(store.DonationTotalKey(store.ScopeCharity, charity[:], "")); err != nil {
		return err
	} else if t[1]+b.Amount < t[1] {
		return reject(CodeConflict, "amount", "the charity's pledged total would overflow")
	}
	d := Donation{ID: id, Donor: donor, Charity: charity, Name: b.Name, Purpose: b.Purpose, Time: b.Time, Height: blk.height, Pledged: b.Amount}
	if err := blk.addTotals(store.ScopeCharity, charity[:], "", [5]uint64{1, b.Amount}); err != nil {
		return err
	}
	if err := blk.set(store.DonationIndexKey(store.ScopeCharity, charity[:], id), nil); err != nil {
		return err
	}
	for _, g := range b.Goods {
		l, _ := d.line(g.GTIN)
		l.Pledged = uint64(g.Units)
		if err := blk.countGoods(&d, g.GTIN, [5]uint64{uint64(g.Units)}, true); err != nil {
			return err
		}
	}
	return blk.set(store.DonationKey(id), encodeDonation(&d))
}

// countGoods adds units of gtin to the donation's charity's totals and
// the product's; first says the donation names the product for the first
// time (the product's donations count it, its index lists it).
func (blk *Block) countGoods(d *Donation, gtin string, c [5]uint64, first bool) error {
	if err := blk.addTotals(store.ScopeCharity, d.Charity[:], gtin, c); err != nil {
		return err
	}
	if first {
		if err := blk.addTotals(store.ScopeProduct, []byte(gtin), "", [5]uint64{1}); err != nil {
			return err
		}
		if err := blk.set(store.DonationIndexKey(store.ScopeProduct, []byte(gtin), d.ID), nil); err != nil {
			return err
		}
	}
	return blk.addTotals(store.ScopeProduct, []byte(gtin), gtin, c)
}

// donationStep applies a charity's step with a donation: everything is
// checked before anything is written.
func (blk *Block) donationStep(tx *ledger.Tx, id ledger.Hash, b *ledger.DonationStep) error {
	d, ok, err := DonationOf(blk.b, b.Pledge)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		return reject(CodeInvalid, "pledge", "no donation %s on this chain", b.Pledge.String()[:16])
	case tx.Sigs[0].Key != d.Charity:
		return reject(CodeWrongSigner, "signature", "a donation's steps are signed by the charity that took its pledge")
	case len(d.Steps)+int(d.Pending)+1 > MaxDonationSteps:
		return reject(CodeConflict, "pledge", "the donation has %d steps and deliveries to come, the most one holds: pledge anew", MaxDonationSteps)
	}
	if role, err := blk.roleIn(d.Charity); err != nil {
		return err
	} else if role != ledger.RoleCharity {
		return reject(CodeWrongSigner, "signature", "the donation's charity no longer holds the role charity")
	}
	var o Offer
	link := byte(0)
	if b.Shipment != (ledger.Hash{}) {
		var ok bool
		if o, ok, err = OfferOf(blk.b, b.Shipment); err != nil {
			return err
		} else if !ok {
			return reject(CodeInvalid, "shipment", "no shipment %s on this chain", b.Shipment.String()[:16])
		} else if o.Voided != (ledger.Hash{}) {
			return reject(CodeConflict, "shipment", "the shipment was voided in part by its giver (transaction %s): what it brought is not its items", o.Voided.String()[:16])
		}
		if prev, _, ok, err := DonationOfShipment(blk.b, b.Shipment); err != nil {
			return err
		} else if ok {
			return reject(CodeConflict, "shipment", "the shipment carries donation %s already", prev.String()[:16])
		}
	}
	units := map[string]uint64{}
	for _, it := range o.Items {
		if it.IsSSCC() {
			return reject(CodeConflict, "shipment", "a donation counts products: this shipment moves a logistic unit (%s) that names none; ship the items unpacked", it.Code())
		}
		units[it.GTIN] += uint64(it.Qty)
	}
	gtins := slices.Sorted(maps.Keys(units)) // in order: a refusal names the same product on every node
	var money [5]uint64                      // the charity's money row: donations, pledged, received, spent
	var hospital [32]byte
	switch b.Step {
	case ledger.DonationReceive:
		if b.Amount > 0 {
			if d.Received+b.Amount > d.Pledged {
				return reject(CodeConflict, "amount", "%d fen received in all would exceed the %d pledged", d.Received+b.Amount, d.Pledged)
			}
			d.Received += b.Amount
			money[2] = b.Amount
			break
		}
		if o.To != d.Charity || o.Receipt == (ledger.Hash{}) {
			return reject(CodeConflict, "shipment", "the goods' shipment is one the charity received (a supply receipt first)")
		}
		for _, gtin := range gtins {
			u := units[gtin]
			l, _ := d.line(gtin)
			if l.Received+u > l.Pledged {
				return reject(CodeConflict, "shipment", "%s: %d unit(s) received in all would exceed the %d pledged", gtin, l.Received+u, l.Pledged)
			}
			l.Received += u
		}
		link = LinkReceived
	case ledger.DonationPurchase:
		if d.Spent+b.Amount > d.Received {
			return reject(CodeConflict, "amount", "%d fen spent in all would exceed the %d received", d.Spent+b.Amount, d.Received)
		}
		if o.To != d.Charity {
			return reject(CodeConflict, "shipment", "a purchase's shipment is one to the charity")
		}
		d.Spent += b.Amount
		money[3] = b.Amount
		for _, gtin := range gtins {
			u := units[gtin]
			l, _ := d.line(gtin)
			l.Bought += u
		}
		link = LinkBought
	case ledger.DonationAllocate:
		if o.From != d.Charity {
			return reject(CodeConflict, "shipment", "an allocation's shipment is the charity's own")
		}
		role, err := blk.roleIn(o.To)
		if err != nil {
			return err
		}
		if role != ledger.RoleHospital {
			return reject(CodeConflict, "shipment", "an allocation's shipment goes to a hospital")
		}
		for _, gtin := range gtins {
			u := units[gtin]
			l, _ := d.line(gtin)
			if l.Allocated+u > l.Received+l.Bought {
				return reject(CodeConflict, "shipment", "%s: %d unit(s) allocated in all would exceed the %d the donation brought", gtin, l.Allocated+u, l.Received+l.Bought)
			}
			l.Allocated += u
		}
		hospital, link = o.To, LinkAllocated
		if o.Receipt == (ledger.Hash{}) {
			d.Pending++
		}
	}
	if len(d.Goods) > maxDonationProducts {
		return reject(CodeConflict, "shipment", "a donation counts at most %d products", maxDonationProducts)
	}
	// Checked: write.
	d.Steps = append(d.Steps, id)
	if money != ([5]uint64{}) {
		if err := blk.addTotals(store.ScopeCharity, d.Charity[:], "", money); err != nil {
			return err
		}
	}
	before, _, err := DonationOf(blk.b, d.ID)
	if err != nil {
		return err
	}
	for _, gtin := range slices.Sorted(maps.Keys(units)) {
		u := units[gtin]
		first := !slices.ContainsFunc(before.Goods, func(g DonatedGoods) bool { return g.GTIN == gtin })
		var c [5]uint64
		switch link {
		case LinkReceived:
			c[1] = u
		case LinkBought:
			c[2] = u
		case LinkAllocated:
			c[3] = u
			if err := blk.addTotals(store.ScopeHospital, hospital[:], gtin, c); err != nil {
				return err
			}
		}
		if err := blk.countGoods(&d, gtin, c, first); err != nil {
			return err
		}
	}
	if link == LinkAllocated {
		if err := blk.addTotals(store.ScopeHospital, hospital[:], "", [5]uint64{1}); err != nil {
			return err
		}
		if err := blk.set(store.DonationIndexKey(store.ScopeHospital, hospital[:], d.ID), nil); err != nil {
			return err
		}
		if len(o.Receipts) > 0 {
			// Received (in part, or whole) before it was named:
			// delivered so far.
			if err := blk.deliver(&d, o.To, arrived(&o), false); err != nil {
				return err
			}
		}
	}
	if link != 0 {
		if err := blk.set(store.DonationShipKey(b.Shipment), append(d.ID[:len(d.ID):len(d.ID)], link)); err != nil {
			return err
		}
	}
	return blk.set(store.DonationKey(d.ID), encodeDonation(&d))
}

// arrived is what of shipment o its receipts took so far.
func arrived(o *Offer) []ledger.SupplyItem {
	left := map[string]uint32{}
	for _, it := range o.Left {
		left[it.Code()] = it.Qty
	}
	var out []ledger.SupplyItem
	for _, it := range o.Items {
		if it.Qty > left[it.Code()] {
			it.Qty -= left[it.Code()]
			out = append(out, it)
		}
	}
	return out
}

// deliver counts items a hospital received of an allocation of donation
// d (the caller writes d); final says the receipt took the last of the
// shipment after the allocation was named: it is then a step of the
// donation, and the allocation no longer in transit.
func (blk *Block) deliver(d *Donation, hospital [32]byte, items []ledger.SupplyItem, final bool, receipt ...ledger.Hash) error {
	units := map[string]uint64{}
	for _, it := range items {
		units[it.GTIN] += uint64(it.Qty)
	}
	for _, gtin := range slices.Sorted(maps.Keys(units)) {
		u := units[gtin]
		l, _ := d.line(gtin)
		l.Delivered += u
		c := [5]uint64{4: u}
		if err := blk.addTotals(store.ScopeHospital, hospital[:], gtin, c); err != nil {
			return err
		}
		if err := blk.countGoods(d, gtin, c, false); err != nil {
			return err
		}
	}
	if final {
		d.Steps = append(d.Steps, receipt...)
		d.Pending--
	}
	return nil
}

// delivered is called on a supply receipt that took items of shipment o:
// if it is a donation's allocation, the donation counts them.
func (blk *Block) delivered(o *Offer, taken []ledger.SupplyItem) error {
	pledge, link, ok, err := DonationOfShipment(blk.b, o.ID)
	if err != nil || !ok || link != LinkAllocated {
		return err
	}
	d, ok, err := DonationOf(blk.b, pledge)
	if err != nil {
		return err
	}
	final := o.Receipt != (ledger.Hash{})
	if !ok || final && d.Pending == 0 {
		return fmt.Errorf("%w: a donation's allocation", store.ErrCorrupt)
	}
	if err := blk.deliver(&d, o.To, taken, final, o.Receipt); err != nil {
		return err
	}
	return blk.set(store.DonationKey(d.ID), encodeDonation(&d))
}
