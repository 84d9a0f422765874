package oprf

import (
	"fmt"
	"io"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// Blind is the client's secret random scalar for one input. It hides the
// input from the server and must be kept until the evaluation comes back,
// then discarded: one blind per input and request.
type Blind struct {
	s scalar.Scalar
}

// ParseBlind decodes a blind from its 32-byte encoding (Bytes), refusing
// non-canonical encodings and zero.
func ParseBlind(b []byte) (*Blind, error) {
	s, err := decodeNonZeroScalar(b)
	if err != nil {
		return nil, fmt.Errorf("blind: %w", err)
	}
	bl := &Blind{}
	bl.s.Set(s)
	return bl, nil
}

// Bytes returns the blind's canonical 32-byte encoding. It is secret.
func (b *Blind) Bytes() []byte { return encodeScalar(&b.s) }

// BlindInput is the client's first step (RFC 9497 Blind): it draws a blind
// from rand (crypto/rand if nil) and returns it with the ElementSize
// blinded element to send to the server. mode must be the server key's.
// The input is at most MaxInputSize bytes.
func BlindInput(rand io.Reader, input []byte, mode Mode) (*Blind, []byte, error) {
	if err := mode.check(); err != nil {
		return nil, nil, err
	}
	s, err := randomScalar(rand)
	if err != nil {
		return nil, nil, err
	}
	b := &Blind{}
	b.s.Set(s)
	blinded, err := b.BlindedElement(input, mode)
	if err != nil {
		return nil, nil, err
	}
	return b, blinded, nil
}

// BlindedElement returns blind * HashToGroup(input), the element BlindInput
// returned with this blind: deterministic, for a blind restored with
// ParseBlind.
func (b *Blind) BlindedElement(input []byte, mode Mode) ([]byte, error) {
	if err := mode.check(); err != nil {
		return nil, err
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	P, err := suiteOf(mode).inputElement(input)
	if err != nil {
		return nil, err
	}
	return encodeElement(curve.NewRistrettoPoint().Mul(P, &b.s)), nil
}

// check refuses a missing blind and the zero Blind{}, which has no inverse.
func (b *Blind) check() error {
	if b == nil {
		return fmt.Errorf("%w: no blind", ErrScalar)
	}
	if isZero(&b.s) {
		return fmt.Errorf("%w: zero blind", ErrScalar)
	}
	return nil
}

// unblind returns blind^-1 * evaluated.
func (b *Blind) unblind(evaluated *curve.RistrettoPoint) *curve.RistrettoPoint {
	inv := scalar.New().Invert(&b.s) // b.check() refused zero
	return curve.NewRistrettoPoint().Mul(evaluated, inv)
}

// Finalize is the client's last step in ModeOPRF (RFC 9497 Finalize): from
// the input, its blind and the evaluated element the server returned, it
// computes the OutputSize-byte PRF output. Nothing here checks which key
// the server used; use ModeVOPRF and FinalizeVerify for that.
func Finalize(input []byte, blind *Blind, evaluatedElement []byte) ([]byte, error) {
	if len(input) > MaxInputSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInput, len(input), MaxInputSize)
	}
	if err := blind.check(); err != nil {
		return nil, err
	}
	Z, err := decodeElement(evaluatedElement)
	if err != nil {
		return nil, fmt.Errorf("evaluated element: %w", err)
	}
	return finalizeHash(input, blind.unblind(Z)), nil
}

// FinalizeVerify is the client's last step in ModeVOPRF (RFC 9497 Finalize,
// batched): it checks the server's proof that every evaluated element was
// made from the blinded element at the same position with the key of pub,
// and only then returns the PRF outputs, one per input, in order. inputs,
// blinds, blindedElements and evaluatedElements are parallel slices of the
// same length (the batch sent to BlindEvaluate).
//
// A proof that does not verify gives an error wrapping ErrVerify.
func FinalizeVerify(pub *PublicKey, inputs [][]byte, blinds []*Blind, blindedElements, evaluatedElements [][]byte, proof []byte) ([][]byte, error) {
	if pub == nil {
		return nil, fmt.Errorf("%w: no public key", ErrIdentity)
	}
	n := len(inputs)
	if len(blinds) != n || len(blindedElements) != n || len(evaluatedElements) != n {
		return nil, fmt.Errorf("%w: %d inputs, %d blinds, %d blinded and %d evaluated elements",
			ErrLength, n, len(blinds), len(blindedElements), len(evaluatedElements))
	}
	if err := checkBatch(n); err != nil {
		return nil, err
	}
	for i, in := range inputs {
		if len(in) > MaxInputSize {
			return nil, fmt.Errorf("input %d: %w: %d bytes, at most %d", i, ErrInput, len(in), MaxInputSize)
		}
		if err := blinds[i].check(); err != nil {
			return nil, fmt.Errorf("blind %d: %w", i, err)
		}
	}
	C, err := decodeElements("blinded element", blindedElements)
	if err != nil {
		return nil, err
	}
	D, err := decodeElements("evaluated element", evaluatedElements)
	if err != nil {
		return nil, err
	}
	if err := suiteOf(ModeVOPRF).verifyProof(&pub.p, pub.enc[:], C, D, blindedElements, evaluatedElements, proof); err != nil {
		return nil, err
	}
	outputs := make([][]byte, n)
	for i := range D {
		outputs[i] = finalizeHash(inputs[i], blinds[i].unblind(D[i]))
	}
	return outputs, nil
}
