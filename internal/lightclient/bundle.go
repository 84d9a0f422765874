package lightclient

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A bundle is one CometBFT transaction carrying several of our records,
// each still signed by its own signer and checked on its own. A node
// bundles the records of one submission (a site's batch), so that
// CometBFT's costs per transaction (the mempool's door and recheck,
// gossip to every peer, the block's parts and results) are paid per batch
// rather than per record; the state machine still applies, accepts or
// refuses each record alone, and a bundle's result says, record by
// record, which were accepted (BundleResults).
//
// Its bytes: BundleMark, the number of records (2 bytes, big-endian),
// then each record as its length (4 bytes, big-endian) and its bytes. A
// lone record is never bundled: it travels as itself.
const (
	// BundleMark is a bundle's first byte. A record's first byte is its
	// format version (ledger.Version), which is never this.
	BundleMark byte = 0xB5
	// MaxBundle is the most records one bundle carries.
	MaxBundle = 256
)

// ErrBundle is wrapped by every error of a bundle that does not read.
var ErrBundle = errors.New("lightclient: malformed bundle")

// IsBundle says whether a CometBFT transaction is a bundle (it may still
// not decode).
func IsBundle(tx []byte) bool { return len(tx) > 0 && tx[0] == BundleMark }

// Bundle encodes records, 2 to MaxBundle of them, as one bundle.
func Bundle(records [][]byte) ([]byte, error) {
	if len(records) < 2 || len(records) > MaxBundle {
		return nil, fmt.Errorf("%w: %d records (a bundle holds 2 to %d)", ErrBundle, len(records), MaxBundle)
	}
	n := 3
	for _, r := range records {
		n += 4 + len(r)
	}
	b := make([]byte, 3, n)
	b[0] = BundleMark
	binary.BigEndian.PutUint16(b[1:], uint16(len(records)))
	for i, r := range records {
		if len(r) == 0 || r[0] == BundleMark {
			return nil, fmt.Errorf("%w: record %d is empty or a bundle", ErrBundle, i)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(r)))
		b = append(b, r...)
	}
	return b, nil
}

// Unbundle reads a bundle's records (slices of b). It accepts only the
// one encoding Bundle writes: 2 to MaxBundle records, none empty, none a
// bundle, nothing after the last.
func Unbundle(b []byte) ([][]byte, error) {
	if !IsBundle(b) || len(b) < 3 {
		return nil, fmt.Errorf("%w: no bundle mark and count", ErrBundle)
	}
	n := int(binary.BigEndian.Uint16(b[1:]))
	if n < 2 || n > MaxBundle {
		return nil, fmt.Errorf("%w: %d records (a bundle holds 2 to %d)", ErrBundle, n, MaxBundle)
	}
	out := make([][]byte, 0, n)
	rest := b[3:]
	for i := 0; i < n; i++ {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: record %d: no length", ErrBundle, i)
		}
		l := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if l == 0 || uint64(l) > uint64(len(rest)) {
			return nil, fmt.Errorf("%w: record %d: length %d with %d bytes left", ErrBundle, i, l, len(rest))
		}
		r := rest[:l:l]
		if r[0] == BundleMark {
			return nil, fmt.Errorf("%w: record %d is a bundle", ErrBundle, i)
		}
		out = append(out, r)
		rest = rest[l:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrBundle, len(rest))
	}
	return out, nil
}

// BundleResults is the data of a bundle's result (ExecTxResult.Data,
// which CometBFT's results hash covers): one byte per record, in order, 0
// if the state machine accepted it, else its refusal's result code.
// A bundle's own result code is 0 whenever it was applied, whatever its
// records' fates.
func BundleResults(codes []uint32) []byte {
	b := make([]byte, len(codes))
	for i, c := range codes {
		if c > 255 {
			c = 255
		}
		b[i] = byte(c)
	}
	return b
}
