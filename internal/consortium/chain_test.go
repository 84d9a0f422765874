package consortium_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/tmhash"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	"github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
)

// A CometBFT chain in memory, built and signed here: the consortium
// Source twin of a node's stores.

// val is a validator: its key and voting power.
type val struct {
	key   cmted.PrivKey
	power int64
}

func newVals(n int, power int64) []val {
	out := make([]val, n)
	for i := range out {
		out[i] = val{cmted.GenPrivKey(), power}
	}
	return out
}

// content is what block h holds: its transactions' bytes and result
// codes (0 accepted).
type content struct {
	txs   [][]byte
	codes []uint32
}

type testChain struct {
	ourChainID string
	chainID    string
	genesis    []byte // the CometBFT genesis.json
	t0         time.Time
	blocks     map[int64]*types.Block
	commits    map[int64]*types.Commit
	vals       map[int64]*types.ValidatorSet
	results    map[int64][]*abci.ExecTxResult
	content    map[int64]content
	keys       map[string]cmted.PrivKey
	// base, if set, is the lowest height whose block a test keeps.
	base int64
}

var _ consortium.Source = (*testChain)(nil)

func (c *testChain) Block(h int64) *types.Block {
	if h < c.Base() {
		return nil
	}
	return c.blocks[h]
}

// Base is where c's blocks start: 1, or above the blocks a test deleted
// as a pruning node does (their headers and commits stay).
func (c *testChain) Base() int64 { return max(c.base, 1) }

func (c *testChain) SignedHeader(h int64) *types.SignedHeader {
	if c.blocks[h] == nil || c.commits[h] == nil {
		return nil
	}
	hdr := c.blocks[h].Header
	return &types.SignedHeader{Header: &hdr, Commit: c.commits[h]}
}

func (c *testChain) Validators(h int64) (*types.ValidatorSet, error) {
	if c.vals[h] == nil {
		return nil, fmt.Errorf("no validators at %d", h)
	}
	return c.vals[h].Copy(), nil
}

func (c *testChain) Results(h int64) ([]*abci.ExecTxResult, error) { return c.results[h], nil }

var genesisHash = ledger.Hash(sha256.Sum256([]byte("epiledger genesis")))

func stateHash(h int64) ledger.Hash { return sha256.Sum256([]byte(fmt.Sprint("state after ", h))) }

// signedTx is a transaction of ours: it decodes and has an id.
func signedTx(chainID, site string) []byte {
	_, k, _ := ed25519.GenerateKey(nil)
	tx := ledger.NewTx(&ledger.RegisterSite{Site: site, Kind_: "shop", Region: "420100"})
	tx.Sign(chainID, k)
	return tx.Bytes()
}

// newChain builds and signs heights 1..n: sets(h) are the validators of
// height h, blk(h) what block h holds; absent(h) validators (the last in
// the set's order) do not sign h's commit.
func newChain(t testing.TB, n int64, sets func(h int64) []val, blk func(h int64) content, absent func(h int64) int) *testChain {
	t.Helper()
	c := &testChain{ourChainID: "test", chainID: consortium.ChainID("test", genesisHash),
		t0:     time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC),
		blocks: map[int64]*types.Block{}, commits: map[int64]*types.Commit{}, vals: map[int64]*types.ValidatorSet{},
		results: map[int64][]*abci.ExecTxResult{}, content: map[int64]content{}, keys: map[string]cmted.PrivKey{}}
	setOf := func(vs []val) *types.ValidatorSet {
		var list []*types.Validator
		for _, v := range vs {
			c.keys[v.key.PubKey().Address().String()] = v.key
			list = append(list, types.NewValidator(v.key.PubKey(), v.power))
		}
		return types.NewValidatorSet(list)
	}
	for h := int64(1); h <= n+1; h++ {
		c.vals[h] = setOf(sets(h))
	}
	st, _ := json.Marshal(consortium.AppState{GenesisHash: genesisHash.String()})
	doc := &types.GenesisDoc{ChainID: c.chainID, GenesisTime: c.t0, InitialHeight: 1, ConsensusParams: types.DefaultConsensusParams(), AppState: st}
	for _, v := range c.vals[1].Validators {
		doc.Validators = append(doc.Validators, types.GenesisValidator{Address: v.Address, PubKey: v.PubKey, Power: v.VotingPower})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		t.Fatal(err)
	}
	var err error
	if c.genesis, err = cmtjson.MarshalIndent(doc, "", "  "); err != nil {
		t.Fatal(err)
	}
	var lastID types.BlockID
	lastCommit := &types.Commit{}
	lastResults := types.NewResults(nil).Hash()
	for h := int64(1); h <= n; h++ {
		ct := blk(h)
		c.content[h] = ct
		var txs []types.Tx
		var res []*abci.ExecTxResult
		for i, raw := range ct.txs {
			txs = append(txs, raw)
			r := &abci.ExecTxResult{Code: ct.codes[i]}
			if r.Code == 0 {
				tx, err := ledger.DecodeTx(raw)
				if err != nil {
					t.Fatal(err)
				}
				id := tx.ID()
				r.Data = id[:]
			} else {
				r.Log, r.Codespace = `{"code":"replay"}`, "epiledger" // not in the results hash
			}
			res = append(res, r)
		}
		c.results[h] = res
		b := types.MakeBlock(h, txs, lastCommit, nil)
		app := genesisHash
		if h > 1 {
			app = stateHash(h - 1)
		}
		b.Header.Populate(cmtversion.Consensus{Block: version.BlockProtocol}, c.chainID, c.time(h), lastID,
			c.vals[h].Hash(), c.vals[h+1].Hash(), tmhash.Sum([]byte("params")), app[:], lastResults,
			c.vals[h].Validators[0].Address)
		ps, err := b.MakePartSet(types.BlockPartSizeBytes)
		if err != nil {
			t.Fatal(err)
		}
		id := types.BlockID{Hash: b.Hash(), PartSetHeader: ps.Header()}
		c.blocks[h] = b
		c.commits[h] = c.sign(h, id, absent(h))
		lastID, lastCommit, lastResults = id, c.commits[h], types.NewResults(res).Hash()
	}
	return c
}

func (c *testChain) time(h int64) time.Time { return c.t0.Add(time.Duration(h-1) * time.Second) }

// sign is the commit of block id at height h by its validators, the last
// absent of them not signing.
func (c *testChain) sign(h int64, id types.BlockID, absent int) *types.Commit {
	set := c.vals[h]
	commit := &types.Commit{Height: h, BlockID: id}
	for i, v := range set.Validators {
		if i >= set.Size()-absent {
			commit.Signatures = append(commit.Signatures, types.NewCommitSigAbsent())
			continue
		}
		vote := &types.Vote{Type: cmtproto.PrecommitType, Height: h, BlockID: id, Timestamp: c.time(h).Add(500 * time.Millisecond),
			ValidatorAddress: v.Address, ValidatorIndex: int32(i)}
		sig, err := c.keys[v.Address.String()].Sign(types.VoteSignBytes(c.chainID, vote.ToProto()))
		if err != nil {
			panic(err)
		}
		vote.Signature = sig
		commit.Signatures = append(commit.Signatures, vote.CommitSig())
	}
	return commit
}

// ours is our inclusion proof of block h's accepted transaction raw, in
// our block h as the CometBFT engine writes it.
func (c *testChain) ours(t testing.TB, h int64, raw []byte) *blocks.Proof {
	t.Helper()
	var accepted [][]byte
	var leaves []ledger.Hash
	idx, size := -1, uint64(0)
	ct := c.content[h]
	for i, tx := range ct.txs {
		if ct.codes[i] != 0 && string(tx) != string(raw) {
			continue
		}
		if string(tx) == string(raw) {
			idx = len(accepted)
		}
		accepted = append(accepted, tx)
		leaves = append(leaves, ledger.LeafHash(tx))
		size += uint64(len(tx))
	}
	if idx < 0 {
		t.Fatalf("block %d does not hold the transaction", h)
	}
	path, err := ledger.InclusionPath(idx, leaves)
	if err != nil {
		t.Fatal(err)
	}
	tm := c.time(h).UnixNano()
	if h == 1 {
		tm++
	}
	hdr := &ledger.Header{Version: ledger.BlockVersion, Height: uint64(h), MerkleRoot: ledger.MerkleRoot(leaves), Time: tm,
		ChainID: c.ourChainID, Region: "420100", NumTxs: uint32(len(accepted)), TxBytes: size, StateHash: stateHash(h)}
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &blocks.Proof{TxID: tx.ID(), Tx: raw, Index: uint64(idx), Size: uint64(len(accepted)), Path: path, Header: hdr}
}

func (c *testChain) genesisOf(t testing.TB) *consortium.Genesis {
	t.Helper()
	g, err := consortium.ParseGenesis(c.genesis)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
