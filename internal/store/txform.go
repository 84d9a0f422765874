package store

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// TabSigner ('@', chain table, node-local numbering) numbers the public
// keys that sign transactions, so that a stored transaction names its
// signer by a 4-byte number instead of 32 bytes of key:
//
//	@ 0x01 number(4) -> key (32)
//
// The table is read whole into memory the first time a transaction is
// stored or read, and kept both ways: one entry per signing key, a few
// per site. A site signs thousands of records with one key, and a key is 32 bytes
// no compression shrinks (keys of many sites interleave in a block), so
// this is about 28 bytes on disk per record. The numbers are this node's:
// two nodes may number the same key differently, which changes nothing
// anyone sees: a transaction is always read back as its exact bytes
// (ReadTx), which are what the block's root and every proof commit to.
const TabSigner = '@'

func init() { tableNames[TabSigner] = "signers" }

// packedTx marks a transaction stored in packed form. A transaction's
// own bytes begin with its envelope version (ledger.Version, 1), so an
// entry written before packing, or one that could not be packed, is
// read as it is.
const packedTx = 0xff

// The envelope of ledger.Tx.Bytes, as far as packing needs it: version
// (1), kind (1), body length (4), body, signature count (1), then per
// signature its key (32) and signature (64).
const (
	envHead = 1 + 1 + 4
	envSig  = 32 + 64
)

func signerNumKey(n uint32) []byte { return key(TabSigner, []byte{1}, u32(n)) }
func signerNums() (lo, hi []byte)  { lo = key(TabSigner, []byte{1}); return lo, PrefixEnd(lo) }

// signers caches a DB's signer numbers. A number is written to the
// store by every batch that uses it until one of them has committed
// (durable), so a batch that is discarded loses nothing another needs.
type signers struct {
	mu      sync.Mutex
	next    uint32 // 0: not yet read from the store
	num     map[[32]byte]uint32
	key     map[uint32][32]byte
	durable map[uint32]bool
}

// SetTx stores the exact bytes raw of transaction idx of block height,
// packed: each signer's key replaced by its number.
func (b *Batch) SetTx(height uint64, idx uint32, raw []byte) error {
	packed, fresh, err := b.sdb.packTx(raw)
	if err != nil {
		return err
	}
	for _, f := range fresh {
		if err := b.Set(signerNumKey(f.n), f.key[:]); err != nil {
			return err
		}
		b.signers = append(b.signers, f.n)
	}
	return b.Set(TxKey(height, idx), packed)
}

type numbered struct {
	n   uint32
	key [32]byte
}

// packTx packs raw, returning the numbers it used that are not yet
// durable (the batch writes them). A transaction that does not parse as
// an envelope is stored as it is.
func (db *DB) packTx(raw []byte) (packed []byte, fresh []numbered, err error) {
	if len(raw) > 0 && raw[0] == packedTx {
		// Read back, it would be taken for a packed entry. An envelope
		// begins with its version (1): only bytes that are none do this.
		return nil, nil, fmt.Errorf("store: a transaction beginning with byte %#x cannot be stored", packedTx)
	}
	if len(raw) < envHead+1 {
		return raw, nil, nil
	}
	bodyEnd := envHead + int(binary.BigEndian.Uint32(raw[2:6]))
	if bodyEnd >= len(raw) || bodyEnd < envHead {
		return raw, nil, nil
	}
	ns := int(raw[bodyEnd])
	if len(raw) != bodyEnd+1+ns*envSig {
		return raw, nil, nil
	}
	out := make([]byte, 0, 1+bodyEnd+1+ns*(4+64))
	out = append(append(out, packedTx), raw[:bodyEnd+1]...)
	s := &db.sig
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(db); err != nil {
		return nil, nil, err
	}
	for i := 0; i < ns; i++ {
		at := bodyEnd + 1 + i*envSig
		var k [32]byte
		copy(k[:], raw[at:at+32])
		n, ok := s.num[k]
		if !ok {
			n = s.next
			s.next++
			s.num[k], s.key[n] = n, k
		}
		if !s.durable[n] {
			fresh = append(fresh, numbered{n, k})
		}
		out = binary.BigEndian.AppendUint32(out, n)
		out = append(out, raw[at+32:at+envSig]...)
	}
	return out, fresh, nil
}

// load reads the whole numbering from the store the first time it is
// needed (s.mu held): one entry per signing key, a few per site. It reads
// db itself, what is committed, never a snapshot or a batch, so that the
// next number is past every number in use.
func (s *signers) load(db *DB) error {
	if s.next != 0 {
		return nil
	}
	num, key, durable, next := map[[32]byte]uint32{}, map[uint32][32]byte{}, map[uint32]bool{}, uint32(1)
	lo, hi := signerNums()
	var derr error
	err := db.Scan(lo, hi, func(k, v []byte) bool {
		if len(k) != 1+1+4 || len(v) != 32 {
			derr = fmt.Errorf("%w: signer entry %x", ErrCorrupt, k)
			return false
		}
		n := binary.BigEndian.Uint32(k[2:])
		var kk [32]byte
		copy(kk[:], v)
		num[kk], key[n], durable[n] = n, kk, true
		next = max(next, n+1)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	s.num, s.key, s.durable, s.next = num, key, durable, next
	return nil
}

// committed marks the numbers a batch wrote as durable.
func (db *DB) committed(nums []uint32) {
	if len(nums) == 0 {
		return
	}
	db.sig.mu.Lock()
	if db.sig.durable == nil {
		db.sig.durable = map[uint32]bool{}
	}
	for _, n := range nums {
		db.sig.durable[n] = true
	}
	db.sig.mu.Unlock()
}

// ReadTx reads the exact bytes of transaction idx of block height.
func ReadTx(r Reader, height uint64, idx uint32) ([]byte, bool, error) {
	v, ok, err := r.Get(TxKey(height, idx))
	if err != nil || !ok {
		return nil, ok, err
	}
	raw, err := UnpackTx(r, v)
	return raw, err == nil, err
}

// UnpackTx returns the exact bytes of a transaction as stored in the
// transaction table (packed or not). A packed entry that does not parse,
// or names a signer number the store does not hold, is ErrCorrupt.
func UnpackTx(r Reader, v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != packedTx {
		return v, nil
	}
	bad := func(why string) error { return fmt.Errorf("%w: a stored transaction: %s", ErrCorrupt, why) }
	p := v[1:]
	if len(p) < envHead+1 {
		return nil, bad("short")
	}
	bodyEnd := envHead + int(binary.BigEndian.Uint32(p[2:6]))
	if bodyEnd >= len(p) || bodyEnd < envHead {
		return nil, bad("body length")
	}
	ns := int(p[bodyEnd])
	if len(p) != bodyEnd+1+ns*(4+64) {
		return nil, bad("length")
	}
	out := make([]byte, 0, bodyEnd+1+ns*envSig)
	out = append(out, p[:bodyEnd+1]...)
	db := dbOf(r)
	for i := 0; i < ns; i++ {
		at := bodyEnd + 1 + i*(4+64)
		n := binary.BigEndian.Uint32(p[at:])
		k, err := signerKey(db, r, n)
		if err != nil {
			return nil, err
		}
		out = append(append(out, k[:]...), p[at+4:at+4+64]...)
	}
	return out, nil
}

// signerKey is the key numbered n: from db's cache (loaded once), or,
// for a number it does not hold, read from r.
func signerKey(db *DB, r Reader, n uint32) ([32]byte, error) {
	if db != nil {
		db.sig.mu.Lock()
		err := db.sig.load(db)
		k, ok := db.sig.key[n]
		db.sig.mu.Unlock()
		if err != nil {
			return [32]byte{}, err
		}
		if ok {
			return k, nil
		}
	}
	v, ok, err := r.Get(signerNumKey(n))
	if err != nil {
		return [32]byte{}, err
	}
	if !ok || len(v) != 32 {
		return [32]byte{}, fmt.Errorf("%w: a stored transaction names signer %d, which the store does not hold", ErrCorrupt, n)
	}
	var k [32]byte
	copy(k[:], v)
	return k, nil
}

// dbOf is the DB a reader reads, for its caches; nil if unknown.
func dbOf(r Reader) *DB {
	switch r := r.(type) {
	case *DB:
		return r
	case *Batch:
		return r.sdb
	case *Snapshot:
		return r.db
	}
	return nil
}
