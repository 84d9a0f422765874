package ledger

// Engines a child chain can run (RegisterChild.Engine).
const (
	EngineSolo     = "solo"
	EngineCometBFT = "cometbft"
)

// RegisterChild registers, on a parent chain, the chain of one of its
// child regions (issue 15, docs/REGIONS.md): its chain id, its region (a
// GB/T 2260 code one level below the parent's), the hash of its genesis,
// its engine and, for a solo child, the key of its chain authority, whose
// signature vouches for each of its headers. The parent's chain authority
// signs it.
type RegisterChild struct {
	ChainID   string
	Region    string
	Genesis   Hash
	Engine    string
	Authority [32]byte
}

func (*RegisterChild) Kind() Kind   { return KindRegisterChild }
func (*RegisterChild) Signers() int { return 1 }
func (b *RegisterChild) fields(c *codec) {
	c.str(&b.ChainID, "chain_id", MaxChainIDLen)
	if c.mode == checking && b.ChainID == "" {
		c.fail("chain_id", "required")
	}
	c.str(&b.Region, "region", MaxTagLen)
	c.bytes32((*[32]byte)(&b.Genesis), "genesis")
	c.str(&b.Engine, "engine", MaxTagLen)
	if c.mode == checking && b.Engine != EngineSolo && b.Engine != EngineCometBFT {
		c.fail("engine", "solo or cometbft")
	}
	c.bytes32(&b.Authority, "authority")
}

// RegisterParent registers, on a child chain, its parent region's chain,
// whose headers the child then follows through anchors (it needs them to
// check what comes from above). The same fields as RegisterChild; the
// region is the one above this chain's. The child's authority signs it.
type RegisterParent struct{ RegisterChild }

func (*RegisterParent) Kind() Kind { return KindRegisterParent }

// Anchor carries a child chain's block header into its parent: signed by
// the child's registered authority (a solo child), it tells the parent
// that block Height of chain ChainID has this hash and this state hash.
// Relayed by any node of the child; the parent's state machine checks it
// against what it holds of the child (state.Block.anchor).
type Anchor struct {
	Version    uint32
	Height     int64
	PrevHash   Hash
	MerkleRoot Hash
	Time       int64 // Unix nanoseconds, as the header has it
	ChainID    string
	Region     string
	NumTxs     uint32
	TxBytes    int64
	StateHash  Hash
}

func (*Anchor) Kind() Kind   { return KindAnchor }
func (*Anchor) Signers() int { return 1 }
func (b *Anchor) fields(c *codec) {
	c.u32(&b.Version, "version")
	c.i64(&b.Height, "height")
	if c.mode == checking && b.Height < 1 {
		c.fail("height", "at least 1")
	}
	c.bytes32((*[32]byte)(&b.PrevHash), "prev_hash")
	c.bytes32((*[32]byte)(&b.MerkleRoot), "merkle_root")
	c.i64(&b.Time, "time")
	c.str(&b.ChainID, "chain_id", MaxChainIDLen)
	if c.mode == checking && b.ChainID == "" {
		c.fail("chain_id", "required")
	}
	c.str(&b.Region, "region", MaxTagLen)
	c.u32(&b.NumTxs, "num_txs")
	c.i64(&b.TxBytes, "tx_bytes")
	if c.mode == checking && b.TxBytes < 0 {
		c.fail("tx_bytes", "not negative")
	}
	c.bytes32((*[32]byte)(&b.StateHash), "state_hash")
}

// AnchorOf is the anchor of header h.
func AnchorOf(h *Header) *Anchor {
	return &Anchor{Version: h.Version, Height: int64(h.Height), PrevHash: h.PrevHash, MerkleRoot: h.MerkleRoot, Time: h.Time,
		ChainID: h.ChainID, Region: h.Region, NumTxs: h.NumTxs, TxBytes: int64(h.TxBytes), StateHash: h.StateHash}
}

// Header is the child's header the anchor carries.
func (b *Anchor) Header() Header {
	return Header{Version: b.Version, Height: uint64(b.Height), PrevHash: b.PrevHash, MerkleRoot: b.MerkleRoot, Time: b.Time,
		ChainID: b.ChainID, Region: b.Region, NumTxs: b.NumTxs, TxBytes: uint64(b.TxBytes), StateHash: b.StateHash}
}
