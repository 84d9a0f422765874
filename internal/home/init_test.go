package home

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestInitRefusesWhatHeadersCannotHold: a chain id or region the ledger
// would not decode in its own headers and sites is refused at init, and no
// home is created.
func TestInitRefusesWhatHeadersCannotHold(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, chainID, region, want string }{
		{"chain_id_65_bytes", strings.Repeat("c", 65), "", "chain id"},
		{"chain_id_control", "chain\n1", "", "chain id"},
		{"chain_id_invalid_utf8", "chain\xff", "", "chain id"},
		{"region_33_bytes", "c", strings.Repeat("4", 33), "region"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "home")
			_, err := Init(dir, InitOptions{ChainID: c.chainID, Region: c.region})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Init: %v, want an error naming %s", err, c.want)
			}
			if _, err := Load(dir); err == nil {
				t.Error("a refused init left a home")
			}
		})
	}
	if _, err := Init(filepath.Join(t.TempDir(), "home"), InitOptions{ChainID: strings.Repeat("c", 64), Region: "420100"}); err != nil {
		t.Errorf("a 64-byte chain id: %v", err)
	}
}
