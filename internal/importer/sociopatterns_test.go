package importer_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/testnode"
	"github.com/epiledger/epiledger/internal/trace"
)

func TestParseSocioPatterns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want []importer.Meeting
		bad  []string // "line:field"
	}{
		{name: "one_window", in: "40 1 2\n",
			want: []importer.Meeting{{I: 1, J: 2, Start: 20, End: 40, Line: 1}}},
		{name: "consecutive_windows_merge", in: "40 1 2\n60 1 2\n80 2 1\n",
			want: []importer.Meeting{{I: 1, J: 2, Start: 20, End: 80, Line: 1}}},
		{name: "gap_splits", in: "40 1 2\n80 1 2\n",
			want: []importer.Meeting{{I: 1, J: 2, Start: 20, End: 40, Line: 1}, {I: 1, J: 2, Start: 60, End: 80, Line: 2}}},
		{name: "duplicate_line_once", in: "40 1 2\n40 2 1\n",
			want: []importer.Meeting{{I: 1, J: 2, Start: 20, End: 40, Line: 1}}},
		{name: "interleaved_pairs", in: "40 1 2\n40 3 1\n60 1 2\n100 1 3\n",
			want: []importer.Meeting{{I: 1, J: 2, Start: 20, End: 60, Line: 1}, {I: 1, J: 3, Start: 20, End: 40, Line: 2},
				{I: 1, J: 3, Start: 80, End: 100, Line: 4}}},
		{name: "out_of_order_lines", in: "60 1 2\n40 1 2\n",
			want: []importer.Meeting{{I: 1, J: 2, Start: 20, End: 60, Line: 2}}},
		{name: "malformed_lines", in: "40 1 2\n\nx 1 2\n40 1\n40 1 1\n40 -1 2\n40 1 z\n0 1 2\n",
			want: []importer.Meeting{{I: 1, J: 2, Start: 20, End: 40, Line: 1}},
			bad:  []string{"3:t", "4:", "5:j", "6:i", "7:j", "8:t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pf, err := importer.ParseSocioPatterns(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got, bad := pf.Meetings, pf.Rejections
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("meetings\n got %+v\nwant %+v", got, tc.want)
			}
			var b []string
			for _, r := range bad {
				b = append(b, strconv.Itoa(r.Line)+":"+r.Field)
			}
			if !reflect.DeepEqual(b, tc.bad) {
				t.Fatalf("rejections %v, want %v", b, tc.bad)
			}
		})
	}
}

// TestImportSocioPatterns: badges become id:N, merged meetings become
// encounters signed by the registered device and show up as contacts of
// both persons; importing the same file again changes nothing.
func TestImportSocioPatterns(t *testing.T) {
	t.Parallel()
	h, n := testnode.New(t)
	start := time.Date(2020, 1, 20, 8, 0, 0, 0, time.UTC)
	file := "40 7 9\n60 9 7\n80 7 9\n200 7 11\nbad line\n"
	im := importer.New(h, importer.EngineSink{Node: n})
	res, err := im.ImportSocioPatterns(strings.NewReader(file), importer.SocioPatterns{Start: start, Device: importer.SocioPatternsDevice("/data/tij_ward.dat")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 || res.Rejected != 1 || res.Rejections[0].Line != 5 {
		t.Fatalf("result %+v, want 3 accepted (device, 2 encounters), line 5 rejected", res)
	}
	cs, err := n.Query.Contacts(n.Pseud.Person("7"), start.Unix(), start.Unix()+3600, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := []trace.Contact{
		{Person: n.Pseud.Person("9"), Site: "sociopatterns-ward", SiteKind: trace.EncounterKind, From: start.Unix() + 20, To: start.Unix() + 80, Via: trace.EncounterVia},
		{Person: n.Pseud.Person("11"), Site: "sociopatterns-ward", SiteKind: trace.EncounterKind, From: start.Unix() + 180, To: start.Unix() + 200, Via: trace.EncounterVia},
	}
	trace.SortContacts(want)
	for i := range cs {
		cs[i].TxID, cs[i].CaseTxID = [32]byte{}, [32]byte{}
	}
	if !reflect.DeepEqual(cs, want) {
		t.Fatalf("contacts of id:7\n got %+v\nwant %+v", cs, want)
	}
	if id, ok, err := n.RealID(testnode.Receipt(t, n), n.Pseud.Person("11")); err != nil || !ok || id != "11" {
		t.Fatalf("vault: %q %v %v", id, ok, err)
	}
	again, err := im.ImportSocioPatterns(strings.NewReader(file), importer.SocioPatterns{Start: start, Device: "sociopatterns-ward"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Accepted != 0 || again.Rejected != 4 || again.Lines != 5 || again.Rejections[0].Code != "replay" || again.Rejections[2].Code != "replay" {
		t.Fatalf("second import %+v, want the device and both encounters replays", again)
	}
}

func TestSocioPatternsDevice(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"../shared/data/sociopatterns/hospital/tij_hospital.dat": "sociopatterns-hospital",
		"contacts.txt": "sociopatterns-contacts",
		"-":            "sociopatterns",
		// Cut at record.MaxSiteIDLen (64) bytes, at a character boundary (a
		// 3-byte character straddles byte 64).
		strings.Repeat("病", 60) + ".dat": "sociopatterns-" + strings.Repeat("病", 16),
	} {
		if got := importer.SocioPatternsDevice(in); got != want {
			t.Errorf("SocioPatternsDevice(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestImportSocioPatternsHospital loads the real hospital ward data (75
// badges, 32,424 lines over four days) and checks that every merged
// meeting is on the ledger. Skipped when the data folder is absent.
func TestImportSocioPatternsHospital(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "..", "shared", "data", "sociopatterns", "hospital", "tij_hospital.dat")
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skip("SocioPatterns data not present at " + path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := importer.ParseSocioPatterns(f)
	if err != nil || len(pf.Rejections) != 0 || pf.Lines != 32424 {
		t.Fatalf("parse: %v, %+v", err, pf)
	}
	ms := pf.Meetings
	f.Seek(0, 0)
	h, n := testnode.New(t)
	began := time.Now()
	res, err := importer.New(h, importer.EngineSink{Node: n}).ImportSocioPatterns(f, importer.SocioPatterns{Start: time.Date(2010, 12, 6, 13, 0, 0, 0, time.UTC), Device: "sociopatterns-hospital"})
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(began)
	if res.Rejected != 0 || res.Accepted != len(ms)+1 {
		t.Fatalf("accepted %d rejected %d (%v), want %d meetings and the device", res.Accepted, res.Rejected, res.Rejections[:min(3, len(res.Rejections))], len(ms))
	}
	t.Logf("hospital: 32424 lines -> %d encounters in %s (%.0f/s)", len(ms), el.Round(time.Millisecond), float64(len(ms))/el.Seconds())
}
