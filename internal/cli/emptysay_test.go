package cli_test

import (
	"strings"
	"testing"
)

// TestEmptyTablesSayWhy: sources with nothing common to the cases and
// decisions with no window in conflict say so in words, not with an empty
// table or a bare 0 (new-user pass, issue 12).
func TestEmptyTablesSayWhy(t *testing.T) {
	t.Parallel()
	dir := outbreakHome(t)
	out := mustRun(t, "trace", "sources", "--home", dir, "--person", "id:420100199001010008", "--person", "id:420100199001010001")
	if !strings.Contains(out, "Common exposures of the 2 cases: 0 sites, 1 persons") || strings.Contains(out, "SITE  KIND") || !strings.Contains(out, "PERSON  ") {
		t.Errorf("sources with no common site prints no empty site table:\n%s", out)
	}
	out = mustRun(t, "validate", "decisions", "--home", dir, "--person", "id:420100199001010002")
	if !strings.Contains(out, ": 0\n") || !strings.Contains(out, "No window of this period had records in conflict") {
		t.Errorf("decisions with none:\n%s", out)
	}
}
