package ledger

import (
	"crypto/sha256"
	"fmt"
)

// BlockVersion is the header format version.
const BlockVersion = 1

// Header is a block header: the seed's {version, prevBlockHash, merkleRoot,
// time, attribute} plus the height, the body's count and size (so a header
// alone says how much it commits to), and the state hash after the block,
// which lets two nodes compare state by comparing headers.
type Header struct {
	Version    uint32
	Height     uint64
	PrevHash   Hash
	MerkleRoot Hash  // RFC 6962 root over the transactions' exact bytes
	Time       int64 // Unix nanoseconds; the only clock the state machine sees
	ChainID    string
	Region     string
	NumTxs     uint32
	TxBytes    uint64
	StateHash  Hash
}

// Bytes is the canonical encoding of the header.
func (h *Header) Bytes() []byte {
	var e encoder
	e.u32(h.Version)
	e.u64(h.Height)
	e.raw(h.PrevHash[:])
	e.raw(h.MerkleRoot[:])
	e.i64(h.Time)
	e.str(h.ChainID)
	e.str(h.Region)
	e.u32(h.NumTxs)
	e.u64(h.TxBytes)
	e.raw(h.StateHash[:])
	return e.b
}

// Hash is the block hash: a labelled SHA-256 of the header bytes.
func (h *Header) Hash() Hash {
	s := sha256.New()
	s.Write([]byte(labelBlock))
	s.Write(h.Bytes())
	var out Hash
	s.Sum(out[:0])
	return out
}

// DecodeHeader parses a canonical header encoding.
func DecodeHeader(b []byte) (*Header, error) {
	d := decoder{b: b}
	h := &Header{}
	h.Version = d.u32("version")
	h.Height = d.u64("height")
	h.PrevHash = d.hash("prev hash")
	h.MerkleRoot = d.hash("merkle root")
	h.Time = d.i64("time")
	h.ChainID = d.str("chain id", MaxChainIDLen)
	h.Region = d.str("region", MaxTagLen)
	h.NumTxs = d.u32("tx count")
	h.TxBytes = d.u64("tx bytes")
	h.StateHash = d.hash("state hash")
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if h.Version != BlockVersion {
		return nil, fmt.Errorf("header: %w: unknown version %d", ErrNonCanonical, h.Version)
	}
	return h, nil
}
