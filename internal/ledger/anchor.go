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
// signature vouches for each of its headers. A CometBFT child names
// instead what its light client starts from: its genesis validators and
// time, and the trusting period and clock drift its headers are verified
// with (they are encoded only for such a child). The parent's chain
// authority signs it.
type RegisterChild struct {
	ChainID   string
	Region    string
	Genesis   Hash
	Engine    string
	Authority [32]byte
	// CometBFT children only.
	Validators     []ChildValidator
	GenesisTime    int64 // Unix seconds, the genesis file's "time"
	TrustingPeriod int64 // seconds
	MaxClockDrift  int64 // seconds
}

// ChildValidator is a CometBFT child's genesis validator: its Ed25519
// consensus key and voting power.
type ChildValidator struct {
	Key   [32]byte
	Power int64
}

// The bounds of a CometBFT child's registration.
const (
	// MaxChildValidators bounds a child's validator set, so that its
	// anchors stay small and cheap to verify.
	MaxChildValidators = 128
	// MaxTrustingPeriod and MaxClockDrift bound the light client's
	// parameters, in seconds.
	MaxTrustingPeriod = 365 * 24 * 3600
	MaxClockDrift     = 3600
)

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
	if b.Engine != EngineCometBFT || !c.ok() {
		return
	}
	n := len(b.Validators)
	c.count(&n, "validators", MaxChildValidators)
	if !c.ok() {
		return
	}
	if c.reading() {
		b.Validators = make([]ChildValidator, n)
	}
	if c.mode == checking && n == 0 {
		c.fail("validators", "a CometBFT chain names its genesis validators")
	}
	for i := range b.Validators {
		c.bytes32(&b.Validators[i].Key, "validators.key")
		c.i64(&b.Validators[i].Power, "validators.power")
		if b.Validators[i].Power < 1 || b.Validators[i].Power > MaxValidatorPower {
			c.fail("validators.power", "must be 1 to %d", MaxValidatorPower)
		}
	}
	c.time(&b.GenesisTime, "genesis_time")
	c.i64(&b.TrustingPeriod, "trusting_period")
	if b.TrustingPeriod < 1 || b.TrustingPeriod > MaxTrustingPeriod {
		c.fail("trusting_period", "must be 1 to %d seconds", MaxTrustingPeriod)
	}
	c.i64(&b.MaxClockDrift, "max_clock_drift")
	if b.MaxClockDrift < 1 || b.MaxClockDrift > MaxClockDrift {
		c.fail("max_clock_drift", "must be 1 to %d seconds", MaxClockDrift)
	}
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

// MaxLightAnchorPart bounds each part of a light anchor (a signed header
// or a validator set of at most MaxChildValidators).
const MaxLightAnchorPart = 64 << 10

// LightAnchor carries a CometBFT child's signed header into its parent:
// the header and commit, the validator set that signed it and, when the
// header does not follow the trusted one directly, the validator set the
// trusted header named next, all in CometBFT's protobuf encoding. The
// parent verifies it with CometBFT's light-client rules from its own
// record of the child's header at TrustedHeight (0: the child's genesis),
// with its block's time as now (state.Block.lightAnchor). The validators'
// signatures vouch for the header: any key the parent granted the role
// relay submits and signs it.
type LightAnchor struct {
	ChainID           string
	TrustedHeight     int64
	SignedHeader      []byte
	Validators        []byte
	TrustedValidators []byte
}

func (*LightAnchor) Kind() Kind   { return KindLightAnchor }
func (*LightAnchor) Signers() int { return 1 }
func (b *LightAnchor) fields(c *codec) {
	c.str(&b.ChainID, "chain_id", MaxChainIDLen)
	if c.mode == checking && b.ChainID == "" {
		c.fail("chain_id", "required")
	}
	c.i64(&b.TrustedHeight, "trusted_height")
	if b.TrustedHeight < 0 {
		c.fail("trusted_height", "not negative")
	}
	c.blob(&b.SignedHeader, "signed_header", MaxLightAnchorPart)
	c.blob(&b.Validators, "validators", MaxLightAnchorPart)
	c.blob(&b.TrustedValidators, "trusted_validators", MaxLightAnchorPart)
}
