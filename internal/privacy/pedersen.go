package privacy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// Committed visit records (seed 003, "storage"): a device commits to the
// places it visited in one period as the modified Pedersen vector
// commitment
//
//	C = h^r * prod_i g_i^(v_i)
//
// over the m places of a universe (v_i = 1 if it visited place i in the
// period, else 0; r fresh each period, so a device that did not move still
// uploads a new, unlinkable commitment). The generators h, g_1..g_m are
// derived by hashing to the group from the universe's digest, so nobody
// knows a relation between them and a commitment binds its counts. The
// product of a device's commitments over a window is a commitment to the
// per-place visit counts with randomness the sum of the r: opening it
// reveals the counts and nothing about which period each visit fell in.

// Generators are the commitment generators of one universe. They are
// read-only after creation and safe for concurrent use.
type Generators struct {
	h curve.RistrettoPoint
	g []curve.RistrettoPoint
}

// NewGenerators derives h and g_1..g_m for the universe with digest u.
func NewGenerators(u [32]byte, m int) *Generators {
	gs := &Generators{g: make([]curve.RistrettoPoint, m)}
	gs.h = *hashToGroup(label("pedersen-h"), u[:])
	var i [4]byte
	for k := range gs.g {
		binary.BigEndian.PutUint32(i[:], uint32(k))
		gs.g[k] = *hashToGroup(label("pedersen-g"), u[:], i[:])
	}
	return gs
}

// Places returns m.
func (gs *Generators) Places() int { return len(gs.g) }

// Commitment is a commitment's canonical encoding.
type Commitment [ElementSize]byte

// ParseCommitment decodes a commitment: a canonical element (the identity
// is allowed only with probability 2^-252 and is refused).
func ParseCommitment(b []byte) (Commitment, error) {
	var c Commitment
	if _, err := parseElement(b, false); err != nil {
		return c, err
	}
	copy(c[:], b)
	return c, nil
}

// Commit commits to one period's visits (visited[i] for place i) with
// fresh randomness r drawn from rng (crypto/rand if nil), returning the
// commitment and r. The work does not depend on which places were
// visited: every generator is added, selected in constant time.
func (gs *Generators) Commit(visited []bool, rng io.Reader) (Commitment, *scalar.Scalar, error) {
	if len(visited) != len(gs.g) {
		return Commitment{}, nil, fmt.Errorf("%w: %d flags for %d places", ErrLength, len(visited), len(gs.g))
	}
	r, err := randomScalar(rng)
	if err != nil {
		return Commitment{}, nil, err
	}
	var acc, term curve.RistrettoPoint
	acc.Mul(&gs.h, r)
	id := curve.NewRistrettoPoint()
	for i := range gs.g {
		term.ConditionalSelect(id, &gs.g[i], b2i(visited[i]))
		acc.Add(&acc, &term)
	}
	var c Commitment
	copy(c[:], encodeElement(&acc))
	return c, r, nil
}

// Opening is what a device reveals for a window: the number of periods in
// which it visited each place, and the sum of its periods' r.
type Opening struct {
	Counts []uint32
	R      *scalar.Scalar
}

// SumR adds commitment randomness (the device's side of an opening).
func SumR(rs []*scalar.Scalar) *scalar.Scalar {
	sum := scalar.New()
	for _, r := range rs {
		sum.Add(sum, r)
	}
	return sum
}

// ParseR decodes a commitment randomness (or a sum of them).
func ParseR(b []byte) (*scalar.Scalar, error) { return parseScalar(b) }

// EncodeR encodes a commitment randomness.
func EncodeR(r *scalar.Scalar) []byte { return encodeScalar(r) }

// ErrOpening is returned when an opening does not match the product of
// the commitments: the device that gave it is dishonest (or its
// commitments were altered, which the Merkle roots on the ledger rule
// out).
var ErrOpening = errors.New("privacy: the opening does not match the product of the commitments")

// Product multiplies commitments (the administrator's C of seed 003).
func Product(cs []Commitment) (Commitment, error) {
	acc := curve.NewRistrettoPoint()
	for i := range cs {
		p, err := parseElement(cs[i][:], false)
		if err != nil {
			return Commitment{}, &ElementError{Index: i, Err: err}
		}
		acc.Add(acc, p)
	}
	var c Commitment
	copy(c[:], encodeElement(acc))
	return c, nil
}

// Reopen computes C' = h^R * prod g_i^(counts_i) from an opening (public
// data at this point: variable time).
func (gs *Generators) Reopen(o *Opening) (Commitment, error) {
	if len(o.Counts) != len(gs.g) || o.R == nil {
		return Commitment{}, fmt.Errorf("%w: %d counts for %d places", ErrLength, len(o.Counts), len(gs.g))
	}
	ss := []*scalar.Scalar{o.R}
	ps := []*curve.RistrettoPoint{&gs.h}
	for i, n := range o.Counts {
		if n != 0 {
			ss = append(ss, scalar.NewFromUint64(uint64(n)))
			ps = append(ps, &gs.g[i])
		}
	}
	var p curve.RistrettoPoint
	p.MultiscalarMulVartime(ss, ps)
	var c Commitment
	copy(c[:], encodeElement(&p))
	return c, nil
}

// Check verifies an opening against the commitments of a window:
// product (C) and reopened (C') are returned either way; the error is
// ErrOpening on a mismatch.
func (gs *Generators) Check(cs []Commitment, o *Opening) (product, reopened Commitment, err error) {
	if product, err = Product(cs); err != nil {
		return
	}
	if reopened, err = gs.Reopen(o); err != nil {
		return
	}
	if product != reopened {
		err = ErrOpening
	}
	return
}
