package consortium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	abci "github.com/cometbft/cometbft/abci/types"
	_ "github.com/cometbft/cometbft/crypto/ed25519" // registers the key type for cmtjson
	"github.com/cometbft/cometbft/crypto/merkle"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/blocks"
)

// TxProof is the answer of GET /v1/tx/{hash}/proof and the file of
// "epiledger tx proof": the inclusion proof in our block and, from a node
// of a CometBFT consortium, the consortium section.
type TxProof struct {
	blocks.ProofView
	Consortium *View `json:"consortium,omitempty"`
}

// View is the consortium section in JSON. CometBFT's objects (Merkle
// proofs, headers, signed headers, validators) are in CometBFT's own JSON,
// as its RPC serves them (/block, /commit, /validators), so that they can
// be compared with any node's.
type View struct {
	Version     string          `json:"version"`
	ChainID     string          `json:"chain_id"`
	Height      int64           `json:"height"`
	Index       uint32          `json:"tx_index"`
	Bundle      []byte          `json:"bundle,omitempty"`
	Member      uint32          `json:"bundle_member,omitempty"`
	TxProof     json.RawMessage `json:"tx_proof"`
	Result      ResultView      `json:"result"`
	ResultProof json.RawMessage `json:"result_proof"`
	Header      json.RawMessage `json:"header"`
	Chain       []HopView       `json:"chain"`
}

// ResultView is a result's deterministic fields, the bytes CometBFT's
// results hash commits to.
type ResultView struct {
	Code      uint32 `json:"code"`
	Data      []byte `json:"data"`
	GasWanted int64  `json:"gas_wanted"`
	GasUsed   int64  `json:"gas_used"`
}

// HopView is a signed header and its height's validators.
type HopView struct {
	SignedHeader json.RawMessage `json:"signed_header"`
	Validators   json.RawMessage `json:"validators"`
}

// ViewOf converts p for JSON.
func ViewOf(p *Proof) (*View, error) {
	v := &View{Version: Version, ChainID: p.ChainID, Height: p.Height, Index: p.Index, Bundle: p.Bundle, Member: p.Member,
		Result: ResultView{Code: p.Result.Code, Data: p.Result.Data, GasWanted: p.Result.GasWanted, GasUsed: p.Result.GasUsed},
		Chain:  make([]HopView, len(p.Chain))}
	var err error
	enc := func(x any) json.RawMessage {
		b, e := cmtjson.Marshal(x)
		err = errors.Join(err, e)
		return b
	}
	v.TxProof, v.ResultProof, v.Header = enc(p.TxProof), enc(p.ResultProof), enc(p.Header)
	for i, h := range p.Chain {
		v.Chain[i] = HopView{SignedHeader: enc(h.Signed), Validators: enc(h.Validators.Validators)}
	}
	if err != nil {
		return nil, fmt.Errorf("consortium: %w", err)
	}
	return v, nil
}

// Proof converts back; Verify then checks it. It checks the form only
// (every part present, Merkle proofs well formed, validator sets valid).
func (v *View) Proof() (p *Proof, err error) {
	defer func() {
		// CometBFT's decoders are not all written for hostile input.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("consortium: malformed: %v", r)
		}
	}()
	if v.Version != Version {
		return nil, fmt.Errorf("consortium.version: %q, want %q", v.Version, Version)
	}
	if v.Bundle == nil && v.Member != 0 {
		return nil, errors.New("consortium.bundle_member: a member of no bundle")
	}
	p = &Proof{ChainID: v.ChainID, Height: v.Height, Index: v.Index, Bundle: v.Bundle, Member: v.Member,
		Result: abci.ExecTxResult{Code: v.Result.Code, Data: v.Result.Data, GasWanted: v.Result.GasWanted, GasUsed: v.Result.GasUsed}}
	if err := decodeProof("consortium.tx_proof", v.TxProof, &p.TxProof); err != nil {
		return nil, err
	}
	if err := decodeProof("consortium.result_proof", v.ResultProof, &p.ResultProof); err != nil {
		return nil, err
	}
	p.Header = new(types.Header)
	if err := strict("consortium.header", v.Header, p.Header); err != nil {
		return nil, err
	}
	if len(v.Chain) == 0 {
		return nil, errors.New("consortium.chain: empty")
	}
	for i, hv := range v.Chain {
		var h Hop
		h.Signed = new(types.SignedHeader)
		if err := strict(fmt.Sprintf("consortium.chain[%d].signed_header", i), hv.SignedHeader, h.Signed); err != nil {
			return nil, err
		}
		if h.Signed.Header == nil || h.Signed.Commit == nil {
			return nil, fmt.Errorf("consortium.chain[%d].signed_header: no header or no commit", i)
		}
		var vals []*types.Validator
		if err := strict(fmt.Sprintf("consortium.chain[%d].validators", i), hv.Validators, &vals); err != nil {
			return nil, err
		}
		for k, val := range vals {
			if val == nil {
				return nil, fmt.Errorf("consortium.chain[%d].validators[%d]: null", i, k)
			}
		}
		set, err := types.ValidatorSetFromExistingValidators(vals)
		if err != nil {
			return nil, fmt.Errorf("consortium.chain[%d].validators: %w", i, err)
		}
		h.Validators = set
		p.Chain = append(p.Chain, h)
	}
	return p, nil
}

func decodeProof(field string, raw json.RawMessage, p *merkle.Proof) error {
	if err := strict(field, raw, p); err != nil {
		return err
	}
	if err := p.ValidateBasic(); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

// strict decodes CometBFT's JSON, refusing a missing part.
func strict(field string, raw json.RawMessage, dst any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return fmt.Errorf("%s: missing", field)
	}
	if err := cmtjson.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

// ParseTxProof reads a proof file (TxProof's JSON): the inclusion proof,
// and the consortium section if it has one (nil if not). It refuses
// unknown fields and trailing data. Neither result is checked: call
// blocks.Proof.Check, or Verify when there is a consortium section.
func ParseTxProof(b []byte) (*blocks.Proof, *Proof, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var v TxProof
	if err := dec.Decode(&v); err != nil {
		return nil, nil, fmt.Errorf("not a proof: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("not a proof: data after the JSON object")
	}
	ours, err := v.ProofView.Proof()
	if err != nil {
		return nil, nil, err
	}
	if v.Consortium == nil {
		return ours, nil, nil
	}
	c, err := v.Consortium.Proof()
	if err != nil {
		return nil, nil, err
	}
	return ours, c, nil
}
