package api_test

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/state"
)

// TestPublicStats (issue 16): a doctor's report cards are counted at once
// in the open statistics, which anyone reads without a login, as JSON or
// CSV; malformed and out-of-range parameters are refused naming the field.
func TestPublicStats(t *testing.T) {
	f := serve(t, world)
	chain := f.h.Genesis.ChainID
	hospital, cdc := f.grant(t, "hospital"), f.grant(t, "investigator")
	_, doctor, _ := ed25519.GenerateKey(nil)
	submit := func(by ed25519.PrivateKey, b ledger.Body) *ledger.Tx { return f.submit(t, chain, by, b) }
	submit(hospital, &ledger.RegisterDoctor{Key: pubOf(doctor), Unit: "420106-jinyintan"})
	now := time.Now()
	today := now.In(time.FixedZone("CST", state.DayOffset)).Format(ledger.OnsetLayout)
	card := func(p byte, class, home string) ledger.CardFields {
		return ledger.CardFields{Disease: "pneumonia-unknown", Class: class, Onset: today, Patient: ledger.Pseudonym{p}, AgeBand: 11, Sex: "m", Home: home}
	}
	first := submit(doctor, &ledger.ReportCard{CardFields: card(1, "suspected", "420106")})
	submit(doctor, &ledger.ReportCard{CardFields: card(2, "confirmed", "420106")})
	submit(doctor, &ledger.ReportCard{CardFields: card(3, "suspected", "420102")})
	submit(cdc, &ledger.CardReview{Card: first.ID(), Prev: first.ID(), Action: ledger.ReviewRevised, Reason: "PCR positive", Fields: card(1, "clinical", "420106")})

	get := func(q string) (int, []byte, string) {
		t.Helper()
		r := f.call(t, "GET", "/v1/public/stats?"+q, "", "")
		return r.status, r.body, r.header.Get("Content-Type")
	}
	window := "disease=pneumonia-unknown&from=" + today + "&to=" + today
	var st report.Stats
	if status, body, _ := get(window); status != 200 || json.Unmarshal(body, &st) != nil || st.Region != "420100" || len(st.Days) != 1 ||
		st.Days[0] != (report.StatsDay{Date: today, Suspected: 1, Clinical: 1, Confirmed: 1, New: 3, Cumulative: 3}) {
		t.Fatalf("the city's figures: %d %s", status, body)
	}
	if status, body, _ := get(window + "&region=420106"); status != 200 || json.Unmarshal(body, &st) != nil || st.Days[0].New != 2 {
		t.Errorf("one district's figures: %d %s", status, body)
	}
	if status, body, _ := get(window + "&region=320000"); status != 200 || json.Unmarshal(body, &st) != nil || len(st.Days) != 0 {
		t.Errorf("another province: %d %s", status, body)
	}
	if status, body, ct := get(window + "&format=csv"); status != 200 || !strings.HasPrefix(ct, "text/csv") ||
		string(body) != "region,disease,date,suspected,clinical,confirmed,new,cumulative\n420100,pneumonia-unknown,"+today+",1,1,1,3,3\n" {
		t.Errorf("CSV: %d %s %q", status, ct, body)
	}
	for _, tc := range []struct{ q, field string }{
		{"from=" + today + "&to=" + today, "disease"},
		{"disease=flu&from=" + today + "&to=" + today, "disease"},
		{"disease=pneumonia-unknown&from=2020-13-01&to=" + today, "from"},
		{"disease=pneumonia-unknown&from=" + today, "to"},
		{"disease=pneumonia-unknown&from=" + today + "&to=2020-01-01", "to"},
		{"disease=pneumonia-unknown&from=1990-01-01&to=2020-01-01", "to"},
		{window + "&region=9", "region"},
		{window + "&format=xml", "format"},
		{window + "&person=id:420100199001011234", "person"},
	} {
		status, body, _ := get(tc.q)
		var e struct{ Error struct{ Field string } }
		if status != 400 || json.Unmarshal(body, &e) != nil || e.Error.Field != tc.field {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.q, status, body, tc.field)
		}
	}
}
