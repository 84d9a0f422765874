package oprf

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// testdata/rfc9497_ristretto255_sha512.json holds the RFC 9497 Appendix
// A.1.1 (OPRF) and A.1.2 (VOPRF) test vectors for ristretto255-SHA512,
// POPRF left out. They were taken from two public copies that agree
// byte for byte:
//
//   - github.com/facebook/voprf, src/tests/cfrg_vectors.rs at commit
//     1b670860287889908b1e28338449bdc493e29dda, which quotes RFC 9497
//     Appendix A verbatim ("taken from https://www.rfc-editor.org/rfc/rfc9497#appendix-A");
//   - github.com/cfrg/draft-irtf-cfrg-voprf, draft-irtf-cfrg-voprf.md at
//     commit 43da59f797c92248c0362e4c74cc10a8bd2b7b7d, the RFC's source.
//
// Batched fields (Input, Blind, ...) are lists; the RFC separates them
// with commas.

type rfcVectors struct {
	Identifier string     `json:"identifier"`
	Suites     []rfcSuite `json:"suites"`
}

type rfcSuite struct {
	Mode    Mode        `json:"mode"`
	Seed    hexBytes    `json:"Seed"`
	KeyInfo hexBytes    `json:"KeyInfo"`
	SkSm    hexBytes    `json:"skSm"`
	PkSm    hexBytes    `json:"pkSm"`
	Vectors []rfcVector `json:"vectors"`
}

type rfcVector struct {
	Batch             int        `json:"Batch"`
	Input             []hexBytes `json:"Input"`
	Blind             []hexBytes `json:"Blind"`
	BlindedElement    []hexBytes `json:"BlindedElement"`
	EvaluationElement []hexBytes `json:"EvaluationElement"`
	Output            []hexBytes `json:"Output"`
	Proof             hexBytes   `json:"Proof"`
	ProofRandomScalar hexBytes   `json:"ProofRandomScalar"`
}

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

func plain(hs []hexBytes) [][]byte {
	bs := make([][]byte, len(hs))
	for i, h := range hs {
		bs[i] = h
	}
	return bs
}

func loadVectors(t *testing.T) rfcVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc9497_ristretto255_sha512.json")
	if err != nil {
		t.Fatal(err)
	}
	var v rfcVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Identifier != Identifier {
		t.Fatalf("vectors are for %q, want %q", v.Identifier, Identifier)
	}
	// Guard against a truncated file: 2 OPRF and 3 VOPRF vectors.
	want := map[Mode]int{ModeOPRF: 2, ModeVOPRF: 3}
	for _, s := range v.Suites {
		if len(s.Vectors) != want[s.Mode] {
			t.Fatalf("mode %v: %d vectors, want %d", s.Mode, len(s.Vectors), want[s.Mode])
		}
		delete(want, s.Mode)
	}
	if len(want) != 0 {
		t.Fatalf("modes missing from the vectors: %v", want)
	}
	return v
}

func TestRFC9497Vectors(t *testing.T) {
	for _, s := range loadVectors(t).Suites {
		t.Run(s.Mode.String(), func(t *testing.T) {
			if len(s.Seed) != SeedSize {
				t.Fatalf("seed of %d bytes", len(s.Seed))
			}
			sk, err := DeriveKeyPair([SeedSize]byte(s.Seed), s.KeyInfo, s.Mode)
			if err != nil {
				t.Fatal(err)
			}
			if got := sk.Bytes(); !bytes.Equal(got, s.SkSm) {
				t.Fatalf("DeriveKeyPair: skSm = %x, want %x", got, s.SkSm)
			}
			if s.Mode == ModeVOPRF {
				if got := sk.Public().Bytes(); !bytes.Equal(got, s.PkSm) {
					t.Fatalf("pkSm = %x, want %x", got, s.PkSm)
				}
			}
			if parsed, err := ParsePrivateKey(s.Mode, s.SkSm); err != nil || !parsed.Public().Equal(sk.Public()) {
				t.Fatalf("ParsePrivateKey(skSm) = %v, %v", parsed, err)
			}
			for i, v := range s.Vectors {
				testRFCVector(t, i+1, sk, v)
			}
		})
	}
}

func testRFCVector(t *testing.T, n int, sk *PrivateKey, v rfcVector) {
	t.Helper()
	mode := sk.Mode()
	if len(v.Input) != v.Batch || len(v.Blind) != v.Batch || len(v.BlindedElement) != v.Batch ||
		len(v.EvaluationElement) != v.Batch || len(v.Output) != v.Batch {
		t.Fatalf("vector %d: fields do not have Batch = %d entries", n, v.Batch)
	}

	// Client: Blind with the RFC's blinds.
	blinds := make([]*Blind, v.Batch)
	inputs := make([][]byte, v.Batch)
	blinded := make([][]byte, v.Batch)
	for i := range v.Batch {
		b, err := ParseBlind(v.Blind[i])
		if err != nil {
			t.Fatalf("vector %d: blind %d: %v", n, i, err)
		}
		blinds[i], inputs[i] = b, v.Input[i]
		blinded[i], err = b.BlindedElement(v.Input[i], mode)
		if err != nil {
			t.Fatalf("vector %d: %v", n, err)
		}
		if !bytes.Equal(blinded[i], v.BlindedElement[i]) {
			t.Errorf("vector %d: BlindedElement[%d] = %x, want %x", n, i, blinded[i], v.BlindedElement[i])
		}
	}

	// Server: BlindEvaluate with the RFC's proof random scalar.
	var r []byte
	if mode == ModeVOPRF {
		r = v.ProofRandomScalar
		if len(r) != ScalarSize || len(v.Proof) != ProofSize {
			t.Fatalf("vector %d: proof fields missing", n)
		}
	}
	evaluated, proof := evaluateWithR(t, sk, r, plain(v.BlindedElement))
	for i := range v.Batch {
		if !bytes.Equal(evaluated[i], v.EvaluationElement[i]) {
			t.Errorf("vector %d: EvaluationElement[%d] = %x, want %x", n, i, evaluated[i], v.EvaluationElement[i])
		}
	}
	if !bytes.Equal(proof, v.Proof) {
		t.Errorf("vector %d: Proof = %x, want %x", n, proof, v.Proof)
	}

	// Client: Finalize the RFC's evaluation.
	var outputs [][]byte
	if mode == ModeVOPRF {
		var err error
		outputs, err = FinalizeVerify(sk.Public(), inputs, blinds, plain(v.BlindedElement), plain(v.EvaluationElement), v.Proof)
		if err != nil {
			t.Fatalf("vector %d: FinalizeVerify: %v", n, err)
		}
	} else {
		for i := range v.Batch {
			out, err := Finalize(inputs[i], blinds[i], v.EvaluationElement[i])
			if err != nil {
				t.Fatalf("vector %d: Finalize: %v", n, err)
			}
			outputs = append(outputs, out)
		}
	}
	for i := range v.Batch {
		if !bytes.Equal(outputs[i], v.Output[i]) {
			t.Errorf("vector %d: Output[%d] = %x, want %x", n, i, outputs[i], v.Output[i])
		}
		// Server: Evaluate gives the same output without the protocol.
		out, err := sk.Evaluate(inputs[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, v.Output[i]) {
			t.Errorf("vector %d: Evaluate(Input[%d]) = %x, want %x", n, i, out, v.Output[i])
		}
	}
}

// evaluateWithR runs BlindEvaluate with the proof scalar r (nil in OPRF
// mode) twice: through the internal hook and through the exported
// function, fed r as the 64 random bytes r || 0^32 (which reduce to r),
// and checks that the two agree.
func evaluateWithR(t *testing.T, sk *PrivateKey, r []byte, bs [][]byte) ([][]byte, []byte) {
	t.Helper()
	var rs *scalar.Scalar
	rand := bytes.NewReader(nil)
	if r != nil {
		s, err := decodeScalar(r)
		if err != nil {
			t.Fatal(err)
		}
		rs = s
		rand = bytes.NewReader(append(bytes.Clone(r), make([]byte, 32)...))
	}
	evaluated, proof, err := sk.blindEvaluate(rs, bs)
	if err != nil {
		t.Fatal(err)
	}
	evaluated2, proof2, err := sk.BlindEvaluate(rand, bs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(proof, proof2) || len(evaluated) != len(evaluated2) {
		t.Fatalf("BlindEvaluate and blindEvaluate disagree: proof %x / %x", proof2, proof)
	}
	for i := range evaluated {
		if !bytes.Equal(evaluated[i], evaluated2[i]) {
			t.Fatalf("BlindEvaluate and blindEvaluate disagree on element %d", i)
		}
	}
	return evaluated, proof
}
