package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// apiBody is what an API request or an import line can say about a
// transaction: every field of every kind, as JSON gives it (invalid UTF-8
// already turned into U+FFFD). Repeat repeats every string, to reach
// lengths past the encoding's 64 KiB with small inputs.
type apiBody struct {
	Kind                         uint8
	Site, Kind_, Name, Region    string
	Parent, Person, Via, Role    string
	From, To, Status, Onset, By  string
	Topic, Payload, Reason       string
	Case, Purpose, Route         string
	Lat, Lon                     int32
	In, Out, Until, Period, Time int64
	Action                       uint8
	Alias, Route_                bool
	Aliases                      int
	Duration, Distance           uint32
	Repeat                       int
}

// body builds the kind's body from the fields, as a handler would.
func (a *apiBody) body() Body {
	rep := func(s string) string {
		if a.Repeat <= 1 || len(s) == 0 {
			return s
		}
		return strings.Repeat(s, min(a.Repeat, 70000/len(s)+1))
	}
	ref := PersonRef{Alias: a.Alias}
	copy(ref.Ref[:], a.Person)
	var other PersonRef
	copy(other.Ref[:], a.By)
	switch Kind(a.Kind%13 + 1) {
	case KindRegisterSite:
		b := &RegisterSite{Site: rep(a.Site), Kind_: rep(a.Kind_), Name: rep(a.Name), LatE6: a.Lat, LonE6: a.Lon, Region: rep(a.Region), Parent: rep(a.Parent)}
		if a.Route_ {
			b.Route = &Route{a.Lat, a.Lon, a.Lon, a.Lat}
		}
		return b
	case KindBindIdentity:
		b := &BindIdentity{Person: ref.Ref}
		for i := 0; i < a.Aliases%300; i++ {
			var p Pseudonym
			p[0], p[1] = byte(i>>8), byte(i)
			if a.Alias {
				p[0] = byte(255 - i) // out of order
			}
			b.Aliases = append(b.Aliases, p)
		}
		return b
	case KindVisit:
		return &Visit{Site: rep(a.Site), Person: ref, In: a.In, Out: a.Out, Via: rep(a.Via), Role: rep(a.Role)}
	case KindMove:
		return &Move{Person: ref, From: rep(a.From), To: rep(a.To), Depart: a.In, Arrive: a.Out, Via: rep(a.Via)}
	case KindCase:
		return &Case{Person: ref, Status: rep(a.Status), Onset: rep(a.Onset), Reported: a.Time, By: rep(a.By)}
	case KindPublish:
		return &Publish{Topic: rep(a.Topic), Payload: []byte(rep(a.Payload))}
	case KindCommitRoot:
		return &CommitRoot{Scheme: rep(a.Topic), Period: a.Period, Count: a.Duration}
	case KindCloseWindows:
		return &CloseWindows{Until: a.Until}
	case KindCorrection:
		return &Correction{Target: Hash(ref.Ref), Action: a.Action, In: a.In, Out: a.Out, Site: rep(a.Site), Reason: rep(a.Reason)}
	case KindApproval:
		return &Approval{Correction: Hash(ref.Ref), Approver: other.Ref}
	case KindEncounter:
		return &Encounter{Device: rep(a.Site), A: ref, B: other, Start: a.In, Duration: a.Duration, DistanceCM: a.Distance}
	case KindGrantRole:
		return &GrantRole{Key: ref.Ref, Role: rep(a.Role), Name: rep(a.Name)}
	default:
		return &Audit{Caller: ref.Ref, Role: rep(a.Role), Case: rep(a.Case), Purpose: rep(a.Purpose), Route: rep(a.Route),
			Person: other.Ref, From: a.In, To: a.Out, Time: a.Time}
	}
}

// encodable reports whether NewTx can encode b at all (no string over
// 64 KiB, no list over 255, body within MaxBodyBytes), so that the test
// can compare Build with what DecodeTx makes of NewTx's bytes.
func encodable(b Body) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	NewTx(b)
	return true
}

// FuzzBuild builds transactions from random API-like JSON bodies (issue
// 11 point 4): Build never panics; what it refuses is a *FieldError naming
// a field; what it builds decodes back to exactly its bytes and still
// validates; and a limit it reports is one DecodeTx enforces too (the
// encode and decode limits are the same).
func FuzzBuild(f *testing.F) {
	seeds := []string{
		`{"Kind":0,"Site":"G1234/05","Kind_":"train_carriage","Name":"G1234 car 5","Lat":30590000,"Lon":114300000,"Region":"420100","Route_":true}`,
		`{"Kind":1,"Person":"p","Aliases":3}`,
		`{"Kind":1,"Person":"p","Aliases":256}`,
		`{"Kind":2,"Site":"shop-1","Person":"alice","In":1579478400,"Out":1579492800,"Via":"id_card","Role":"staff"}`,
		`{"Kind":2,"Site":"shop-1","Person":"alice","In":-1,"Out":0}`,
		`{"Kind":2,"Site":"shop-1","In":-9223372036854775808,"Out":9223372036854775807}`,
		`{"Kind":3,"From":"a","To":"b","In":10,"Out":20,"Via":"plate"}`,
		`{"Kind":4,"Status":"confirmed","Onset":"2020-01-20","Time":1579572000,"By":"hospital-1"}`,
		`{"Kind":4,"Status":"confirmed","Onset":"1969-12-31","Time":1579572000,"By":"hospital-1"}`,
		`{"Kind":5,"Topic":"privacy/result","Payload":"{}"}`,
		`{"Kind":6,"Topic":"places-v1","Period":1579478400,"Duration":20}`,
		`{"Kind":7,"Until":253402300800}`,
		`{"Kind":8,"Action":2,"In":10,"Out":20,"Site":"s","Reason":"lent card"}`,
		`{"Kind":8,"Action":1,"Reason":"void"}`,
		`{"Kind":9,"Person":"c","By":"approver"}`,
		`{"Kind":10,"Site":"tag-7","Person":"a","By":"b","In":1579478400,"Duration":140,"Distance":150}`,
		`{"Kind":11,"Role":"investigator","Name":"CDC Wuhan 17"}`,
		`{"Kind":11,"Role":"investigator","Name":"n","Repeat":70000}`,
		`{"Kind":11,"Role":"auditor","Name":"id:\u0000abc"}`,
		"{\"Kind\":11,\"Role\":\"auditor\",\"Name\":\"\xff\"}",
		`{"Kind":12,"Role":"investigator","Case":"case-1","Purpose":"tracing","Route":"POST /v1/trace/contacts","In":1,"Out":2,"Time":1579500000}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var a apiBody
		if json.Unmarshal(in, &a) != nil {
			return
		}
		b := a.body()
		tx, err := Build(b)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Msg == "" || tx != nil {
				t.Fatalf("Build = %v, %v; want nil and a *FieldError naming a field", tx, err)
			}
			if !strings.HasPrefix(fe.Msg, "longer than") && !strings.HasPrefix(fe.Msg, "more than") {
				return
			}
			// A length Build refuses, DecodeTx refuses too.
			if encodable(b) {
				raw := NewTx(b)
				for i := 0; i < b.Signers(); i++ {
					raw.Sign("c", key(byte(i+1)))
				}
				if _, err := DecodeTx(raw.Bytes()); err == nil {
					t.Fatalf("Build refuses %v, but DecodeTx accepts the encoding", fe)
				}
			}
			return
		}
		for i := 0; i < b.Signers(); i++ {
			tx.Sign("c", key(byte(i+1)))
		}
		got, err := DecodeTx(tx.Bytes())
		if err != nil {
			t.Fatalf("Build made a %s that does not decode: %v", b.Kind(), err)
		}
		if !bytes.Equal(got.Bytes(), tx.Bytes()) || got.ID() != tx.ID() {
			t.Fatal("decode then encode changed the bytes")
		}
		if err := Validate(got.Body); err != nil {
			t.Fatalf("the decoded %s no longer validates: %v", b.Kind(), err)
		}
	})
}

// TestBuildLimits names, for each limited field, the longest value Build
// takes and the first it refuses; DecodeTx agrees at both, and nothing
// panics, even past 64 KiB (a role grant's name of 70 KiB used to panic
// inside the API handler).
func TestBuildLimits(t *testing.T) {
	t.Parallel()
	s := strings.Repeat
	cases := []struct {
		name  string
		body  func(n int) Body
		limit int
		field string
	}{
		{"grant_role_name", func(n int) Body { return &GrantRole{Role: "auditor", Name: s("n", n)} }, MaxNameLen, "name"},
		{"grant_role_role", func(n int) Body { return &GrantRole{Role: s("r", n)} }, MaxTagLen, "role"},
		{"site_id", func(n int) Body { return &RegisterSite{Site: s("s", n)} }, MaxIDLen, "site"},
		{"site_region", func(n int) Body { return &RegisterSite{Site: "s", Region: s("r", n)} }, MaxTagLen, "region"},
		{"visit_via", func(n int) Body { return &Visit{Site: "s", Via: s("v", n)} }, MaxTagLen, "via"},
		{"case_status", func(n int) Body { return &Case{Status: s("s", n)} }, MaxStatusLen, "status"},
		{"correction_reason", func(n int) Body { return &Correction{Action: ActionAnnul, Reason: s("r", n)} }, MaxReasonLen, "reason"},
		{"audit_case", func(n int) Body { return &Audit{Case: s("c", n)} }, MaxAuditLen, "case"},
		{"publish_topic", func(n int) Body { return &Publish{Topic: s("t", n)} }, MaxTopic, "topic"},
		{"publish_payload", func(n int) Body { return &Publish{Topic: "t", Payload: bytes.Repeat([]byte{1}, n)} }, MaxPayload, "payload"},
		{"bind_aliases", func(n int) Body {
			b := &BindIdentity{}
			for i := 0; i < n; i++ {
				b.Aliases = append(b.Aliases, Pseudonym{byte(i >> 8), byte(i)})
			}
			return b
		}, MaxBindAliases, "aliases"},
		{"supply_items", func(n int) Body {
			b := &SupplyEvent{Step: StepObserve}
			for i := 0; i < n; i++ {
				b.Items = append(b.Items, mask(fmt.Sprint("A", i), 1))
			}
			return b
		}, MaxSupplyItems, "items"},
		{"supply_outputs", func(n int) Body {
			b := &SupplyEvent{Step: StepUnpack, Items: []SupplyItem{mask("CASE", 1)}}
			for i := 0; i < n; i++ {
				b.Outputs = append(b.Outputs, mask(fmt.Sprint("A", i), 1))
			}
			return b
		}, MaxSupplyItems, "outputs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, n := range []int{c.limit, c.limit + 1, 0xffff, 0x10000, 70 << 10} {
				if (c.field == "aliases" || c.field == "items" || c.field == "outputs") && n > 300 {
					continue
				}
				tx, err := Build(c.body(n))
				if n <= c.limit {
					if err != nil {
						t.Fatalf("%d: Build = %v, want a transaction", n, err)
					}
					tx.Sign("c", key(1))
					if _, err := DecodeTx(tx.Bytes()); err != nil {
						t.Fatalf("%d: built, but DecodeTx = %v", n, err)
					}
					continue
				}
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != c.field || tx != nil {
					t.Fatalf("%d: Build = %v, %v; want a *FieldError on %q", n, tx, err, c.field)
				}
				if b := c.body(n); n == c.limit+1 && encodable(b) {
					raw := NewTx(b)
					raw.Sign("c", key(1))
					if _, err := DecodeTx(raw.Bytes()); err == nil {
						t.Fatalf("%d: Build refuses it, DecodeTx accepts it", n)
					}
				}
			}
		})
	}
}

// TestValidateRules: the rules on values beyond lengths, each field once.
func TestValidateRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		body  Body
		field string // "" = valid
	}{
		{"visit_plain", &Visit{Site: "shop-1", In: 1579478400, Out: 1579492800, Via: "face"}, ""},
		{"visit_at_min_and_max_time", &Visit{Site: "s", In: MinTime, Out: MaxTime}, ""},
		{"visit_in_minus_1", &Visit{Site: "s", In: -1}, "in"},
		{"visit_in_min_int64", &Visit{Site: "s", In: math.MinInt64}, "in"},
		{"visit_out_year_10000", &Visit{Site: "s", Out: MaxTime + 1}, "out"},
		{"move_arrive_max_int64", &Move{Arrive: math.MaxInt64}, "arrive"},
		{"case_onset_1969", &Case{Onset: "1969-12-31"}, "onset"},
		{"case_onset_not_a_date", &Case{Onset: "2020-1-1"}, "onset"},
		{"case_onset_1970", &Case{Onset: "1970-01-01"}, ""},
		{"case_reported_minus_1", &Case{Reported: -1}, "reported"},
		{"close_windows_until_minus_1", &CloseWindows{Until: -1}, "until"},
		{"commit_root_period_max_int64", &CommitRoot{Period: math.MaxInt64}, "period"},
		{"encounter_start_minus_1", &Encounter{Start: -1, B: PersonRef{Alias: true}}, "start"},
		{"encounter_persons_out_of_order", &Encounter{A: PersonRef{Alias: true}}, "b"},
		{"correction_amend_in_minus_1", &Correction{Action: ActionAmend, In: -1}, "in"},
		{"correction_annul_with_times", &Correction{Action: ActionAnnul, In: 5, Out: 6}, "in"},
		{"correction_annul_with_site", &Correction{Action: ActionAnnul, Site: "s"}, "in"},
		{"correction_action_3", &Correction{Action: 3}, "action"},
		{"audit_window_everything", &Audit{From: -MaxWindow, To: MaxWindow}, ""},
		{"audit_window_backwards", &Audit{From: 2, To: 1}, "to"},
		{"audit_from_min_int64", &Audit{From: math.MinInt64}, "to"},
		{"audit_time_minus_1", &Audit{Time: -1}, "time"},
		{"bind_aliases_unsorted", &BindIdentity{Aliases: []Pseudonym{{2}, {1}}}, "aliases"},
		{"site_name_nul", &RegisterSite{Name: "a\x00"}, "name"},
		{"site_name_newline", &RegisterSite{Name: "a\nb"}, "name"},
		{"site_name_del", &RegisterSite{Name: "a\x7f"}, "name"},
		{"site_name_c1", &RegisterSite{Name: "a\u0080"}, "name"},
		{"site_name_invalid_utf8", &RegisterSite{Name: "a\xff"}, "name"},
		{"site_name_fffd", &RegisterSite{Name: "a\ufffd"}, "name"},
		{"site_name_cjk", &RegisterSite{Name: "武汉协和医院"}, ""},
		{"grant_role_name_tab", &GrantRole{Name: "a\tb"}, "name"},
		{"audit_purpose_cr", &Audit{Purpose: "x\r"}, "purpose"},
		{"card_placed", &ReportCard{placed(Cell{3059, 11430}, true)}, ""},
		{"card_at_80_north", &ReportCard{placed(Cell{8000, -18000}, true)}, ""},
		{"card_beyond_80_south", &ReportCard{placed(Cell{-8001, 0}, true)}, "place"},
		{"card_lon_181", &ReportCard{placed(Cell{0, 18100}, true)}, "place"},
		{"card_place_not_placed", &ReportCard{placed(Cell{3059, 11430}, false)}, "place"},
		{"rule_space_time", spaceTime(2000), ""},
		{"rule_space_time_no_meters", spaceTime(0), "meters"},
		{"rule_space_time_too_far", spaceTime(MaxClusterMeters + 1), "meters"},
		{"rule_threshold_with_meters", &WarningRule{Name: "t", Disease: "measles", Method: RuleThreshold, Cases: 3, Days: 7, Level: 2, Meters: 10}, "meters"},
		{"supply_commission", supply(StepCommission, mask("A1", 1)), ""},
		{"need", &SupplyNeed{GTIN: "10614141073464", Units: 10, Urgency: "urgent"}, ""},
		{"need_bad_gtin", &SupplyNeed{GTIN: "10614141073465", Units: 10, Urgency: "urgent"}, "gtin"},
		{"need_bad_urgency", &SupplyNeed{GTIN: "10614141073464", Units: 10, Urgency: "soon"}, "urgency"},
		{"pledge", &DonationPledge{Charity: [32]byte{1}, Amount: 100, Goods: []Goods{{GTIN: "10614141073464", Units: 5}}}, ""},
		{"pledge_no_charity", &DonationPledge{Amount: 100}, "charity"},
		{"pledge_nothing", &DonationPledge{Charity: [32]byte{1}}, "amount"},
		{"pledge_too_much", &DonationPledge{Charity: [32]byte{1}, Amount: MaxDonationFen + 1}, "amount"},
		{"pledge_bad_gtin", &DonationPledge{Charity: [32]byte{1}, Goods: []Goods{{GTIN: "10614141073465", Units: 5}}}, "gtin"},
		{"pledge_no_units", &DonationPledge{Charity: [32]byte{1}, Goods: []Goods{{GTIN: "10614141073464"}}}, "units"},
		{"pledge_phone_as_name", &DonationPledge{Charity: [32]byte{1}, Amount: 100, Name: "call 13812345678"}, "name"},
		{"pledge_id_in_purpose", &DonationPledge{Charity: [32]byte{1}, Amount: 100, Purpose: "for 420106198001011234"}, "purpose"},
		{"pledge_goods_twice", &DonationPledge{Charity: [32]byte{1}, Goods: []Goods{{GTIN: "10614141073464", Units: 1}, {GTIN: "10614141073464", Units: 2}}}, "goods"},
		{"donation_receive", &DonationStep{Step: DonationReceive, Pledge: Hash{1}, Amount: 5}, ""},
		{"donation_receive_both", &DonationStep{Step: DonationReceive, Pledge: Hash{1}, Amount: 5, Shipment: Hash{2}}, "amount"},
		{"donation_no_pledge", &DonationStep{Step: DonationReceive, Amount: 5}, "pledge"},
		{"donation_bad_step", &DonationStep{Step: "refund", Pledge: Hash{1}, Amount: 5}, "step"},
		{"donation_purchase_no_shipment", &DonationStep{Step: DonationPurchase, Pledge: Hash{1}, Amount: 5}, "amount"},
		{"donation_allocate_amount", &DonationStep{Step: DonationAllocate, Pledge: Hash{1}, Amount: 5, Shipment: Hash{2}}, "shipment"},
		{"donation_allocate", &DonationStep{Step: DonationAllocate, Pledge: Hash{1}, Shipment: Hash{2}}, ""},
		{"supply_bad_check_digit", supply(StepObserve, SupplyItem{GTIN: "10614141073465", Serial: "A1", Qty: 1}), "gtin"},
		{"supply_gtin_13_digits", supply(StepObserve, SupplyItem{GTIN: "0614141073464", Serial: "A1", Qty: 1}), "gtin"},
		{"supply_serial_slash", supply(StepObserve, mask("A/1", 1)), "serial"},
		{"supply_serial_space", supply(StepObserve, mask("A 1", 1)), "serial"},
		{"supply_instance_of_two", supply(StepObserve, mask("A1", 2)), "quantity"},
		{"supply_lot_of_zero", supply(StepObserve, SupplyItem{GTIN: "10614141073464", Lot: "L1"}), "quantity"},
		{"supply_no_serial_or_lot", supply(StepObserve, SupplyItem{GTIN: "10614141073464", Qty: 1}), "serial"},
		{"supply_item_twice", supply(StepObserve, mask("A1", 1), mask("A1", 1)), "items"},
		{"supply_ship_to_nobody", supply(StepShip, mask("A1", 1)), "to"},
		{"supply_receipt_with_items", &SupplyEvent{Step: StepReceive, Items: []SupplyItem{mask("A1", 1)}, Offer: Hash{1}}, ""},
		{"supply_receipt_of_nothing", &SupplyEvent{Step: StepReceive}, "offer"},
		{"supply_receipt_by_ref", &SupplyEvent{Step: StepReceive, Ref: "urn:epcglobal:cbv:bt:0614141073467:1152"}, ""},
		{"supply_receipt_by_both", &SupplyEvent{Step: StepReceive, Offer: Hash{1}, Ref: "po-1"}, "offer"},
		{"supply_offer_on_a_ship", &SupplyEvent{Step: StepShip, Items: []SupplyItem{mask("A1", 1)}, To: [32]byte{1}, Offer: Hash{1}}, "offer"},
		{"supply_no_items", &SupplyEvent{Step: StepConsume}, "items"},
		{"supply_void_all", &SupplyEvent{Step: StepVoid, Offer: Hash{1}}, ""},
		{"supply_void_some", &SupplyEvent{Step: StepVoid, Offer: Hash{1}, Items: []SupplyItem{mask("A1", 1)}}, ""},
		{"supply_void_of_nothing", &SupplyEvent{Step: StepVoid}, "offer"},
		{"supply_void_by_ref", &SupplyEvent{Step: StepVoid, Offer: Hash{1}, Ref: "po-1"}, "offer"},
		{"supply_void_to", &SupplyEvent{Step: StepVoid, Offer: Hash{1}, To: [32]byte{1}}, "to"},
		{"supply_offer_on_a_scan", &SupplyEvent{Step: StepObserve, Items: []SupplyItem{mask("A1", 1)}, Offer: Hash{1}}, "offer"},
		{"supply_commission_no_expiry", &SupplyEvent{Step: StepCommission, Items: []SupplyItem{mask("A1", 1)}}, "expiry"},
		{"supply_standard_on_a_scan", &SupplyEvent{Step: StepObserve, Items: []SupplyItem{mask("A1", 1)}, Standard: "GB 19083"}, "standard"},
		{"supply_unknown_step", &SupplyEvent{Step: "sell", Items: []SupplyItem{mask("A1", 1)}}, "step"},
		{"rule_space_time_one_case", &WarningRule{Name: "s", Disease: "measles", Method: RuleSpaceTime, Cases: 1, Days: 7, Level: 2, Meters: 10}, "days"},
		{"attest_news", attest(AttestNews, "https://weibo.com/1234567890/4462468883439456"), ""},
		{"attest_remote_work_no_source", attest(AttestRemoteWork, ""), ""},
		{"attest_insurance_evidence_named_source", attest(AttestInsuranceEvidence, "Union Hospital, discharge office"), ""},
		{"attest_zero_content", &Attestation{Kind_: AttestNews, By: [32]byte{1}}, "content"},
		{"attest_unknown_kind", attest("rumour", ""), "kind"},
		{"attest_empty_kind", attest("", ""), "kind"},
		{"attest_no_key", &Attestation{Content: Hash{1}, Kind_: AttestNews}, "by"},
		{"attest_source_257_bytes", attest(AttestNews, strings.Repeat("a", MaxRefLen+1)), "source"},
		{"attest_source_control_character", attest(AttestNews, "a\x00b"), "source"},
		{"attest_evidence_source_with_an_id_number", attest(AttestInsuranceEvidence, "patient 420100199001010001"), "source"},
		{"attest_evidence_source_with_a_phone_number", attest(AttestOther, "call 13800138000"), "source"},
		{"attest_time_minus_1", &Attestation{Content: Hash{1}, Kind_: AttestNews, Time: -1, By: [32]byte{1}}, "time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := Validate(c.body)
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("Validate = %v, want a *FieldError on %q", err, c.field)
			}
		})
	}
}

func placed(c Cell, ok bool) CardFields {
	f := sampleCard()
	f.Placed, f.Place = ok, c
	return f
}

func spaceTime(meters uint32) *WarningRule {
	return &WarningRule{Name: "measles-near", Disease: "measles", Method: RuleSpaceTime, Cases: 3, Days: 14, Meters: meters, Level: 3, Active: true}
}

// TestCellOf: a position rounds to its 0.01-degree cell, half away from
// zero, and reads back as people write it.
func TestCellOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		lat, lon float64
		want     string
		err      bool
	}{
		{30.5928, 114.3055, "30.59,114.31", false},
		{-33.865, 151.2094, "-33.87,151.21", false},
		{0.004, -0.005, "0.00,-0.01", false},
		{-0.05, -179.999, "-0.05,-180.00", false},
		{80, 180, "80.00,180.00", false},
		{80.01, 0, "", true},
		{0, 180.5, "", true},
		{math.NaN(), 0, "", true},
	} {
		got, err := CellOf(c.lat, c.lon)
		if (err != nil) != c.err || (err == nil && got.String() != c.want) {
			t.Errorf("CellOf(%g, %g) = %v %v, want %s (error %v)", c.lat, c.lon, got, err, c.want, c.err)
		}
	}
}

func mask(serial string, qty uint32) SupplyItem {
	return SupplyItem{GTIN: "10614141073464", Serial: serial, Qty: qty}
}

func supply(step string, items ...SupplyItem) *SupplyEvent {
	b := &SupplyEvent{Step: step, Items: items, Time: 1579500000}
	if step == StepCommission {
		b.Expiry = "2025-01-31"
	}
	return b
}

func attest(kind, source string) *Attestation {
	return &Attestation{Content: Hash{1}, Kind_: kind, Source: source, Time: 1579500000, By: [32]byte{2}}
}

// TestValidGTIN: GS1's own examples and every single-digit error.
func TestValidGTIN(t *testing.T) {
	t.Parallel()
	for _, g := range []string{"10614141073464", "04012345123456", "09520123456788", "00614141000012"} {
		if !ValidGTIN(g) {
			t.Errorf("%s refused", g)
		}
		for i := 0; i < 14; i++ {
			b := []byte(g)
			b[i] = '0' + (b[i]-'0'+3)%10
			if ValidGTIN(string(b)) {
				t.Errorf("%s (digit %d changed) accepted", b, i)
			}
		}
	}
	for _, g := range []string{"", "1061414107346", "106141410734640", "1061414107346x", "-0614141073464"} {
		if ValidGTIN(g) {
			t.Errorf("%q accepted", g)
		}
	}
}

// FuzzParseCode: a code from anyone (the public supply route, the CLI)
// never panics, and one that parses is an item whose code is the input's.
func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"01/10614141073464/21/A1", "/01/10614141073464/10/L7", "01/10614141073465/21/A1", "01/1/21/", "01//21/x/y", "01/10614141073464/21/%E4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		it, err := ParseCode(s)
		if err != nil {
			return
		}
		if it.Code() != strings.TrimPrefix(s, "/") {
			t.Fatalf("ParseCode(%q).Code() = %q", s, it.Code())
		}
		if err := Validate(&SupplyEvent{Step: StepObserve, Items: []SupplyItem{it}}); err != nil {
			t.Fatalf("ParseCode(%q) gave an item the ledger refuses: %v", s, err)
		}
	})
}
