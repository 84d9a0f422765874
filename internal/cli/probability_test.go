package cli_test

import (
	"strings"
	"testing"
)

// TestProbabilityFlags: the q and z the API refuses, the CLI refuses with
// the flag named (--q NaN once printed a table of NaN; --z 2000000000
// never returned).
func TestProbabilityFlags(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ args, want string }{
		{"--q NaN", "--q: must be a probability in (0, 1)"},
		{"--q 1e-400", "--q: must be a probability in (0, 1)"},
		{"--q 0.1x", "--q: must be a probability in (0, 1)"},
		{"--z 2000000000", "--z: must be N or N..M with 0 <= N <= M <= 100000"},
		{"--z 0..10000", "--z: at most 10000 rows"},
		{"--z 1..x", "--z: must be N or N..M (whole numbers)"},
	} {
		out, errs, code := run(t, append([]string{"validate", "probability"}, strings.Fields(c.args)...)...)
		if code != 1 || out != "" || !strings.Contains(errs, "epiledger: error: "+c.want) || !strings.Contains(errs, "hint: e.g. --q 0.1 --z 1..10") {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s", c.args, code, out, errs)
		}
	}
	if out := mustRun(t, "validate", "probability", "--q", "0.45", "--z", "10000"); !strings.Contains(out, "10000  0.0000000\n") {
		t.Errorf("z = 10000: %s", out)
	}
}
