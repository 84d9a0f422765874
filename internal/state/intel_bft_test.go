package state_test

import (
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/lightclient/lctest"
	"github.com/epiledger/epiledger/internal/state"
)

// bftChain is a CometBFT chain (the district cometChild, or the province
// "hubei-bft") whose block 3 holds txs, each accepted but for those in
// refused, and whose block 4 holds bundled, accepted, as one bundle.
func bftChain(t testing.TB, chain string, txs []*ledger.Tx, refused map[int]bool, bundled []*ledger.Tx) *lctest.Chain {
	keys := lctest.Keys(4)
	var recs [][]byte
	for _, tx := range bundled {
		recs = append(recs, tx.Bytes())
	}
	bundle, err := lightclient.Bundle(recs)
	if err != nil {
		t.Fatal(err)
	}
	return lctest.NewChainOf(lightclient.ChainID(chain, cometGenesis), time.Unix(t0, 0).UTC(), 8, func(int64) []cmted.PrivKey { return keys },
		func(h int64) lctest.Block {
			var b lctest.Block
			switch h {
			case 3:
				for i, tx := range txs {
					id := tx.ID()
					r := &abci.ExecTxResult{Data: id[:]}
					if refused[i] {
						r = &abci.ExecTxResult{Code: 3, Log: "refused"}
					}
					b.Txs, b.Results = append(b.Txs, tx.Bytes()), append(b.Results, r)
				}
			case 4:
				b.Txs = types.Txs{bundle}
				b.Results = []*abci.ExecTxResult{{Data: lightclient.BundleResults(make([]uint32, len(recs)))}}
			}
			return b
		})
}

// bftSummary carries transaction i of block h (member m of a bundle, if
// m >= 0) of c, linked up to height a, from chain from.
func bftSummary(c *lctest.Chain, from string, tx *ledger.Tx, h int64, i, m int, a int64) *ledger.IntelSummaryBFT {
	b, err := state.IntelSummaryBFTOf(from, tx.Bytes(), c.Carried(h, i, m, a))
	if err != nil {
		panic(err)
	}
	return b
}

// lightOf is header h of c, verified from the genesis, as chain's light
// anchor.
func lightOf(c *lctest.Chain, chain string, h int64) *ledger.Tx {
	an := c.Anchor(h, 0)
	return sign(&ledger.LightAnchor{ChainID: chain, SignedHeader: an.SignedHeader, Validators: an.Validators, TrustedValidators: an.TrustedValidators}, authKey)
}

func TestApplyIntelSummaryBFT(t *testing.T) {
	// The CometBFT district's N2 confirmed a record: the confirmation
	// is transaction 0 of its block 3; a refused one is transaction 1; a
	// second confirmation travelled in a bundle in block 4.
	d := ledger.IntelDigest{Origin: cometChild, Record: ledger.Hash{0xd0}, Time: t0, Region: "420102", Dimension: "epidemic", Level: 1,
		Secrecy: "internal", Confirmed: 9}
	up := signFor(cometChild, &ledger.IntelConfirm{Of: d.Record, Digest: d}, childKey)
	d2 := d
	d2.Record = ledger.Hash{0xd2}
	refused := signFor(cometChild, &ledger.IntelConfirm{Of: d2.Record, Digest: d2}, childKey)
	d3 := d
	d3.Record = ledger.Hash{0xd3}
	inBundle := signFor(cometChild, &ledger.IntelConfirm{Of: d3.Record, Digest: d3}, childKey)
	filler := signFor(cometChild, &ledger.GrantRole{Key: [32]byte{1}, Role: ledger.RoleRelay}, childKey)
	wrongChain := sign(&ledger.IntelConfirm{Of: d.Record, Digest: d}, childKey) // signed for this chain, not the child's
	grantUp := signFor(cometChild, &ledger.AccessGrant{Request: ledger.Hash{11}, Grantee: [32]byte{12}, Expires: t0 + 30*86400,
		Scope: ledger.AccessScope{Chains: []string{chainID}, Reads: []string{"intel"}, From: t0, To: t0 + 86400}}, childKey)
	c := bftChain(t, cometChild, []*ledger.Tx{up, refused, wrongChain, grantUp}, map[int]bool{1: true}, []*ledger.Tx{filler, inBundle})

	base := append(intelRoles(), grantTx(relayKey, ledger.RoleRelay), sign(registerComet(c), authKey))
	at := func(txs ...*ledger.Tx) []*ledger.Tx { return append(append([]*ledger.Tx{}, base...), txs...) }
	carry := func(b *ledger.IntelSummaryBFT) []*ledger.Tx { return one(sign(b, relayKey)) }
	refusedProof := bftSummary(c, cometChild, refused, 3, 1, -1, 4)
	id := refused.ID()
	refusedProof.ResultData = id[:]

	// A solo child, and a CometBFT province above broadcasting down.
	solo := sign(registerChild("420102", ledger.EngineSolo), authKey)
	h1, a1 := childBlock(signFor(childChain, &ledger.IntelConfirm{Of: d.Record, Digest: d}, childKey), 1, childGenesis, t0+10)
	soloUp := signFor(childChain, &ledger.IntelConfirm{Of: d.Record, Digest: d}, childKey)
	national := ledger.IntelDigest{Origin: "national-1", Record: ledger.Hash{0xe0}, Time: t0, Region: "000000", Dimension: "epidemic", Level: 1, Secrecy: "public"}
	down := signFor("hubei-bft", &ledger.IntelConfirm{Of: national.Record, Digest: national, Broadcast: true}, parentKey)
	grant := signFor("hubei-bft", &ledger.AccessGrant{Request: ledger.Hash{11}, Grantee: [32]byte{12}, Expires: t0 + 30*86400,
		Scope: ledger.AccessScope{Chains: []string{chainID}, Reads: []string{"intel"}, From: t0, To: t0 + 86400}}, parentKey)
	p := bftChain(t, "hubei-bft", []*ledger.Tx{down, grant}, nil, []*ledger.Tx{filler, inBundle})
	preg := registerComet(p)
	preg.ChainID, preg.Region = "hubei-bft", "420000"
	withParent := append(append([]*ledger.Tx{}, base...), sign(&ledger.RegisterParent{RegisterChild: *preg}, authKey), lightOf(p, "hubei-bft", 4))

	frozen := at(lightOf(c, cometChild, 4), sign(&ledger.LightAnchor{ChainID: cometChild, SignedHeader: c.Fork(4, 0).SignedHeader,
		Validators: c.Fork(4, 0).Validators, TrustedValidators: c.Fork(4, 0).TrustedValidators}, authKey))
	runApplyCases(t, []applyCase{
		{name: "a CometBFT child's confirmation, header 4 verified", prior: at(lightOf(c, cometChild, 4)), txs: carry(bftSummary(c, cometChild, up, 3, 0, -1, 4))},
		{name: "linked to verified header 7", prior: at(lightOf(c, cometChild, 7)), txs: carry(bftSummary(c, cometChild, up, 3, 0, -1, 7))},
		{name: "in a bundle", prior: at(lightOf(c, cometChild, 5)), txs: carry(bftSummary(c, cometChild, inBundle, 4, 0, 1, 5))},
		{name: "no header verified", prior: base, txs: carry(bftSummary(c, cometChild, up, 3, 0, -1, 4)), code: state.CodeInvalid, field: "links"},
		{name: "linked to a header not verified", prior: at(lightOf(c, cometChild, 4)), txs: carry(bftSummary(c, cometChild, up, 3, 0, -1, 5)),
			code: state.CodeInvalid, field: "links"},
		{name: "refused by the child's state machine", prior: at(lightOf(c, cometChild, 4)), txs: carry(refusedProof), code: state.CodeInvalid, field: "tx"},
		{name: "signed for another chain", prior: at(lightOf(c, cometChild, 4)), txs: carry(bftSummary(c, cometChild, wrongChain, 3, 2, -1, 4)),
			code: state.CodeInvalid, field: "tx"},
		{name: "another transaction than the block's", prior: at(lightOf(c, cometChild, 4)), txs: carry(func() *ledger.IntelSummaryBFT {
			b := bftSummary(c, cometChild, up, 3, 0, -1, 4)
			b.Tx = soloUp.Bytes()
			return b
		}()), code: state.CodeInvalid, field: "tx"},
		{name: "twice", prior: at(lightOf(c, cometChild, 4), lightOf(c, cometChild, 7)), txs: []*ledger.Tx{sign(bftSummary(c, cometChild, up, 3, 0, -1, 4), relayKey),
			sign(bftSummary(c, cometChild, up, 3, 0, -1, 7), relayKey)}, code: state.CodeConflict, field: "tx"},
		{name: "a frozen child", prior: frozen, txs: carry(bftSummary(c, cometChild, up, 3, 0, -1, 4)), code: state.CodeConflict, field: "from"},
		{name: "carried by a site", prior: at(lightOf(c, cometChild, 4)), txs: one(sign(bftSummary(c, cometChild, up, 3, 0, -1, 4), shopKey)),
			code: state.CodeWrongSigner, field: "signature"},
		{name: "as an intel_summary", prior: at(lightOf(c, cometChild, 4)), txs: one(summaryTx(cometChild, h1, up)), code: state.CodeInvalid, field: "from"},
		{name: "from a solo child", prior: []*ledger.Tx{grantTx(relayKey, ledger.RoleRelay), solo, a1},
			txs: carry(bftSummary(c, childChain, soloUp, 3, 0, -1, 4)), code: state.CodeInvalid, field: "from"},
		{name: "a broadcast from a CometBFT parent", prior: withParent, txs: carry(bftSummary(p, "hubei-bft", down, 3, 0, -1, 4))},
		{name: "a grant from a CometBFT parent", prior: withParent, txs: carry(bftSummary(p, "hubei-bft", grant, 3, 1, -1, 4))},
		{name: "a grant from a CometBFT child", prior: at(lightOf(c, cometChild, 4)), txs: carry(bftSummary(c, cometChild, grantUp, 3, 3, -1, 4)),
			code: state.CodeInvalid, field: "tx"},
	})
}

// TestIntelSummaryBFTEntry: what came up from a CometBFT child is an entry
// like any other digest.
func TestIntelSummaryBFTEntry(t *testing.T) {
	d := ledger.IntelDigest{Origin: cometChild, Record: ledger.Hash{0xd0}, Time: t0, Region: "420102", Dimension: "epidemic", Level: 1,
		Secrecy: "internal", Confirmed: 9}
	up := signFor(cometChild, &ledger.IntelConfirm{Of: d.Record, Digest: d}, childKey)
	c := bftChain(t, cometChild, []*ledger.Tx{up}, nil, []*ledger.Tx{up, signFor(cometChild, &ledger.GrantRole{Key: [32]byte{1}, Role: ledger.RoleRelay}, childKey)})
	f := newFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(append(intelRoles(), grantTx(relayKey, ledger.RoleRelay), sign(registerComet(c), authKey))...)
	carried := sign(bftSummary(c, cometChild, up, 3, 0, -1, 4), relayKey)
	f.mustBlock(lightOf(c, cometChild, 4), carried)
	e, ok, err := state.IntelEntryOf(f.db, carried.ID())
	if err != nil || !ok || e.Origin != cometChild || e.OriginTx != d.Record || e.From != cometChild || e.Confirmed != 9 {
		t.Fatalf("the carried digest: %+v %v %v", e, ok, err)
	}
}
