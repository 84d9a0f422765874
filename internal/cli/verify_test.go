package cli_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/store"
)

// dataDirHash hashes every file of dir, name and contents.
func dataDirHash(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "%s %x\n", e.Name(), sha256.Sum256(b))
	}
	return out.String()
}

// newestFile returns the path of the last file of dir (in name order)
// whose name ends with suffix.
func newestFile(t *testing.T, dir, suffix string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		if strings.HasSuffix(e.Name(), suffix) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		t.Fatalf("no %s file in %s", suffix, dir)
	}
	return filepath.Join(dir, names[len(names)-1])
}

func flipByte(t *testing.T, path string, at func(size int) int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at(len(b))] ^= 0x10
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// flushed moves the store's write-ahead log into tables, as a node does
// as it runs, so that there is a table to damage.
func flushed(t *testing.T, data string) {
	t.Helper()
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyDamagedStore: verify judges the store as it is, without
// changing a byte of it (today it replayed the write-ahead log into
// tables and deleted the log), and a damaged store is FAILED, exit 1,
// naming the damaged file or the missing heights, never a panic (today a
// checksum error printed a 157-line panic, exit 2, and a damaged log
// said "ok").
func TestVerifyDamagedStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, data string) // "" when nothing is damaged
		code   int
		want   []string // in stdout; "FILE" stands for the damaged file
	}{
		{name: "untouched, in the log", code: 0, want: []string{"ok: "}},
		{name: "untouched, in tables", damage: func(t *testing.T, data string) { flushed(t, data) },
			code: 0, want: []string{"ok: "}},
		{name: "table, first block", damage: func(t *testing.T, data string) {
			flushed(t, data)
			flipByte(t, newestFile(t, data, ".sst"), func(int) int { return 100 })
		}, code: 1, want: []string{"FAILED", "FILE", "checksum mismatch"}},
		{name: "table, middle", damage: func(t *testing.T, data string) {
			flushed(t, data)
			flipByte(t, newestFile(t, data, ".sst"), func(n int) int { return n / 2 })
		}, code: 1, want: []string{"FAILED", "FILE"}},
		{name: "log, last record", damage: func(t *testing.T, data string) {
			flipByte(t, newestFile(t, data, ".log"), func(n int) int { return n - 20 })
		}, code: 1, want: []string{"FAILED", "were acknowledged", "is missing", "write-ahead log was damaged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "home")
			mustRun(t, "init", "--home", dir, "--chain-id", "test-1", "--region", "420100")
			mustRun(t, "import", "--home", dir, "-q", writeFile(t, "world.ndjson", world))
			data := filepath.Join(dir, "data")
			want := slices.Clone(tc.want)
			if tc.damage != nil {
				tc.damage(t, data)
				for i, w := range want {
					if w == "FILE" {
						want[i] = newestFile(t, data, ".sst")
					}
				}
			}
			before := dataDirHash(t, data)
			for _, args := range [][]string{{"verify", "--home", dir}, {"verify", "--home", dir, "--replay"}} {
				out, errs, code := run(t, args...)
				if code != tc.code {
					t.Errorf("%s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, tc.code, out, errs)
				}
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("%s: output lacks %q:\n%s", strings.Join(args, " "), w, out)
					}
				}
				if strings.Contains(out+errs, "panic") || strings.Contains(out+errs, "goroutine ") {
					t.Errorf("%s: panicked:\n%s%s", strings.Join(args, " "), out, errs)
				}
				if after := dataDirHash(t, data); after != before {
					t.Errorf("%s changed the store:\nbefore:\n%safter:\n%s", strings.Join(args, " "), before, after)
				}
			}
		})
	}
}
