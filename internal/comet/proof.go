package comet

import (
	"errors"
	"fmt"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	nm "github.com/cometbft/cometbft/node"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/home"
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

// LightBlock is signed header h with the validator set that signed it
// (GET /v1/light-blocks/{height}, for a relay into a parent chain).
func (e *Engine) LightBlock(h int64) (*types.SignedHeader, *types.ValidatorSet, error) {
	src, err := e.proofs()
	if err != nil {
		return nil, nil, err
	}
	return consortium.LightBlock(src, h)
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

func (s *proofSource) Base() int64 { return s.blocks.Base() }

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

// Proofs builds consortium sections from a stopped node's CometBFT stores
// (its block store and state store, opened here), for `tx proof --home`
// on a consortium home whose node is not running. Close it when done.
type Proofs struct {
	src    *proofSource
	closer []func() error
}

// OpenProofs opens the CometBFT stores of h. A running node holds them:
// then ask it (tx proof --node).
func OpenProofs(h *home.Home) (*Proofs, error) {
	cfg, err := LoadConfig(h)
	if err != nil {
		return nil, err
	}
	gd, err := types.GenesisDocFromFile(cfg.GenesisFile())
	if err != nil {
		return nil, fmt.Errorf("comet: %w", err)
	}
	g, err := consortium.GenesisOf(gd)
	if err != nil {
		return nil, err
	}
	p := &Proofs{}
	open := func(id string) (dbm.DB, error) {
		db, err := cmtcfg.DefaultDBProvider(&cmtcfg.DBContext{ID: id, Config: cfg})
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("comet: open the %s (is the node running? then ask it with --node): %w", id, err)
		}
		p.closer = append(p.closer, db.Close)
		return db, nil
	}
	bdb, err := open("blockstore")
	if err != nil {
		return nil, err
	}
	sdb, err := open("state")
	if err != nil {
		return nil, err
	}
	p.src = &proofSource{blocks: store.NewBlockStore(bdb), state: sm.NewStore(sdb, sm.StoreOptions{}), genesis: g}
	return p, nil
}

// ConsortiumProof is Engine.ConsortiumProof on the stopped node's stores.
func (p *Proofs) ConsortiumProof(height uint64, tx []byte) (*consortium.Proof, error) {
	return consortium.Build(p.src, p.src.genesis, int64(height), tx)
}

// LightBlock is Engine.LightBlock on the stopped node's stores.
func (p *Proofs) LightBlock(h int64) (*types.SignedHeader, *types.ValidatorSet, error) {
	return consortium.LightBlock(p.src, h)
}

// Close closes the stores.
func (p *Proofs) Close() error {
	var first error
	for _, c := range p.closer {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	p.closer = nil
	return first
}
