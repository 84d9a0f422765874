package attest_test

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/attest"
	"github.com/epiledger/epiledger/internal/ledger"
)

var (
	newsroom = ed25519.NewKeyFromSeed(make([]byte, 32))
	hospital = ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	rumour   = ledger.Hash{0x52}
)

// signed is b signed by k, naming k (unless b names a key already).
func signed(k ed25519.PrivateKey, b *ledger.Attestation) *ledger.Tx {
	if b.By == ([32]byte{}) {
		b.By = [32]byte(k.Public().(ed25519.PublicKey))
	}
	tx := ledger.NewTx(b)
	tx.Sign("c", k)
	return tx
}

// TestCheck: an answer's attestations are of its content, each naming
// its signer, no key twice, in chain order; the first is returned.
func TestCheck(t *testing.T) {
	t.Parallel()
	first := signed(newsroom, &ledger.Attestation{Content: rumour, Kind_: ledger.AttestNews, Source: "https://example.org/a", Time: 1})
	second := signed(hospital, &ledger.Attestation{Content: rumour, Kind_: ledger.AttestNews, Time: 2})
	other := signed(hospital, &ledger.Attestation{Content: ledger.Hash{1}, Kind_: ledger.AttestNews, Time: 2})
	again := signed(newsroom, &ledger.Attestation{Content: rumour, Kind_: ledger.AttestNews, Time: 3})
	borrowed := signed(hospital, &ledger.Attestation{Content: rumour, Kind_: ledger.AttestNews, Time: 4, By: [32]byte(newsroom.Public().(ed25519.PublicKey))})
	need := ledger.NewTx(&ledger.SupplyNeed{GTIN: "10614141073464", Units: 1, Urgency: "urgent", Time: 1})
	need.Sign("c", hospital)
	for _, tc := range []struct {
		name    string
		entries []attest.Entry
		want    *ledger.Tx // the first; nil with err
		err     string
	}{
		{"none", nil, nil, ""},
		{"two_blocks", []attest.Entry{{first, 5, 0}, {second, 6, 0}}, first, ""},
		{"one_block", []attest.Entry{{first, 5, 0}, {second, 5, 1}}, first, ""},
		{"one_block_reversed", []attest.Entry{{second, 5, 0}, {first, 5, 1}}, second, ""},
		{"blocks_out_of_order", []attest.Entry{{first, 6, 0}, {second, 5, 3}}, nil, "out of chain order"},
		{"leaves_out_of_order", []attest.Entry{{first, 5, 1}, {second, 5, 0}}, nil, "out of chain order"},
		{"the_same_leaf_twice", []attest.Entry{{first, 5, 0}, {second, 5, 0}}, nil, "out of chain order"},
		{"another_content", []attest.Entry{{first, 5, 0}, {other, 6, 0}}, nil, "another content"},
		{"a_key_twice", []attest.Entry{{first, 5, 0}, {again, 6, 0}}, nil, "attested the content before"},
		{"another_key_named", []attest.Entry{{borrowed, 5, 0}}, nil, "another key"},
		{"not_an_attestation", []attest.Entry{{need, 5, 0}}, nil, "not an attestation"},
		{"no_transaction", []attest.Entry{{nil, 5, 0}}, nil, "no transaction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := attest.Check(rumour, tc.entries)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Check = %v, want an error saying %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tc.want == nil && got != nil:
				t.Fatalf("Check = %+v, want none", got)
			case tc.want != nil && (got == nil || got != tc.want.Body):
				t.Fatalf("Check = %+v, want %+v", got, tc.want.Body)
			}
		})
	}
}

// FuzzCheck: attest check runs Check on whatever transactions a file's
// proofs hold, at whatever places they claim: it must never panic, must
// give the same answer twice, and what it accepts is in chain order with
// its first entry first.
func FuzzCheck(f *testing.F) {
	for i, k := range []ed25519.PrivateKey{newsroom, hospital} {
		tx := signed(k, &ledger.Attestation{Content: rumour, Kind_: ledger.AttestationKinds[i], Source: "s", Time: int64(i)})
		f.Add(tx.Bytes(), tx.Bytes(), uint64(1), uint64(0), uint64(1), uint64(1))
	}
	a := signed(newsroom, &ledger.Attestation{Content: rumour, Kind_: ledger.AttestNews, Time: 1})
	b := signed(hospital, &ledger.Attestation{Content: rumour, Kind_: ledger.AttestNews, Time: 1})
	f.Add(a.Bytes(), b.Bytes(), uint64(7), uint64(2), uint64(7), uint64(1))
	f.Fuzz(func(t *testing.T, x, y []byte, hx, ix, hy, iy uint64) {
		var entries []attest.Entry
		for _, e := range []struct {
			raw     []byte
			h, leaf uint64
		}{{x, hx, ix}, {y, hy, iy}} {
			if tx, err := ledger.DecodeTx(e.raw); err == nil {
				entries = append(entries, attest.Entry{Tx: tx, Height: e.h, Index: e.leaf})
			}
		}
		c := rumour
		if len(entries) > 0 {
			if b, ok := entries[0].Tx.Body.(*ledger.Attestation); ok {
				c = b.Content
			}
		}
		first, err := attest.Check(c, entries)
		again, err2 := attest.Check(c, entries)
		if (err == nil) != (err2 == nil) || first != again {
			t.Fatalf("two checks differ: %v, %v", err, err2)
		}
		if err != nil {
			return
		}
		if len(entries) > 0 && first != entries[0].Tx.Body {
			t.Fatal("the first accepted is not the first entry")
		}
		if len(entries) == 2 && (entries[0].Height > entries[1].Height || entries[0].Height == entries[1].Height && entries[0].Index >= entries[1].Index) {
			t.Fatal("accepted out of chain order")
		}
	})
}
