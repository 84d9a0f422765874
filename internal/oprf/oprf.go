package oprf

import (
	"crypto/sha512"
	"errors"
	"fmt"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// Identifier is the RFC 9497 name of the one ciphersuite this package
// implements.
const Identifier = "ristretto255-SHA512"

// Sizes of the encodings, in bytes.
const (
	ElementSize  = curve.CompressedPointSize // a ristretto255 element (Ne)
	ScalarSize   = scalar.ScalarSize         // a scalar mod the group order (Ns)
	ProofSize    = 2 * ScalarSize            // a proof: c | s
	OutputSize   = sha512.Size               // the PRF output (Nh)
	SeedSize     = 32                        // DeriveKeyPair's seed (Nseed)
	MaxInputSize = 1<<16 - 1                 // inputs are length-prefixed with 2 bytes
	MaxBatchSize = 1<<16 - 1                 // composites index elements with 2 bytes
)

// Mode is the RFC 9497 protocol variant. It is part of every domain
// separation tag, so the same key gives unrelated outputs in the two modes.
type Mode byte

// The modes this package implements (POPRF, 0x02, is not implemented).
const (
	ModeOPRF  Mode = 0x00 // oblivious: the client cannot check the server's key
	ModeVOPRF Mode = 0x01 // verifiable: each evaluation carries a DLEQ proof
)

func (m Mode) String() string {
	switch m {
	case ModeOPRF:
		return "OPRF"
	case ModeVOPRF:
		return "VOPRF"
	}
	return fmt.Sprintf("Mode(%#02x)", byte(m))
}

func (m Mode) check() error {
	if m != ModeOPRF && m != ModeVOPRF {
		return fmt.Errorf("%w: %v", ErrMode, m)
	}
	return nil
}

// Errors. Functions wrap them with detail; test with errors.Is.
var (
	// ErrMode: a mode other than ModeOPRF or ModeVOPRF, or an operation
	// the key's mode does not allow.
	ErrMode = errors.New("oprf: unsupported mode")
	// ErrLength: an encoding, input or batch of the wrong length.
	ErrLength = errors.New("oprf: wrong length")
	// ErrEncoding: bytes that are not a canonical ristretto255 encoding.
	ErrEncoding = errors.New("oprf: not a canonical ristretto255 encoding")
	// ErrIdentity: the identity element, which RFC 9497 never accepts.
	ErrIdentity = errors.New("oprf: the identity element is not allowed")
	// ErrScalar: a scalar that is not canonical (32 bytes little-endian,
	// below the group order), or zero where zero is not allowed.
	ErrScalar = errors.New("oprf: not a valid scalar")
	// ErrInput: an input that cannot be evaluated (RFC InvalidInputError).
	ErrInput = errors.New("oprf: invalid input")
	// ErrVerify: a proof that does not verify (RFC VerifyError).
	ErrVerify = errors.New("oprf: proof does not verify")
	// ErrDeriveKeyPair: no non-zero key in 256 tries (RFC
	// DeriveKeyPairError; never happens in practice).
	ErrDeriveKeyPair = errors.New("oprf: key derivation failed")
	// ErrRandom: the random source failed.
	ErrRandom = errors.New("oprf: random source failed")
)

// suite holds the domain separation tags of one mode (RFC 9497 sec. 3.1
// and 2.2.1): contextString = "OPRFV1-" || I2OSP(mode, 1) || "-" ||
// identifier.
type suite struct {
	mode      Mode
	groupDST  []byte // "HashToGroup-" || contextString
	scalarDST []byte // "HashToScalar-" || contextString
	deriveDST []byte // "DeriveKeyPair" || contextString
	seedDST   []byte // "Seed-" || contextString
}

var suites = [2]suite{newSuite(ModeOPRF), newSuite(ModeVOPRF)}

func newSuite(m Mode) suite {
	ctx := "OPRFV1-" + string([]byte{byte(m)}) + "-" + Identifier
	return suite{
		mode:      m,
		groupDST:  []byte("HashToGroup-" + ctx),
		scalarDST: []byte("HashToScalar-" + ctx),
		deriveDST: []byte("DeriveKeyPair" + ctx),
		seedDST:   []byte("Seed-" + ctx),
	}
}

// suiteOf returns the tags of a checked mode.
func suiteOf(m Mode) *suite { return &suites[m] }
