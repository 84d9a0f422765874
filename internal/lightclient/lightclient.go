// Package lightclient verifies a CometBFT chain's signed headers inside
// another chain's state machine (issue 15, docs/REGIONS.md step 4): a
// parent region's chain keeps, for each CometBFT child, the headers it
// verified, and checks each new one with CometBFT's own light-client
// rules (light.VerifyAdjacent and light.VerifyNonAdjacent), taking "now"
// from its own block, never from a clock. It is the state machine's half
// of IBC's 07-tendermint client, without IBC: what a verified header
// leaves behind is a Consensus, and the next header is verified from one.
//
// Everything here is deterministic and does no I/O: the inputs are bytes
// from a transaction and values from the parent's state. CometBFT's
// verifiers are not all written for hostile input (a nil validator set or
// a malformed block id panics), so Verify recovers and refuses.
package lightclient

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	cmted "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/light"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"
)

// MaxValidators bounds a child's validator set in an anchor, so that an
// anchor's size and its verification cost stay small (an anchor of a set
// of 100 is about 20 KB).
const MaxValidators = 128

// Client is what the parent registered of a CometBFT child: its CometBFT
// chain id and the light client's parameters.
type Client struct {
	ChainID string
	// TrustingPeriod: a verified header stops being a trust root this
	// long after its time (validators that have left may sign another
	// history once their stake is no longer at risk).
	TrustingPeriod time.Duration
	// MaxClockDrift: how far ahead of the parent's block time a child's
	// header may be.
	MaxClockDrift time.Duration
}

// Consensus is what the parent keeps of one verified header: enough to
// verify the next one from it and to prove what the header commits to
// (the application hash is the child's state after the block before it).
type Consensus struct {
	Height int64
	Time   int64 // Unix nanoseconds
	// BlockHash is the header's hash (the commit's block id).
	BlockHash []byte
	// AppHash: the child's state after block Height-1.
	AppHash []byte
	// ValidatorsHash signed this header; NextValidatorsHash signs the
	// next: the trust root of the following anchor.
	ValidatorsHash, NextValidatorsHash []byte
	// LastBlockHash is header Height-1's hash; LastResultsHash and
	// DataHash commit to block Height-1's results and block Height's
	// transactions.
	LastBlockHash, LastResultsHash, DataHash []byte
}

// Genesis is the trust root of a child before its first anchor: height
// initialHeight-1, one nanosecond before the genesis time (block
// initialHeight's time is the genesis time and verification wants
// strictly later), and the genesis validators as the next set.
func Genesis(initialHeight int64, genesisTime time.Time, vals *types.ValidatorSet) Consensus {
	return Consensus{Height: initialHeight - 1, Time: genesisTime.UnixNano() - 1, NextValidatorsHash: vals.Hash()}
}

// ChainID is the CometBFT chain id of an epiledger chain id and genesis
// hash: the id (cut to fit) and the first bytes of the hash, so that a
// genesis that differs in anything is another CometBFT network.
func ChainID(id string, genesisHash [32]byte) string {
	if len(id) > types.MaxChainIDLen-9 {
		id = id[:types.MaxChainIDLen-9]
	}
	return fmt.Sprintf("%s-%x", id, genesisHash[:4])
}

// Validator is a genesis validator as epiledger's genesis names it.
type Validator struct {
	Key   [32]byte // Ed25519 consensus key
	Power int64
}

// GenesisSet is the validator set CometBFT starts a chain with from its
// genesis validators (it sorts them by power, then address).
func GenesisSet(vals []Validator) (set *types.ValidatorSet, err error) {
	defer func() {
		if r := recover(); r != nil {
			set, err = nil, fmt.Errorf("lightclient: genesis validators: %v", r)
		}
	}()
	if len(vals) == 0 || len(vals) > MaxValidators {
		return nil, fmt.Errorf("lightclient: 1 to %d genesis validators, not %d", MaxValidators, len(vals))
	}
	seen := map[[32]byte]bool{}
	list := make([]*types.Validator, len(vals))
	for i, v := range vals {
		if seen[v.Key] {
			return nil, fmt.Errorf("lightclient: genesis validator %d repeats a key", i)
		}
		if v.Power <= 0 {
			return nil, fmt.Errorf("lightclient: genesis validator %d has no power", i)
		}
		seen[v.Key] = true
		list[i] = types.NewValidator(cmted.PubKey(bytes.Clone(v.Key[:])), v.Power)
	}
	set = types.NewValidatorSet(list)
	return set, set.ValidateBasic()
}

// Anchor is a CometBFT header as a relay carries it: the signed header
// (header and commit) and the validator set that signed it, in
// CometBFT's protobuf encoding; for a header not right after the trusted
// one, also the validator set the trusted header named next.
type Anchor struct {
	SignedHeader, Validators, TrustedValidators []byte
}

// Encode is the anchor of signed header sh, its validators vals and, if
// not nil, the trusted header's next validators.
func Encode(sh *types.SignedHeader, vals, trusted *types.ValidatorSet) (Anchor, error) {
	var a Anchor
	var err error
	if a.SignedHeader, err = sh.ToProto().Marshal(); err != nil {
		return a, fmt.Errorf("lightclient: signed header: %w", err)
	}
	if a.Validators, err = marshalSet(vals); err != nil {
		return a, err
	}
	if trusted != nil {
		if a.TrustedValidators, err = marshalSet(trusted); err != nil {
			return a, err
		}
	}
	return a, nil
}

func marshalSet(v *types.ValidatorSet) ([]byte, error) {
	p, err := v.ToProto()
	if err != nil {
		return nil, fmt.Errorf("lightclient: validators: %w", err)
	}
	return p.Marshal()
}

// The ways a header fails, for the state machine's result codes. Each
// error Verify returns wraps one of them; its text says more.
var (
	// ErrMalformed: the bytes do not decode to a signed header and a
	// validator set.
	ErrMalformed = errors.New("malformed")
	// ErrInvalid: not this chain's, not after the trusted header, its
	// set not the one it names, or not signed by more than 2/3 of it.
	ErrInvalid = errors.New("invalid")
	// ErrUntrusted: the trusted header's validators signed less than a
	// third of the new header: anchor a header in between first.
	ErrUntrusted = errors.New("cannot be trusted from the trusted header")
	// ErrExpired: the trusted header is older than the trusting period.
	ErrExpired = errors.New("trusted header expired")
	// ErrTrustedSet: the trusted validators given are not the set the
	// trusted header named next (a stale or forged set).
	ErrTrustedSet = errors.New("not the trusted header's next validators")
)

// Verify checks anchor a against trusted, the consensus of a verified
// header below it, for client c, with now the parent's block time. It
// returns the new header's consensus.
func Verify(c Client, trusted Consensus, a Anchor, now time.Time) (_ Consensus, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrMalformed, r)
		}
	}()
	sh, err := decodeHeader(a.SignedHeader)
	if err != nil {
		return Consensus{}, err
	}
	if err := sh.ValidateBasic(c.ChainID); err != nil {
		return Consensus{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := sh.Commit.BlockID.ValidateBasic(); err != nil {
		return Consensus{}, fmt.Errorf("%w: commit: %v", ErrInvalid, err)
	}
	vals, err := decodeSet(a.Validators, "validators")
	if err != nil {
		return Consensus{}, err
	}
	if sh.Height <= trusted.Height {
		return Consensus{}, fmt.Errorf("%w: height %d is not above the trusted height %d", ErrInvalid, sh.Height, trusted.Height)
	}
	th := &types.SignedHeader{Header: &types.Header{ChainID: c.ChainID, Height: trusted.Height,
		Time: time.Unix(0, trusted.Time).UTC(), NextValidatorsHash: trusted.NextValidatorsHash}}
	if sh.Height == trusted.Height+1 {
		if len(a.TrustedValidators) != 0 {
			return Consensus{}, fmt.Errorf("%w: an adjacent header carries no trusted validators", ErrMalformed)
		}
		err = light.VerifyAdjacent(th, sh, vals, c.TrustingPeriod, now, c.MaxClockDrift)
	} else {
		tv, derr := decodeSet(a.TrustedValidators, "trusted validators")
		if derr != nil {
			return Consensus{}, derr
		}
		// light does not check that the trusted set is the one the
		// trusted header named: without this a relay could bring any set.
		if !bytes.Equal(tv.Hash(), trusted.NextValidatorsHash) {
			return Consensus{}, fmt.Errorf("%w (height %d)", ErrTrustedSet, trusted.Height)
		}
		err = light.VerifyNonAdjacent(th, tv, sh, vals, c.TrustingPeriod, now, c.MaxClockDrift, light.DefaultTrustLevel)
	}
	if err != nil {
		return Consensus{}, classify(err)
	}
	return Consensus{Height: sh.Height, Time: sh.Time.UnixNano(), BlockHash: sh.Hash(), AppHash: sh.AppHash,
		ValidatorsHash: sh.ValidatorsHash, NextValidatorsHash: sh.NextValidatorsHash,
		LastBlockHash: sh.LastBlockID.Hash, LastResultsHash: sh.LastResultsHash, DataHash: sh.DataHash}, nil
}

// classify maps light's errors to ours.
func classify(err error) error {
	var expired light.ErrOldHeaderExpired
	var untrusted light.ErrNewValSetCantBeTrusted
	switch {
	case errors.As(err, &expired):
		return fmt.Errorf("%w: %v", ErrExpired, err)
	case errors.As(err, &untrusted):
		return fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}

// DecodeSignedHeader reads a signed header as an anchor carries it: both
// its header and its commit present and well formed.
func DecodeSignedHeader(b []byte) (*types.SignedHeader, error) { return decodeHeader(b) }

func decodeHeader(b []byte) (*types.SignedHeader, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: no signed header", ErrMalformed)
	}
	var p cmtproto.SignedHeader
	if err := p.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: signed header: %v", ErrMalformed, err)
	}
	if p.Header == nil || p.Commit == nil {
		return nil, fmt.Errorf("%w: signed header without header or commit", ErrMalformed)
	}
	sh, err := types.SignedHeaderFromProto(&p)
	if err != nil {
		return nil, fmt.Errorf("%w: signed header: %v", ErrMalformed, err)
	}
	return sh, nil
}

func decodeSet(b []byte, what string) (*types.ValidatorSet, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: no %s", ErrMalformed, what)
	}
	var p cmtproto.ValidatorSet
	if err := p.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	if len(p.Validators) == 0 || len(p.Validators) > MaxValidators {
		return nil, fmt.Errorf("%w: %s: 1 to %d validators", ErrMalformed, what, MaxValidators)
	}
	for _, v := range p.Validators {
		// Only Ed25519 keys: every other key type would change what a
		// signature check costs and how it is batched.
		if v == nil || v.PubKey.GetEd25519() == nil || len(v.PubKey.GetEd25519()) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: %s: a validator without an Ed25519 key", ErrMalformed, what)
		}
	}
	set, err := types.ValidatorSetFromProto(&p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	return set, nil
}
