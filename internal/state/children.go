package state

import (
	"bytes"
	"errors"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/store"
)

// Child is a child region's chain as its parent keeps it (issue 15,
// docs/REGIONS.md): what registered it, and its latest anchored header.
type Child struct {
	ChainID   string
	Region    string
	Genesis   ledger.Hash
	Engine    string
	Authority [32]byte
	// Height, Hash and Time are the latest anchored header's (0, the
	// genesis hash and 0 before the first).
	Height uint64
	Hash   ledger.Hash
	Time   int64 // Unix nanoseconds
	// Registered is the register_child transaction's id: its proof binds
	// the child authority's key for an offline proof up the hierarchy.
	Registered ledger.Hash
	// Parent is set for this chain's parent (register_parent): its
	// headers are anchored here the same way a child's are.
	Parent bool
	// Light is a CometBFT chain's light client; nil for a solo chain.
	Light *Light
}

// Light is what a parent keeps to verify a CometBFT child's headers:
// its light client's parameters, the trust root before its first
// anchor, and whether a fork froze it.
type Light struct {
	// CometChainID is the child's CometBFT chain id.
	CometChainID                  string
	TrustingPeriod, MaxClockDrift int64 // seconds
	// GenesisValidators is the hash of the child's genesis validator set;
	// GenesisTime its genesis time (Unix nanoseconds).
	GenesisValidators ledger.Hash
	GenesisTime       int64
	// Frozen is the height of this chain at which two verified headers
	// of one height froze the child (0: not frozen); Evidence the anchor
	// transaction that brought the second.
	Frozen   uint64
	Evidence ledger.Hash
}

// Client is the light client's parameters.
func (l *Light) Client() lightclient.Client {
	return lightclient.Client{ChainID: l.CometChainID, TrustingPeriod: time.Duration(l.TrustingPeriod) * time.Second,
		MaxClockDrift: time.Duration(l.MaxClockDrift) * time.Second}
}

// AnchorRecord is one anchored header of a child, as the parent keeps it.
type AnchorRecord struct {
	Height    uint64
	Hash      ledger.Hash
	StateHash ledger.Hash
	Time      int64 // the child block's, Unix nanoseconds
	Tx        ledger.Hash
	// Light is the verified header's consensus, for a CometBFT child (its
	// Hash is the CometBFT block hash, its StateHash the application hash,
	// the child's state after the block before).
	Light *lightclient.Consensus
}

func encodeChild(c *Child) []byte {
	var x w
	x.str(c.Region)
	x.raw(c.Genesis[:])
	x.str(c.Engine)
	x.raw(c.Authority[:])
	x.i64(int64(c.Height))
	x.raw(c.Hash[:])
	x.i64(c.Time)
	x.raw(c.Registered[:])
	if c.Parent {
		x.u8(1)
	} else {
		x.u8(0)
	}
	if l := c.Light; l != nil {
		x.str(l.CometChainID)
		x.i64(l.TrustingPeriod)
		x.i64(l.MaxClockDrift)
		x.raw(l.GenesisValidators[:])
		x.i64(l.GenesisTime)
		x.i64(int64(l.Frozen))
		x.raw(l.Evidence[:])
	}
	return x.b
}

func decodeChild(chainID string, v []byte) (*Child, error) {
	x := r2(v)
	c := &Child{ChainID: chainID, Region: x.str()}
	copy(c.Genesis[:], x.take(32))
	c.Engine = x.str()
	copy(c.Authority[:], x.take(32))
	c.Height = uint64(x.i64())
	copy(c.Hash[:], x.take(32))
	c.Time = x.i64()
	copy(c.Registered[:], x.take(32))
	c.Parent = x.u8() == 1
	if c.Engine == ledger.EngineCometBFT {
		l := &Light{CometChainID: x.str(), TrustingPeriod: x.i64(), MaxClockDrift: x.i64()}
		copy(l.GenesisValidators[:], x.take(32))
		l.GenesisTime = x.i64()
		l.Frozen = uint64(x.i64())
		copy(l.Evidence[:], x.take(32))
		c.Light = l
	}
	return c, x.err("child chain")
}

// ChildOf returns the child chain chainID; ok is false for none.
func ChildOf(rd store.Reader, chainID string) (c *Child, ok bool, err error) {
	v, ok, err := rd.Get(store.ChildKey(chainID))
	if err != nil || !ok {
		return nil, false, err
	}
	c, err = decodeChild(chainID, v)
	return c, err == nil, err
}

// Children lists the registered child chains, by chain id.
func Children(rd store.Reader) ([]*Child, error) {
	all, err := linked(rd)
	var out []*Child
	for _, c := range all {
		if !c.Parent {
			out = append(out, c)
		}
	}
	return out, err
}

// ParentOf returns this chain's registered parent; ok is false for none.
func ParentOf(rd store.Reader) (c *Child, ok bool, err error) {
	all, err := linked(rd)
	for _, c := range all {
		if c.Parent {
			return c, true, err
		}
	}
	return nil, false, err
}

// linked lists every registered chain, children and parent, by chain id.
func linked(rd store.Reader) ([]*Child, error) {
	lo, hi := store.ChildRange()
	var out []*Child
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		c, err := decodeChild(string(k[1:]), v)
		if err != nil {
			derr = err
			return false
		}
		out = append(out, c)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// Anchors lists child chainID's anchored headers from height from to to,
// at most limit of them (0: all).
func Anchors(rd store.Reader, chainID string, from, to uint64, limit int) ([]AnchorRecord, error) {
	lo, hi := store.AnchorRange(chainID, from, to)
	var out []AnchorRecord
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		x := r2(v)
		var a AnchorRecord
		copy(a.Hash[:], x.take(32))
		copy(a.StateHash[:], x.take(32))
		a.Time = x.i64()
		copy(a.Tx[:], x.take(32))
		a.Height = beU64(k[len(k)-8:])
		if len(x.b) > 0 {
			a.Light = decodeConsensus(x, &a)
		}
		if derr = x.err("anchor"); derr != nil {
			return false
		}
		out = append(out, a)
		return limit == 0 || len(out) < limit
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// registerChild registers a child region's chain: signed by this chain's
// authority; the child's region one level below this chain's.
func (blk *Block) registerChild(tx *ledger.Tx, id ledger.Hash, b *ledger.RegisterChild) error {
	c, err := blk.linkedChain(tx, id, b, "child")
	if err != nil {
		return err
	}
	return blk.set(store.ChildKey(b.ChainID), encodeChild(c))
}

// registerParent registers this chain's parent: signed by this chain's
// authority; the parent's region the one above this chain's; one parent.
func (blk *Block) registerParent(tx *ledger.Tx, id ledger.Hash, b *ledger.RegisterParent) error {
	c, err := blk.linkedChain(tx, id, &b.RegisterChild, "parent")
	if err != nil {
		return err
	}
	if _, ok, err := ParentOf(blk.b); err != nil {
		return err
	} else if ok {
		return reject(CodeConflict, "chain_id", "this chain's parent is registered already")
	}
	c.Parent = true
	return blk.set(store.ChildKey(b.ChainID), encodeChild(c))
}

// linkedChain checks the registration of another chain as this chain's
// relation ("child": its region one level below this chain's; "parent":
// the one above) and returns its record: signed by this chain's
// authority, not this chain, a solo chain naming its authority's key, not
// registered yet.
func (blk *Block) linkedChain(tx *ledger.Tx, id ledger.Hash, b *ledger.RegisterChild, relation string) (*Child, error) {
	if tx.Sigs[0].Key != blk.m.gen.Authority {
		return nil, reject(CodeWrongSigner, "signature", "only the chain authority registers a %s chain", relation)
	}
	if b.ChainID == blk.m.gen.ChainID {
		return nil, reject(CodeInvalid, "chain_id", "a chain is not its own %s", relation)
	}
	own, err := region.Parse(blk.m.gen.Region)
	if err != nil {
		return nil, reject(CodeInvalid, "region", "this chain's region %q is not a GB/T 2260 code: it has no %s region", blk.m.gen.Region, relation)
	}
	other, err := region.Parse(b.Region)
	if err != nil {
		return nil, reject(CodeInvalid, "region", "%v", err)
	}
	below, above := other, own
	if relation == "parent" {
		below, above = own, other
	}
	if p, ok := below.Parent(); !ok || p != above {
		return nil, reject(CodeInvalid, "region", "region %s is not the %s of this chain's region %s", other.Short(), relation, own.Short())
	}
	var light *Light
	if b.Engine == ledger.EngineCometBFT {
		vals := make([]lightclient.Validator, len(b.Validators))
		for i, v := range b.Validators {
			vals[i] = lightclient.Validator{Key: v.Key, Power: v.Power}
		}
		set, err := lightclient.GenesisSet(vals)
		if err != nil {
			return nil, reject(CodeInvalid, "validators", "%v", err)
		}
		root := lightclient.Genesis(1, time.Unix(b.GenesisTime, 0), set)
		light = &Light{CometChainID: lightclient.ChainID(b.ChainID, b.Genesis), TrustingPeriod: b.TrustingPeriod,
			MaxClockDrift: b.MaxClockDrift, GenesisTime: root.Time}
		copy(light.GenesisValidators[:], root.NextValidatorsHash)
	} else if b.Authority == ([32]byte{}) {
		return nil, reject(CodeInvalid, "authority", "a solo %s names its chain authority's key", relation)
	}
	if _, ok, err := ChildOf(blk.b, b.ChainID); err != nil {
		return nil, err
	} else if ok {
		return nil, reject(CodeConflict, "chain_id", "chain %q is registered already", b.ChainID)
	}
	c := &Child{Region: string(other), Genesis: b.Genesis, Engine: b.Engine, Authority: b.Authority, Hash: b.Genesis, Registered: id, Light: light}
	if light != nil {
		c.Time = light.GenesisTime
	}
	return c, nil
}

// anchor records a child's header: signed by the child's authority, of
// the child's chain and region, above the latest anchored height, later
// than it and not in this block's future; the header right after the
// latest anchored one (or after the genesis) must link to it.
func (blk *Block) anchor(tx *ledger.Tx, id ledger.Hash, b *ledger.Anchor) error {
	c, ok, err := ChildOf(blk.b, b.ChainID)
	if err != nil {
		return err
	}
	if !ok {
		return reject(CodeInvalid, "chain_id", "no child chain %q is registered here", b.ChainID)
	}
	if c.Light != nil {
		return reject(CodeInvalid, "chain_id", "chain %q runs on CometBFT: its headers come as light anchors, signed by its validators", b.ChainID)
	}
	if tx.Sigs[0].Key != c.Authority {
		return reject(CodeWrongSigner, "signature", "an anchor of %q is signed by that chain's authority", b.ChainID)
	}
	if b.Region != c.Region {
		return reject(CodeInvalid, "region", "child chain %q serves region %s", b.ChainID, c.Region)
	}
	h := uint64(b.Height)
	if h <= c.Height {
		return reject(CodeConflict, "height", "child chain %q is anchored up to height %d", b.ChainID, c.Height)
	}
	if h == c.Height+1 && b.PrevHash != c.Hash {
		return reject(CodeConflict, "prev_hash", "the header does not link to the child's block %d", c.Height)
	}
	if b.Time <= c.Time {
		return reject(CodeInvalid, "time", "not after the latest anchored header's time")
	}
	skew := int64(blk.m.params.MaxFutureSkew / time.Second)
	if b.Time/int64(time.Second) > blk.now+skew {
		return reject(CodeInvalid, "time", "ahead of this block's time")
	}
	hdr := b.Header()
	hash := hdr.Hash()
	c.Height, c.Hash, c.Time = h, hash, b.Time
	if err := blk.set(store.ChildKey(b.ChainID), encodeChild(c)); err != nil {
		return err
	}
	var x w
	x.raw(hash[:])
	x.raw(b.StateHash[:])
	x.i64(b.Time)
	x.raw(id[:])
	return blk.set(store.AnchorKey(b.ChainID, h), x.b)
}

// lightAnchor verifies a CometBFT child's signed header with CometBFT's
// light-client rules, from the child's header at the trusted height that
// this chain verified before (or its genesis), with this block's time as
// now, and records it above the latest. A verified header that
// contradicts a recorded one (another block at a recorded height, or a
// later height with an earlier time) is a fork: it freezes the child,
// keeping this transaction as the evidence, and no anchor of it is
// accepted after.
func (blk *Block) lightAnchor(tx *ledger.Tx, id ledger.Hash, b *ledger.LightAnchor) error {
	c, ok, err := ChildOf(blk.b, b.ChainID)
	if err != nil {
		return err
	}
	if !ok {
		return reject(CodeInvalid, "chain_id", "no child chain %q is registered here", b.ChainID)
	}
	if c.Light == nil {
		return reject(CodeInvalid, "chain_id", "chain %q is a solo chain: its headers come as anchors signed by its authority", b.ChainID)
	}
	if err := blk.requireRelay(tx, "a light anchor is submitted"); err != nil {
		return err
	}
	l := c.Light
	if l.Frozen != 0 {
		return reject(CodeConflict, "chain_id", "child chain %q is frozen since height %d: two of its verified headers contradict each other (evidence tx %s)",
			b.ChainID, l.Frozen, l.Evidence)
	}
	trusted := lightclient.Consensus{Height: 0, Time: l.GenesisTime, NextValidatorsHash: l.GenesisValidators[:]}
	if b.TrustedHeight != 0 {
		rec, ok, err := anchorAt(blk.b, b.ChainID, uint64(b.TrustedHeight))
		if err != nil {
			return err
		}
		if !ok || rec.Light == nil {
			return reject(CodeInvalid, "trusted_height", "no verified header of %q at height %d", b.ChainID, b.TrustedHeight)
		}
		trusted = *rec.Light
	}
	cons, err := lightclient.Verify(l.Client(), trusted, lightclient.Anchor{SignedHeader: b.SignedHeader, Validators: b.Validators,
		TrustedValidators: b.TrustedValidators}, time.Unix(0, blk.nowNanos))
	switch {
	case errors.Is(err, lightclient.ErrUntrusted):
		return reject(CodeInvalid, "trusted_height", "%v: anchor a header in between first", err)
	case errors.Is(err, lightclient.ErrExpired):
		return reject(CodeInvalid, "trusted_height", "%v", err)
	case errors.Is(err, lightclient.ErrTrustedSet):
		return reject(CodeInvalid, "trusted_validators", "%v", err)
	case err != nil:
		return reject(CodeInvalid, "signed_header", "%v", err)
	}
	if len(cons.BlockHash) != 32 || len(cons.AppHash) != 32 {
		return reject(CodeInvalid, "signed_header", "an epiledger chain's block and application hashes are 32 bytes")
	}
	h := uint64(cons.Height)
	var hash ledger.Hash
	copy(hash[:], cons.BlockHash)
	freeze := false
	switch {
	case h <= c.Height:
		rec, ok, err := anchorAt(blk.b, b.ChainID, h)
		if err != nil {
			return err
		}
		if !ok {
			return reject(CodeConflict, "signed_header", "child chain %q is anchored up to height %d: anchor a later header", b.ChainID, c.Height)
		}
		if rec.Hash == hash {
			return reject(CodeConflict, "signed_header", "header %d of %q is anchored already", h, b.ChainID)
		}
		freeze = true
	case cons.Time <= c.Time:
		freeze = true // later in height, not in time: another history
	}
	if freeze {
		l.Frozen, l.Evidence = blk.height, id
		return blk.set(store.ChildKey(b.ChainID), encodeChild(c))
	}
	c.Height, c.Hash, c.Time = h, hash, cons.Time
	if err := blk.set(store.ChildKey(b.ChainID), encodeChild(c)); err != nil {
		return err
	}
	var x w
	x.raw(hash[:])
	x.raw(cons.AppHash)
	x.i64(cons.Time)
	x.raw(id[:])
	for _, p := range [][]byte{cons.ValidatorsHash, cons.NextValidatorsHash, cons.LastBlockHash, cons.LastResultsHash, cons.DataHash} {
		x.blob(p)
	}
	return blk.set(store.AnchorKey(b.ChainID, h), x.b)
}

// requireRelay refuses tx unless its signer holds the role relay (or is
// the chain authority); what says what the relay does, for the message.
func (blk *Block) requireRelay(tx *ledger.Tx, what string) error {
	role, _, err := RoleOf(blk.b, &blk.m.gen, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if role != ledger.RoleRelay && role != "authority" {
		return reject(CodeWrongSigner, "signature", "%s by a key with the role relay", what)
	}
	return nil
}

// decodeConsensus reads the rest of a CometBFT child's anchor record a.
func decodeConsensus(x *r, a *AnchorRecord) *lightclient.Consensus {
	l := &lightclient.Consensus{Height: int64(a.Height), Time: a.Time, BlockHash: bytes.Clone(a.Hash[:]), AppHash: bytes.Clone(a.StateHash[:])}
	for _, p := range []*[]byte{&l.ValidatorsHash, &l.NextValidatorsHash, &l.LastBlockHash, &l.LastResultsHash, &l.DataHash} {
		*p = bytes.Clone(x.blob())
	}
	return l
}

// anchorAt is child chainID's anchored header at height h.
func anchorAt(rd store.Reader, chainID string, h uint64) (AnchorRecord, bool, error) {
	recs, err := Anchors(rd, chainID, h, h, 1)
	if err != nil || len(recs) == 0 {
		return AnchorRecord{}, false, err
	}
	return recs[0], true, nil
}
