package trace

import (
	"encoding/binary"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/privacy"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// Publication is public information on the ledger.
type Publication struct {
	Topic   string
	Time    int64 // block time, Unix seconds
	Payload []byte
}

// Publications returns a topic's publications in ledger order.
func (q *Querier) Publications(topic string) ([]Publication, error) {
	lo, hi := store.PublishRange(topic)
	var out []Publication
	err := q.r.Scan(lo, hi, func(k, v []byte) bool {
		t := store.TimeFromKey(binary.BigEndian.Uint64(k[len(k)-16 : len(k)-8]))
		out = append(out, Publication{Topic: topic, Time: t, Payload: append([]byte(nil), v...)})
		return true
	})
	return out, err
}

// CommitmentRoot is an anchored root of one period's visit commitments.
type CommitmentRoot struct {
	Scheme string
	Period int64
	Count  uint32
	Root   ledger.Hash
}

// CommitmentRoots returns a scheme's anchored roots for periods in
// [from, to], in period order.
func (q *Querier) CommitmentRoots(scheme string, from, to int64) ([]CommitmentRoot, error) {
	lo, hi := store.CommitRange(scheme, from, to)
	var out []CommitmentRoot
	var derr error
	err := q.r.Scan(lo, hi, func(k, v []byte) bool {
		if len(v) != 36 {
			derr = fmt.Errorf("%w: commitment root record", store.ErrCorrupt)
			return false
		}
		c := CommitmentRoot{Scheme: scheme, Period: store.TimeFromKey(binary.BigEndian.Uint64(k[len(k)-16 : len(k)-8])), Count: binary.BigEndian.Uint32(v[32:])}
		copy(c.Root[:], v[:32])
		out = append(out, c)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// The privacy protocols' shared state, as the state machine keeps it
// (state/privacy.go): the API answers from these, never from what one
// node decided alone.

// Universe returns the universe published under name, or nil.
func (q *Querier) Universe(name string) (*privacy.Universe, error) { return state.Universe(q.r, name) }

// Session returns a set-operation session's records on the ledger, or
// nil.
func (q *Querier) Session(id string) (*state.SessionState, error) { return state.Session(q.r, id) }

// Risk returns the exposure check's state on the ledger (legacy: only
// record version 1 publications, whose tokens stayed with their node).
func (q *Querier) Risk() (s *state.RiskState, legacy bool, err error) { return state.Risk(q.r) }

// RiskRecord returns the record of risk publication version, published
// at block time t.
func (q *Querier) RiskRecord(version uint64, t int64) (*privacy.RiskRecord, error) {
	return state.RiskRecord(q.r, version, t)
}

// RiskTokens returns the tokens of s's current publication, from the
// ledger.
func (q *Querier) RiskTokens(s *state.RiskState) ([]byte, error) { return state.RiskTokens(q.r, s) }
