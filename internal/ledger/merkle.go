package ledger

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Merkle trees are RFC 6962: leaf = SHA-256(0x00 || data), node =
// SHA-256(0x01 || left || right), the empty tree is SHA-256(""). The
// hashing and proof verification are transparency-dev/merkle's; this file
// only builds roots and inclusion paths over one block's leaves, which are
// few enough (a block holds at most a few thousand transactions) to hash in
// memory.

// LeafHash is the RFC 6962 leaf hash of a transaction's exact bytes.
// Hashing is done here rather than by rfc6962.DefaultHasher, which
// allocates for every hash; TestHashesMatchRFC6962 holds the two equal.
func LeafHash(tx []byte) Hash {
	var buf [1 + 511]byte
	if len(tx) < len(buf) {
		n := copy(buf[1:], tx)
		return sha256.Sum256(buf[:1+n])
	}
	var h Hash
	copy(h[:], rfc6962.DefaultHasher.HashLeaf(tx))
	return h
}

// hashChildren is the RFC 6962 interior node hash.
func hashChildren(a, b *Hash) Hash {
	var buf [1 + 2*32]byte
	buf[0] = 1
	copy(buf[1:], a[:])
	copy(buf[33:], b[:])
	return sha256.Sum256(buf[:])
}

// MerkleRoot returns the RFC 6962 root of the leaf hashes.
func MerkleRoot(leaves []Hash) Hash {
	if len(leaves) == 0 {
		var h Hash
		copy(h[:], rfc6962.DefaultHasher.EmptyRoot())
		return h
	}
	return subtreeRoot(leaves)
}

func subtreeRoot(l []Hash) Hash {
	if len(l) == 1 {
		return l[0]
	}
	k := split(len(l))
	a, b := subtreeRoot(l[:k]), subtreeRoot(l[k:])
	return hashChildren(&a, &b)
}

// split is the largest power of two smaller than n (n > 1).
func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

// InclusionPath returns the RFC 6962 audit path PATH(index, leaves): the
// sibling hashes from the leaf up to the root.
func InclusionPath(index int, leaves []Hash) ([]Hash, error) {
	if index < 0 || index >= len(leaves) {
		return nil, fmt.Errorf("ledger: leaf %d out of range [0, %d)", index, len(leaves))
	}
	var path []Hash
	var walk func(m int, l []Hash)
	walk = func(m int, l []Hash) {
		if len(l) <= 1 {
			return
		}
		k := split(len(l))
		if m < k {
			walk(m, l[:k])
			path = append(path, subtreeRoot(l[k:]))
		} else {
			walk(m-k, l[k:])
			path = append(path, subtreeRoot(l[:k]))
		}
	}
	walk(index, leaves)
	return path, nil
}

// ErrProof is returned when an inclusion proof does not check out.
var ErrProof = errors.New("ledger: inclusion proof does not verify")

// VerifyInclusion checks that tx is leaf index of a tree of size leaves with
// the given root, using transparency-dev/merkle's verifier.
func VerifyInclusion(tx []byte, index, size uint64, path []Hash, root Hash) error {
	p := make([][]byte, len(path))
	for i := range path {
		p[i] = path[i][:]
	}
	leaf := LeafHash(tx)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leaf[:], p, root[:]); err != nil {
		var rm proof.RootMismatchError
		if errors.As(err, &rm) {
			return fmt.Errorf("%w: the path leads to root %x, the header has %x", ErrProof, rm.CalculatedRoot, rm.ExpectedRoot)
		}
		return fmt.Errorf("%w: %v", ErrProof, err)
	}
	return nil
}
