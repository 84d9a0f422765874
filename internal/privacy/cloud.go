package privacy

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/epiledger/epiledger/internal/ledger"
)

// The cloud's storage of visit commitments (seed 003: devices upload
// their commitments to the cloud; the administrator puts the Merkle root
// of each period's commitments on the ledger). A record is fixed-size,
// signed by the device's Ed25519 key, and appended to one file per
// universe and period with an fsync before the upload is acknowledged.
// The ledger's root is the judge: a stored period that no longer hashes
// to its anchored root has been tampered with, and is named.

// CommitRecord is one device's commitment for one period, as uploaded.
type CommitRecord struct {
	Device ed25519.PublicKey // 32 bytes
	Period int64             // the period's start, Unix seconds
	C      Commitment
	Sig    []byte // Ed25519 over CommitMessage
}

// RecordSize is the length of a record's encoding: device | period | C | sig.
const RecordSize = 32 + 8 + ElementSize + ed25519.SignatureSize

// CommitMessage is what a device signs: a label, the universe's digest,
// the period and the commitment.
func CommitMessage(universe [32]byte, period int64, c Commitment) []byte {
	b := append(label("commitment"), universe[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(period))
	return append(b, c[:]...)
}

// Bytes returns the record's encoding (the Merkle leaf's data).
func (r *CommitRecord) Bytes() []byte {
	b := make([]byte, 0, RecordSize)
	b = append(b, r.Device...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Period))
	b = append(b, r.C[:]...)
	return append(b, r.Sig...)
}

// ParseRecord decodes a record (it does not check the signature).
func ParseRecord(b []byte) (*CommitRecord, error) {
	if len(b) != RecordSize {
		return nil, fmt.Errorf("%w: record of %d bytes, want %d", ErrLength, len(b), RecordSize)
	}
	c, err := ParseCommitment(b[40 : 40+ElementSize])
	if err != nil {
		return nil, err
	}
	return &CommitRecord{Device: slices.Clone(b[:32]), Period: int64(binary.BigEndian.Uint64(b[32:40])), C: c, Sig: slices.Clone(b[40+ElementSize:])}, nil
}

// Check verifies the record's signature for the universe with digest u.
func (r *CommitRecord) Check(u [32]byte) error {
	if len(r.Device) != ed25519.PublicKeySize {
		return &InputError{Field: "device", Err: errors.New("want a 32-byte Ed25519 public key")}
	}
	if len(r.Sig) != ed25519.SignatureSize || !ed25519.Verify(r.Device, CommitMessage(u, r.Period, r.C), r.Sig) {
		return &InputError{Field: "sig", Err: ErrSignature}
	}
	return nil
}

// Leaf is the record's RFC 6962 leaf hash.
func (r *CommitRecord) Leaf() ledger.Hash { return ledger.LeafHash(r.Bytes()) }

// Errors of the commitment store.
var (
	ErrSealed   = errors.New("privacy: the period is anchored (or being anchored): no more uploads for it")
	ErrTampered = errors.New("privacy: the stored commitments no longer match the root anchored on the ledger")
)

// CommitStore is the cloud's commitment storage under a directory. Safe
// for concurrent use.
type CommitStore struct {
	dir string

	mu      sync.Mutex
	devices map[periodKey]map[string]bool // who uploaded, loaded lazily
	sealed  map[periodKey]bool
}

type periodKey struct {
	universe string
	period   int64
}

// NewCommitStore returns the store under dir (created on first upload).
func NewCommitStore(dir string) *CommitStore {
	return &CommitStore{dir: dir, devices: map[periodKey]map[string]bool{}, sealed: map[periodKey]bool{}}
}

func (cs *CommitStore) path(k periodKey) string {
	return filepath.Join(cs.dir, "commitments", k.universe, strconv.FormatInt(k.period, 10)+".rec")
}

// read returns a period's records in file order. A torn last record (a
// crash mid-append, never acknowledged) is ignored.
func (cs *CommitStore) read(k periodKey) ([]CommitRecord, error) {
	b, err := os.ReadFile(cs.path(k))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []CommitRecord
	for off := 0; off+RecordSize <= len(b); off += RecordSize {
		r, err := ParseRecord(b[off : off+RecordSize])
		if err != nil {
			return nil, fmt.Errorf("%w: period %d, record %d: %v", ErrTampered, k.period, off/RecordSize, err)
		}
		out = append(out, *r)
	}
	return out, nil
}

func (cs *CommitStore) uploaded(k periodKey) (map[string]bool, error) {
	if m, ok := cs.devices[k]; ok {
		return m, nil
	}
	recs, err := cs.read(k)
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, r := range recs {
		m[string(r.Device)] = true
	}
	cs.devices[k] = m
	return m, nil
}

// Add stores a checked record durably. The caller checks the signature
// and that the period is not anchored on the ledger; Add refuses a
// second record of the device for the period (ErrConflict) and a period
// being anchored (ErrSealed).
func (cs *CommitStore) Add(u *Universe, r *CommitRecord) error {
	k := periodKey{u.Name, r.Period}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.sealed[k] {
		return ErrSealed
	}
	m, err := cs.uploaded(k)
	if err != nil {
		return err
	}
	if m[string(r.Device)] {
		return &InputError{Field: "period", Err: ErrConflict}
	}
	if err := os.MkdirAll(filepath.Dir(cs.path(k)), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(cs.path(k), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	// Drop a torn tail first, so records stay aligned.
	if fi, err := f.Stat(); err == nil && fi.Size()%RecordSize != 0 {
		if err := f.Truncate(fi.Size() - fi.Size()%RecordSize); err != nil {
			f.Close()
			return err
		}
	}
	if err := writeSyncClose(f, r.Bytes()); err != nil {
		return err
	}
	m[string(r.Device)] = true
	return nil
}

// Sorted returns a period's records in Merkle order (by device key).
func (cs *CommitStore) Sorted(u *Universe, period int64) ([]CommitRecord, error) {
	recs, err := cs.read(periodKey{u.Name, period})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b CommitRecord) int { return bytes.Compare(a.Device, b.Device) })
	return recs, nil
}

// Root is the RFC 6962 root over a period's records in Merkle order.
func Root(recs []CommitRecord) ledger.Hash {
	leaves := make([]ledger.Hash, len(recs))
	for i := range recs {
		leaves[i] = recs[i].Leaf()
	}
	return ledger.MerkleRoot(leaves)
}

// Seal stops uploads for a period while it is being anchored and returns
// its records (Merkle order) for the root; release(false) reopens it if
// the anchoring failed.
func (cs *CommitStore) Seal(u *Universe, period int64) (recs []CommitRecord, release func(anchored bool), err error) {
	k := periodKey{u.Name, period}
	cs.mu.Lock()
	if cs.sealed[k] {
		cs.mu.Unlock()
		return nil, nil, ErrSealed
	}
	cs.sealed[k] = true
	cs.mu.Unlock()
	release = func(anchored bool) {
		if !anchored {
			cs.mu.Lock()
			delete(cs.sealed, k)
			cs.mu.Unlock()
		}
	}
	recs, err = cs.Sorted(u, period)
	if err != nil {
		release(false)
		return nil, nil, err
	}
	return recs, release, nil
}

// Find returns a device's record in a period, its leaf index and the
// period's records (Merkle order), or index -1.
func (cs *CommitStore) Find(u *Universe, period int64, device []byte) (recs []CommitRecord, index int, err error) {
	recs, err = cs.Sorted(u, period)
	if err != nil {
		return nil, -1, err
	}
	i, ok := slices.BinarySearchFunc(recs, device, func(r CommitRecord, d []byte) int { return bytes.Compare(r.Device, d) })
	if !ok {
		return recs, -1, nil
	}
	return recs, i, nil
}

// PeriodFile returns the path of a period's file (for tests that tamper
// with storage, and for operators).
func (cs *CommitStore) PeriodFile(u *Universe, period int64) string {
	return cs.path(periodKey{u.Name, period})
}
