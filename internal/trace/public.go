package trace

import (
	"encoding/binary"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
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
