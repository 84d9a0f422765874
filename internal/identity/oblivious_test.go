package identity_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/oprf"
)

func oprfPseudonymizer(t testing.TB, secret []byte) *identity.Pseudonymizer {
	t.Helper()
	p, err := identity.NewOPRFPseudonymizer(secret)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestObliviousMatchesDirect: for canonical ids and aliases, a site's
// blinded route (Blind, BlindEvaluate, Finalize) gives the pseudonym the
// node computes with Of, and the alias flag Checked gives; the scheme's
// pseudonyms depend on the secret alone (two pseudonymizers of one secret
// agree) and differ from the HMAC scheme's; a short secret is refused.
func TestObliviousMatchesDirect(t *testing.T) {
	t.Parallel()
	p, q := oprfPseudonymizer(t, secretA), oprfPseudonymizer(t, secretA)
	h := pseudonymizer(t, secretA)
	refs := []string{"id:420100199001011234", "phone:13800000000", "plate:鄂A12345", "id:E12345678", "id:420100199001011234"}
	b, err := identity.Blind(refs)
	if err != nil {
		t.Fatal(err)
	}
	ev, proof, err := p.BlindEvaluate(b.Elements())
	if err != nil {
		t.Fatal(err)
	}
	ps, err := b.Finalize(q.PublicKey(), ev, proof)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range refs {
		if want := q.Checked(r); ps[i] != want {
			t.Errorf("%s: oblivious %v, direct %v", r, ps[i], want)
		}
		if p.Of(r) == h.Of(r) {
			t.Errorf("%s: the VOPRF and HMAC pseudonyms agree", r)
		}
	}
	if ps[0] != ps[4] {
		t.Error("two blindings of one reference give two pseudonyms")
	}
	if _, err := identity.NewOPRFPseudonymizer(make([]byte, 31)); err == nil {
		t.Error("a 31-byte secret accepted")
	}
	if h.PublicKey() != nil {
		t.Error("an HMAC pseudonymizer has a public key")
	}
	if _, _, err := h.BlindEvaluate(b.Elements()); !errors.Is(err, identity.ErrNotOblivious) {
		t.Errorf("HMAC BlindEvaluate: %v", err)
	}
}

// TestBlindedElementsUnlinkable: two blindings of the same reference are
// different elements, and no element of a blinding equals one of another
// reference's: the node cannot tell repeats (which is why every element
// counts against the quota).
func TestBlindedElementsUnlinkable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 50 {
		b, err := identity.Blind([]string{"id:420100199001011234"})
		if err != nil {
			t.Fatal(err)
		}
		e := string(b.Elements()[0])
		if seen[e] {
			t.Fatal("a blinded element repeats")
		}
		seen[e] = true
	}
}

// TestFinalizeRefuses: Finalize returns nothing and identity.ErrProof
// for an answer made with another key (another chain's node), a proof
// with any one bit flipped, evaluated elements swapped, one missing, or
// no key to check against.
func TestFinalizeRefuses(t *testing.T) {
	t.Parallel()
	p, other := oprfPseudonymizer(t, secretA), oprfPseudonymizer(t, secretB)
	refs := []string{"id:1", "phone:2"}
	b, err := identity.Blind(refs)
	if err != nil {
		t.Fatal(err)
	}
	ev, proof, err := p.BlindEvaluate(b.Elements())
	if err != nil {
		t.Fatal(err)
	}
	oev, oproof, err := other.BlindEvaluate(b.Elements())
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		pub   *oprf.PublicKey
		ev    [][]byte
		proof []byte
	}
	cases := map[string]answer{
		"another_key":           {p.PublicKey(), oev, oproof},
		"another_key_own_pub":   {p.PublicKey(), oev, proof},
		"swapped":               {p.PublicKey(), [][]byte{ev[1], ev[0]}, proof},
		"one_missing":           {p.PublicKey(), ev[:1], proof},
		"no_key":                {nil, ev, proof},
		"proof_short":           {p.PublicKey(), ev, proof[:63]},
		"checked_against_other": {other.PublicKey(), ev, proof},
	}
	for bit := 0; bit < 8*len(proof); bit += 37 {
		bad := bytes.Clone(proof)
		bad[bit/8] ^= 1 << (bit % 8)
		cases[fmt.Sprint("proof_bit_", bit)] = answer{p.PublicKey(), ev, bad}
	}
	for name, a := range cases {
		ps, err := b.Finalize(a.pub, a.ev, a.proof)
		if !errors.Is(err, identity.ErrProof) || ps != nil {
			t.Errorf("%s: %v, %v", name, ps, err)
		}
	}
	if _, err := b.Finalize(p.PublicKey(), ev, proof); err != nil {
		t.Errorf("the honest answer: %v", err)
	}
}

// BenchmarkPseudonymOf: the node's cost of one pseudonym, HMAC against
// VOPRF on references it has not seen lately (a scalar multiplication and
// a hash to the group) and on ones its cache holds.
func BenchmarkPseudonymOf(b *testing.B) {
	hm, op := pseudonymizer(b, secretA), oprfPseudonymizer(b, secretA)
	b.Run("hmac", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			hm.Of(fmt.Sprint("id:", i))
		}
	})
	b.Run("voprf_uncached", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			op.Of(fmt.Sprint("id:u", i))
		}
	})
	var sink ledger.Pseudonym
	b.Run("voprf_cached", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			sink = op.Of(fmt.Sprint("id:c", i%1000))
		}
	})
	_ = sink
}
