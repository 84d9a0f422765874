// Package attest checks, from nothing but the transactions of an answer
// and the places their proofs give them, what the answer says of a
// content's attestations (issue 17, docs/SUPPLY.md "Attestations"): each
// is an attestation of that content by the key that signed it, no key
// twice, in chain order, so that the first is the content's first
// publisher among them. The state machine keeps the same order in its
// store; this is the check anyone can run on an answer (epiledger attest
// check), and the tests hold the two to each other.
package attest

import (
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
)

// Entry is one attestation of an answer: its transaction, proven at leaf
// Index of block Height.
type Entry struct {
	Tx     *ledger.Tx
	Height uint64
	Index  uint64
}

// Check checks that entries are attestations of content, each naming its
// signer, no signer twice, in chain order (by block, then by place in the
// block), and returns the first: the content's first publisher among
// them (nil for no entries). It checks no proof: the caller proved each
// entry in its block.
func Check(content ledger.Hash, entries []Entry) (*ledger.Attestation, error) {
	var first *ledger.Attestation
	signers := map[[32]byte]bool{}
	for i, e := range entries {
		if e.Tx == nil || e.Tx.Body == nil {
			return nil, fmt.Errorf("attestation %d: no transaction", i+1)
		}
		b, ok := e.Tx.Body.(*ledger.Attestation)
		switch {
		case !ok || len(e.Tx.Sigs) != 1:
			return nil, fmt.Errorf("attestation %d: transaction %s is a %s, not an attestation", i+1, e.Tx.ID().String()[:16], e.Tx.Body.Kind())
		case b.Content != content:
			return nil, fmt.Errorf("attestation %d: transaction %s attests another content", i+1, e.Tx.ID().String()[:16])
		case b.By != e.Tx.Sigs[0].Key:
			return nil, fmt.Errorf("attestation %d: transaction %s names another key than its signer's", i+1, e.Tx.ID().String()[:16])
		case signers[b.By]:
			return nil, fmt.Errorf("attestation %d: its key attested the content before (a chain keeps one per key)", i+1)
		case i > 0 && !before(entries[i-1], e):
			return nil, fmt.Errorf("attestation %d: out of chain order (block %d leaf %d after block %d leaf %d)", i+1, e.Height, e.Index, entries[i-1].Height, entries[i-1].Index)
		}
		signers[b.By] = true
		if first == nil {
			first = b
		}
	}
	return first, nil
}

// before reports whether a comes before b on the chain.
func before(a, b Entry) bool {
	return a.Height < b.Height || a.Height == b.Height && a.Index < b.Index
}
