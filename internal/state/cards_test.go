package state_test

import (
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/state"
)

var (
	jinyintanKey = key("jinyintan hospital")
	unionKey     = key("union hospital")
	drZhangKey   = key("dr zhang")
	drLiKey      = key("dr li")
	cdcKey       = key("district cdc")
)

// cardWorld: two hospitals and the district CDC hold their roles; Dr
// Zhang is Jinyintan's doctor, Dr Li Union's. Applied as two blocks (a
// role counts from the block after its grant).
func cardWorld(f *fixture) {
	f.mustBlock(grantTx(jinyintanKey, ledger.RoleHospital), grantTx(unionKey, ledger.RoleHospital), grantTx(cdcKey, ledger.RoleInvestigator))
	f.mustBlock(sign(&ledger.RegisterDoctor{Key: pub(drZhangKey), Unit: "420106-jinyintan"}, jinyintanKey),
		sign(&ledger.RegisterDoctor{Key: pub(drLiKey), Unit: "420102-union"}, unionKey))
}

func pneumonia(patient byte, class string) ledger.CardFields {
	return ledger.CardFields{Disease: "pneumonia-unknown", Class: class, Onset: "2020-01-20", Patient: ledger.Pseudonym{patient}, AgeBand: 11,
		Sex: "m", Home: "420106"}
}

// applyCards applies txs after cardWorld, each but the last accepted, the
// last's result checked for code and field.
func applyCards(t *testing.T, txs []*ledger.Tx, code, field string) *fixture {
	t.Helper()
	f := newFixture(t)
	f.mustBlock(world()...)
	cardWorld(f)
	errs, _ := f.block(txs)
	for i, err := range errs[:len(errs)-1] {
		if err != nil {
			t.Fatalf("setup tx %d (%s): %v", i, txs[i].Body.Kind(), err)
		}
	}
	checkResult(t, errs[len(errs)-1], code, field)
	return f
}

func TestApplyReportCard(t *testing.T) {
	first := sign(&ledger.ReportCard{CardFields: pneumonia(1, "suspected")}, drZhangKey)
	review := func(card, prev *ledger.Tx, action string, f *ledger.CardFields, by []byte) *ledger.Tx {
		b := &ledger.CardReview{Card: card.ID(), Prev: prev.ID(), Action: action, Reason: "laboratory result"}
		if f != nil {
			b.Fields = *f
		}
		return sign(b, key(string(by)))
	}
	confirmed := pneumonia(1, "confirmed")
	verified := review(first, first, ledger.ReviewVerified, nil, []byte("jinyintan hospital"))
	elsewhere := pneumonia(1, "suspected")
	elsewhere.Home = "420100"
	future := pneumonia(1, "suspected")
	future.Onset = "2020-02-20"
	for _, tc := range []struct {
		name        string
		txs         []*ledger.Tx
		code, field string
	}{
		{name: "a doctor's first report", txs: one(first)},
		{name: "by the hospital's own key", txs: one(sign(&ledger.ReportCard{CardFields: pneumonia(1, "suspected")}, jinyintanKey)),
			code: state.CodeWrongSigner, field: "signature"},
		{name: "by an investigator", txs: one(sign(&ledger.ReportCard{CardFields: pneumonia(1, "suspected")}, cdcKey)),
			code: state.CodeWrongSigner, field: "signature"},
		{name: "a home that is no district", txs: one(sign(&ledger.ReportCard{CardFields: elsewhere}, drZhangKey)), code: state.CodeInvalid, field: "home"},
		{name: "an onset after the report", txs: one(sign(&ledger.ReportCard{CardFields: future}, drZhangKey)), code: state.CodeInvalid, field: "onset"},
		{name: "verified by its hospital", txs: []*ledger.Tx{first, verified}},
		{name: "verified by another hospital", txs: []*ledger.Tx{first, review(first, first, ledger.ReviewVerified, nil, []byte("union hospital"))},
			code: state.CodeWrongSigner, field: "signature"},
		{name: "revised by the CDC", txs: []*ledger.Tx{first, verified, review(first, verified, ledger.ReviewRevised, &confirmed, []byte("district cdc"))}},
		{name: "a review of an old version", txs: []*ledger.Tx{first, verified, review(first, first, ledger.ReviewRevised, &confirmed, []byte("district cdc"))},
			code: state.CodeConflict, field: "prev"},
		{name: "discarded, then reviewed", txs: []*ledger.Tx{first, review(first, first, ledger.ReviewDiscarded, nil, []byte("district cdc")),
			review(first, first, ledger.ReviewVerified, nil, []byte("district cdc"))}, code: state.CodeConflict, field: "card"},
		{name: "no such card", txs: one(review(first, first, ledger.ReviewVerified, nil, []byte("district cdc"))), code: state.CodeInvalid, field: "card"},
		{name: "revised to a home that is no district", txs: []*ledger.Tx{first, review(first, first, ledger.ReviewRevised, &elsewhere, []byte("district cdc"))},
			code: state.CodeInvalid, field: "home"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			applyCards(t, tc.txs, tc.code, tc.field)
		})
	}
}

// TestCardCounts: each card counts in its home district on its reporting
// day, by classification; a revision moves it, a discard takes it out;
// the card keeps its versions as a chain.
func TestCardCounts(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	cardWorld(f)
	a := sign(&ledger.ReportCard{CardFields: pneumonia(1, "suspected")}, drZhangKey)
	b := sign(&ledger.ReportCard{CardFields: pneumonia(2, "suspected")}, drZhangKey)
	other := pneumonia(3, "clinical")
	other.Home = "420102"
	c := sign(&ledger.ReportCard{CardFields: other}, drLiKey)
	f.mustBlock(a, b, c)
	day := state.DayOf(blockTime(f.height))
	want := func(what string, home string, s, cl, co uint32) {
		t.Helper()
		got, err := state.Counts(f.db, "pneumonia-unknown", home, 0, ^uint32(0))
		if err != nil || len(got) != 1 || got[0].Day != day || got[0].Suspected != s || got[0].Clinical != cl || got[0].Confirmed != co {
			t.Fatalf("%s: counts in %s %+v %v, want %d/%d/%d on day %d", what, home, got, err, s, cl, co, day)
		}
	}
	want("three reports", "420106", 2, 0, 0)
	want("three reports", "420102", 0, 1, 0)
	city, err := state.CountsWithin(f.db, "pneumonia-unknown", region.MustParse("420100"), 0, ^uint32(0))
	if err != nil || len(city) != 1 || city[0].Total() != 3 {
		t.Fatalf("the city's count: %+v %v", city, err)
	}
	confirmed := pneumonia(1, "confirmed")
	rev := sign(&ledger.CardReview{Card: a.ID(), Prev: a.ID(), Action: ledger.ReviewRevised, Reason: "PCR positive", Fields: confirmed}, cdcKey)
	disc := sign(&ledger.CardReview{Card: b.ID(), Prev: b.ID(), Action: ledger.ReviewDiscarded, Reason: "another diagnosis"}, jinyintanKey)
	f.mustBlock(rev, disc)
	want("a revision and a discard", "420106", 0, 0, 1)
	card, ok, err := state.CardOf(f.db, a.ID())
	if err != nil || !ok || card.Version != 1 || card.Latest != rev.ID() || card.Class != "confirmed" || card.Status != ledger.ReviewRevised ||
		card.Unit != "420106-jinyintan" || card.Hospital != pub(jinyintanKey) || card.Day != day {
		t.Fatalf("the revised card: %+v %v %v", card, ok, err)
	}
	vs, err := state.CardVersions(f.db, a.ID())
	if err != nil || len(vs) != 2 || vs[0] != a.ID() || vs[1] != rev.ID() {
		t.Fatalf("the card's versions: %v %v", vs, err)
	}
}

// TestRegisterDoctor: a hospital registers its doctors, no other's; a
// withdrawn doctor reports no more.
func TestRegisterDoctor(t *testing.T) {
	reg := func(k []byte, unit string, by []byte, revoke bool) *ledger.Tx {
		return sign(&ledger.RegisterDoctor{Key: pub(key(string(k))), Unit: unit, Revoke: revoke}, key(string(by)))
	}
	for _, tc := range []struct {
		name        string
		txs         []*ledger.Tx
		code, field string
	}{
		{name: "a hospital registers a doctor", txs: one(reg([]byte("dr new"), "420106-jinyintan", []byte("jinyintan hospital"), false))},
		{name: "by an investigator", txs: one(reg([]byte("dr new"), "x", []byte("district cdc"), false)), code: state.CodeWrongSigner, field: "signature"},
		{name: "another hospital's doctor", txs: one(reg([]byte("dr zhang"), "420102-union", []byte("union hospital"), false)),
			code: state.CodeConflict, field: "key"},
		{name: "a key with another role", txs: one(reg([]byte("district cdc"), "x", []byte("union hospital"), false)), code: state.CodeConflict, field: "key"},
		{name: "withdrawn by another hospital", txs: one(reg([]byte("dr zhang"), "", []byte("union hospital"), true)), code: state.CodeConflict, field: "key"},
		{name: "withdrawn, then reports", txs: []*ledger.Tx{reg([]byte("dr zhang"), "", []byte("jinyintan hospital"), true),
			sign(&ledger.ReportCard{CardFields: pneumonia(1, "suspected")}, drZhangKey)}, code: state.CodeWrongSigner, field: "signature"},
		{name: "the role doctor by grant_role", txs: one(grantTx(key("dr new"), ledger.RoleDoctor)), code: state.CodeInvalid, field: "role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			applyCards(t, tc.txs, tc.code, tc.field)
		})
	}
}

// TestApplyPublishStats: a bucket is published as the state counted it,
// version after version, each after a change; anything else is refused.
func TestApplyPublishStats(t *testing.T) {
	a := sign(&ledger.ReportCard{CardFields: pneumonia(1, "suspected")}, drZhangKey)
	b := sign(&ledger.ReportCard{CardFields: pneumonia(2, "confirmed")}, drZhangKey)
	day := state.DayOf(blockTime(5)) // the block applyCards applies
	pub := func(s, co, v uint32, last *ledger.Tx, by []byte) *ledger.Tx {
		return sign(&ledger.PublishStats{Disease: "pneumonia-unknown", Region: "420106", Day: day, Suspected: s, Confirmed: co, Version: v, Last: last.ID()},
			key(string(by)))
	}
	for _, tc := range []struct {
		name        string
		txs         []*ledger.Tx
		code, field string
	}{
		{name: "as counted", txs: []*ledger.Tx{a, b, sign(&ledger.PublishStats{Disease: "pneumonia-unknown", Region: "420106", Day: day, Suspected: 1,
			Confirmed: 1, Version: 1, Last: b.ID()}, authKey)}},
		{name: "other figures", txs: []*ledger.Tx{a, b, sign(&ledger.PublishStats{Disease: "pneumonia-unknown", Region: "420106", Day: day, Suspected: 2,
			Version: 1, Last: b.ID()}, authKey)}, code: state.CodeInvalid, field: "last"},
		{name: "not the last change", txs: []*ledger.Tx{a, b, sign(&ledger.PublishStats{Disease: "pneumonia-unknown", Region: "420106", Day: day, Suspected: 1,
			Confirmed: 1, Version: 1, Last: a.ID()}, authKey)}, code: state.CodeInvalid, field: "last"},
		{name: "version 2 first", txs: []*ledger.Tx{a, sign(&ledger.PublishStats{Disease: "pneumonia-unknown", Region: "420106", Day: day, Suspected: 1,
			Version: 2, Last: a.ID()}, authKey)}, code: state.CodeConflict, field: "version"},
		{name: "unchanged since", txs: []*ledger.Tx{a, sign(&ledger.PublishStats{Disease: "pneumonia-unknown", Region: "420106", Day: day, Suspected: 1,
			Version: 1, Last: a.ID()}, authKey), sign(&ledger.PublishStats{Disease: "pneumonia-unknown", Region: "420106", Day: day, Suspected: 1,
			Version: 2, Last: a.ID()}, authKey)}, code: state.CodeConflict, field: "last"},
		{name: "a bucket with nothing", txs: one(sign(&ledger.PublishStats{Disease: "pneumonia-unknown", Region: "420106", Day: day, Version: 1}, authKey)),
			code: state.CodeInvalid, field: "day"},
		{name: "by a hospital", txs: []*ledger.Tx{a, pub(1, 0, 1, a, []byte("jinyintan hospital"))}, code: state.CodeWrongSigner, field: "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := applyCards(t, tc.txs, tc.code, tc.field)
			if tc.code == "" {
				ps, err := state.Publications(f.db, "pneumonia-unknown", "420106", day)
				if err != nil || len(ps) != 1 || ps[0].Suspected != 1 || ps[0].Confirmed != 1 || ps[0].Last != b.ID() {
					t.Fatalf("the publication: %+v %v", ps, err)
				}
			}
		})
	}
}
