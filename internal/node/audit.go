package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/epiledger/epiledger/internal/ledger"
)

// Reads of personal data (issue 11). A read is built in two steps so that
// it cannot run without its audit record:
//
//  1. A builder parses and checks the whole request (window, durations,
//     persons resolved) and returns a *Read: what will be read (its
//     Subjects) and the closure that reads it, not yet run. Bad input is
//     refused here, before anything is written.
//  2. AuditRead commits one audit record per subject to the ledger and
//     returns a *Receipt; Read.Run runs the closure only with a receipt
//     this node issued for exactly these subjects.
//
// A Receipt's fields are unexported and only AuditRead makes one, after
// the engine committed every record; a Read runs once, and the vault
// (RealID) opens only with a receipt too. So no builder or handler can
// produce a report with real identities without a committed audit record:
// there is no "no auditor set" branch to fall through. (The pseudonymous
// indexes behind the reports, n.Query, are not gated: the builders, the
// benchmarks and verify read them; what leaves the node as a report goes
// through a Read.)

// ErrNoAudit is returned when a read of personal data has no committed
// audit record (no case or purpose, no engine, no receipt, or a receipt
// for another read), so it does not run.
var ErrNoAudit = errors.New("node: a read of personal data needs an audit record")

// MaxCaseBytes bounds the case reference and the purpose of a read: the
// audit record's limit.
const MaxCaseBytes = ledger.MaxAuditLen

// Subject is what one read of personal data reads: the route or command
// that reads it, the person (the zero pseudonym: every case, as the case
// list and the cluster search read) and the window in Unix seconds.
type Subject struct {
	Route    string
	Person   ledger.Pseudonym
	From, To int64
	// Aliases says that the read also opens the aliases the vault holds
	// of the persons it reports (their phone numbers, plates: Aliases),
	// not only their canonical ids; the audit record's route says so
	// (AliasesRoute).
	Aliases bool
}

// AliasesRoute is what the audit record of a read that opens aliases
// adds to its route ("POST /v1/trace/follow-up + vault aliases").
const AliasesRoute = " + vault aliases"

// Caller is who reads, as the audit record names them.
type Caller struct {
	Key  [32]byte // the caller's public key (the chain authority's on the CLI's local path)
	Role string
	// Case and Purpose say which case the read is for and why; both are
	// required.
	Case, Purpose string
	// Route, if set, names the read in the record instead of the
	// subject's route (the API records its route pattern).
	Route string
	// Time is the request's time (Unix seconds).
	Time int64
	// Request and RequestSig are the signed request's hash and signature
	// (evidence of who asked); zero on the CLI's local path, where a
	// random nonce makes each record unique instead.
	Request    ledger.Hash
	RequestSig [64]byte
}

// CaseError says what is wrong with a read's case or purpose; Field is
// "case" or "purpose".
type CaseError struct{ Field, Msg string }

func (e *CaseError) Error() string { return e.Field + ": " + e.Msg }
func (e *CaseError) Unwrap() error { return ErrNoAudit }

// CheckCase checks a read's case reference and purpose: both present, at
// most MaxCaseBytes, text as the ledger takes it (ledger.CheckText).
func CheckCase(caseRef, purpose string) error {
	for _, f := range []struct{ name, v, what string }{
		{"case", caseRef, "a read of personal data names its case (a case reference, not a person)"},
		{"purpose", purpose, "a read of personal data states its purpose"},
	} {
		switch {
		case f.v == "":
			return &CaseError{Field: f.name, Msg: f.what}
		case len(f.v) > MaxCaseBytes:
			return &CaseError{Field: f.name, Msg: fmt.Sprintf("at most %d bytes", MaxCaseBytes)}
		default:
			if err := ledger.CheckText(f.name, f.v); err != nil {
				var fe *ledger.FieldError
				errors.As(err, &fe)
				return &CaseError{Field: f.name, Msg: fe.Msg}
			}
		}
	}
	return nil
}

// Receipt proves that the audit records of one read were committed by
// this node's engine. Only AuditRead makes one.
type Receipt struct {
	n        *Node
	subjects []Subject
	txs      []ledger.Hash
	used     atomic.Bool // it served a Read
}

// Txs returns the ids of the audit transactions, in subject order.
func (rc *Receipt) Txs() []ledger.Hash { return append([]ledger.Hash(nil), rc.txs...) }

// readsAliases reports whether one of rc's audit records says its read
// opens aliases.
func (rc *Receipt) readsAliases() bool {
	for _, s := range rc.subjects {
		if s.Aliases {
			return true
		}
	}
	return false
}

// valid reports whether rc is a receipt n issued.
func (rc *Receipt) valid(n *Node) bool {
	return rc != nil && rc.n == n && n != nil && len(rc.txs) == len(rc.subjects) && len(rc.txs) > 0
}

// covers reports whether rc is n's receipt for exactly subjects.
func (rc *Receipt) covers(n *Node, subjects []Subject) bool {
	if !rc.valid(n) || len(rc.subjects) != len(subjects) {
		return false
	}
	for i := range subjects {
		if rc.subjects[i] != subjects[i] {
			return false
		}
	}
	return true
}

// AuditRead commits the audit record of each subject, as c, and returns
// the receipt once all are on the ledger. A read with no subject, a bad
// case or purpose, no engine or a record the engine refuses gets an error
// wrapping ErrNoAudit and no receipt.
func (n *Node) AuditRead(ctx context.Context, c Caller, subjects []Subject) (*Receipt, error) {
	if err := CheckCase(c.Case, c.Purpose); err != nil {
		return nil, err
	}
	if len(subjects) == 0 {
		return nil, fmt.Errorf("%w: the read names nothing to audit", ErrNoAudit)
	}
	if n.Engine == nil {
		return nil, fmt.Errorf("%w: the store was opened without an engine", ErrNoAudit)
	}
	rc := &Receipt{n: n, subjects: append([]Subject(nil), subjects...)}
	for _, s := range subjects {
		a := &ledger.Audit{Caller: c.Key, Role: c.Role, Case: c.Case, Purpose: c.Purpose, Route: s.Route,
			Person: s.Person, From: s.From, To: s.To, Request: c.Request, RequestSig: c.RequestSig, Time: c.Time}
		if c.Route != "" {
			a.Route = c.Route
		}
		if s.Aliases {
			a.Route += AliasesRoute
		}
		if c.Request == (ledger.Hash{}) {
			// A nonce makes every read its own record (two identical
			// reads are two reads, not a duplicate transaction).
			var nonce [16]byte
			rand.Read(nonce[:])
			a.Request = sha256.Sum256(fmt.Appendf(nil, "cli\x00%s\x00%x\x00%d\x00%d\x00%d\x00%x", a.Route, s.Person, s.From, s.To, c.Time, nonce))
		}
		tx, err := ledger.Build(a)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoAudit, err)
		}
		tx.Sign(n.Home.Genesis.ChainID, n.Home.Signer())
		r := n.Engine.Submit(ctx, tx.Bytes())
		if r.Err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoAudit, r.Err)
		}
		rc.txs = append(rc.txs, r.TxID)
	}
	return rc, nil
}

// AuditMiss commits the audit record of a lookup that found nobody (err
// wraps an *UnknownRefError: the record names the reference's pseudonym)
// and returns err; it returns any other err as it is. If the record cannot
// be committed, it returns that failure (wrapping ErrNoAudit) instead, so
// that not even "nobody" is answered unaudited.
func (n *Node) AuditMiss(ctx context.Context, c Caller, route string, err error) error {
	var ure *UnknownRefError
	if !errors.As(err, &ure) {
		return err
	}
	if _, aerr := n.AuditRead(ctx, c, []Subject{{Route: route, Person: ure.Ref}}); aerr != nil {
		return aerr
	}
	return err
}

// AuthorityCaller is the caller of the CLI's local path: the home's chain
// authority, reading for caseRef and purpose at now (Unix seconds).
func (n *Node) AuthorityCaller(caseRef, purpose string, now int64) Caller {
	return Caller{Key: n.Home.Genesis.Authority, Role: "authority", Case: caseRef, Purpose: purpose, Time: now}
}

// Read is a checked request to read personal data, not yet run: what it
// will read and how. Only Run, with a receipt for its subjects, runs it.
type Read[T any] struct {
	n        *Node
	subjects []Subject
	run      func(*Receipt) (T, error)
	ran      atomic.Bool
}

// NewRead returns the read of subjects by run, on n. run receives the
// receipt (for RealID) and runs only through Run.
func NewRead[T any](n *Node, subjects []Subject, run func(*Receipt) (T, error)) *Read[T] {
	return &Read[T]{n: n, subjects: append([]Subject(nil), subjects...), run: run}
}

// Subjects returns what the read reads: one audit record each.
func (rd *Read[T]) Subjects() []Subject { return append([]Subject(nil), rd.subjects...) }

// Run runs the read, once, if rc is this node's receipt for exactly its
// subjects and has not served another read; otherwise it returns an error
// wrapping ErrNoAudit and reads nothing. One audit record, one read.
func (rd *Read[T]) Run(rc *Receipt) (T, error) {
	var zero T
	if !rc.covers(rd.n, rd.subjects) {
		return zero, fmt.Errorf("%w: no committed audit record for this read", ErrNoAudit)
	}
	if !rc.used.CompareAndSwap(false, true) || !rd.ran.CompareAndSwap(false, true) {
		return zero, fmt.Errorf("%w: each audit record serves one read, once", ErrNoAudit)
	}
	return rd.run(rc)
}

// RunAny is Run for callers that hold reads of several types (the API).
func (rd *Read[T]) RunAny(rc *Receipt) (any, error) { return rd.Run(rc) }

// Perform audits rd as c and runs it: the one way the CLI and the tests
// read personal data.
func Perform[T any](ctx context.Context, n *Node, c Caller, rd *Read[T]) (T, error) {
	rc, err := n.AuditRead(ctx, c, rd.Subjects())
	if err != nil {
		var zero T
		return zero, err
	}
	return rd.Run(rc)
}
