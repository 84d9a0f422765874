package comet

import (
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	nm "github.com/cometbft/cometbft/node"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/consortium"
)

// ConsortiumProof builds the consortium section of the proof of tx (its
// exact bytes) in block height (issue 13, point 8): CometBFT's Merkle
// proofs of the transaction and of its result, header height and the
// signed headers from the genesis validators to height+1. It returns an
// error wrapping consortium.ErrPending while block height+1 is not
// committed. Safe for concurrent use.
func (e *Engine) ConsortiumProof(height uint64, tx []byte) (*consortium.Proof, error) {
	src, err := e.proofs()
	if err != nil {
		return nil, err
	}
	return consortium.Build(src, src.genesis, int64(height), tx)
}

// proofSource reads the CometBFT node's block and state stores.
type proofSource struct {
	blocks  sm.BlockStore
	state   sm.Store
	genesis *consortium.Genesis
}

var _ consortium.Source = (*proofSource)(nil)

func newProofSource(n *nm.Node) (*proofSource, error) {
	// The RPC's environment is the node's one public way to its state
	// store (validator sets and results by height).
	env, err := n.ConfigureRPC()
	if err != nil {
		return nil, fmt.Errorf("comet: %w", err)
	}
	g, err := consortium.GenesisOf(n.GenesisDoc())
	if err != nil {
		return nil, err
	}
	return &proofSource{blocks: env.BlockStore, state: env.StateStore, genesis: g}, nil
}

func (s *proofSource) Block(h int64) *types.Block { return s.blocks.LoadBlock(h) }

// SignedHeader takes the commit from block h+1, or, for the last block,
// the commit this node saw.
func (s *proofSource) SignedHeader(h int64) *types.SignedHeader {
	meta := s.blocks.LoadBlockMeta(h)
	if meta == nil {
		return nil
	}
	c := s.blocks.LoadBlockCommit(h)
	if c == nil {
		c = s.blocks.LoadSeenCommit(h)
	}
	if c == nil {
		return nil
	}
	return &types.SignedHeader{Header: &meta.Header, Commit: c}
}

func (s *proofSource) Validators(h int64) (*types.ValidatorSet, error) {
	return s.state.LoadValidators(h)
}

func (s *proofSource) Results(h int64) ([]*abci.ExecTxResult, error) {
	r, err := s.state.LoadFinalizeBlockResponse(h)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("not kept (storage.discard_abci_responses)")
	}
	return r.TxResults, nil
}
