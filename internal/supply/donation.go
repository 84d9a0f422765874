package supply

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/epiledger/epiledger/internal/ledger"
)

// Shipment is a supply shipment as a donation's proven transactions give
// it: the ship step and its receipts, in order (a short delivery, then
// the rest).
type Shipment struct {
	Ship     *ledger.Tx
	Receipts []*ledger.Tx
}

// Received is what s's receipts took, and the receipt that took the last
// of it (nil while any is in transit).
func (s Shipment) Received() (taken []ledger.SupplyItem, final *ledger.Tx, err error) {
	ev := s.Ship.Body.(*ledger.SupplyEvent)
	left := ev.Items
	for i, r := range s.Receipts {
		b, ok := r.Body.(*ledger.SupplyEvent)
		if !ok || b.Step != ledger.StepReceive || len(r.Sigs) != 1 || r.Sigs[0].Key != ev.To ||
			b.Offer != s.Ship.ID() && (b.Ref == "" || b.Ref != ev.Ref) {
			return nil, nil, fmt.Errorf("the shipment's receipt is not its receiver's")
		}
		if len(left) == 0 {
			return nil, nil, fmt.Errorf("a receipt of a shipment received already")
		}
		got, rest, bad := ledger.TakeFrom(left, b.Items)
		if bad != "" {
			return nil, nil, fmt.Errorf("receipt %d: %s", i+1, bad)
		}
		taken, left = append(taken, got...), rest
		if len(left) == 0 {
			final = r
		}
	}
	return taken, final, nil
}

// GoodsCount is what a donation counts of one product, in units.
type GoodsCount struct {
	GTIN                                            string
	Pledged, Received, Bought, Allocated, Delivered uint64
}

// Donation is what a donation's transactions say of it: who gave what to
// which charity, the money received and spent, and the goods received,
// bought, allocated to hospitals and delivered.
type Donation struct {
	ID                       ledger.Hash
	Donor, Charity           [32]byte
	Name, Purpose            string
	Pledged, Received, Spent uint64 // fen
	Goods                    []GoodsCount
	Pending                  int // allocations not yet received
}

func (d *Donation) line(gtin string) *GoodsCount {
	i, ok := slices.BinarySearchFunc(d.Goods, gtin, func(g GoodsCount, t string) int { return cmp.Compare(g.GTIN, t) })
	if !ok {
		d.Goods = slices.Insert(d.Goods, i, GoodsCount{GTIN: gtin})
	}
	return &d.Goods[i]
}

// ReplayDonation derives a donation from its pledge, its steps in chain
// order (the charity's donation steps and the hospitals' receipts of its
// allocations) and the shipments the steps name. It fails on a step the
// state machine refuses, or on a shipment the answer does not give: what
// it returns is then what any chain that accepted these transactions
// holds. The keys' roles are not in the transactions: that the charity is
// a charity and the hospitals hospitals is the answer's word.
func ReplayDonation(pledge *ledger.Tx, steps []*ledger.Tx, ships map[ledger.Hash]Shipment) (*Donation, error) {
	p, ok := pledge.Body.(*ledger.DonationPledge)
	if !ok || len(pledge.Sigs) != 2 {
		return nil, fmt.Errorf("transaction %s is no pledge", pledge.ID().String()[:16])
	}
	if pledge.Sigs[1].Key != p.Charity || pledge.Sigs[0].Key == p.Charity {
		return nil, fmt.Errorf("the pledge is not signed by a donor and then by its charity")
	}
	d := &Donation{ID: pledge.ID(), Donor: pledge.Sigs[0].Key, Charity: p.Charity, Name: p.Name, Purpose: p.Purpose, Pledged: p.Amount}
	for _, g := range p.Goods {
		d.line(g.GTIN).Pledged = uint64(g.Units)
	}
	used := map[ledger.Hash]bool{}
	pending := map[ledger.Hash]bool{} // final receipts to come as steps
	later := map[ledger.Hash]bool{}   // receipts among the steps
	for _, tx := range steps {
		later[tx.ID()] = true
	}
	for _, tx := range steps {
		id := tx.ID()
		delete(later, id)
		var err error
		switch b := tx.Body.(type) {
		case *ledger.DonationStep:
			err = d.step(tx, b, ships, used, pending, later)
		case *ledger.SupplyEvent:
			if !pending[id] {
				err = fmt.Errorf("a receipt of no allocation of the donation")
				break
			}
			d.Pending--
			delete(pending, id)
		default:
			err = fmt.Errorf("a %s is no step of a donation", tx.Body.Kind())
		}
		if err != nil {
			return nil, fmt.Errorf("transaction %s: %w", id.String()[:16], err)
		}
	}
	// What reached the hospitals: every receipt of every allocation,
	// whenever it came.
	for sid := range used {
		s := ships[sid]
		if b := s.Ship.Body.(*ledger.SupplyEvent); b.To == d.Charity {
			continue // brought to the charity, not allocated
		}
		taken, _, _ := s.Received()
		d.deliver(taken)
	}
	return d, nil
}

func (d *Donation) deliver(items []ledger.SupplyItem) {
	for _, it := range items {
		d.line(it.GTIN).Delivered += uint64(it.Qty)
	}
}

// shipment checks that s is a shipment whose receipts are its
// receiver's, each of what was in transit, and returns its giver, its
// step and the receipt that took the last of it.
func shipment(s Shipment) ([32]byte, *ledger.SupplyEvent, *ledger.Tx, error) {
	ev, ok := s.Ship.Body.(*ledger.SupplyEvent)
	if !ok || ev.Step != ledger.StepShip || len(s.Ship.Sigs) != 1 {
		return [32]byte{}, nil, nil, fmt.Errorf("the shipment is no supply shipment")
	}
	_, final, err := s.Received()
	return s.Ship.Sigs[0].Key, ev, final, err
}

func (d *Donation) step(tx *ledger.Tx, b *ledger.DonationStep, ships map[ledger.Hash]Shipment, used, pending, later map[ledger.Hash]bool) error {
	if len(tx.Sigs) != 1 || tx.Sigs[0].Key != d.Charity || b.Pledge != d.ID {
		return fmt.Errorf("not a step of this donation by its charity")
	}
	var from [32]byte
	var ev *ledger.SupplyEvent
	var final *ledger.Tx
	if b.Shipment != (ledger.Hash{}) {
		s, ok := ships[b.Shipment]
		if !ok || s.Ship.ID() != b.Shipment {
			return fmt.Errorf("shipment %s is not in the answer", b.Shipment.String()[:16])
		}
		if used[b.Shipment] {
			return fmt.Errorf("shipment %s carries the donation twice", b.Shipment.String()[:16])
		}
		used[b.Shipment] = true
		var err error
		if from, ev, final, err = shipment(s); err != nil {
			return err
		}
	}
	switch b.Step {
	case ledger.DonationReceive:
		if b.Amount > 0 {
			if d.Received+b.Amount > d.Pledged {
				return fmt.Errorf("more received than pledged")
			}
			d.Received += b.Amount
			return nil
		}
		if ev.To != d.Charity || final == nil {
			return fmt.Errorf("goods received on a shipment the charity did not receive")
		}
		for _, it := range ev.Items {
			l := d.line(it.GTIN)
			if l.Received+uint64(it.Qty) > l.Pledged {
				return fmt.Errorf("more goods received than pledged")
			}
			l.Received += uint64(it.Qty)
		}
	case ledger.DonationPurchase:
		if d.Spent+b.Amount > d.Received || ev.To != d.Charity {
			return fmt.Errorf("a purchase beyond the money received, or shipped to another")
		}
		d.Spent += b.Amount
		for _, it := range ev.Items {
			d.line(it.GTIN).Bought += uint64(it.Qty)
		}
	case ledger.DonationAllocate:
		if from != d.Charity {
			return fmt.Errorf("an allocation shipped by another than the charity")
		}
		for _, it := range ev.Items {
			l := d.line(it.GTIN)
			if l.Allocated+uint64(it.Qty) > l.Received+l.Bought {
				return fmt.Errorf("more allocated than the donation brought")
			}
			l.Allocated += uint64(it.Qty)
		}
		// In transit until its last receipt, which, if it comes after,
		// is a step (what arrives is counted at the end).
		switch {
		case final == nil:
			d.Pending++
		case later[final.ID()]:
			d.Pending++
			pending[final.ID()] = true
		}
	default:
		return fmt.Errorf("unknown step %q", b.Step)
	}
	return nil
}
