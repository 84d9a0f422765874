package oprf

import (
	"crypto/sha512"
	"fmt"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// The batched DLEQ proof of RFC 9497 sec. 2.2: that D[i] = k * C[i] for
// every i, with the same k as B = k * G. Here A is always the generator G,
// B the server's public key, C the blinded and D the evaluated elements.

// composites is ComputeComposites (k == nil, the verifier: Z = sum d_i D_i)
// and ComputeCompositesFast (k != nil, the prover: Z = k * M). encB,
// encC and encD are the canonical encodings of B, C and D.
func (s *suite) composites(k *scalar.Scalar, encB []byte, C, D []*curve.RistrettoPoint, encC, encD [][]byte) (M, Z *curve.RistrettoPoint, err error) {
	h := sha512.New()
	h.Write(i2osp2(len(encB)))
	h.Write(encB)
	h.Write(i2osp2(len(s.seedDST)))
	h.Write(s.seedDST)
	seed := h.Sum(nil)

	ds := make([]*scalar.Scalar, len(C))
	for i := range C {
		ds[i], err = hashToScalar(s.scalarDST,
			i2osp2(len(seed)), seed, i2osp2(i),
			i2osp2(len(encC[i])), encC[i],
			i2osp2(len(encD[i])), encD[i],
			[]byte("Composite"))
		if err != nil {
			return nil, nil, err
		}
	}
	// C, D and the d_i are public: variable time is fine here.
	M = curve.NewRistrettoPoint().MultiscalarMulVartime(ds, C)
	if k != nil {
		Z = curve.NewRistrettoPoint().Mul(M, k) // k is secret: constant time
	} else {
		Z = curve.NewRistrettoPoint().MultiscalarMulVartime(ds, D)
	}
	return M, Z, nil
}

// challenge is the Fiat-Shamir challenge of GenerateProof and VerifyProof.
func (s *suite) challenge(encB []byte, M, Z, t2, t3 *curve.RistrettoPoint) (*scalar.Scalar, error) {
	parts := make([][]byte, 0, 11)
	for _, e := range [][]byte{encB, encodeElement(M), encodeElement(Z), encodeElement(t2), encodeElement(t3)} {
		parts = append(parts, i2osp2(len(e)), e)
	}
	parts = append(parts, []byte("Challenge"))
	return hashToScalar(s.scalarDST, parts...)
}

// generateProof is GenerateProof with the random scalar r given.
func (s *suite) generateProof(k, r *scalar.Scalar, encB []byte, C, D []*curve.RistrettoPoint, encC, encD [][]byte) ([]byte, error) {
	M, Z, err := s.composites(k, encB, C, D, encC, encD)
	if err != nil {
		return nil, err
	}
	t2 := curve.NewRistrettoPoint().MulBasepoint(curve.RISTRETTO_BASEPOINT_TABLE, r)
	t3 := curve.NewRistrettoPoint().Mul(M, r)
	c, err := s.challenge(encB, M, Z, t2, t3)
	if err != nil {
		return nil, err
	}
	sc := scalar.New().Mul(c, k)
	sc.Sub(r, sc) // s = r - c * k
	return append(encodeScalar(c), encodeScalar(sc)...), nil
}

// verifyProof is VerifyProof; it returns nil or an error wrapping ErrVerify
// (or ErrLength/ErrScalar for a malformed proof).
func (s *suite) verifyProof(B *curve.RistrettoPoint, encB []byte, C, D []*curve.RistrettoPoint, encC, encD [][]byte, proof []byte) error {
	if len(proof) != ProofSize {
		return fmt.Errorf("%w: proof of %d bytes, want %d", ErrLength, len(proof), ProofSize)
	}
	c, err := decodeScalar(proof[:ScalarSize])
	if err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	sc, err := decodeScalar(proof[ScalarSize:])
	if err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	M, Z, err := s.composites(nil, encB, C, D, encC, encD)
	if err != nil {
		return err
	}
	t2 := curve.NewRistrettoPoint().DoubleScalarMulBasepointVartime(c, B, sc) // s*G + c*B
	t3 := curve.NewRistrettoPoint().MultiscalarMulVartime([]*scalar.Scalar{sc, c}, []*curve.RistrettoPoint{M, Z})
	expected, err := s.challenge(encB, M, Z, t2, t3)
	if err != nil {
		return err
	}
	if expected.Equal(c) != 1 {
		return ErrVerify
	}
	return nil
}
