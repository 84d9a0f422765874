package state_test

import (
	"bytes"
	"testing"
	"time"

	cmted "github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/lightclient/lctest"
	"github.com/epiledger/epiledger/internal/state"
)

// A CometBFT child (issue 15, step 4): Jiang'an's chain runs on four
// validators, A, which hand over to B at height 6 (both sign height 5).
const cometChild = "jiangan-bft"

var cometGenesis = ledger.Hash{0xc2}

func cometChain(t testing.TB) (*lctest.Chain, []cmted.PrivKey) {
	a, b := lctest.Keys(4), lctest.Keys(4)
	sets := lctest.Handover(a, b)
	return lctest.NewChain(lightclient.ChainID(cometChild, cometGenesis), time.Unix(t0, 0).UTC(), 10, sets), a
}

func registerComet(c *lctest.Chain) *ledger.RegisterChild {
	vals, _ := c.Genesis()
	r := &ledger.RegisterChild{ChainID: cometChild, Region: "420102", Genesis: cometGenesis, Engine: ledger.EngineCometBFT,
		GenesisTime: c.T0.Unix(), TrustingPeriod: 14 * 24 * 3600, MaxClockDrift: 10}
	for _, v := range vals {
		r.Validators = append(r.Validators, ledger.ChildValidator{Key: v.Key, Power: v.Power})
	}
	return r
}

// lightTx is anchor an of the child, verified from trusted height t,
// submitted by the chain authority (who holds every role, relay too).
func lightTx(an lightclient.Anchor, t int64) *ledger.Tx {
	return sign(&ledger.LightAnchor{ChainID: cometChild, TrustedHeight: t, SignedHeader: an.SignedHeader, Validators: an.Validators,
		TrustedValidators: an.TrustedValidators}, authKey)
}

func TestApplyLightAnchor(t *testing.T) {
	c, oldSet := cometChain(t)
	other := lctest.NewChain(lightclient.ChainID("hanyang-bft", cometGenesis), c.T0, 10, func(int64) []cmted.PrivKey { return lctest.Keys(4) })
	reg := one(sign(registerComet(c), authKey))
	at := func(txs ...*ledger.Tx) []*ledger.Tx { return append(append([]*ledger.Tx{}, reg...), txs...) }
	dup := registerComet(c)
	dup.Validators[1] = dup.Validators[0]
	solo := sign(registerChild("420102", ledger.EngineSolo), authKey)
	soloLight := sign(&ledger.LightAnchor{ChainID: childChain, SignedHeader: c.Anchor(1, 0).SignedHeader, Validators: c.Anchor(1, 0).Validators}, authKey)
	byShop := sign(&ledger.LightAnchor{ChainID: cometChild, SignedHeader: c.Anchor(1, 0).SignedHeader, Validators: c.Anchor(1, 0).Validators}, shopKey)
	runApplyCases(t, []applyCase{
		{name: "a CometBFT district", txs: reg},
		{name: "a validator named twice", txs: one(sign(dup, authKey)), code: state.CodeInvalid, field: "validators"},
		{name: "header 1, from the genesis", prior: reg, txs: one(lightTx(c.Anchor(1, 0), 0))},
		{name: "header 3, skipping from the genesis", prior: reg, txs: one(lightTx(c.Anchor(3, 0), 0))},
		{name: "across the handover, through 5", prior: at(lightTx(c.Anchor(5, 0), 0)), txs: one(lightTx(c.Anchor(9, 5), 5))},
		{name: "across the handover at once", prior: reg, txs: one(lightTx(c.Anchor(9, 0), 0)), code: state.CodeInvalid, field: "trusted_height"},
		{name: "signed by half of the set", prior: reg, txs: one(lightTx(c.SignedBy(1, 0, oldSet[:2]), 0)), code: state.CodeInvalid, field: "signed_header"},
		{name: "another chain's header", prior: reg, txs: one(lightTx(other.Anchor(1, 0), 0)), code: state.CodeInvalid, field: "signed_header"},
		{name: "the old set signs after the handover (stale)", prior: at(lightTx(c.Anchor(5, 0), 0), lightTx(c.Anchor(8, 5), 5)),
			txs: one(lightTx(c.ForgedBy(10, 8, oldSet, c.Vals(9)), 8)), code: state.CodeInvalid, field: "trusted_height"},
		{name: "the old set as the trusted set (stale)", prior: at(lightTx(c.Anchor(5, 0), 0), lightTx(c.Anchor(8, 5), 5)),
			txs: one(lightTx(c.ForgedBy(10, 8, oldSet, c.Vals(1)), 8)), code: state.CodeInvalid, field: "trusted_validators"},
		{name: "from a height not verified here", prior: at(lightTx(c.Anchor(1, 0), 0)), txs: one(lightTx(c.Anchor(4, 2), 2)), code: state.CodeInvalid, field: "trusted_height"},
		{name: "anchored already, from another height", prior: at(lightTx(c.Anchor(1, 0), 0), lightTx(c.Anchor(2, 1), 1)), txs: one(lightTx(c.Anchor(2, 0), 0)), code: state.CodeConflict, field: "signed_header"},
		{name: "below the latest", prior: at(lightTx(c.Anchor(3, 0), 0)), txs: one(lightTx(c.Anchor(2, 0), 0)), code: state.CodeConflict, field: "signed_header"},
		{name: "submitted by a site", prior: reg, txs: one(byShop), code: state.CodeWrongSigner, field: "signature"},
		{name: "a solo child's header as a light anchor", prior: one(solo), txs: one(soloLight), code: state.CodeInvalid, field: "chain_id"},
		{name: "a solo anchor of a CometBFT child", prior: reg,
			txs: one(sign(&ledger.Anchor{Version: 1, Height: 1, ChainID: cometChild, Region: "420102", Time: t0 * 1e9}, authKey)), code: state.CodeInvalid, field: "chain_id"},
		{name: "a fork freezes the child", prior: at(lightTx(c.Anchor(2, 0), 0)), txs: one(lightTx(c.Fork(2, 0), 0))},
		{name: "a later header with an earlier time freezes it", prior: at(lightTx(c.Anchor(2, 0), 0), lightTx(c.Anchor(4, 2), 2)),
			txs: one(lightTx(c.Backdated(5, 2, c.Time(3).Add(time.Second/2)), 2))},
		{name: "and then nothing is anchored", prior: at(lightTx(c.Anchor(2, 0), 0), lightTx(c.Fork(2, 0), 0)), txs: one(lightTx(c.Anchor(3, 2), 2)),
			code: state.CodeConflict, field: "chain_id"},
	})
}

// TestLightAnchorsKept: what the parent keeps of a CometBFT child's
// verified headers, and the evidence a fork leaves.
func TestLightAnchorsKept(t *testing.T) {
	c, _ := cometChain(t)
	f := newFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(sign(registerComet(c), authKey))
	a3 := lightTx(c.Anchor(3, 0), 0)
	f.mustBlock(a3, lightTx(c.Anchor(4, 3), 3))
	ch, ok, err := state.ChildOf(f.db, cometChild)
	if err != nil || !ok || ch.Light == nil || ch.Height != 4 || ch.Time != c.Time(4).UnixNano() || !bytes.Equal(ch.Hash[:], c.Signed(4).Hash()) {
		t.Fatalf("child: %+v %v", ch, err)
	}
	if ch.Light.CometChainID != c.ChainID || ch.Light.Frozen != 0 {
		t.Errorf("light client: %+v", ch.Light)
	}
	as, err := state.Anchors(f.db, cometChild, 0, ^uint64(0), 0)
	if err != nil || len(as) != 2 {
		t.Fatalf("anchors: %v %v", as, err)
	}
	l := as[0].Light
	if as[0].Height != 3 || as[0].Tx != a3.ID() || l == nil || !bytes.Equal(l.AppHash, lctest.AppHash(c.ChainID, 3)) ||
		!bytes.Equal(l.NextValidatorsHash, c.Vals(4).Hash()) || !bytes.Equal(l.LastBlockHash, c.Signed(2).Hash()) || l.Height != 3 {
		t.Errorf("anchor 3: %+v %+v", as[0], l)
	}
	fork := lightTx(c.Fork(4, 3), 3)
	f.mustBlock(fork)
	ch, _, _ = state.ChildOf(f.db, cometChild)
	if ch.Light.Frozen == 0 || ch.Light.Evidence != fork.ID() || ch.Height != 4 {
		t.Errorf("after the fork: %+v", ch.Light)
	}
	// A backdated header froze another copy of the chain the same way.
	g := newFixture(t)
	g.mustBlock(world()...)
	g.mustBlock(sign(registerComet(c), authKey), lightTx(c.Anchor(2, 0), 0), lightTx(c.Anchor(4, 2), 2))
	back := lightTx(c.Backdated(5, 2, c.Time(3).Add(time.Second/2)), 2)
	g.mustBlock(back)
	if ch, _, _ := state.ChildOf(g.db, cometChild); ch.Light.Frozen == 0 || ch.Light.Evidence != back.ID() || ch.Height != 4 {
		t.Errorf("after a backdated header: %+v", ch.Light)
	}
}
