package consortium_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/consortium"
)

// FuzzParseTxProof: the proof file decoder returns nothing usable when it
// fails; what it parses, Verify checks without panicking, and writes back
// to a file that parses to the same file (Marshal(Parse(b)) is a fixed
// point). Seeds: testdata/fuzz, a proof of a one-validator chain whose
// genesis is testdata/small-genesis.json.
func FuzzParseTxProof(f *testing.F) {
	gb, err := os.ReadFile(filepath.Join("testdata", "small-genesis.json"))
	if err != nil {
		f.Fatal(err)
	}
	g, err := consortium.ParseGenesis(gb)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ours, p, err := consortium.ParseTxProof(b)
		if err != nil {
			if ours != nil || p != nil {
				t.Fatalf("a failed parse returned a proof: %v", err)
			}
			return
		}
		if p != nil {
			consortium.Verify(g, ours, p) //nolint:errcheck // must not panic
		}
		file := write(t, ours, p)
		ours2, p2, err := consortium.ParseTxProof(file)
		if err != nil {
			t.Fatalf("a written proof does not parse: %v\n%s", err, file)
		}
		if again := write(t, ours2, p2); !bytes.Equal(again, file) {
			t.Fatalf("written twice, two files:\n%s\n%s", file, again)
		}
	})
}

func write(t *testing.T, ours *blocks.Proof, p *consortium.Proof) []byte {
	t.Helper()
	out := consortium.TxProof{ProofView: blocks.ProofJSON(ours)}
	if p != nil {
		v, err := consortium.ViewOf(p)
		if err != nil {
			t.Fatal(err)
		}
		out.Consortium = v
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
