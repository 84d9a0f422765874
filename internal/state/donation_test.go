package state_test

import (
	"crypto/ed25519"
	"maps"
	"slices"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/supply"
)

func donationStep(step string, pledge *ledger.Tx, amount uint64, shipment *ledger.Tx) *ledger.DonationStep {
	supplyClock++
	b := &ledger.DonationStep{Step: step, Pledge: pledge.ID(), Amount: amount, Time: supplyClock}
	if shipment != nil {
		b.Shipment = shipment.ID()
	}
	return b
}

// TestDonationPath: a donor's pledge of money and masks to a charity,
// signed by both; the money received and spent on a purchase, the masks
// received, allocations to hospitals and their delivery; each step that
// would take more than the donation brought refused; totals per charity,
// hospital and product; and the donation as the state keeps it is what
// its transactions, replayed, say.
func TestDonationPath(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	charity, donor := key("red cross"), key("a donor")
	f.mustBlock(grantTx(charity, ledger.RoleCharity))
	supplyClock++
	gift := &ledger.DonationPledge{Charity: pub(charity), Amount: 1_000_000, Goods: []ledger.Goods{{GTIN: maskGTIN, Units: 5000}}, Purpose: "N95 for fever clinics", Time: supplyClock}
	toDistributor := *gift
	toDistributor.Charity = pub(distributorKey)
	selfGift := *gift
	selfGift.Nonce = 1
	for _, tc := range []struct {
		name        string
		tx          *ledger.Tx
		code, field string
	}{
		{"signed by the charity first", sign(gift, charity, donor), state.CodeWrongSigner, "signature"},
		{"to a key that is no charity", sign(&toDistributor, donor, distributorKey), state.CodeWrongSigner, "signature"},
		{"the charity its own donor", sign(&selfGift, charity, charity), state.CodeWrongSigner, "signature"},
	} {
		errs, _ := f.block(one(tc.tx))
		t.Run(tc.name, func(t *testing.T) { checkResult(t, errs[0], tc.code, tc.field) })
	}
	pledge := sign(gift, donor, charity)
	f.mustBlock(pledge)
	steps := []*ledger.Tx{}
	ships := map[ledger.Hash]supply.Shipment{}
	must := func(txs ...*ledger.Tx) {
		t.Helper()
		f.mustBlock(txs...)
		for _, tx := range txs {
			switch b := tx.Body.(type) {
			case *ledger.DonationStep:
				steps = append(steps, tx)
			case *ledger.SupplyEvent:
				if b.Step == ledger.StepShip {
					ships[tx.ID()] = supply.Shipment{Ship: tx}
				}
				if s, ok := ships[b.Offer]; ok && b.Step == ledger.StepReceive {
					s.Receipt = tx
					ships[b.Offer] = s
					if d, _, _ := state.DonationOf(f.db, pledge.ID()); slices.Contains(d.Steps, tx.ID()) {
						steps = append(steps, tx)
					}
				}
			}
		}
	}
	refused := func(tx *ledger.Tx, code, field string) {
		t.Helper()
		errs, _ := f.block(one(tx))
		checkResult(t, errs[0], code, field)
	}
	// The money: received in part, then more than pledged refused.
	must(sign(donationStep(ledger.DonationReceive, pledge, 600_000, nil), charity))
	refused(sign(donationStep(ledger.DonationReceive, pledge, 400_001, nil), charity), state.CodeConflict, "amount")
	refused(sign(donationStep(ledger.DonationReceive, pledge, 1, nil), distributorKey), state.CodeWrongSigner, "signature")
	refused(sign(donationStep(ledger.DonationReceive, donor2(pledge), 1, nil), charity), state.CodeInvalid, "pledge")
	// A purchase: 10,000 N95 from the factory, paid with 500,000 fen.
	f.mustBlock(sign(supplyStep(factoryKey, ledger.StepCommission, lot("N95", 20000), lot("G1", 5000), lot("X", 100)), factoryKey))
	bought := sign(shipTo(charity, lot("N95", 10000)), factoryKey)
	elsewhere := sign(shipTo(feverKey, lot("N95", 10)), factoryKey)
	must(bought, elsewhere)
	refused(sign(donationStep(ledger.DonationPurchase, pledge, 600_001, bought), charity), state.CodeConflict, "amount")
	refused(sign(donationStep(ledger.DonationPurchase, pledge, 1, elsewhere), charity), state.CodeConflict, "shipment")
	must(sign(donationStep(ledger.DonationPurchase, pledge, 500_000, bought), charity))
	// The donated masks: named once the charity has received them.
	given := sign(shipTo(charity, lot("G1", 5000)), factoryKey)
	must(given)
	refused(sign(donationStep(ledger.DonationReceive, pledge, 0, given), charity), state.CodeConflict, "shipment")
	must(sign(receiptOf(given), charity), sign(receiptOf(bought), charity))
	must(sign(donationStep(ledger.DonationReceive, pledge, 0, given), charity))
	refused(sign(donationStep(ledger.DonationPurchase, pledge, 1, given), charity), state.CodeConflict, "shipment")
	// Stock from outside the donation.
	other := sign(shipTo(charity, lot("X", 100)), factoryKey)
	must(other, sign(receiptOf(other), charity))
	// Allocations: 3,000 to the fever clinic, received later; 2,000 to
	// Jinyintan, received before the charity named it.
	toFever := sign(shipTo(feverKey, lot("N95", 3000)), charity)
	toJinyintan := sign(shipTo(jinyintanKey, lot("G1", 2000)), charity)
	toDistr := sign(shipTo(distributorKey, lot("N95", 1)), charity)
	must(toFever, toJinyintan, toDistr, sign(receiptOf(toJinyintan), jinyintanKey))
	refused(sign(donationStep(ledger.DonationAllocate, pledge, 0, toDistr), charity), state.CodeConflict, "shipment")
	must(sign(donationStep(ledger.DonationAllocate, pledge, 0, toFever), charity), sign(donationStep(ledger.DonationAllocate, pledge, 0, toJinyintan), charity))
	if d, _, _ := state.DonationOf(f.db, pledge.ID()); d.Pending != 1 {
		t.Errorf("one allocation in transit, pending %d", d.Pending)
	}
	must(sign(receiptOf(toFever), feverKey))
	// More than the donation brought: 15,000 units brought, 5,000
	// allocated, 10,001 more refused.
	tooMuch := sign(shipTo(jinyintanKey, lot("N95", 6999), lot("G1", 3000), lot("X", 2)), charity)
	must(tooMuch)
	refused(sign(donationStep(ledger.DonationAllocate, pledge, 0, tooMuch), charity), state.CodeConflict, "shipment")
	refused(sign(donationStep(ledger.DonationAllocate, pledge, 0, toFever), charity), state.CodeConflict, "shipment")

	d, ok, err := state.DonationOf(f.db, pledge.ID())
	if err != nil || !ok {
		t.Fatalf("the donation: %v %v", ok, err)
	}
	want := state.DonatedGoods{GTIN: maskGTIN, Pledged: 5000, Received: 5000, Bought: 10000, Allocated: 5000, Delivered: 5000}
	if d.Pledged != 1_000_000 || d.Received != 600_000 || d.Spent != 500_000 || len(d.Goods) != 1 || d.Goods[0] != want || d.Pending != 0 ||
		d.Donor != pub(donor) || d.Charity != pub(charity) || d.Purpose != gift.Purpose {
		t.Errorf("the donation: %+v", d)
	}
	if len(d.Steps) != 6 || d.Steps[len(d.Steps)-1] != steps[len(steps)-1].ID() {
		t.Errorf("steps %d, want 6 ending with the fever clinic's receipt", len(d.Steps))
	}
	// The state's donation is what the transactions say.
	r, err := supply.ReplayDonation(pledge, steps, ships)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pledged != d.Pledged || r.Received != d.Received || r.Spent != d.Spent || r.Pending != int(d.Pending) || len(r.Goods) != 1 ||
		r.Goods[0] != (supply.GoodsCount{GTIN: maskGTIN, Pledged: 5000, Received: 5000, Bought: 10000, Allocated: 5000, Delivered: 5000}) {
		t.Errorf("replayed %+v, the state has %+v", r, d)
	}
	// The last receipt struck from the answer: the replay sees the
	// allocation still in transit; a step out of order: refused.
	struck := maps.Clone(ships)
	struck[toFever.ID()] = supply.Shipment{Ship: toFever}
	if r, err := supply.ReplayDonation(pledge, steps[:len(steps)-1], struck); err != nil || r.Pending != 1 || r.Goods[0].Delivered != 2000 {
		t.Errorf("without the last receipt: %+v %v", r, err)
	}
	swapped := slices.Clone(steps)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	if _, err := supply.ReplayDonation(pledge, swapped, ships); err == nil {
		t.Error("a purchase before the money arrived replayed")
	}
	// Totals.
	ct, err := state.TotalsOf(f.db, store.ScopeCharity, d.Charity[:])
	if err != nil || ct.Donations != 1 || ct.Pledged != 1_000_000 || ct.Received != 600_000 || ct.Spent != 500_000 || len(ct.Goods) != 1 || ct.Goods[0] != want {
		t.Errorf("the charity's totals: %+v %v", ct, err)
	}
	fever := pub(feverKey)
	ht, err := state.TotalsOf(f.db, store.ScopeHospital, fever[:])
	if err != nil || ht.Donations != 1 || len(ht.Goods) != 1 || ht.Goods[0] != (state.DonatedGoods{GTIN: maskGTIN, Allocated: 3000, Delivered: 3000}) {
		t.Errorf("the fever clinic's totals: %+v %v", ht, err)
	}
	pt, err := state.TotalsOf(f.db, store.ScopeProduct, []byte(maskGTIN))
	if err != nil || pt.Donations != 1 || len(pt.Goods) != 1 || pt.Goods[0] != want {
		t.Errorf("the product's totals: %+v %v", pt, err)
	}
	for _, tc := range []struct {
		scope byte
		who   []byte
	}{{store.ScopeCharity, d.Charity[:]}, {store.ScopeHospital, fever[:]}, {store.ScopeProduct, []byte(maskGTIN)}} {
		if ids, more, err := state.DonationsUnder(f.db, tc.scope, tc.who, 10); err != nil || more || len(ids) != 1 || ids[0] != pledge.ID() {
			t.Errorf("donations under %c: %v %v %v", tc.scope, ids, more, err)
		}
	}
}

// donor2 is a pledge no chain holds.
func donor2(pledge *ledger.Tx) *ledger.Tx {
	b := *pledge.Body.(*ledger.DonationPledge)
	b.Nonce++
	return sign(&b, key("another donor"), ed25519.PrivateKey(key("red cross")))
}
