package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/sim"
)

// TestCityFiles: a city kept on disk is the city kept in memory: the same
// lines, the same identities, as many signed records, every one of them
// committed by the ingest from the file. A signed file cut short, or with
// a length past any record's, is refused, not ingested in part silently.
func TestCityFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := sim.Config{People: 40, Days: 2, Seed: 3}
	var mem bytes.Buffer
	if _, err := sim.Generate(cfg, ndjson.NewWriter(&mem)); err != nil {
		t.Fatal(err)
	}
	city := filepath.Join(dir, "city.ndjson")
	if _, err := simulateFile(city, cfg); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(city); !bytes.Equal(b, mem.Bytes()) {
		t.Fatal("the city on disk differs from the city in memory")
	}
	ids, err := identitiesIn(city)
	if err != nil {
		t.Fatal(err)
	}
	if want := identities(mem.Bytes()); len(ids) == 0 || !slices.Equal(ids, want) {
		t.Fatalf("identities %d, want %d", len(ids), len(want))
	}

	signedPath := filepath.Join(dir, "signed.bin")
	h, vault, records, err := signedFile(filepath.Join(dir, "home"), city, signedPath)
	if err != nil {
		t.Fatal(err)
	}
	_, c, err := signed(filepath.Join(dir, "mem"), mem.Bytes(), true)
	if err != nil {
		t.Fatal(err)
	}
	if records != len(c.Txs) || len(vault) != len(c.Vault) {
		t.Fatalf("signed %d records and %d vault entries to the file, %d and %d in memory", records, len(vault), len(c.Txs), len(c.Vault))
	}
	n, _, err := ingestFile(h, vault, signedPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Engine.Head().Height; got == 0 {
		t.Fatal("nothing committed")
	}
	stored, err := n.DB.Usage()
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	var txs int64
	for _, u := range stored {
		if u.Table == "tx" {
			txs = u.Keys
		}
	}
	if txs != int64(records) {
		t.Fatalf("the store holds %d transactions, %d were signed", txs, records)
	}

	whole, err := os.ReadFile(signedPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"cut short":    whole[:len(whole)-7],
		"a bad length": append([]byte{0xff, 0xff, 0xff, 0x7f}, whole...),
	} {
		bad := filepath.Join(dir, "bad.bin")
		if err := os.WriteFile(bad, b, 0o600); err != nil {
			t.Fatal(err)
		}
		h2, vault2, _, err := signedFile(filepath.Join(dir, "home-"+strings.ReplaceAll(name, " ", "-")), city, filepath.Join(dir, "unused.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if n, _, err := ingestFile(h2, vault2, bad); err == nil || !strings.Contains(err.Error(), "record") {
			if n != nil {
				n.Close()
			}
			t.Errorf("a signed file %s: %v, want an error naming the record", name, err)
		}
	}
}
