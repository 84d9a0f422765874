// Package supply derives, from nothing but the transactions that named an
// item, what they say of it: who made it, who holds it, whether it was
// used, and the counterfeit signals (issue 17, docs/SUPPLY.md). The state
// machine keeps the same in its store; this is the check anyone can run on
// an item's proven provenance (epiledger supply check), and the tests
// hold the two to each other.
package supply

import (
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
)

// Signal kinds, as the state raises them (state.Signal*).
const (
	Uncommissioned = "uncommissioned"
	AfterUse       = "seen-after-use"
	TwoHolders     = "two-holders"
	LotMismatch    = "lot-mismatch"
	ExpiryMismatch = "expiry-mismatch"
	CustodyGap     = "custody-gap"
)

// Signal is a signal the events raise, by the transaction that raised it.
type Signal struct {
	Kind string
	Tx   ledger.Hash
}

// Item is what an item's events say of it.
type Item struct {
	Code         string
	Commissioned bool
	Instance     bool
	Maker        [32]byte
	Lot, Expiry  string
	Units        uint64 // units commissioned
	Status       string // an instance's: active, consumed, destroyed
	Holder       [32]byte
	Transit      ledger.Hash // the shipment an instance is in
	Held         map[[32]byte]uint64
	Signals      []Signal
	// In is the container the item is packed in ("" if none); where the
	// container is, from its steps the item's provenance lists: its
	// holder, or the shipment it is in.
	In                string
	Contents          map[string]bool // what a container holds
	inHolder          [32]byte
	inTransit         ledger.Hash
	containerShipment map[ledger.Hash]*ledger.SupplyEvent
	left              map[ledger.Hash]uint32 // units of it in transit, by shipment
}

// Replay derives item code from txs, the transactions that named it in
// chain order (each accepted by its chain). It fails on a transaction
// that does not name the item, or on a sequence no chain accepts.
func Replay(code string, txs []*ledger.Tx) (*Item, error) {
	it := &Item{Code: code, Held: map[[32]byte]uint64{}}
	offers := map[ledger.Hash]*ledger.SupplyEvent{}
	for _, tx := range txs {
		b, ok := tx.Body.(*ledger.SupplyEvent)
		if !ok || len(tx.Sigs) != 1 {
			return nil, fmt.Errorf("transaction %s is a %s, not a supply event", tx.ID().String()[:16], tx.Body.Kind())
		}
		if err := it.apply(tx.ID(), tx.Sigs[0].Key, b, offers); err != nil {
			return nil, fmt.Errorf("transaction %s (%s): %w", tx.ID().String()[:16], b.Step, err)
		}
	}
	return it, nil
}

func (it *Item) named(items []ledger.SupplyItem) (ledger.SupplyItem, bool) {
	for _, n := range items {
		if n.Code() == it.Code {
			return n, true
		}
	}
	return ledger.SupplyItem{}, false
}

func (it *Item) signal(kind string, id ledger.Hash) {
	it.Signals = append(it.Signals, Signal{Kind: kind, Tx: id})
}

// marks raises the lot and expiry signals of a step other than the
// commissioning.
func (it *Item) marks(id ledger.Hash, n ledger.SupplyItem, expiry string) {
	if n.Lot != "" && it.Lot != "" && n.Lot != it.Lot {
		it.signal(LotMismatch, id)
	}
	if expiry != "" && expiry != it.Expiry {
		it.signal(ExpiryMismatch, id)
	}
}

func (it *Item) apply(id ledger.Hash, by [32]byte, b *ledger.SupplyEvent, offers map[ledger.Hash]*ledger.SupplyEvent) error {
	if b.Step == ledger.StepReceive && it.In != "" {
		return it.container(id, by, b, offers) // packed, it is received with its container
	}
	if b.Step == ledger.StepReceive {
		offer := b.Offer
		if b.Ref != "" {
			// The shipment to the signer under that reference (one in
			// transit at a time).
			for oid, o := range offers {
				if o.To == by && o.Ref == b.Ref {
					offer = oid
				}
			}
		}
		o := offers[offer]
		if o == nil || o.To != by {
			return fmt.Errorf("a receipt of a shipment not among the item's events")
		}
		// The units of the item it takes: those it lists (a short
		// delivery), or all still in transit.
		q := it.left[offer]
		if len(b.Items) > 0 {
			n, ok := it.named(b.Items)
			if !ok || n.Qty > q {
				return fmt.Errorf("a receipt of more than is in transit")
			}
			q = n.Qty
		}
		it.Held[by] += uint64(q)
		if it.Instance {
			it.Holder, it.Transit = by, ledger.Hash{}
		}
		if it.left[offer] -= q; it.left[offer] == 0 {
			delete(offers, offer)
		}
		return nil
	}
	step, expiry := b.Step, b.Expiry
	n, ok := it.named(b.Items)
	if _, out := it.named(b.Outputs); !ok && !out {
		switch {
		case b.Step == ledger.StepUnpack && it.In != "" && b.Items[0].Code() == it.In:
			return it.packing(id, by, b) // all taken out
		case it.In != "":
			return it.container(id, by, b, offers)
		}
		return fmt.Errorf("it does not name the item")
	}
	if b.Step == ledger.StepPack || b.Step == ledger.StepUnpack {
		return it.packing(id, by, b)
	}
	if b.Step == ledger.StepTransform {
		// An input is used up (the expiry is the outputs'); an output is
		// made.
		step, expiry = ledger.StepConsume, ""
		if out, made := it.named(b.Outputs); made {
			n, ok, step, expiry = out, true, ledger.StepCommission, b.Expiry
		}
	}
	if !ok {
		return fmt.Errorf("it does not name the item")
	}
	switch step {
	case ledger.StepCommission:
		if it.Commissioned && (n.Instance() || it.Maker != by || it.Expiry != expiry) {
			return fmt.Errorf("commissioned twice")
		}
		if !it.Commissioned {
			it.Commissioned, it.Instance, it.Maker, it.Lot, it.Expiry = true, n.Instance(), by, n.Lot, expiry
			if it.Instance {
				it.Status, it.Holder = "active", by
			}
		}
		it.Units += uint64(n.Qty)
		it.Held[by] += uint64(n.Qty)
	case ledger.StepShip, ledger.StepConsume, ledger.StepDestroy:
		if !it.Commissioned || it.Held[by] < uint64(n.Qty) || it.Instance && (it.Status != "active" || it.Holder != by) {
			return fmt.Errorf("given or used by one who does not hold it")
		}
		it.Held[by] -= uint64(n.Qty)
		it.marks(id, n, expiry)
		if step == ledger.StepShip {
			offers[id] = b
			if it.left == nil {
				it.left = map[ledger.Hash]uint32{}
			}
			it.left[id] = n.Qty
			if it.Instance {
				it.Holder, it.Transit = [32]byte{}, id
			}
		} else if it.Instance {
			it.Status, it.Holder = map[string]string{ledger.StepConsume: "consumed", ledger.StepDestroy: "destroyed"}[step], [32]byte{}
		}
	case ledger.StepObserve:
		if !it.Commissioned {
			it.signal(Uncommissioned, id)
			return nil
		}
		it.marks(id, n, expiry)
		if it.In != "" {
			// Packed: it is where its container is.
			if it.inTransit != (ledger.Hash{}) {
				if o := it.containerShipment[it.inTransit]; o == nil || o.To != by {
					it.signal(CustodyGap, id)
				}
			} else if it.inHolder != by {
				it.signal(TwoHolders, id)
			}
			return nil
		}
		switch {
		case !it.Instance:
			if it.Held[by] < uint64(n.Qty) {
				it.signal(CustodyGap, id)
			}
		case it.Status != "active":
			it.signal(AfterUse, id)
		case it.Transit != (ledger.Hash{}):
			if o := offers[it.Transit]; o == nil || o.To != by {
				it.signal(CustodyGap, id)
			}
		case it.Holder != by:
			it.signal(TwoHolders, id)
		}
	}
	return nil
}

// packing applies a packing or an unpacking to the item, a container or
// something put in or taken out of one.
func (it *Item) packing(id ledger.Hash, by [32]byte, b *ledger.SupplyEvent) error {
	cont := b.Outputs
	if b.Step == ledger.StepUnpack {
		cont = b.Items
	}
	ccode := cont[0].Code()
	if ccode == it.Code {
		// The container itself: an SSCC is made by its first packing;
		// it stays with its holder; what it holds changes.
		if b.Step == ledger.StepPack && !it.Commissioned && cont[0].IsSSCC() {
			it.Commissioned, it.Instance, it.Maker, it.Status, it.Holder, it.Units = true, true, by, "active", by, 1
			it.Held[by]++
		}
		if !it.Commissioned || it.Status != "active" || it.Holder != by {
			return fmt.Errorf("a container not held by the signer")
		}
		if it.Contents == nil {
			it.Contents = map[string]bool{}
		}
		switch {
		case b.Step == ledger.StepPack:
			for _, n := range b.Items {
				it.Contents[n.Code()] = true
			}
		case len(b.Outputs) == 0:
			clear(it.Contents)
		default:
			for _, n := range b.Outputs {
				if !it.Contents[n.Code()] {
					return fmt.Errorf("%s taken out of a container it is not in", n.Code())
				}
				delete(it.Contents, n.Code())
			}
		}
		return nil
	}
	ck := ledger.ContainerKey(ccode)
	if b.Step == ledger.StepPack {
		if !it.Commissioned || it.Status != "active" || it.Holder != by || it.Held[by] < 1 {
			return fmt.Errorf("packed by one who does not hold it")
		}
		it.Held[by]--
		it.Held[ck]++
		it.Holder, it.In, it.inHolder, it.inTransit = ck, ccode, by, ledger.Hash{}
		return nil
	}
	// Unpacked: named among the outputs, or all of the container's.
	if _, named := it.named(b.Outputs); !named && len(b.Outputs) > 0 {
		return fmt.Errorf("it does not name the item")
	}
	if it.In != ccode || it.inHolder != by || it.inTransit != (ledger.Hash{}) {
		return fmt.Errorf("unpacked by one who does not hold its container")
	}
	it.Held[ck]--
	it.Held[by]++
	it.Holder, it.In, it.inHolder = by, "", [32]byte{}
	return nil
}

// container applies a step of the container the item is in: it goes
// where the container goes; a scan of the container raises nothing on
// it.
func (it *Item) container(id ledger.Hash, by [32]byte, b *ledger.SupplyEvent, offers map[ledger.Hash]*ledger.SupplyEvent) error {
	if it.containerShipment == nil {
		it.containerShipment = map[ledger.Hash]*ledger.SupplyEvent{}
	}
	names := func(items []ledger.SupplyItem) bool {
		for _, n := range items {
			if n.Code() == it.In {
				return true
			}
		}
		return false
	}
	switch b.Step {
	case ledger.StepShip:
		if !names(b.Items) || it.inHolder != by {
			return fmt.Errorf("its container shipped by one who does not hold it")
		}
		it.containerShipment[id] = b
		it.inHolder, it.inTransit = [32]byte{}, id
	case ledger.StepReceive:
		offer := b.Offer
		if b.Ref != "" {
			for oid, o := range it.containerShipment {
				if o.To == by && o.Ref == b.Ref {
					offer = oid
				}
			}
		}
		o := it.containerShipment[offer]
		if o == nil || o.To != by || offer != it.inTransit {
			return fmt.Errorf("a receipt of a shipment its container is not in")
		}
		delete(it.containerShipment, offer)
		it.inHolder, it.inTransit = by, ledger.Hash{}
	case ledger.StepObserve:
		if !names(b.Items) {
			return fmt.Errorf("it does not name the item or its container")
		}
	default:
		return fmt.Errorf("a %s of its container", b.Step)
	}
	return nil
}
