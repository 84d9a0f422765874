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

// MerkleTree is every node of the RFC 6962 tree over a block's leaves,
// kept so that any number of inclusion paths cost one hashing of the
// tree: level 0 is the leaf hashes, each level above hashes the pairs of
// the one below, a last node without a pair carried up as it is (the
// same tree as MerkleRoot's recursive split; TestMerkleTree holds the
// two equal). Safe for concurrent reads once built.
type MerkleTree struct {
	levels [][]Hash
}

// NewMerkleTree builds the tree over leaves, which it keeps (the caller
// must not change them); leaves must not be empty.
func NewMerkleTree(leaves []Hash) *MerkleTree {
	t := &MerkleTree{levels: [][]Hash{leaves}}
	for l := leaves; len(l) > 1; {
		up := make([]Hash, (len(l)+1)/2)
		for i := 0; i+1 < len(l); i += 2 {
			up[i/2] = hashChildren(&l[i], &l[i+1])
		}
		if len(l)%2 == 1 {
			up[len(up)-1] = l[len(l)-1]
		}
		t.levels = append(t.levels, up)
		l = up
	}
	return t
}

// Size is the number of leaves.
func (t *MerkleTree) Size() int { return len(t.levels[0]) }

// Root is the tree's root, MerkleRoot of its leaves.
func (t *MerkleTree) Root() Hash { return t.levels[len(t.levels)-1][0] }

// Levels is the number of levels, the leaves' and the root's included.
func (t *MerkleTree) Levels() int { return len(t.levels) }

// Above returns the tree whose leaves are this tree's nodes at level k
// (0 < k < Levels()), sharing them: the nodes each covering 2^k leaves
// (the last fewer). A leaf's path is then its path in the tree of its
// 2^k leaves followed by Above(k)'s path of index >> k.
func (t *MerkleTree) Above(k int) *MerkleTree { return &MerkleTree{levels: t.levels[k:]} }

// Path returns the audit path of leaf index, InclusionPath(index, leaves):
// the sibling of its node at each level that has one, from the leaf up.
func (t *MerkleTree) Path(index int) ([]Hash, error) {
	if index < 0 || index >= t.Size() {
		return nil, fmt.Errorf("ledger: leaf %d out of range [0, %d)", index, t.Size())
	}
	var path []Hash
	for _, l := range t.levels[:len(t.levels)-1] {
		if s := index ^ 1; s < len(l) {
			path = append(path, l[s])
		}
		index >>= 1
	}
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
