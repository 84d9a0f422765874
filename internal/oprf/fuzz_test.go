package oprf

import (
	"bytes"
	"testing"
)

// FuzzDecodeElement: decoding never panics; whatever decodes is not the
// identity and re-encodes to exactly the input (one encoding per element);
// the public decoders agree with it.
func FuzzDecodeElement(f *testing.F) {
	for _, g := range generatorMultiples {
		f.Add(mustHex(f, g))
	}
	for _, b := range badEncodings {
		f.Add(mustHex(f, b.hex))
	}
	f.Add([]byte{})
	f.Add(make([]byte, 33))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeElement(b)
		pk, pkErr := ParsePublicKey(b)
		if (err == nil) != (pkErr == nil) {
			t.Fatalf("decodeElement: %v, ParsePublicKey: %v", err, pkErr)
		}
		if err != nil {
			if p != nil {
				t.Fatal("an error and an element")
			}
			return
		}
		if p.IsIdentity() {
			t.Fatal("decoded the identity")
		}
		if !bytes.Equal(encodeElement(p), b) || !bytes.Equal(pk.Bytes(), b) {
			t.Fatalf("%x re-encodes to %x", b, encodeElement(p))
		}
	})
}

// FuzzDecodeScalar: never panics; what decodes re-encodes to the input.
func FuzzDecodeScalar(f *testing.F) {
	f.Add(mustHex(f, orderHex))
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		bl, err := ParseBlind(b)
		if err != nil {
			return
		}
		if !bytes.Equal(bl.Bytes(), b) {
			t.Fatalf("%x re-encodes to %x", b, bl.Bytes())
		}
		sk, err := ParsePrivateKey(ModeVOPRF, b)
		if err != nil || !bytes.Equal(sk.Bytes(), b) {
			t.Fatalf("ParseBlind accepts %x, ParsePrivateKey: %v", b, err)
		}
	})
}

// FuzzFinalizeVerify: arbitrary evaluated elements and proofs never panic;
// the server's own pair verifies, and nothing verifies for an element
// other than the server's evaluation.
func FuzzFinalizeVerify(f *testing.F) {
	var seed [SeedSize]byte
	sk, err := DeriveKeyPair(seed, []byte("fuzz"), ModeVOPRF)
	if err != nil {
		f.Fatal(err)
	}
	blind, err := ParseBlind(append([]byte{7}, make([]byte, 31)...))
	if err != nil {
		f.Fatal(err)
	}
	input := []byte("fuzz input")
	blinded, err := blind.BlindedElement(input, ModeVOPRF)
	if err != nil {
		f.Fatal(err)
	}
	// A fixed proof scalar: the fuzz workers each rebuild this setup and
	// must get the same proof as the seed corpus.
	evaluated, proof, err := sk.BlindEvaluate(bytes.NewReader(bytes.Repeat([]byte{3}, 64)), [][]byte{blinded})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(evaluated[0], proof)
	f.Add(evaluated[0], make([]byte, ProofSize))
	f.Add(blinded, proof)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, ev, pr []byte) {
		out, err := FinalizeVerify(sk.Public(), [][]byte{input}, []*Blind{blind}, [][]byte{blinded}, [][]byte{ev}, pr)
		if bytes.Equal(ev, evaluated[0]) && bytes.Equal(pr, proof) && err != nil {
			t.Fatalf("the genuine evaluation fails: %v", err)
		}
		if err == nil && !bytes.Equal(ev, evaluated[0]) {
			t.Fatalf("a proof verifies for element %x", ev)
		}
		if err == nil && len(out) != 1 {
			t.Fatal("no output")
		}
		_, _ = Finalize(input, blind, ev) // must not panic
	})
}
