package node_test

import (
	"context"
	"errors"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/testnode"
)

// TestReadNeedsItsOwnReceipt: a read runs only with its node's receipt
// for exactly its subjects, once; the vault opens only with a receipt.
func TestReadNeedsItsOwnReceipt(t *testing.T) {
	t.Parallel()
	_, n := testnode.New(t)
	_, other := testnode.New(t)
	ctx := context.Background()
	subject := []node.Subject{{Route: "test", Person: ledger.Pseudonym{1}, From: 0, To: 10}}
	runs := 0
	read := func() *node.Read[int] {
		return node.NewRead(n, subject, func(*node.Receipt) (int, error) { runs++; return runs, nil })
	}
	mustNoAudit := func(what string, _ int, err error) {
		t.Helper()
		if !errors.Is(err, node.ErrNoAudit) {
			t.Errorf("%s: err = %v, want ErrNoAudit", what, err)
		}
	}
	caller := testnode.Caller(n)
	rc, err := n.AuditRead(ctx, caller, subject)
	if err != nil {
		t.Fatal(err)
	}
	rd := read()
	if v, err := rd.Run(rc); err != nil || v != 1 {
		t.Fatalf("first run: %v %v", v, err)
	}
	v, err := rd.Run(rc)
	mustNoAudit("the same read again", v, err)
	v, err = read().Run(rc)
	mustNoAudit("another read with a used receipt", v, err)
	v, err = read().Run(nil)
	mustNoAudit("no receipt", v, err)
	v, err = read().Run(&node.Receipt{})
	mustNoAudit("a zero receipt", v, err)
	otherSubject, err := n.AuditRead(ctx, caller, []node.Subject{{Route: "test", Person: ledger.Pseudonym{2}}})
	if err != nil {
		t.Fatal(err)
	}
	v, err = read().Run(otherSubject)
	mustNoAudit("a receipt for another person", v, err)
	otherNode, err := other.AuditRead(ctx, testnode.Caller(other), subject)
	if err != nil {
		t.Fatal(err)
	}
	v, err = read().Run(otherNode)
	mustNoAudit("another node's receipt", v, err)
	if runs != 1 {
		t.Errorf("the read ran %d times, want 1", runs)
	}
	if _, _, err := n.RealID(nil, ledger.Pseudonym{1}); !errors.Is(err, node.ErrNoAudit) {
		t.Errorf("RealID without a receipt: %v", err)
	}
	if _, _, err := n.RealID(otherNode, ledger.Pseudonym{1}); !errors.Is(err, node.ErrNoAudit) {
		t.Errorf("RealID with another node's receipt: %v", err)
	}
	if _, err := n.AuditRead(ctx, node.Caller{Purpose: "x"}, subject); !errors.Is(err, node.ErrNoAudit) {
		t.Errorf("AuditRead without a case: %v", err)
	}
}
