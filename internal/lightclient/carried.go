package lightclient

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/merkle"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"
)

// Carried is the proof that a CometBFT chain accepted one of our
// transactions, as another chain of the hierarchy receives it (issue 15,
// docs/REGIONS.md step 6): a digest confirmed on a CometBFT child going
// up, a broadcast or grant from a CometBFT parent going down. The
// receiving chain keeps a verified header A of the sender; Carried leads
// from the transaction to it:
//
//   - the transaction (or the bundle it travelled in) is leaf Index of
//     Total under CometBFT header H's DataHash;
//   - its result (code 0; its data the transaction's id, or for a bundle
//     one code per record, the transaction's 0) is leaf Index under
//     header H+1's LastResultsHash: the block executed it and accepted it
//     (a CometBFT block may hold transactions its application refused);
//   - headers H+1..A, each naming the one before by its hash.
//
// Only header A's signatures matter, and the receiver checked them when
// it verified A; the others are bound to it by hashes.
type Carried struct {
	// Header is CometBFT header H, protobuf-encoded.
	Header []byte
	// Index and Total place the CometBFT transaction in block H.
	Index, Total uint64
	// TxPath are the Merkle aunts of the transaction under DataHash.
	TxPath [][]byte
	// Bundle, if the transaction travelled in one, is that CometBFT
	// transaction; Member is the transaction's position in it.
	Bundle []byte
	Member uint32
	// ResultData is the result's data; ResultPath its aunts under header
	// H+1's LastResultsHash.
	ResultData []byte
	ResultPath [][]byte
	// Links are headers H+1..A, protobuf-encoded.
	Links [][]byte
}

// MaxCarriedLinks bounds the headers between a transaction's block and a
// verified one: relays anchor far more often.
const MaxCarriedLinks = 32

// ErrCarried is wrapped by every error of VerifyCarried.
var ErrCarried = errors.New("lightclient: carried transaction")

// VerifyCarried checks c for transaction tx, whose id is id, on CometBFT
// chain chainID. It returns header A's height and hash, which the caller
// compares with the verified header it keeps at that height: without
// that comparison nothing is proven.
func VerifyCarried(chainID string, tx, id []byte, c *Carried) (height int64, hash []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			height, hash, err = 0, nil, fmt.Errorf("%w: malformed: %v", ErrCarried, r)
		}
	}()
	if len(c.Links) == 0 || len(c.Links) > MaxCarriedLinks {
		return 0, nil, fmt.Errorf("%w: 1 to %d linking headers (H+1 holds the results), not %d", ErrCarried, MaxCarriedLinks, len(c.Links))
	}
	h, err := decodeBareHeader(chainID, c.Header, "header")
	if err != nil {
		return 0, nil, err
	}
	headers := make([]*types.Header, len(c.Links))
	last := h
	for i, raw := range c.Links {
		next, err := decodeBareHeader(chainID, raw, fmt.Sprintf("link %d", i+1))
		if err != nil {
			return 0, nil, err
		}
		if next.Height != last.Height+1 || !bytes.Equal(next.LastBlockID.Hash, last.Hash()) {
			return 0, nil, fmt.Errorf("%w: link %d does not follow block %d", ErrCarried, i+1, last.Height)
		}
		headers[i], last = next, next
	}

	data := tx
	if len(c.Bundle) != 0 {
		recs, err := Unbundle(c.Bundle)
		if err != nil {
			return 0, nil, fmt.Errorf("%w: %v", ErrCarried, err)
		}
		if int(c.Member) >= len(recs) || !bytes.Equal(recs[c.Member], tx) {
			return 0, nil, fmt.Errorf("%w: record %d of the bundle is not the transaction", ErrCarried, c.Member)
		}
		if len(c.ResultData) != len(recs) || c.ResultData[c.Member] != 0 {
			return 0, nil, fmt.Errorf("%w: the bundle's result does not accept record %d", ErrCarried, c.Member)
		}
		data = c.Bundle
	} else if !bytes.Equal(c.ResultData, id) {
		return 0, nil, fmt.Errorf("%w: the result's data is not the transaction's id", ErrCarried)
	}
	if err := verifyLeaf(c.Index, c.Total, c.TxPath, h.DataHash, types.Tx(data).Hash()); err != nil {
		return 0, nil, fmt.Errorf("%w: not transaction %d of CometBFT block %d: %v", ErrCarried, c.Index, h.Height, err)
	}
	res := abci.ExecTxResult{Code: abci.CodeTypeOK, Data: c.ResultData}
	leaf, err := res.Marshal()
	if err != nil {
		return 0, nil, fmt.Errorf("%w: result: %v", ErrCarried, err)
	}
	if err := verifyLeaf(c.Index, c.Total, c.ResultPath, headers[0].LastResultsHash, leaf); err != nil {
		return 0, nil, fmt.Errorf("%w: no accepting result %d under header %d's results hash: %v", ErrCarried, c.Index, headers[0].Height, err)
	}
	return last.Height, last.Hash(), nil
}

// verifyLeaf checks leaf at index of total under root, CometBFT's
// (RFC 6962) Merkle tree.
func verifyLeaf(index, total uint64, aunts [][]byte, root, leaf []byte) error {
	if total == 0 || index >= total || total > 1<<32 {
		return fmt.Errorf("position %d of %d", index, total)
	}
	lh := sha256.Sum256(append([]byte{0}, leaf...))
	p := merkle.Proof{Total: int64(total), Index: int64(index), LeafHash: lh[:], Aunts: aunts}
	return p.Verify(root, leaf)
}

// HeaderChainID is the chain id CometBFT header b names, for a check
// offline, which has no registered chain to compare with.
func HeaderChainID(b []byte) (string, error) {
	var p cmtproto.Header
	if err := p.Unmarshal(b); err != nil {
		return "", fmt.Errorf("%w: header: %v", ErrCarried, err)
	}
	return p.ChainID, nil
}

// decodeBareHeader reads a CometBFT header of chainID, well formed and
// hashable (a header without a validators hash has no hash).
func decodeBareHeader(chainID string, b []byte, what string) (*types.Header, error) {
	var p cmtproto.Header
	if err := p.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCarried, what, err)
	}
	h, err := types.HeaderFromProto(&p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCarried, what, err)
	}
	if err := h.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCarried, what, err)
	}
	if h.ChainID != chainID {
		return nil, fmt.Errorf("%w: %s is of CometBFT chain %q, not %q", ErrCarried, what, h.ChainID, chainID)
	}
	if len(h.ValidatorsHash) == 0 || h.Hash() == nil {
		return nil, fmt.Errorf("%w: %s has no hash", ErrCarried, what)
	}
	return &h, nil
}

// CarriedOf is what a relay carries of a transaction's consortium proof:
// header H, the proofs of the transaction and its result, and the signed
// header H+1's header as the first link (the relay adds the headers up to
// the verified one).
func CarriedOf(h *types.Header, next *types.Header, txProof, resultProof merkle.Proof, bundle []byte, member uint32, resultData []byte) (*Carried, error) {
	hp := h.ToProto()
	hb, err := hp.Marshal()
	if err != nil {
		return nil, fmt.Errorf("lightclient: header: %w", err)
	}
	c := &Carried{Header: hb, Index: uint64(txProof.Index), Total: uint64(txProof.Total), TxPath: txProof.Aunts,
		Bundle: bundle, Member: member, ResultData: resultData, ResultPath: resultProof.Aunts}
	return c, c.Link(next)
}

// Link appends header h to c's links.
func (c *Carried) Link(h *types.Header) error {
	b, err := h.ToProto().Marshal()
	if err != nil {
		return fmt.Errorf("lightclient: header %d: %w", h.Height, err)
	}
	c.Links = append(c.Links, b)
	return nil
}
