package state

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

func filled(b byte) (p [32]byte) {
	for i := range p {
		p[i] = b + byte(i)
	}
	return p
}

var (
	sampleSites = []*Site{
		{},
		{ID: "shop", Num: 3, Kind: "shop", Name: "Corner shop", LatE6: 30_590_000, LonE6: 114_300_000, Region: "420100", Key: filled(1)},
		{ID: "carriage-7", Num: math.MaxUint32, Kind: "train_carriage", Name: "G79 car 7 — 二等座", LatE6: -90e6, LonE6: -180e6,
			Region: "110000", Parent: "train-G79", Key: filled(200)},
		{ID: strings.Repeat("x", 255), Name: strings.Repeat("n", 255), LatE6: math.MinInt32, LonE6: math.MaxInt32},
	}
	samplePresences = []*Presence{
		{},
		{Kind: PresenceVisit, Site: 3, Person: filled(9), In: 1_580_000_000, Out: 1_580_003_600, Via: "qr", Role: "customer", TxID: filled(40)},
		{Kind: PresenceMove, Site: 1, Site2: 2, Person: filled(250), In: -1, Out: math.MaxInt64, Via: "train", TxID: filled(7)},
		{Kind: 255, Site: math.MaxUint32, Site2: math.MaxUint32, In: math.MinInt64, Out: math.MinInt64,
			Via: strings.Repeat("v", 255), Role: strings.Repeat("r", 255)},
	}
	sampleCases = []*Case{
		{},
		{Person: filled(3), Status: "confirmed", Onset: "2020-01-20", Reported: 1_580_000_000, By: "hosp", TxID: filled(99)},
		{Person: filled(128), Status: "deceased", Reported: math.MinInt64, By: strings.Repeat("b", 255), TxID: filled(255)},
	}
)

// TestRecordsRoundTrip checks decode(encode(v)) == v for each record type.
func TestRecordsRoundTrip(t *testing.T) {
	t.Parallel()
	for i, s := range sampleSites {
		got, err := DecodeSite(encodeSite(s))
		want := *s
		if err != nil || !reflect.DeepEqual(got, want.withGeometry()) {
			t.Errorf("site %d: DecodeSite(encodeSite(v)) = %+v, %v; want %+v", i, got, err, s)
		}
	}
	for i, p := range samplePresences {
		got, err := DecodePresence(encodePresence(p))
		if err != nil || *got != *p {
			t.Errorf("presence %d: DecodePresence(encodePresence(v)) = %+v, %v; want %+v", i, got, err, p)
		}
	}
	for i, c := range sampleCases {
		got, err := DecodeCase(encodeCase(c))
		if err != nil || *got != *c {
			t.Errorf("case %d: DecodeCase(encodeCase(v)) = %+v, %v; want %+v", i, got, err, c)
		}
	}
}

// TestRecordsRejectDamage feeds each decoder truncated, extended and
// invalid-UTF-8 encodings and expects store.ErrCorrupt.
func TestRecordsRejectDamage(t *testing.T) {
	t.Parallel()
	site := encodeSite(sampleSites[1])
	pres := encodePresence(samplePresences[1])
	cas := encodeCase(sampleCases[1])
	badUTF8 := func(b []byte, at int) []byte {
		b = bytes.Clone(b)
		b[at] = 0xff
		return b
	}
	decoders := map[string]func([]byte) error{
		"site":     func(b []byte) error { _, err := DecodeSite(b); return err },
		"presence": func(b []byte) error { _, err := DecodePresence(b); return err },
		"case":     func(b []byte) error { _, err := DecodeCase(b); return err },
	}
	cases := []struct {
		name    string
		decoder string
		in      []byte
	}{
		{name: "site_empty", decoder: "site", in: nil},
		{name: "site_missing_last_byte", decoder: "site", in: site[:len(site)-1]},
		{name: "site_extra_zero_byte", decoder: "site", in: append(bytes.Clone(site), 0)},
		{name: "site_id_0xff", decoder: "site", in: badUTF8(site, 5)}, // first byte of the id "shop"
		{name: "site_id_length_255", decoder: "site", in: append(append([]byte{}, site[:4]...), append([]byte{255}, site[5:]...)...)},
		{name: "presence_empty", decoder: "presence", in: nil},
		{name: "presence_missing_last_byte", decoder: "presence", in: pres[:len(pres)-1]},
		{name: "presence_extra_zero_byte", decoder: "presence", in: append(bytes.Clone(pres), 0)},
		{name: "presence_via_0xff", decoder: "presence", in: badUTF8(pres, 1+4+4+32+8+8+1)},
		{name: "case_empty", decoder: "case", in: nil},
		{name: "case_missing_last_byte", decoder: "case", in: cas[:len(cas)-1]},
		{name: "case_extra_zero_byte", decoder: "case", in: append(bytes.Clone(cas), 0)},
		{name: "case_status_0xff", decoder: "case", in: badUTF8(cas, 33)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := decoders[tc.decoder](tc.in); !errors.Is(err, store.ErrCorrupt) {
				t.Errorf("decode = %v, want store.ErrCorrupt", err)
			}
		})
	}
}

func FuzzDecodeSite(f *testing.F) {
	for _, s := range sampleSites {
		b := encodeSite(s)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSite(b)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("DecodeSite error %v is not store.ErrCorrupt", err)
			}
			return
		}
		if got := encodeSite(s); !bytes.Equal(got, b) {
			t.Fatalf("encodeSite(DecodeSite(b)) = %x, want %x", got, b)
		}
	})
}

func FuzzDecodePresence(f *testing.F) {
	for _, p := range samplePresences {
		b := encodePresence(p)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePresence(b)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("DecodePresence error %v is not store.ErrCorrupt", err)
			}
			return
		}
		if got := encodePresence(p); !bytes.Equal(got, b) {
			t.Fatalf("encodePresence(DecodePresence(b)) = %x, want %x", got, b)
		}
		// DecodePresenceInto must overwrite every field of a used value.
		q := Presence{Kind: 9, Site: 9, Site2: 9, Person: ledger.Pseudonym(filled(9)), In: 9, Out: 9, Via: "x", Role: "y", TxID: filled(9)}
		if err := DecodePresenceInto(b, &q); err != nil || q != *p {
			t.Fatalf("DecodePresenceInto into a used value = %+v, %v; want %+v", q, err, *p)
		}
		// DecodePresenceBytes (the timeline's) reads the same fields.
		var c PresenceCore
		via, role, err := DecodePresenceBytes(b, &c)
		if err != nil || string(via) != p.Via || string(role) != p.Role ||
			c != (PresenceCore{Kind: p.Kind, Site: p.Site, Person: p.Person, In: p.In, Out: p.Out, TxID: p.TxID, Status: p.Status}) {
			t.Fatalf("DecodePresenceBytes = %+v %q %q %v; want %+v", c, via, role, err, *p)
		}
	})
}

func FuzzDecodeEncounter(f *testing.F) {
	e := &Encounter{Person: ledger.Pseudonym(filled(1)), Other: ledger.Pseudonym(filled(2)), Device: 7, Start: 1_580_000_000, End: 1_580_000_600, DistanceCM: 150, TxID: filled(3)}
	k := store.EncounterKey(e.Person, e.Start, e.TxID)
	b := encodeEncounter(e)
	f.Add(k, b)
	f.Add(k, b[:len(b)/2])
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, k, b []byte) {
		var got Encounter
		if err := DecodeEncounterInto(k, b, &got); err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("DecodeEncounterInto error %v is not store.ErrCorrupt", err)
			}
			return
		}
		if enc := encodeEncounter(&got); !bytes.Equal(enc, b) {
			t.Fatalf("encodeEncounter(DecodeEncounterInto(b)) = %x, want %x", enc, b)
		}
	})
}

func FuzzDecodeCase(f *testing.F) {
	for _, c := range sampleCases {
		b := encodeCase(c)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCase(b)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("DecodeCase error %v is not store.ErrCorrupt", err)
			}
			return
		}
		if got := encodeCase(c); !bytes.Equal(got, b) {
			t.Fatalf("encodeCase(DecodeCase(b)) = %x, want %x", got, b)
		}
	})
}
