package cli_test

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
)

// TestCheckCarried: tx check of an intel_summary checks what it carries,
// offline: a national broadcast in a national block, linked to the block
// the carrying chain anchored, signed for the national chain; a carried
// transaction not in its block, a broken link or a signature for another
// chain is INVALID.
func TestCheckCarried(t *testing.T) {
	_, n1, _ := ed25519.GenerateKey(nil)
	confirm := func(chain string) *ledger.Tx {
		tx := ledger.NewTx(&ledger.IntelConfirm{Of: ledger.Hash{1}, Broadcast: true, Digest: ledger.IntelDigest{Origin: "nanjing", Record: ledger.Hash{2},
			Time: 1626775200, Region: "320115", Dimension: "epidemic", Level: 1, Secrecy: "internal", Confirmed: 9}})
		tx.Sign(chain, n1)
		return tx
	}
	// summary carries inner, a leaf of national block 7 (with another
	// leaf), linked by block 8.
	summary := func(inner *ledger.Tx, tamper func(*ledger.IntelSummary)) []byte {
		leaves := []ledger.Hash{ledger.LeafHash([]byte("another")), ledger.LeafHash(inner.Bytes())}
		h7 := ledger.Header{Version: 1, Height: 7, PrevHash: ledger.Hash{7}, Time: 1626775300e9, ChainID: "national", Region: "000000", MerkleRoot: ledger.MerkleRoot(leaves)}
		h8 := ledger.Header{Version: 1, Height: 8, PrevHash: h7.Hash(), Time: 1626775301e9, ChainID: "national", Region: "000000"}
		b := &ledger.IntelSummary{From: "national", Header: h7.Bytes(), Tx: inner.Bytes(), Index: 1, Size: 2, Path: []ledger.Hash{leaves[0]}, Links: [][]byte{h8.Bytes()}}
		if tamper != nil {
			tamper(b)
		}
		tx := ledger.NewTx(b)
		tx.Sign("jiangsu", n1)
		// The carrying chain's block: the summary alone.
		hdr := &ledger.Header{Version: 1, Height: 3, PrevHash: ledger.Hash{3}, Time: 1626775400e9, ChainID: "jiangsu", Region: "320000",
			MerkleRoot: ledger.MerkleRoot([]ledger.Hash{ledger.LeafHash(tx.Bytes())}), NumTxs: 1, TxBytes: uint64(len(tx.Bytes()))}
		out, err := json.Marshal(blocks.ProofJSON(&blocks.Proof{TxID: tx.ID(), Tx: tx.Bytes(), Index: 0, Size: 1, Header: hdr}))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	good := confirm("national")
	for _, tc := range []struct {
		name  string
		proof []byte
		want  string
	}{
		{"the broadcast", summary(good, nil), `the national broadcast of record ` + ledger.Hash{2}.String() + ` of chain "nanjing"`},
		{"not in its block", summary(good, func(b *ledger.IntelSummary) { b.Path = []ledger.Hash{{9}} }), "INVALID: level 1: the carried transaction is not in block 7"},
		{"a broken link", summary(good, func(b *ledger.IntelSummary) {
			h := ledger.Header{Version: 1, Height: 9, ChainID: "national", Region: "000000"}
			b.Links = [][]byte{h.Bytes()}
		}), "INVALID: level 1: link 1 does not follow block 7"},
		{"signed for another chain", summary(confirm("jiangsu"), nil), `INVALID: the carried intel_confirm's signatures, for chain "national"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, code := run(t, "tx", "check", writeFile(t, "proof.json", string(tc.proof)))
			if !strings.Contains(out, tc.want) || (code == 0) != strings.HasPrefix(tc.want, "the") {
				t.Errorf("exit %d:\n%s\nwant %q", code, out, tc.want)
			}
		})
	}
}
