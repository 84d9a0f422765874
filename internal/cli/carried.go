package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/state"
)

// maxCarried bounds the nesting of intel_summary transactions checked
// offline: a national broadcast reaches a district through three.
const maxCarried = 4

// checkCarried checks offline what an intel_summary carries, level by
// level: each carried transaction is a leaf of the block whose header
// the summary holds, and the linking headers follow that block, one by
// one. It returns a line per level and one for the transaction at the
// bottom (the national N1's broadcast, an N2's confirmation or an access
// grant, with its signers' keys, its signatures checked against its own
// chain). This is how a region proves a broadcast it received: the proof
// of its own intel_summary, which "tx check" ties to its block, leads to
// the national chain's block holding the broadcast; compare that block's
// hash with a national header you trust (GET /v1/blocks/{height} of a
// national node, or an anchor of it you have checked).
func checkCarried(tx *ledger.Tx) ([]string, error) {
	var lines []string
	var chain, block string // the chain and block that hold tx
	for depth := 0; ; depth++ {
		var from, line string
		var raw []byte
		switch b := tx.Body.(type) {
		case *ledger.IntelSummary:
			hdr, err := ledger.DecodeHeader(b.Header)
			if err != nil || hdr.ChainID != b.From {
				return nil, fmt.Errorf("level %d: not a header of chain %q", depth+1, b.From)
			}
			last := hdr
			for i, raw := range b.Links {
				h, err := ledger.DecodeHeader(raw)
				if err != nil || h.ChainID != b.From || h.Height != last.Height+1 || h.PrevHash != last.Hash() {
					return nil, fmt.Errorf("level %d: link %d does not follow block %d of %q", depth+1, i+1, last.Height, b.From)
				}
				last = h
			}
			if err := ledger.VerifyInclusion(b.Tx, b.Index, b.Size, b.Path, hdr.MerkleRoot); err != nil {
				return nil, fmt.Errorf("level %d: the carried transaction is not in block %d of %q: %w", depth+1, hdr.Height, b.From, err)
			}
			from, raw = b.From, b.Tx
			line = fmt.Sprintf("leaf %d of %d in its block %d (hash %s), followed by %d linking header(s) to block %d (hash %s)",
				b.Index, b.Size, hdr.Height, hdr.Hash(), len(b.Links), last.Height, last.Hash())
			block = "block " + hdr.Hash().String()
		case *ledger.IntelSummaryBFT:
			inner, err := ledger.DecodeTx(b.Tx)
			if err != nil {
				return nil, fmt.Errorf("level %d: the carried transaction: %w", depth+1, err)
			}
			cid, err := lightclient.HeaderChainID(b.Header)
			if err != nil {
				return nil, fmt.Errorf("level %d: %w", depth+1, err)
			}
			id := inner.ID()
			a, hash, err := lightclient.VerifyCarried(cid, b.Tx, id[:], state.CarriedProof(b))
			if err != nil {
				return nil, fmt.Errorf("level %d, from chain %q: %w", depth+1, b.From, err)
			}
			from, raw = b.From, b.Tx
			line = fmt.Sprintf("transaction %d of %d of its CometBFT block (chain %s), accepted by the block after, followed by %d header(s) to block %d (hash %X)",
				b.Index, b.Total, cid, len(b.Links), a, hash)
			block = fmt.Sprintf("CometBFT block %d (hash %X)", a, hash)
		default:
			if depth == 0 {
				return nil, nil
			}
		}
		if from == "" {
			break
		}
		if depth == maxCarried {
			return nil, fmt.Errorf("carried more than %d levels deep", maxCarried)
		}
		inner, err := ledger.DecodeTx(raw)
		if err != nil {
			return nil, fmt.Errorf("level %d: the carried transaction: %w", depth+1, err)
		}
		lines = append(lines, fmt.Sprintf("ok: it carries %s %s of chain %q: %s", inner.Body.Kind(), inner.ID(), from, line))
		tx, chain = inner, from
	}
	if err := tx.VerifySigs(chain); err != nil {
		return nil, fmt.Errorf("the carried %s's signatures, for chain %q: %w", tx.Body.Kind(), chain, err)
	}
	signers := ""
	for i, s := range tx.Sigs {
		if i > 0 {
			signers += ", "
		}
		signers += ledger.Hash(s.Key).String()
	}
	switch b := tx.Body.(type) {
	case *ledger.IntelConfirm:
		d := b.Digest
		what := "a confirmation for the region above"
		if b.Broadcast {
			what = "the national broadcast"
		}
		lines = append(lines, fmt.Sprintf("ok: %s of record %s of chain %q: %s, level %s, %s, %s, region %s, %d confirmed; signed for chain %q by %s",
			what, d.Record, d.Origin, time.Unix(d.Time, 0).UTC().Format(time.RFC3339), responseName(int(d.Level)), d.Dimension, d.Secrecy, d.Region, d.Confirmed, chain, signers))
	case *ledger.AccessGrant:
		lines = append(lines, fmt.Sprintf("ok: access grant of request %s to key %s, reads %v on chains %v, expiring %s; signed for chain %q by %s",
			b.Request, ledger.Hash(b.Grantee), b.Scope.Reads, b.Scope.Chains, time.Unix(b.Expires, 0).UTC().Format(time.RFC3339), chain, signers))
	default:
		return nil, errors.New("it carries a " + tx.Body.Kind().String() + ": a digest carries an intelligence confirmation or an access grant")
	}
	lines = append(lines, fmt.Sprintf("compare %s of chain %q with a header of that chain you trust, and the signers' keys with its roles", block, chain))
	return lines, nil
}
