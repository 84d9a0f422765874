package store_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/epiledger/epiledger/internal/store"
)

func TestParseAckedHead(t *testing.T) {
	t.Parallel()
	good := store.MarshalAckedHead(store.AckedHead{Height: 30000, Hash: [32]byte{1, 2, 3}})
	flipped := bytes.Clone(good)
	flipped[len("epiledger/v1/acked-head 3")] ^= 0x01 // 30000 -> 20000
	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"well formed", good, true},
		{"zero", store.MarshalAckedHead(store.AckedHead{}), true},
		{"empty", nil, false},
		{"no newline", good[:len(good)-1], false},
		{"height bit flipped", flipped, false},
		{"truncated", good[:40], false},
		{"extra line", append(bytes.Clone(good), good...), false},
		{"other label", bytes.Replace(good, []byte("v1"), []byte("v2"), 1), false},
		{"leading zero height", bytes.Replace(good, []byte(" 30000 "), []byte(" 030000 "), 1), false},
		{"upper-case hash", bytes.ToUpper(good), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := store.ParseAckedHead(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseAckedHead(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, store.ErrCorrupt) || h != (store.AckedHead{}) {
					t.Fatalf("refusal %v with %+v, want ErrCorrupt and nothing usable", err, h)
				}
				return
			}
			if got := store.MarshalAckedHead(h); !bytes.Equal(got, tc.in) {
				t.Fatalf("re-encoded %q, want %q", got, tc.in)
			}
		})
	}
}

// FuzzParseAckedHead: what parses re-encodes to the exact input.
func FuzzParseAckedHead(f *testing.F) {
	f.Add(store.MarshalAckedHead(store.AckedHead{Height: 1, Hash: [32]byte{9}}))
	f.Add([]byte("epiledger/v1/acked-head 1 00 00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := store.ParseAckedHead(b)
		if err != nil {
			return
		}
		if got := store.MarshalAckedHead(h); !bytes.Equal(got, b) {
			t.Fatalf("Marshal(Parse(%q)) = %q", b, got)
		}
	})
}

// TestHeadFileCrash: a crash at any point keeps the last record whose
// Write returned, never a damaged or missing file.
func TestHeadFileCrash(t *testing.T) {
	t.Parallel()
	fs := vfs.NewCrashableMem()
	if err := fs.MkdirAll("/home", 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := fs.OpenDir("/")
	if err != nil {
		t.Fatal(err)
	}
	root.Sync() // the home exists before its node runs
	root.Close()
	f := store.NewHeadFile(fs, "/home/acked-head")
	if _, ok, err := f.Read(); ok || err != nil {
		t.Fatalf("absent file: ok=%v err=%v", ok, err)
	}
	for i := uint64(1); i <= 20; i++ {
		if err := f.Write(store.AckedHead{Height: i, Hash: [32]byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
		got, ok, err := store.NewHeadFile(fs.CrashClone(vfs.CrashCloneCfg{}), "/home/acked-head").Read()
		if err != nil || !ok || got.Height != i || got.Hash != [32]byte{byte(i)} {
			t.Fatalf("after write %d and a crash: %+v ok=%v err=%v", i, got, ok, err)
		}
	}
}

// TestHeadFileDamaged: a damaged record is refused as corruption, naming
// the file.
func TestHeadFileDamaged(t *testing.T) {
	t.Parallel()
	fs := vfs.NewMem()
	w, _ := fs.Create("/acked-head", vfs.WriteCategoryUnspecified)
	w.Write([]byte("epiledger/v1/acked-head 7 zz\n"))
	w.Close()
	_, _, err := store.NewHeadFile(fs, "/acked-head").Read()
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "/acked-head") {
		t.Fatalf("damaged file: %v", err)
	}
}

// BenchmarkHeadFileWrite is the engine's extra cost per acknowledged group
// of blocks on the real disk: write, fsync, rename, fsync the directory.
func BenchmarkHeadFileWrite(b *testing.B) {
	f := store.NewHeadFile(nil, b.TempDir()+"/acked-head")
	for i := 0; b.Loop(); i++ {
		if err := f.Write(store.AckedHead{Height: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
}
