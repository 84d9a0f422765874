package blocks

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
)

// PersonChainView is a person's chain for a period, with everything needed
// to verify it offline: the consecutive person blocks from the first whose
// window overlaps the period to the last, each block of the period with
// its exact bytes and, for every entry, the transaction's inclusion proof
// in its ledger block (with the block header), plus, for records that name
// the person by an alias, the proof of the authority's transaction binding
// that alias to the person. The chain's blocks just before and just after
// these (when they exist) and any block between them whose window lies
// outside the period (a late record's block, sealed when it arrived) come
// by their header alone: enough to check the links, not their records.
type PersonChainView struct {
	Person    string            `json:"person"`
	Pseudonym string            `json:"pseudonym"`
	From      string            `json:"from"`
	To        string            `json:"to"`
	Blocks    []PersonBlockView `json:"blocks"`
	Bindings  []ProofView       `json:"bindings"`
	// Before is the person block that Blocks[0] links to (seq one less),
	// by its header; absent when Blocks[0] is the chain's first (seq 0) or
	// there is no block.
	Before *PersonBlockView `json:"before,omitempty"`
	// After is the person block that links to the last of Blocks (seq one
	// more), by its header; absent when the last of Blocks was the chain's
	// last when the view was read.
	After *PersonBlockView `json:"after,omitempty"`
	// ChainLength is the number of blocks of the person's chain when the
	// view was read (the same scan of the chain as Blocks).
	ChainLength uint64 `json:"chain_length"`
	// Note says why a chain holds no person block (the window, when the
	// person's records run); a check of such a chain proves nothing.
	Note string `json:"note,omitempty"`
}

// PersonBlockView is one person block with its entries' proofs; a block
// whose window lies outside the period has its header's bytes only and
// no entries.
type PersonBlockView struct {
	Seq         uint64      `json:"seq"`
	Hash        string      `json:"hash"`
	WindowStart int64       `json:"window_start"`
	WindowEnd   int64       `json:"window_end"`
	Bytes       string      `json:"bytes"`
	Entries     []ProofView `json:"entries"`
}

// Period parses From and To (RFC 3339) into Unix seconds, from <= to.
func (v *PersonChainView) Period() (from, to int64, err error) {
	f, err := time.Parse(time.RFC3339, v.From)
	if err != nil {
		return 0, 0, fmt.Errorf("from: not an RFC 3339 time: %q", v.From)
	}
	t, err := time.Parse(time.RFC3339, v.To)
	if err != nil {
		return 0, 0, fmt.Errorf("to: not an RFC 3339 time: %q", v.To)
	}
	if t.Before(f) {
		return 0, 0, fmt.Errorf("to (%s) is before from (%s)", v.To, v.From)
	}
	return f.Unix(), t.Unix(), nil
}

// InPeriod reports whether a window [start, end) overlaps the period
// [from, to] (the rule by which the node picks a period's blocks).
func InPeriod(start, end, from, to int64) bool { return end > from && start <= to }

// Check verifies the view with nothing else. It returns the number of
// blocks of the period (those given whole) and of entries checked.
//
// It proves, given that the ledger headers in the proofs are the chain's:
//   - From and To are RFC 3339 times, From not after To.
//   - Blocks are blocks s..e of the person's chain, consecutive (strictly
//     increasing seq, no gap, no repeat), each exactly as sealed (its
//     bytes are the stated person's, hash to its stated hash, give its
//     stated seq and window) and each after the first linking to the
//     hash of the one before. Blocks s and e overlap [From, To]; a block
//     between them whose window does not (there are such only where late
//     records were sealed) comes by its header, every other one whole: its entries match its Merkle
//     root, every entry has an inclusion proof that checks against its
//     ledger block header, and every entry's transaction names the
//     person, directly or through an alias whose binding proof is
//     included.
//   - The start: if s is 0, block s links to nothing (the chain's first).
//     Otherwise Before must be block s-1, the block s links to, and lie
//     outside the period: so no block of the period was left out just
//     before s.
//   - The end: After, when given, must be block e+1, linking to block e,
//     outside the period: no block of the period was left out just after
//     e. Without After, the file must say the chain had e+1 blocks
//     (ChainLength) when it was read.
//
// It does not prove, as nothing offline can:
//   - that the ledger headers are the chain's: compare their hashes with
//     headers you trust;
//   - that the chain had no block after e when After is absent:
//     ChainLength is the file's word (no ledger header
//     commits to a person chain's length), so a file cut after any block
//     with ChainLength lowered to match checks; ask the node again for a
//     later or wider period;
//   - that no block of the period lies beyond a late record's block. A
//     late record gets its own block when it arrives, whatever its
//     window, so the chain's windows run in seq order only but for late
//     records' blocks, and blocks of the period can lie beyond a block
//     outside it; a file cut at such a block, shown as Before or After,
//     checks. Without late records, Before outside the period proves the
//     start and After the end (and the node never cuts at such a block:
//     its s and e are the first and the last block overlapping the
//     period);
//   - whether a block of the period was sealed after the file was read (a
//     late record), or anything about the chain before Before or after
//     After.
func (v *PersonChainView) Check() (blocks, entries int, err error) {
	person, err := ledger.ParseHash(v.Pseudonym)
	if err != nil {
		return 0, 0, fmt.Errorf("pseudonym: %w", err)
	}
	from, to, err := v.Period()
	if err != nil {
		return 0, 0, err
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
	if len(v.Blocks) == 0 {
		if v.Before != nil || v.After != nil {
			return 0, 0, fmt.Errorf("a block before or after the period, and none of it")
		}
		return 0, 0, nil
	}
	c := chainCheck{person: ledger.Pseudonym(person), from: from, to: to}
	var prev *ledger.PersonBlock
	last := len(v.Blocks) - 1
	for i := range v.Blocks {
		bv := &v.Blocks[i]
		where := fmt.Sprintf("blocks[%d]", i)
		pb, headerOnly, err := c.decode(where, bv)
		if err != nil {
			return blocks, entries, err
		}
		var link ledger.Hash // the chain's first block links to nothing
		switch {
		case prev != nil:
			if pb.Seq != prev.Seq+1 {
				return blocks, entries, fmt.Errorf("%s: block %d follows block %d: the blocks must be the chain's, consecutive and in order", where, pb.Seq, prev.Seq)
			}
			link = prev.Hash()
		case pb.Seq > 0:
			if v.Before == nil {
				return blocks, entries, fmt.Errorf("%s: block %d is not the chain's first, and the block before it is missing (before)", where, pb.Seq)
			}
			before, err := c.outside("before", v.Before)
			if err != nil {
				return blocks, entries, err
			}
			if before.Seq != pb.Seq-1 || before.Hash() != pb.PrevHash {
				return blocks, entries, fmt.Errorf("before: not the block that block %d links to", pb.Seq)
			}
			link = before.Hash()
		case v.Before != nil:
			return blocks, entries, fmt.Errorf("before: block 0 is the chain's first, nothing is before it")
		}
		in := InPeriod(pb.WindowStart, pb.WindowEnd, from, to)
		if !in && (i == 0 || i == last) {
			return blocks, entries, fmt.Errorf("%s: block %d's window (%s) lies outside the period %s to %s", where, pb.Seq, window(pb), v.From, v.To)
		}
		if !in {
			// A late record's block between blocks of the period: its
			// header links the chain; its records are not the period's.
			if !headerOnly || len(bv.Entries) > 0 {
				return blocks, entries, fmt.Errorf("%s: block %d lies outside the period: give its header only", where, pb.Seq)
			}
			if pb.PrevHash != link {
				return blocks, entries, fmt.Errorf("%s: person block %d: does not link to the previous person block", where, pb.Seq)
			}
			prev = pb
			continue
		}
		if len(pb.Entries) != int(pb.Count) {
			return blocks, entries, fmt.Errorf("%s: block %d of the period without its entries", where, pb.Seq)
		}
		if err := pb.Check(link); err != nil {
			return blocks, entries, fmt.Errorf("%s: %w", where, err)
		}
		if len(bv.Entries) != len(pb.Entries) {
			return blocks, entries, fmt.Errorf("%s: %d entries, %d proofs", where, len(pb.Entries), len(bv.Entries))
		}
		for j, ev := range bv.Entries {
			p, err := ev.Proof()
			if err == nil {
				err = p.Check()
			}
			if err != nil {
				return blocks, entries, fmt.Errorf("%s.entries[%d]: %w", where, j, err)
			}
			if p.TxID != pb.Entries[j] {
				return blocks, entries, fmt.Errorf("%s.entries[%d]: proof of another transaction", where, j)
			}
			tx, _ := ledger.DecodeTx(p.Tx)
			ref, ok := personRef(tx)
			if !ok || !(ref.Alias && aliases[ref.Ref] || !ref.Alias && ref.Ref == ledger.Pseudonym(person)) {
				return blocks, entries, fmt.Errorf("%s.entries[%d]: the record does not name this person", where, j)
			}
			entries++
		}
		prev = pb
		blocks++
	}
	if v.After == nil {
		if prev.Seq+1 != v.ChainLength {
			return blocks, entries, fmt.Errorf("the file says the chain had %d blocks, and shows none after block %d (after)", v.ChainLength, prev.Seq)
		}
		return blocks, entries, nil
	}
	after, err := c.outside("after", v.After)
	if err != nil {
		return blocks, entries, err
	}
	if after.Seq != prev.Seq+1 || after.PrevHash != prev.Hash() {
		return blocks, entries, fmt.Errorf("after: not the block that links to block %d", prev.Seq)
	}
	if after.Seq >= v.ChainLength {
		return blocks, entries, fmt.Errorf("after: block %d, but the file says the chain had %d blocks", after.Seq, v.ChainLength)
	}
	return blocks, entries, nil
}

// chainCheck holds what every block of a view is checked against.
type chainCheck struct {
	person   ledger.Pseudonym
	from, to int64
}

// decode decodes a block of the view, whole or its header alone
// (headerOnly: a block without entries is both), and checks that it is
// the person's and that its stated
// seq, hash and window are its bytes'.
func (c *chainCheck) decode(where string, bv *PersonBlockView) (pb *ledger.PersonBlock, headerOnly bool, err error) {
	raw, err := base64.StdEncoding.DecodeString(bv.Bytes)
	if err != nil {
		return nil, false, fmt.Errorf("%s.bytes: not base64", where)
	}
	if pb, err = ledger.DecodePersonBlockHeader(raw); err == nil {
		headerOnly = true
	} else if pb, err = ledger.DecodePersonBlock(raw); err != nil {
		return nil, false, fmt.Errorf("%s: %w", where, err)
	}
	switch {
	case pb.Person != c.person:
		return nil, false, fmt.Errorf("%s: another person's block", where)
	case pb.Hash().String() != bv.Hash || pb.Seq != bv.Seq:
		return nil, false, fmt.Errorf("%s: does not hash to its stated hash", where)
	case pb.WindowStart != bv.WindowStart || pb.WindowEnd != bv.WindowEnd:
		return nil, false, fmt.Errorf("%s: window_start/window_end are not those of its bytes (%s)", where, window(pb))
	case pb.WindowEnd <= pb.WindowStart:
		return nil, false, fmt.Errorf("%s: person block %d: empty window", where, pb.Seq)
	}
	return pb, headerOnly, nil
}

// outside decodes the block before or after the period: its header only,
// the person's, outside the period.
func (c *chainCheck) outside(where string, bv *PersonBlockView) (*ledger.PersonBlock, error) {
	pb, headerOnly, err := c.decode(where, bv)
	if err != nil {
		return nil, err
	}
	if !headerOnly || len(bv.Entries) > 0 {
		return nil, fmt.Errorf("%s: give the header only", where)
	}
	if InPeriod(pb.WindowStart, pb.WindowEnd, c.from, c.to) {
		return nil, fmt.Errorf("%s: block %d's window (%s) lies in the period: it is one of the period's blocks", where, pb.Seq, window(pb))
	}
	return pb, nil
}

func window(pb *ledger.PersonBlock) string {
	return time.Unix(pb.WindowStart, 0).UTC().Format(time.RFC3339) + " to " + time.Unix(pb.WindowEnd, 0).UTC().Format(time.RFC3339)
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
