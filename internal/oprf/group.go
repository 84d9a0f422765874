package oprf

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// decodeElement is RFC 9497's DeserializeElement for ristretto255: the RFC
// 9496 decoding, which rejects every non-canonical encoding, and then a
// refusal of the identity element.
func decodeElement(b []byte) (*curve.RistrettoPoint, error) {
	if len(b) != ElementSize {
		return nil, fmt.Errorf("%w: element of %d bytes, want %d", ErrLength, len(b), ElementSize)
	}
	var c curve.CompressedRistretto
	copy(c[:], b)
	p, err := curve.NewRistrettoPoint().SetCompressed(&c)
	if err != nil {
		return nil, ErrEncoding
	}
	if p.IsIdentity() {
		return nil, ErrIdentity
	}
	return p, nil
}

// decodeElements decodes a batch, naming the position that failed.
func decodeElements(what string, bs [][]byte) ([]*curve.RistrettoPoint, error) {
	ps := make([]*curve.RistrettoPoint, len(bs))
	for i, b := range bs {
		p, err := decodeElement(b)
		if err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, i, err)
		}
		ps[i] = p
	}
	return ps, nil
}

// encodeElement is SerializeElement (the identity encodes as zeros).
func encodeElement(p *curve.RistrettoPoint) []byte {
	var c curve.CompressedRistretto
	c.SetRistrettoPoint(p)
	return c[:]
}

// decodeScalar is DeserializeScalar: 32 bytes, little-endian, below L.
func decodeScalar(b []byte) (*scalar.Scalar, error) {
	if len(b) != ScalarSize {
		return nil, fmt.Errorf("%w: scalar of %d bytes, want %d", ErrLength, len(b), ScalarSize)
	}
	s, err := scalar.NewFromCanonicalBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: not below the group order", ErrScalar)
	}
	return s, nil
}

// decodeNonZeroScalar is decodeScalar that also refuses zero (keys, blinds).
func decodeNonZeroScalar(b []byte) (*scalar.Scalar, error) {
	s, err := decodeScalar(b)
	if err != nil {
		return nil, err
	}
	if isZero(s) {
		return nil, fmt.Errorf("%w: zero", ErrScalar)
	}
	return s, nil
}

func encodeScalar(s *scalar.Scalar) []byte {
	b := make([]byte, ScalarSize)
	_ = s.ToBytes(b) // cannot fail: b has ScalarSize bytes
	return b
}

func isZero(s *scalar.Scalar) bool { return s.Equal(scalar.New()) == 1 }

// randomScalar is RandomScalar: 64 bytes from r (crypto/rand if nil)
// reduced mod L, so the bias is negligible; zero is drawn again.
func randomScalar(r io.Reader) (*scalar.Scalar, error) {
	if r == nil {
		r = rand.Reader
	}
	for range 8 {
		var b [scalar.ScalarWideSize]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRandom, err)
		}
		s, err := scalar.NewFromBytesModOrderWide(b[:])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRandom, err)
		}
		if !isZero(s) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w: only zero scalars", ErrRandom)
}

// CheckElement reports whether b is an element BlindEvaluate accepts as a
// blinded element (and FinalizeVerify as an evaluated one): the canonical
// 32-byte encoding of a ristretto255 element other than the identity. The
// error wraps ErrLength, ErrEncoding or ErrIdentity. A server checks each
// element of a request with it, to name the one that fails.
func CheckElement(b []byte) error {
	_, err := decodeElement(b)
	return err
}
