package state_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// digestOf is the digest of record tx (δ below) admitted on the test chain.
func digestOf(rec *ledger.Tx) ledger.IntelDigest {
	d := rec.Body.(*ledger.Intel)
	return ledger.IntelDigest{Origin: chainID, Record: rec.ID(), Time: d.Time, Region: d.Region, Dimension: d.Dimension, Level: d.Level,
		Secrecy: d.Secrecy, Involved: d.Involved, Confirmed: d.Confirmed, Suspected: d.Suspected}
}

func TestApplyIntelConfirm(t *testing.T) {
	rec := sign(δ(1), airportKey, n2aKey)
	secret := δ(1)
	secret.Secrecy, secret.Region = "secret", "420102"
	srec := sign(secret, airportKey, n2aKey)
	prior := intelRoles()
	// The records and their confirmation in one block: a grant takes
	// effect from the next block, an entry at once.
	with := func(txs ...*ledger.Tx) []*ledger.Tx { return append([]*ledger.Tx{rec, srec}, txs...) }
	confirm := func(d ledger.IntelDigest, by ...ed25519.PrivateKey) *ledger.Tx {
		return sign(&ledger.IntelConfirm{Of: d.Record, Digest: d}, by...)
	}
	counted := digestOf(srec)
	redacted := counted.Redacted("420100")
	otherRecord := digestOf(rec)
	otherRecord.Record = ledger.Hash{9}
	runApplyCases(t, []applyCase{
		{name: "an N2 confirms", prior: prior, txs: with(confirm(digestOf(rec), n2bKey))},
		{name: "a secret record, redacted", prior: prior, txs: with(confirm(redacted, n2bKey))},
		{name: "a secret record with its counts", prior: prior, txs: with(confirm(counted, n2bKey)), code: state.CodeInvalid, field: "digest"},
		{name: "by the N3", prior: prior, txs: with(confirm(digestOf(rec), airportKey)), code: state.CodeWrongSigner, field: "signature"},
		{name: "a broadcast by an N2", prior: prior, txs: with(sign(&ledger.IntelConfirm{Of: rec.ID(), Digest: digestOf(rec), Broadcast: true}, n2bKey)),
			code: state.CodeWrongSigner, field: "signature"},
		{name: "no such record", prior: prior, txs: with(sign(&ledger.IntelConfirm{Of: ledger.Hash{9}, Digest: otherRecord}, n2bKey)), code: state.CodeInvalid, field: "of"},
		{name: "twice (one body: a replay)", prior: prior, txs: with(confirm(digestOf(rec), n2bKey), confirm(digestOf(rec), n2aKey)), code: state.CodeReplay},
	})
}

// childBlock is the child's block 1 holding tx alone, and its anchor.
func childBlock(tx *ledger.Tx, height uint64, prev ledger.Hash, at int64) (ledger.Header, *ledger.Tx) {
	h := childHeader(height, prev, at)
	h.MerkleRoot, h.NumTxs, h.TxBytes = ledger.MerkleRoot([]ledger.Hash{ledger.LeafHash(tx.Bytes())}), 1, uint64(len(tx.Bytes()))
	return h, anchorTx(h)
}

func summaryTx(from string, h ledger.Header, tx *ledger.Tx, links ...ledger.Header) *ledger.Tx {
	b := &ledger.IntelSummary{From: from, Header: h.Bytes(), Tx: tx.Bytes(), Index: 0, Size: 1}
	for _, l := range links {
		b.Links = append(b.Links, l.Bytes())
	}
	return sign(b, relayKey)
}

var relayKey = key("relay")

// signFor is sign for another chain: a transaction made on a linked
// chain, carried here.
func signFor(chain string, b ledger.Body, keys ...ed25519.PrivateKey) *ledger.Tx {
	tx := ledger.NewTx(b)
	for _, k := range keys {
		tx.Sign(chain, k)
	}
	return tx
}

func TestApplyIntelSummary(t *testing.T) {
	// The district's N2 confirmed a record of the district's: its
	// confirmation is in the district's block 1, anchored here.
	d := ledger.IntelDigest{Origin: childChain, Record: ledger.Hash{0xd0}, Time: t0, Region: "420102", Dimension: "epidemic", Level: 1,
		Secrecy: "internal", Confirmed: 9}
	up := signFor(childChain, &ledger.IntelConfirm{Of: d.Record, Digest: d}, childKey)
	h1, a1 := childBlock(up, 1, childGenesis, t0+10)
	h2 := childHeader(2, h1.Hash(), t0+20)
	// The same confirmation, signed for this chain instead of the child's.
	wrongChain := sign(&ledger.IntelConfirm{Of: d.Record, Digest: d}, childKey)
	hw, aw := childBlock(wrongChain, 1, childGenesis, t0+10)
	base := append(intelRoles(), grantTx(relayKey, ledger.RoleRelay), sign(registerChild("420102", ledger.EngineSolo), authKey))
	anchored := append(append([]*ledger.Tx{}, base...), a1)
	bcast := signFor(childChain, &ledger.IntelConfirm{Of: d.Record, Digest: d, Broadcast: true}, childKey)
	hb, ab := childBlock(bcast, 1, childGenesis, t0+10)
	notIn := h1
	notIn.MerkleRoot = ledger.Hash{1}
	// The parent (Hubei) broadcast a national digest down.
	hubei := ledger.Header{Version: 1, Height: 1, PrevHash: ledger.Hash{0xd1}, Time: (t0 + 10) * 1e9, ChainID: "hubei-1", Region: "420000"}
	down := signFor("hubei-1", &ledger.IntelConfirm{Of: ledger.Hash{0xe0}, Digest: ledger.IntelDigest{Origin: "national-1", Record: ledger.Hash{0xe0}, Time: t0,
		Region: "000000", Dimension: "epidemic", Level: 1, Secrecy: "public"}, Broadcast: true}, parentKey)
	hubei.MerkleRoot = ledger.MerkleRoot([]ledger.Hash{ledger.LeafHash(down.Bytes())})
	withParent := append(append([]*ledger.Tx{}, base...), sign(registerParent("420000"), authKey), sign(ledger.AnchorOf(&hubei), parentKey))
	notBcast := signFor("hubei-1", &ledger.IntelConfirm{Of: d.Record, Digest: d}, parentKey)
	hubeiNB := hubei
	hubeiNB.MerkleRoot = ledger.MerkleRoot([]ledger.Hash{ledger.LeafHash(notBcast.Bytes())})
	runApplyCases(t, []applyCase{
		{name: "a child's confirmation, anchored", prior: anchored, txs: one(summaryTx(childChain, h1, up))},
		{name: "linked to a later anchored header", prior: append(append([]*ledger.Tx{}, base...), anchorTx(h2)), txs: one(summaryTx(childChain, h1, up, h2))},
		{name: "its block not anchored", prior: base, txs: one(summaryTx(childChain, h1, up)), code: state.CodeInvalid, field: "header"},
		{name: "not in the block", prior: append(append([]*ledger.Tx{}, base...), anchorTx(notIn)), txs: one(summaryTx(childChain, notIn, up)), code: state.CodeInvalid, field: "tx"},
		{name: "a broadcast from a child", prior: append(append([]*ledger.Tx{}, base...), ab), txs: one(summaryTx(childChain, hb, bcast)), code: state.CodeInvalid, field: "tx"},
		{name: "signed for another chain", prior: append(append([]*ledger.Tx{}, base...), aw), txs: one(summaryTx(childChain, hw, wrongChain)),
			code: state.CodeInvalid, field: "tx"},
		{name: "from a chain not linked", prior: anchored, txs: one(summaryTx("elsewhere", h1, up)), code: state.CodeInvalid, field: "from"},
		{name: "carried by a site", prior: anchored, txs: one(sign(&ledger.IntelSummary{From: childChain, Header: h1.Bytes(), Tx: up.Bytes(), Size: 1}, shopKey)),
			code: state.CodeWrongSigner, field: "signature"},
		{name: "twice", prior: anchored, txs: []*ledger.Tx{anchorTx(h2), summaryTx(childChain, h1, up), summaryTx(childChain, h1, up, h2)},
			code: state.CodeConflict, field: "tx"},
		{name: "a broadcast from the parent", prior: withParent, txs: one(summaryTx("hubei-1", hubei, down))},
		{name: "not a broadcast, from the parent", prior: append(append([]*ledger.Tx{}, base...), sign(registerParent("420000"), authKey), sign(ledger.AnchorOf(&hubeiNB), parentKey)),
			txs: one(summaryTx("hubei-1", hubeiNB, notBcast)), code: state.CodeInvalid, field: "tx"},
	})
}

// TestIntelUp: a digest that came up from the district is an entry here,
// which this chain's N2 confirms in turn, and the confirmation is listed
// for the relay to carry on up.
func TestIntelUp(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(append(intelRoles(), grantTx(relayKey, ledger.RoleRelay), sign(registerChild("420102", ledger.EngineSolo), authKey))...)
	d := ledger.IntelDigest{Origin: childChain, Record: ledger.Hash{0xd0}, Time: t0, Region: "420102", Dimension: "epidemic", Level: 1,
		Secrecy: "internal", Confirmed: 9}
	up := signFor(childChain, &ledger.IntelConfirm{Of: d.Record, Digest: d}, childKey)
	h1, a1 := childBlock(up, 1, childGenesis, t0+10)
	carried := summaryTx(childChain, h1, up)
	f.mustBlock(a1, carried)
	e, ok, err := state.IntelEntryOf(f.db, carried.ID())
	if err != nil || !ok || e.Origin != childChain || e.OriginTx != d.Record || e.From != childChain || e.Confirmed != 9 || e.Broadcast {
		t.Fatalf("the carried digest: %+v %v %v", e, ok, err)
	}
	again := sign(&ledger.IntelConfirm{Of: carried.ID(), Digest: d.Redacted("420100")}, n2aKey)
	f.mustBlock(again)
	cs, err := state.IntelConfirmations(f.db, 0, 0)
	if err != nil || len(cs) != 1 || cs[0].Tx != again.ID() || cs[0].Broadcast {
		t.Errorf("confirmations: %+v %v", cs, err)
	}
}
