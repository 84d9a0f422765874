package oprf

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func mustKey(t *testing.T, mode Mode) *PrivateKey {
	t.Helper()
	sk, err := GenerateKey(nil, mode)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// client runs BlindInput over inputs.
func client(t *testing.T, inputs [][]byte, mode Mode) ([]*Blind, [][]byte) {
	t.Helper()
	blinds := make([]*Blind, len(inputs))
	blinded := make([][]byte, len(inputs))
	for i, in := range inputs {
		var err error
		blinds[i], blinded[i], err = BlindInput(nil, in, mode)
		if err != nil {
			t.Fatal(err)
		}
		if len(blinded[i]) != ElementSize {
			t.Fatalf("blinded element of %d bytes", len(blinded[i]))
		}
	}
	return blinds, blinded
}

func someInputs(n int) [][]byte {
	inputs := make([][]byte, n)
	for i := range inputs {
		inputs[i] = fmt.Appendf(nil, "national id %04d", i)
	}
	inputs[0] = nil // the empty input is an input too
	return inputs
}

func TestRoundTripOPRF(t *testing.T) {
	sk := mustKey(t, ModeOPRF)
	inputs := someInputs(3)
	blinds, blinded := client(t, inputs, ModeOPRF)
	evaluated, proof, err := sk.BlindEvaluate(nil, blinded)
	if err != nil {
		t.Fatal(err)
	}
	if proof != nil {
		t.Fatalf("OPRF mode returned a proof: %x", proof)
	}
	seen := map[string]bool{}
	for i, in := range inputs {
		out, err := Finalize(in, blinds[i], evaluated[i])
		if err != nil {
			t.Fatal(err)
		}
		direct, err := sk.Evaluate(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != OutputSize || !bytes.Equal(out, direct) {
			t.Fatalf("input %d: Finalize %x != Evaluate %x", i, out, direct)
		}
		seen[string(out)] = true
		// Another blind for the same input: another blinded element, same output.
		b2, blinded2, err := BlindInput(nil, in, ModeOPRF)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(blinded2, blinded[i]) {
			t.Fatal("two blinds gave the same blinded element")
		}
		ev2, _, err := sk.BlindEvaluate(nil, [][]byte{blinded2})
		if err != nil {
			t.Fatal(err)
		}
		if out2, err := Finalize(in, b2, ev2[0]); err != nil || !bytes.Equal(out2, out) {
			t.Fatalf("input %d: a second blinding gave %x, %v", i, out2, err)
		}
		// The wrong blind, or the wrong input, gives another output.
		if wrong, _ := Finalize(in, blinds[(i+1)%len(blinds)], evaluated[i]); bytes.Equal(wrong, out) {
			t.Fatal("the wrong blind gave the right output")
		}
		if wrong, _ := Finalize([]byte("other"), blinds[i], evaluated[i]); bytes.Equal(wrong, out) {
			t.Fatal("the wrong input gave the right output")
		}
	}
	if len(seen) != len(inputs) {
		t.Fatal("two inputs gave the same output")
	}
	// Another key gives other outputs.
	other, _ := mustKey(t, ModeOPRF).Evaluate(inputs[1])
	if mine, _ := sk.Evaluate(inputs[1]); bytes.Equal(mine, other) {
		t.Fatal("two keys gave the same output")
	}
}

func TestRoundTripVOPRF(t *testing.T) {
	sk := mustKey(t, ModeVOPRF)
	pub, err := ParsePublicKey(sk.Public().Bytes())
	if err != nil || !pub.Equal(sk.Public()) {
		t.Fatalf("public key does not round-trip: %v", err)
	}
	for _, n := range []int{1, 2, 7} {
		inputs := someInputs(n)
		blinds, blinded := client(t, inputs, ModeVOPRF)
		evaluated, proof, err := sk.BlindEvaluate(nil, blinded)
		if err != nil {
			t.Fatal(err)
		}
		if len(proof) != ProofSize || len(evaluated) != n {
			t.Fatalf("batch %d: %d evaluated, proof of %d bytes", n, len(evaluated), len(proof))
		}
		outputs, err := FinalizeVerify(pub, inputs, blinds, blinded, evaluated, proof)
		if err != nil {
			t.Fatalf("batch %d: %v", n, err)
		}
		for i, in := range inputs {
			direct, err := sk.Evaluate(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(outputs[i], direct) {
				t.Fatalf("batch %d, input %d: FinalizeVerify %x != Evaluate %x", n, i, outputs[i], direct)
			}
		}
		testProofRejections(t, sk, inputs, blinds, blinded, evaluated, proof)
	}
}

// testProofRejections checks that FinalizeVerify refuses every change to
// a valid batch: another key, a changed or reordered element, a changed
// proof.
func testProofRejections(t *testing.T, sk *PrivateKey, inputs [][]byte, blinds []*Blind, blinded, evaluated [][]byte, proof []byte) {
	t.Helper()
	n := len(inputs)
	verify := func(what string, pub *PublicKey, blinded, evaluated [][]byte, proof []byte) {
		t.Helper()
		out, err := FinalizeVerify(pub, inputs, blinds, blinded, evaluated, proof)
		if err == nil || out != nil {
			t.Errorf("batch %d: %s: accepted", n, what)
		}
	}
	replace := func(list [][]byte, i int, v []byte) [][]byte {
		c := append([][]byte(nil), list...)
		c[i] = v
		return c
	}

	// Another public key, of either mode: the proof is for sk's key only.
	verify("another public key", mustKey(t, ModeVOPRF).Public(), blinded, evaluated, proof)
	if _, err := FinalizeVerify(mustKey(t, ModeVOPRF).Public(), inputs, blinds, blinded, evaluated, proof); !errors.Is(err, ErrVerify) {
		t.Errorf("another public key: err = %v, want ErrVerify", err)
	}

	// An evaluated element made with another key (a server that switched keys).
	otherKey := mustKey(t, ModeVOPRF)
	otherEval, _, err := otherKey.BlindEvaluate(nil, blinded)
	if err != nil {
		t.Fatal(err)
	}
	last := n - 1
	verify("an element evaluated with another key", sk.Public(), blinded, replace(evaluated, last, otherEval[last]), proof)
	// A valid element that is not the evaluation.
	verify("an unrelated evaluated element", sk.Public(), blinded, replace(evaluated, 0, mustHex(t, generatorMultiples[2])), proof)
	verify("an unrelated blinded element", sk.Public(), replace(blinded, 0, mustHex(t, generatorMultiples[3])), evaluated, proof)
	if n > 1 {
		swapped := replace(replace(evaluated, 0, evaluated[1]), 1, evaluated[0])
		verify("evaluated elements swapped", sk.Public(), blinded, swapped, proof)
		verify("one element dropped", sk.Public(), blinded[1:], evaluated[1:], proof)
	}

	// A changed proof: each half, low and high bytes.
	for _, i := range []int{0, ScalarSize - 2, ScalarSize, ProofSize - 2} {
		p := bytes.Clone(proof)
		p[i] ^= 0x01
		verify(fmt.Sprintf("proof byte %d changed", i), sk.Public(), blinded, evaluated, p)
	}
	// The same proof with c or s written non-canonically, as value + L:
	// it would verify if the decoder reduced instead of refusing.
	for _, half := range []int{0, ScalarSize} {
		p := bytes.Clone(proof)
		addOrder(t, p[half:half+ScalarSize])
		if _, err := FinalizeVerify(sk.Public(), inputs, blinds, blinded, evaluated, p); !errors.Is(err, ErrScalar) {
			t.Errorf("batch %d: proof scalar at %d plus L: err = %v, want ErrScalar", n, half, err)
		}
	}
	verify("proof truncated", sk.Public(), blinded, evaluated, proof[:ProofSize-1])
	verify("no proof", sk.Public(), blinded, evaluated, nil)
	verify("proof of zeros", sk.Public(), blinded, evaluated, make([]byte, ProofSize))
	// A valid proof, for other elements.
	_, otherProof, err := sk.BlindEvaluate(nil, replace(blinded, 0, mustHex(t, generatorMultiples[4])))
	if err != nil {
		t.Fatal(err)
	}
	verify("a proof for another batch", sk.Public(), blinded, evaluated, otherProof)

	// Mismatched batch shapes.
	if _, err := FinalizeVerify(sk.Public(), inputs, blinds[:n-1], blinded, evaluated, proof); !errors.Is(err, ErrLength) {
		t.Errorf("one blind short: err = %v, want ErrLength", err)
	}
	if _, err := FinalizeVerify(nil, inputs, blinds, blinded, evaluated, proof); err == nil {
		t.Error("nil public key accepted")
	}
}

// Proofs are randomized: two evaluations of one batch give the same
// elements and two different proofs, both valid.
func TestProofsAreRandomized(t *testing.T) {
	sk := mustKey(t, ModeVOPRF)
	inputs := someInputs(2)
	blinds, blinded := client(t, inputs, ModeVOPRF)
	ev1, p1, err := sk.BlindEvaluate(nil, blinded)
	if err != nil {
		t.Fatal(err)
	}
	ev2, p2, err := sk.BlindEvaluate(nil, blinded)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(p1, p2) {
		t.Fatal("two proofs are equal")
	}
	for i := range ev1 {
		if !bytes.Equal(ev1[i], ev2[i]) {
			t.Fatal("evaluation is not deterministic")
		}
	}
	for _, p := range [][]byte{p1, p2} {
		if _, err := FinalizeVerify(sk.Public(), inputs, blinds, blinded, ev1, p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestModesAreSeparated(t *testing.T) {
	var seed [SeedSize]byte
	copy(seed[:], "a secret of the ledger, 32 bytes")
	oprfKey, err := DeriveKeyPair(seed, []byte("pseudonyms v1"), ModeOPRF)
	if err != nil {
		t.Fatal(err)
	}
	voprfKey, err := DeriveKeyPair(seed, []byte("pseudonyms v1"), ModeVOPRF)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(oprfKey.Bytes(), voprfKey.Bytes()) {
		t.Fatal("the two modes derive the same key")
	}
	// The same scalar in the two modes still gives unrelated outputs.
	same, err := ParsePrivateKey(ModeVOPRF, oprfKey.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := oprfKey.Evaluate([]byte("x"))
	b, _ := same.Evaluate([]byte("x"))
	if bytes.Equal(a, b) {
		t.Fatal("the two modes give the same output")
	}
	// A client blinding for the wrong mode does not get the server's output.
	blind, blinded, err := BlindInput(nil, []byte("x"), ModeOPRF)
	if err != nil {
		t.Fatal(err)
	}
	ev, proof, err := same.BlindEvaluate(nil, [][]byte{blinded})
	if err != nil {
		t.Fatal(err)
	}
	out, err := FinalizeVerify(same.Public(), [][]byte{[]byte("x")}, []*Blind{blind}, [][]byte{blinded}, ev, proof)
	if err != nil {
		t.Fatal(err) // the proof is about the elements, which are right
	}
	if bytes.Equal(out[0], b) {
		t.Fatal("a client of the wrong mode got the server's output")
	}
}

func TestDeriveKeyPair(t *testing.T) {
	var seed [SeedSize]byte
	k1, err := DeriveKeyPair(seed, []byte("info"), ModeVOPRF)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := DeriveKeyPair(seed, []byte("info"), ModeVOPRF)
	if !bytes.Equal(k1.Bytes(), k2.Bytes()) || !k1.Public().Equal(k2.Public()) {
		t.Fatal("DeriveKeyPair is not deterministic")
	}
	k3, _ := DeriveKeyPair(seed, []byte("infp"), ModeVOPRF)
	seed[31] = 1
	k4, _ := DeriveKeyPair(seed, []byte("info"), ModeVOPRF)
	if bytes.Equal(k1.Bytes(), k3.Bytes()) || bytes.Equal(k1.Bytes(), k4.Bytes()) {
		t.Fatal("another info or seed gave the same key")
	}
	if k1.Mode() != ModeVOPRF {
		t.Fatalf("mode %v", k1.Mode())
	}
	if _, err := DeriveKeyPair(seed, make([]byte, MaxInputSize+1), ModeVOPRF); !errors.Is(err, ErrLength) {
		t.Fatalf("oversized info: %v", err)
	}
	if _, err := DeriveKeyPair(seed, nil, Mode(2)); !errors.Is(err, ErrMode) {
		t.Fatalf("mode 2: %v", err)
	}
}

func TestBadArguments(t *testing.T) {
	sk := mustKey(t, ModeOPRF)
	long := make([]byte, MaxInputSize+1)
	if _, err := sk.Evaluate(long); !errors.Is(err, ErrInput) {
		t.Errorf("Evaluate(long input): %v", err)
	}
	if _, err := sk.Evaluate(long[:MaxInputSize]); err != nil {
		t.Errorf("Evaluate(longest input): %v", err)
	}
	if _, _, err := BlindInput(nil, long, ModeOPRF); !errors.Is(err, ErrInput) {
		t.Errorf("BlindInput(long input): %v", err)
	}
	if _, _, err := BlindInput(nil, nil, Mode(7)); !errors.Is(err, ErrMode) {
		t.Errorf("BlindInput(mode 7): %v", err)
	}
	if _, err := GenerateKey(nil, Mode(2)); !errors.Is(err, ErrMode) {
		t.Errorf("GenerateKey(mode 2): %v", err)
	}
	if _, _, err := sk.BlindEvaluate(nil, nil); !errors.Is(err, ErrLength) {
		t.Errorf("BlindEvaluate(empty batch): %v", err)
	}
	blind, blinded, err := BlindInput(nil, []byte("x"), ModeOPRF)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Finalize(long, blind, blinded); !errors.Is(err, ErrInput) {
		t.Errorf("Finalize(long input): %v", err)
	}
	if _, err := Finalize([]byte("x"), nil, blinded); err == nil {
		t.Error("Finalize(nil blind) accepted")
	}
	if _, err := Finalize([]byte("x"), &Blind{}, blinded); !errors.Is(err, ErrScalar) {
		t.Errorf("Finalize(zero Blind{}): %v", err)
	}
	if _, err := new(Blind).BlindedElement([]byte("x"), ModeOPRF); !errors.Is(err, ErrScalar) {
		t.Errorf("zero Blind{}.BlindedElement: %v", err)
	}
	// A failing or all-zero random source is an error, not a zero scalar.
	if _, _, err := BlindInput(bytes.NewReader(make([]byte, 10)), nil, ModeOPRF); !errors.Is(err, ErrRandom) {
		t.Errorf("short random source: %v", err)
	}
	if _, err := GenerateKey(bytes.NewReader(make([]byte, 64*8)), ModeOPRF); !errors.Is(err, ErrRandom) {
		t.Errorf("all-zero random source: %v", err)
	}
	vk := mustKey(t, ModeVOPRF)
	if _, _, err := vk.BlindEvaluate(bytes.NewReader(nil), [][]byte{blinded}); !errors.Is(err, ErrRandom) {
		t.Errorf("VOPRF BlindEvaluate with an empty random source: %v", err)
	}
	if s := Mode(9).String(); s != "Mode(0x09)" {
		t.Errorf("Mode(9).String() = %q", s)
	}
}

// addOrder adds L to the 32-byte little-endian integer b in place.
func addOrder(t *testing.T, b []byte) {
	t.Helper()
	order := mustHex(t, orderHex)
	carry := 0
	for i := range b {
		v := int(b[i]) + int(order[i]) + carry
		b[i], carry = byte(v), v>>8
	}
	if carry != 0 || b[31]&0x80 != 0 {
		t.Fatal("value + L does not fit in 255 bits")
	}
}
