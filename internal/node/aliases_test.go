package node_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/testnode"
)

const aliasWorld = `{"type":"identity","id":"4201","aliases":["phone:13800000000","plate:E1"]}
{"type":"identity","id":"4202","aliases":["phone:13900000000"]}
`

// TestAliasesOpenOnlyForAReadThatSaysSo: the vault's aliases of a person
// open only with the receipt of a read whose audit record says it reads
// them (its route ends with node.AliasesRoute); they are the aliases the
// ledger binds to the person (one the vault holds but the ledger bound to
// someone else is left out), phone numbers first; a later entry that
// names the person by id alone keeps them; no error repeats one.
func TestAliasesOpenOnlyForAReadThatSaysSo(t *testing.T) {
	t.Parallel()
	h, n := testnode.New(t)
	if res := testnode.Import(t, h, n, aliasWorld); res.Accepted != 2 {
		t.Fatalf("import: %+v", res)
	}
	a, b := n.Pseud.Person("4201"), n.Pseud.Person("4202")
	seal := func(p [32]byte, id identity.Identity) node.VaultEntry {
		t.Helper()
		s, err := n.Vault.SealIdentity(p, id)
		if err != nil {
			t.Fatal(err)
		}
		return node.VaultEntry{Person: p, Sealed: s}
	}
	// 4202's entry claims 4201's phone, which the ledger binds to 4201.
	if err := n.PutVault([]node.VaultEntry{
		seal(a, identity.Identity{ID: "4201", Aliases: []string{"plate:E1", "phone:13800000000"}}),
		seal(b, identity.Identity{ID: "4202", Aliases: []string{"phone:13900000000", "phone:13800000000"}}),
	}); err != nil {
		t.Fatal(err)
	}
	// A later import names 4201 by id alone: the aliases stay.
	if err := n.PutVault([]node.VaultEntry{{Person: a, Sealed: n.Vault.Seal(a, "4201")}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	plain, err := n.AuditRead(ctx, testnode.Caller(n), []node.Subject{{Route: "test", Person: a}})
	if err != nil {
		t.Fatal(err)
	}
	for name, rc := range map[string]*node.Receipt{"no receipt": nil, "a receipt that does not say aliases": plain} {
		as, err := n.Aliases(rc, a)
		if !errors.Is(err, node.ErrNoAudit) || as != nil {
			t.Errorf("%s: %v, %v; want ErrNoAudit", name, as, err)
		} else if strings.Contains(err.Error(), "138") {
			t.Errorf("%s: the error repeats a phone: %v", name, err)
		}
	}
	rc, err := n.AuditRead(ctx, testnode.Caller(n), []node.Subject{{Route: "test", Person: a, Aliases: true}})
	if err != nil {
		t.Fatal(err)
	}
	if as, err := n.Aliases(rc, a); err != nil || !slices.Equal(as, []string{"phone:13800000000", "plate:E1"}) {
		t.Errorf("aliases of 4201: %q, %v", as, err)
	}
	if as, err := n.Aliases(rc, b); err != nil || !slices.Equal(as, []string{"phone:13900000000"}) {
		t.Errorf("aliases of 4202 (not 4201's phone): %q, %v", as, err)
	}
	if id, ok, err := n.RealID(rc, a); err != nil || !ok || id != "4201" {
		t.Errorf("RealID of an identity with aliases: %q %v %v", id, ok, err)
	}
	if as, err := n.Aliases(rc, n.Pseud.Person("nobody")); err != nil || as == nil || len(as) != 0 {
		t.Errorf("aliases of a person the vault does not hold: %q, %v", as, err)
	}
	audits, err := n.Query.Audits(-1<<62, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, e := range audits {
		routes = append(routes, e.Audit.Route)
	}
	slices.Sort(routes)
	if !slices.Equal(routes, []string{"test", "test" + node.AliasesRoute}) {
		t.Errorf("audit routes %q: the read of aliases does not say so", routes)
	}
}

// TestPutVaultRefusesAnEntryForAnotherPerson: an identity sealed for one
// person is refused for another, and nothing is stored.
func TestPutVaultRefusesAnEntryForAnotherPerson(t *testing.T) {
	t.Parallel()
	_, n := testnode.New(t)
	a, b := n.Pseud.Person("4201"), n.Pseud.Person("4202")
	s, err := n.Vault.SealIdentity(a, identity.Identity{ID: "4201", Aliases: []string{"phone:1"}})
	if err != nil {
		t.Fatal(err)
	}
	err = n.PutVault([]node.VaultEntry{{Person: b, Sealed: n.Vault.Seal(b, "4202")}, {Person: b, Sealed: s}})
	var se *node.SealedError
	if !errors.As(err, &se) || se.Index != 1 {
		t.Fatalf("PutVault = %v, want a SealedError at 1", err)
	}
	if _, ok, err := n.RealID(testnode.Receipt(t, n), b); ok || err != nil {
		t.Errorf("a refused batch stored something: %v %v", ok, err)
	}
}
