package state_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// Intelligence on the Wuhan chain (420100): the airport's epidemic team
// (N3) submits, the health commission's officers (N2) endorse.
var (
	airportKey = key("airport epidemic team")
	n2aKey     = key("health commission a")
	n2bKey     = key("health commission b")
)

func grantTx(k ed25519.PrivateKey, role string) *ledger.Tx {
	return sign(&ledger.GrantRole{Key: pub(k), Role: role, Name: role}, authKey)
}

func intelRoles() []*ledger.Tx {
	return []*ledger.Tx{grantTx(airportKey, ledger.RoleN3), grantTx(n2aKey, ledger.RoleN2), grantTx(n2bKey, ledger.RoleN2)}
}

// δ is a level I epidemic record: nine positives among the airport's
// staff, with endorsements N2 signatures to follow.
func δ(endorsements uint8) *ledger.Intel {
	return &ledger.Intel{Dimension: "epidemic", Level: 1, Secrecy: "internal", Time: t0 + 30, Region: "420100", Place: "Tianhe airport",
		Involved: 200, Confirmed: 9, Spread: "cleaning staff of international arrivals", Facts: "routine tests found 9 positives",
		Topics: []string{"airport"}, Endorsements: endorsements}
}

func withFacts(f string) *ledger.Intel { d := δ(1); d.Facts = f; return d }

func TestApplyIntel(t *testing.T) {
	roles := intelRoles()
	withRegion := func(r string) *ledger.Intel { d := δ(1); d.Region = r; return d }
	future := δ(1)
	future.Time = blockTime(3) + 3600
	runApplyCases(t, []applyCase{
		{name: "endorsed by one N2", prior: roles, txs: one(sign(δ(1), airportKey, n2aKey))},
		{name: "endorsed by two N2s", prior: roles, txs: one(sign(δ(2), airportKey, n2aKey, n2bKey))},
		{name: "about a district of the city", prior: roles, txs: one(sign(withRegion("420102"), airportKey, n2aKey))},
		{name: "submitted without the role n3", prior: roles, txs: one(sign(δ(1), shopKey, n2aKey)), code: state.CodeWrongSigner, field: "signature"},
		{name: "endorsed by an N3", prior: roles, txs: one(sign(δ(1), n2aKey, airportKey)), code: state.CodeWrongSigner, field: "signature"},
		{name: "endorsed by its own submitter", prior: roles, txs: one(sign(δ(1), n2aKey, n2aKey)), code: state.CodeWrongSigner, field: "signature"},
		{name: "one N2 twice", prior: roles, txs: one(sign(δ(2), airportKey, n2aKey, n2aKey)), code: state.CodeWrongSigner, field: "signature"},
		{name: "below the policy", prior: append(roles, sign(&ledger.IntelPolicy{Endorsements: 2}, authKey)), txs: one(sign(δ(1), airportKey, n2aKey)),
			code: state.CodeInvalid, field: "endorsements"},
		{name: "meeting the policy", prior: append(roles, sign(&ledger.IntelPolicy{Endorsements: 2}, authKey)), txs: one(sign(δ(2), airportKey, n2aKey, n2bKey))},
		{name: "a policy not by the authority", prior: roles, txs: one(sign(&ledger.IntelPolicy{Endorsements: 2}, n2aKey)), code: state.CodeWrongSigner, field: "signature"},
		{name: "another city", prior: roles, txs: one(sign(withRegion("430100"), airportKey, n2aKey)), code: state.CodeInvalid, field: "region"},
		{name: "the province above", prior: roles, txs: one(sign(withRegion("420000"), airportKey, n2aKey)), code: state.CodeInvalid, field: "region"},
		{name: "not a region", prior: roles, txs: one(sign(withRegion("airport"), airportKey, n2aKey)), code: state.CodeInvalid, field: "region"},
		{name: "in the future", prior: roles, txs: one(sign(future, airportKey, n2aKey)), code: state.CodeInvalid, field: "time"},
		{name: "a phone number in the facts", prior: roles, txs: one(sign(withFacts("call 13800138000"), airportKey, n2aKey)), code: state.CodeInvalid, field: "facts"},
		{name: "n1 on a city's chain", txs: one(grantTx(n2aKey, ledger.RoleN1)), code: state.CodeInvalid, field: "role"},
	})
}

func TestIntelKept(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(intelRoles()...)
	rec := sign(δ(2), airportKey, n2aKey, n2bKey)
	f.mustBlock(rec)
	got, err := state.IntelEntries(f.db, t0, t0+60, 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("summaries: %+v %v", got, err)
	}
	s := got[0]
	if s.Tx != rec.ID() || s.Time != t0+30 || s.Level != 1 || s.Confirmed != 9 || s.Region != "420100" || s.Submitter != pub(airportKey) ||
		len(s.Endorsers) != 2 || s.Endorsers[1] != pub(n2bKey) || s.Secrecy != "internal" || s.Dimension != "epidemic" {
		t.Errorf("summary: %+v", s)
	}
	if none, _ := state.IntelEntries(f.db, t0+31, t0+60, 0); len(none) != 0 {
		t.Errorf("a window after it: %+v", none)
	}
	if n, err := state.IntelPolicy(f.db); err != nil || n != 1 {
		t.Errorf("default policy: %d %v", n, err)
	}
}
