package supply_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/supply"
)

// FuzzReplay: supply check replays whatever transactions a file's proofs
// hold, so Replay must never panic on them, and must give the same
// answer twice.
func FuzzReplay(f *testing.F) {
	k := ed25519.NewKeyFromSeed(make([]byte, 32))
	box := ledger.SupplyItem{GTIN: "10614141073464", Serial: "A1", Qty: 1}
	pallet := ledger.SupplyItem{Serial: "106141412345678908", Qty: 1}
	for _, b := range []*ledger.SupplyEvent{
		{Step: ledger.StepCommission, Items: []ledger.SupplyItem{box}, Time: 1, Expiry: "2025-01-31"},
		{Step: ledger.StepShip, Items: []ledger.SupplyItem{box}, Time: 2, To: [32]byte{1}},
		{Step: ledger.StepReceive, Time: 3, Ref: "po-1"},
		{Step: ledger.StepObserve, Items: []ledger.SupplyItem{box}, Time: 4},
		{Step: ledger.StepPack, Items: []ledger.SupplyItem{box, {GTIN: "10614141073464", Lot: "L7", Qty: 5}}, Outputs: []ledger.SupplyItem{pallet}, Time: 5},
		{Step: ledger.StepPack, Items: []ledger.SupplyItem{pallet}, Outputs: []ledger.SupplyItem{box}, Time: 6},
		{Step: ledger.StepShip, Items: []ledger.SupplyItem{pallet}, Time: 7, To: [32]byte{1}},
		{Step: ledger.StepVoid, Offer: ledger.Hash{1}, Time: 8},
		{Step: ledger.StepUnpack, Items: []ledger.SupplyItem{pallet}, Time: 9},
	} {
		tx := ledger.NewTx(b)
		tx.Sign("c", k)
		f.Add(tx.Bytes(), tx.Bytes())
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var txs []*ledger.Tx
		for _, raw := range [][]byte{a, b, a} {
			if tx, err := ledger.DecodeTx(raw); err == nil {
				txs = append(txs, tx)
			}
		}
		d1, err1 := supply.Replay(box.Code(), txs)
		d2, err2 := supply.Replay(box.Code(), txs)
		if (err1 == nil) != (err2 == nil) || err1 == nil && (d1.Status != d2.Status || len(d1.Signals) != len(d2.Signals)) {
			t.Fatalf("two replays differ: %v %v", err1, err2)
		}
	})
}

// TestReplay: a box's steps give its holder, its status and its signals.
func TestReplay(t *testing.T) {
	maker, clinic := ed25519.NewKeyFromSeed(make([]byte, 32)), ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	box := ledger.SupplyItem{GTIN: "10614141073464", Serial: "A1", Lot: "L1", Qty: 1}
	signed := func(k ed25519.PrivateKey, b *ledger.SupplyEvent) *ledger.Tx {
		tx := ledger.NewTx(b)
		tx.Sign("c", k)
		return tx
	}
	made := signed(maker, &ledger.SupplyEvent{Step: ledger.StepCommission, Items: []ledger.SupplyItem{box}, Time: 1, Expiry: "2025-01-31"})
	ship := signed(maker, &ledger.SupplyEvent{Step: ledger.StepShip, Items: []ledger.SupplyItem{box}, Time: 2, To: [32]byte(clinic.Public().(ed25519.PublicKey)), Ref: "po-1"})
	got := signed(clinic, &ledger.SupplyEvent{Step: ledger.StepReceive, Time: 3, Ref: "po-1"})
	wrongLot := box
	wrongLot.Lot = "L9"
	scan := signed(maker, &ledger.SupplyEvent{Step: ledger.StepObserve, Items: []ledger.SupplyItem{wrongLot}, Time: 4})
	used := signed(clinic, &ledger.SupplyEvent{Step: ledger.StepConsume, Items: []ledger.SupplyItem{box}, Time: 5})
	again := signed(clinic, &ledger.SupplyEvent{Step: ledger.StepObserve, Items: []ledger.SupplyItem{box}, Time: 6})
	d, err := supply.Replay(box.Code(), []*ledger.Tx{made, ship, got, scan, used, again})
	if err != nil {
		t.Fatal(err)
	}
	want := []supply.Signal{{Kind: supply.LotMismatch, Tx: scan.ID()}, {Kind: supply.TwoHolders, Tx: scan.ID()}, {Kind: supply.AfterUse, Tx: again.ID()}}
	if d.Status != "consumed" || len(d.Signals) != len(want) {
		t.Fatalf("replay %+v", d)
	}
	for i := range want {
		if d.Signals[i] != want[i] {
			t.Errorf("signal %d: %+v, want %+v", i, d.Signals[i], want[i])
		}
	}
	// A sequence no chain accepts is an error, not a state.
	if _, err := supply.Replay(box.Code(), []*ledger.Tx{ship}); err == nil {
		t.Error("a shipment of an item never made replayed")
	}
}
