// Package consortium ties a transaction's inclusion proof to the signed
// chain of a CometBFT consortium, with nothing but CometBFT's own data,
// and checks it offline against the consortium's genesis validators.
//
// Under the CometBFT engine every CometBFT height H is also our block H.
// The consortium section of the proof of a transaction T at height H
// holds:
//
//   - T's position in CometBFT block H (refused transactions count: they
//     are in CometBFT's block, not in ours) and its Merkle proof against
//     header H's DataHash;
//   - T's result (code 0, accepted; its data T's id) and its Merkle proof
//     against header H+1's LastResultsHash;
//   - or, if T travelled in a bundle (Bundle), the bundle, T's position
//     in it, the bundle's position, Merkle proof and result (code 0, its
//     data a code per record, T's 0);
//   - header H, whose hash is header H+1's LastBlockID;
//   - a chain of signed headers from the genesis validators to H+1, each
//     checked against the one before by CometBFT's light-client rules; the
//     last is H+1, signed by more than 2/3 of its validators' power.
//
// Our header H is bound to CometBFT's: the same height and time, our chain
// id and genesis hash make CometBFT's chain id, and our state hash after H
// is the application hash in header H+1. The CometBFT part is what the
// validators signed; the binding says our header tells the same story.
package consortium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/merkle"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
)

// Version labels the consortium section's format.
const Version = "epiledger/v1/consortium-proof"

// ErrPending is returned by Build when block H+1, whose header signs block
// H's results and state, is not committed yet: ask again shortly (a block
// that changed the state is followed at once by one that commits it).
var ErrPending = errors.New("consortium: the next block, which signs this block's results and state, is not committed yet")

// ErrPruned is returned by Build for a transaction whose CometBFT block
// the node has deleted (a validator that keeps only its latest blocks,
// engine.retain_blocks): ask a node of the consortium that keeps every
// block. The node's own store still holds the record and its proof
// against our chain of blocks.
var ErrPruned = errors.New("consortium: this node no longer keeps the CometBFT block of this record (engine.retain_blocks): ask a node that keeps every block")

// trustingPeriod is the light-client trusting period of an offline check.
// A live light client stops trusting a validator set after it, because
// validators that have left may sign another history; a proof checked
// offline has no "now" and trusts the genesis validators' keys, and those
// of each set they handed over to, for as long as it is relied on.
const trustingPeriod = 200 * 365 * 24 * time.Hour

// Proof is the consortium section of the proof of a transaction.
type Proof struct {
	// ChainID is CometBFT's chain id.
	ChainID string
	// Height is H, the block holding the transaction.
	Height int64
	// Index is its position among CometBFT block H's transactions.
	Index uint32
	// Bundle, if the record travelled in a bundle (a batch submitted
	// together), is that CometBFT transaction, and Member the record's
	// position in it; TxProof and Result are then the bundle's.
	Bundle []byte
	Member uint32
	// TxProof proves the transaction under header H's DataHash.
	TxProof merkle.Proof
	// Result is its result's deterministic fields (types.NewResults).
	Result abci.ExecTxResult
	// ResultProof proves Result under header H+1's LastResultsHash.
	ResultProof merkle.Proof
	// Header is CometBFT's header H.
	Header *types.Header
	// Chain holds signed headers in increasing height, from the genesis
	// validators to H+1 (the last).
	Chain []Hop
}

// Hop is a signed header with the validator set of its height.
type Hop struct {
	Signed     *types.SignedHeader
	Validators *types.ValidatorSet
}

// Genesis is what a check trusts: the consortium's CometBFT genesis.
type Genesis struct {
	ChainID       string
	InitialHeight int64
	Validators    *types.ValidatorSet
	// Hash is the epiledger genesis hash its app_state names.
	Hash ledger.Hash
}

// AppState is the app_state of the consortium's CometBFT genesis: the hash
// of the epiledger genesis every node must hold.
type AppState struct {
	GenesisHash string `json:"epiledger_genesis_hash"`
}

// ChainID is the CometBFT chain id of the epiledger chain id and genesis
// hash: the id (cut to fit) and the first bytes of the hash, so that a
// genesis that differs in anything is another CometBFT network.
func ChainID(id string, genesisHash ledger.Hash) string { return lightclient.ChainID(id, genesisHash) }

// ParseGenesis reads a consortium's CometBFT genesis.json.
func ParseGenesis(b []byte) (g *Genesis, err error) {
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("consortium: genesis: %v", r)
		}
	}()
	doc, err := types.GenesisDocFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("consortium: genesis: %w", err)
	}
	return GenesisOf(doc)
}

// GenesisOf reads what a check trusts from a CometBFT genesis document.
func GenesisOf(doc *types.GenesisDoc) (*Genesis, error) {
	var st AppState
	if err := json.Unmarshal(doc.AppState, &st); err != nil {
		return nil, fmt.Errorf("consortium: genesis app_state: %w", err)
	}
	gh, err := ledger.ParseHash(st.GenesisHash)
	if err != nil {
		return nil, fmt.Errorf("consortium: genesis app_state.epiledger_genesis_hash: %w", err)
	}
	vals := make([]*types.Validator, len(doc.Validators))
	for i, v := range doc.Validators {
		if v.PubKey == nil {
			return nil, fmt.Errorf("consortium: genesis validator %d has no key", i)
		}
		vals[i] = types.NewValidator(v.PubKey, v.Power)
	}
	set, err := types.ValidatorSetFromExistingValidators(vals)
	if err != nil {
		return nil, fmt.Errorf("consortium: genesis validators: %w", err)
	}
	return &Genesis{ChainID: doc.ChainID, InitialHeight: doc.InitialHeight, Validators: set, Hash: gh}, nil
}

// Report is what Verify checked.
type Report struct {
	ChainID string
	// Height is the block holding the transaction; Index its position in
	// CometBFT's block.
	Height int64
	Index  uint32
	// Signed of Total voting power signed block Height+1, by Signers of
	// Validators validators.
	Signed, Total       int64
	Signers, Validators int
	// Sets is how many validator sets the chain crossed from the genesis
	// (1: the genesis set signed block Height+1).
	Sets int
}

// Verify checks p, the consortium section of the inclusion proof ours,
// against the genesis g: the chain of signed headers from g's validators
// to H+1, header H, the transaction under H's DataHash, its result (code
// 0, its id) under H+1's LastResultsHash, and the binding of our header H
// to CometBFT's. It checks ours too. Any failure is an error saying what
// does not hold.
func Verify(g *Genesis, ours *blocks.Proof, p *Proof) (r *Report, err error) {
	defer func() {
		// CometBFT's verifiers are not all written for hostile input
		// (a malformed block id panics in its sign bytes).
		if x := recover(); x != nil {
			r, err = nil, fmt.Errorf("consortium: malformed: %v", x)
		}
	}()
	if err := ours.Check(); err != nil {
		return nil, err
	}
	if p.ChainID != g.ChainID {
		return nil, fmt.Errorf("consortium: the proof is for CometBFT chain %q, the genesis for %q", p.ChainID, g.ChainID)
	}
	if want := ChainID(ours.Header.ChainID, g.Hash); want != g.ChainID {
		return nil, fmt.Errorf("consortium: block of chain %q: its consortium's CometBFT chain id would be %q, the genesis is %q", ours.Header.ChainID, want, g.ChainID)
	}
	if len(p.Chain) == 0 {
		return nil, errors.New("consortium: no signed header")
	}
	sets, err := verifyChain(g, p.Chain)
	if err != nil {
		return nil, err
	}
	last := p.Chain[len(p.Chain)-1]
	next := last.Signed
	if p.Height < g.InitialHeight || next.Height != p.Height+1 {
		return nil, fmt.Errorf("consortium: the last signed header is at height %d, want %d (the block after the transaction's)", next.Height, p.Height+1)
	}
	if p.Header == nil || p.Header.Height != p.Height {
		return nil, fmt.Errorf("consortium: header is not at height %d", p.Height)
	}
	if err := light.VerifyBackwards(p.Header, next.Header); err != nil {
		return nil, fmt.Errorf("consortium: header %d is not the one signed header %d follows: %w", p.Height, next.Height, err)
	}

	// The transaction in block H, its result in H+1's results.
	if p.TxProof.Index != int64(p.Index) || p.ResultProof.Index != int64(p.Index) || p.TxProof.Total != p.ResultProof.Total {
		return nil, fmt.Errorf("consortium: the transaction proof (%d of %d) and the result proof (%d of %d) are not both for position %d",
			p.TxProof.Index, p.TxProof.Total, p.ResultProof.Index, p.ResultProof.Total, p.Index)
	}
	data := ours.Tx
	if p.Bundle != nil {
		recs, err := lightclient.Unbundle(p.Bundle)
		if err != nil {
			return nil, err
		}
		if int(p.Member) >= len(recs) || !bytes.Equal(recs[p.Member], ours.Tx) {
			return nil, fmt.Errorf("consortium: record %d of the bundle is not the transaction", p.Member)
		}
		data = p.Bundle
	}
	tp := types.TxProof{RootHash: p.Header.DataHash, Data: data, Proof: p.TxProof}
	if err := tp.Validate(p.Header.DataHash); err != nil {
		return nil, fmt.Errorf("consortium: transaction %d of CometBFT block %d: %w", p.Index, p.Height, err)
	}
	if p.Result.Code != abci.CodeTypeOK {
		return nil, fmt.Errorf("consortium: the transaction's result code is %d: refused", p.Result.Code)
	}
	if p.Bundle != nil {
		recs, _ := lightclient.Unbundle(p.Bundle)
		switch {
		case len(p.Result.Data) != len(recs):
			return nil, fmt.Errorf("consortium: the bundle's result has %d codes for %d records", len(p.Result.Data), len(recs))
		case p.Result.Data[p.Member] != 0:
			return nil, fmt.Errorf("consortium: the bundle's result refuses record %d (code %d)", p.Member, p.Result.Data[p.Member])
		}
	} else if !bytes.Equal(p.Result.Data, ours.TxID[:]) {
		return nil, fmt.Errorf("consortium: the result's data is not the transaction's id")
	}
	leaf, err := resultBytes(&p.Result)
	if err != nil {
		return nil, err
	}
	if err := p.ResultProof.Verify(next.LastResultsHash, leaf); err != nil {
		return nil, fmt.Errorf("consortium: result %d is not under header %d's results hash: %w", p.Index, next.Height, err)
	}

	// Our header tells the same story.
	switch {
	case ours.Header.Height != uint64(p.Height):
		return nil, fmt.Errorf("consortium: our block is %d, CometBFT's %d", ours.Header.Height, p.Height)
	case !bytes.Equal(next.AppHash, ours.Header.StateHash[:]):
		return nil, fmt.Errorf("consortium: our state hash after block %d is not the application hash signed in header %d", p.Height, next.Height)
	case !sameTime(ours.Header.Time, p.Header.Time, p.Height == g.InitialHeight):
		return nil, fmt.Errorf("consortium: our block time %d is not CometBFT's %d", ours.Header.Time, p.Header.Time.UnixNano())
	}

	r = &Report{ChainID: p.ChainID, Height: p.Height, Index: p.Index, Sets: sets,
		Total: last.Validators.TotalVotingPower(), Validators: last.Validators.Size()}
	for i, s := range next.Commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit {
			r.Signed += last.Validators.Validators[i].VotingPower
			r.Signers++
		}
	}
	return r, nil
}

// sameTime: our block's time is CometBFT's, except that the first block,
// whose CometBFT time is the genesis time, is one nanosecond later in ours
// (our blocks' times increase from the genesis time).
func sameTime(ours int64, theirs time.Time, first bool) bool {
	t := theirs.UnixNano()
	return ours == t || first && ours == t+1
}

// resultBytes is a result's leaf in CometBFT's results tree.
func resultBytes(r *abci.ExecTxResult) ([]byte, error) {
	d := abci.ExecTxResult{Code: r.Code, Data: r.Data, GasWanted: r.GasWanted, GasUsed: r.GasUsed}
	b, err := d.Marshal()
	if err != nil {
		return nil, fmt.Errorf("consortium: result: %w", err)
	}
	return b, nil
}

// verifyChain checks each hop against the one before, the first against
// the genesis validators, and returns how many validator sets it crossed.
func verifyChain(g *Genesis, chain []Hop) (int, error) {
	sets := 1
	var trusted *Hop
	for i := range chain {
		if err := verifyHop(g, trusted, chain[i]); err != nil {
			return 0, fmt.Errorf("consortium: chain[%d]: %w", i, err)
		}
		if trusted == nil && !bytes.Equal(chain[i].Signed.ValidatorsHash, g.Validators.Hash()) ||
			trusted != nil && !bytes.Equal(chain[i].Signed.ValidatorsHash, trusted.Signed.ValidatorsHash) {
			sets++
		}
		trusted = &chain[i]
	}
	return sets, nil
}

// verifyHop checks signed header h: its own consistency (chain id, commit
// for its header, its validator set), every signature of its commit, more
// than 2/3 of its set's power, and that it follows from what is trusted.
// From the genesis (trusted nil), the genesis set is its set, or more than
// 1/3 of the genesis power signed it; after a trusted signed header, it
// passes CometBFT's light.Verify (adjacent: its set is the one the trusted
// header named next; not adjacent: more than 1/3 of the trusted set's
// power signed it).
func verifyHop(g *Genesis, trusted *Hop, h Hop) error {
	if h.Signed == nil || h.Signed.Header == nil || h.Signed.Commit == nil || h.Validators == nil {
		return errors.New("incomplete signed header")
	}
	sh := h.Signed
	if err := sh.ValidateBasic(g.ChainID); err != nil {
		return fmt.Errorf("signed header %d: %w", sh.Height, err)
	}
	if err := sh.Commit.BlockID.ValidateBasic(); err != nil {
		return fmt.Errorf("signed header %d: commit: %w", sh.Height, err)
	}
	if !bytes.Equal(sh.ValidatorsHash, h.Validators.Hash()) {
		return fmt.Errorf("signed header %d: the validator set given is not the one its header names", sh.Height)
	}
	if trusted == nil {
		if sh.Height < g.InitialHeight {
			return fmt.Errorf("signed header %d is before the genesis (initial height %d)", sh.Height, g.InitialHeight)
		}
		if !bytes.Equal(sh.ValidatorsHash, g.Validators.Hash()) {
			if err := g.Validators.VerifyCommitLightTrustingAllSignatures(g.ChainID, sh.Commit, light.DefaultTrustLevel); err != nil {
				return fmt.Errorf("signed header %d: its validators are not the genesis set, and the genesis set did not vouch for them: %w", sh.Height, err)
			}
		}
	} else if err := light.Verify(trusted.Signed, trusted.Validators, sh, h.Validators,
		trustingPeriod, sh.Time, time.Nanosecond, light.DefaultTrustLevel); err != nil {
		return fmt.Errorf("signed header %d does not follow from signed header %d: %w", sh.Height, trusted.Signed.Height, err)
	}
	if err := h.Validators.VerifyCommitLightAllSignatures(g.ChainID, sh.Commit.BlockID, sh.Height, sh.Commit); err != nil {
		return fmt.Errorf("signed header %d: %w", sh.Height, err)
	}
	return nil
}
