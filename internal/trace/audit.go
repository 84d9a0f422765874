package trace

import (
	"fmt"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// AuditEntry is one audit record with where it is on the ledger.
type AuditEntry struct {
	TxID   ledger.Hash
	Height uint64
	Block  int64 // block time, Unix seconds
	Audit  *ledger.Audit
	// Signer is the key that signed the record: the node that served the
	// read (the chain authority's, or a member's node key).
	Signer [32]byte
}

// Audits lists the audit records with block time in [from, to], in order.
// They are ledger transactions: nobody can alter them without breaking
// the chain that verify checks.
func (q *Querier) Audits(from, to int64) ([]AuditEntry, error) {
	lo, hi := store.AuditRange(from, to)
	var out []AuditEntry
	var derr error
	err := q.r.Scan(lo, hi, func(k, v []byte) bool {
		tx, err := ledger.DecodeTx(v)
		if err != nil {
			derr = fmt.Errorf("%w: audit record: %v", store.ErrCorrupt, err)
			return false
		}
		a, ok := tx.Body.(*ledger.Audit)
		if !ok {
			derr = fmt.Errorf("%w: audit record holds a %s", store.ErrCorrupt, tx.Body.Kind())
			return false
		}
		out = append(out, AuditEntry{TxID: tx.ID(), Block: store.TimeFromKey(beU64(k[1:9])), Audit: a, Signer: tx.Sigs[0].Key})
		return true
	})
	if err == nil {
		err = derr
	}
	for i := range out {
		if h, _, err := blocks.Locate(q.r, out[i].TxID); err == nil {
			out[i].Height = h
		}
	}
	return out, err
}

func beU64(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}
