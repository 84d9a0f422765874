package state_test

import (
	"crypto/ed25519"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/supply"
)

// The supply chain of the tests: a mask factory, a distributor, a
// warehouse and two hospitals; masks by the box (serials) and by the lot.
var (
	factoryKey     = key("mask factory")
	distributorKey = key("distributor")
	warehouseKey   = key("warehouse")
	feverKey       = key("fever clinic")
	custodians     = []ed25519.PrivateKey{factoryKey, distributorKey, warehouseKey, jinyintanKey, feverKey}
)

const maskGTIN = "10614141073464" // urn:epc:id:sgtin:0614141.107346.*: check digit 4

func box(serial string) ledger.SupplyItem {
	return ledger.SupplyItem{GTIN: maskGTIN, Serial: serial, Lot: "L2020", Qty: 1}
}

func lot(name string, qty uint32) ledger.SupplyItem {
	return ledger.SupplyItem{GTIN: maskGTIN, Lot: name, Qty: qty}
}

// supplyWorld grants the custodians their roles.
func supplyWorld(f *fixture) {
	f.mustBlock(grantTx(factoryKey, ledger.RoleManufacturer), grantTx(distributorKey, ledger.RoleDistributor),
		grantTx(warehouseKey, ledger.RoleWarehouse), grantTx(jinyintanKey, ledger.RoleHospital), grantTx(feverKey, ledger.RoleHospital))
}

var supplyClock int64 = 1_579_000_000

// supplyStep makes a supply step by k (a fresh time each, so that no two are
// the same transaction).
func supplyStep(k ed25519.PrivateKey, s string, items ...ledger.SupplyItem) *ledger.SupplyEvent {
	supplyClock++
	b := &ledger.SupplyEvent{Step: s, Items: items, Time: supplyClock}
	if s == ledger.StepCommission {
		b.Expiry, b.Standard, b.Certificate = "2025-01-31", "GB 19083-2010", "国械注准20203140001"
	}
	return b
}

func shipTo(to ed25519.PrivateKey, items ...ledger.SupplyItem) *ledger.SupplyEvent {
	b := supplyStep(nil, ledger.StepShip, items...)
	b.To = pub(to)
	return b
}

// receiptOf is a receipt of all of shipment offer by its receiver.
func receiptOf(offer *ledger.Tx) *ledger.SupplyEvent { return settleOf(ledger.StepReceive, offer) }

// voidOf is a void of shipment offer by its giver.
func voidOf(offer *ledger.Tx, items ...ledger.SupplyItem) *ledger.SupplyEvent {
	return settleOf(ledger.StepVoid, offer, items...)
}

func settleOf(step string, offer *ledger.Tx, items ...ledger.SupplyItem) *ledger.SupplyEvent {
	b := supplyStep(nil, step, items...)
	b.Offer = offer.ID()
	return b
}

// TestSupplyCustody: a factory commissions boxes and a lot; custody moves
// on two signatures (a shipment, then its receipt by the receiver); what
// breaks conservation or custody is refused naming the field; the
// holdings follow every step.
func TestSupplyCustody(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	made := sign(supplyStep(factoryKey, ledger.StepCommission, box("A1"), box("A2"), lot("L7", 1000)), factoryKey)
	f.mustBlock(made)
	offer := sign(shipTo(distributorKey, box("A1"), lot("L7", 600)), factoryKey)
	for _, tc := range []struct {
		name        string
		tx          *ledger.Tx
		code, field string
	}{
		{"commissioned by a distributor", sign(supplyStep(distributorKey, ledger.StepCommission, box("B1")), distributorKey), state.CodeWrongSigner, "signature"},
		{"a box commissioned twice", sign(supplyStep(factoryKey, ledger.StepCommission, box("A1")), factoryKey), state.CodeConflict, "items"},
		{"by a key with no custodian's role", sign(supplyStep(cdcKey, ledger.StepObserve, box("A1")), cdcKey), state.CodeWrongSigner, "signature"},
		{"more of the lot than made", sign(shipTo(distributorKey, lot("L7", 1001)), factoryKey), state.CodeConflict, "items"},
		{"a box never made", sign(shipTo(distributorKey, box("Z9")), factoryKey), state.CodeConflict, "items"},
		{"shipped to a key with no role", sign(shipTo(cdcKey, box("A2")), factoryKey), state.CodeInvalid, "to"},
		{"shipped by one who does not hold it", sign(shipTo(feverKey, box("A2")), distributorKey), state.CodeConflict, "items"},
		{"a receipt of no shipment", sign(receiptOf(made), distributorKey), state.CodeInvalid, "offer"},
	} {
		errs, _ := f.block(one(tc.tx))
		t.Run(tc.name, func(t *testing.T) { checkResult(t, errs[0], tc.code, tc.field) })
	}
	f.mustBlock(offer)
	holds(t, f, factoryKey, map[string]uint64{box("A2").Code(): 1, lot("L7", 0).Code(): 400, box("A1").Code(): 0})
	holds(t, f, distributorKey, map[string]uint64{})
	if it, _, _ := state.ItemOf(f.db, box("A1").Code()); it.Transit != offer.ID() || it.Holder != ([32]byte{}) {
		t.Errorf("a box in transit: %+v", it)
	}
	errs, _ := f.block(one(sign(receiptOf(offer), warehouseKey)))
	checkResult(t, errs[0], state.CodeWrongSigner, "signature")
	errs, _ = f.block(one(sign(shipTo(warehouseKey, box("A1")), factoryKey)))
	checkResult(t, errs[0], state.CodeConflict, "items") // in transit: the giver holds it no more
	// A short delivery: the box and 550 of the 600 arrive; more than is
	// in transit, or what was never shipped, is refused; the rest comes
	// later.
	for _, bad := range [][]ledger.SupplyItem{{lot("L7", 601)}, {box("A2")}} {
		over := receiptOf(offer)
		over.Items = bad
		errs, _ = f.block(one(sign(over, distributorKey)))
		checkResult(t, errs[0], state.CodeConflict, "items")
	}
	partial := receiptOf(offer)
	partial.Items = []ledger.SupplyItem{box("A1"), lot("L7", 550)}
	got := sign(partial, distributorKey)
	f.mustBlock(got)
	holds(t, f, distributorKey, map[string]uint64{box("A1").Code(): 1, lot("L7", 0).Code(): 550})
	if o, _, _ := state.OfferOf(f.db, offer.ID()); o.Receipt != (ledger.Hash{}) || len(o.Left) != 1 || o.Left[0].Qty != 50 || len(o.Receipts) != 1 {
		t.Errorf("the shipment after a short delivery: %+v", o)
	}
	rest := sign(receiptOf(offer), distributorKey)
	f.mustBlock(rest)
	errs, _ = f.block(one(sign(receiptOf(offer), distributorKey)))
	checkResult(t, errs[0], state.CodeConflict, "offer")
	holds(t, f, distributorKey, map[string]uint64{box("A1").Code(): 1, lot("L7", 0).Code(): 600})
	// A shipment under a business transaction, received by it; one in
	// transit per receiver and reference.
	byPO := shipTo(warehouseKey, lot("L7", 50))
	byPO.Ref = "http://transaction.acme.com/po/12345678"
	again := shipTo(warehouseKey, lot("L7", 5))
	again.Ref = byPO.Ref
	f.mustBlock(sign(byPO, distributorKey))
	errs, _ = f.block(one(sign(again, distributorKey)))
	checkResult(t, errs[0], state.CodeConflict, "ref")
	wrongRef := supplyStep(warehouseKey, ledger.StepReceive)
	wrongRef.Ref = "http://transaction.acme.com/po/1"
	errs, _ = f.block(one(sign(wrongRef, warehouseKey)))
	checkResult(t, errs[0], state.CodeInvalid, "ref")
	rcpt := supplyStep(warehouseKey, ledger.StepReceive)
	rcpt.Ref = byPO.Ref
	f.mustBlock(sign(rcpt, warehouseKey), sign(again, distributorKey))
	holds(t, f, warehouseKey, map[string]uint64{lot("L7", 0).Code(): 50})
	holds(t, f, distributorKey, map[string]uint64{lot("L7", 0).Code(): 545})
	// On to the fever clinic, received in the same block; used there.
	on := sign(shipTo(feverKey, box("A1"), lot("L7", 100)), distributorKey)
	f.mustBlock(on, sign(receiptOf(on), feverKey), sign(supplyStep(feverKey, ledger.StepConsume, box("A1"), lot("L7", 30)), feverKey))
	holds(t, f, feverKey, map[string]uint64{box("A1").Code(): 0, lot("L7", 0).Code(): 70})
	holds(t, f, distributorKey, map[string]uint64{lot("L7", 0).Code(): 445})
	errs, _ = f.block(one(sign(supplyStep(feverKey, ledger.StepConsume, box("A1")), feverKey)))
	checkResult(t, errs[0], state.CodeConflict, "items")
	it, _, _ := state.ItemOf(f.db, box("A1").Code())
	if it.Status != state.ItemConsumed || it.Maker != pub(factoryKey) || it.Made != made.ID() || it.Standard != "GB 19083-2010" {
		t.Errorf("the box after use: %+v", it)
	}
	hist, err := state.SupplyHistory(f.db, box("A1").Code())
	if err != nil || len(hist) != 6 || hist[0] != made.ID() || hist[1] != offer.ID() || hist[2] != got.ID() || hist[3] != on.ID() {
		t.Errorf("the box's provenance: %d transactions %v", len(hist), err)
	}
	if ss, _ := state.Signals(f.db, ""); len(ss) != 0 {
		t.Errorf("a clean chain of custody raised %+v", ss)
	}
}

func holds(t *testing.T, f *fixture, k ed25519.PrivateKey, want map[string]uint64) {
	t.Helper()
	for code, n := range want {
		if got, err := state.HoldingOf(f.db, pub(k), code); err != nil || got != n {
			t.Errorf("%s holds %d of %s, want %d (%v)", k.Public().(ed25519.PublicKey)[:2], got, code, n, err)
		}
	}
}

// TestSupplySignals: each counterfeit signal is raised on a sequence
// built to contain it, on the item it concerns, and by the scan that
// showed it, never on the clean sequences.
func TestSupplySignals(t *testing.T) {
	wrongLot := box("A1")
	wrongLot.Lot = "L1999"
	for _, tc := range []struct {
		name   string
		steps  func() [][]*ledger.Tx
		kind   string // "" = none
		code   string
		custod ed25519.PrivateKey
	}{
		{"a serial never commissioned", func() [][]*ledger.Tx {
			return [][]*ledger.Tx{{sign(supplyStep(feverKey, ledger.StepObserve, box("FAKE1")), feverKey)}}
		}, state.SignalUncommissioned, box("FAKE1").Code(), feverKey},
		{"seen again after consumption", func() [][]*ledger.Tx {
			return [][]*ledger.Tx{{sign(supplyStep(factoryKey, ledger.StepConsume, box("A1")), factoryKey)},
				{sign(supplyStep(jinyintanKey, ledger.StepObserve, box("A1")), jinyintanKey)}}
		}, state.SignalAfterUse, box("A1").Code(), jinyintanKey},
		{"seen after destruction", func() [][]*ledger.Tx {
			return [][]*ledger.Tx{{sign(supplyStep(factoryKey, ledger.StepDestroy, box("A2")), factoryKey)},
				{sign(supplyStep(feverKey, ledger.StepObserve, box("A2")), feverKey)}}
		}, state.SignalAfterUse, box("A2").Code(), feverKey},
		{"held by two custodians", func() [][]*ledger.Tx {
			return [][]*ledger.Tx{{sign(supplyStep(warehouseKey, ledger.StepObserve, box("A1")), warehouseKey)}}
		}, state.SignalTwoHolders, box("A1").Code(), warehouseKey},
		{"a lot that differs", func() [][]*ledger.Tx {
			return [][]*ledger.Tx{{sign(supplyStep(factoryKey, ledger.StepObserve, wrongLot), factoryKey)}}
		}, state.SignalLotMismatch, box("A1").Code(), factoryKey},
		{"an expiry that differs", func() [][]*ledger.Tx {
			b := supplyStep(factoryKey, ledger.StepObserve, lot("L7", 10))
			b.Expiry = "2030-01-01"
			return [][]*ledger.Tx{{sign(b, factoryKey)}}
		}, state.SignalExpiryMismatch, lot("L7", 0).Code(), factoryKey},
		{"a gap in custody", func() [][]*ledger.Tx {
			return [][]*ledger.Tx{{sign(shipTo(distributorKey, box("A1")), factoryKey)},
				{sign(supplyStep(feverKey, ledger.StepObserve, box("A1")), feverKey)}}
		}, state.SignalCustodyGap, box("A1").Code(), feverKey},
		{"clean: scanned by its holder", func() [][]*ledger.Tx {
			return [][]*ledger.Tx{{sign(supplyStep(factoryKey, ledger.StepObserve, box("A1"), lot("L7", 5)), factoryKey)}}
		}, "", "", nil},
		{"clean: scanned by its receiver before the receipt", func() [][]*ledger.Tx {
			return [][]*ledger.Tx{{sign(shipTo(feverKey, box("A2")), factoryKey)}, {sign(supplyStep(feverKey, ledger.StepObserve, box("A2")), feverKey)}}
		}, "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.mustBlock(world()...)
			supplyWorld(f)
			made := sign(supplyStep(factoryKey, ledger.StepCommission, box("A1"), box("A2"), lot("L7", 1000)), factoryKey)
			f.mustBlock(made)
			byID := map[ledger.Hash]*ledger.Tx{made.ID(): made}
			var last *ledger.Tx
			for _, blk := range tc.steps() {
				f.mustBlock(blk...)
				last = blk[len(blk)-1]
				for _, tx := range blk {
					byID[tx.ID()] = tx
				}
			}
			for _, code := range []string{box("A1").Code(), box("A2").Code(), lot("L7", 0).Code(), box("FAKE1").Code()} {
				sameAsReplay(t, f, byID, code)
			}
			ss, err := state.Signals(f.db, "")
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind == "" {
				if len(ss) != 0 {
					t.Fatalf("a clean sequence raised %+v", ss)
				}
				return
			}
			if len(ss) != 1 || ss[0].Kind != tc.kind || ss[0].Code != tc.code || ss[0].Tx != last.ID() || ss[0].Custodian != pub(tc.custod) ||
				ss[0].Height != f.height || ss[0].Detail == "" {
				t.Fatalf("signals %+v, want one %s on %s", ss, tc.kind, tc.code)
			}
			if mine, _ := state.Signals(f.db, tc.code); len(mine) != 1 {
				t.Errorf("the item's own signals: %+v", mine)
			}
		})
	}
}

// TestSupplyConservation: on random sequences of steps, many refused,
// the state accepts exactly what a brute-force ledger of holdings
// accepts, and ends with the same holdings, item by item; custody steps
// (whose items carry their commissioned lot) raise no signal, and every
// item's state and signals are what supply.Replay derives from its
// provenance alone.
func TestSupplyConservation(t *testing.T) {
	// The steps no single sequence is sure to take must be taken in some.
	seeded(t, 20, 1, []string{ledger.StepTransform, ledger.StepPack, ledger.StepUnpack, ledger.StepVoid, "pack a lot", "pack a full container", "ship a full container"}, conservation)
}

// model is the brute-force ledger: units per custodian and code, each
// box's state, the shipments.
type model struct {
	holds   map[[32]byte]map[string]int64
	boxes   map[string]*modelBox
	lots    map[string]bool
	offers  map[ledger.Hash]*modelOffer
	offered []ledger.Hash
	byRef   map[string]ledger.Hash // receiver+ref -> the latest shipment
}

type modelBox struct {
	holder  [32]byte
	transit bool
	used    bool
	in      string // the container it is packed in
	packed  int    // what it holds, a container
}

type modelOffer struct {
	from, to [32]byte
	items    []ledger.SupplyItem
	taken    bool // the last of it received
	ref      string
	left     map[string]uint32 // still in transit
	receipts int
}

// apply is what the model accepts of b signed by k.
func (m *model) apply(id ledger.Hash, k [32]byte, b *ledger.SupplyEvent) bool {
	if ledger.Validate(b) != nil {
		return false
	}
	h := m.holds[k]
	switch b.Step {
	case ledger.StepPack, ledger.StepUnpack:
		return m.packing(k, b)
	case ledger.StepCommission:
		if k != pub(factoryKey) {
			return false
		}
		for _, it := range b.Items {
			if it.Instance() && m.boxes[it.Code()] != nil {
				return false
			}
		}
		for _, it := range b.Items {
			if it.Instance() {
				m.boxes[it.Code()] = &modelBox{holder: k}
			} else {
				m.lots[it.Code()] = true
			}
			h[it.Code()] += int64(it.Qty)
		}
	case ledger.StepTransform:
		// The inputs used up and the outputs made, or nothing.
		if k != pub(factoryKey) {
			return false
		}
		for _, it := range b.Outputs {
			if it.Instance() && m.boxes[it.Code()] != nil {
				return false
			}
		}
		use := *b
		use.Step, use.Outputs = ledger.StepConsume, nil
		if !m.apply(id, k, &use) {
			return false
		}
		made := *b
		made.Step, made.Items, made.Outputs = ledger.StepCommission, b.Outputs, nil
		return m.apply(id, k, &made)
	case ledger.StepShip, ledger.StepConsume, ledger.StepDestroy:
		if b.Step == ledger.StepShip && (b.To == k || m.holds[b.To] == nil) {
			return false
		}
		if b.Ref != "" {
			if prev, ok := m.byRef[string(b.To[:])+b.Ref]; ok && !m.offers[prev].taken {
				return false // one in transit per receiver and reference
			}
		}
		for _, it := range b.Items {
			bx := m.boxes[it.Code()]
			if it.Instance() && (bx == nil || bx.used || bx.transit || bx.holder != k) || h[it.Code()] < int64(it.Qty) {
				return false
			}
			if b.Step != ledger.StepShip && bx != nil && bx.packed > 0 {
				return false // a full container is unpacked first
			}
			if !it.Instance() && !m.lots[it.Code()] {
				return false
			}
		}
		for _, it := range b.Items {
			h[it.Code()] -= int64(it.Qty)
			if bx := m.boxes[it.Code()]; bx != nil {
				bx.holder = [32]byte{}
				bx.transit = b.Step == ledger.StepShip
				bx.used = b.Step != ledger.StepShip
			}
		}
		if b.Step == ledger.StepShip {
			m.offers[id] = &modelOffer{from: k, to: b.To, items: b.Items, ref: b.Ref, left: map[string]uint32{}}
			for _, it := range b.Items {
				m.offers[id].left[it.Code()] = it.Qty
			}
			m.offered = append(m.offered, id)
			if b.Ref != "" {
				m.byRef[string(b.To[:])+b.Ref] = id
			}
		}
	case ledger.StepReceive, ledger.StepVoid:
		// A receipt by the receiver, or a void by the giver: what it
		// takes goes to the signer.
		offer := b.Offer
		if b.Ref != "" {
			offer = m.byRef[string(k[:])+b.Ref]
		}
		o := m.offers[offer]
		if o == nil || o.taken || o.receipts >= state.MaxReceipts || b.Step == ledger.StepReceive && o.to != k || b.Step == ledger.StepVoid && o.from != k {
			return false
		}
		// What arrives: the items listed, each no more than is left in
		// transit, or all that is left.
		take := map[string]uint32{}
		for _, it := range b.Items {
			if it.Qty > o.left[it.Code()] {
				return false
			}
			take[it.Code()] = it.Qty
		}
		if len(b.Items) == 0 {
			maps.Copy(take, o.left)
		}
		o.receipts++
		for code, q := range take {
			o.left[code] -= q
			if o.left[code] == 0 {
				delete(o.left, code)
			}
			h[code] += int64(q)
			if bx := m.boxes[code]; bx != nil {
				bx.holder, bx.transit = k, false
			}
		}
		o.taken = len(o.left) == 0
	}
	return true
}

// packing is what the model accepts of a packing or an unpacking.
func (m *model) packing(k [32]byte, b *ledger.SupplyEvent) bool {
	cont, inside := b.Items[0], b.Outputs
	if b.Step == ledger.StepPack {
		cont, inside = b.Outputs[0], b.Items
	}
	c := cont.Code()
	cb := m.boxes[c]
	switch {
	case cb == nil && b.Step == ledger.StepPack && cont.IsSSCC():
		cb = &modelBox{holder: k}
		defer func(h map[string]int64) {
			if cb.packed > 0 { // made, if the packing holds
				m.boxes[c] = cb
				h[c]++
			}
		}(m.holds[k])
	case cb == nil || cb.used || cb.transit || cb.holder != k:
		return false
	}
	ck := ledger.ContainerKey(c)
	if m.holds[ck] == nil {
		m.holds[ck] = map[string]int64{}
	}
	if b.Step == ledger.StepPack {
		for _, it := range inside {
			bx := m.boxes[it.Code()]
			switch {
			case !it.Instance() && (!m.lots[it.Code()] || m.holds[k][it.Code()] < int64(it.Qty)):
				return false
			case it.Instance() && (bx == nil || bx.used || bx.transit || bx.holder != k):
				return false
			}
		}
		for _, it := range inside {
			code := it.Code()
			if bx := m.boxes[code]; bx != nil {
				bx.holder, bx.in = ck, c
			}
			if m.holds[ck][code] == 0 {
				cb.packed++
			}
			m.holds[k][code] -= int64(it.Qty)
			m.holds[ck][code] += int64(it.Qty)
		}
		return true
	}
	// Taken out: what it names (each in it, no more units than it
	// holds), or all it holds.
	take := map[string]int64{}
	for _, it := range inside {
		if m.holds[ck][it.Code()] < int64(it.Qty) || m.holds[ck][it.Code()] == 0 {
			return false
		}
		take[it.Code()] = int64(it.Qty)
	}
	if len(inside) == 0 {
		for code, n := range m.holds[ck] {
			if n > 0 {
				take[code] = n
			}
		}
	}
	for code, n := range take {
		if bx := m.boxes[code]; bx != nil {
			bx.holder, bx.in = k, ""
		}
		m.holds[ck][code] -= n
		m.holds[k][code] += n
		if m.holds[ck][code] == 0 {
			cb.packed--
		}
	}
	return true
}

// sscc makes an SSCC of company prefix 0614141 with its check digit.
func sscc(ref int) ledger.SupplyItem {
	s := fmt.Sprintf("10614141%09d", ref)
	sum := 0
	for i := 0; i < 17; i++ {
		d := int(s[16-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return ledger.SupplyItem{Serial: s + string(rune('0'+(10-sum%10)%10)), Qty: 1}
}

func conservation(t *testing.T, seed uint64) map[string]int {
	rng := rand.New(rand.NewPCG(seed, 17))
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	m := &model{holds: map[[32]byte]map[string]int64{}, boxes: map[string]*modelBox{}, lots: map[string]bool{}, offers: map[ledger.Hash]*modelOffer{},
		byRef: map[string]ledger.Hash{}}
	for _, k := range custodians {
		m.holds[pub(k)] = map[string]int64{}
	}
	item := func() ledger.SupplyItem {
		if rng.IntN(2) == 0 {
			return box([]string{"S0", "S1", "S2", "S3", "S4", "S5", "C0", "C1"}[rng.IntN(8)])
		}
		return lot(fmt.Sprint("L", rng.IntN(2)), uint32(1+rng.IntN(40)))
	}
	items := func() []ledger.SupplyItem {
		var out []ledger.SupplyItem
		for n := 1 + rng.IntN(3); len(out) < n; {
			it := item()
			if !slices.ContainsFunc(out, func(o ledger.SupplyItem) bool { return o.Code() == it.Code() }) {
				out = append(out, it)
			}
		}
		return out
	}
	codes := map[string]bool{}
	accepted := map[string]int{}
	byID := map[ledger.Hash]*ledger.Tx{}
	for i := 0; i < 120; i++ {
		var txs []*ledger.Tx
		var bodies []*ledger.SupplyEvent
		var signers [][32]byte
		for n := 1 + rng.IntN(4); len(txs) < n; {
			k := custodians[rng.IntN(len(custodians))]
			if rng.IntN(4) == 0 {
				k = factoryKey
			}
			// Mostly steps that may hold (what the model says k holds,
			// the receiver of a shipment), with mistakes among them.
			held := func() []ledger.SupplyItem {
				var out []ledger.SupplyItem
				mine := m.holds[pub(k)]
				for _, code := range slices.Sorted(maps.Keys(mine)) { // sorted: a seed replays
					n := mine[code]
					if n <= 0 || rng.IntN(2) == 0 {
						continue
					}
					var it ledger.SupplyItem
					switch bx := m.boxes[code]; {
					case strings.HasPrefix(code, "00/"):
						it = ledger.SupplyItem{Serial: code[len("00/"):], Qty: 1}
					case bx != nil:
						it = box(code[len("01/")+14+len("/21/"):])
					default:
						it = lot(code[len("01/")+14+len("/10/"):], uint32(1+rng.Int64N(n+2)))
					}
					out = append(out, it)
				}
				if len(out) == 0 || rng.IntN(5) == 0 {
					return items()
				}
				return out[:min(len(out), 3)]
			}
			var b *ledger.SupplyEvent
			switch r := rng.IntN(10); {
			case r < 2:
				b = supplyStep(k, ledger.StepCommission, items()...)
			case r < 6:
				b = shipTo(custodians[rng.IntN(len(custodians))], held()...)
				if rng.IntN(3) == 0 {
					b.Ref = fmt.Sprint("po-", rng.IntN(2)) // under a business transaction
				}
			case r < 8 && len(m.offered) > 0:
				b = supplyStep(k, ledger.StepReceive)
				b.Offer = m.offered[rng.IntN(len(m.offered))]
				o := m.offers[b.Offer]
				by := o.to
				if rng.IntN(4) == 0 { // its giver takes back what never arrived
					b.Step, by = ledger.StepVoid, o.from
				}
				if rng.IntN(5) > 0 {
					for _, c := range custodians {
						if pub(c) == by {
							k = c
						}
					}
				}
				switch rng.IntN(4) {
				case 0:
					if o.ref != "" { // by its business transaction
						b.Offer, b.Ref = ledger.Hash{}, o.ref
					}
				case 1:
					b.Items = o.items // listing its items, all of them
				case 2:
					// A short delivery: some of the items, a lot's units
					// perhaps fewer (or more) than shipped.
					for _, it := range o.items[:len(o.items)-1+rng.IntN(2)] {
						if !it.Instance() {
							it.Qty = uint32(max(1, int(it.Qty)-1+rng.IntN(3)-rng.IntN(int(it.Qty))))
						}
						b.Items = append(b.Items, it)
					}
				}
			case r < 8:
				b = supplyStep(k, ledger.StepConsume, held()...)
			case r < 9 && rng.IntN(2) == 0:
				b = supplyStep(k, ledger.StepDestroy, held()...)
			case r < 9:
				// A transformation: what k holds made into kits (boxes
				// or a lot of its own).
				b = supplyStep(k, ledger.StepTransform, held()...)
				b.Expiry = "2025-01-31"
				for n := 1 + rng.IntN(2); len(b.Outputs) < n; {
					out := box(fmt.Sprint("K", rng.IntN(6)))
					if rng.IntN(2) == 0 {
						out = lot(fmt.Sprint("KL", rng.IntN(2)), uint32(1+rng.IntN(40)))
					}
					if !slices.ContainsFunc(append(slices.Clip(b.Items), b.Outputs...), func(o ledger.SupplyItem) bool { return o.Code() == out.Code() }) {
						b.Outputs = append(b.Outputs, out)
					}
				}
				for _, it := range b.Outputs {
					codes[it.Code()] = true
				}
			case rng.IntN(4) == 0:
				// A full container onto a pallet, by its holder: a pallet
				// not made yet, or one it holds, mostly.
				var full []string
				for _, code := range slices.Sorted(maps.Keys(m.boxes)) {
					if bx := m.boxes[code]; bx.packed > 0 && !bx.transit && !bx.used && bx.in == "" {
						full = append(full, code)
					}
				}
				pal := []ledger.SupplyItem{sscc(1), sscc(2)}[rng.IntN(2)]
				if len(full) == 0 {
					b = supplyStep(k, ledger.StepPack, box("C0"))
					b.Outputs = []ledger.SupplyItem{pal}
					break
				}
				x := full[rng.IntN(len(full))]
				for _, c := range custodians {
					if pub(c) == m.boxes[x].holder && rng.IntN(5) > 0 {
						k = c
					}
				}
				it := box(strings.TrimPrefix(x, "01/"+maskGTIN+"/21/"))
				if strings.HasPrefix(x, "00/") {
					it = ledger.SupplyItem{Serial: x[len("00/"):], Qty: 1}
				}
				b = supplyStep(k, ledger.StepPack, it)
				b.Outputs = []ledger.SupplyItem{pal}
				codes[pal.Code()] = true
			case rng.IntN(3) > 0:
				// A packing or an unpacking, of a pallet (SSCC) or a
				// case (a box): boxes k holds, mostly.
				cont := []ledger.SupplyItem{sscc(1), sscc(2), box("C0"), box("C1")}[rng.IntN(4)]
				byPub := map[[32]byte]ed25519.PrivateKey{}
				for _, c := range custodians {
					byPub[pub(c)] = c
				}
				// Mostly by the holder of what is packed or unpacked.
				if cb := m.boxes[cont.Code()]; cb != nil && byPub[cb.holder] != nil && rng.IntN(5) > 0 {
					k = byPub[cb.holder]
				} else if rng.IntN(5) > 0 {
					for _, code := range slices.Sorted(maps.Keys(m.boxes)) {
						if bx := m.boxes[code]; byPub[bx.holder] != nil && !bx.used && !bx.transit && bx.packed == 0 && !strings.HasPrefix(code, "00/") {
							k = byPub[bx.holder]
							break
						}
					}
				}
				// Boxes, units of lots, other containers.
				var boxes []ledger.SupplyItem
				for _, it := range held() {
					if rng.IntN(4) > 0 {
						boxes = append(boxes, it)
					}
				}
				// Cases onto a pallet: another container k holds.
				for _, other := range []ledger.SupplyItem{sscc(1), sscc(2), box("C0"), box("C1")} {
					ob := m.boxes[other.Code()]
					if other.Code() != cont.Code() && ob != nil && ob.holder == pub(k) && ob.packed > 0 &&
						!slices.ContainsFunc(boxes, func(o ledger.SupplyItem) bool { return o.Code() == other.Code() }) {
						boxes = append(boxes, other)
					}
				}
				if rng.IntN(2) == 0 {
					b = supplyStep(k, ledger.StepPack, boxes...)
					if len(b.Items) == 0 {
						b.Items = []ledger.SupplyItem{box(fmt.Sprint("S", rng.IntN(6)))}
					}
					b.Outputs = []ledger.SupplyItem{cont}
				} else {
					b = supplyStep(k, ledger.StepUnpack, cont)
					in := m.holds[ledger.ContainerKey(cont.Code())]
					for _, code := range slices.Sorted(maps.Keys(in)) {
						if in[code] <= 0 || rng.IntN(3) > 0 || len(b.Outputs) >= 2 {
							continue
						}
						switch {
						case strings.HasPrefix(code, "00/"):
							b.Outputs = append(b.Outputs, ledger.SupplyItem{Serial: code[len("00/"):], Qty: 1})
						case m.boxes[code] != nil:
							b.Outputs = append(b.Outputs, box(code[len("01/")+14+len("/21/"):]))
						default: // some units of a lot, perhaps more than are in it
							b.Outputs = append(b.Outputs, lot(code[len("01/")+14+len("/10/"):], uint32(1+rng.Int64N(in[code]+1))))
						}
					}
					slices.SortFunc(b.Outputs, func(x, y ledger.SupplyItem) int { return strings.Compare(x.Code(), y.Code()) })
				}
				for _, it := range b.Outputs {
					codes[it.Code()] = true
				}
			default:
				// A scan, anywhere: the signals it raises are held to
				// the replay's below.
				b = supplyStep(k, ledger.StepObserve, items()...)
				if rng.IntN(4) == 0 {
					b.Items = append(b.Items, sscc(1+rng.IntN(2)))
				}
			}
			for _, it := range b.Items {
				codes[it.Code()] = true
			}
			txs, bodies, signers = append(txs, sign(b, k)), append(bodies, b), append(signers, pub(k))
		}
		errs, _ := f.block(txs)
		for j, err := range errs {
			// What the step exercises, counted if it is taken.
			var kinds []string
			for _, it := range bodies[j].Items {
				bx := m.boxes[it.Code()]
				switch {
				case bodies[j].Step == ledger.StepPack && !it.Instance():
					kinds = append(kinds, "pack a lot")
				case bodies[j].Step == ledger.StepPack && bx != nil && bx.packed > 0:
					kinds = append(kinds, "pack a full container")
				case bodies[j].Step == ledger.StepShip && bx != nil && bx.packed > 0:
					kinds = append(kinds, "ship a full container")
				}
			}
			want := m.apply(txs[j].ID(), signers[j], bodies[j])
			if want && err == nil {
				for _, k := range kinds {
					accepted[k]++
				}
			}
			if (err == nil) != want {
				t.Fatalf("block %d tx %d (%s by %x): state %v, model accepts %v", f.height, j, bodies[j].Step, signers[j][:2], err, want)
			}
			if want {
				accepted[bodies[j].Step]++
				byID[txs[j].ID()] = txs[j]
			}
		}
	}
	for _, k := range custodians {
		for code := range codes {
			got, err := state.HoldingOf(f.db, pub(k), code)
			if err != nil || int64(got) != m.holds[pub(k)][code] {
				t.Fatalf("a custodian holds %d of %s, the model %d (%v)", got, code, m.holds[pub(k)][code], err)
			}
		}
	}
	ss, _ := state.Signals(f.db, "")
	for _, sg := range ss {
		if byID[sg.Tx].Body.(*ledger.SupplyEvent).Step != ledger.StepObserve {
			t.Fatalf("a custody step raised %+v", sg)
		}
	}
	if len(ss) == 0 {
		t.Errorf("no scan raised a signal")
	}
	for code := range codes {
		sameAsReplay(t, f, byID, code)
	}
	// A sequence that refuses everything proves nothing: each step
	// must have been taken.
	for _, s := range []string{ledger.StepCommission, ledger.StepShip, ledger.StepReceive} {
		if accepted[s] == 0 {
			t.Errorf("no %s accepted in the sequence: %v", s, accepted)
		}
	}
	t.Logf("accepted %v", accepted)
	return accepted
}

// sameAsReplay holds the state's item to what supply.Replay derives from
// its provenance alone: the checks of "epiledger supply check".
func sameAsReplay(t *testing.T, f *fixture, byID map[ledger.Hash]*ledger.Tx, code string) {
	t.Helper()
	ids, err := state.SupplyHistory(f.db, code)
	if err != nil {
		t.Fatal(err)
	}
	var txs []*ledger.Tx
	for _, id := range ids {
		txs = append(txs, byID[id])
	}
	d, err := supply.Replay(code, txs)
	if err != nil {
		t.Fatalf("%s: replay: %v", code, err)
	}
	it, ok, err := state.ItemOf(f.db, code)
	if err != nil || ok != d.Commissioned {
		t.Fatalf("%s: commissioned %v, replay %v (%v)", code, ok, d.Commissioned, err)
	}
	if ok && (it.Maker != d.Maker || it.Units != d.Units || it.Expiry != d.Expiry || it.In != d.In || int(it.Contents) != len(d.Contents) ||
		it.Instance && (it.Status != d.Status || it.Holder != d.Holder || it.Transit != d.Transit)) {
		t.Errorf("%s: state %+v, replay %+v", code, it, d)
	}
	if ok && it.In != "" {
		// The containers its container is in, as the state holds them.
		var above []string
		for c, _, _ := state.ItemOf(f.db, it.In); c.In != ""; c, _, _ = state.ItemOf(f.db, c.In) {
			above = append(above, c.In)
		}
		if !slices.Equal(above, d.Packed[d.In].Above) {
			t.Errorf("%s: packed in %s within %v, replay within %v", code, it.In, above, d.Packed[d.In].Above)
		}
	}
	for c, n := range d.Contents {
		if got, _ := state.HoldingOf(f.db, ledger.ContainerKey(code), c); got != n {
			t.Errorf("%s holds %d of %s, replay %d", code, got, c, n)
		}
	}
	holders := [][32]byte{}
	for _, k := range custodians {
		holders = append(holders, pub(k))
	}
	for _, c := range containerCodes {
		holders = append(holders, ledger.ContainerKey(c))
	}
	for _, k := range holders {
		if n, _ := state.HoldingOf(f.db, k, code); n != d.Held[k] {
			t.Errorf("%s: %x holds %d, replay %d", code, k[:4], n, d.Held[k])
		}
	}
	ss, err := state.Signals(f.db, code)
	if err != nil || len(ss) != len(d.Signals) {
		t.Fatalf("%s: signals %+v, replay %+v (%v)", code, ss, d.Signals, err)
	}
	for i := range ss {
		if ss[i].Kind != d.Signals[i].Kind || ss[i].Tx != d.Signals[i].Tx {
			t.Errorf("%s: signal %d: %s by %s, replay %s by %s", code, i, ss[i].Kind, ss[i].Tx, d.Signals[i].Kind, d.Signals[i].Tx)
		}
	}
}

// TestAllocationsAgainstNeeds (issue 17's January 2020 story): a
// fever-clinic hospital declares a critical need of N95 masks; a charity
// allocates it 3,000 and a hospital that declared no need 16,000: the
// ledger shows both beside the needs, and flags the second (no declared
// need, while the fever clinic's critical need is unmet); an allocation
// beyond a declared need is flagged too.
func TestAllocationsAgainstNeeds(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	charity, ortho := key("red cross"), key("orthopaedic hospital")
	f.mustBlock(grantTx(charity, ledger.RoleCharity), grantTx(ortho, ledger.RoleHospital))
	need := func(k ed25519.PrivateKey, units uint32, urgency string, fever bool) *ledger.Tx {
		supplyClock++
		return sign(&ledger.SupplyNeed{GTIN: maskGTIN, Units: units, Urgency: urgency, FeverClinic: fever, Time: supplyClock}, k)
	}
	errs, _ := f.block(one(need(charity, 5, "critical", false)))
	checkResult(t, errs[0], state.CodeWrongSigner, "signature")
	f.mustBlock(need(feverKey, 100000, "critical", true))
	donated := sign(shipTo(charity, lot("N95", 20000)), factoryKey)
	f.mustBlock(sign(supplyStep(factoryKey, ledger.StepCommission, lot("N95", 20000)), factoryKey))
	f.mustBlock(donated, sign(receiptOf(donated), charity))
	toFever := sign(shipTo(feverKey, lot("N95", 3000)), charity)
	toOrtho := sign(shipTo(ortho, lot("N95", 16000)), charity)
	f.mustBlock(toFever)
	f.mustBlock(toOrtho)
	flags, err := state.AllocFlags(f.db, maskGTIN)
	if err != nil || len(flags) != 2 || flags[0].Shipment != toOrtho.ID() || flags[1].Shipment != toOrtho.ID() {
		t.Fatalf("flags %+v %v, want two on the 16,000", flags, err)
	}
	kinds := []string{flags[0].Kind, flags[1].Kind}
	if !slices.Contains(kinds, state.FlagNoNeed) || !slices.Contains(kinds, state.FlagFeverUnmet) {
		t.Errorf("flags %+v", flags)
	}
	needs, err := state.Needs(f.db, maskGTIN)
	if err != nil || len(needs) != 2 {
		t.Fatalf("needs %+v %v", needs, err)
	}
	for _, n := range needs {
		switch n.Hospital {
		case pub(feverKey):
			if n.Units != 100000 || n.Allocated != 3000 || !n.FeverClinic || n.Urgency != "critical" {
				t.Errorf("the fever clinic: %+v", n)
			}
		case pub(ortho):
			if n.Units != 0 || n.Allocated != 16000 {
				t.Errorf("the other hospital: %+v", n)
			}
		}
	}
	// The other hospital declares a need of 16,500; 600 more go over it.
	f.mustBlock(need(ortho, 16500, "normal", false))
	f.mustBlock(sign(shipTo(ortho, lot("N95", 600)), charity))
	flags, _ = state.AllocFlags(f.db, maskGTIN)
	if n := len(flags); n != 4 || !slices.ContainsFunc(flags[2:], func(f state.AllocFlag) bool { return f.Kind == state.FlagOverNeed }) || flags[0].Shipment != toOrtho.ID() {
		t.Errorf("after 600 beyond the need: %+v", flags)
	}
	// A distributor's shipment to a hospital is no allocation: not weighed.
	f.mustBlock(sign(supplyStep(factoryKey, ledger.StepCommission, lot("N96", 10)), factoryKey))
	f.mustBlock(sign(shipTo(ortho, lot("N96", 10)), factoryKey))
	if after, _ := state.AllocFlags(f.db, maskGTIN); len(after) != len(flags) {
		t.Errorf("a manufacturer's shipment was weighed: %+v", after)
	}
}

// TestSupplyTransform: a manufacturer makes test kits of reagent and
// swabs it holds: the inputs leave its stock for good, the kits are
// commissioned to it; a distributor may not, nor may more be used than
// held, nor a kit made twice; each item's state is what its provenance
// replays to.
func TestSupplyTransform(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	made := sign(supplyStep(factoryKey, ledger.StepCommission, lot("R1", 1000), box("SW1"), lot("S1", 500)), factoryKey)
	f.mustBlock(made)
	kits := func(k ed25519.PrivateKey, inputs []ledger.SupplyItem, outputs ...ledger.SupplyItem) *ledger.Tx {
		b := supplyStep(k, ledger.StepTransform, inputs...)
		b.Expiry, b.Standard, b.Outputs = "2021-06-30", "GB/T 29791", outputs
		return sign(b, k)
	}
	ok := kits(factoryKey, []ledger.SupplyItem{lot("R1", 100), box("SW1"), lot("S1", 100)}, lot("KIT-7", 100), box("KIT-A"))
	for _, tc := range []struct {
		name        string
		tx          *ledger.Tx
		code, field string
	}{
		{"by a distributor", kits(distributorKey, []ledger.SupplyItem{lot("R1", 1)}, lot("KIT-8", 1)), state.CodeWrongSigner, "signature"},
		{"more reagent than held", kits(factoryKey, []ledger.SupplyItem{lot("R1", 1001)}, lot("KIT-8", 1)), state.CodeConflict, "items"},
		{"a kit that exists", kits(factoryKey, []ledger.SupplyItem{lot("R1", 1)}, box("SW1")), state.CodeConflict, "items"},
	} {
		errs, _ := f.block(one(tc.tx))
		t.Run(tc.name, func(t *testing.T) { checkResult(t, errs[0], tc.code, tc.field) })
	}
	f.mustBlock(ok)
	holds(t, f, factoryKey, map[string]uint64{lot("R1", 0).Code(): 900, lot("S1", 0).Code(): 400, box("SW1").Code(): 0,
		lot("KIT-7", 0).Code(): 100, box("KIT-A").Code(): 1})
	errs, _ := f.block(one(kits(factoryKey, []ledger.SupplyItem{box("SW1")}, lot("KIT-9", 1))))
	checkResult(t, errs[0], state.CodeConflict, "items") // the swab is used up
	kit, _, _ := state.ItemOf(f.db, lot("KIT-7", 0).Code())
	swab, _, _ := state.ItemOf(f.db, box("SW1").Code())
	if kit.Made != ok.ID() || kit.Maker != pub(factoryKey) || kit.Expiry != "2021-06-30" || kit.Standard != "GB/T 29791" || kit.Units != 100 ||
		swab.Status != state.ItemConsumed {
		t.Errorf("the kits %+v, the swab %+v", kit, swab)
	}
	if ss, _ := state.Signals(f.db, ""); len(ss) != 0 {
		t.Errorf("a transformation raised %+v (the inputs' expiry is not the outputs')", ss)
	}
	byID := map[ledger.Hash]*ledger.Tx{made.ID(): made, ok.ID(): ok}
	for _, it := range []ledger.SupplyItem{lot("KIT-7", 0), box("KIT-A"), box("SW1"), lot("R1", 0)} {
		sameAsReplay(t, f, byID, it.Code())
	}
}

const palletSSCC = "106141412345678908" // urn:epc:id:sscc:0614141.1234567890: check digit 8

func pallet() ledger.SupplyItem { return ledger.SupplyItem{Serial: palletSSCC, Qty: 1} }

// containerCodes are the containers of the tests, whose holdings
// sameAsReplay compares too.
var containerCodes = []string{pallet().Code(), box("P3").Code(), box("C0").Code(), box("C1").Code(), sscc(1).Code(), sscc(2).Code()}

func packInto(k ed25519.PrivateKey, cont ledger.SupplyItem, items ...ledger.SupplyItem) *ledger.Tx {
	b := supplyStep(k, ledger.StepPack, items...)
	b.Outputs = []ledger.SupplyItem{cont}
	return sign(b, k)
}

func unpackOf(k ed25519.PrivateKey, cont ledger.SupplyItem, items ...ledger.SupplyItem) *ledger.Tx {
	b := supplyStep(k, ledger.StepUnpack, cont)
	b.Outputs = items
	return sign(b, k)
}

// shipPallet ships the factory's pallet to the distributor; on the way
// the distributor scans ok and the warehouse gap; in the next block the
// distributor receives it, with then.
func shipPallet(f *fixture, ok, gap ledger.SupplyItem, then ...*ledger.Tx) (ship, scanOK, scanGap, got *ledger.Tx) {
	ship = sign(shipTo(distributorKey, pallet()), factoryKey)
	scanOK = sign(supplyStep(distributorKey, ledger.StepObserve, ok), distributorKey)
	scanGap = sign(supplyStep(warehouseKey, ledger.StepObserve, gap), warehouseKey)
	got = sign(receiptOf(ship), distributorKey)
	f.mustBlock(ship, scanOK, scanGap)
	f.mustBlock(append([]*ledger.Tx{got}, then...)...)
	return ship, scanOK, scanGap, got
}

// TestSupplyPacking: boxes packed on a pallet (an SSCC, made by its first
// packing) go where the pallet goes: shipped and received with it, each
// box's provenance listing the pallet's steps; a box packed cannot be
// shipped or used alone, a scan of it away from its pallet raises a
// signal; unpacked, one or all, they are the unpacker's again. Every
// item's state is what its provenance replays to.
func TestSupplyPacking(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	made := sign(supplyStep(factoryKey, ledger.StepCommission, box("P1"), box("P2"), box("P3")), factoryKey)
	packed := packInto(factoryKey, pallet(), box("P1"), box("P2"))
	f.mustBlock(made)
	f.mustBlock(packed)
	pk := ledger.ContainerKey(pallet().Code())
	holds(t, f, factoryKey, map[string]uint64{pallet().Code(): 1, box("P1").Code(): 0, box("P3").Code(): 1})
	if n, _ := state.HoldingOf(f.db, pk, box("P1").Code()); n != 1 {
		t.Errorf("the pallet holds %d of P1", n)
	}
	for _, tc := range []struct {
		name        string
		tx          *ledger.Tx
		code, field string
	}{
		{"a box packed twice", packInto(factoryKey, box("P3"), box("P1")), state.CodeConflict, "items"},
		{"a packed box shipped alone", sign(shipTo(distributorKey, box("P2")), factoryKey), state.CodeConflict, "items"},
		{"a packed box used", sign(supplyStep(factoryKey, ledger.StepConsume, box("P2")), factoryKey), state.CodeConflict, "items"},
		{"into a pallet the signer does not hold", packInto(distributorKey, pallet(), box("P3")), state.CodeConflict, "outputs"},
		{"a container packed into itself", packInto(factoryKey, pallet(), pallet()), state.CodeInvalid, "outputs"},
		{"units of a lot never made", packInto(factoryKey, pallet(), lot("L9", 5)), state.CodeConflict, "items"},
		{"into a lot", packInto(factoryKey, lot("L9", 1), box("P3")), state.CodeInvalid, "outputs"},
		{"unpacked by one who does not hold it", unpackOf(distributorKey, pallet()), state.CodeConflict, "items"},
		{"taking out what is not in it", unpackOf(factoryKey, pallet(), box("P3")), state.CodeConflict, "outputs"},
	} {
		errs, _ := f.block(one(tc.tx))
		t.Run(tc.name, func(t *testing.T) { checkResult(t, errs[0], tc.code, tc.field) })
	}
	// Shipped as one; scanned on the way by its receiver (no signal) and
	// by another (a gap); received.
	scanTwo := sign(supplyStep(factoryKey, ledger.StepObserve, box("P2")), factoryKey)
	ship, scanOK, scanGap, got := shipPallet(f, box("P1"), box("P2"), scanTwo)
	holds(t, f, distributorKey, map[string]uint64{pallet().Code(): 1, box("P1").Code(): 0})
	ss, _ := state.Signals(f.db, "")
	if len(ss) != 2 || ss[0].Kind != state.SignalCustodyGap || ss[0].Code != box("P2").Code() || ss[1].Kind != state.SignalTwoHolders {
		t.Errorf("signals %+v, want a custody gap and two holders on P2", ss)
	}
	// One box taken out and shipped on; then the rest.
	one1 := unpackOf(distributorKey, pallet(), box("P1"))
	on := sign(shipTo(feverKey, box("P1")), distributorKey)
	f.mustBlock(one1, on)
	rest := unpackOf(distributorKey, pallet())
	f.mustBlock(rest)
	holds(t, f, distributorKey, map[string]uint64{pallet().Code(): 1, box("P1").Code(): 0, box("P2").Code(): 1})
	p, _, _ := state.ItemOf(f.db, pallet().Code())
	b2, _, _ := state.ItemOf(f.db, box("P2").Code())
	if p.Contents != 0 || p.Maker != pub(factoryKey) || b2.In != "" || b2.Holder != pub(distributorKey) {
		t.Errorf("the pallet %+v, P2 %+v", p, b2)
	}
	hist, _ := state.SupplyHistory(f.db, box("P2").Code())
	if want := []ledger.Hash{made.ID(), packed.ID(), ship.ID(), scanGap.ID(), got.ID(), scanTwo.ID(), rest.ID()}; !slices.Equal(hist, want) {
		t.Errorf("P2's provenance has %d steps, want the pallet's among its own (%d)", len(hist), len(want))
	}
	byID := map[ledger.Hash]*ledger.Tx{}
	for _, tx := range []*ledger.Tx{made, packed, ship, scanOK, scanGap, got, scanTwo, one1, on, rest} {
		byID[tx.ID()] = tx
	}
	for _, it := range []ledger.SupplyItem{pallet(), box("P1"), box("P2"), box("P3")} {
		sameAsReplay(t, f, byID, it.Code())
	}
}

// TestSupplyNesting: boxes and units of a lot in cases, the cases on a
// pallet. The pallet's journey is each box's and each unit's; a scan of a
// box or of the lot's units at the pallet's holder raises nothing, at
// another a signal; a case comes off the pallet with what it holds; the
// state and the replay of every item's provenance agree throughout.
func TestSupplyNesting(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	made := sign(supplyStep(factoryKey, ledger.StepCommission, box("C0"), box("C1"), box("B1"), box("B2"), box("B3"), lot("L1", 500)), factoryKey)
	case0 := packInto(factoryKey, box("C0"), box("B1"), box("B2"), lot("L1", 200))
	case1 := packInto(factoryKey, box("C1"), box("B3"), lot("L1", 100))
	onPallet := packInto(factoryKey, pallet(), box("C0"), box("C1"), lot("L1", 50))
	f.mustBlock(made, case0, case1)
	f.mustBlock(onPallet)
	holds(t, f, factoryKey, map[string]uint64{lot("L1", 1).Code(): 150, box("C0").Code(): 0, pallet().Code(): 1})
	for _, tc := range []struct {
		name        string
		tx          *ledger.Tx
		code, field string
	}{
		{"a case on the pallet shipped alone", sign(shipTo(distributorKey, box("C0")), factoryKey), state.CodeConflict, "items"},
		{"a box taken out of its case on the pallet", unpackOf(factoryKey, box("C0"), box("B1")), state.CodeConflict, "items"},
		{"a case on the pallet packed again", packInto(factoryKey, sscc(1), box("C1")), state.CodeConflict, "items"},
		{"more units taken out than are in", unpackOf(factoryKey, pallet(), lot("L1", 51)), state.CodeConflict, "outputs"},
		{"a full pallet destroyed", sign(supplyStep(factoryKey, ledger.StepDestroy, pallet()), factoryKey), state.CodeInvalid, "items"},
	} {
		errs, _ := f.block(one(tc.tx))
		t.Run(tc.name, func(t *testing.T) { checkResult(t, errs[0], tc.code, tc.field) })
	}
	// Shipped as one; scanned by its receiver on the way (nothing) and by
	// another (a gap); received; the lot's units scanned where they are.
	ship, scanOK, scanGap, got := shipPallet(f, box("B1"), box("B3"))
	unitsHere := sign(supplyStep(distributorKey, ledger.StepObserve, lot("L1", 350)), distributorKey) // all packed at the distributor
	unitsGap := sign(supplyStep(distributorKey, ledger.StepObserve, lot("L1", 351)), distributorKey)
	boxThere := sign(supplyStep(factoryKey, ledger.StepObserve, box("B2")), factoryKey)
	f.mustBlock(unitsHere, unitsGap, boxThere)
	ss, _ := state.Signals(f.db, "")
	var kinds []string
	for _, s := range ss {
		kinds = append(kinds, s.Code+" "+s.Kind)
	}
	want := []string{box("B3").Code() + " custody-gap", box("B2").Code() + " two-holders", lot("L1", 1).Code() + " custody-gap"}
	slices.Sort(kinds)
	slices.Sort(want)
	if !slices.Equal(kinds, want) {
		t.Errorf("signals %v, want %v", kinds, want)
	}
	// A case off the pallet with what it holds; a box out of it; the
	// rest of the pallet, the lot's loose units with it.
	caseOff := unpackOf(distributorKey, pallet(), box("C0"))
	boxOut := unpackOf(distributorKey, box("C0"), box("B1"))
	rest := unpackOf(distributorKey, pallet())
	f.mustBlock(caseOff, boxOut)
	f.mustBlock(rest)
	holds(t, f, distributorKey, map[string]uint64{box("C0").Code(): 1, box("C1").Code(): 1, box("B1").Code(): 1, lot("L1", 1).Code(): 50})
	b2, _, _ := state.ItemOf(f.db, box("B2").Code())
	c0, _, _ := state.ItemOf(f.db, box("C0").Code())
	p, _, _ := state.ItemOf(f.db, pallet().Code())
	if b2.In != box("C0").Code() || c0.In != "" || c0.Contents != 2 || p.Contents != 0 {
		t.Errorf("B2 %+v, C0 %+v, the pallet %+v", b2, c0, p)
	}
	hist, _ := state.SupplyHistory(f.db, box("B3").Code())
	if want := []ledger.Hash{made.ID(), case1.ID(), onPallet.ID(), ship.ID(), scanGap.ID(), got.ID(), rest.ID()}; !slices.Equal(hist, want) {
		t.Errorf("B3's provenance has %d steps, want its case's and the pallet's among its own (%d)", len(hist), len(want))
	}
	byID := map[ledger.Hash]*ledger.Tx{}
	for _, tx := range []*ledger.Tx{made, case0, case1, onPallet, ship, scanOK, scanGap, got, unitsHere, unitsGap, boxThere, caseOff, boxOut, rest} {
		byID[tx.ID()] = tx
	}
	for _, it := range []ledger.SupplyItem{pallet(), box("C0"), box("C1"), box("B1"), box("B2"), box("B3"), lot("L1", 1)} {
		sameAsReplay(t, f, byID, it.Code())
	}
}

// TestSupplyContentsBound: a container holds at most MaxContents items,
// what its containers hold counted, so that one step of it names a
// bounded number.
func TestSupplyContentsBound(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	per := 255 // a case and what it holds: 256 entries
	var cases []ledger.SupplyItem
	for c := 0; c < 4; c++ {
		cs := box(fmt.Sprint("CASE", c))
		cases = append(cases, cs)
		var items []ledger.SupplyItem
		for i := 0; i < per; i++ {
			items = append(items, box(fmt.Sprintf("X%d-%d", c, i)))
		}
		f.mustBlock(sign(supplyStep(factoryKey, ledger.StepCommission, cs), factoryKey), sign(supplyStep(factoryKey, ledger.StepCommission, items...), factoryKey))
		f.mustBlock(packInto(factoryKey, cs, items...))
	}
	// Three full cases and one box: 3*256+1 entries; a fourth case
	// would make 1,025.
	f.mustBlock(sign(supplyStep(factoryKey, ledger.StepCommission, box("LOOSE")), factoryKey))
	f.mustBlock(packInto(factoryKey, pallet(), append(cases[:3:3], box("LOOSE"))...))
	errs, _ := f.block(one(packInto(factoryKey, pallet(), cases[3])))
	checkResult(t, errs[0], state.CodeConflict, "items")
	p, _, _ := state.ItemOf(f.db, pallet().Code())
	if p.Contents != 4 {
		t.Errorf("the pallet holds %d items, want 4", p.Contents)
	}
	// Without the box, the fourth case fits: 1,024.
	f.mustBlock(unpackOf(factoryKey, pallet(), box("LOOSE")))
	f.mustBlock(packInto(factoryKey, pallet(), cases[3]))
}

// TestSupplyPackAndShipInOneBlock: a block's later steps see what its
// earlier ones packed (the holdings are not read back through the
// block's batch): a case packed, put on a pallet and shipped in one
// block goes with all it holds.
func TestSupplyPackAndShipInOneBlock(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	made := sign(supplyStep(factoryKey, ledger.StepCommission, box("C0"), box("B1"), lot("L1", 10)), factoryKey)
	f.mustBlock(made)
	inCase := packInto(factoryKey, box("C0"), box("B1"), lot("L1", 4))
	onPallet := packInto(factoryKey, pallet(), box("C0"))
	ship := sign(shipTo(distributorKey, pallet()), factoryKey)
	f.mustBlock(inCase, onPallet, ship)
	got := sign(receiptOf(ship), distributorKey)
	scan := sign(supplyStep(distributorKey, ledger.StepObserve, lot("L1", 4)), distributorKey)
	f.mustBlock(got, scan)
	if ss, _ := state.Signals(f.db, ""); len(ss) != 0 {
		t.Errorf("signals %+v, want none: the lot's units are at the distributor, packed", ss)
	}
	// Everything out: the pallet's, then the case's.
	off := unpackOf(distributorKey, pallet())
	out := unpackOf(distributorKey, box("C0"))
	f.mustBlock(off)
	f.mustBlock(out)
	holds(t, f, distributorKey, map[string]uint64{box("B1").Code(): 1, lot("L1", 1).Code(): 4, box("C0").Code(): 1})
	byID := map[ledger.Hash]*ledger.Tx{}
	for _, tx := range []*ledger.Tx{made, inCase, onPallet, ship, got, scan, off, out} {
		byID[tx.ID()] = tx
	}
	for _, it := range []ledger.SupplyItem{pallet(), box("C0"), box("B1"), lot("L1", 1)} {
		sameAsReplay(t, f, byID, it.Code())
	}
}

// TestSupplyVoid: a shipment received short; its giver takes back what
// never arrived (the rest of a lot, a box, a pallet with what it holds),
// and the shipment is closed; a void by another, of what is not in
// transit, of a closed shipment, or of a charity's allocation to a
// hospital is refused; a receipt after the void is refused; each item is
// held to its replay.
func TestSupplyVoid(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	made := sign(supplyStep(factoryKey, ledger.StepCommission, box("A1"), box("B1"), lot("L1", 100)), factoryKey)
	packed := packInto(factoryKey, pallet(), box("B1"))
	f.mustBlock(made, packed)
	ship := sign(shipTo(distributorKey, box("A1"), lot("L1", 100), pallet()), factoryKey)
	f.mustBlock(ship)
	short := sign(receiptOf(ship), distributorKey)
	short.Body.(*ledger.SupplyEvent).Items = []ledger.SupplyItem{lot("L1", 60)}
	short = sign(short.Body, distributorKey)
	f.mustBlock(short)
	charity := key("red cross")
	f.mustBlock(grantTx(charity, ledger.RoleCharity))
	gift := sign(supplyStep(factoryKey, ledger.StepCommission, lot("G1", 10)), factoryKey)
	toCharity := sign(shipTo(charity, lot("G1", 10)), factoryKey)
	f.mustBlock(gift, toCharity)
	f.mustBlock(sign(receiptOf(toCharity), charity))
	alloc := sign(shipTo(feverKey, lot("G1", 10)), charity)
	f.mustBlock(alloc)
	for _, tc := range []struct {
		name        string
		tx          *ledger.Tx
		code, field string
	}{
		{"by the receiver", sign(voidOf(ship), distributorKey), state.CodeWrongSigner, "signature"},
		{"more than is in transit", sign(voidOf(ship, lot("L1", 41)), factoryKey), state.CodeConflict, "items"},
		{"what was received", sign(voidOf(short), factoryKey), state.CodeInvalid, "offer"},
		{"by ref", func() *ledger.Tx { b := voidOf(ship); b.Ref = "po-1"; return sign(b, factoryKey) }(), state.CodeInvalid, "offer"},
		{"a charity's allocation", sign(voidOf(alloc), charity), state.CodeConflict, "offer"},
	} {
		errs, _ := f.block(one(tc.tx))
		t.Run(tc.name, func(t *testing.T) { checkResult(t, errs[0], tc.code, tc.field) })
	}
	// The box first, then the rest.
	one1 := sign(voidOf(ship, box("A1")), factoryKey)
	f.mustBlock(one1)
	rest := sign(voidOf(ship), factoryKey)
	f.mustBlock(rest)
	holds(t, f, factoryKey, map[string]uint64{box("A1").Code(): 1, lot("L1", 1).Code(): 40, pallet().Code(): 1})
	holds(t, f, distributorKey, map[string]uint64{lot("L1", 1).Code(): 60})
	o, _, _ := state.OfferOf(f.db, ship.ID())
	if o.Receipt != rest.ID() || o.Voided != rest.ID() || len(o.Left) != 0 || len(o.Receipts) != 3 {
		t.Errorf("the shipment after its voids: %+v", o)
	}
	late := sign(receiptOf(ship), distributorKey)
	again := sign(voidOf(ship), factoryKey)
	for _, tx := range []*ledger.Tx{late, again} {
		errs, _ := f.block(one(tx))
		checkResult(t, errs[0], state.CodeConflict, "offer")
		if !strings.Contains(errs[0].Error(), "nothing of the shipment is in transit") {
			t.Errorf("after the void: %v", errs[0])
		}
	}
	// The pallet came back with its box: the factory ships it again.
	b1, _, _ := state.ItemOf(f.db, box("B1").Code())
	if b1.In != pallet().Code() {
		t.Errorf("the box on the pallet: %+v", b1)
	}
	again2 := sign(shipTo(warehouseKey, pallet()), factoryKey)
	f.mustBlock(again2)
	byID := map[ledger.Hash]*ledger.Tx{}
	for _, tx := range []*ledger.Tx{made, packed, ship, short, one1, rest, again2} {
		byID[tx.ID()] = tx
	}
	for _, it := range []ledger.SupplyItem{box("A1"), box("B1"), lot("L1", 1), pallet()} {
		sameAsReplay(t, f, byID, it.Code())
	}
}
