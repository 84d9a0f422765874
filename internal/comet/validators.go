package comet

import (
	"bytes"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"

	"github.com/epiledger/epiledger/internal/state"
)

// The consortium's validators (issue 13, point 6). The genesis names
// them (state.Genesis.Validators, and CometBFT's genesis the same
// keys and powers); a validator change approved by the authorities is
// decided by the state machine, which records the block's updates
// (state.ReadValidatorUpdates); FinalizeBlock hands them to CometBFT,
// which applies them two heights later. The solo engine records the
// same changes and applies none: it has no validators.

// GenesisValidators converts the validators of a CometBFT genesis (their
// keys Ed25519) to the epiledger genesis's.
func GenesisValidators(vals []Validator) ([]state.GenesisValidator, error) {
	out := make([]state.GenesisValidator, len(vals))
	for i, v := range vals {
		k, ok := v.PubKey.(ed25519.PubKey)
		if !ok || len(k) != 32 {
			return nil, fmt.Errorf("comet: validator %q: only Ed25519 consensus keys are supported", v.Name)
		}
		out[i] = state.GenesisValidator{Org: v.Name, Power: v.Power}
		copy(out[i].Key[:], k)
	}
	if err := state.CheckValidators(out); err != nil {
		return nil, fmt.Errorf("comet: %w", err)
	}
	return out, nil
}

// validatorsOfGenesis are the CometBFT validators a genesis names.
func validatorsOfGenesis(g *state.Genesis) []Validator {
	out := make([]Validator, len(g.Validators))
	for i, v := range g.Validators {
		out[i] = Validator{PubKey: ed25519.PubKey(bytes.Clone(v.Key[:])), Power: v.Power, Name: v.Org}
	}
	return out
}

// checkInitValidators refuses a CometBFT genesis whose validators are not
// the ones the epiledger genesis names (when it names any): the ledger's
// validator set and CometBFT's must be one, or a decided leave could name
// a key CometBFT does not know.
func checkInitValidators(g *state.Genesis, vals []abci.ValidatorUpdate) error {
	if len(g.Validators) == 0 {
		return nil
	}
	want := map[[32]byte]int64{}
	for _, v := range g.Validators {
		want[v.Key] = v.Power
	}
	if len(vals) != len(want) {
		return fmt.Errorf("comet: the CometBFT genesis names %d validators, genesis.json %d: they must be the same", len(vals), len(want))
	}
	for _, v := range vals {
		pk, err := cryptoenc.PubKeyFromProto(v.PubKey)
		if err != nil {
			return fmt.Errorf("comet: a CometBFT genesis validator: %w", err)
		}
		var k [32]byte
		copy(k[:], pk.Bytes())
		if p, ok := want[k]; !ok || p != v.Power || len(pk.Bytes()) != 32 {
			return fmt.Errorf("comet: CometBFT genesis validator %X (power %d) is not in genesis.json's validators: they must be the same", pk.Address(), v.Power)
		}
	}
	return nil
}

// validatorUpdates are the updates the block at height decided, read
// from r (the block's batch, before it commits), as CometBFT takes them.
func validatorUpdates(r interface {
	Get([]byte) ([]byte, bool, error)
}, height uint64) ([]abci.ValidatorUpdate, error) {
	us, err := state.ReadValidatorUpdates(r, height)
	if err != nil || len(us) == 0 {
		return nil, err
	}
	out := make([]abci.ValidatorUpdate, len(us))
	for i, u := range us {
		out[i] = abci.Ed25519ValidatorUpdate(bytes.Clone(u.Key[:]), u.Power)
	}
	return out, nil
}
