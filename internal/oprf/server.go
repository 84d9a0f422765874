package oprf

import (
	"fmt"
	"io"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// BlindEvaluate is the server's step (RFC 9497 BlindEvaluate, batched):
// it multiplies each blinded element by the key and returns the evaluated
// elements in the same order. In ModeVOPRF it also returns one ProofSize
// proof covering the whole batch, made with a random scalar read from rand
// (crypto/rand if nil); in ModeOPRF the proof is nil and rand is unused.
//
// Each blinded element must be a canonical encoding of a non-identity
// element; the batch holds 1 to MaxBatchSize elements. The server learns
// nothing about the inputs behind the elements.
func (sk *PrivateKey) BlindEvaluate(rand io.Reader, blindedElements [][]byte) (evaluated [][]byte, proof []byte, err error) {
	var r *scalar.Scalar
	if sk.mode == ModeVOPRF {
		if r, err = randomScalar(rand); err != nil {
			return nil, nil, err
		}
	}
	return sk.blindEvaluate(r, blindedElements)
}

// blindEvaluate is BlindEvaluate with the proof's random scalar r given
// (nil in ModeOPRF). Reusing r for two proofs reveals the key: only the
// RFC test vectors call this directly.
func (sk *PrivateKey) blindEvaluate(r *scalar.Scalar, blindedElements [][]byte) ([][]byte, []byte, error) {
	if err := checkBatch(len(blindedElements)); err != nil {
		return nil, nil, err
	}
	C, err := decodeElements("blinded element", blindedElements)
	if err != nil {
		return nil, nil, err
	}
	D := make([]*curve.RistrettoPoint, len(C))
	evaluated := make([][]byte, len(C))
	for i, c := range C {
		D[i] = curve.NewRistrettoPoint().Mul(c, &sk.k)
		evaluated[i] = encodeElement(D[i])
	}
	if sk.mode != ModeVOPRF {
		return evaluated, nil, nil
	}
	proof, err := suiteOf(sk.mode).generateProof(&sk.k, r, sk.pub.enc[:], C, D, blindedElements, evaluated)
	if err != nil {
		return nil, nil, err
	}
	return evaluated, proof, nil
}

// Evaluate computes the PRF output for input directly with the key (RFC
// 9497 Evaluate): the same OutputSize bytes a client obtains for input from
// BlindEvaluate with this key and Finalize or FinalizeVerify. The input is
// at most MaxInputSize bytes.
func (sk *PrivateKey) Evaluate(input []byte) ([]byte, error) {
	P, err := suiteOf(sk.mode).inputElement(input)
	if err != nil {
		return nil, err
	}
	return finalizeHash(input, curve.NewRistrettoPoint().Mul(P, &sk.k)), nil
}

// inputElement is HashToGroup(input) with RFC 9497's checks: the input
// fits its 2-byte length prefix and does not hash to the identity.
func (s *suite) inputElement(input []byte) (*curve.RistrettoPoint, error) {
	if len(input) > MaxInputSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInput, len(input), MaxInputSize)
	}
	P, err := s.hashToGroup(input)
	if err != nil {
		return nil, err
	}
	if P.IsIdentity() {
		return nil, fmt.Errorf("%w: hashes to the identity", ErrInput)
	}
	return P, nil
}

func checkBatch(n int) error {
	if n < 1 || n > MaxBatchSize {
		return fmt.Errorf("%w: batch of %d elements, want 1 to %d", ErrLength, n, MaxBatchSize)
	}
	return nil
}
