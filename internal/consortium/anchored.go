package consortium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cometbft/cometbft/light"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
)

// Anchored is the CometBFT level of a proof up the hierarchy of regions
// (blocks.UpLink.Comet, issue 15): the consortium section of a
// transaction's proof on a CometBFT child chain, checked from the genesis
// validators its parent registered, and CometBFT's headers from the one
// after the section's last signed header up to, not including, the header
// the parent's light anchor carries, each the parent of the next.
type Anchored struct {
	Consortium *View `json:"consortium"`
	// Headers are CometBFT headers in protobuf encoding.
	Headers [][]byte `json:"headers"`
}

// MaxAnchoredHeaders bounds the headers between a proven block and the
// anchored one: a relay anchors far more often.
const MaxAnchoredHeaders = 10000

// CheckAnchored is the blocks.CometCheck of a CometBFT level: below, a
// transaction's proof on the chain reg registered, is in that chain's
// blocks, as its signed headers from its genesis validators say (Verify),
// and those blocks lead, header by header, to the one the light anchor
// carries.
func CheckAnchored(below *blocks.Proof, link json.RawMessage, anchor *ledger.LightAnchor, reg *ledger.RegisterChild) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("consortium: malformed: %v", r)
		}
	}()
	var a Anchored
	dec := json.NewDecoder(bytes.NewReader(link))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return fmt.Errorf("consortium: the CometBFT level: %w", err)
	}
	if dec.More() {
		return errors.New("consortium: the CometBFT level: data after the JSON object")
	}
	if a.Consortium == nil {
		return errors.New("consortium: the CometBFT level has no consortium section")
	}
	if len(a.Headers) > MaxAnchoredHeaders {
		return fmt.Errorf("consortium: more than %d headers up to the anchored one", MaxAnchoredHeaders)
	}
	p, err := a.Consortium.Proof()
	if err != nil {
		return err
	}
	vals := make([]lightclient.Validator, len(reg.Validators))
	for i, v := range reg.Validators {
		vals[i] = lightclient.Validator{Key: v.Key, Power: v.Power}
	}
	set, err := lightclient.GenesisSet(vals)
	if err != nil {
		return err
	}
	g := &Genesis{ChainID: lightclient.ChainID(reg.ChainID, reg.Genesis), InitialHeight: 1, Validators: set, Hash: reg.Genesis}
	if _, err := Verify(g, below, p); err != nil {
		return err
	}
	top, err := lightclient.DecodeSignedHeader(anchor.SignedHeader)
	if err != nil {
		return fmt.Errorf("consortium: the light anchor: %w", err)
	}
	prev := p.Chain[len(p.Chain)-1].Signed.Header
	if len(a.Headers) == 0 && prev.Height == top.Height {
		if !bytes.Equal(prev.Hash(), top.Hash()) {
			return fmt.Errorf("consortium: signed header %d is not the one the light anchor carries", prev.Height)
		}
		return nil
	}
	for i, raw := range append(a.Headers, nil) {
		next := top.Header
		if raw != nil {
			var hp cmtproto.Header
			if err := hp.Unmarshal(raw); err != nil {
				return fmt.Errorf("consortium: headers[%d]: %w", i, err)
			}
			h, err := types.HeaderFromProto(&hp)
			if err != nil {
				return fmt.Errorf("consortium: headers[%d]: %w", i, err)
			}
			next = &h
		}
		if next.Height != prev.Height+1 {
			return fmt.Errorf("consortium: header %d does not follow header %d", next.Height, prev.Height)
		}
		if err := light.VerifyBackwards(prev, next); err != nil {
			return fmt.Errorf("consortium: header %d is not the parent of header %d: %w", prev.Height, next.Height, err)
		}
		prev = next
	}
	return nil
}
