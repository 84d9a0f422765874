package api_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
)

// TestPublicDonations: a donor's pledge, signed by the donor and the
// charity, followed by anyone from pledge to delivery with every
// transaction proven; the totals of the charity, the hospital and the
// product; bad ids, keys and GTINs are 400s naming them, an unknown id a
// 404.
func TestPublicDonations(t *testing.T) {
	f := serve(t, world)
	chain := f.h.Genesis.ChainID
	charity, factory, clinic := f.grant(t, "charity"), f.grant(t, "manufacturer"), f.grant(t, "hospital")
	_, donor, _ := ed25519.GenerateKey(nil)
	submit := func(by ed25519.PrivateKey, b ledger.Body) *ledger.Tx { return f.submit(t, chain, by, b) }
	masks := ledger.SupplyItem{GTIN: "10614141073464", Lot: "N95-1", Qty: 3000}

	// A pledge the donor alone signed is no transaction.
	pl := ledger.NewTx(&ledger.DonationPledge{Charity: pubOf(charity), Amount: 1_000_000, Purpose: "N95 for fever clinics", Time: 1579800000})
	pl.Sign(chain, donor)
	if status, body, _ := f.signedCall(t, charity, "POST", "/v1/tx", []byte(`{"tx":"`+base64.StdEncoding.EncodeToString(pl.Bytes())+`"}`)); status != 422 {
		t.Errorf("a pledge with one signature: %d %s", status, body)
	}
	pl.Sign(chain, charity)
	if status, body, _ := f.signedCall(t, charity, "POST", "/v1/tx", []byte(`{"tx":"`+base64.StdEncoding.EncodeToString(pl.Bytes())+`"}`)); status != 200 {
		t.Fatalf("the pledge: %d %s", status, body)
	}
	step := func(s string, amount uint64, ship *ledger.Tx, at int64) {
		b := &ledger.DonationStep{Step: s, Pledge: pl.ID(), Amount: amount, Time: at}
		if ship != nil {
			b.Shipment = ship.ID()
		}
		submit(charity, b)
	}
	step(ledger.DonationReceive, 1_000_000, nil, 1579800100)
	submit(factory, &ledger.SupplyEvent{Step: ledger.StepCommission, Items: []ledger.SupplyItem{masks}, Time: 1579800200, Expiry: "2025-01-31"})
	bought := submit(factory, &ledger.SupplyEvent{Step: ledger.StepShip, Items: []ledger.SupplyItem{masks}, Time: 1579800300, To: pubOf(charity)})
	step(ledger.DonationPurchase, 900_000, bought, 1579800400)
	submit(charity, &ledger.SupplyEvent{Step: ledger.StepReceive, Offer: bought.ID(), Time: 1579800500})
	alloc := submit(charity, &ledger.SupplyEvent{Step: ledger.StepShip, Items: []ledger.SupplyItem{masks}, Time: 1579800600, To: pubOf(clinic)})
	step(ledger.DonationAllocate, 0, alloc, 1579800700)
	submit(clinic, &ledger.SupplyEvent{Step: ledger.StepReceive, Offer: alloc.ID(), Time: 1579800800})

	r := f.call(t, "GET", "/v1/public/donations/"+pl.ID().String(), "", "")
	var d api.DonationProof
	if r.status != 200 || json.Unmarshal(r.body, &d) != nil {
		t.Fatalf("the donation: %d %s", r.status, r.body)
	}
	dk := pubOf(donor)
	steps := []string{}
	for _, s := range d.Path {
		steps = append(steps, s.Step)
	}
	if d.Donor != report.DonorPseudonym(dk) || d.Named || d.DonorKey != hex.EncodeToString(dk[:]) || d.Pledged != 1_000_000 || d.Balance != 100_000 ||
		strings.Join(steps, ",") != "pledge,receive,purchase,allocate,delivered" || len(d.Shipments) != 2 || len(d.Txs) != 9 || len(d.Proofs) != 9 ||
		len(d.Goods) != 1 || d.Goods[0].Bought != 3000 || d.Goods[0].Delivered != 3000 || d.InTransit != 0 || d.Charity.Role != "charity" {
		t.Errorf("the donation: %s", r.body)
	}
	for i, p := range d.Proofs {
		if p.Tx != d.Txs[i] {
			t.Errorf("proof %d is of %s, txs says %s", i, p.Tx, d.Txs[i])
		}
	}
	for _, tc := range []struct {
		q     string
		check func(report.Totals) bool
	}{
		{"charity=" + keyHex(charity), func(t report.Totals) bool {
			return t.Scope == "charity" && t.Donations == 1 && t.Received == 1_000_000 && t.Spent == 900_000 && t.Goods[0].Allocated == 3000
		}},
		{"hospital=" + keyHex(clinic), func(t report.Totals) bool {
			return t.Scope == "hospital" && t.Donations == 1 && t.Goods[0].Delivered == 3000 && t.Party.Role == "hospital"
		}},
		{"gtin=10614141073464", func(t report.Totals) bool {
			return t.Scope == "product" && t.Donations == 1 && t.Goods[0].Bought == 3000
		}},
	} {
		var tt report.Totals
		r := f.call(t, "GET", "/v1/public/donations?"+tc.q, "", "")
		if r.status != 200 || json.Unmarshal(r.body, &tt) != nil || !tc.check(tt) || len(tt.IDs) != 1 || tt.IDs[0] != pl.ID().String() {
			t.Errorf("%s: %d %s", tc.q, r.status, r.body)
		}
	}
	if r := f.call(t, "GET", "/v1/public/donations/"+strings.Repeat("ab", 32), "", ""); r.status != 404 || !strings.Contains(string(r.body), `"field":"id"`) {
		t.Errorf("an unknown donation: %d %s", r.status, r.body)
	}
	for _, bad := range []struct{ path, field string }{
		{"/v1/public/donations/xyz", "id"},
		{"/v1/public/donations/" + strings.Repeat("a", 65), "id"},
		{"/v1/public/donations/" + pl.ID().String() + "?x=1", "x"},
		{"/v1/public/donations", "charity"},
		{"/v1/public/donations?charity=" + keyHex(charity) + "&gtin=10614141073464", "charity"},
		{"/v1/public/donations?gtin=10614141073465", "gtin"},
		{"/v1/public/donations?hospital=zz", "hospital"},
		{"/v1/public/donations?charity=" + strings.Repeat("a", 1000), "charity"},
	} {
		r := f.call(t, "GET", bad.path, "", "")
		if r.status != 400 || !strings.Contains(string(r.body), `"field":"`+bad.field+`"`) {
			t.Errorf("%s: %d %s", bad.path, r.status, r.body)
		}
	}
}

func keyHex(k ed25519.PrivateKey) string {
	p := pubOf(k)
	return hex.EncodeToString(p[:])
}
