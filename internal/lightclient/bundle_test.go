package lightclient

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestBundleRoundTrip(t *testing.T) {
	recs := [][]byte{{1, 2, 3}, {1}, bytes.Repeat([]byte{1, 9}, 300)}
	b, err := Bundle(recs)
	if err != nil {
		t.Fatal(err)
	}
	if !IsBundle(b) {
		t.Fatal("not marked a bundle")
	}
	got, err := Unbundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Errorf("record %d differs", i)
		}
	}
}

// TestUnbundleRefuses: only the encoding Bundle writes reads.
func TestUnbundleRefuses(t *testing.T) {
	good, _ := Bundle([][]byte{{1, 2}, {1, 3}})
	count := func(n int) []byte {
		b := []byte{BundleMark, 0, 0}
		binary.BigEndian.PutUint16(b[1:], uint16(n))
		for i := 0; i < n; i++ {
			b = append(b, 0, 0, 0, 1, 1)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"a record, not a bundle", []byte{1, 0, 0}},
		{"mark only", []byte{BundleMark}},
		{"one record", count(1)},
		{"no record", count(0)},
		{"too many records", count(MaxBundle + 1)},
		{"truncated", good[:len(good)-1]},
		{"bytes after the last", append(append([]byte{}, good...), 0)},
		{"an empty record", []byte{BundleMark, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1}},
		{"a nested bundle", []byte{BundleMark, 0, 2, 0, 0, 0, 1, BundleMark, 0, 0, 0, 1, 1}},
		{"a length past the end", []byte{BundleMark, 0, 2, 0xff, 0xff, 0xff, 0xff, 1}},
	} {
		if _, err := Unbundle(tc.b); !errors.Is(err, ErrBundle) {
			t.Errorf("%s: %v, want ErrBundle", tc.name, err)
		}
	}
	if _, err := Unbundle(count(MaxBundle)); err != nil {
		t.Errorf("%d records: %v", MaxBundle, err)
	}
	for _, recs := range [][][]byte{{{1}}, {{1}, {}}, {{1}, {BundleMark}}} {
		if _, err := Bundle(recs); !errors.Is(err, ErrBundle) {
			t.Errorf("Bundle(%v): %v, want ErrBundle", recs, err)
		}
	}
}

// FuzzUnbundle: Unbundle never panics, and what it reads is exactly what
// Bundle writes of the records it read.
func FuzzUnbundle(f *testing.F) {
	good, _ := Bundle([][]byte{{1, 2}, {1, 3}, {1}})
	f.Add(good)
	f.Add([]byte{BundleMark, 0, 2, 0, 0, 0, 1, 1, 0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := Unbundle(b)
		if err != nil {
			return
		}
		again, err := Bundle(recs)
		if err != nil {
			t.Fatalf("read %d records Bundle refuses: %v", len(recs), err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("two encodings of one bundle")
		}
	})
}
