package state

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/store"
)

// intelPolicyCounter names the counter that holds the chain's endorsement
// policy: how many N2 signatures an intelligence record needs.
const intelPolicyCounter = "intel_endorsements"

// IntelEntry is what the state keeps of an admitted intelligence record
// (the record itself stays in its block): what a summary sent up the
// hierarchy carries, and whom to show the details.
type IntelEntry struct {
	Tx                             ledger.Hash
	Time                           int64 // the moment it describes, Unix seconds
	Dimension, Secrecy, Region     string
	Level                          uint8
	Involved, Confirmed, Suspected uint32
	// Submitter is the N3 key that submitted it; Endorsers the N2 keys
	// that co-signed it (for a received digest: the relay, none).
	Submitter [32]byte
	Endorsers [][32]byte
	// Origin is the chain the record was submitted on and OriginTx its
	// id there (this chain and Tx for a record admitted here); From the
	// linked chain a digest came from ("" for a record admitted here),
	// Broadcast set for the national N1's broadcast.
	Origin    string
	OriginTx  ledger.Hash
	From      string
	Broadcast bool
}

// Digest is the entry's digest, before redaction.
func (e *IntelEntry) Digest() ledger.IntelDigest {
	return ledger.IntelDigest{Origin: e.Origin, Record: e.OriginTx, Time: e.Time, Region: e.Region, Dimension: e.Dimension, Level: e.Level,
		Secrecy: e.Secrecy, Involved: e.Involved, Confirmed: e.Confirmed, Suspected: e.Suspected}
}

// IntelPolicy is the number of N2 endorsements an intelligence record
// needs on this chain (1 until the authority sets a policy).
func IntelPolicy(rd store.Reader) (int, error) {
	v, ok, err := rd.Get(store.CounterKey(intelPolicyCounter))
	if err != nil || !ok {
		return 1, err
	}
	if len(v) != 8 {
		return 0, store.ErrCorrupt
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

// intelPolicy sets the endorsement policy: the chain authority only.
func (blk *Block) intelPolicy(tx *ledger.Tx, b *ledger.IntelPolicy) error {
	if err := blk.requireAuthority(tx); err != nil {
		return err
	}
	return blk.set(store.CounterKey(intelPolicyCounter), binary.BigEndian.AppendUint64(nil, uint64(b.Endorsements)))
}

// intel admits an intelligence record: submitted by an N3 (or an N2, or
// N1), endorsed by as many distinct N2s (or N1s) as the policy asks, none
// of them the submitter; about a place within this chain's region, at a
// time not in the block's future.
func (blk *Block) intel(tx *ledger.Tx, id ledger.Hash, b *ledger.Intel) error {
	role, _, err := RoleOf(blk.b, &blk.m.gen, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if role != ledger.RoleN3 && role != ledger.RoleN2 && role != ledger.RoleN1 {
		return reject(CodeWrongSigner, "signature", "intelligence is submitted by a key with the role n3 (or n2, n1)")
	}
	// The ledger checks this when a record is built; a record built by
	// other means is refused here all the same.
	if field, kind := b.Identifier(); kind != "" {
		return reject(CodeInvalid, field, "seems to hold %s: intelligence names no person (counts only)", kind)
	}
	need, err := IntelPolicy(blk.b)
	if err != nil {
		return err
	}
	if int(b.Endorsements) < need {
		return reject(CodeInvalid, "endorsements", "this chain's policy asks for %d N2 endorsements", need)
	}
	s := &IntelEntry{Tx: id, Time: b.Time, Dimension: b.Dimension, Secrecy: b.Secrecy, Region: b.Region, Level: b.Level,
		Involved: b.Involved, Confirmed: b.Confirmed, Suspected: b.Suspected, Submitter: tx.Sigs[0].Key,
		Origin: blk.m.gen.ChainID, OriginTx: id}
	for i, sig := range tx.Sigs[1:] {
		r, _, err := RoleOf(blk.b, &blk.m.gen, sig.Key)
		if err != nil {
			return err
		}
		if r != ledger.RoleN2 && r != ledger.RoleN1 {
			return reject(CodeWrongSigner, "signature", "endorsement %d is not by a key with the role n2", i+1)
		}
		if sig.Key == s.Submitter || slices.Contains(s.Endorsers, sig.Key) {
			return reject(CodeWrongSigner, "signature", "endorsement %d repeats a signer", i+1)
		}
		s.Endorsers = append(s.Endorsers, sig.Key)
	}
	own, err := region.Parse(blk.m.gen.Region)
	if err != nil {
		return reject(CodeInvalid, "region", "this chain's region %q is not a GB/T 2260 code", blk.m.gen.Region)
	}
	place, err := region.Parse(b.Region)
	if err != nil {
		return reject(CodeInvalid, "region", "%v", err)
	}
	if !place.Within(own) {
		return reject(CodeInvalid, "region", "region %s is not within this chain's region %s", place.Short(), own.Short())
	}
	s.Region = string(place)
	if skew := int64(blk.m.params.MaxFutureSkew / time.Second); b.Time > blk.now+skew {
		return reject(CodeInvalid, "time", "after this block's time")
	}
	return blk.putIntel(s)
}

// putIntel stores entry s under its time and its id.
func (blk *Block) putIntel(s *IntelEntry) error {
	if err := blk.set(store.IntelKey(s.Time, s.Tx), encodeIntel(s)); err != nil {
		return err
	}
	return blk.set(store.IntelIDKey(s.Tx), binary.BigEndian.AppendUint64(nil, store.TimeKey(s.Time)))
}

func encodeIntel(s *IntelEntry) []byte {
	var x w
	x.str(s.Dimension)
	x.str(s.Secrecy)
	x.str(s.Region)
	x.u8(s.Level)
	x.u32(s.Involved)
	x.u32(s.Confirmed)
	x.u32(s.Suspected)
	x.raw(s.Submitter[:])
	x.u8(uint8(len(s.Endorsers)))
	for _, e := range s.Endorsers {
		x.raw(e[:])
	}
	x.str(s.Origin)
	x.raw(s.OriginTx[:])
	x.str(s.From)
	if s.Broadcast {
		x.u8(1)
	} else {
		x.u8(0)
	}
	return x.b
}

func decodeIntel(k, v []byte) (IntelEntry, error) {
	x := r2(v)
	s := IntelEntry{Dimension: x.str(), Secrecy: x.str(), Region: x.str(), Level: x.u8(),
		Involved: x.u32(), Confirmed: x.u32(), Suspected: x.u32()}
	copy(s.Submitter[:], x.take(32))
	n := int(x.u8())
	for i := 0; i < n; i++ {
		var e [32]byte
		copy(e[:], x.take(32))
		s.Endorsers = append(s.Endorsers, e)
	}
	s.Origin = x.str()
	copy(s.OriginTx[:], x.take(32))
	s.From = x.str()
	s.Broadcast = x.u8() == 1
	if err := x.err("intel"); err != nil {
		return s, err
	}
	s.Time = store.TimeFromKey(binary.BigEndian.Uint64(k[1:9]))
	copy(s.Tx[:], k[9:])
	return s, nil
}

// IntelEntryOf is entry id; ok is false for none.
func IntelEntryOf(rd store.Reader, id ledger.Hash) (e IntelEntry, ok bool, err error) {
	t, ok, err := rd.Get(store.IntelIDKey(id))
	if err != nil || !ok {
		return e, false, err
	}
	if len(t) != 8 {
		return e, false, store.ErrCorrupt
	}
	k := store.IntelKey(store.TimeFromKey(binary.BigEndian.Uint64(t)), id)
	v, ok, err := rd.Get(k)
	if err != nil || !ok {
		return e, false, err
	}
	e, err = decodeIntel(k, v)
	return e, err == nil, err
}

// IntelEntries lists the admitted records describing a time in [from,
// to], by time, at most limit (0: all).
func IntelEntries(rd store.Reader, from, to int64, limit int) ([]IntelEntry, error) {
	lo, hi := store.IntelRange(from, to)
	var out []IntelEntry
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		var s IntelEntry
		if s, derr = decodeIntel(k, v); derr != nil {
			return false
		}
		out = append(out, s)
		return limit == 0 || len(out) < limit
	})
	if err == nil {
		err = derr
	}
	return out, err
}
