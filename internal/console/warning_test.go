package console_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/testnode"
)

// TestConsoleWarning (issue 16): the early-warning view draws the
// epidemic curve of the open statistics and lists the alert the third
// unexplained pneumonia raised; the alert's page shows its life, and a
// step taken on the ledger shows there.
func TestConsoleWarning(t *testing.T) {
	h, n := testnode.New(t)
	c := serveCity(t, h, n, "investigator")
	ctx := browser(t)
	submit := func(b ledger.Body, keys ...ed25519.PrivateKey) { t.Helper(); c.submit(t, b, keys...) }
	hospPub, hosp, _ := ed25519.GenerateKey(nil)
	docPub, doc, _ := ed25519.GenerateKey(nil)
	c.token(t, "POST", "/v1/roles", fmt.Sprintf(`{"key":%q,"role":"hospital","name":"Jinyintan hospital"}`, hex.EncodeToString(hospPub)))
	submit(&ledger.RegisterDoctor{Key: [32]byte(docPub), Unit: "420106-jinyintan"}, hosp)
	submit(&ledger.WarningRule{Name: "pneumonia-3-in-7", Disease: "pneumonia-unknown", Method: ledger.RuleThreshold, Cases: 3, Days: 7, Level: 2, Active: true},
		h.Authority())
	today := time.Now().In(time.FixedZone("CST", state.DayOffset)).Format(ledger.OnsetLayout)
	for i := byte(1); i <= 3; i++ {
		submit(&ledger.ReportCard{CardFields: ledger.CardFields{Disease: "pneumonia-unknown", Class: []string{"suspected", "clinical", "confirmed"}[i-1],
			Onset: today, Patient: ledger.Pseudonym{i}, AgeBand: 11, Sex: "m", Home: "420106"}}, doc)
	}
	var alerts struct{ Alerts []struct{ ID string } }
	c.signed(t, "investigator", "GET", "/v1/alerts", "", &alerts)
	if len(alerts.Alerts) != 1 {
		t.Fatalf("alerts: %+v", alerts)
	}

	run(t, ctx, "login", chromedp.Navigate(c.loginURL(t, "investigator")), chromedp.WaitVisible(chromedp.CSS("#st-height")))
	run(t, ctx, "the early-warning view", chromedp.Navigate(c.srv.URL+"/#/warning"), chromedp.WaitVisible(chromedp.CSS("#alerts-table")))
	if got := text(t, ctx, "#warn-cases"); got != "3" {
		t.Errorf("cases on screen %s, want 3", got)
	}
	if bars := eval[int](t, ctx, `document.querySelectorAll("#curve rect").length`); bars != 3 {
		t.Errorf("the curve draws %d bars, want 3 (one day, three classifications)", bars)
	}
	if rows := eval[int](t, ctx, `document.querySelectorAll("#alerts-table tbody tr").length`); rows != 1 {
		t.Errorf("%d alerts on screen, want 1", rows)
	}
	screenshot(t, ctx, "13-warning")
	run(t, ctx, "an alert", chromedp.Click(chromedp.CSS("#alerts-table tbody tr:first-child a")), chromedp.WaitVisible(chromedp.CSS("#alert-status")))
	if got := text(t, ctx, "#alert-status"); got != "signal" {
		t.Errorf("the alert's status %q, want signal", got)
	}
	// The CDC takes it on: assigned to the investigator.
	inv := c.keys["investigator"]
	submit(&ledger.AlertAction{Alert: ledger.Hash(mustHash(t, alerts.Alerts[0].ID)), Action: ledger.AlertVerify, Assignee: [32]byte(inv.Public().(ed25519.PublicKey))}, inv)
	run(t, ctx, "the alert again", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#alert-status")))
	if got := text(t, ctx, "#alert-status"); got != "verification" {
		t.Errorf("the alert's status after its verification began %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("#alert-steps [aria-current=step]").textContent`); got != "verification" {
		t.Errorf("the current step %q", got)
	}
	screenshot(t, ctx, "13b-alert")
}

func mustHash(t *testing.T, s string) ledger.Hash {
	t.Helper()
	h, err := ledger.ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
