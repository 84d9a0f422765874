package oprf

import (
	"crypto/sha512"
	"fmt"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// expandMessageXMD is RFC 9380 sec. 5.3.1 expand_message_xmd with SHA-512
// (b_in_bytes = 64, s_in_bytes = 128). The message is the concatenation of
// msg. DSTs longer than 255 bytes are refused rather than hashed (every
// tag of this package is short).
func expandMessageXMD(dst []byte, lenInBytes int, msg ...[]byte) ([]byte, error) {
	const bInBytes, sInBytes = sha512.Size, sha512.BlockSize
	ell := (lenInBytes + bInBytes - 1) / bInBytes
	if lenInBytes <= 0 || ell > 255 || lenInBytes > 65535 {
		return nil, fmt.Errorf("%w: expand_message_xmd of %d bytes", ErrLength, lenInBytes)
	}
	if len(dst) > 255 {
		return nil, fmt.Errorf("%w: DST of %d bytes", ErrLength, len(dst))
	}
	dstPrime := append(append(make([]byte, 0, len(dst)+1), dst...), byte(len(dst)))

	h := sha512.New()
	var zPad [sInBytes]byte
	h.Write(zPad[:])
	for _, m := range msg {
		h.Write(m)
	}
	h.Write([]byte{byte(lenInBytes >> 8), byte(lenInBytes), 0})
	h.Write(dstPrime)
	b0 := h.Sum(nil)

	out := make([]byte, 0, ell*bInBytes)
	var prev []byte
	for i := 1; i <= ell; i++ {
		h.Reset()
		if i == 1 {
			h.Write(b0)
		} else {
			var x [bInBytes]byte
			for j := range x {
				x[j] = b0[j] ^ prev[j]
			}
			h.Write(x[:])
		}
		h.Write([]byte{byte(i)})
		h.Write(dstPrime)
		prev = h.Sum(nil)
		out = append(out, prev...)
	}
	return out[:lenInBytes], nil
}

// hashToGroup is RFC 9497's HashToGroup for ristretto255: RFC 9380's
// hash_to_ristretto255, i.e. 64 bytes of expand_message_xmd under
// "HashToGroup-" || contextString, then the RFC 9496 one-way map.
func (s *suite) hashToGroup(input []byte) (*curve.RistrettoPoint, error) {
	u, err := expandMessageXMD(s.groupDST, curve.RistrettoUniformSize, input)
	if err != nil {
		return nil, err
	}
	return mapToGroup(u)
}

// mapToGroup is RFC 9496 sec. 4.3.4's one-way map from 64 uniform bytes.
func mapToGroup(u []byte) (*curve.RistrettoPoint, error) {
	p, err := curve.NewRistrettoPoint().SetUniformBytes(u)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLength, err)
	}
	return p, nil
}

// hashToScalar is RFC 9497's HashToScalar for ristretto255: 64 bytes of
// expand_message_xmd under dst, read little-endian and reduced mod L.
func hashToScalar(dst []byte, msg ...[]byte) (*scalar.Scalar, error) {
	u, err := expandMessageXMD(dst, scalar.ScalarWideSize, msg...)
	if err != nil {
		return nil, err
	}
	return scalar.NewFromBytesModOrderWide(u)
}

// i2osp2 is I2OSP(n, 2); callers keep n below 2^16.
func i2osp2(n int) []byte { return []byte{byte(n >> 8), byte(n)} }

// finalizeHash is the output of Finalize and Evaluate:
// Hash(I2OSP(len(input), 2) || input || I2OSP(Ne, 2) || element || "Finalize").
func finalizeHash(input []byte, element *curve.RistrettoPoint) []byte {
	h := sha512.New()
	h.Write(i2osp2(len(input)))
	h.Write(input)
	h.Write(i2osp2(ElementSize))
	h.Write(encodeElement(element))
	h.Write([]byte("Finalize"))
	return h.Sum(nil)
}
