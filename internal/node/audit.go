package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
)

// ErrNoAudit is returned when a read of personal data cannot be audited
// (no case or purpose, or no engine to commit the record), so it must not
// run.
var ErrNoAudit = errors.New("node: a read of personal data needs an audit record")

// Audit commits the audit record of a read the node's own operator (the
// chain authority) makes without the API (the CLI's local path): who (the
// chain authority), the case and purpose, what (route, pseudonym,
// window). It returns only once the record is on the ledger.
func (n *Node) Audit(ctx context.Context, caseRef, purpose, route string, person ledger.Pseudonym, from, to, now int64) error {
	if caseRef == "" || purpose == "" {
		return fmt.Errorf("%w: give its case and purpose (--case, --purpose or EPILEDGER_CASE, EPILEDGER_PURPOSE)", ErrNoAudit)
	}
	if n.Engine == nil {
		return fmt.Errorf("%w: the store was opened without an engine", ErrNoAudit)
	}
	a := &ledger.Audit{Caller: n.Home.Genesis.Authority, Role: "authority", Case: caseRef, Purpose: purpose, Route: route,
		Person: person, From: from, To: to, Time: now}
	// A nonce makes every read its own record (two identical reads are
	// two reads, not a replay).
	var nonce [16]byte
	rand.Read(nonce[:])
	a.Request = sha256.Sum256([]byte(fmt.Sprintf("cli\x00%s\x00%x\x00%d\x00%d\x00%d\x00%x", route, person, from, to, now, nonce)))
	tx := ledger.NewTx(a)
	tx.Sign(n.Home.Genesis.ChainID, n.Home.Authority())
	if rc := n.Engine.Submit(ctx, tx.Bytes()); rc.Err != nil {
		return fmt.Errorf("%w: %v", ErrNoAudit, rc.Err)
	}
	return nil
}
