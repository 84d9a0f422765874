package state_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

var n1Key = key("national n1")

// nationalFixture is a fixture whose chain serves the nation.
func nationalFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.gen.Region = "000000"
	f.m = state.New(f.db, f.gen)
	f.hashes[0] = f.gen.Hash()
	return f
}

// applyNational applies txs in one block of a national chain where the
// intelligence roles and n1Key hold theirs, each but the last accepted,
// the last's result checked for code and field.
func applyNational(t *testing.T, txs []*ledger.Tx, code, field string) *fixture {
	t.Helper()
	f := nationalFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(append(intelRoles(), grantTx(n1Key, ledger.RoleN1))...)
	errs, _ := f.block(txs)
	for i, err := range errs[:len(errs)-1] {
		if err != nil {
			t.Fatalf("setup tx %d: %v", i, err)
		}
	}
	checkResult(t, errs[len(errs)-1], code, field)
	return f
}

func scope() ledger.AccessScope {
	return ledger.AccessScope{Chains: []string{chainID, childChain}, Reads: []string{"intel", "trace"}, Dimensions: []string{"epidemic"},
		Persons: []ledger.Pseudonym{{7}}, From: t0, To: t0 + 86400}
}

// TestApplyAccess: on the national chain an N2 asks and an N1 grants,
// within the request and before its expiry; nowhere else.
func TestApplyAccess(t *testing.T) {
	req := sign(&ledger.AccessRequest{Scope: scope(), Reason: "the Lukou cluster"}, n2aKey)
	grant := func(edit func(*ledger.AccessGrant), by ...string) *ledger.Tx {
		g := &ledger.AccessGrant{Request: req.ID(), Grantee: pub(n2aKey), Scope: scope(), Expires: now2 + 3600}
		if edit != nil {
			edit(g)
		}
		k := n1Key
		if len(by) > 0 {
			k = key(by[0])
		}
		return sign(g, k)
	}
	for _, tc := range []struct {
		name        string
		txs         []*ledger.Tx
		code, field string
	}{
		{name: "asked and granted", txs: []*ledger.Tx{req, grant(nil)}},
		{name: "granted narrower", txs: []*ledger.Tx{req, grant(func(g *ledger.AccessGrant) { g.Scope.Reads = []string{"intel"}; g.Scope.To-- })}},
		{name: "asked by an N3", txs: one(sign(&ledger.AccessRequest{Scope: scope(), Reason: "x"}, airportKey)), code: state.CodeWrongSigner, field: "signature"},
		{name: "granted by an N2", txs: []*ledger.Tx{req, sign(&ledger.AccessGrant{Request: req.ID(), Grantee: pub(n2aKey), Scope: scope(), Expires: now2 + 1}, n2bKey)},
			code: state.CodeWrongSigner, field: "signature"},
		{name: "no such request", txs: one(grant(func(g *ledger.AccessGrant) { g.Request = ledger.Hash{1} })), code: state.CodeInvalid, field: "request"},
		{name: "to another key", txs: []*ledger.Tx{req, grant(func(g *ledger.AccessGrant) { g.Grantee = pub(n2bKey) })}, code: state.CodeInvalid, field: "grantee"},
		{name: "wider than asked", txs: []*ledger.Tx{req, grant(func(g *ledger.AccessGrant) { g.Scope.Chains = append(g.Scope.Chains, "suzhou-1") })},
			code: state.CodeInvalid, field: "chains"},
		{name: "any dimension", txs: []*ledger.Tx{req, grant(func(g *ledger.AccessGrant) { g.Scope.Dimensions = nil })}, code: state.CodeInvalid, field: "dimensions"},
		{name: "expired", txs: []*ledger.Tx{req, grant(func(g *ledger.AccessGrant) { g.Expires = now2 })}, code: state.CodeInvalid, field: "expires"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := applyNational(t, tc.txs, tc.code, tc.field)
			if tc.code != "" {
				return
			}
			last := tc.txs[len(tc.txs)-1]
			g, ok, err := state.GrantOf(f.db, last.ID())
			if err != nil || !ok || g.Origin != chainID || g.From != "" || g.Grantee != pub(n2aKey) || g.Carrier != last.ID() {
				t.Fatalf("the grant held: %+v %v %v", g, ok, err)
			}
			rs, err := state.AccessRequests(f.db)
			if err != nil || len(rs) != 1 || rs[0].ID != g.Request || rs[0].Signer != pub(n2aKey) || rs[0].Reason == "" {
				t.Fatalf("the requests: %+v %v", rs, err)
			}
			gs, err := state.Grants(f.db, pub(n2aKey))
			if err != nil || len(gs) != 1 || gs[0].ID != last.ID() {
				t.Fatalf("the grantee's grants: %+v %v", gs, err)
			}
			if gs, _ := state.Grants(f.db, pub(n2bKey)); len(gs) != 0 {
				t.Fatalf("another key holds %d grants", len(gs))
			}
		})
	}
	// Anywhere but on the national chain, neither is taken.
	runApplyCases(t, []applyCase{
		{name: "asked on a city chain", prior: intelRoles(), txs: one(req), code: state.CodeInvalid, field: "tx"},
		{name: "granted on a city chain", prior: intelRoles(), txs: one(grant(nil)), code: state.CodeInvalid, field: "tx"},
	})
}

// TestApplyCarriedGrant: a grant comes down from the parent, proven under
// an anchored header, to a chain it names (or whose child it names).
func TestApplyCarriedGrant(t *testing.T) {
	g := func(chains []string, expires int64) *ledger.Tx {
		s := scope()
		s.Chains = chains
		return signFor("hubei-1", &ledger.AccessGrant{Request: ledger.Hash{0xa0}, Grantee: pub(n2aKey), Scope: s, Expires: expires}, parentKey)
	}
	// down carries grant in the parent's block 1, anchored here.
	down := func(grant *ledger.Tx, child bool) []*ledger.Tx {
		hubei := ledger.Header{Version: 1, Height: 1, PrevHash: ledger.Hash{0xd1}, Time: (t0 + 10) * 1e9, ChainID: "hubei-1", Region: "420000"}
		hubei.MerkleRoot = ledger.MerkleRoot([]ledger.Hash{ledger.LeafHash(grant.Bytes())})
		txs := []*ledger.Tx{sign(registerParent("420000"), authKey), sign(ledger.AnchorOf(&hubei), parentKey)}
		if child {
			txs = append(txs, sign(registerChild("420102", ledger.EngineSolo), authKey))
		}
		return append(txs, summaryTx("hubei-1", hubei, grant))
	}
	named := g([]string{chainID}, blockTime(3)+60)
	relay := one(grantTx(relayKey, ledger.RoleRelay))
	hubei := ledger.Header{Version: 1, Height: 1, PrevHash: ledger.Hash{0xd1}, Time: (t0 + 10) * 1e9, ChainID: "hubei-1", Region: "420000"}
	hubei.MerkleRoot = ledger.MerkleRoot([]ledger.Hash{ledger.LeafHash(named.Bytes())})
	hubei2 := ledger.Header{Version: 1, Height: 2, PrevHash: hubei.Hash(), Time: (t0 + 20) * 1e9, ChainID: "hubei-1", Region: "420000"}
	runApplyCases(t, []applyCase{
		{name: "naming this chain", prior: relay, txs: down(named, false)},
		{name: "naming a child", prior: relay, txs: down(g([]string{"suzhou-1", childChain}, blockTime(3)+60), true)},
		{name: "naming neither", prior: relay, txs: down(g([]string{"suzhou-1"}, blockTime(3)+60), true), code: state.CodeInvalid, field: "tx"},
		{name: "expired", prior: relay, txs: down(g([]string{chainID}, blockTime(3)), false), code: state.CodeInvalid, field: "tx"},
		{name: "twice", prior: relay, txs: append(down(named, false), sign(ledger.AnchorOf(&hubei2), parentKey), summaryTx("hubei-1", hubei, named, hubei2)),
			code: state.CodeConflict, field: "tx"},
	})
	// From a child, a grant is refused: grants come down.
	d := signFor(childChain, &ledger.AccessGrant{Request: ledger.Hash{0xa0}, Grantee: pub(n2aKey), Scope: scope(), Expires: blockTime(3) + 60}, parentKey)
	h1, a1 := childBlock(d, 1, childGenesis, t0+10)
	runApplyCases(t, []applyCase{
		{name: "from a child", prior: []*ledger.Tx{grantTx(relayKey, ledger.RoleRelay), sign(registerChild("420102", ledger.EngineSolo), authKey)},
			txs: []*ledger.Tx{a1, summaryTx(childChain, h1, d)}, code: state.CodeInvalid, field: "tx"},
	})
	// Held, it is the grantee's.
	f := newFixture(t)
	f.mustBlock(append(world(), relay...)...)
	carried := down(named, false)
	f.mustBlock(carried...)
	gs, err := state.Grants(f.db, pub(n2aKey))
	if err != nil || len(gs) != 1 || gs[0].ID != named.ID() || gs[0].From != "hubei-1" || gs[0].Origin != "hubei-1" || gs[0].Expired(now2) ||
		gs[0].Carrier != carried[len(carried)-1].ID() {
		t.Fatalf("the carried grant: %+v %v", gs, err)
	}
	if !gs[0].Expired(blockTime(3) + 60) {
		t.Fatal("a grant is not expired at its expiry")
	}
}

// TestApplyAccessRevoke: the national N1 revokes a grant made there,
// once; a revocation carried down closes the grant where it is held, and
// keeps it out where it has not come yet.
func TestApplyAccessRevoke(t *testing.T) {
	req := sign(&ledger.AccessRequest{Scope: scope(), Reason: "the Lukou cluster"}, n2aKey)
	grant := sign(&ledger.AccessGrant{Request: req.ID(), Grantee: pub(n2aKey), Scope: scope(), Expires: now2 + 3600}, n1Key)
	revoke := func(g ledger.Hash, k ed25519.PrivateKey) *ledger.Tx {
		return sign(&ledger.AccessRevoke{Grant: g, Reason: "the investigation is closed"}, k)
	}
	for _, tc := range []struct {
		name        string
		txs         []*ledger.Tx
		code, field string
	}{
		{name: "revoked by the N1", txs: []*ledger.Tx{req, grant, revoke(grant.ID(), n1Key)}},
		{name: "by an N2", txs: []*ledger.Tx{req, grant, revoke(grant.ID(), n2bKey)}, code: state.CodeWrongSigner, field: "signature"},
		{name: "no such grant", txs: one(revoke(ledger.Hash{1}, n1Key)), code: state.CodeInvalid, field: "grant"},
		{name: "twice", txs: []*ledger.Tx{req, grant, revoke(grant.ID(), n1Key), sign(&ledger.AccessRevoke{Grant: grant.ID(), Reason: "again"}, n1Key)},
			code: state.CodeConflict, field: "grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := applyNational(t, tc.txs, tc.code, tc.field)
			if tc.code != "" {
				return
			}
			g, ok, err := state.GrantOf(f.db, grant.ID())
			if err != nil || !ok || g.Revoked != tc.txs[2].ID() || g.RevokedAt != blockTime(3) {
				t.Fatalf("the revoked grant: %+v %v %v", g, ok, err)
			}
		})
	}
	runApplyCases(t, []applyCase{{name: "on a city chain", prior: intelRoles(), txs: one(revoke(grant.ID(), n1Key)), code: state.CodeInvalid, field: "tx"}})

	// Down from Hubei: its block 1 holds the grant, block 2 the
	// revocation; each carried in an intel_summary.
	named := signFor("hubei-1", &ledger.AccessGrant{Request: ledger.Hash{0xa0}, Grantee: pub(n2aKey), Scope: scope(), Expires: blockTime(4) + 60}, parentKey)
	withdrawn := signFor("hubei-1", &ledger.AccessRevoke{Grant: named.ID(), Reason: "closed"}, parentKey)
	h1 := ledger.Header{Version: 1, Height: 1, PrevHash: ledger.Hash{0xd1}, Time: (t0 + 10) * 1e9, ChainID: "hubei-1", Region: "420000",
		MerkleRoot: ledger.MerkleRoot([]ledger.Hash{ledger.LeafHash(named.Bytes())})}
	h2 := ledger.Header{Version: 1, Height: 2, PrevHash: h1.Hash(), Time: (t0 + 20) * 1e9, ChainID: "hubei-1", Region: "420000",
		MerkleRoot: ledger.MerkleRoot([]ledger.Hash{ledger.LeafHash(withdrawn.Bytes())})}
	h3 := ledger.Header{Version: 1, Height: 3, PrevHash: h2.Hash(), Time: (t0 + 30) * 1e9, ChainID: "hubei-1", Region: "420000"}
	linked := []*ledger.Tx{grantTx(relayKey, ledger.RoleRelay), sign(registerParent("420000"), authKey),
		sign(ledger.AnchorOf(&h1), parentKey), sign(ledger.AnchorOf(&h2), parentKey)}
	carryGrant, carryRevoke := summaryTx("hubei-1", h1, named, h2), summaryTx("hubei-1", h2, withdrawn)
	runApplyCases(t, []applyCase{
		{name: "a carried revocation", prior: linked, txs: []*ledger.Tx{carryGrant, carryRevoke}},
		{name: "a revocation before its grant", prior: linked, txs: []*ledger.Tx{carryRevoke, carryGrant}, code: state.CodeConflict, field: "tx"},
		{name: "a revocation carried twice", prior: append(append([]*ledger.Tx{}, linked...), sign(ledger.AnchorOf(&h3), parentKey)),
			txs: []*ledger.Tx{carryRevoke, summaryTx("hubei-1", h2, withdrawn, h3)}, code: state.CodeConflict, field: "grant"},
	})
	// From a child, a revocation is refused: they come down.
	up := signFor(childChain, &ledger.AccessRevoke{Grant: named.ID(), Reason: "closed"}, childKey)
	hc, ac := childBlock(up, 1, childGenesis, t0+10)
	runApplyCases(t, []applyCase{
		{name: "from a child", prior: []*ledger.Tx{grantTx(relayKey, ledger.RoleRelay), sign(registerChild("420102", ledger.EngineSolo), authKey)},
			txs: []*ledger.Tx{ac, summaryTx(childChain, hc, up)}, code: state.CodeInvalid, field: "tx"},
	})
	f := newFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(linked...)
	f.mustBlock(carryGrant, carryRevoke)
	g, ok, err := state.GrantOf(f.db, named.ID())
	if err != nil || !ok || g.Revoked != carryRevoke.ID() {
		t.Fatalf("the grant after its revocation came down: %+v %v %v", g, ok, err)
	}
}
