package privacy

import (
	"fmt"
	"io"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// ElGamal in multiplicative notation over ristretto255, written here with
// the group operation as "multiplication" to match seed 003: with the
// generator g and the administrator's secret x, the public key is
// y = g^x, and Enc(M; a) = (g^a, M * y^a). The product of two ciphertexts
// encrypts the product of their plaintexts. Dec(c1, c2) = c2 / c1^x. The
// identity element e plays the seed's "e"; a ciphertext decrypts to e
// exactly when c2 = c1^x.

// SecretKey is an administrator's ElGamal key pair. It is safe for
// concurrent use (read-only after creation).
type SecretKey struct {
	x  scalar.Scalar
	pk PublicKey
}

// PublicKey is an ElGamal public key y = g^x.
type PublicKey struct {
	p curve.RistrettoPoint
}

// GenerateKey draws a key pair from rng (crypto/rand if nil).
func GenerateKey(rng io.Reader) (*SecretKey, error) {
	x, err := randomScalar(rng)
	if err != nil {
		return nil, err
	}
	sk := &SecretKey{x: *x}
	sk.pk.p.MulBasepoint(curve.RISTRETTO_BASEPOINT_TABLE, x)
	return sk, nil
}

// ParseSecretKey decodes a secret key (32 canonical scalar bytes, non-zero).
func ParseSecretKey(b []byte) (*SecretKey, error) {
	x, err := parseScalar(b)
	if err != nil {
		return nil, err
	}
	if x.Equal(scalar.New()) == 1 {
		return nil, ErrScalar
	}
	sk := &SecretKey{x: *x}
	sk.pk.p.MulBasepoint(curve.RISTRETTO_BASEPOINT_TABLE, x)
	return sk, nil
}

// Bytes returns the secret key's encoding. Keep it secret.
func (sk *SecretKey) Bytes() []byte { return encodeScalar(&sk.x) }

// Public returns the public key.
func (sk *SecretKey) Public() *PublicKey { return &sk.pk }

// ParsePublicKey decodes a public key: a canonical, non-identity element.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	p, err := parseElement(b, false)
	if err != nil {
		return nil, err
	}
	return &PublicKey{p: *p}, nil
}

// Bytes returns the public key's canonical encoding.
func (pk *PublicKey) Bytes() []byte { return encodeElement(&pk.p) }

// Ciphertext is an ElGamal ciphertext (c1, c2).
type Ciphertext struct {
	c1, c2 curve.RistrettoPoint
}

// ParseCiphertext decodes 64 bytes c1 | c2: both canonical and neither the
// identity (an honest ciphertext has an identity component with
// probability 2^-252; a zeroed or forged one is refused).
func ParseCiphertext(b []byte) (*Ciphertext, error) {
	if len(b) != CiphertextSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrLength, len(b), CiphertextSize)
	}
	var c Ciphertext
	if err := c.set(b, -1); err != nil {
		return nil, err
	}
	return &c, nil
}

// set decodes b (CiphertextSize bytes) into c; errors name index and part.
func (c *Ciphertext) set(b []byte, index int) error {
	p1, err := parseElement(b[:ElementSize], false)
	if err != nil {
		return &ElementError{Index: index, Part: "c1", Err: err}
	}
	p2, err := parseElement(b[ElementSize:CiphertextSize], false)
	if err != nil {
		return &ElementError{Index: index, Part: "c2", Err: err}
	}
	c.c1, c.c2 = *p1, *p2
	return nil
}

// Bytes returns c1 | c2.
func (c *Ciphertext) Bytes() []byte { return c.appendTo(make([]byte, 0, CiphertextSize)) }

func (c *Ciphertext) appendTo(dst []byte) []byte {
	return appendElement(appendElement(dst, &c.c1), &c.c2)
}

// mul sets c = a * b (component-wise group operation) and returns c.
func (c *Ciphertext) mul(a, b *Ciphertext) *Ciphertext {
	c.c1.Add(&a.c1, &b.c1)
	c.c2.Add(&a.c2, &b.c2)
	return c
}

// encryptIdentity returns Enc(e; a) = (g^a, y^a) and the randomness a.
func (pk *PublicKey) encryptIdentity(rng io.Reader) (*Ciphertext, *scalar.Scalar, error) {
	a, err := randomScalar(rng)
	if err != nil {
		return nil, nil, err
	}
	var c Ciphertext
	c.c1.MulBasepoint(curve.RISTRETTO_BASEPOINT_TABLE, a)
	c.c2.Mul(&pk.p, a)
	return &c, a, nil
}

// isIdentity reports whether c decrypts to the identity e (c2 = c1^x), in
// constant time in the secret.
func (sk *SecretKey) isIdentity(c *Ciphertext) bool {
	var s curve.RistrettoPoint
	s.Mul(&c.c1, &sk.x)
	return s.Equal(&c.c2) == 1
}

// decrypt returns Dec(c) = c2 / c1^x.
func (sk *SecretKey) decrypt(c *Ciphertext) *curve.RistrettoPoint {
	var s curve.RistrettoPoint
	s.Mul(&c.c1, &sk.x)
	return s.Sub(&c.c2, &s)
}

// Vector is a response, share product, upload or cloud product: one
// ciphertext per place of the universe, in the universe's order.
type Vector []Ciphertext

// ParseVector decodes m ciphertexts (64*m bytes); an error names the
// first element that fails (*ElementError).
func ParseVector(b []byte, m int) (Vector, error) {
	if m < 0 || len(b) != m*CiphertextSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d ciphertexts of %d bytes", ErrLength, len(b), m, CiphertextSize)
	}
	v := make(Vector, m)
	for i := range v {
		if err := v[i].set(b[i*CiphertextSize:(i+1)*CiphertextSize], i); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Bytes returns the concatenated canonical encodings.
func (v Vector) Bytes() []byte {
	out := make([]byte, 0, len(v)*CiphertextSize)
	for i := range v {
		out = v[i].appendTo(out)
	}
	return out
}
