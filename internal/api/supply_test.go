package api_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"crypto/ed25519"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
)

// TestPublicSupply: anyone reads a code's provenance with its proofs (no
// login), as its schema says; a bad code is a 400 naming it, an unknown
// one is answered (not commissioned), and custodians submit their steps.
func TestPublicSupply(t *testing.T) {
	f := serve(t, world)
	chain := f.h.Genesis.ChainID
	factory, clinic := f.grant(t, "manufacturer"), f.grant(t, "hospital")
	submit := func(by ed25519.PrivateKey, b ledger.Body) *ledger.Tx { return f.submit(t, chain, by, b) }
	box := ledger.SupplyItem{GTIN: "10614141073464", Serial: "A%1", Qty: 1}
	submit(factory, &ledger.SupplyEvent{Step: ledger.StepCommission, Items: []ledger.SupplyItem{box}, Time: 1579500000, Expiry: "2025-01-31"})
	ship := submit(factory, &ledger.SupplyEvent{Step: ledger.StepShip, Items: []ledger.SupplyItem{box}, Time: 1579500001, To: pubOf(clinic)})
	submit(clinic, &ledger.SupplyEvent{Step: ledger.StepReceive, Offer: ship.ID(), Time: 1579500002})

	r := f.call(t, "GET", "/v1/public/supply/01/10614141073464/21/A%251", "", "")
	var p api.SupplyProof
	if r.status != 200 || json.Unmarshal(r.body, &p) != nil || !p.Commissioned || len(p.Events) != 3 || len(p.Proofs) != 3 || len(p.Held) != 1 ||
		p.Held[0].Units != 1 || p.Events[2].Units != 1 || p.Status != "active" {
		t.Fatalf("the box: %d %s", r.status, r.body)
	}
	// A box scanned 300 times: the answer lists the first steps and says
	// it is truncated.
	for j := 0; j < 3; j++ {
		var batch []string
		for i := 0; i < 100; i++ {
			tx := ledger.NewTx(&ledger.SupplyEvent{Step: ledger.StepObserve, Items: []ledger.SupplyItem{box}, Time: 1579600000 + int64(100*j+i)})
			tx.Sign(chain, clinic)
			batch = append(batch, `"`+base64.StdEncoding.EncodeToString(tx.Bytes())+`"`)
		}
		if status, body, _ := f.signedCall(t, clinic, "POST", "/v1/txs", []byte(`{"txs":[`+strings.Join(batch, ",")+`]}`)); status != 200 {
			t.Fatalf("100 scans: %d %s", status, body)
		}
	}
	r = f.call(t, "GET", "/v1/public/supply/01/10614141073464/21/A%251", "", "")
	p = api.SupplyProof{}
	if r.status != 200 || json.Unmarshal(r.body, &p) != nil || !p.Truncated || len(p.Events) != report.MaxProvenance || len(p.Proofs) != report.MaxProvenance {
		t.Fatalf("a box named by 303 steps: %d truncated %v, %d events", r.status, p.Truncated, len(p.Events))
	}
	r = f.call(t, "GET", "/v1/public/supply/01/10614141073464/10/NOLOT", "", "")
	if r.status != 200 || json.Unmarshal(r.body, &p) != nil || p.Commissioned || len(p.Events) != 0 {
		t.Errorf("a lot never made: %d %s", r.status, r.body)
	}
	r = f.call(t, "GET", "/v1/public/supply/00/106141412345678908", "", "")
	if r.status != 200 || json.Unmarshal(r.body, &p) != nil || p.Commissioned || p.Code != "00/106141412345678908" {
		t.Errorf("a pallet never packed: %d %s", r.status, r.body)
	}
	p = api.SupplyProof{}
	// Units of a lot in a case on a pallet.
	lot, cs := ledger.SupplyItem{GTIN: "10614141073464", Lot: "L7", Qty: 100}, ledger.SupplyItem{GTIN: "10614141073464", Serial: "CASE1", Qty: 1}
	pallet := ledger.SupplyItem{Serial: "106141412345678908", Qty: 1}
	submit(factory, &ledger.SupplyEvent{Step: ledger.StepCommission, Items: []ledger.SupplyItem{lot, cs}, Time: 1579700000, Expiry: "2025-01-31"})
	lot.Qty = 40
	submit(factory, &ledger.SupplyEvent{Step: ledger.StepPack, Items: []ledger.SupplyItem{lot}, Outputs: []ledger.SupplyItem{cs}, Time: 1579700001})
	submit(factory, &ledger.SupplyEvent{Step: ledger.StepPack, Items: []ledger.SupplyItem{cs}, Outputs: []ledger.SupplyItem{pallet}, Time: 1579700002})
	r = f.call(t, "GET", "/v1/public/supply/01/10614141073464/10/L7", "", "")
	p = api.SupplyProof{}
	if r.status != 200 || json.Unmarshal(r.body, &p) != nil || len(p.Packed) != 1 || p.Packed[0] != (report.ItemUnits{Code: cs.Code(), Units: 40}) ||
		len(p.Held) != 1 || p.Held[0].Units != 60 || len(p.Events) != 3 || !p.Events[2].Carried || p.Events[1].Units != 40 {
		t.Errorf("a lot in a case on a pallet: %d %s", r.status, r.body)
	}
	r = f.call(t, "GET", "/v1/public/supply/01/10614141073464/21/CASE1", "", "")
	p = api.SupplyProof{}
	if r.status != 200 || json.Unmarshal(r.body, &p) != nil || p.Inside != pallet.Code() || len(p.ContentUnits) != 1 || p.ContentUnits[0] != (report.ItemUnits{Code: lot.Code(), Units: 40}) {
		t.Errorf("a case on a pallet: %d %s", r.status, r.body)
	}
	var ns report.Needs
	if r := f.call(t, "GET", "/v1/public/needs?gtin=10614141073464", "", ""); r.status != 200 || json.Unmarshal(r.body, &ns) != nil || ns.GTIN != "10614141073464" {
		t.Errorf("needs: %d %s", r.status, r.body)
	}
	for _, bad := range []struct{ path, field string }{
		{"/v1/public/needs?gtin=10614141073465", "gtin"},
		{"/v1/public/needs", "gtin"},
		{"/v1/public/supply/01/10614141073465/21/A1", "code"},
		{"/v1/public/supply/01/10614141073464/22/A1", "code"},
		{"/v1/public/supply/01/10614141073464/21/" + strings.Repeat("9", 21), "code"},
		{"/v1/public/supply/01/10614141073464/21/A1?x=1", "x"},
		{"/v1/public/supply/00/106141412345678909", "code"},
		{"/v1/public/supply/00/10614141234567890", "code"},
	} {
		r := f.call(t, "GET", bad.path, "", "")
		if r.status != 400 || !strings.Contains(string(r.body), `"field":"`+bad.field+`"`) {
			t.Errorf("%s: %d %s", bad.path, r.status, r.body)
		}
	}
}

// submit signs b with by and submits it through POST /v1/tx, failing the
// test unless it is accepted.
func (f *fixture) submit(t *testing.T, chain string, by ed25519.PrivateKey, b ledger.Body) *ledger.Tx {
	t.Helper()
	tx := ledger.NewTx(b)
	tx.Sign(chain, by)
	status, body, _ := f.signedCall(t, by, "POST", "/v1/tx", []byte(`{"tx":"`+base64.StdEncoding.EncodeToString(tx.Bytes())+`"}`))
	if status != 200 {
		t.Fatalf("submit %s: %d %s", b.Kind(), status, body)
	}
	return tx
}
