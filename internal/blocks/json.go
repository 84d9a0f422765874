package blocks

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
)

// HeaderView is a header in JSON: every field, plus its hash, so that it
// can be re-encoded and re-hashed offline.
type HeaderView struct {
	Hash       string `json:"hash"`
	Version    uint32 `json:"version"`
	Height     uint64 `json:"height"`
	PrevHash   string `json:"prev_hash"`
	MerkleRoot string `json:"merkle_root"`
	Time       int64  `json:"time_unix_nano"`
	ChainID    string `json:"chain_id"`
	Region     string `json:"region"`
	NumTxs     uint32 `json:"num_txs"`
	TxBytes    uint64 `json:"tx_bytes"`
	StateHash  string `json:"state_hash"`
}

// HeaderJSON converts a header for JSON.
func HeaderJSON(h *ledger.Header) HeaderView {
	return HeaderView{Hash: h.Hash().String(), Version: h.Version, Height: h.Height, PrevHash: h.PrevHash.String(),
		MerkleRoot: h.MerkleRoot.String(), Time: h.Time, ChainID: h.ChainID, Region: h.Region,
		NumTxs: h.NumTxs, TxBytes: h.TxBytes, StateHash: h.StateHash.String()}
}

// Header converts back, checking the stated hash.
func (v HeaderView) Header() (*ledger.Header, error) {
	h := &ledger.Header{Version: v.Version, Height: v.Height, Time: v.Time, ChainID: v.ChainID, Region: v.Region, NumTxs: v.NumTxs, TxBytes: v.TxBytes}
	for _, f := range []struct {
		name string
		s    string
		dst  *ledger.Hash
	}{{"prev_hash", v.PrevHash, &h.PrevHash}, {"merkle_root", v.MerkleRoot, &h.MerkleRoot}, {"state_hash", v.StateHash, &h.StateHash}} {
		x, err := ledger.ParseHash(f.s)
		if err != nil {
			return nil, fmt.Errorf("header.%s: %w", f.name, err)
		}
		*f.dst = x
	}
	if h.Hash().String() != v.Hash {
		return nil, fmt.Errorf("header: fields do not hash to the stated hash %s", v.Hash)
	}
	return h, nil
}

// ProofView is an inclusion proof in JSON.
type ProofView struct {
	Tx     string     `json:"tx"`
	Bytes  string     `json:"tx_bytes"`
	Index  uint64     `json:"leaf_index"`
	Size   uint64     `json:"tree_size"`
	Path   []string   `json:"path"`
	Header HeaderView `json:"header"`
}

// ProofJSON converts a proof for JSON.
func ProofJSON(p *Proof) ProofView {
	v := ProofView{Tx: p.TxID.String(), Bytes: base64.StdEncoding.EncodeToString(p.Tx), Index: p.Index, Size: p.Size, Header: HeaderJSON(p.Header), Path: []string{}}
	for _, h := range p.Path {
		v.Path = append(v.Path, hex.EncodeToString(h[:]))
	}
	return v
}

// Proof converts back to a proof; Check then verifies it.
func (v ProofView) Proof() (*Proof, error) {
	id, err := ledger.ParseHash(v.Tx)
	if err != nil {
		return nil, fmt.Errorf("proof.tx: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(v.Bytes)
	if err != nil {
		return nil, fmt.Errorf("proof.tx_bytes: not base64")
	}
	h, err := v.Header.Header()
	if err != nil {
		return nil, err
	}
	p := &Proof{TxID: id, Tx: raw, Index: v.Index, Size: v.Size, Header: h}
	for i, s := range v.Path {
		x, err := ledger.ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("proof.path[%d]: %w", i, err)
		}
		p.Path = append(p.Path, x)
	}
	return p, nil
}
