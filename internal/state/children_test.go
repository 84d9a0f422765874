package state_test

import (
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// The test chain serves Wuhan (420100); Jiang'an district (420102) is a
// child region.
const childChain = "wuhan-jiangan"

var (
	childKey     = key("child-authority")
	childGenesis = ledger.Hash{0xc1}
)

func registerChild(region, engine string) *ledger.RegisterChild {
	return &ledger.RegisterChild{ChainID: childChain, Region: region, Genesis: childGenesis, Engine: engine, Authority: pub(childKey)}
}

// childHeader is the child's header at height, linked to prev, at t
// (Unix seconds).
func childHeader(height uint64, prev ledger.Hash, t int64) ledger.Header {
	return ledger.Header{Version: 1, Height: height, PrevHash: prev, Time: t * 1e9, ChainID: childChain, Region: "420102",
		StateHash: ledger.Hash{byte(height)}}
}

// anchorTx is h's anchor, signed by the child's authority.
func anchorTx(h ledger.Header) *ledger.Tx { return sign(ledger.AnchorOf(&h), childKey) }

func TestApplyRegisterChild(t *testing.T) {
	reg := func(region, engine string) *ledger.RegisterChild { return registerChild(region, engine) }
	runApplyCases(t, []applyCase{
		{name: "a district of the city", txs: one(sign(reg("420102", ledger.EngineSolo), authKey))},
		{name: "signed by a site", txs: one(sign(reg("420102", ledger.EngineSolo), shopKey)), code: state.CodeWrongSigner, field: "signature"},
		{name: "a district of another city", txs: one(sign(reg("420202", ledger.EngineSolo), authKey)), code: state.CodeInvalid, field: "region"},
		{name: "the province above", txs: one(sign(reg("42", ledger.EngineSolo), authKey)), code: state.CodeInvalid, field: "region"},
		{name: "not a code", txs: one(sign(reg("jiangan", ledger.EngineSolo), authKey)), code: state.CodeInvalid, field: "region"},
		{name: "an unknown engine", txs: one(sign(reg("420102", "raft"), authKey)), code: state.CodeInvalid, field: "engine"},
		{name: "itself", txs: one(sign(&ledger.RegisterChild{ChainID: chainID, Region: "420102", Engine: ledger.EngineSolo, Authority: pub(childKey)}, authKey)),
			code: state.CodeInvalid, field: "chain_id"},
		{name: "no authority key", txs: one(sign(&ledger.RegisterChild{ChainID: childChain, Region: "420102", Engine: ledger.EngineSolo}, authKey)),
			code: state.CodeInvalid, field: "authority"},
		{name: "twice", prior: one(sign(reg("420102", ledger.EngineSolo), authKey)),
			txs:  one(sign(&ledger.RegisterChild{ChainID: childChain, Region: "420103", Engine: ledger.EngineSolo, Authority: pub(childKey)}, authKey)),
			code: state.CodeConflict, field: "chain_id"},
	})
}

func TestApplyAnchor(t *testing.T) {
	registered := one(sign(registerChild("420102", ledger.EngineSolo), authKey))
	h1 := childHeader(1, childGenesis, t0+10)
	h2 := childHeader(2, h1.Hash(), t0+20)
	other := key("someone")
	otherRegion := h1
	otherRegion.Region = "420103"
	otherChain := h1
	otherChain.ChainID = "wuhan-hanyang"
	badLink := childHeader(1, ledger.Hash{9}, t0+10)
	sameHeight := h1
	sameHeight.StateHash = ledger.Hash{0xee}
	h2Unlinked := childHeader(2, ledger.Hash{7}, t0+20)
	h5 := childHeader(5, ledger.Hash{7}, t0+50)
	early := childHeader(2, h1.Hash(), t0+5)
	future := childHeader(2, h1.Hash(), blockTime(3)+3600)
	runApplyCases(t, []applyCase{
		{name: "the first header", prior: registered, txs: one(anchorTx(h1))},
		{name: "two in one block", prior: registered, txs: []*ledger.Tx{anchorTx(h1), anchorTx(h2)}},
		{name: "a gap, vouched for by the authority", prior: append(registered, anchorTx(h1)), txs: one(anchorTx(h5))},
		{name: "no such child", txs: one(anchorTx(h1)), code: state.CodeInvalid, field: "chain_id"},
		{name: "another chain's header", prior: registered, txs: one(anchorTx(otherChain)), code: state.CodeInvalid, field: "chain_id"},
		{name: "signed by another key", prior: registered, txs: one(sign(ledger.AnchorOf(&h1), other)), code: state.CodeWrongSigner, field: "signature"},
		{name: "signed by this chain's authority", prior: registered, txs: one(sign(ledger.AnchorOf(&h1), authKey)), code: state.CodeWrongSigner, field: "signature"},
		{name: "another region", prior: registered, txs: one(anchorTx(otherRegion)), code: state.CodeInvalid, field: "region"},
		{name: "block 1 not on the genesis", prior: registered, txs: one(anchorTx(badLink)), code: state.CodeConflict, field: "prev_hash"},
		{name: "a second header at one height", prior: append(registered, anchorTx(h1)), txs: one(anchorTx(sameHeight)), code: state.CodeConflict, field: "height"},
		{name: "the next header not linked", prior: append(registered, anchorTx(h1)), txs: one(anchorTx(h2Unlinked)), code: state.CodeConflict, field: "prev_hash"},
		{name: "earlier than the last", prior: append(registered, anchorTx(h1)), txs: one(anchorTx(early)), code: state.CodeInvalid, field: "time"},
		{name: "in this block's future", prior: registered, txs: []*ledger.Tx{anchorTx(h1), anchorTx(future)}, code: state.CodeInvalid, field: "time"},
	})
}

// TestAnchorsKept: the parent keeps, per child, each anchored height with
// its block hash, state hash and time, and the latest.
func TestAnchorsKept(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(sign(registerChild("420102", ledger.EngineSolo), authKey))
	h1 := childHeader(1, childGenesis, t0+10)
	h2 := childHeader(2, h1.Hash(), t0+20)
	a2 := anchorTx(h2)
	f.mustBlock(anchorTx(h1), a2)
	cs, err := state.Children(f.db)
	if err != nil || len(cs) != 1 {
		t.Fatalf("children: %v %v", cs, err)
	}
	if c := cs[0]; c.ChainID != childChain || c.Region != "420102" || c.Height != 2 || c.Hash != h2.Hash() || c.Time != h2.Time {
		t.Errorf("child: %+v", c)
	}
	as, err := state.Anchors(f.db, childChain, 0, ^uint64(0), 0)
	if err != nil || len(as) != 2 {
		t.Fatalf("anchors: %v %v", as, err)
	}
	if a := as[1]; a.Height != 2 || a.Hash != h2.Hash() || a.StateHash != h2.StateHash || a.Tx != a2.ID() {
		t.Errorf("anchor 2: %+v", a)
	}
	if one, _ := state.Anchors(f.db, childChain, 2, 2, 0); len(one) != 1 || one[0].Height != 2 {
		t.Errorf("anchors 2..2: %+v", one)
	}
	if first, _ := state.Anchors(f.db, childChain, 0, ^uint64(0), 1); len(first) != 1 || first[0].Height != 1 {
		t.Errorf("the first anchor: %+v", first)
	}
}

// The test chain's parent: Hubei province (420000).
var parentKey = key("parent-authority")

func registerParent(region string) *ledger.RegisterParent {
	return &ledger.RegisterParent{RegisterChild: ledger.RegisterChild{ChainID: "hubei-1", Region: region, Genesis: ledger.Hash{0xd1},
		Engine: ledger.EngineSolo, Authority: pub(parentKey)}}
}

func TestApplyRegisterParent(t *testing.T) {
	hubei := ledger.Header{Version: 1, Height: 1, PrevHash: ledger.Hash{0xd1}, Time: (t0 + 10) * 1e9, ChainID: "hubei-1", Region: "420000"}
	runApplyCases(t, []applyCase{
		{name: "the province above", txs: one(sign(registerParent("420000"), authKey))},
		{name: "its short form", txs: one(sign(registerParent("42"), authKey))},
		{name: "signed by a site", txs: one(sign(registerParent("420000"), shopKey)), code: state.CodeWrongSigner, field: "signature"},
		{name: "another province", txs: one(sign(registerParent("430000"), authKey)), code: state.CodeInvalid, field: "region"},
		{name: "the nation, two levels up", txs: one(sign(registerParent("national"), authKey)), code: state.CodeInvalid, field: "region"},
		{name: "a second parent", prior: one(sign(registerParent("420000"), authKey)),
			txs:  one(sign(&ledger.RegisterParent{RegisterChild: ledger.RegisterChild{ChainID: "hubei-2", Region: "420000", Engine: ledger.EngineSolo, Authority: pub(parentKey)}}, authKey)),
			code: state.CodeConflict, field: "chain_id"},
		{name: "the parent's header, anchored", prior: one(sign(registerParent("420000"), authKey)), txs: one(sign(ledger.AnchorOf(&hubei), parentKey))},
		{name: "the parent's header signed by another", prior: one(sign(registerParent("420000"), authKey)), txs: one(sign(ledger.AnchorOf(&hubei), childKey)),
			code: state.CodeWrongSigner, field: "signature"},
	})
}

// TestParentApart: the parent is not listed among the children.
func TestParentApart(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(sign(registerChild("420102", ledger.EngineSolo), authKey), sign(registerParent("420000"), authKey))
	cs, err := state.Children(f.db)
	if err != nil || len(cs) != 1 || cs[0].ChainID != childChain {
		t.Errorf("children: %v %v", cs, err)
	}
	p, ok, err := state.ParentOf(f.db)
	if err != nil || !ok || p.ChainID != "hubei-1" || p.Region != "420000" || !p.Parent {
		t.Errorf("parent: %+v %v %v", p, ok, err)
	}
}
