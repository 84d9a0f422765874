package state

import (
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
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
}

// AnchorRecord is one anchored header of a child, as the parent keeps it.
type AnchorRecord struct {
	Height    uint64
	Hash      ledger.Hash
	StateHash ledger.Hash
	Time      int64 // the child block's, Unix nanoseconds
	Tx        ledger.Hash
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
		if derr = x.err("anchor"); derr != nil {
			return false
		}
		a.Height = beU64(k[len(k)-8:])
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
	if b.Engine != ledger.EngineSolo {
		return nil, reject(CodeInvalid, "engine", "only solo chains are anchored so far (docs/REGIONS.md, step 4)")
	}
	if b.Authority == ([32]byte{}) {
		return nil, reject(CodeInvalid, "authority", "a solo %s names its chain authority's key", relation)
	}
	if _, ok, err := ChildOf(blk.b, b.ChainID); err != nil {
		return nil, err
	} else if ok {
		return nil, reject(CodeConflict, "chain_id", "chain %q is registered already", b.ChainID)
	}
	return &Child{Region: string(other), Genesis: b.Genesis, Engine: b.Engine, Authority: b.Authority, Hash: b.Genesis, Registered: id}, nil
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
