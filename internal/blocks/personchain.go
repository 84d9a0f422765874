package blocks

import (
	"encoding/base64"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
)

// PersonChainView is a person's chain for a period, with everything needed
// to verify it offline: each person block's exact bytes, and for every
// entry the transaction's inclusion proof in its ledger block (with the
// block header), plus, for records that name the person by an alias, the
// proof of the authority's transaction binding that alias to the person.
type PersonChainView struct {
	Person    string            `json:"person"`
	Pseudonym string            `json:"pseudonym"`
	From      string            `json:"from"`
	To        string            `json:"to"`
	Blocks    []PersonBlockView `json:"blocks"`
	Bindings  []ProofView       `json:"bindings"`
	// Note says why a chain holds no person block (the window, when the
	// person's records run); a check of such a chain proves nothing.
	Note string `json:"note,omitempty"`
}

// PersonBlockView is one person block with its entries' proofs.
type PersonBlockView struct {
	Seq         uint64      `json:"seq"`
	Hash        string      `json:"hash"`
	WindowStart int64       `json:"window_start"`
	WindowEnd   int64       `json:"window_end"`
	Bytes       string      `json:"bytes"`
	Entries     []ProofView `json:"entries"`
}

// Check verifies the view with nothing else: every person block decodes,
// is the stated person's, hashes to its stated hash, matches its entries'
// root and links to the block before it in the view; every entry has an
// inclusion proof that checks against its ledger block header; every
// entry's transaction names the person, directly or through an alias whose
// binding proof is included. It returns the number of blocks and entries
// checked. What it cannot know offline is whether the ledger headers are
// the chain's: compare their hashes with headers you trust.
func (v *PersonChainView) Check() (blocks, entries int, err error) {
	person, err := ledger.ParseHash(v.Pseudonym)
	if err != nil {
		return 0, 0, fmt.Errorf("pseudonym: %w", err)
	}
	aliases := map[ledger.Pseudonym]bool{}
	for i, bv := range v.Bindings {
		p, err := bv.Proof()
		if err == nil {
			err = p.Check()
		}
		if err != nil {
			return 0, 0, fmt.Errorf("bindings[%d]: %w", i, err)
		}
		tx, _ := ledger.DecodeTx(p.Tx)
		b, ok := tx.Body.(*ledger.BindIdentity)
		if !ok || b.Person != ledger.Pseudonym(person) {
			return 0, 0, fmt.Errorf("bindings[%d]: not a binding to this person", i)
		}
		for _, a := range b.Aliases {
			aliases[a] = true
		}
	}
	var prev *ledger.PersonBlock
	for i, bv := range v.Blocks {
		raw, err := base64.StdEncoding.DecodeString(bv.Bytes)
		if err != nil {
			return blocks, entries, fmt.Errorf("blocks[%d].bytes: not base64", i)
		}
		pb, err := ledger.DecodePersonBlock(raw)
		if err != nil {
			return blocks, entries, fmt.Errorf("blocks[%d]: %w", i, err)
		}
		if pb.Person != ledger.Pseudonym(person) {
			return blocks, entries, fmt.Errorf("blocks[%d]: another person's block", i)
		}
		if pb.Hash().String() != bv.Hash || pb.Seq != bv.Seq {
			return blocks, entries, fmt.Errorf("blocks[%d]: does not hash to its stated hash", i)
		}
		link := pb.PrevHash
		if prev != nil {
			if pb.Seq == prev.Seq+1 {
				link = prev.Hash()
			}
		}
		if err := pb.Check(link); err != nil {
			return blocks, entries, fmt.Errorf("blocks[%d]: %w", i, err)
		}
		if len(bv.Entries) != len(pb.Entries) {
			return blocks, entries, fmt.Errorf("blocks[%d]: %d entries, %d proofs", i, len(pb.Entries), len(bv.Entries))
		}
		for j, ev := range bv.Entries {
			p, err := ev.Proof()
			if err == nil {
				err = p.Check()
			}
			if err != nil {
				return blocks, entries, fmt.Errorf("blocks[%d].entries[%d]: %w", i, j, err)
			}
			if p.TxID != pb.Entries[j] {
				return blocks, entries, fmt.Errorf("blocks[%d].entries[%d]: proof of another transaction", i, j)
			}
			tx, _ := ledger.DecodeTx(p.Tx)
			ref, ok := personRef(tx)
			if !ok || !(ref.Alias && aliases[ref.Ref] || !ref.Alias && ref.Ref == ledger.Pseudonym(person)) {
				return blocks, entries, fmt.Errorf("blocks[%d].entries[%d]: the record does not name this person", i, j)
			}
			entries++
		}
		prev = pb
		blocks++
	}
	return blocks, entries, nil
}

func personRef(tx *ledger.Tx) (ledger.PersonRef, bool) {
	switch b := tx.Body.(type) {
	case *ledger.Visit:
		return b.Person, true
	case *ledger.Move:
		return b.Person, true
	}
	return ledger.PersonRef{}, false
}
