// Package supply derives, from nothing but the transactions that named an
// item, what they say of it: who made it, who holds it, whether it was
// used, and the counterfeit signals (issue 17, docs/SUPPLY.md). The state
// machine keeps the same in its store; this is the check anyone can run on
// an item's proven provenance (epiledger supply check), and the tests
// hold the two to each other.
package supply

import (
	"fmt"
	"maps"
	"slices"

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
	// In is the container an instance is packed in ("" if none); where
	// the container is, from its steps the item's provenance lists: its
	// holder, or the shipment it is in.
	In string
	// Packed are the containers that hold some of it directly (an
	// instance's one, a lot's units in any number), with where each is.
	Packed map[string]*Chain
	// Contents are what a container holds directly, with the units of
	// each.
	Contents map[string]uint64
	// Steps are what each transaction did to it, in order.
	Steps     []Step
	shipments map[ledger.Hash]*sent  // its containers'
	left      map[ledger.Hash]uint32 // units of it in transit, by shipment
}

// sent is a shipment the item's events name, with its giver.
type sent struct {
	*ledger.SupplyEvent
	From [32]byte
}

// Step is what one transaction did to the item: the units it named or
// moved (a receipt's taken, an unpacking's taken out), and whether it was
// a step of a container the item was in rather than of the item.
type Step struct {
	Units   uint64
	Carried bool
}

// Chain is where a container that holds an item is: the containers it
// is in, innermost first, and the outermost's holder, or the shipment it
// is in.
type Chain struct {
	Above   []string
	Holder  [32]byte
	Transit ledger.Hash
}

// top is the outermost container of the chain that starts at c.
func (ch *Chain) top(c string) string {
	if len(ch.Above) == 0 {
		return c
	}
	return ch.Above[len(ch.Above)-1]
}

// PackedUnits returns the units of the item in containers, by the
// container that holds them directly.
func (it *Item) PackedUnits() map[string]uint64 {
	out := map[string]uint64{}
	for c := range it.Packed {
		if n := it.Held[ledger.ContainerKey(c)]; n > 0 {
			out[c] = n
		}
	}
	return out
}

// Loose returns the units each custodian holds of the item, outside
// containers.
func (it *Item) Loose() map[[32]byte]uint64 {
	out := map[[32]byte]uint64{}
	for k, n := range it.Held {
		if n > 0 {
			out[k] = n
		}
	}
	for c := range it.Packed {
		delete(out, ledger.ContainerKey(c))
	}
	return out
}

// Replay derives item code from txs, the transactions that named it in
// chain order (each accepted by its chain). It fails on a transaction
// that does not name the item, or on a sequence no chain accepts.
func Replay(code string, txs []*ledger.Tx) (*Item, error) {
	it := &Item{Code: code, Held: map[[32]byte]uint64{}}
	offers := map[ledger.Hash]*sent{}
	for _, tx := range txs {
		b, ok := tx.Body.(*ledger.SupplyEvent)
		if !ok || len(tx.Sigs) != 1 {
			return nil, fmt.Errorf("transaction %s is a %s, not a supply event", tx.ID().String()[:16], tx.Body.Kind())
		}
		if err := ledger.Validate(b); err != nil {
			return nil, fmt.Errorf("transaction %s: no chain accepts it: %w", tx.ID().String()[:16], err)
		}
		it.Steps = append(it.Steps, Step{})
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

func (it *Item) apply(id ledger.Hash, by [32]byte, b *ledger.SupplyEvent, offers map[ledger.Hash]*sent) error {
	if b.Step == ledger.StepReceive || b.Step == ledger.StepVoid {
		return it.receive(by, b, offers)
	}
	step, expiry := b.Step, b.Expiry
	n, ok := it.named(b.Items)
	o, out := it.named(b.Outputs)
	// The steps of the containers it is in: it goes where they go.
	carried, err := it.carried(id, by, b)
	if err != nil {
		return err
	}
	cur := &it.Steps[len(it.Steps)-1]
	cur.Carried = carried && !ok && !out
	if ok {
		cur.Units = uint64(n.Qty)
	} else if out {
		cur.Units = uint64(o.Qty)
	}
	if !ok && !out {
		if b.Step == ledger.StepUnpack && len(b.Outputs) == 0 {
			if ch := it.Packed[b.Items[0].Code()]; ch != nil && len(ch.Above) == 0 {
				return it.packing(by, b, ledger.SupplyItem{}) // all taken out
			}
		}
		if carried {
			return nil
		}
		return fmt.Errorf("it does not name the item")
	}
	if b.Step == ledger.StepPack || b.Step == ledger.StepUnpack {
		if !ok {
			n, _ = it.named(b.Outputs)
		}
		return it.packing(by, b, n)
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
		if step != ledger.StepShip && len(it.Contents) > 0 {
			return fmt.Errorf("a container used while it holds items")
		}
		it.Held[by] -= uint64(n.Qty)
		it.marks(id, n, expiry)
		if step == ledger.StepShip {
			offers[id] = &sent{b, by}
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
		it.observe(id, by, n, expiry, offers)
	}
	return nil
}

// observe raises the signals of a scan of the item.
func (it *Item) observe(id ledger.Hash, by [32]byte, n ledger.SupplyItem, expiry string, offers map[ledger.Hash]*sent) {
	if !it.Commissioned {
		it.signal(Uncommissioned, id)
		return
	}
	it.marks(id, n, expiry)
	if it.In != "" {
		// Packed: it is where its outermost container is.
		ch := it.Packed[it.In]
		if ch.Transit != (ledger.Hash{}) {
			if o := it.shipments[ch.Transit]; o == nil || o.To != by {
				it.signal(CustodyGap, id)
			}
		} else if ch.Holder != by {
			it.signal(TwoHolders, id)
		}
		return
	}
	switch {
	case !it.Instance:
		// Units held here, loose or packed.
		have := it.Held[by]
		for c, ch := range it.Packed {
			if ch.Holder == by && ch.Transit == (ledger.Hash{}) {
				have += it.Held[ledger.ContainerKey(c)]
			}
		}
		if have < uint64(n.Qty) {
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

// receive applies a receipt: of a shipment of the item, of one of the
// containers it is in, or of both; or a void, its giver taking back what
// never arrived, as a receipt by the giver.
func (it *Item) receive(by [32]byte, b *ledger.SupplyEvent, offers map[ledger.Hash]*sent) error {
	taker := func(o *sent) [32]byte {
		if b.Step == ledger.StepVoid {
			return o.From
		}
		return o.To
	}
	offer := b.Offer
	if b.Ref != "" {
		// The shipment to the signer under that reference (one in
		// transit at a time).
		for _, m := range []map[ledger.Hash]*sent{offers, it.shipments} {
			for oid, o := range m {
				if o.To == by && o.Ref == b.Ref {
					offer = oid
				}
			}
		}
	}
	matched := false
	cur := &it.Steps[len(it.Steps)-1]
	defer func() { cur.Carried = matched && cur.Units == 0 }()
	if o := it.shipments[offer]; o != nil {
		// Its containers in that shipment, those the receipt takes.
		left := false
		for c, ch := range it.Packed {
			if ch.Transit != offer {
				continue
			}
			if len(b.Items) > 0 && !names(b.Items, ch.top(c)) {
				left = true
				continue
			}
			if taker(o) != by {
				return fmt.Errorf("a receipt of a shipment by another than its receiver (a void by another than its giver)")
			}
			ch.Holder, ch.Transit, matched = by, ledger.Hash{}, true
		}
		if !left {
			delete(it.shipments, offer)
		}
	}
	o := offers[offer]
	if o == nil {
		if matched {
			return nil
		}
		return fmt.Errorf("a receipt of a shipment not among the item's events")
	}
	if taker(o) != by {
		return fmt.Errorf("a receipt of a shipment by another than its receiver (a void by another than its giver)")
	}
	// The units of the item it takes: those it lists (a short delivery),
	// or all still in transit.
	q := it.left[offer]
	if len(b.Items) > 0 {
		n, ok := it.named(b.Items)
		switch {
		case !ok && matched:
			return nil // its container only
		case !ok || n.Qty > q:
			return fmt.Errorf("a receipt of more than is in transit")
		}
		q = n.Qty
	}
	it.Held[by] += uint64(q)
	cur.Units = uint64(q)
	if it.Instance {
		it.Holder, it.Transit = by, ledger.Hash{}
	}
	if it.left[offer] -= q; it.left[offer] == 0 {
		delete(offers, offer)
	}
	return nil
}

func names(items []ledger.SupplyItem, code string) bool {
	for _, n := range items {
		if n.Code() == code {
			return true
		}
	}
	return false
}

// carried applies the steps of the containers the item is in: packed into
// another container, taken out of one, shipped, scanned. It reports
// whether the step named any of them.
func (it *Item) carried(id ledger.Hash, by [32]byte, b *ledger.SupplyEvent) (bool, error) {
	matched := false
	for _, c := range slices.Sorted(maps.Keys(it.Packed)) {
		ch := it.Packed[c]
		top := ch.top(c)
		held := ch.Holder == by && ch.Transit == (ledger.Hash{})
		switch b.Step {
		case ledger.StepPack:
			if !names(b.Items, top) {
				continue
			}
			if !held {
				return false, fmt.Errorf("its container packed by one who does not hold it")
			}
			ch.Above, matched = append(ch.Above, b.Outputs[0].Code()), true
		case ledger.StepUnpack:
			if len(ch.Above) == 0 || b.Items[0].Code() != top {
				continue
			}
			below := c
			if len(ch.Above) > 1 {
				below = ch.Above[len(ch.Above)-2]
			}
			if len(b.Outputs) > 0 && !names(b.Outputs, below) {
				continue
			}
			if !held {
				return false, fmt.Errorf("its container unpacked by one who does not hold it")
			}
			ch.Above, matched = ch.Above[:len(ch.Above)-1], true
		case ledger.StepShip:
			if !names(b.Items, top) {
				continue
			}
			if !held {
				return false, fmt.Errorf("its container shipped by one who does not hold it")
			}
			if it.shipments == nil {
				it.shipments = map[ledger.Hash]*sent{}
			}
			it.shipments[id] = &sent{b, by}
			ch.Holder, ch.Transit, matched = [32]byte{}, id, true
		default:
			for _, x := range append([]string{c}, ch.Above...) {
				if names(b.Items, x) || names(b.Outputs, x) {
					if b.Step != ledger.StepObserve {
						return false, fmt.Errorf("a %s of its container", b.Step)
					}
					matched = true // a scan of its container
				}
			}
		}
	}
	return matched, nil
}

// packing applies a packing or an unpacking to the item: the container
// itself, or n, what was put in or taken out of it (zero: all it holds).
func (it *Item) packing(by [32]byte, b *ledger.SupplyEvent, n ledger.SupplyItem) error {
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
		if !it.Commissioned || !it.Instance || it.Status != "active" || it.Holder != by {
			return fmt.Errorf("a container not held by the signer")
		}
		if it.Contents == nil {
			it.Contents = map[string]uint64{}
		}
		switch {
		case b.Step == ledger.StepPack:
			for _, n := range b.Items {
				it.Contents[n.Code()] += uint64(n.Qty)
			}
		case len(b.Outputs) == 0:
			clear(it.Contents)
		default:
			for _, n := range b.Outputs {
				if it.Contents[n.Code()] < uint64(n.Qty) {
					return fmt.Errorf("%s taken out of a container it is not in", n.Code())
				}
				if it.Contents[n.Code()] -= uint64(n.Qty); it.Contents[n.Code()] == 0 {
					delete(it.Contents, n.Code())
				}
			}
		}
		return nil
	}
	ck := ledger.ContainerKey(ccode)
	ch := it.Packed[ccode]
	if b.Step == ledger.StepPack {
		if !it.Commissioned || it.Held[by] < uint64(n.Qty) || it.Instance && (it.Status != "active" || it.Holder != by) {
			return fmt.Errorf("packed by one who does not hold it")
		}
		if ch != nil && (len(ch.Above) > 0 || ch.Holder != by || ch.Transit != (ledger.Hash{})) {
			return fmt.Errorf("packed into a container the signer does not hold")
		}
		it.Held[by] -= uint64(n.Qty)
		it.Held[ck] += uint64(n.Qty)
		if it.Packed == nil {
			it.Packed = map[string]*Chain{}
		}
		it.Packed[ccode] = &Chain{Holder: by}
		if it.Instance {
			it.Holder, it.In = ck, ccode
		}
		return nil
	}
	// Taken out: the units named, or all of the container's.
	q := n.Qty
	if len(b.Outputs) == 0 {
		q = uint32(it.Held[ck])
	}
	if ch == nil || len(ch.Above) > 0 || ch.Holder != by || ch.Transit != (ledger.Hash{}) || it.Held[ck] < uint64(q) {
		return fmt.Errorf("unpacked by one who does not hold its container, or more than it holds")
	}
	it.Held[ck] -= uint64(q)
	it.Held[by] += uint64(q)
	it.Steps[len(it.Steps)-1] = Step{Units: uint64(q)} // taken out itself, whatever else its containers did
	if it.Held[ck] == 0 {
		delete(it.Packed, ccode)
	}
	if it.Instance {
		it.Holder, it.In = by, ""
	}
	return nil
}
