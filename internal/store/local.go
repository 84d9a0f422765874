package store

import (
	"encoding/binary"

	"github.com/cockroachdb/pebble/v2"
)

// TabReplay holds the signatures of the signed API requests a node
// received within the last minutes, so that a captured request is not
// served twice, even across a restart (the API's replay guard). It is
// node-local like the vault: written outside blocks, never hashed into
// the state, never compared by verify.
//
//	R bucket sig -> (empty)   bucket: the request's signed time / width, as TimeKey
const TabReplay = 'R'

// TabVaultLog records which key had the node seal which canonical ids
// into the vault (POST /v1/pseudonyms), node-local like the vault:
//
//	V 0 key                       -> the key's latest call: time (Unix ns), ids it sealed (uint32)
//	V 1 key time first[:8]        -> the pseudonyms that call sealed, 32 bytes each
//
// time is the call's time in Unix nanoseconds, as TimeKey; first is the
// first pseudonym it sealed. The latest-call record is rewritten by every
// call, so that every call writes (see node.PseudonymsBy); a call that
// sealed nothing adds no log entry.
const TabVaultLog = 'V'

// localTables are the tables written outside blocks.
var localTables = [256]bool{TabVault: true, TabReplay: true, TabVaultLog: true}

// VaultCallKey is the key of by's latest call.
func VaultCallKey(by [32]byte) []byte { return key(TabVaultLog, []byte{0}, by[:]) }

// VaultLogKey is the key of what a call of by at t (Unix ns) sealed,
// first being the first pseudonym it sealed.
func VaultLogKey(by [32]byte, t int64, first [32]byte) []byte {
	return key(TabVaultLog, []byte{1}, by[:], u64(TimeKey(t)), first[:8])
}

// VaultLogPrefix bounds every log entry of by.
func VaultLogPrefix(by [32]byte) (lo, hi []byte) {
	lo = key(TabVaultLog, []byte{1}, by[:])
	return lo, PrefixEnd(lo)
}

// ReplayKey is the key of signature sig in bucket.
func ReplayKey(bucket int64, sig [64]byte) []byte {
	return key(TabReplay, u64(TimeKey(bucket)), sig[:])
}

// ReplayBefore bounds the replay entries of every bucket below bucket.
func ReplayBefore(bucket int64) (lo, hi []byte) {
	return []byte{TabReplay}, key(TabReplay, u64(TimeKey(bucket)))
}

// ReplayFrom bounds the replay entries of bucket and every later one.
func ReplayFrom(bucket int64) (lo, hi []byte) {
	return key(TabReplay, u64(TimeKey(bucket))), []byte{TabReplay + 1}
}

// ParseReplayKey reverses ReplayKey; ok is false for a key of another
// shape.
func ParseReplayKey(k []byte) (bucket int64, sig [64]byte, ok bool) {
	if len(k) != 1+8+64 || k[0] != TabReplay {
		return 0, sig, false
	}
	copy(sig[:], k[9:])
	return TimeFromKey(binary.BigEndian.Uint64(k[1:9])), sig, true
}

// SetLocalNoSync writes key=val in a node-local table, outside any block,
// without waiting for the write-ahead log to reach the disk. Once it
// returns, the write survives the process being killed (it is in the
// operating system's page cache); it survives a power loss once the
// write-ahead log is next synced, which any later synced commit does
// (Pebble keeps one log: a block's commit syncs what was written before
// it). A halted store (see Halt) refuses it. A key outside the local
// tables is a bug: it panics.
func (db *DB) SetLocalNoSync(key, val []byte) error {
	if len(key) == 0 || !localTables[key[0]] {
		panic("store: SetLocalNoSync outside the local tables")
	}
	if err := db.Halted(); err != nil {
		return err
	}
	return db.check(db.pdb.Set(key, val, pebble.NoSync))
}

// DeleteLocalRange deletes every key in [lo, hi), which must lie in one
// node-local table, with one range deletion (its cost does not grow with
// the keys it covers), durable as SetLocalNoSync's writes are. A halted
// store (see Halt) refuses it. A range outside one local table is a bug:
// it panics.
func (db *DB) DeleteLocalRange(lo, hi []byte) error {
	if len(lo) == 0 || len(hi) == 0 || !localTables[lo[0]] || (hi[0] != lo[0] && (hi[0] != lo[0]+1 || len(hi) != 1)) {
		panic("store: DeleteLocalRange outside one local table")
	}
	if err := db.Halted(); err != nil {
		return err
	}
	return db.check(db.pdb.DeleteRange(lo, hi, pebble.NoSync))
}
