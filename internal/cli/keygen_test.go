package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeygenNeverOverwrites: keygen once replaced an existing key file
// without a word (a key fixed in a genesis cannot be replaced). A second
// keygen to the same path fails, saying why, and leaves the file as it
// was; --force replaces it, mode 0600.
func TestKeygenNeverOverwrites(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "admin.key")
	pub := strings.TrimSpace(mustRun(t, "keygen", "--out", f))
	before, err := os.ReadFile(f)
	if err != nil || !strings.Contains(string(before), pub) {
		t.Fatalf("key file: %v %s", err, before)
	}
	out, errs, code := run(t, "keygen", "--out", f)
	if code != 1 || out != "" || !strings.Contains(errs, "the file exists; keygen does not overwrite a key") || !strings.Contains(errs, "hint: choose another --out, or add --force") {
		t.Errorf("second keygen: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if after, _ := os.ReadFile(f); !bytes.Equal(after, before) {
		t.Errorf("the key file changed:\n%s\n%s", before, after)
	}
	if help := mustRun(t, "keygen", "--help"); !strings.Contains(help, "--force") || !strings.Contains(help, "never overwrites") {
		t.Errorf("help does not mention --force:\n%s", help)
	}

	os.Chmod(f, 0o644)
	pub2 := strings.TrimSpace(mustRun(t, "keygen", "--out", f, "--force"))
	after, _ := os.ReadFile(f)
	if pub2 == pub || !strings.Contains(string(after), pub2) {
		t.Errorf("--force did not replace the key: %s\n%s", pub2, after)
	}
	if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("replaced key file: %v %v, want mode 0600", st.Mode(), err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(f)); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}
