package consortium

import (
	"bytes"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/lightclient"
)

// Source is what Build reads: a CometBFT node's block and state stores
// (the comet engine's), or a test's chain in memory.
type Source interface {
	// Block is CometBFT block h, or nil if the node has none.
	Block(h int64) *types.Block
	// Base is the lowest height whose block the node still holds (1 on a
	// node that keeps every block; higher on one that prunes,
	// engine.retain_blocks).
	Base() int64
	// SignedHeader is header h with the commit that signed it, or nil if
	// the node has not committed it.
	SignedHeader(h int64) *types.SignedHeader
	// Validators is the validator set of height h.
	Validators(h int64) (*types.ValidatorSet, error)
	// Results are block h's transaction results, in order.
	Results(h int64) ([]*abci.ExecTxResult, error)
}

// Build builds the consortium section of the proof of tx (its exact
// bytes) at height from src, for a check against genesis g. It returns an
// error wrapping ErrPending while block height+1 is not committed. The
// chain it builds is the one Verify accepts: it checks each hop as Verify
// will, and where the validators changed too much for a hop to be trusted
// from the last, it goes halfway (CometBFT's light-client bisection).
func Build(src Source, g *Genesis, height int64, tx []byte) (*Proof, error) {
	b := src.Block(height)
	if b == nil {
		if base := src.Base(); height < base {
			return nil, fmt.Errorf("%w (it keeps them from height %d; this record is in block %d)", ErrPruned, base, height)
		}
		return nil, fmt.Errorf("consortium: CometBFT block %d is not in this node's store", height)
	}
	idx, member := -1, -1
	for i, t := range b.Data.Txs {
		if bytes.Equal(t, tx) {
			idx = i
			break
		}
		if lightclient.IsBundle(t) {
			recs, err := lightclient.Unbundle(t)
			if err != nil {
				continue
			}
			for j, r := range recs {
				if bytes.Equal(r, tx) {
					idx, member = i, j
					break
				}
			}
			if idx >= 0 {
				break
			}
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("consortium: CometBFT block %d does not hold the transaction", height)
	}
	results, err := src.Results(height)
	if err != nil {
		return nil, fmt.Errorf("consortium: results of block %d: %w", height, err)
	}
	if len(results) != len(b.Data.Txs) {
		return nil, fmt.Errorf("consortium: block %d has %d transactions and %d results", height, len(b.Data.Txs), len(results))
	}
	if src.SignedHeader(height+1) == nil {
		return nil, fmt.Errorf("%w (block %d)", ErrPending, height+1)
	}
	rs := types.NewResults(results)
	p := &Proof{ChainID: g.ChainID, Height: height, Index: uint32(idx), Header: &b.Header,
		TxProof: b.Data.Txs.Proof(idx).Proof, Result: *rs[idx], ResultProof: rs.ProveResult(idx)}
	if member >= 0 {
		p.Bundle, p.Member = b.Data.Txs[idx], uint32(member)
	}
	if p.Chain, err = chain(src, g, height+1); err != nil {
		return nil, err
	}
	return p, nil
}

// chain builds the hops from the genesis to target.
func chain(src Source, g *Genesis, target int64) ([]Hop, error) {
	var hops []Hop
	var trusted *Hop
	from := g.InitialHeight - 1
	for trusted == nil || trusted.Signed.Height < target {
		h := target
		for {
			hop, err := load(src, h)
			if err != nil {
				return nil, err
			}
			err = verifyHop(g, trusted, hop)
			if err == nil {
				hops, trusted = append(hops, hop), &hop
				break
			}
			if h == from+1 {
				return nil, fmt.Errorf("consortium: the chain does not verify from height %d to %d: %w", from, h, err)
			}
			h = from + (h-from)/2
		}
		from = trusted.Signed.Height
	}
	return hops, nil
}

func load(src Source, h int64) (Hop, error) {
	sh := src.SignedHeader(h)
	if sh == nil {
		return Hop{}, fmt.Errorf("consortium: signed header %d is not in this node's store", h)
	}
	vals, err := src.Validators(h)
	if err != nil {
		return Hop{}, fmt.Errorf("consortium: validators of height %d: %w", h, err)
	}
	if vals == nil {
		return Hop{}, errors.New("consortium: no validators at height " + fmt.Sprint(h))
	}
	return Hop{Signed: sh, Validators: vals}, nil
}

// LightBlock is signed header h from src with the validator set that
// signed it: what a relay carries into a parent chain (issue 15).
func LightBlock(src Source, h int64) (*types.SignedHeader, *types.ValidatorSet, error) {
	hop, err := load(src, h)
	return hop.Signed, hop.Validators, err
}
