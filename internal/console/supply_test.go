package console_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/testnode"
)

// TestConsoleSupply (issue 17): with no login, a lot of N95 masks'
// journey from the factory to a fever clinic on the map (a marker a step
// that gave its place, joined in order), a scanned fake under a red
// banner, a donation's path from pledge to delivery with its money, and
// a product's needs against its allocations with the flags; a refused
// code and an unknown receipt id say the field; a logged-in user has
// the same views.
func TestConsoleSupply(t *testing.T) {
	h, n := testnode.New(t)
	c := serveCity(t, h, n, "investigator")
	ctx := browser(t)
	grant := func(role, name string) (ed25519.PrivateKey, [32]byte) {
		pub, key, _ := ed25519.GenerateKey(nil)
		c.token(t, "POST", "/v1/roles", fmt.Sprintf(`{"key":%q,"role":%q,"name":%q}`, hex.EncodeToString(pub), role, name))
		return key, [32]byte(pub)
	}
	factory, _ := grant("manufacturer", "Xiantao mask factory")
	redCross, redCrossPub := grant("charity", "Hubei Red Cross")
	jinyintan, jinyintanPub := grant("hospital", "Jinyintan hospital")
	union, unionPub := grant("hospital", "Union hospital")
	_, donor, _ := ed25519.GenerateKey(nil)
	cell := func(lat, lon float64) ledger.Cell {
		cl, err := ledger.CellOf(lat, lon)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	atFactory, atRedCross, atJinyintan, atUnion := cell(30.36, 113.44), cell(30.58, 114.27), cell(30.63, 114.26), cell(30.59, 114.29)
	const gtin = "10614141073464"
	lot := func(n uint32) []ledger.SupplyItem { return []ledger.SupplyItem{{GTIN: gtin, Lot: "N95-2001", Qty: n}} }
	at := int64(1579800000) // 2020-01-24
	next := func() int64 { at += 600; return at }

	// The fever clinic pleads for masks; a donor gives 10,000 yuan for
	// them; the charity buys 20,000 from the factory and allocates 3,000
	// to the fever clinic and 16,000 to a hospital that declared no need.
	c.submit(t, &ledger.SupplyNeed{GTIN: gtin, Units: 100000, Urgency: "critical", FeverClinic: true, Time: next()}, jinyintan)
	pledge := c.submit(t, &ledger.DonationPledge{Charity: redCrossPub, Amount: 1_000_000, Purpose: "N95 for fever clinics", Time: next()}, donor, redCross)
	step := func(s string, amount uint64, ship *ledger.Tx) {
		b := &ledger.DonationStep{Step: s, Pledge: pledge.ID(), Amount: amount, Time: next()}
		if ship != nil {
			b.Shipment = ship.ID()
		}
		c.submit(t, b, redCross)
	}
	step(ledger.DonationReceive, 1_000_000, nil)
	c.submit(t, &ledger.SupplyEvent{Step: ledger.StepCommission, Items: lot(20000), Time: next(), Expiry: "2025-01-31", Standard: "GB 19083-2010",
		Placed: true, Place: atFactory}, factory)
	bought := c.submit(t, &ledger.SupplyEvent{Step: ledger.StepShip, Items: lot(20000), Time: next(), To: redCrossPub, Placed: true, Place: atFactory}, factory)
	step(ledger.DonationPurchase, 900_000, bought)
	c.submit(t, &ledger.SupplyEvent{Step: ledger.StepReceive, Offer: bought.ID(), Time: next(), Placed: true, Place: atRedCross}, redCross)
	toFever := c.submit(t, &ledger.SupplyEvent{Step: ledger.StepShip, Items: lot(3000), Time: next(), To: jinyintanPub, Placed: true, Place: atRedCross}, redCross)
	step(ledger.DonationAllocate, 0, toFever)
	toUnion := c.submit(t, &ledger.SupplyEvent{Step: ledger.StepShip, Items: lot(16000), Time: next(), To: unionPub, Placed: true, Place: atRedCross}, redCross)
	step(ledger.DonationAllocate, 0, toUnion)
	c.submit(t, &ledger.SupplyEvent{Step: ledger.StepReceive, Offer: toFever.ID(), Time: next(), Placed: true, Place: atJinyintan}, jinyintan)
	c.submit(t, &ledger.SupplyEvent{Step: ledger.StepConsume, Items: lot(100), Time: next()}, jinyintan) // on a ward: no place given
	// A box no factory made, scanned at the other hospital.
	c.submit(t, &ledger.SupplyEvent{Step: ledger.StepObserve, Items: []ledger.SupplyItem{{GTIN: gtin, Serial: "FAKE-1", Qty: 1}}, Time: next(),
		Placed: true, Place: atUnion}, union)

	layers := func(js string) string {
		return `(() => { const m = document.getElementById("supply-map").leaflet; const out = []; m.eachLayer(l => { ` + js + ` }); return out; })()`
	}
	markers := layers(`if (l instanceof L.CircleMarker) out.push(l)`) + ".length"
	lines := layers(`if (l instanceof L.Polyline && !(l instanceof L.Polygon)) out.push(l.getLatLngs().length)`)

	// No login: the nav offers the open views, and a code typed in.
	run(t, ctx, "the supply view without login", chromedp.Navigate(c.srv.URL+"/#/supply"), chromedp.WaitVisible(chromedp.CSS("#supply-code")))
	if vis := eval[string](t, ctx, `[...document.querySelectorAll("#nav a")].filter(a => !a.hidden).map(a => a.getAttribute("href")).join(" ")`); !strings.Contains(vis, "#/supply #/donation #/needs") {
		t.Errorf("the nav without login offers %q", vis)
	}
	const lotCode = "01/" + gtin + "/10/N95-2001"
	run(t, ctx, "a lot's journey", chromedp.SendKeys(chromedp.CSS("#supply-code"), lotCode+"\r"), chromedp.WaitVisible(chromedp.CSS("#supply-table")))
	if got := text(t, ctx, "#supply-maker"); got != "Xiantao mask factory (manufacturer)" {
		t.Errorf("the maker on screen %q", got)
	}
	if got := text(t, ctx, "#supply-standard") + " " + text(t, ctx, "#supply-expiry"); got != "GB 19083-2010 2025-01-31" {
		t.Errorf("the standard and expiry on screen %q", got)
	}
	if got := text(t, ctx, "#supply-held"); !strings.Contains(got, "Jinyintan hospital (hospital): 2,900") || !strings.Contains(got, "Hubei Red Cross (charity): 1,000") {
		t.Errorf("held now, on screen: %q", got)
	}
	if rows := eval[int](t, ctx, `document.querySelectorAll("#supply-table tbody tr").length`); rows != 7 {
		t.Errorf("%d steps in the table, want 7", rows)
	}
	if got := eval[int](t, ctx, markers); got != 6 {
		t.Errorf("%d markers on the map, want 6 (the steps that gave their place)", got)
	}
	if got := eval[[]int](t, ctx, lines); len(got) != 1 || got[0] != 6 {
		t.Errorf("the journey's line: %v, want one through 6 places", got)
	}
	if got := text(t, ctx, "#supply-unplaced"); !strings.Contains(got, "1 step") {
		t.Errorf("the step with no place: %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#supply-signals").length`); n != 0 || text(t, ctx, "#supply-clean") == "" {
		t.Errorf("a clean lot under a banner")
	}
	screenshot(t, ctx, "14-supply")

	// The fake, as its box's Digital Link URL: a red banner says so.
	run(t, ctx, "a fake", chromedp.Navigate(c.srv.URL+"/#/supply?code="+url.QueryEscape("https://id.gs1.org/01/"+gtin+"/21/FAKE-1")),
		chromedp.WaitVisible(chromedp.CSS("#supply-signals")))
	if got := text(t, ctx, "#supply-signals"); !strings.Contains(got, "No manufacturer commissioned this code") || !strings.Contains(got, "never commissioned") {
		t.Errorf("the fake's banner: %q", got)
	}
	if got := text(t, ctx, "#supply-maker"); got != "no one (not commissioned)" {
		t.Errorf("the fake's maker: %q", got)
	}
	if got := eval[int](t, ctx, markers); got != 1 {
		t.Errorf("the fake's scan: %d markers", got)
	}
	screenshot(t, ctx, "14b-supply-fake")
	// A box and 40 masks of a lot in a case; the case and another box on
	// a pallet: the pallet's page says what it holds, the first box's
	// that it is in the case on the pallet, the lot's how many units are
	// in the case, its journey the pallet's steps with it.
	const sscc = "106141412345678908"
	boxes := []ledger.SupplyItem{{GTIN: gtin, Serial: "BOX-1", Qty: 1}, {GTIN: gtin, Serial: "BOX-2", Qty: 1}}
	cs, loose := ledger.SupplyItem{GTIN: gtin, Serial: "CASE-1", Qty: 1}, ledger.SupplyItem{GTIN: gtin, Lot: "N95-2002", Qty: 100}
	c.submit(t, &ledger.SupplyEvent{Step: ledger.StepCommission, Items: append(boxes, cs, loose), Time: next(), Expiry: "2025-01-31"}, factory)
	loose.Qty = 40
	c.submit(t, &ledger.SupplyEvent{Step: ledger.StepPack, Items: []ledger.SupplyItem{boxes[0], loose}, Outputs: []ledger.SupplyItem{cs}, Time: next()}, factory)
	c.submit(t, &ledger.SupplyEvent{Step: ledger.StepPack, Items: []ledger.SupplyItem{boxes[1], cs}, Outputs: []ledger.SupplyItem{{Serial: sscc, Qty: 1}}, Time: next()}, factory)
	run(t, ctx, "a pallet", chromedp.Navigate(c.srv.URL+"/#/supply?code="+url.QueryEscape("https://id.gs1.org/00/"+sscc)),
		chromedp.WaitVisible(chromedp.CSS("#supply-contents")))
	if got := text(t, ctx, "#supply-contents"); !strings.Contains(got, "2: 01/"+gtin+"/21/BOX-2, 01/"+gtin+"/21/CASE-1") {
		t.Errorf("the pallet's contents on screen: %q", got)
	}
	run(t, ctx, "a box in a case on it", chromedp.Navigate(c.srv.URL+"/#/supply?code="+url.QueryEscape("01/"+gtin+"/21/BOX-1")),
		chromedp.WaitVisible(chromedp.CSS("#supply-inside")))
	if got := text(t, ctx, "#supply-inside"); got != "01/"+gtin+"/21/CASE-1 (in 00/"+sscc+")" {
		t.Errorf("the box's case and pallet on screen: %q", got)
	}
	run(t, ctx, "the case", chromedp.Navigate(c.srv.URL+"/#/supply?code="+url.QueryEscape("01/"+gtin+"/21/CASE-1")),
		chromedp.WaitVisible(chromedp.CSS("#supply-contents")))
	if got := text(t, ctx, "#supply-contents"); got != "2: 40 × 01/"+gtin+"/10/N95-2002, 01/"+gtin+"/21/BOX-1" {
		t.Errorf("the case's contents on screen: %q", got)
	}
	run(t, ctx, "the lot", chromedp.Navigate(c.srv.URL+"/#/supply?code="+url.QueryEscape("01/"+gtin+"/10/N95-2002")),
		chromedp.WaitVisible(chromedp.CSS("#supply-packed")))
	if got := text(t, ctx, "#supply-packed"); got != "40 × 01/"+gtin+"/21/CASE-1" {
		t.Errorf("the lot's packed units on screen: %q", got)
	}
	if got := text(t, ctx, "#supply-table tbody tr:nth-child(3)"); !strings.Contains(got, "with its container") {
		t.Errorf("the pallet's packing in the lot's journey: %q", got)
	}
	// A code the node refuses (its check digit wrong): the error names
	// the field, the form stays.
	run(t, ctx, "a bad code", chromedp.SetValue(chromedp.CSS("#supply-code"), "01/10614141073465/21/A1"), chromedp.Click(chromedp.CSS("#supply-form button")),
		chromedp.WaitVisible(chromedp.CSS("#lookup-refused")))
	if got := text(t, ctx, "#error"); !strings.HasPrefix(got, "code: ") {
		t.Errorf("a bad code's error %q does not name the field", got)
	}

	// The donation, by its receipt id.
	var d struct{ Path []struct{ Step string } }
	getJSON(t, c, "/v1/public/donations/"+pledge.ID().String(), &d)
	var want []string
	for _, s := range d.Path {
		want = append(want, s.Step)
	}
	run(t, ctx, "a donation", chromedp.Navigate(c.srv.URL+"/#/donation"), chromedp.WaitVisible(chromedp.CSS("#donation-id")),
		chromedp.SendKeys(chromedp.CSS("#donation-id"), pledge.ID().String()+"\r"), chromedp.WaitVisible(chromedp.CSS("#donation-path")))
	steps := eval[string](t, ctx, `[...document.querySelectorAll("#donation-path li")].map(li => li.dataset.step).join(",")`)
	if steps != strings.Join(want, ",") || steps != "pledge,receive,purchase,allocate,allocate,delivered" {
		t.Errorf("the path on screen %s, the API's %s", steps, strings.Join(want, ","))
	}
	for sel, want := range map[string]string{"#donation-pledged": "¥10,000.00", "#donation-received": "¥10,000.00", "#donation-spent": "¥9,000.00",
		"#donation-balance": "¥1,000.00", "#donation-intransit": "1", "#donation-charity": "Hubei Red Cross (charity)", "#donation-purpose": "N95 for fever clinics",
		"#donation-stages [aria-current=step]": "delivered"} {
		if got := text(t, ctx, sel); got != want {
			t.Errorf("%s on screen %q, want %q", sel, got, want)
		}
	}
	if got := text(t, ctx, "#donation-donor"); !strings.HasPrefix(got, "donor-") {
		t.Errorf("an unnamed donor shows as %q", got)
	}
	if got := eval[string](t, ctx, `[...document.querySelectorAll("#shipments-table tbody tr")].map(r => r.querySelector(".transit") ? "T" : "R").join("")`); got != "RRT" {
		t.Errorf("the shipments (R received, T in transit) %q, want RRT", got)
	}
	if got := eval[string](t, ctx, `[...document.querySelectorAll("#goods-table tbody td")].map(td => td.textContent).join(" ")`); got != gtin+" 0 0 20,000 19,000 3,000" {
		t.Errorf("the goods on screen %q", got)
	}
	screenshot(t, ctx, "15-donation")
	run(t, ctx, "a donation in Chinese", chromedp.Click(chromedp.CSS("#lang")))
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`(document.getElementById("donation-pledged") || {}).textContent === "10,000.00 元"`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Errorf("the pledge in Chinese: %v", err)
	}
	run(t, ctx, "back to English", chromedp.Click(chromedp.CSS("#lang")), chromedp.WaitVisible(chromedp.CSS("#donation-path")))
	run(t, ctx, "an unknown receipt id", chromedp.Navigate(c.srv.URL+"/#/donation?id="+strings.Repeat("ab", 32)), chromedp.WaitVisible(chromedp.CSS("#lookup-refused")))
	if got := text(t, ctx, "#error"); !strings.HasPrefix(got, "id: ") {
		t.Errorf("an unknown receipt id's error %q does not name the field", got)
	}

	// The product's needs against its allocations, from the goods' link.
	run(t, ctx, "back to the donation", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS("#goods-table")))
	run(t, ctx, "the needs", chromedp.Click(chromedp.CSS("#goods-table a")), chromedp.WaitVisible(chromedp.CSS("#needs-bars")))
	checkNeeds(t, ctx)
	if got := eval[string](t, ctx, `[...document.querySelectorAll("#flags-table tbody .flag")].map(f => f.textContent).sort().join("; ")`); got != "a fever clinic's need unmet; no declared need" {
		t.Errorf("the flags on screen %q", got)
	}
	if got := text(t, ctx, "#needs-donations"); got != "1" {
		t.Errorf("the product's donations on screen %q", got)
	}
	screenshot(t, ctx, "16-needs")

	// Logged in, the same views.
	run(t, ctx, "login", chromedp.Navigate(c.loginURL(t, "investigator")), chromedp.WaitVisible(chromedp.CSS("#st-height")),
		chromedp.Navigate(c.srv.URL+"/#/needs?gtin="+gtin), chromedp.WaitVisible(chromedp.CSS("#needs-bars")))
	checkNeeds(t, ctx)
}

// checkNeeds: two hospitals' bars, the fever clinic's need and the 3,000
// it was allocated, the 16,000 to the other beyond its (undeclared) need
// and red, one fever clinic marked.
func checkNeeds(t *testing.T, ctx context.Context) {
	t.Helper()
	bars := eval[string](t, ctx, `[...document.querySelectorAll("#needs-bars rect")].map(r => r.dataset.kind + "=" + r.dataset.units).join(" ")`)
	if bars != "need=100000 allocated=3000 need=0 allocated=16000" {
		t.Errorf("the bars %q", bars)
	}
	if red := eval[int](t, ctx, `document.querySelectorAll('#needs-bars rect[fill="#c0392b"]').length`); red != 1 {
		t.Errorf("%d allocations drawn beyond their need, want 1", red)
	}
	if fever := eval[int](t, ctx, `document.querySelectorAll("#needs-bars .fever").length`); fever != 1 {
		t.Errorf("%d fever clinics marked, want 1", fever)
	}
	if got := text(t, ctx, "#needs-flagcount"); got != "2" {
		t.Errorf("flags on screen %s, want 2", got)
	}
}

// getJSON reads a public route and decodes its answer into out.
func getJSON(t *testing.T, c *city, path string, out any) {
	t.Helper()
	resp, err := c.srv.Client().Get(c.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}
