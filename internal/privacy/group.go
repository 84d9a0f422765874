// Package privacy holds epiledger's privacy protocols over the prime-order
// group ristretto255 (curve25519-voi's curve package does all group and
// scalar arithmetic, in constant time where secrets are involved):
//
//   - multi-party private set union and intersection (seed 003, steps 1-6):
//     multiplicative ElGamal, the union and intersection encodings of the
//     response vectors, multiplicative shares, per-participant products,
//     the cloud's product and the administrator's decryption (setop.go);
//   - committed visit records: Pedersen vector commitments over the
//     universe of places, their openings and Merkle anchoring (pedersen.go,
//     cloud.go);
//   - a citizen's own exposure check: private set intersection with blinded
//     tokens (psi.go);
//   - the server's bookkeeping of set-operation sessions (sessions.go) and a
//     rate limiter (limit.go).
//
// Every hash is domain-separated by a versioned label; every encoding is
// canonical (parse-then-marshal returns the exact input, fuzzed) and a
// failed parse returns nothing usable. docs/PRIVACY.md states the security
// model.
package privacy

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// Sizes of the encodings.
const (
	ElementSize    = curve.CompressedPointSize // a ristretto255 element
	ScalarSize     = scalar.ScalarSize         // a scalar mod the group order
	CiphertextSize = 2 * ElementSize           // an ElGamal ciphertext (c1 | c2)
)

// Errors of the decoders. They are wrapped with the position that failed
// (see ElementError).
var (
	ErrEncoding = errors.New("privacy: not a canonical ristretto255 encoding")
	ErrIdentity = errors.New("privacy: the identity element is not allowed here")
	ErrScalar   = errors.New("privacy: not a canonical scalar (32 bytes, little-endian, below the group order)")
	ErrLength   = errors.New("privacy: wrong length")
)

// ElementError says which element of an encoding failed to decode.
type ElementError struct {
	Index int    // the element's position (a place, a token), or -1
	Part  string // "c1", "c2" or "" for a lone element
	Err   error
}

func (e *ElementError) Error() string {
	at := ""
	if e.Index >= 0 {
		at = fmt.Sprintf("element %d", e.Index)
	}
	if e.Part != "" {
		if at != "" {
			at += " "
		}
		at += e.Part
	}
	if at == "" {
		return e.Err.Error()
	}
	return at + ": " + e.Err.Error()
}

func (e *ElementError) Unwrap() error { return e.Err }

// label builds a domain-separation prefix: "epiledger/v1/privacy/<name>\0".
func label(name string) []byte {
	return []byte("epiledger/v1/privacy/" + name + "\x00")
}

// hashParts hashes a label and length-prefixed parts with SHA-512, so that
// no two different part lists hash the same input.
func hashParts(lbl []byte, parts ...[]byte) [64]byte {
	h := sha512.New()
	h.Write(lbl)
	var n [4]byte
	for _, p := range parts {
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	var out [64]byte
	h.Sum(out[:0])
	return out
}

// hashToGroup maps a label and parts to a group element nobody knows the
// discrete logarithm of: SHA-512 of the labelled input, then the
// library's two-Elligator map from 64 uniform bytes (the
// ristretto255 hash-to-group of RFC 9496, sec. 4.3.4).
func hashToGroup(lbl []byte, parts ...[]byte) *curve.RistrettoPoint {
	d := hashParts(lbl, parts...)
	var p curve.RistrettoPoint
	if _, err := p.SetUniformBytes(d[:]); err != nil {
		panic(err) // 64 bytes always map
	}
	return &p
}

// hashToScalar maps a label and parts to a uniform scalar (wide reduction
// of SHA-512).
func hashToScalar(lbl []byte, parts ...[]byte) *scalar.Scalar {
	d := hashParts(lbl, parts...)
	s, err := scalar.NewFromBytesModOrderWide(d[:])
	if err != nil {
		panic(err)
	}
	return s
}

// randomScalar draws a uniform non-zero scalar from rng (crypto/rand if
// nil) by wide reduction of 64 bytes.
func randomScalar(rng io.Reader) (*scalar.Scalar, error) {
	if rng == nil {
		rng = rand.Reader
	}
	var b [64]byte
	for {
		if _, err := io.ReadFull(rng, b[:]); err != nil {
			return nil, fmt.Errorf("privacy: randomness: %w", err)
		}
		s, err := scalar.NewFromBytesModOrderWide(b[:])
		if err != nil {
			return nil, err
		}
		if s.Equal(scalar.New()) == 0 {
			return s, nil
		}
	}
}

// randomScalars draws k uniform scalars with one read from rng. A zero
// scalar has probability 2^-252 per draw and is not excluded; callers
// whose correctness needs non-zero use randomScalar.
func randomScalars(rng io.Reader, k int) ([]scalar.Scalar, error) {
	if rng == nil {
		rng = rand.Reader
	}
	buf := make([]byte, 64*k)
	if _, err := io.ReadFull(rng, buf); err != nil {
		return nil, fmt.Errorf("privacy: randomness: %w", err)
	}
	out := make([]scalar.Scalar, k)
	for i := range out {
		if _, err := out[i].SetBytesModOrderWide(buf[64*i : 64*i+64]); err != nil {
			return nil, err
		}
	}
	clear(buf)
	return out, nil
}

// parseElement decodes a canonical ristretto255 encoding. With
// allowIdentity false, the identity is refused.
func parseElement(b []byte, allowIdentity bool) (*curve.RistrettoPoint, error) {
	if len(b) != ElementSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrLength, len(b), ElementSize)
	}
	var c curve.CompressedRistretto
	copy(c[:], b)
	var p curve.RistrettoPoint
	if _, err := p.SetCompressed(&c); err != nil {
		return nil, ErrEncoding
	}
	if !allowIdentity && p.IsIdentity() {
		return nil, ErrIdentity
	}
	return &p, nil
}

// appendElement appends p's canonical encoding.
func appendElement(dst []byte, p *curve.RistrettoPoint) []byte {
	var c curve.CompressedRistretto
	c.SetRistrettoPoint(p)
	return append(dst, c[:]...)
}

// encodeElement returns p's canonical encoding.
func encodeElement(p *curve.RistrettoPoint) []byte {
	return appendElement(make([]byte, 0, ElementSize), p)
}

// parseScalar decodes a canonical scalar.
func parseScalar(b []byte) (*scalar.Scalar, error) {
	if len(b) != ScalarSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrLength, len(b), ScalarSize)
	}
	s, err := scalar.NewFromCanonicalBytes(b)
	if err != nil {
		return nil, ErrScalar
	}
	return s, nil
}

// encodeScalar returns s's canonical encoding.
func encodeScalar(s *scalar.Scalar) []byte {
	b := make([]byte, ScalarSize)
	if err := s.ToBytes(b); err != nil {
		panic(err)
	}
	return b
}

// ParseElement decodes a canonical, non-identity group element encoding
// and returns its canonical bytes (a copy), for callers that keep
// elements as bytes (public keys, commitments, tokens).
func ParseElement(b []byte) ([]byte, error) {
	p, err := parseElement(b, false)
	if err != nil {
		return nil, err
	}
	return encodeElement(p), nil
}
