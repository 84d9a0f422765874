package bench

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/testnode"
)

// supplyChain files steps that give each part of an answer something to
// show: a lot commissioned twice; a transfer received by its business
// reference, another by its shipment; steps with a place; consumption
// and destruction; an instance in transit; and every kind of signal (a
// serial never commissioned, one seen after use, while shipped to
// another, while another holds it; a lot and an expiry that differ from
// the commissioning). It returns the codes it named.
func supplyChain(t *testing.T, n *node.Node) []ledger.SupplyItem {
	t.Helper()
	ctx := context.Background()
	chain := n.Home.Genesis.ChainID
	submit := func(k ed25519.PrivateKey, b ledger.Body) ledger.Hash {
		t.Helper()
		tx := ledger.NewTx(b)
		tx.Sign(chain, k)
		if r := n.Engine.Submit(ctx, tx.Bytes()); r.Err != nil {
			t.Fatalf("%s: %v", b.Kind(), r.Err)
		}
		return tx.ID()
	}
	pub := func(k ed25519.PrivateKey) [32]byte { return [32]byte(k.Public().(ed25519.PublicKey)) }
	keys := benchKeysForTest(4)
	maker, dist, hosp, other := keys[0], keys[1], keys[2], keys[3]
	for i, role := range []string{ledger.RoleManufacturer, ledger.RoleDistributor, ledger.RoleHospital, ledger.RoleHospital} {
		submit(n.Home.Authority(), &ledger.GrantRole{Key: pub(keys[i]), Role: role, Name: fmt.Sprintf("%s %d", role, i)})
	}
	const gtin = "10614141073464"
	item := func(serial, lot string, qty uint32) ledger.SupplyItem {
		return ledger.SupplyItem{GTIN: gtin, Serial: serial, Lot: lot, Qty: qty}
	}
	box, lot, moving, held, marked := item("A1", "", 1), item("", "L1", 500), item("A2", "", 1), item("A3", "", 1), item("A4", "L9", 1)
	here, err := ledger.CellOf(30.59, 114.30)
	if err != nil {
		t.Fatal(err)
	}
	t0 := int64(1579500000)
	ev := func(step string, items ...ledger.SupplyItem) *ledger.SupplyEvent {
		t0++
		return &ledger.SupplyEvent{Step: step, Items: items, Time: t0}
	}
	c := ev(ledger.StepCommission, box, lot, marked)
	c.Expiry, c.Standard, c.Certificate, c.Placed, c.Place = "2025-01-31", "GB 19083-2010", "REG-1", true, here
	submit(maker, c)
	more := item("", "L1", 200)
	c = ev(ledger.StepCommission, more)
	c.Expiry = "2025-01-31"
	submit(maker, c)
	part := item("", "L1", 300)
	s := ev(ledger.StepShip, box, part)
	s.To, s.Ref, s.Placed, s.Place = pub(dist), "PO-1", true, here
	submit(maker, s)
	r := ev(ledger.StepReceive)
	r.Ref = "PO-1"
	submit(dist, r)
	s = ev(ledger.StepShip, box, item("", "L1", 100))
	s.To = pub(hosp)
	r = ev(ledger.StepReceive)
	r.Offer = submit(dist, s)
	submit(hosp, r)
	submit(hosp, ev(ledger.StepConsume, item("", "L1", 10)))
	submit(dist, ev(ledger.StepDestroy, item("", "L1", 5)))
	submit(hosp, ev(ledger.StepConsume, box))
	submit(other, ev(ledger.StepObserve, box))              // seen after use
	submit(hosp, ev(ledger.StepObserve, item("X1", "", 1))) // never commissioned
	c = ev(ledger.StepCommission, moving, held)
	c.Expiry = "2025-06-30"
	submit(maker, c)
	s = ev(ledger.StepShip, moving)
	s.To = pub(dist)
	submit(maker, s)
	submit(hosp, ev(ledger.StepObserve, moving))     // while shipped to another
	submit(dist, ev(ledger.StepObserve, held))       // while another holds it
	o := ev(ledger.StepObserve, item("A4", "L8", 1)) // another lot
	o.Expiry = "2026-01-31"                          // another expiry
	submit(maker, o)
	return []ledger.SupplyItem{box, lot, moving, held, marked, item("X1", "", 1), item("N1", "", 1), item("", "L0", 1)}
}

func benchKeysForTest(n int) []ed25519.PrivateKey {
	out := make([]ed25519.PrivateKey, n)
	for i := range out {
		out[i] = ed25519.NewKeyFromSeed(fmt.Appendf(nil, "%032d", i))
	}
	return out
}

// TestPostgresSupplyEqualsOurs loads a small supply chain into
// PostgreSQL's model and checks that its answer to every code's public
// check (the item, its steps in block order, who holds it, its signals)
// is the API's answer, proofs aside, for codes made, only scanned and
// never named; that the answers hold what the chain was built to show;
// and that SupplyCheck compares them all and finds them equal.
func TestPostgresSupplyEqualsOurs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	bin, err := FindPostgres()
	if err != nil {
		t.Skip(err)
	}
	_, n := testnode.New(t)
	codes := supplyChain(t, n)
	dir := scratchDir(t)
	ctx := context.Background()
	pg, conn, err := pgStart(ctx, dir, bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	defer conn.Close(ctx)
	pr, err := pgSupplyLoad(ctx, conn, n, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Signals != 6 || pr.Items != 5 {
		t.Errorf("loaded %+v, want 6 signals and 5 items", pr)
	}
	h, err := api.New(n, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	loc := n.Home.Config.Location()
	shown := map[string]int{} // what the answers hold, over all codes
	for _, code := range codes {
		body, _, err := apiCheck(h, code)
		if err != nil {
			t.Fatal(err)
		}
		var ours api.SupplyProof
		if err := json.Unmarshal(body, &ours); err != nil {
			t.Fatal(err)
		}
		theirs, err := pgSupply(ctx, conn, code, loc)
		if err != nil {
			t.Fatal(err)
		}
		if diff := diffProvenance(ours.Provenance, theirs); diff != "" {
			t.Errorf("%s: %s", code.Code(), diff)
		}
		for _, e := range ours.Events {
			shown["step "+e.Step]++
			if e.Place != "" {
				shown["place"]++
			}
			if e.Offer != "" && e.Units > 0 {
				shown["receipt with units"]++
			}
		}
		for _, s := range ours.Signals {
			shown["signal "+s.Kind]++
		}
		if len(ours.Held) > 0 {
			shown["held"]++
		}
		if ours.InTransit != "" {
			shown["in transit"]++
		}
		if ours.Status == "consumed" {
			shown["consumed"]++
		}
	}
	for _, want := range []string{"step commission", "step ship", "step receive", "step consume", "step destroy", "step observe", "place",
		"receipt with units", "held", "in transit", "consumed", "signal uncommissioned", "signal seen-after-use", "signal two-holders",
		"signal lot-mismatch", "signal expiry-mismatch", "signal custody-gap"} {
		if shown[want] == 0 {
			t.Errorf("no answer shows %s: %v", want, shown)
		}
	}
	if shown["receipt with units"] != 4 {
		t.Errorf("%d receipts with units, want 4 (two receipts of a box and a lot)", shown["receipt with units"])
	}

	// The bench itself (a server of its own): every answer compared,
	// none differs.
	conn.Close(ctx)
	pg.Stop()
	res, err := SupplyCheck(ctx, n, SupplyCheckConfig{Codes: codes, Dir: scratchDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Postgres == nil || res.Postgres.Compared != len(codes) || res.Postgres.Differ != 0 || res.Checks != len(codes) {
		t.Fatalf("SupplyCheck: %+v, postgres %+v", res, res.Postgres)
	}
}
