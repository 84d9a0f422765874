// Package lctest builds CometBFT chains in memory for tests of the light
// client and of the anchors that carry its headers: signed headers of any
// validator sets, forks and forgeries, without running CometBFT.
package lctest

import (
	"crypto/sha256"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/tmhash"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	"github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"

	"github.com/epiledger/epiledger/internal/lightclient"
)

// Keys are n new validator keys.
func Keys(n int) []cmted.PrivKey {
	out := make([]cmted.PrivKey, n)
	for i := range out {
		out[i] = cmted.GenPrivKey()
	}
	return out
}

// Chain is a CometBFT chain of signed headers, heights 1 to N, each
// block one second after the one before from T0 (the genesis time).
type Chain struct {
	ChainID string
	T0      time.Time
	N       int64
	sets    map[int64][]cmted.PrivKey
	vals    map[int64]*types.ValidatorSet
	headers map[int64]*types.SignedHeader
	blocks  map[int64]Block
}

// Block is what a block holds: its transactions and their results.
type Block struct {
	Txs     types.Txs
	Results []*abci.ExecTxResult
}

// NewChain signs heights 1..n; sets(h) are the validators of height h
// (power 10 each), for h up to n+1. Its blocks are empty.
func NewChain(chainID string, t0 time.Time, n int64, sets func(h int64) []cmted.PrivKey) *Chain {
	return NewChainOf(chainID, t0, n, sets, nil)
}

// NewChainOf is NewChain whose block h holds blocks(h) (nil: none): each
// header's data hash commits to its block's transactions, its last
// results hash to the results of the block before.
func NewChainOf(chainID string, t0 time.Time, n int64, sets func(h int64) []cmted.PrivKey, blocks func(h int64) Block) *Chain {
	c := &Chain{ChainID: chainID, T0: t0, N: n, sets: map[int64][]cmted.PrivKey{}, vals: map[int64]*types.ValidatorSet{},
		headers: map[int64]*types.SignedHeader{}, blocks: map[int64]Block{}}
	for h := int64(1); h <= n+1; h++ {
		c.sets[h] = sets(h)
		c.vals[h] = SetOf(c.sets[h])
		if blocks != nil {
			c.blocks[h] = blocks(h)
		}
	}
	var last types.BlockID
	for h := int64(1); h <= n; h++ {
		c.headers[h] = c.make(h, last, AppHash(chainID, h), c.sets[h])
		last = c.headers[h].Commit.BlockID
	}
	return c
}

// Handover is the validators of a chain whose set changes entirely: a
// until height 4, a and b together at 5, b from 6 on.
func Handover(a, b []cmted.PrivKey) func(h int64) []cmted.PrivKey {
	return func(h int64) []cmted.PrivKey {
		switch {
		case h <= 4:
			return a
		case h == 5:
			return append(append([]cmted.PrivKey{}, a...), b...)
		}
		return b
	}
}

// SetOf is the validator set of keys, power 10 each.
func SetOf(keys []cmted.PrivKey) *types.ValidatorSet {
	var list []*types.Validator
	for _, k := range keys {
		list = append(list, types.NewValidator(k.PubKey(), 10))
	}
	return types.NewValidatorSet(list)
}

// AppHash is the application hash header h of chain carries.
func AppHash(chain string, h int64) []byte {
	s := sha256.Sum256([]byte(fmt.Sprint(chain, " state ", h)))
	return s[:]
}

// Time is block h's time.
func (c *Chain) Time(h int64) time.Time { return c.T0.Add(time.Duration(h-1) * time.Second) }

// make builds header h after last with app hash app, signed by signers.
func (c *Chain) make(h int64, last types.BlockID, app []byte, signers []cmted.PrivKey) *types.SignedHeader {
	hdr := &types.Header{Height: h}
	hdr.Populate(cmtversion.Consensus{Block: version.BlockProtocol}, c.ChainID, c.Time(h), last,
		c.vals[h].Hash(), c.vals[h+1].Hash(), tmhash.Sum([]byte("params")), app, tmhash.Sum(nil), c.vals[h].Validators[0].Address)
	hdr.DataHash = c.blocks[h].Txs.Hash()
	hdr.LastResultsHash = types.NewResults(c.blocks[h-1].Results).Hash()
	hdr.LastCommitHash = tmhash.Sum([]byte(fmt.Sprint("commit ", h-1)))
	hdr.EvidenceHash = tmhash.Sum(nil)
	id := types.BlockID{Hash: hdr.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: tmhash.Sum([]byte(fmt.Sprint("parts ", h)))}}
	return &types.SignedHeader{Header: hdr, Commit: c.sign(h, id, signers)}
}

// sign is the commit of block id at height h by those of h's validators
// whose keys are in signers.
func (c *Chain) sign(h int64, id types.BlockID, signers []cmted.PrivKey) *types.Commit {
	by := map[string]cmted.PrivKey{}
	for _, k := range signers {
		by[k.PubKey().Address().String()] = k
	}
	commit := &types.Commit{Height: h, BlockID: id}
	for i, v := range c.vals[h].Validators {
		k, ok := by[v.Address.String()]
		if !ok {
			commit.Signatures = append(commit.Signatures, types.NewCommitSigAbsent())
			continue
		}
		vote := &types.Vote{Type: cmtproto.PrecommitType, Height: h, BlockID: id, Timestamp: c.Time(h).Add(500 * time.Millisecond),
			ValidatorAddress: v.Address, ValidatorIndex: int32(i)}
		sig, err := k.Sign(types.VoteSignBytes(c.ChainID, vote.ToProto()))
		if err != nil {
			panic(err)
		}
		vote.Signature = sig
		commit.Signatures = append(commit.Signatures, vote.CommitSig())
	}
	return commit
}

// Carried is the proof that transaction i of block h (member m of it, a
// bundle, if m >= 0) was executed, linked by headers up to height a.
func (c *Chain) Carried(h int64, i, m int, a int64) *lightclient.Carried {
	b := c.blocks[h]
	rs := types.NewResults(b.Results)
	var bundle []byte
	if m >= 0 {
		bundle = b.Txs[i]
	}
	lc, err := lightclient.CarriedOf(c.headers[h].Header, c.headers[h+1].Header, b.Txs.Proof(i).Proof, rs.ProveResult(i),
		bundle, uint32(max(m, 0)), b.Results[i].Data)
	if err != nil {
		panic(err)
	}
	for k := h + 2; k <= a; k++ {
		if err := lc.Link(c.headers[k].Header); err != nil {
			panic(err)
		}
	}
	return lc
}

// Signed is signed header h; Vals the validator set of height h.
func (c *Chain) Signed(h int64) *types.SignedHeader { return c.headers[h] }
func (c *Chain) Vals(h int64) *types.ValidatorSet   { return c.vals[h].Copy() }

// Genesis is the chain's genesis validators, as epiledger's genesis
// names them, and its light-client trust root.
func (c *Chain) Genesis() ([]lightclient.Validator, lightclient.Consensus) {
	var out []lightclient.Validator
	for _, k := range c.sets[1] {
		var v lightclient.Validator
		copy(v.Key[:], k.PubKey().Bytes())
		v.Power = 10
		out = append(out, v)
	}
	return out, lightclient.Genesis(1, c.T0, c.vals[1])
}

// Anchor is the anchor of header h verified from trusted height t.
func (c *Chain) Anchor(h, t int64) lightclient.Anchor {
	return c.anchorOf(c.headers[h], h, t)
}

func (c *Chain) anchorOf(sh *types.SignedHeader, h, t int64) lightclient.Anchor {
	var trusted *types.ValidatorSet
	if h != t+1 {
		trusted = c.vals[t+1]
	}
	a, err := lightclient.Encode(sh, c.vals[h], trusted)
	if err != nil {
		panic(err)
	}
	return a
}

// Backdated is an anchor of another header at height h whose time is tm,
// signed by the height's validators, verified from trusted height t: a
// header later in height but, if tm is early, not in time.
func (c *Chain) Backdated(h, t int64, tm time.Time) lightclient.Anchor {
	hdr := *c.headers[h].Header
	hdr.Time = tm
	id := types.BlockID{Hash: hdr.Hash(), PartSetHeader: c.headers[h].Commit.BlockID.PartSetHeader}
	return c.anchorOf(&types.SignedHeader{Header: &hdr, Commit: c.sign(h, id, c.sets[h])}, h, t)
}

// Fork is an anchor of another header at height h (another application
// hash), signed by the height's validators: a fork, as a light-client
// attack would bring it.
func (c *Chain) Fork(h, t int64) lightclient.Anchor {
	sh := c.make(h, c.headers[h].LastBlockID, AppHash(c.ChainID+" fork", h), c.sets[h])
	return c.anchorOf(sh, h, t)
}

// SignedBy is an anchor of header h (from trusted height t) whose commit
// carries only the signatures of signers.
func (c *Chain) SignedBy(h, t int64, signers []cmted.PrivKey) lightclient.Anchor {
	orig := c.headers[h]
	sh := &types.SignedHeader{Header: orig.Header, Commit: c.sign(h, orig.Commit.BlockID, signers)}
	return c.anchorOf(sh, h, t)
}

// ForgedBy is an anchor of a header at height h that keys made up and
// signed as if they were its validators (the set named in the header is
// theirs), verified from trusted height t with trusted the validators the
// forger claims the trusted header named next.
func (c *Chain) ForgedBy(h, t int64, keys []cmted.PrivKey, trusted *types.ValidatorSet) lightclient.Anchor {
	f := &Chain{ChainID: c.ChainID, T0: c.T0, vals: map[int64]*types.ValidatorSet{h: SetOf(keys), h + 1: SetOf(keys)}}
	sh := f.make(h, c.headers[h].LastBlockID, AppHash(c.ChainID+" forged", h), keys)
	var tv *types.ValidatorSet
	if h != t+1 {
		tv = trusted
	}
	a, err := lightclient.Encode(sh, f.vals[h], tv)
	if err != nil {
		panic(err)
	}
	return a
}
