package store

// Attestations (issue 17, docs/SUPPLY.md "Attestations"), written by the
// state machine. A content is its SHA-256, never the content:
//
//	! content height seq tx -> the attestation's signer; seq its place among the block's accepted (state: a content's attestations in block order, the first its first publisher)
//	^ content signer        -> the signer's attestation of the content (state: one per signer)
const (
	TabAttestation = '!'
	TabAttestedBy  = '^'
)

// AttestationKey indexes attestation tx, the seq-th accepted at height,
// under its content.
func AttestationKey(content [32]byte, height uint64, seq uint32, tx [32]byte) []byte {
	return key(TabAttestation, content[:], u64(height), u32(seq), tx[:])
}

// AttestationRange bounds content's attestations.
func AttestationRange(content [32]byte) (lo, hi []byte) {
	lo = key(TabAttestation, content[:])
	return lo, PrefixEnd(lo)
}

// AttestedByKey is the key of signer's attestation of content.
func AttestedByKey(content, signer [32]byte) []byte {
	return key(TabAttestedBy, content[:], signer[:])
}

func init() {
	StateTables = append(StateTables, TabAttestation, TabAttestedBy)
	// A second attestation by the same key in the block that holds its
	// first is refused: the block reads back what it wrote.
	readBack[TabAttestedBy] = true
}
