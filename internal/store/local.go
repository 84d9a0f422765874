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

// localTables are the tables written outside blocks.
var localTables = [256]bool{TabVault: true, TabReplay: true}

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
