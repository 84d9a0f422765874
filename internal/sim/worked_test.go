package sim

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ndjson"
)

func TestWorkedCase(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tr, err := WorkedCase(ndjson.NewWriter(&buf))
	if err != nil {
		t.Fatal(err)
	}
	o := parseOutput(t, buf.Bytes())
	checkTruth(t, tr, o, 15*time.Minute)

	if len(tr.Cases) != 1 || tr.Cases[0] != WorkedCasePatient {
		t.Fatalf("Cases = %v, want [%s]", tr.Cases, WorkedCasePatient)
	}
	contacts := tr.Contacts[WorkedCasePatient]
	if len(contacts) != 52 {
		t.Errorf("%d contacts, want 52 (taxi driver, friend B, 50 passengers of car 5)", len(contacts))
	}
	bySite := map[string]int{}
	others := map[string]bool{}
	for _, c := range contacts {
		bySite[c.Site]++
		if others[c.Other] {
			t.Errorf("%s listed twice", c.Other)
		}
		others[c.Other] = true
	}
	if bySite[wcCar5] != 50 || bySite[wcTaxi] != 1 || bySite[wcCabin12] != 1 || len(bySite) != 3 {
		t.Errorf("contacts by site = %v, want 50 in car 5, 1 in the taxi, 1 in cabin 12", bySite)
	}

	// Find the people of the story from the records alone.
	at := func(h, m int) time.Time { return time.Date(2020, 1, 20, h, m, 0, 0, time.FixedZone("", 8*3600)) }
	var driver, friend string
	decoys := map[string]string{}
	for _, v := range o.visits {
		if v.id == WorkedCasePatient {
			continue
		}
		switch {
		case v.Site == wcTaxi && v.Role == "staff":
			driver = v.id
		case v.Site == wcCabin12 && v.In.Equal(at(13, 30)):
			friend = v.id
		case v.Site == wcCar4, v.Site == wcCar6, v.Site == wcCabin13, v.Site == wcCinema, v.Site == wcHospital,
			v.Site == wcMall && v.In.Equal(at(12, 45)),
			v.Site == wcCabin12 && !v.In.Equal(at(13, 30)),
			v.Site == wcTaxi && v.Role == "",
			v.Site == wcCar5 && (!v.Out.After(at(8, 0)) || !v.In.Before(at(12, 0))):
			decoys[v.id] = v.Site
		}
	}
	if driver == "" || !others[driver] {
		t.Errorf("taxi driver %q is not a contact", driver)
	}
	if friend == "" || !others[friend] {
		t.Errorf("friend B %q is not a contact", friend)
	}
	if len(decoys) < 40 {
		t.Errorf("only %d decoys", len(decoys))
	}
	for id, site := range decoys {
		if others[id] {
			t.Errorf("decoy at %s is listed as a contact", site)
		}
	}

	// The records the story needs beyond presences.
	if len(o.moves) != 1 || o.moves[0].From != wcCar5 || o.moves[0].To != wcTaxi ||
		!o.moves[0].Depart.Equal(at(12, 0)) || !o.moves[0].Arrive.Equal(at(12, 10)) {
		t.Errorf("moves = %+v", o.moves)
	}
	if len(o.cases) != 1 || o.caseIDs[0] != WorkedCasePatient || o.cases[0].By != wcHospital ||
		o.cases[0].Onset != "2020-01-20" || !o.cases[0].Reported.Equal(at(34, 0)) {
		t.Errorf("cases = %+v", o.cases)
	}
	refs := map[string]string{}
	for _, v := range o.visits {
		if v.id == WorkedCasePatient {
			refs[v.Site] = v.Person + " via " + v.Via
		}
	}
	want := map[string]string{
		wcCar5:     "id:" + WorkedCasePatient + " via id_card",
		wcTaxi:     "alipay:2088000000000001 via payment",
		wcCabin12:  "wechat:wx_patient via wechat",
		wcToll:     "plate:鄂A12345 via plate",
		wcHospital: "id:" + WorkedCasePatient + " via id_card",
	}
	if len(refs) != len(want) {
		t.Errorf("A is present at %v", refs)
	}
	for site, w := range want {
		if refs[site] != w {
			t.Errorf("A at %s: %q, want %q", site, refs[site], w)
		}
	}
	// The toll gate is far from where A was ten minutes earlier: the record
	// later validation must reject.
	if d := haversineKm(o.sites[wcCabin12], o.sites[wcToll]); d < 500 {
		t.Errorf("toll gate only %.0f km from the Ferris wheel", d)
	}
}

// TestWorkedCaseTrajectory checks that, apart from the toll gate record
// that validation must reject, the worked case is physically consistent as
// the story needs it to be.
func TestWorkedCaseTrajectory(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if _, err := WorkedCase(ndjson.NewWriter(&buf)); err != nil {
		t.Fatal(err)
	}
	o := parseOutput(t, buf.Bytes())
	o.visits = slices.DeleteFunc(o.visits, func(v visit) bool { return v.Site == wcToll })
	checkTrajectories(t, o)
}

func TestWorkedCaseDeterministic(t *testing.T) {
	t.Parallel()
	var a, b bytes.Buffer
	if _, err := WorkedCase(ndjson.NewWriter(&a)); err != nil {
		t.Fatal(err)
	}
	if _, err := WorkedCase(ndjson.NewWriter(&b)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("WorkedCase output differs between runs")
	}
}
