package state

import (
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// MaxEncounter is the longest meeting one encounter may record, in
// seconds (a consensus rule). It bounds how far before a query window a
// person's encounters must be read.
const MaxEncounter = 24 * 3600

// Encounter is a proximity encounter as a person's index holds it: the
// other person, the reporting device (a site of kind device) and the time
// together. Each encounter is indexed under both of its persons, with
// Person the indexed one and Other the person met.
type Encounter struct {
	Person     ledger.Pseudonym
	Other      ledger.Pseudonym
	Device     uint32 // the device's site number
	Start, End int64  // Unix seconds, End > Start
	DistanceCM uint32 // 0: not reported
	TxID       ledger.Hash
	Status     Status
}

// Visible reports whether the encounter counts in contacts. Encounters
// take no part in trajectory validation (they place nobody at a site), so
// they are always recorded; the status is kept for corrections to come.
func (e *Encounter) Visible() bool { return e.Status == StatusRecorded }

// encounter checks and indexes a proximity encounter. The signer must be
// the registered key of the device it names, a site of kind device; the
// persons must be two different persons (aliases resolve); the meeting
// lasts 1 s to MaxEncounter and starts no later than the future skew
// allows. Encounters do not advance the data clock and are not judged by
// the longest-chain rule: a tag that met another says nothing about where
// its wearer was, so it can contradict no trajectory.
func (blk *Block) encounter(tx *ledger.Tx, id ledger.Hash, b *ledger.Encounter) error {
	s, err := blk.signingSite("device", b.Device, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if s.Kind != "device" {
		return reject(CodeWrongSigner, "device", "site %q is a %s; only a device reports encounters", b.Device, s.Kind)
	}
	if b.Duration == 0 || b.Duration > MaxEncounter {
		return reject(CodeInvalid, "duration", "must be 1 s to %d s", MaxEncounter)
	}
	if err := blk.checkNotFuture("start", b.Start); err != nil {
		return err
	}
	a, err := blk.person("a", b.A)
	if err != nil {
		return err
	}
	o, err := blk.person("b", b.B)
	if err != nil {
		return err
	}
	if a == o {
		return reject(CodeInvalid, "b", "an encounter needs two different persons")
	}
	e := Encounter{Person: a, Other: o, Device: s.Num, Start: b.Start, End: b.Start + int64(b.Duration), DistanceCM: b.DistanceCM, TxID: id}
	if err := blk.set(store.EncounterKey(a, e.Start, id), encodeEncounter(&e)); err != nil {
		return err
	}
	e.Person, e.Other = o, a
	return blk.set(store.EncounterKey(o, e.Start, id), encodeEncounter(&e))
}

// encodeEncounter encodes an index entry; the indexed person is in the
// key, not the value.
// EncodeEncounter encodes an entry of the encounter index (the key holds
// the person): DecodeEncounterInto's inverse.
func EncodeEncounter(e *Encounter) []byte { return encodeEncounter(e) }

func encodeEncounter(e *Encounter) []byte {
	var x w
	x.raw(e.Other[:])
	x.u32(e.Device)
	x.i64(e.Start)
	x.i64(e.End)
	x.u32(e.DistanceCM)
	x.raw(e.TxID[:])
	x.u8(uint8(e.Status))
	return x.b
}

// DecodeEncounterInto decodes an entry of the encounter index whose key is
// k into e, so hot loops need not allocate. A damaged entry is an error
// wrapping store.ErrCorrupt.
func DecodeEncounterInto(k, v []byte, e *Encounter) error {
	x := r{b: v}
	if len(k) < 1+32 {
		x.bad = true
	} else {
		copy(e.Person[:], k[1:33])
	}
	copy(e.Other[:], x.take(32))
	e.Device = x.u32()
	e.Start = x.i64()
	e.End = x.i64()
	e.DistanceCM = x.u32()
	copy(e.TxID[:], x.take(32))
	e.Status = Status(x.u8())
	if e.Status > StatusAmended || e.End <= e.Start {
		x.bad = true
	}
	return x.err("encounter")
}
