package privacy

import (
	"errors"
	"fmt"
	"io"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// A Proof shows, without revealing a, that A1 = B1^a and A2 = B2^a (a
// Chaum-Pedersen proof of equal discrete logarithms, made non-interactive
// with a labelled SHA-512 challenge). It proves that the administrator's
// Enc(e) encrypts the identity (B1 = g, A1 = c1, B2 = y, A2 = c2), and
// that the exposure-check server raised every blinded token to the same
// key it published (batched, see psi.go).
type Proof struct {
	c, s scalar.Scalar
}

// ProofSize is the length of a proof's encoding: c | s.
const ProofSize = 2 * ScalarSize

// ErrProof is returned when a proof does not verify.
var ErrProof = errors.New("privacy: proof does not verify")

// ParseProof decodes c | s (two canonical scalars).
func ParseProof(b []byte) (*Proof, error) {
	if len(b) != ProofSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrLength, len(b), ProofSize)
	}
	c, err := parseScalar(b[:ScalarSize])
	if err != nil {
		return nil, err
	}
	s, err := parseScalar(b[ScalarSize:])
	if err != nil {
		return nil, err
	}
	return &Proof{c: *c, s: *s}, nil
}

// Bytes returns c | s.
func (p *Proof) Bytes() []byte { return append(encodeScalar(&p.c), encodeScalar(&p.s)...) }

func dleqChallenge(lbl, ctx []byte, b1, a1, b2, a2, r1, r2 *curve.RistrettoPoint) *scalar.Scalar {
	return hashToScalar(lbl, ctx, encodeElement(b1), encodeElement(a1), encodeElement(b2), encodeElement(a2), encodeElement(r1), encodeElement(r2))
}

// proveDLEQ proves log_b1(a1) = log_b2(a2) = a under the label lbl, bound
// to the context ctx.
func proveDLEQ(lbl, ctx []byte, a *scalar.Scalar, b1, a1, b2, a2 *curve.RistrettoPoint, rng io.Reader) (*Proof, error) {
	w, err := randomScalar(rng)
	if err != nil {
		return nil, err
	}
	var r1, r2 curve.RistrettoPoint
	r1.Mul(b1, w)
	r2.Mul(b2, w)
	var p Proof
	p.c = *dleqChallenge(lbl, ctx, b1, a1, b2, a2, &r1, &r2)
	var ca scalar.Scalar
	ca.Mul(&p.c, a)
	p.s.Sub(w, &ca)
	return &p, nil
}

// verifyDLEQ checks a proof made by proveDLEQ over public values.
func verifyDLEQ(lbl, ctx []byte, p *Proof, b1, a1, b2, a2 *curve.RistrettoPoint) error {
	var r1, r2 curve.RistrettoPoint
	r1.MultiscalarMulVartime([]*scalar.Scalar{&p.s, &p.c}, []*curve.RistrettoPoint{b1, a1})
	r2.MultiscalarMulVartime([]*scalar.Scalar{&p.s, &p.c}, []*curve.RistrettoPoint{b2, a2})
	if dleqChallenge(lbl, ctx, b1, a1, b2, a2, &r1, &r2).Equal(&p.c) != 1 {
		return ErrProof
	}
	return nil
}
