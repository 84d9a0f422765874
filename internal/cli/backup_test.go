package cli_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/backup"
)

// TestBackupRestore: a running node's store, copied with `epiledger
// backup`, restored with `epiledger restore` into a home rebuilt from the
// first one's keys, config and genesis, verifies and serves the same
// answers; the restored node starts (the acked head is the backup's). A
// second backup into the same directory, a restore into a home that has
// a store, or of another chain's backup, is refused; so is a stream whose
// entries leave data/, or that is cut short.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "home")
	mustRun(t, "init", "--home", dir)
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", world))
	q := []string{"trace", "contacts", "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20"}
	want := mustRun(t, append(q, "--home", dir)...)
	url, stop := startNode(t, dir)
	out := filepath.Join(root, "b1")
	got := mustRun(t, "backup", "--home", dir, "--node", url, "--out", out)
	if !strings.Contains(got, "backup of ") || !strings.Contains(got, " at block ") {
		t.Errorf("backup: %s", got)
	}
	if _, errs, code := run(t, "backup", "--home", dir, "--node", url, "--out", out); code != 1 || !strings.Contains(errs, "is not empty") {
		t.Errorf("a second backup into the same directory: exit %d %s", code, errs)
	}
	stop()

	// A home rebuilt from the keys, config and genesis: no store.
	re := filepath.Join(root, "restored")
	for _, name := range []string{"keys", "keystore", "config.toml", "genesis.json"} {
		copyTree(t, filepath.Join(dir, name), filepath.Join(re, name))
	}
	got = mustRun(t, "restore", "--home", re, "--from", out)
	if !strings.Contains(got, "restored ") || !strings.Contains(got, "ok: ") {
		t.Fatalf("restore: %s", got)
	}
	if again := mustRun(t, append(q, "--home", re)...); again != want {
		t.Errorf("the restored node answers\n%s\nthe original\n%s", again, want)
	}
	url2, stop2 := startNode(t, re)
	if viaNode := mustRun(t, append(q, "--home", re, "--node", url2)...); viaNode != want {
		t.Errorf("the restored node, running, answers\n%s", viaNode)
	}
	stop2()
	if _, errs, code := run(t, "restore", "--home", re, "--from", out); code != 1 || !strings.Contains(errs, "already has a store") {
		t.Errorf("a restore into a home with a store: exit %d %s", code, errs)
	}
	other := filepath.Join(root, "other")
	mustRun(t, "init", "--home", other)
	os.RemoveAll(filepath.Join(other, "data"))
	if _, errs, code := run(t, "restore", "--home", other, "--from", out); code != 1 || !strings.Contains(errs, "this backup is of chain") {
		t.Errorf("another chain's backup: exit %d %s", code, errs)
	}

	// Streams that are not backups.
	man, err := backup.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	good := func(extra func(tw *tar.Writer)) []byte {
		var b bytes.Buffer
		if err := backup.Write(&b, filepath.Join(out, "data"), man); err != nil {
			t.Fatal(err)
		}
		if extra == nil {
			return b.Bytes()
		}
		// Rewrite with an extra entry before the end.
		var w bytes.Buffer
		tr, tw := tar.NewReader(&b), tar.NewWriter(&w)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			tw.WriteHeader(h)
			io.Copy(tw, tr)
		}
		extra(tw)
		tw.Close()
		return w.Bytes()
	}
	evil := func(name string) func(*tar.Writer) {
		return func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: 1})
			tw.Write([]byte{1})
		}
	}
	full := good(nil)
	for i, tc := range []struct {
		name   string
		stream []byte
		want   string
	}{
		{"a path out of data/", good(evil("data/../../escape")), "not a file of the store"},
		{"an absolute path", good(evil("/tmp/escape")), "not a file of the store"},
		{"a file more than the manifest", good(evil("data/extra")), "more files or bytes"},
		{"cut short", full[:len(full)/2], "the stream was cut"},
		{"no manifest", []byte("not a tar stream at all, not at all, no"), "no manifest"},
	} {
		d := filepath.Join(root, "x", string(rune('a'+i)))
		if _, err := backup.Extract(bytes.NewReader(tc.stream), d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "escape")); err == nil {
		t.Error("an entry escaped the backup's directory")
	}
}

// copyTree copies a file or a directory tree.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Dir(dst), 0o700)
		return os.WriteFile(dst, b, fi.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
}
