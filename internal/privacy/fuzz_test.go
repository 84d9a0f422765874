package privacy

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"
)

// Every decoder: parse-then-marshal returns the exact input, and a failed
// parse returns nothing usable. The committed corpus (testdata/fuzz) holds
// valid encodings, bit flips and garbage; the seeds below add the RFC 9496
// invalid encodings.

func invalidEncodings(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/invalid-encodings.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b, err := hex.DecodeString(line)
		if err != nil || len(b) != ElementSize {
			t.Fatalf("bad vector %q", line)
		}
		out = append(out, b)
	}
	return out
}

func validElement() []byte {
	var p curve.RistrettoPoint
	p.MulBasepoint(curve.RISTRETTO_BASEPOINT_TABLE, hashToScalar(label("test")))
	return encodeElement(&p)
}

// TestInvalidEncodingsRefused: each RFC 9496 invalid encoding is refused
// as an element, a public key, a commitment, and as either half of a
// ciphertext, naming the half; the identity is refused where it is.
func TestInvalidEncodingsRefused(t *testing.T) {
	t.Parallel()
	good := validElement()
	for i, bad := range invalidEncodings(t) {
		if _, err := ParseElement(bad); !errors.Is(err, ErrEncoding) {
			t.Errorf("vector %d: ParseElement: %v", i, err)
		}
		if _, err := ParsePublicKey(bad); !errors.Is(err, ErrEncoding) {
			t.Errorf("vector %d: ParsePublicKey: %v", i, err)
		}
		if _, err := ParseCommitment(bad); !errors.Is(err, ErrEncoding) {
			t.Errorf("vector %d: ParseCommitment: %v", i, err)
		}
		for _, part := range []string{"c1", "c2"} {
			ct := append(append([]byte(nil), good...), good...)
			if part == "c1" {
				copy(ct, bad)
			} else {
				copy(ct[ElementSize:], bad)
			}
			vec := append(append([]byte(nil), append(good, good...)...), ct...)
			_, err := ParseVector(vec, 2)
			var ee *ElementError
			if !errors.As(err, &ee) || ee.Index != 1 || ee.Part != part || !errors.Is(err, ErrEncoding) {
				t.Errorf("vector %d as %s of element 1: %v", i, part, err)
			}
		}
	}
	id := make([]byte, ElementSize)
	if _, err := ParseElement(id); !errors.Is(err, ErrIdentity) {
		t.Errorf("identity element: %v", err)
	}
	if _, err := ParseCiphertext(append(append([]byte(nil), good...), id...)); !errors.Is(err, ErrIdentity) {
		t.Errorf("identity c2: %v", err)
	}
}

func FuzzElement(f *testing.F) {
	f.Add(validElement())
	f.Add(make([]byte, ElementSize))
	for _, b := range invalidEncodings(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := ParseElement(b)
		if err != nil {
			if out != nil {
				t.Fatal("failed parse returned a value")
			}
			if _, err2 := ParseCommitment(b); err2 == nil {
				t.Fatal("ParseCommitment accepts what ParseElement refuses")
			}
			return
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("parse-then-marshal changed %x to %x", b, out)
		}
		pk, err := ParsePublicKey(b)
		if err != nil || !bytes.Equal(pk.Bytes(), b) {
			t.Fatalf("public key: %v", err)
		}
		c, err := ParseCommitment(b)
		if err != nil || !bytes.Equal(c[:], b) {
			t.Fatalf("commitment: %v", err)
		}
	})
}

func FuzzCiphertext(f *testing.F) {
	g := validElement()
	f.Add(append(append([]byte(nil), g...), g...))
	f.Add(make([]byte, CiphertextSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCiphertext(b)
		if err != nil {
			if c != nil {
				t.Fatal("failed parse returned a value")
			}
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatalf("parse-then-marshal changed %x to %x", b, c.Bytes())
		}
	})
}

func FuzzVector(f *testing.F) {
	g := validElement()
	ct := append(append([]byte(nil), g...), g...)
	f.Add(ct)
	f.Add(append(append([]byte(nil), ct...), ct...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := len(b) / CiphertextSize
		v, err := ParseVector(b, m)
		if err != nil {
			if v != nil {
				t.Fatal("failed parse returned a value")
			}
			return
		}
		if !bytes.Equal(v.Bytes(), b) {
			t.Fatalf("parse-then-marshal changed %x", b)
		}
	})
}

func FuzzScalar(f *testing.F) {
	f.Add(encodeScalar(hashToScalar(label("test"))))
	f.Add(bytes.Repeat([]byte{0xff}, ScalarSize))
	f.Add(make([]byte, ScalarSize))
	f.Add(encodeScalar(hashToScalar(label("a"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseR(b)
		if err != nil {
			if r != nil {
				t.Fatal("failed parse returned a value")
			}
		} else if !bytes.Equal(EncodeR(r), b) {
			t.Fatalf("parse-then-marshal changed %x", b)
		}
		sk, err := ParseSecretKey(b)
		if err == nil && !bytes.Equal(sk.Bytes(), b) {
			t.Fatalf("secret key: parse-then-marshal changed %x", b)
		}
		rk, err := ParseRiskKey(b)
		if err == nil && !bytes.Equal(rk.Bytes(), b) {
			t.Fatalf("risk key: parse-then-marshal changed %x", b)
		}
		if len(b) == 2*ScalarSize || len(b) == ScalarSize {
			pb := append(append([]byte(nil), b...), b...)[:ProofSize]
			p, err := ParseProof(pb)
			if err == nil && !bytes.Equal(p.Bytes(), pb) {
				t.Fatalf("proof: parse-then-marshal changed %x", pb)
			}
		}
	})
}

func FuzzTokens(f *testing.F) {
	rk, _ := NewRiskKey(nil)
	f.Add(rk.Tokens([]Visit{{Site: "a"}, {Site: "b"}, {Site: "c", Slot: Slot}}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckTokens(b)
		if err == nil {
			ps, err := parseElements(b)
			if err != nil {
				t.Fatal(err)
			}
			var out []byte
			for i := range ps {
				out = appendElement(out, &ps[i])
			}
			if !bytes.Equal(out, b) {
				t.Fatalf("parse-then-marshal changed %x", b)
			}
		}
	})
}
