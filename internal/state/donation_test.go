package state_test

import (
	"crypto/ed25519"
	"maps"
	"math/rand/v2"
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
					s.Receipts = append(s.Receipts, tx)
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
	// A donation's shipment is not voided; a voided one carries no
	// donation.
	refused(sign(voidOf(bought), factoryKey), state.CodeConflict, "offer")
	voided := sign(shipTo(charity, lot("N95", 10)), factoryKey)
	must(voided)
	must(sign(voidOf(voided, lot("N95", 4)), factoryKey))
	refused(sign(donationStep(ledger.DonationPurchase, pledge, 1, voided), charity), state.CodeConflict, "shipment")
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
	// A short delivery: 2,800 of the 3,000 arrive, counted at once; the
	// allocation stays in transit until the rest does.
	short := receiptOf(toFever)
	short.Items = []ledger.SupplyItem{lot("N95", 2800)}
	must(sign(short, feverKey))
	if d, _, _ := state.DonationOf(f.db, pledge.ID()); d.Pending != 1 || d.Goods[0].Delivered != 4800 {
		t.Errorf("after a short delivery: pending %d, delivered %+v", d.Pending, d.Goods)
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
	struck[toFever.ID()] = supply.Shipment{Ship: toFever, Receipts: ships[toFever.ID()].Receipts[:1]}
	if r, err := supply.ReplayDonation(pledge, steps[:len(steps)-1], struck); err != nil || r.Pending != 1 || r.Goods[0].Delivered != 4800 {
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
	// A charity whose role is revoked takes no further step.
	f.mustBlock(grantTx(charity, ledger.RoleNone))
	refused(sign(donationStep(ledger.DonationReceive, pledge, 1, nil), charity), state.CodeWrongSigner, "signature")
}

// donor2 is a pledge no chain holds.
func donor2(pledge *ledger.Tx) *ledger.Tx {
	b := *pledge.Body.(*ledger.DonationPledge)
	b.Nonce++
	return sign(&b, key("another donor"), ed25519.PrivateKey(key("red cross")))
}

// TestDonationsAgainstModel: random sequences of pledges, donation steps,
// shipments and receipts, by the right charity and the wrong one, for
// amounts within and beyond what each donation brought: the state
// accepts exactly the donation steps a brute-force model of the rules
// accepts, ends with the model's figures and totals, and each donation
// is what its transactions replay to.
func TestDonationsAgainstModel(t *testing.T) {
	// A sequence that refuses everything proves nothing: each step must
	// be taken, in some sequence.
	seeded(t, 8, 3, []string{"pledge", ledger.DonationReceive, ledger.DonationPurchase, ledger.DonationAllocate, "delivered"}, donationsAgainstModel)
}

type modelDonation struct {
	charity                  [32]byte
	pledged, received, spent uint64
	goods                    map[string]*state.DonatedGoods
	steps                    []*ledger.Tx
}

// has is the donation's counts of gtin, zero if it counts none (a check
// that must not add a line).
func (d *modelDonation) has(gtin string) state.DonatedGoods {
	if g := d.goods[gtin]; g != nil {
		return *g
	}
	return state.DonatedGoods{GTIN: gtin}
}

func (d *modelDonation) line(gtin string) *state.DonatedGoods {
	if d.goods[gtin] == nil {
		d.goods[gtin] = &state.DonatedGoods{GTIN: gtin}
	}
	return d.goods[gtin]
}

func donationsAgainstModel(t *testing.T, seed uint64) map[string]int {
	rng := rand.New(rand.NewPCG(seed, 35))
	f := newFixture(t)
	f.mustBlock(world()...)
	supplyWorld(f)
	charities := []ed25519.PrivateKey{key("red cross"), key("charity federation")}
	donors := []ed25519.PrivateKey{key("donor a"), key("donor b")}
	hospitals := []ed25519.PrivateKey{jinyintanKey, feverKey}
	f.mustBlock(grantTx(charities[0], ledger.RoleCharity), grantTx(charities[1], ledger.RoleCharity))
	const otherGTIN = "10614141073457"
	f.mustBlock(sign(supplyStep(factoryKey, ledger.StepCommission, lot("D1", 1_000_000), ledger.SupplyItem{GTIN: otherGTIN, Lot: "D2", Qty: 1_000_000}), factoryKey))
	gtins := []string{maskGTIN, otherGTIN}

	donations := map[ledger.Hash]*modelDonation{}
	var pledgeIDs []ledger.Hash
	type ship struct {
		tx       *ledger.Tx
		from, to [32]byte
		received *ledger.Tx
		linked   byte
		pledge   ledger.Hash
	}
	ships := map[ledger.Hash]*ship{}
	var shipIDs []ledger.Hash
	pledges := map[ledger.Hash]*ledger.Tx{}
	taken := map[string]int{}
	units := func(s *ship) map[string]uint64 {
		out := map[string]uint64{}
		for _, it := range s.tx.Body.(*ledger.SupplyEvent).Items {
			out[it.GTIN] += uint64(it.Qty)
		}
		return out
	}
	// step is what the model accepts of a donation step b by k.
	step := func(k [32]byte, b *ledger.DonationStep) bool {
		d := donations[b.Pledge]
		if d == nil || d.charity != k {
			return false
		}
		var s *ship
		if b.Shipment != (ledger.Hash{}) {
			if s = ships[b.Shipment]; s == nil || s.linked != 0 {
				return false
			}
		}
		switch b.Step {
		case ledger.DonationReceive:
			if b.Amount > 0 {
				if d.received+b.Amount > d.pledged {
					return false
				}
				d.received += b.Amount
				return true
			}
			if s.to != d.charity || s.received == nil {
				return false
			}
			for g, u := range units(s) {
				if d.has(g).Received+u > d.has(g).Pledged {
					return false
				}
			}
			for g, u := range units(s) {
				d.line(g).Received += u
			}
			s.linked = state.LinkReceived
		case ledger.DonationPurchase:
			if d.spent+b.Amount > d.received || s.to != d.charity {
				return false
			}
			d.spent += b.Amount
			for g, u := range units(s) {
				d.line(g).Bought += u
			}
			s.linked = state.LinkBought
		case ledger.DonationAllocate:
			if s.from != d.charity || s.to != pub(hospitals[0]) && s.to != pub(hospitals[1]) {
				return false
			}
			for g, u := range units(s) {
				if l := d.has(g); l.Allocated+u > l.Received+l.Bought {
					return false
				}
			}
			for g, u := range units(s) {
				d.line(g).Allocated += u
				if s.received != nil {
					d.line(g).Delivered += u
				}
			}
			s.linked = state.LinkAllocated
		}
		s2 := s
		if s2 != nil {
			s2.pledge = b.Pledge
		}
		return true
	}
	for i := 0; i < 150; i++ {
		var txs []*ledger.Tx
		var check []func(error)
		for n := 1 + rng.IntN(4); len(txs) < n; {
			c := charities[rng.IntN(2)]
			supplyClock++
			// pick is a shipment, mostly one that fits (from or to
			// charity k, as want says).
			pick := func(k [32]byte, from bool) ledger.Hash {
				var fit []ledger.Hash
				for _, id := range shipIDs {
					if s := ships[id]; s.linked == 0 && (from && s.from == k || !from && s.to == k) {
						fit = append(fit, id)
					}
				}
				if len(fit) > 0 && rng.IntN(5) > 0 {
					return fit[rng.IntN(len(fit))]
				}
				if len(shipIDs) == 0 {
					return ledger.Hash{}
				}
				return shipIDs[rng.IntN(len(shipIDs))]
			}
			switch r := rng.IntN(10); {
			case r < 1:
				b := &ledger.DonationPledge{Charity: pub(c), Amount: uint64(rng.IntN(3)) * 1000, Time: supplyClock}
				for _, g := range gtins {
					if rng.IntN(2) == 0 {
						b.Goods = append(b.Goods, ledger.Goods{GTIN: g, Units: uint32(1 + rng.IntN(500))})
					}
				}
				signer := c
				if rng.IntN(6) == 0 {
					signer = charities[0] // perhaps the wrong charity
					if pub(c) == pub(charities[0]) {
						signer = charities[1]
					}
				}
				tx := sign(b, donors[rng.IntN(2)], signer)
				txs = append(txs, tx)
				check = append(check, func(err error) {
					want := ledger.Validate(b) == nil && pub(signer) == pub(c)
					if (err == nil) != want {
						t.Fatalf("pledge: state %v, model %v", err, want)
					}
					if want {
						d := &modelDonation{charity: pub(c), pledged: b.Amount, goods: map[string]*state.DonatedGoods{}}
						for _, g := range b.Goods {
							d.line(g.GTIN).Pledged = uint64(g.Units)
						}
						donations[tx.ID()], pledges[tx.ID()] = d, tx
						pledgeIDs = append(pledgeIDs, tx.ID())
						taken["pledge"]++
					}
				})
			case r < 5:
				// A shipment: the factory's to a charity, or a charity's
				// to a hospital (or to the other charity).
				from, to := factoryKey, c
				if rng.IntN(2) == 0 {
					from, to = c, []ed25519.PrivateKey{hospitals[0], hospitals[1], charities[0], charities[1]}[rng.IntN(4)]
					if pub(to) == pub(from) {
						to = hospitals[0]
					}
				}
				items := []ledger.SupplyItem{lot("D1", uint32(1+rng.IntN(300)))}
				if rng.IntN(2) == 0 {
					items = append(items, ledger.SupplyItem{GTIN: otherGTIN, Lot: "D2", Qty: uint32(1 + rng.IntN(300))})
				}
				tx := sign(shipTo(to, items...), from)
				txs = append(txs, tx)
				check = append(check, func(err error) {
					if err == nil {
						ships[tx.ID()] = &ship{tx: tx, from: pub(from), to: pub(to)}
						shipIDs = append(shipIDs, tx.ID())
					}
				})
			case r < 7 && len(shipIDs) > 0:
				s := ships[shipIDs[rng.IntN(len(shipIDs))]]
				var by ed25519.PrivateKey
				for _, k := range append(slices.Clone(charities), hospitals...) {
					if pub(k) == s.to {
						by = k
					}
				}
				tx := sign(receiptOf(s.tx), by)
				txs = append(txs, tx)
				check = append(check, func(err error) {
					if err != nil {
						return
					}
					s.received = tx
					if s.linked == state.LinkAllocated {
						taken["delivered"]++
						d := donations[s.pledge]
						for g, u := range units(s) {
							d.line(g).Delivered += u
						}
						d.steps = append(d.steps, tx)
					}
				})
			case len(pledgeIDs) > 0:
				b := &ledger.DonationStep{Pledge: pledgeIDs[rng.IntN(len(pledgeIDs))], Time: supplyClock}
				d := donations[b.Pledge]
				if rng.IntN(5) > 0 {
					c = charities[0] // mostly by the donation's charity
					if pub(charities[1]) == d.charity {
						c = charities[1]
					}
				}
				switch rng.IntN(3) {
				case 0:
					b.Step, b.Amount = ledger.DonationReceive, uint64(rng.IntN(3))*600
					if b.Amount == 0 {
						b.Shipment = pick(d.charity, false)
					}
				case 1:
					b.Step, b.Amount, b.Shipment = ledger.DonationPurchase, uint64(1+rng.IntN(1500)), pick(d.charity, false)
				default:
					b.Step, b.Shipment = ledger.DonationAllocate, pick(d.charity, true)
				}
				tx := sign(b, c)
				txs = append(txs, tx)
				check = append(check, func(err error) {
					want := ledger.Validate(b) == nil && step(pub(c), b)
					if (err == nil) != want {
						t.Fatalf("%s: state %v, model %v", b.Step, err, want)
					}
					if want {
						donations[b.Pledge].steps = append(donations[b.Pledge].steps, tx)
						taken[b.Step]++
					}
				})
			}
		}
		errs, _ := f.block(txs)
		for j, err := range errs {
			check[j](err)
		}
	}
	t.Logf("accepted %v", taken)
	totals := map[[32]byte]*state.Totals{}
	for _, id := range pledgeIDs {
		m := donations[id]
		d, ok, err := state.DonationOf(f.db, id)
		if err != nil || !ok {
			t.Fatalf("donation %x: %v %v", id[:4], ok, err)
		}
		if d.Pledged != m.pledged || d.Received != m.received || d.Spent != m.spent || len(d.Goods) != len(m.goods) {
			t.Fatalf("donation %x: state %+v, model %+v", id[:4], d, m)
		}
		for _, g := range d.Goods {
			if g != *m.goods[g.GTIN] {
				t.Errorf("donation %x, %s: state %+v, model %+v", id[:4], g.GTIN, g, *m.goods[g.GTIN])
			}
		}
		rs := map[ledger.Hash]supply.Shipment{}
		for sid, s := range ships {
			if s.pledge == id {
				rs[sid] = supply.Shipment{Ship: s.tx}
				if s.received != nil {
					rs[sid] = supply.Shipment{Ship: s.tx, Receipts: []*ledger.Tx{s.received}}
				}
			}
		}
		r, err := supply.ReplayDonation(pledges[id], m.steps, rs)
		if err != nil || r.Pledged != d.Pledged || r.Received != d.Received || r.Spent != d.Spent || r.Pending != int(d.Pending) || len(r.Goods) != len(d.Goods) {
			t.Fatalf("donation %x: replayed %+v %v, state %+v", id[:4], r, err, d)
		}
		if tt := totals[m.charity]; tt == nil {
			totals[m.charity] = &state.Totals{}
		}
		tt := totals[m.charity]
		tt.Donations++
		tt.Pledged, tt.Received, tt.Spent = tt.Pledged+m.pledged, tt.Received+m.received, tt.Spent+m.spent
	}
	for ch, want := range totals {
		got, err := state.TotalsOf(f.db, store.ScopeCharity, ch[:])
		if err != nil || got.Donations != want.Donations || got.Pledged != want.Pledged || got.Received != want.Received || got.Spent != want.Spent {
			t.Errorf("a charity's totals %+v, model %+v (%v)", got, want, err)
		}
	}
	return taken
}
