package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitRefusesNonEmpty: init into a directory that holds files but no
// home refuses, names the directory and writes nothing; into a home it
// refuses as already initialised; into a new or empty directory it works.
func TestInitRefusesNonEmpty(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string // in stderr; "" means init succeeds
	}{
		{"new_directory", func(t *testing.T, dir string) {}, ""},
		{"empty_directory", func(t *testing.T, dir string) { mkdir(t, dir) }, ""},
		{"directory_with_a_file", func(t *testing.T, dir string) {
			mkdir(t, dir)
			if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "is not a node home; init writes only into a new or empty directory"},
		{"directory_with_a_subdirectory", func(t *testing.T, dir string) { mkdir(t, filepath.Join(dir, "data")) }, "is not a node home"},
		{"existing_home", func(t *testing.T, dir string) { mustRun(t, "init", "--home", dir) }, "already initialised"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "home")
			c.setup(t, dir)
			before := listing(t, dir)
			out, errs, code := run(t, "init", "--home", dir)
			if c.want == "" {
				if code != 0 || !strings.Contains(out, "initialised "+dir) {
					t.Fatalf("exit %d: %s%s", code, out, errs)
				}
				return
			}
			if code != 1 || !strings.Contains(errs, dir) || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d, want 1 naming %s and %q:\n%s", code, dir, c.want, errs)
			}
			if after := listing(t, dir); after != before {
				t.Errorf("init wrote into %s:\nbefore %s\nafter  %s", dir, before, after)
			}
		})
	}
}

// TestMissingHome: a command given a --home that holds no home says so
// and how to name one, and only then suggests init for a new chain.
func TestMissingHome(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	cases := []struct {
		name string
		dir  string
	}{
		{"no_such_directory", filepath.Join(d, "nope")},
		{"directory_without_a_home", d},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, errs, code := run(t, "trace", "contacts", "--home", c.dir, "--person", "id:1")
			want := "epiledger: error: no home at " + c.dir + ": pass --home DIR (or set EPILEDGER_HOME)\n" +
				"epiledger: hint: to start a new chain there instead: epiledger init --home " + c.dir + "\n"
			if code != 1 || errs != want {
				t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errs, want)
			}
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// listing names every path under dir ("" if dir does not exist).
func listing(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			names = append(names, p)
		}
		return nil
	})
	return strings.Join(names, " ")
}

// TestInitPseudonymSecret (issue 15): init --pseudonym-secret FILE, in
// two regions with one file (64 hex digits, or a key file of keygen),
// makes chains whose genesis files name one pseudonym key, and writes
// keys/pseudonym.key; a file that is missing or does not hold 32 bytes
// fails naming the flag, and init writes nothing.
func TestInitPseudonymSecret(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	keygenFile := filepath.Join(d, "pseudonym.key")
	mustRun(t, "keygen", "--out", keygenFile)
	cases := []struct {
		name string
		file string
		want string // in stderr; "" means init succeeds
	}{
		{"hex_file", writeFile(t, "hex.key", strings.Repeat("5a", 32)+"\n"), ""},
		{"keygen_file", keygenFile, ""},
		{"short_hex", writeFile(t, "short.key", strings.Repeat("5a", 31)), "want 64 hex digits"},
		{"not_hex", writeFile(t, "text.key", "a secret\n"), "want 64 hex digits"},
		{"empty", writeFile(t, "empty.key", ""), "want 64 hex digits"},
		{"missing", filepath.Join(d, "nope.key"), "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.want != "" {
				dir := filepath.Join(t.TempDir(), "home")
				out, errs, code := run(t, "init", "--home", dir, "--pseudonym-secret", c.file)
				if code != 1 || !strings.HasPrefix(errs, "epiledger: error: --pseudonym-secret: ") || !strings.Contains(errs, c.file) || !strings.Contains(errs, c.want) {
					t.Fatalf("exit %d, want 1 naming --pseudonym-secret %s and %q:\n%s%s", code, c.file, c.want, out, errs)
				}
				if l := listing(t, dir); l != "" {
					t.Errorf("init wrote %s", l)
				}
				return
			}
			var keys []string
			for _, reg := range []string{"420100", "320100"} {
				dir := filepath.Join(t.TempDir(), reg)
				out := mustRun(t, "init", "--home", dir, "--region", reg, "--pseudonym-secret", c.file)
				_, key, _ := strings.Cut(out, "pseudonym key ")
				key, _, _ = strings.Cut(key, " ")
				keys = append(keys, key)
				if _, err := os.Stat(filepath.Join(dir, "keys", "pseudonym.key")); err != nil {
					t.Errorf("%s: %v", reg, err)
				}
			}
			plain := filepath.Join(t.TempDir(), "plain")
			out := mustRun(t, "init", "--home", plain, "--region", "420100")
			if len(keys[0]) != 64 || keys[0] != keys[1] || strings.Contains(out, keys[0]) {
				t.Errorf("pseudonym keys %q, want two alike and unlike one made without --pseudonym-secret:\n%s", keys, out)
			}
			if _, err := os.Stat(filepath.Join(plain, "keys", "pseudonym.key")); err == nil {
				t.Error("init without --pseudonym-secret wrote keys/pseudonym.key")
			}
		})
	}
	if help := mustRun(t, "init", "--help"); !strings.Contains(help, "--pseudonym-secret") || !strings.Contains(help, "keys/pseudonym.key") {
		t.Errorf("init --help does not name --pseudonym-secret:\n%s", help)
	}
}
