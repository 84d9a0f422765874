package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestImportLongLine: a line over 1 MiB is one refused line, named, and
// the lines after it are imported (it once stopped the import with exit 1
// and no counts, the lines before it already committed).
func TestImportLongLine(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", dir)
	text := `{"type":"site","site":"s1","kind":"shop","lat":30.5,"lon":114.3}
{"type":"visit","site":"s1","person":"id:P1","in":"2020-01-20T09:00:00+08:00","out":"2020-01-20T09:30:00+08:00"}
{"type":"visit","note":"` + strings.Repeat("a", 2<<20) + `"}
{"type":"visit","site":"s1","person":"id:P2","in":"2020-01-20T09:00:00+08:00","out":"2020-01-20T09:30:00+08:00"}` // no final newline
	out := mustRun(t, "import", "--home", dir, "-q", writeFile(t, "long.ndjson", text))
	if !strings.HasPrefix(out, "4 lines: 3 accepted, 1 rejected") || !strings.Contains(out, "line 3: invalid: line: longer than 1048576 bytes") {
		t.Errorf("import with a long line:\n%s", out)
	}
}
