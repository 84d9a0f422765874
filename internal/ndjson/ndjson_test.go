package ndjson_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ndjson"
)

// secret is a personal identifier that no error message may repeat.
const secret = "13800138000"

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	cst := time.FixedZone("", 8*3600)
	cases := []struct {
		name string
		line string
		want any
	}{
		{name: "site_shop", line: `{"type":"site","site":"shop-1","kind":"shop","name":"Corner","lat":30.59,"lon":114.3,"region":"420100"}`,
			want: &ndjson.Site{Site: "shop-1", Kind: "shop", Name: "Corner", Lat: 30.59, Lon: 114.3, Region: "420100"}},
		{name: "site_lat_0_lon_0_with_parent", line: `{"type":"site","site":"car-7","kind":"train_carriage","lat":0,"lon":0,"parent":"train-G79"}`,
			want: &ndjson.Site{Site: "car-7", Kind: "train_carriage", Parent: "train-G79"}},
		{name: "site_lat_-90_lon_180", line: `{"type":"site","site":"pole","kind":"venue","lat":-90,"lon":180}`,
			want: &ndjson.Site{Site: "pole", Kind: "venue", Lat: -90, Lon: 180}},
		{name: "site_key_upper_case_hex", line: `{"type":"site","site":"shop-2","kind":"shop","lat":0,"lon":0,"key":"` + strings.Repeat("AB", 32) + `"}`,
			want: &ndjson.Site{Site: "shop-2", Kind: "shop", Key: strings.Repeat("ab", 32)}},
		{name: "identity_two_aliases", line: `{"type":"identity","id":"420100","aliases":["phone:138","plate:E1"]}`,
			want: &ndjson.Identity{ID: "420100", Aliases: []string{"phone:138", "plate:E1"}}},
		{name: "identity_no_aliases", line: `{"type":"identity","id":"420100"}`, want: &ndjson.Identity{ID: "420100"}},
		{name: "visit_cst", line: `{"type":"visit","site":"shop-1","person":"id:420100","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T09:00:00+08:00","via":"qr","role":"staff"}`,
			want: &ndjson.Visit{Site: "shop-1", Person: "id:420100", In: time.Date(2020, 1, 20, 8, 0, 0, 0, cst),
				Out: time.Date(2020, 1, 20, 9, 0, 0, 0, cst), Via: "qr", Role: "staff"}},
		{name: "visit_out_equals_in_utc", line: `{"type":"visit","site":"s","person":"phone:1","in":"2020-01-20T00:00:00Z","out":"2020-01-20T00:00:00Z"}`,
			want: &ndjson.Visit{Site: "s", Person: "phone:1", In: time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC), Out: time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC)}},
		{name: "visit_unknown_field", line: `{"type":"visit","site":"s","person":"phone:1","in":"2020-01-20T00:00:00Z","out":"2020-01-20T00:00:00Z","temperature":37.2}`,
			want: &ndjson.Visit{Site: "s", Person: "phone:1", In: time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC), Out: time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC)}},
		{name: "move_train", line: `{"type":"move","person":"id:1","from":"a","to":"b","depart":"2020-01-20T08:00:00Z","arrive":"2020-01-20T12:00:00Z","via":"train"}`,
			want: &ndjson.Move{Person: "id:1", From: "a", To: "b", Depart: time.Date(2020, 1, 20, 8, 0, 0, 0, time.UTC),
				Arrive: time.Date(2020, 1, 20, 12, 0, 0, 0, time.UTC), Via: "train"}},
		{name: "case_confirmed_with_onset", line: `{"type":"case","person":"id:1","status":"confirmed","onset":"2020-01-18","reported":"2020-01-20T08:00:00Z","by":"hosp"}`,
			want: &ndjson.Case{Person: "id:1", Status: "confirmed", Onset: "2020-01-18", Reported: time.Date(2020, 1, 20, 8, 0, 0, 0, time.UTC), By: "hosp"}},
		{name: "tx_base64", line: `{"type":"tx","tx":"AQIDBA=="}`, want: &ndjson.SignedTx{Tx: "AQIDBA=="}},
		{name: "surrounding_space", line: " \t{\"type\":\"tx\",\"tx\":\"AA==\"}\r\n", want: &ndjson.SignedTx{Tx: "AA=="}},
		{name: "visit_at_1970_and_9999", line: `{"type":"visit","site":"s","person":"phone:1","in":"1970-01-01T00:00:00Z","out":"9999-12-31T23:59:59Z"}`,
			want: &ndjson.Visit{Site: "s", Person: "phone:1", In: time.Unix(0, 0).UTC(), Out: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}},
		{name: "site_name_cjk", line: `{"type":"site","site":"hosp-1","kind":"hospital","name":"武汉协和医院","lat":30.59,"lon":114.27}`,
			want: &ndjson.Site{Site: "hosp-1", Kind: "hospital", Name: "武汉协和医院", Lat: 30.59, Lon: 114.27}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ndjson.Parse([]byte(tc.line))
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			if !equalRecords(got, tc.want) {
				t.Errorf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// equalRecords compares records with time.Time.Equal for times.
func equalRecords(a, b any) bool {
	norm := func(v any) any {
		switch r := v.(type) {
		case *ndjson.Visit:
			c := *r
			c.In, c.Out = c.In.UTC(), c.Out.UTC()
			return &c
		case *ndjson.Move:
			c := *r
			c.Depart, c.Arrive = c.Depart.UTC(), c.Arrive.UTC()
			return &c
		case *ndjson.Case:
			c := *r
			c.Reported = c.Reported.UTC()
			return &c
		case *ndjson.Identity:
			c := *r
			if len(c.Aliases) == 0 {
				c.Aliases = nil // the writer omits an empty list
			}
			return &c
		}
		return v
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	const (
		in  = `"in":"2020-01-20T08:00:00Z"`
		out = `"out":"2020-01-20T09:00:00Z"`
		dep = `"depart":"2020-01-20T08:00:00Z"`
		arr = `"arrive":"2020-01-20T09:00:00Z"`
		rep = `"reported":"2020-01-20T09:00:00Z"`
	)
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name  string
		line  string
		field string // "" means not a *FieldError
	}{
		{name: "blank", line: "  \n", field: ""},
		{name: "not_json", line: `{"type":"visit","person":"phone:` + secret + `"`, field: ""},
		{name: "person_number", line: `{"type":"visit","site":"s","person":` + secret + `}`, field: ""},
		{name: "json_array", line: `["phone:` + secret + `"]`, field: ""},
		{name: "no_type", line: `{"site":"s"}`, field: "type"},
		{name: "type_spaceship", line: `{"type":"spaceship"}`, field: "type"},

		{name: "site_no_site", line: `{"type":"site","kind":"shop","lat":0,"lon":0}`, field: "site"},
		{name: "site_id_65_bytes", line: `{"type":"site","site":"` + long(65) + `","kind":"shop","lat":0,"lon":0}`, field: "site"},
		{name: "site_no_kind", line: `{"type":"site","site":"s","lat":0,"lon":0}`, field: "kind"},
		{name: "site_key_31_bytes", line: `{"type":"site","site":"s","kind":"shop","lat":0,"lon":0,"key":"` + strings.Repeat("ab", 31) + `"}`, field: "key"},
		{name: "site_key_not_hex", line: `{"type":"site","site":"s","kind":"shop","lat":0,"lon":0,"key":"` + strings.Repeat("zz", 32) + `"}`, field: "key"},
		{name: "site_kind_spaceship", line: `{"type":"site","site":"s","kind":"spaceship","lat":0,"lon":0}`, field: "kind"},
		{name: "site_name_129_bytes", line: `{"type":"site","site":"s","kind":"shop","name":"` + long(129) + `","lat":0,"lon":0}`, field: "name"},
		{name: "site_no_lat", line: `{"type":"site","site":"s","kind":"shop","lon":0}`, field: "lat"},
		{name: "site_lat_null", line: `{"type":"site","site":"s","kind":"shop","lat":null,"lon":0}`, field: "lat"},
		{name: "site_no_lon", line: `{"type":"site","site":"s","kind":"shop","lat":0}`, field: "lon"},
		{name: "site_lat_90.5", line: `{"type":"site","site":"s","kind":"shop","lat":90.5,"lon":0}`, field: "lat"},
		{name: "site_lon_-180.5", line: `{"type":"site","site":"s","kind":"shop","lat":0,"lon":-180.5}`, field: "lon"},
		{name: "site_region_33_bytes", line: `{"type":"site","site":"s","kind":"shop","lat":0,"lon":0,"region":"` + long(33) + `"}`, field: "region"},
		{name: "site_parent_65_bytes", line: `{"type":"site","site":"s","kind":"shop","lat":0,"lon":0,"parent":"` + long(65) + `"}`, field: "parent"},

		{name: "identity_no_id", line: `{"type":"identity","aliases":["phone:` + secret + `"]}`, field: "id"},
		{name: "identity_id_with_scheme", line: `{"type":"identity","id":"id:` + secret + `"}`, field: "id"},
		{name: "identity_id_126_bytes", line: `{"type":"identity","id":"` + secret + long(115) + `"}`, field: "id"},
		{name: "identity_33_aliases", line: `{"type":"identity","id":"1","aliases":[` + strings.Repeat(`"phone:1",`, 32) + `"phone:1"]}`, field: "aliases"},
		{name: "identity_alias_without_scheme", line: `{"type":"identity","id":"1","aliases":["phone:1","` + secret + `"]}`, field: "aliases[1]"},
		{name: "identity_alias_id_scheme", line: `{"type":"identity","id":"1","aliases":["id:` + secret + `"]}`, field: "aliases[0]"},
		{name: "identity_alias_upper_scheme", line: `{"type":"identity","id":"1","aliases":["PHONE:` + secret + `"]}`, field: "aliases[0]"},

		{name: "visit_no_site", line: `{"type":"visit","person":"phone:` + secret + `",` + in + `,` + out + `}`, field: "site"},
		{name: "visit_no_person", line: `{"type":"visit","site":"s",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_person_phone", line: `{"type":"visit","site":"s","person":"phone",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_person_phone_colon", line: `{"type":"visit","site":"s","person":"phone:",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_person_bare_number", line: `{"type":"visit","site":"s","person":"` + secret + `",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_person_colon_number", line: `{"type":"visit","site":"s","person":":` + secret + `",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_person_scheme_with_dash", line: `{"type":"visit","site":"s","person":"mobile-phone:` + secret + `",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_person_129_bytes", line: `{"type":"visit","site":"s","person":"phone:` + secret + long(112) + `",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_no_in", line: `{"type":"visit","site":"s","person":"phone:1",` + out + `}`, field: "in"},
		{name: "visit_in_date_only", line: `{"type":"visit","site":"s","person":"phone:1","in":"2020-01-20",` + out + `}`, field: "in"},
		{name: "visit_in_1969", line: `{"type":"visit","site":"s","person":"phone:1","in":"1969-12-31T23:59:59Z",` + out + `}`, field: "in"},
		{name: "visit_no_out", line: `{"type":"visit","site":"s","person":"phone:1",` + in + `}`, field: "out"},
		{name: "visit_out_before_in", line: `{"type":"visit","site":"s","person":"phone:1","in":"2020-01-20T08:00:01Z","out":"2020-01-20T08:00:00Z"}`, field: "out"},
		{name: "visit_via_33_bytes", line: `{"type":"visit","site":"s","person":"phone:1",` + in + `,` + out + `,"via":"` + long(33) + `"}`, field: "via"},
		{name: "visit_role_33_bytes", line: `{"type":"visit","site":"s","person":"phone:1",` + in + `,` + out + `,"role":"` + long(33) + `"}`, field: "role"},

		{name: "move_no_person", line: `{"type":"move","from":"a","to":"b",` + dep + `,` + arr + `}`, field: "person"},
		{name: "move_person_phone", line: `{"type":"move","person":"phone","from":"a","to":"b",` + dep + `,` + arr + `}`, field: "person"},
		{name: "move_no_from", line: `{"type":"move","person":"id:1","to":"b",` + dep + `,` + arr + `}`, field: "from"},
		{name: "move_no_to", line: `{"type":"move","person":"id:1","from":"a",` + dep + `,` + arr + `}`, field: "to"},
		{name: "move_to_equals_from", line: `{"type":"move","person":"id:1","from":"a","to":"a",` + dep + `,` + arr + `}`, field: "to"},
		{name: "move_no_depart", line: `{"type":"move","person":"id:1","from":"a","to":"b",` + arr + `}`, field: "depart"},
		{name: "move_no_arrive", line: `{"type":"move","person":"id:1","from":"a","to":"b",` + dep + `}`, field: "arrive"},
		{name: "move_arrive_before_depart", line: `{"type":"move","person":"id:1","from":"a","to":"b","depart":"2020-01-20T09:00:00Z","arrive":"2020-01-20T08:00:00Z"}`, field: "arrive"},
		{name: "move_via_33_bytes", line: `{"type":"move","person":"id:1","from":"a","to":"b",` + dep + `,` + arr + `,"via":"` + long(33) + `"}`, field: "via"},

		{name: "case_no_person", line: `{"type":"case","status":"confirmed",` + rep + `,"by":"h"}`, field: "person"},
		{name: "case_person_id_colon", line: `{"type":"case","person":"id:","status":"confirmed",` + rep + `,"by":"h"}`, field: "person"},
		{name: "case_no_status", line: `{"type":"case","person":"id:` + secret + `",` + rep + `,"by":"h"}`, field: "status"},
		{name: "case_status_sick", line: `{"type":"case","person":"id:` + secret + `","status":"sick",` + rep + `,"by":"h"}`, field: "status"},
		{name: "case_onset_2020-02-30", line: `{"type":"case","person":"id:` + secret + `","status":"confirmed","onset":"2020-02-30",` + rep + `,"by":"h"}`, field: "onset"},
		{name: "case_onset_rfc3339", line: `{"type":"case","person":"id:1","status":"confirmed","onset":"2020-01-20T00:00:00Z",` + rep + `,"by":"h"}`, field: "onset"},
		{name: "case_no_reported", line: `{"type":"case","person":"id:1","status":"confirmed","by":"h"}`, field: "reported"},
		{name: "case_no_by", line: `{"type":"case","person":"id:1","status":"confirmed",` + rep + `}`, field: "by"},

		{name: "tx_no_tx", line: `{"type":"tx"}`, field: "tx"},

		// Times: the instant, whatever its offset, within ledger.MinTime
		// and ledger.MaxTime, the state machine's bounds (issue 11).
		{name: "visit_in_1970_local_1969_utc", line: `{"type":"visit","site":"s","person":"phone:1","in":"1970-01-01T07:00:00+08:00",` + out + `}`, field: "in"},
		{name: "visit_in_year_1", line: `{"type":"visit","site":"s","person":"phone:1","in":"0001-01-01T00:00:00Z",` + out + `}`, field: "in"},
		{name: "visit_out_9999_local_10000_utc", line: `{"type":"visit","site":"s","person":"phone:1",` + in + `,"out":"9999-12-31T23:00:00-02:00"}`, field: "out"},
		{name: "move_depart_1900", line: `{"type":"move","person":"id:1","from":"a","to":"b","depart":"1900-01-01T00:00:00Z",` + arr + `}`, field: "depart"},
		{name: "case_reported_1969", line: `{"type":"case","person":"id:1","status":"confirmed","reported":"1969-12-01T00:00:00Z","by":"h"}`, field: "reported"},
		{name: "case_onset_1969", line: `{"type":"case","person":"id:1","status":"confirmed","onset":"1969-12-31",` + rep + `,"by":"h"}`, field: "onset"},

		// Text: no control character, invalid UTF-8 or U+FFFD in any
		// field (issue 11); the value is never repeated.
		{name: "visit_person_nul", line: `{"type":"visit","site":"s","person":"id:\u0000` + secret + `",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_person_newline", line: `{"type":"visit","site":"s","person":"phone:` + secret + `\n",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_person_invalid_utf8", line: "{\"type\":\"visit\",\"site\":\"s\",\"person\":\"id:\xff" + secret + "\"," + in + "," + out + "}", field: "person"},
		{name: "visit_person_fffd", line: `{"type":"visit","site":"s","person":"id:\ufffd` + secret + `",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_person_c1", line: `{"type":"visit","site":"s","person":"id:` + secret + `\u009b",` + in + `,` + out + `}`, field: "person"},
		{name: "visit_site_tab", line: `{"type":"visit","site":"s\t1","person":"phone:1",` + in + `,` + out + `}`, field: "site"},
		{name: "visit_via_escape", line: `{"type":"visit","site":"s","person":"phone:1",` + in + `,` + out + `,"via":"\u001b[2J"}`, field: "via"},
		{name: "visit_role_del", line: `{"type":"visit","site":"s","person":"phone:1",` + in + `,` + out + `,"role":"staff\u007f"}`, field: "role"},
		{name: "site_name_newline", line: `{"type":"site","site":"s","kind":"shop","name":"a\nb","lat":0,"lon":0}`, field: "name"},
		{name: "site_region_nul", line: `{"type":"site","site":"s","kind":"shop","lat":0,"lon":0,"region":"4201\u0000"}`, field: "region"},
		{name: "site_parent_invalid_utf8", line: "{\"type\":\"site\",\"site\":\"s\",\"kind\":\"shop\",\"lat\":0,\"lon\":0,\"parent\":\"p\xfe\"}", field: "parent"},
		{name: "identity_id_nul", line: `{"type":"identity","id":"` + secret + `\u0000"}`, field: "id"},
		{name: "identity_alias_fffd", line: `{"type":"identity","id":"1","aliases":["phone:` + secret + `\ufffd"]}`, field: "aliases[0]"},
		{name: "move_from_cr", line: `{"type":"move","person":"id:1","from":"a\r","to":"b",` + dep + `,` + arr + `}`, field: "from"},
		{name: "case_by_c1", line: `{"type":"case","person":"id:1","status":"confirmed",` + rep + `,"by":"h\u0080"}`, field: "by"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := ndjson.Parse([]byte(tc.line))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", v)
			}
			if !unusable(v) {
				t.Errorf("Parse returned %+v with its error", v)
			}
			var fe *ndjson.FieldError
			switch {
			case tc.field == "" && errors.As(err, &fe):
				t.Errorf("Parse = FieldError %v, want another error", err)
			case tc.field != "" && !errors.As(err, &fe):
				t.Errorf("Parse = %v (%T), want a FieldError for %q", err, err, tc.field)
			case tc.field != "" && fe.Field != tc.field:
				t.Errorf("Parse error names field %q (%v), want %q", fe.Field, err, tc.field)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q repeats the person value", err)
			}
		})
	}
}

// unusable reports whether v, returned with an error, is nil or a nil
// pointer in an interface.
func unusable(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// TestParseErrorIsUntypedNil checks that a refused line gives a nil
// interface, not a nil *Site (or *Visit...) that compares != nil.
func TestParseErrorIsUntypedNil(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, line string }{
		{name: "site_no_site", line: `{"type":"site"}`},
		{name: "identity_no_id", line: `{"type":"identity"}`},
		{name: "visit_no_site", line: `{"type":"visit"}`},
		{name: "move_no_person", line: `{"type":"move"}`},
		{name: "case_no_person", line: `{"type":"case"}`},
		{name: "tx_no_tx", line: `{"type":"tx"}`},
		{name: "no_type", line: `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := ndjson.Parse([]byte(tc.line))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", v)
			}
			if v != nil {
				t.Fatalf("Parse returned %T with error %v, want nil", v, err)
			}
		})
	}
}

// TestCheckRefNeverEchoes checks that CheckRef's message never repeats the
// value, whatever is wrong with the reference.
func TestCheckRefNeverEchoes(t *testing.T) {
	t.Parallel()
	cases := []string{
		"phone",
		"phone:",
		secret,
		":" + secret,
		secret + ":",
		"PHONE:" + secret,
		"ph one:" + secret,
		"phone:" + secret + strings.Repeat("9", 128),
	}
	for _, ref := range cases {
		t.Run(ref, func(t *testing.T) {
			t.Parallel()
			err := ndjson.CheckRef("person", ref)
			if err == nil {
				t.Fatal("CheckRef = nil, want an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "person: ") {
				t.Errorf("error %q does not name the field", msg)
			}
			if strings.Contains(msg, secret) || (ref != "phone" && ref != "phone:" && strings.Contains(msg, ref)) {
				t.Errorf("error %q repeats the value", msg)
			}
		})
	}
}

func TestWriterPutsTypeFirst(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		v    any
		want string
	}{
		{name: "site_value", v: ndjson.Site{Site: "s", Kind: "shop", Lat: 1.5, Lon: -2}, want: `{"type":"site","site":"s","kind":"shop","lat":1.5,"lon":-2}` + "\n"},
		{name: "tx_pointer", v: &ndjson.SignedTx{Tx: "AA=="}, want: `{"type":"tx","tx":"AA=="}` + "\n"},
		{name: "identity_without_aliases", v: &ndjson.Identity{ID: "1"}, want: `{"type":"identity","id":"1"}` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := ndjson.NewWriter(&buf).Write(tc.v); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("Write = %q, want %q", buf.String(), tc.want)
			}
		})
	}
	if err := ndjson.NewWriter(new(bytes.Buffer)).Write(42); err == nil {
		t.Error("Write(42) = nil, want an error")
	}
}

func write(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ndjson.NewWriter(&buf).Write(v); err != nil {
		t.Fatalf("Write(%+v) = %v", v, err)
	}
	return buf.Bytes()
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"site","site":"shop-1","kind":"shop","name":"Corner <&>","lat":30.59,"lon":114.3,"region":"420100","parent":"mall"}`,
		`{"type":"site","site":"pole","kind":"venue","lat":-0,"lon":1e-7}`,
		`{"type":"identity","id":"420100","aliases":["phone:138","plate:E1"]}`,
		`{"type":"identity","id":"420100","aliases":[]}`,
		`{"type":"visit","site":"shop-1","person":"id:420100","in":"2020-01-20T08:00:00.5+08:00","out":"2020-01-20T09:00:00+08:00","via":"qr","role":"staff"}`,
		`{"type":"move","person":"phone:1","from":"a","to":"b","depart":"2020-01-20T08:00:00Z","arrive":"2020-01-20T12:00:00-00:00","via":"train"}`,
		`{"type":"case","person":"id:1","status":"confirmed","onset":"2020-01-18","reported":"2020-01-20T08:00:00Z","by":"hosp"}`,
		`{"type":"tx","tx":"AQIDBA=="}`,
		`{"TYPE":"tx","Tx":"\u00e9\ud800"}`,
		`{"type":"visit","person":"phone:1"`,
		``,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		v, err := ndjson.Parse(line)
		if err != nil {
			if !unusable(v) {
				t.Fatalf("Parse returned %+v with error %v", v, err)
			}
			return
		}
		if offsetOutOfRange(v) {
			t.Fatalf("Parse accepted a zone offset of 24 hours or more: %q", line)
		}
		w1 := write(t, v)
		v2, err := ndjson.Parse(w1)
		if err != nil {
			t.Fatalf("Parse(Write(Parse(line))) = %v\nline:    %q\nwritten: %q", err, line, w1)
		}
		if !equalRecords(v, v2) {
			t.Fatalf("Parse(Write(v)) = %+v, want %+v\nwritten: %q", v2, v, w1)
		}
		if w2 := write(t, v2); !bytes.Equal(w1, w2) {
			t.Fatalf("Write is not stable:\n%q\n%q", w1, w2)
		}
	})
}

// offsetOutOfRange reports whether a time of r has a zone offset of 24
// hours or more.
func offsetOutOfRange(r any) bool {
	var ts []time.Time
	switch r := r.(type) {
	case *ndjson.Visit:
		ts = []time.Time{r.In, r.Out}
	case *ndjson.Move:
		ts = []time.Time{r.Depart, r.Arrive}
	case *ndjson.Case:
		ts = []time.Time{r.Reported}
	}
	for _, t := range ts {
		if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
			return true
		}
	}
	return false
}

// TestParseTimeOffsets checks the zone offsets ParseTime accepts: RFC 3339
// allows hours 00 to 23.
func TestParseTimeOffsets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in string
		ok bool
	}{
		{in: "2020-01-20T08:00:00Z", ok: true},
		{in: "2020-01-20T08:00:00+00:00", ok: true},
		{in: "2020-01-20T08:00:00+08:00", ok: true},
		{in: "2020-01-20T08:00:00+23:59", ok: true},
		{in: "2020-01-20T08:00:00-23:59", ok: true},
		{in: "2020-01-20T08:00:00+24:00", ok: false},
		{in: "2020-01-20T08:00:00-24:00", ok: false},
		{in: "2020-01-20T08:00:00+99:00", ok: false},
		{in: "2020-01-20T08:00:00", ok: false},
		{in: "2020-01-20T24:00:00Z", ok: false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			tm, err := ndjson.ParseTime("in", tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseTime(%q) = %v, %v; want ok=%v", tc.in, tm, err, tc.ok)
			}
			if err != nil {
				return
			}
			if _, err := tm.MarshalJSON(); err != nil {
				t.Errorf("ParseTime accepted a time it cannot write: %v", err)
			}
		})
	}
}
