package oprf

import (
	"bytes"
	"fmt"
	"io"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// PrivateKey is the server's key skS together with its mode, which fixes
// the domain separation of every evaluation made with it. It is safe for
// concurrent use.
type PrivateKey struct {
	mode Mode
	k    scalar.Scalar
	pub  PublicKey
}

// PublicKey is the server's public key pkS = skS * G, which a VOPRF client
// checks proofs against.
type PublicKey struct {
	p   curve.RistrettoPoint
	enc [ElementSize]byte
}

func newPrivateKey(mode Mode, k *scalar.Scalar) *PrivateKey {
	sk := &PrivateKey{mode: mode}
	sk.k.Set(k)
	sk.pub.p.MulBasepoint(curve.RISTRETTO_BASEPOINT_TABLE, k)
	copy(sk.pub.enc[:], encodeElement(&sk.pub.p))
	return sk
}

// DeriveKeyPair derives a key deterministically from a secret seed and a
// public info string (RFC 9497 sec. 3.2.1): the same seed, info and mode
// always give the same key, and different info gives independent keys.
// info is at most MaxInputSize bytes.
func DeriveKeyPair(seed [SeedSize]byte, info []byte, mode Mode) (*PrivateKey, error) {
	if err := mode.check(); err != nil {
		return nil, err
	}
	if len(info) > MaxInputSize {
		return nil, fmt.Errorf("%w: info of %d bytes, at most %d", ErrLength, len(info), MaxInputSize)
	}
	s := suiteOf(mode)
	for counter := range 256 {
		// deriveInput = seed || I2OSP(len(info), 2) || info, then the counter.
		k, err := hashToScalar(s.deriveDST, seed[:], i2osp2(len(info)), info, []byte{byte(counter)})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDeriveKeyPair, err)
		}
		if !isZero(k) {
			return newPrivateKey(mode, k), nil
		}
	}
	return nil, ErrDeriveKeyPair
}

// GenerateKey returns a random key for mode, reading 64 bytes from rand
// (crypto/rand if nil).
func GenerateKey(rand io.Reader, mode Mode) (*PrivateKey, error) {
	if err := mode.check(); err != nil {
		return nil, err
	}
	k, err := randomScalar(rand)
	if err != nil {
		return nil, err
	}
	return newPrivateKey(mode, k), nil
}

// ParsePrivateKey decodes a key from its 32-byte encoding (Bytes, RFC
// skSm) for mode. It refuses non-canonical encodings and zero.
func ParsePrivateKey(mode Mode, b []byte) (*PrivateKey, error) {
	if err := mode.check(); err != nil {
		return nil, err
	}
	k, err := decodeNonZeroScalar(b)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	return newPrivateKey(mode, k), nil
}

// Bytes returns the key's canonical 32-byte encoding (RFC SerializeScalar;
// the mode is not included).
func (sk *PrivateKey) Bytes() []byte { return encodeScalar(&sk.k) }

// Mode returns the mode the key evaluates in.
func (sk *PrivateKey) Mode() Mode { return sk.mode }

// Public returns the key's public key.
func (sk *PrivateKey) Public() *PublicKey {
	pk := sk.pub
	return &pk
}

// ParsePublicKey decodes a public key from its 32-byte encoding. It refuses
// non-canonical encodings and the identity.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	p, err := decodeElement(b)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pk := &PublicKey{p: *p}
	copy(pk.enc[:], b)
	return pk, nil
}

// Bytes returns the public key's canonical 32-byte encoding (RFC pkSm).
func (pk *PublicKey) Bytes() []byte { return bytes.Clone(pk.enc[:]) }

// Equal reports whether pk and other are the same key.
func (pk *PublicKey) Equal(other *PublicKey) bool {
	return other != nil && pk.enc == other.enc
}
