package state

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/store"
)

// Digests up and broadcasts down the hierarchy (issue 15, docs/REGIONS.md
// step 6): an N2 confirms an entry of its chain (a record admitted here,
// or a digest that came up from a child) with an intel_confirm carrying
// its redacted digest; a relay carries that confirmation into the parent
// (an intel_summary, proven under a header the parent anchored), where
// it becomes an entry the parent's N2 may confirm in turn. On the national
// chain an N1 confirms with Broadcast set, and the broadcast goes down:
// each region takes it from its parent's headers and hands it on.

// IntelConfirmation is a confirmation made on this chain, as a relay
// lists it.
type IntelConfirmation struct {
	Tx        ledger.Hash
	Height    uint64
	Broadcast bool
	// Stats marks a publication of the statistics (publish_stats),
	// carried up as confirmations are.
	Stats bool
}

// intelConfirm records an N2's confirmation of entry b.Of: its digest,
// redacted for this chain's region, is the one b carries; once per entry.
// A broadcast is the national N1's, of a digest not yet broadcast.
func (blk *Block) intelConfirm(tx *ledger.Tx, id ledger.Hash, b *ledger.IntelConfirm) error {
	role, _, err := RoleOf(blk.b, &blk.m.gen, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if b.Broadcast {
		if role != ledger.RoleN1 {
			return reject(CodeWrongSigner, "signature", "a broadcast is confirmed by a key with the role n1, on the national chain")
		}
	} else if role != ledger.RoleN2 && role != ledger.RoleN1 {
		return reject(CodeWrongSigner, "signature", "a digest is confirmed by a key with the role n2")
	}
	e, ok, err := IntelEntryOf(blk.b, b.Of)
	if err != nil {
		return err
	}
	if !ok {
		return reject(CodeInvalid, "of", "no intelligence record or digest %s on this chain", b.Of.String()[:16])
	}
	if e.Broadcast {
		return reject(CodeInvalid, "of", "a broadcast from above is handed on as it is, not confirmed")
	}
	if want := e.Digest().Redacted(blk.m.gen.Region); b.Digest != want {
		return reject(CodeInvalid, "digest", "not the entry's digest as it may leave this chain (counts only for public and internal records, a secret one's place as this chain's region)")
	}
	tag := byte('c')
	if b.Broadcast {
		tag = 'b'
	}
	seen := store.IntelSeenKey(tag, e.Origin, e.OriginTx)
	if _, dup, err := blk.b.Get(seen); err != nil {
		return err
	} else if dup {
		return reject(CodeConflict, "of", "this record is confirmed here already")
	}
	if err := blk.set(seen, id[:]); err != nil {
		return err
	}
	return blk.set(store.IntelConfirmKey(blk.height, id), []byte{boolByte(b.Broadcast)})
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// IntelConfirmations lists the confirmations made from block from on, at
// most limit (0: all).
func IntelConfirmations(rd store.Reader, from uint64, limit int) ([]IntelConfirmation, error) {
	lo, hi := store.IntelConfirmRange(from)
	var out []IntelConfirmation
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		c := IntelConfirmation{Height: beU64(k[1:9]), Broadcast: len(v) == 1 && v[0] == 1, Stats: len(v) == 1 && v[0] == confirmStats}
		copy(c.Tx[:], k[9:])
		out = append(out, c)
		return limit == 0 || len(out) < limit
	})
	return out, err
}

// maxIntelNesting bounds how many intel_summary transactions a broadcast
// may be wrapped in on its way down (national, province, city, district).
const maxIntelNesting = 4

// intelSummary takes in a confirmation from a linked chain: its block's
// header, linked to one this chain anchored, holds it. From a child it is
// an intel_confirm going up; from the parent, a broadcast: the national
// N1's intel_confirm, or the parent's own intel_summary of one.
func (blk *Block) intelSummary(tx *ledger.Tx, id ledger.Hash, b *ledger.IntelSummary) error {
	if err := blk.requireRelay(tx, "a digest is carried in"); err != nil {
		return err
	}
	c, ok, err := ChildOf(blk.b, b.From)
	if err != nil {
		return err
	}
	if !ok {
		return reject(CodeInvalid, "from", "chain %q is neither a child nor the parent of this chain", b.From)
	}
	if c.Light != nil {
		return reject(CodeInvalid, "from", "chain %q runs on CometBFT: what it confirmed comes as an intel_summary_bft", b.From)
	}
	hdr, err := ledger.DecodeHeader(b.Header)
	if err != nil || hdr.ChainID != b.From {
		return reject(CodeInvalid, "header", "not a header of chain %q", b.From)
	}
	last := hdr
	for i, raw := range b.Links {
		h, err := ledger.DecodeHeader(raw)
		if err != nil || h.ChainID != b.From || h.Height != last.Height+1 || h.PrevHash != last.Hash() {
			return reject(CodeInvalid, "links", "link %d does not follow block %d", i+1, last.Height)
		}
		last = h
	}
	rec, ok, err := anchorAt(blk.b, b.From, last.Height)
	if err != nil {
		return err
	}
	if !ok || rec.Hash != last.Hash() {
		return reject(CodeInvalid, "header", "block %d of %q is not anchored here: anchor it first", last.Height, b.From)
	}
	if err := ledger.VerifyInclusion(b.Tx, b.Index, b.Size, b.Path, hdr.MerkleRoot); err != nil {
		return reject(CodeInvalid, "tx", "not in block %d of %q: %v", hdr.Height, b.From, err)
	}
	return blk.takeCarried(tx, id, b.From, c.Parent, b.Tx)
}

// intelSummaryBFT is intelSummary from a CometBFT chain: the transaction
// is proven accepted in a block linked to a header this chain verified
// (lightclient.VerifyCarried).
func (blk *Block) intelSummaryBFT(tx *ledger.Tx, id ledger.Hash, b *ledger.IntelSummaryBFT) error {
	if err := blk.requireRelay(tx, "a digest is carried in"); err != nil {
		return err
	}
	c, ok, err := ChildOf(blk.b, b.From)
	if err != nil {
		return err
	}
	if !ok {
		return reject(CodeInvalid, "from", "chain %q is neither a child nor the parent of this chain", b.From)
	}
	if c.Light == nil {
		return reject(CodeInvalid, "from", "chain %q is a solo chain: what it confirmed comes as an intel_summary", b.From)
	}
	if c.Light.Frozen != 0 {
		return reject(CodeConflict, "from", "chain %q is frozen since height %d: two of its verified headers contradict each other", b.From, c.Light.Frozen)
	}
	carried, err := ledger.DecodeTx(b.Tx)
	if err != nil {
		return reject(CodeInvalid, "tx", "%v", err)
	}
	cid := carried.ID()
	a, hash, err := lightclient.VerifyCarried(c.Light.CometChainID, b.Tx, cid[:], CarriedProof(b))
	if err != nil {
		return reject(CodeInvalid, "tx", "%v", err)
	}
	rec, ok, err := anchorAt(blk.b, b.From, uint64(a))
	if err != nil {
		return err
	}
	if !ok || !bytes.Equal(rec.Hash[:], hash) {
		return reject(CodeInvalid, "links", "header %d of %q is not one verified here: anchor it first", a, b.From)
	}
	return blk.takeCarried(tx, id, b.From, c.Parent, b.Tx)
}

// IntelSummaryBFTOf is the intel_summary_bft that carries tx of CometBFT
// chain from, proven by c.
func IntelSummaryBFTOf(from string, tx []byte, c *lightclient.Carried) (*ledger.IntelSummaryBFT, error) {
	b := &ledger.IntelSummaryBFT{From: from, Tx: tx, Header: c.Header, Index: c.Index, Total: c.Total, Bundle: c.Bundle,
		Member: c.Member, ResultData: c.ResultData, Links: c.Links}
	var err error
	if b.TxPath, err = toHashes(c.TxPath); err != nil {
		return nil, fmt.Errorf("the transaction's path: %w", err)
	}
	if b.ResultPath, err = toHashes(c.ResultPath); err != nil {
		return nil, fmt.Errorf("the result's path: %w", err)
	}
	return b, nil
}

func toHashes(bs [][]byte) ([]ledger.Hash, error) {
	out := make([]ledger.Hash, len(bs))
	for i, b := range bs {
		if len(b) != len(out[i]) {
			return nil, fmt.Errorf("a hash of %d bytes", len(b))
		}
		out[i] = ledger.Hash(b)
	}
	return out, nil
}

// CarriedProof is the proof b holds, as lightclient checks it.
func CarriedProof(b *ledger.IntelSummaryBFT) *lightclient.Carried {
	return &lightclient.Carried{Header: b.Header, Index: b.Index, Total: b.Total, TxPath: hashBytes(b.TxPath), Bundle: b.Bundle,
		Member: b.Member, ResultData: b.ResultData, ResultPath: hashBytes(b.ResultPath), Links: b.Links}
}

func hashBytes(hs []ledger.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// takeCarried takes in raw, a transaction of chain from proven to be in
// one of its blocks that this chain verified: a child's confirmation of a
// digest, or a broadcast or grant from the parent (fromParent).
func (blk *Block) takeCarried(tx *ledger.Tx, id ledger.Hash, from string, fromParent bool, raw []byte) error {
	inner, origin, err := unwrapCarried(raw, from)
	if err != nil {
		return reject(CodeInvalid, "tx", "%v", err)
	}
	// Checked again here, as the chain it was made on checked them: the
	// chains it passed through vouch for its block, not for its signers.
	if err := inner.VerifySigs(origin); err != nil {
		return reject(CodeInvalid, "tx", "the carried %s is not signed for chain %q: %v", inner.Body.Kind(), origin, err)
	}
	switch b := inner.Body.(type) {
	case *ledger.AccessGrant:
		return blk.carriedGrant(id, from, origin, inner, b, fromParent)
	case *ledger.AccessRevoke:
		return blk.carriedRevoke(id, origin, b, fromParent)
	case *ledger.PublishStats:
		return blk.carriedStats(id, from, origin, b, fromParent)
	}
	confirm, ok := inner.Body.(*ledger.IntelConfirm)
	if !ok {
		return reject(CodeInvalid, "tx", "carries a %s: a digest carries an intelligence confirmation or an access grant", inner.Body.Kind())
	}
	if confirm.Broadcast != fromParent {
		if fromParent {
			return reject(CodeInvalid, "tx", "from the parent come broadcasts only")
		}
		return reject(CodeInvalid, "tx", "a broadcast comes from the parent")
	}
	d := confirm.Digest
	if d.Level < 1 || d.Level > 4 || d.Origin == "" {
		return reject(CodeInvalid, "tx", "not a digest")
	}
	if _, err := region.Parse(d.Region); err != nil {
		return reject(CodeInvalid, "tx", "the digest's region: %v", err)
	}
	tag := byte('r')
	if confirm.Broadcast {
		tag = 'R'
	}
	seen := store.IntelSeenKey(tag, d.Origin, d.Record)
	if _, dup, err := blk.b.Get(seen); err != nil {
		return err
	} else if dup {
		return reject(CodeConflict, "tx", "this digest is here already")
	}
	if err := blk.set(seen, id[:]); err != nil {
		return err
	}
	return blk.putIntel(&IntelEntry{Tx: id, Time: d.Time, Dimension: d.Dimension, Secrecy: d.Secrecy, Region: d.Region, Level: d.Level,
		Involved: d.Involved, Confirmed: d.Confirmed, Suspected: d.Suspected, Submitter: tx.Sigs[0].Key,
		Origin: d.Origin, OriginTx: d.Record, From: from, Broadcast: confirm.Broadcast})
}

// unwrapCarried reads the transaction raw carries: an intel_confirm or
// an access_grant, possibly wrapped in the intel_summary transactions of
// the chains it came down through (each accepted by its chain's state
// machine, which checked the one inside). origin is the chain it was made
// on (from for one not wrapped).
func unwrapCarried(raw []byte, from string) (inner *ledger.Tx, origin string, err error) {
	origin = from
	for i := 0; i < maxIntelNesting; i++ {
		t, err := ledger.DecodeTx(raw)
		if err != nil {
			return nil, "", err
		}
		switch b := t.Body.(type) {
		case *ledger.IntelConfirm, *ledger.AccessGrant, *ledger.AccessRevoke, *ledger.PublishStats:
			return t, origin, nil
		case *ledger.IntelSummary:
			raw, origin = b.Tx, b.From
		case *ledger.IntelSummaryBFT:
			raw, origin = b.Tx, b.From
		default:
			return nil, "", errors.New("neither an intelligence confirmation nor an access grant or revocation: a " + t.Body.Kind().String())
		}
	}
	return nil, "", errors.New("wrapped more deeply than the hierarchy is")
}
