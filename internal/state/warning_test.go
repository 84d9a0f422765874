package state_test

import (
	"slices"
	"testing"

	"github.com/epiledger/epiledger/internal/detect"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// threeInSeven is the rule of issue 16's scenario: three pneumonias of
// unknown cause in one district within 7 days, a level II alert.
func threeInSeven() *ledger.WarningRule {
	return &ledger.WarningRule{Name: "pneumonia-3-in-7", Disease: "pneumonia-unknown", Method: ledger.RuleThreshold, Cases: 3, Days: 7, Level: 2, Active: true}
}

func TestApplyWarningRule(t *testing.T) {
	ears := &ledger.WarningRule{Name: "hfmd-c2", Disease: "hfmd", Method: ledger.RuleEARSC2, Level: 3, Active: true}
	oddAlpha := *ears
	oddAlpha.Alpha = 2000 // 0.002: no quantile for it
	shortBase := *ears
	shortBase.Baseline = 2
	unknown := *ears
	unknown.Method = "cusum"
	two := *threeInSeven()
	two.Cosigners = 1
	for _, tc := range []struct {
		name        string
		tx          *ledger.Tx
		code, field string
	}{
		{name: "a threshold rule by the authority", tx: sign(threeInSeven(), authKey)},
		{name: "an EARS C2 rule", tx: sign(ears, authKey)},
		{name: "by the CDC", tx: sign(threeInSeven(), cdcKey), code: state.CodeWrongSigner, field: "signature"},
		{name: "an alpha with no quantile", tx: sign(&oddAlpha, authKey), code: state.CodeInvalid, field: "alpha"},
		{name: "a baseline of two days", tx: sign(&shortBase, authKey), code: state.CodeInvalid, field: "baseline"},
		{name: "an unknown method", tx: sign(&unknown, authKey), code: state.CodeInvalid, field: "method"},
		{name: "one key twice", tx: sign(&two, authKey, authKey), code: state.CodeInvalid, field: "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			applyCards(t, one(tc.tx), tc.code, tc.field)
		})
	}
}

// TestAlertInTheSameBlock: the third unexplained pneumonia in one
// district within 7 days raises the rule's alert in the block that holds
// it, naming the three cards; a fourth card joins it; another district's
// card raises nothing; then an investigator takes it through its life.
func TestAlertInTheSameBlock(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	cardWorld(f)
	f.mustBlock(sign(threeInSeven(), authKey))
	a := sign(&ledger.ReportCard{CardFields: pneumonia(1, "suspected")}, drZhangKey)
	b := sign(&ledger.ReportCard{CardFields: pneumonia(2, "suspected")}, drZhangKey)
	f.mustBlock(a, b)
	if as, err := state.Alerts(f.db); err != nil || len(as) != 0 {
		t.Fatalf("two cards raised %+v %v", as, err)
	}
	other := pneumonia(9, "suspected")
	other.Home = "420102"
	c := sign(&ledger.ReportCard{CardFields: pneumonia(3, "clinical")}, drZhangKey)
	f.mustBlock(sign(&ledger.ReportCard{CardFields: other}, drLiKey), c)
	day := state.DayOf(blockTime(f.height))
	id := state.AlertID("pneumonia-3-in-7", "420106", day)
	al, ok, err := state.AlertOf(f.db, id)
	if err != nil || !ok || al.Height != f.height || al.Raised != blockTime(f.height) || al.Status != state.AlertSignal || al.Observed != 3 ||
		al.Level != 2 || len(al.Records) != 3 || al.Upper != 2*int64(detect.One) {
		t.Fatalf("the alert: %+v %v %v", al, ok, err)
	}
	for _, card := range []*ledger.Tx{a, b, c} {
		found := false
		for _, r := range al.Records {
			found = found || r == card.ID()
		}
		if !found {
			t.Errorf("the alert does not name card %s", card.ID().String()[:16])
		}
	}
	if as, _ := state.Alerts(f.db); len(as) != 1 {
		t.Errorf("%d alerts, want 1 (not in 420102)", len(as))
	}
	// It is an intelligence entry of this chain, to go up the hierarchy.
	if e, ok, err := state.IntelEntryOf(f.db, id); err != nil || !ok || e.Level != 2 || e.Region != "420106" || e.Involved != 3 || e.Origin != chainID ||
		e.OriginTx != id || e.From != "" {
		t.Errorf("the alert's intelligence entry: %+v %v %v", e, ok, err)
	}
	d := sign(&ledger.ReportCard{CardFields: pneumonia(4, "suspected")}, drZhangKey)
	f.mustBlock(d)
	if al, _, _ := state.AlertOf(f.db, id); len(al.Records) != 4 || al.Observed != 4 || al.Height != f.height-1 {
		t.Errorf("after a fourth card: %+v", al)
	}

	// Its life: verified by an assigned investigator, assessed, confirmed,
	// closed; steps out of order and strangers refused.
	inv2 := key("cdc investigator 2")
	f.mustBlock(grantTx(inv2, ledger.RoleInvestigator))
	act := func(action string, assignee [32]byte, by []byte) *ledger.Tx {
		return sign(&ledger.AlertAction{Alert: id, Action: action, Assignee: assignee, Note: "field team sent"}, key(string(by)))
	}
	for _, step := range []struct {
		tx          *ledger.Tx
		code, field string
		status      string
	}{
		{act(ledger.AlertConfirm, [32]byte{}, []byte("district cdc")), state.CodeConflict, "action", state.AlertSignal},
		{act(ledger.AlertVerify, pub(inv2), []byte("jinyintan hospital")), state.CodeWrongSigner, "signature", state.AlertSignal},
		{act(ledger.AlertVerify, pub(drZhangKey), []byte("district cdc")), state.CodeInvalid, "assignee", state.AlertSignal},
		{act(ledger.AlertVerify, pub(inv2), []byte("district cdc")), "", "", state.AlertVerification},
		{act(ledger.AlertAssess, [32]byte{}, []byte("district cdc")), state.CodeWrongSigner, "signature", state.AlertVerification},
		{act(ledger.AlertAssess, [32]byte{}, []byte("cdc investigator 2")), "", "", state.AlertAssessment},
		{act(ledger.AlertConfirm, [32]byte{}, []byte("cdc investigator 2")), "", "", state.AlertConfirmed},
		{act(ledger.AlertMonitor, [32]byte{}, []byte("cdc investigator 2")), state.CodeConflict, "action", state.AlertConfirmed},
		{act(ledger.AlertClose, [32]byte{}, []byte("cdc investigator 2")), "", "", state.AlertClosed},
	} {
		errs, _ := f.block(one(step.tx))
		checkResult(t, errs[0], step.code, step.field)
		if al, _, _ := state.AlertOf(f.db, id); al.Status != step.status {
			t.Fatalf("after %s: %s, want %s", step.tx.Body.(*ledger.AlertAction).Action, al.Status, step.status)
		}
	}
	al, _, _ = state.AlertOf(f.db, id)
	if al.FirstResponse <= al.Raised || al.Assignee != pub(inv2) || al.Updated < al.FirstResponse {
		t.Errorf("the alert's response: %+v", al)
	}
}

// TestEARSAlert: an EARS C1 rule (a minimum sigma of 1, so that the
// first cases after empty days are no alarm) alarms on a day far above
// the seven before it, and not on an ordinary one.
func TestEARSAlert(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	cardWorld(f)
	f.mustBlock(sign(&ledger.WarningRule{Name: "pneumonia-c1", Disease: "pneumonia-unknown", Method: ledger.RuleEARSC1, MinSigma: int64(detect.One),
		Level: 3, Active: true}, authKey))
	p := byte(10)
	day := func(n int) {
		t.Helper()
		var txs []*ledger.Tx
		for i := 0; i < n; i++ {
			p++
			txs = append(txs, sign(&ledger.ReportCard{CardFields: pneumonia(p, "suspected")}, drZhangKey))
		}
		if len(txs) > 0 {
			f.mustBlock(txs...)
		}
		f.skew += 86400
	}
	for _, n := range []int{1, 2, 1, 1, 2, 1, 1} {
		day(n)
	}
	day(2)
	if as, _ := state.Alerts(f.db); len(as) != 0 {
		t.Fatalf("an ordinary day alarmed: %+v", as)
	}
	day(9)
	as, err := state.Alerts(f.db)
	if err != nil || len(as) != 1 || as[0].Rule != "pneumonia-c1" || as[0].Observed != 9 || len(as[0].Records) != 9 {
		t.Fatalf("the spike: %+v %v", as, err)
	}
}

// TestRuleCachesAgreeWithTheStore: the daily counts and rules the machine
// keeps between blocks give the state hashes a fresh machine, reading
// everything from the store, gives (a replay, another node).
func TestRuleCachesAgreeWithTheStore(t *testing.T) {
	rules := []*ledger.Tx{sign(threeInSeven(), authKey), sign(&ledger.WarningRule{Name: "c2", Disease: "pneumonia-unknown", Method: ledger.RuleEARSC2,
		MinSigma: int64(detect.One), Level: 3, Active: true}, authKey)}
	days := [][]*ledger.Tx{}
	p := byte(0)
	for d := 0; d < 12; d++ {
		var txs []*ledger.Tx
		for i := 0; i < 1+d%4; i++ {
			p++
			f := pneumonia(p, "suspected")
			if i%2 == 1 {
				f.Home = "420102"
			}
			txs = append(txs, sign(&ledger.ReportCard{CardFields: f}, drZhangKey))
		}
		days = append(days, txs)
	}
	run := func(restartAt int) []ledger.Hash {
		f := newFixture(t)
		f.mustBlock(world()...)
		cardWorld(f)
		f.mustBlock(rules...)
		for d, txs := range days {
			if d == restartAt {
				f.m = state.New(f.db, f.gen) // cold caches: everything from the store
			}
			f.mustBlock(txs...)
			f.skew += 86400
		}
		return f.hashes
	}
	warm, cold := run(-1), run(6)
	for h := range warm {
		if warm[h] != cold[h] {
			t.Fatalf("height %d: the state hash with warm caches %s, with a fresh machine %s", h, warm[h], cold[h])
		}
	}
}

// TestPercentileAlert: CIDARS's moving percentile (one past year, a week
// either side) alarms when the last 7 days hold far more cases than the
// same weeks of last year, and not while they hold as many.
func TestPercentileAlert(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	cardWorld(f)
	f.mustBlock(sign(&ledger.WarningRule{Name: "pneumonia-p80", Disease: "pneumonia-unknown", Method: ledger.RulePercentile, Years: 1, Weeks: 1,
		Level: 3, Active: true}, authKey))
	p := uint32(0)
	file := func(n int) {
		t.Helper()
		var txs []*ledger.Tx
		for i := 0; i < n; i++ {
			p++
			f := pneumonia(0, "suspected")
			f.Patient = ledger.Pseudonym{byte(p), byte(p >> 8), 7}
			txs = append(txs, sign(&ledger.ReportCard{CardFields: f}, drZhangKey))
		}
		f.mustBlock(txs...)
	}
	// Last year: two cases a day over the weeks around this one (the
	// rule, with no year before them, alarms on those days: not counted).
	for d := 0; d < 24; d++ {
		file(2)
		f.skew += 86400
	}
	before, _ := state.Alerts(f.db)
	// This week, a year on from the middle of those: two a day, as then,
	// then a day of twelve.
	f.skew += (364 + 12 - 6 - 24) * 86400
	for d := 0; d < 6; d++ {
		file(2)
		f.skew += 86400
	}
	if as, _ := state.Alerts(f.db); len(as) != len(before) {
		t.Fatalf("an ordinary week alarmed: %d alerts, %d before it", len(as), len(before))
	}
	file(12)
	as, err := state.Alerts(f.db)
	var spike []state.Alert
	for _, a := range as {
		if a.Day == state.DayOf(blockTime(f.height)+f.skew) {
			spike = append(spike, a)
		}
	}
	if err != nil || len(as) != len(before)+1 || len(spike) != 1 || spike[0].Observed != 24 || len(spike[0].Records) != 24 || spike[0].Upper != 14*int64(detect.One) {
		t.Fatalf("the week of the spike: %+v %v", spike, err)
	}
}

// TestSiteClusterAlert: a site-cluster rule alarms when two patients with
// a card were at the same shop within its days, naming both cards, and
// not for a patient alone, nor for patients at different shops.
func TestSiteClusterAlert(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	cardWorld(f)
	carol := ps("person/carol")
	now := blockTime(5)
	f.mustBlock(sign(&ledger.WarningRule{Name: "shop-2-in-7", Disease: "covid-19", Method: ledger.RuleSiteCluster, Cases: 2, Days: 7, Level: 2,
		Active: true}, authKey),
		sign(visit("shop", direct(alice), now-3600, now-3000), shopKey),
		sign(visit("shop", direct(bob), now-2000, now-1000), shopKey),
		sign(visit("shop2", direct(carol), now-2000, now-1000), shop2Key))
	card := func(p ledger.Pseudonym) *ledger.Tx {
		fl := pneumonia(0, "confirmed")
		fl.Disease, fl.Patient = "covid-19", p
		return sign(&ledger.ReportCard{CardFields: fl}, drZhangKey)
	}
	a, c := card(alice), card(carol)
	f.mustBlock(a, c)
	if as, _ := state.Alerts(f.db); len(as) != 0 {
		t.Fatalf("one patient per shop alarmed: %+v", as)
	}
	b := card(bob)
	f.mustBlock(b)
	as, err := state.Alerts(f.db)
	if err != nil || len(as) != 1 || as[0].Site != "shop" || as[0].Observed != 2 || len(as[0].Records) != 2 || as[0].Rule != "shop-2-in-7" {
		t.Fatalf("two patients at one shop: %+v %v", as, err)
	}
	for _, want := range []*ledger.Tx{a, b} {
		if !slices.Contains(as[0].Records, want.ID()) {
			t.Errorf("the alert does not name card %s", want.ID().String()[:16])
		}
	}
}

// TestCarriedStatistics: a child's publications, carried up, are this
// chain's counts of its districts: a newer version replaces the older's
// figures, an older or repeated one is refused, and this chain's own
// rules run on them, the alert naming the carrying transaction.
func TestCarriedStatistics(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(grantTx(relayKey, ledger.RoleRelay), sign(registerChild("420102", ledger.EngineSolo), authKey), sign(threeInSeven(), authKey))
	day := state.DayOf(blockTime(3))
	pub := func(v, suspected uint32) *ledger.Tx {
		return signFor(childChain, &ledger.PublishStats{Disease: "pneumonia-unknown", Region: "420102", Day: day, Suspected: suspected, Version: v,
			Last: ledger.Hash{byte(v)}}, childKey)
	}
	prev := childGenesis
	carry := func(height uint64, tx *ledger.Tx) (*ledger.Tx, *ledger.Tx) {
		h, a := childBlock(tx, height, prev, t0+int64(height)*10)
		prev = h.Hash()
		return a, summaryTx(childChain, h, tx)
	}
	a1, s1 := carry(1, pub(1, 2))
	f.mustBlock(a1, s1)
	if cs, _ := state.Counts(f.db, "pneumonia-unknown", "420102", day, day); len(cs) != 1 || cs[0].Suspected != 2 {
		t.Fatalf("the child's first version: %+v", cs)
	}
	if as, _ := state.Alerts(f.db); len(as) != 0 {
		t.Fatalf("two cases raised %+v", as)
	}
	a2, s2 := carry(2, pub(2, 3))
	f.mustBlock(a2, s2)
	cs, _ := state.Counts(f.db, "pneumonia-unknown", "420102", day, day)
	as, _ := state.Alerts(f.db)
	if len(cs) != 1 || cs[0].Suspected != 3 || len(as) != 1 || as[0].Region != "420102" || len(as[0].Records) != 1 || as[0].Records[0] != s2.ID() {
		t.Fatalf("the second version: counts %+v, alerts %+v", cs, as)
	}
	a3, s3 := carry(3, pub(1, 9))
	errs, _ := f.block([]*ledger.Tx{a3, s3})
	checkResult(t, errs[1], state.CodeConflict, "tx")

	// A rule over the city's total takes the carried figures in: set
	// now, its total is the child's 3; the child's next version makes 4.
	f.mustBlock(sign(&ledger.WarningRule{Name: "wuhan-4-in-7", Disease: "pneumonia-unknown", Method: ledger.RuleThreshold, Cases: 4, Days: 7,
		Level: 2, Over: "420100", Active: true}, authKey))
	a4, s4 := carry(4, pub(3, 4))
	f.mustBlock(a4, s4)
	al, ok, _ := state.AlertOf(f.db, state.AlertID("wuhan-4-in-7", "420100", day))
	if !ok || al.Region != "420100" || al.Observed != 4 || !slices.Contains(al.Records, s4.ID()) {
		t.Fatalf("the city's total of carried figures: %+v %v", al, ok)
	}
}

// TestLevelTotalAlert: a rule over a region runs on its total, summed
// over its districts: set after cards were counted, it starts from them;
// a discard takes a card out of the total; retired, its totals are no
// longer kept, and a rule set later rebuilds them; a region outside the
// chain's, or a district, is refused.
func TestLevelTotalAlert(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	cardWorld(f)
	rule := func(name string, cases uint32, over string, active bool) *ledger.Tx {
		return sign(&ledger.WarningRule{Name: name, Disease: "pneumonia-unknown", Method: ledger.RuleThreshold, Cases: cases, Days: 7, Level: 2,
			Over: over, Active: active}, authKey)
	}
	card := func(p byte, home string, by []byte) *ledger.Tx {
		fl := pneumonia(p, "suspected")
		fl.Home = home
		return sign(&ledger.ReportCard{CardFields: fl}, by)
	}
	a, b := card(1, "420106", drZhangKey), card(2, "420102", drLiKey)
	f.mustBlock(a, b)
	f.mustBlock(rule("wuhan-3", 3, "420100", true))
	for _, tc := range []struct {
		tx    *ledger.Tx
		field string
	}{{rule("hubei", 3, "420000", true), "over"}, {rule("jianghan", 3, "420103", true), "over"}, {rule("odd", 3, "42010", true), "over"}} {
		errs, _ := f.block(one(tc.tx))
		checkResult(t, errs[0], state.CodeInvalid, tc.field)
	}
	c := card(3, "420102", drLiKey)
	f.mustBlock(c)
	day := state.DayOf(blockTime(f.height))
	id := state.AlertID("wuhan-3", "420100", day)
	al, ok, err := state.AlertOf(f.db, id)
	if err != nil || !ok || al.Region != "420100" || al.Observed != 3 || len(al.Records) != 3 || al.Height != f.height {
		t.Fatalf("three cases in two districts of the city: %+v %v %v", al, ok, err)
	}
	for _, want := range []*ledger.Tx{a, b, c} {
		if !slices.Contains(al.Records, want.ID()) {
			t.Errorf("the alert does not name card %s", want.ID().String()[:16])
		}
	}
	if as, _ := state.Alerts(f.db); len(as) != 1 {
		t.Fatalf("%d alerts, want the city's only", len(as))
	}
	// A discard takes a card out: the next card makes 3 again.
	f.mustBlock(sign(&ledger.CardReview{Card: b.ID(), Prev: b.ID(), Action: ledger.ReviewDiscarded, Reason: "not a case"}, cdcKey))
	f.mustBlock(card(4, "420106", drZhangKey))
	if al, _, _ := state.AlertOf(f.db, id); al.Observed != 3 || len(al.Records) != 4 {
		t.Fatalf("after a discard and a new card: %+v", al)
	}
	// Retired, then a card (the total is 4 but no longer kept), then a
	// new rule of 5: rebuilt to 4, the next card makes 5.
	f.mustBlock(rule("wuhan-3", 3, "420100", false))
	f.mustBlock(card(5, "420106", drZhangKey))
	f.mustBlock(rule("wuhan-5", 5, "420100", true))
	if as, _ := state.Alerts(f.db); len(as) != 1 {
		t.Fatalf("%d alerts before the fifth case, want 1", len(as))
	}
	f.mustBlock(card(6, "420102", drLiKey))
	if al, ok, _ := state.AlertOf(f.db, state.AlertID("wuhan-5", "420100", day)); !ok || al.Observed != 5 {
		t.Fatalf("the rebuilt total: %+v %v", al, ok)
	}
}

// TestSpaceTimeAlert: a space-time rule alarms when three cases lie
// within its distance of the newest within its days, across district
// lines, naming their cards; a growing cluster stays one alert, a card
// revised into it joins, a far card or one with no place raises nothing,
// and a cluster of days out of the window is a new alert.
func TestSpaceTimeAlert(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	cardWorld(f)
	f.mustBlock(sign(&ledger.WarningRule{Name: "measles-near", Disease: "measles", Method: ledger.RuleSpaceTime, Cases: 3, Days: 7, Meters: 2000,
		Level: 3, Active: true}, authKey))
	card := func(p byte, home string, lat, lon int32) *ledger.Tx {
		fl := pneumonia(p, "clinical")
		fl.Disease, fl.Home = "measles", home
		if lat != 0 {
			fl.Placed, fl.Place = true, ledger.Cell{Lat: lat, Lon: lon}
		}
		return sign(&ledger.ReportCard{CardFields: fl}, drZhangKey)
	}
	p1, p2 := card(1, "420106", 3059, 11430), card(2, "420102", 3060, 11431)
	far, unplaced := card(3, "420106", 3070, 11430), card(4, "420106", 0, 0)
	f.mustBlock(p1, p2, far, unplaced)
	if as, _ := state.Alerts(f.db); len(as) != 0 {
		t.Fatalf("two near, one far, one unplaced alarmed: %+v", as)
	}
	p4 := card(5, "420106", 3059, 11431) // 957 m from p1, 1,112 m from p2
	f.mustBlock(p4)
	day := state.DayOf(blockTime(f.height))
	id := state.AlertID("measles-near", "near 30.59,114.31", day)
	al, ok, err := state.AlertOf(f.db, id)
	if err != nil || !ok || al.Observed != 3 || al.Region != "420106" || al.Site != "near 30.59,114.31" || al.Level != 3 || al.Height != f.height ||
		len(al.Records) != 3 || al.Upper != 2*int64(detect.One) {
		t.Fatalf("the alert: %+v %v %v", al, ok, err)
	}
	for _, want := range []*ledger.Tx{p1, p2, p4} {
		if !slices.Contains(al.Records, want.ID()) {
			t.Errorf("the alert does not name card %s", want.ID().String()[:16])
		}
	}
	p5 := card(6, "420102", 3060, 11430)
	revised := pneumonia(3, "clinical")
	revised.Disease, revised.Placed, revised.Place = "measles", true, ledger.Cell{Lat: 3058, Lon: 11430}
	f.mustBlock(p5, sign(&ledger.CardReview{Card: far.ID(), Prev: far.ID(), Action: ledger.ReviewRevised, Reason: "the address was mistyped",
		Fields: revised}, cdcKey))
	as, err := state.Alerts(f.db)
	if err != nil || len(as) != 1 || len(as[0].Records) != 5 || as[0].Observed != 4 || !slices.Contains(as[0].Records, far.ID()) {
		t.Fatalf("the cluster grew to five, one alert: %+v %v", as, err)
	}
	f.skew += 8 * 86400
	f.mustBlock(card(7, "420106", 3059, 11430), card(8, "420106", 3059, 11430))
	if as, _ := state.Alerts(f.db); len(as) != 1 {
		t.Fatalf("two new cards where the old cluster was, its cards out of the window: %d alerts", len(as))
	}
	f.mustBlock(card(9, "420106", 3059, 11431))
	if as, _ := state.Alerts(f.db); len(as) != 2 {
		t.Fatalf("a new cluster of three a week later: %d alerts, want 2", len(as))
	}
}

// TestClusterWorkBounded: three hundred cases at one place cost each card
// a bounded read: the alert counts at least MaxClusterFound and names
// MaxAlertRecords cards.
func TestClusterWorkBounded(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	cardWorld(f)
	f.mustBlock(sign(&ledger.WarningRule{Name: "measles-near", Disease: "measles", Method: ledger.RuleSpaceTime, Cases: 3, Days: 7, Meters: 500,
		Level: 3, Active: true}, authKey))
	var txs []*ledger.Tx
	for i := 0; i < 300; i++ {
		fl := pneumonia(0, "clinical")
		fl.Disease, fl.Patient, fl.Placed, fl.Place = "measles", ledger.Pseudonym{byte(i), byte(i >> 8), 7}, true, ledger.Cell{Lat: 3059, Lon: 11430}
		txs = append(txs, sign(&ledger.ReportCard{CardFields: fl}, drZhangKey))
	}
	f.mustBlock(txs...)
	as, err := state.Alerts(f.db)
	if err != nil || len(as) != 1 || as[0].Observed != state.MaxClusterFound || len(as[0].Records) != state.MaxAlertRecords {
		t.Fatalf("three hundred cases at one place: %d alerts %v", len(as), err)
	}
}
