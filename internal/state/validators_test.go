package state

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
)

func testKey(seed byte) [32]byte {
	var k [32]byte
	copy(k[:], ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32)).Public().(ed25519.PublicKey))
	return k
}

// TestApplyChange: the rules a validator change is decided by, on a set
// of four organisations of power 10.
func TestApplyChange(t *testing.T) {
	t.Parallel()
	set := []Validator{{Org: "a", Key: testKey(1), Power: 10}, {Org: "b", Key: testKey(2), Power: 10}, {Org: "c", Key: testKey(3), Power: 10}, {Org: "d", Key: testKey(4), Power: 10}}
	cases := []struct {
		name   string
		vs     []Validator
		c      ledger.ValidatorChange
		refuse string // "" accepts
	}{
		{"join", set, ledger.ValidatorChange{Org: "e", Key: testKey(5), Power: 10}, ""},
		{"join_a_third", set, ledger.ValidatorChange{Org: "e", Key: testKey(5), Power: 14}, "a third or more"},
		{"join_with_anothers_key", set, ledger.ValidatorChange{Org: "e", Key: testKey(1), Power: 1}, `organisation "a"`},
		{"leave", set, ledger.ValidatorChange{Org: "a", Key: testKey(1)}, ""},
		{"leave_other_key", set, ledger.ValidatorChange{Org: "a", Key: testKey(9)}, "another"},
		{"leave_unknown", set, ledger.ValidatorChange{Org: "z", Key: testKey(9)}, "nothing to leave"},
		{"power_up", set, ledger.ValidatorChange{Org: "a", Key: testKey(1), Power: 23}, ""},
		{"power_same", set, ledger.ValidatorChange{Org: "a", Key: testKey(1), Power: 10}, "already has power"},
		{"last_leaves", set[:1], ledger.ValidatorChange{Org: "a", Key: testKey(1)}, "last validator"},
		{"rejoin_after_leave", append([]Validator{{Org: "0", Key: testKey(8), Power: 0}}, set...), ledger.ValidatorChange{Org: "0", Key: testKey(7), Power: 5}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			next, err := applyChange(tc.vs, &tc.c, 7)
			if tc.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refuse) {
					t.Fatalf("got %v, want a refusal with %q", err, tc.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for i, v := range next {
				if i > 0 && next[i-1].Org >= v.Org {
					t.Fatal("set not sorted by organisation")
				}
				if v.Org == tc.c.Org {
					found = v.Power == tc.c.Power && v.Key == tc.c.Key && v.Decided == 7
				}
			}
			if !found {
				t.Fatalf("the change is not in the set: %+v", next)
			}
		})
	}
}

// FuzzDecodeValidatorRecords: whatever decodes re-encodes to exactly the
// input, for the stored proposal, set and update records.
func FuzzDecodeValidatorRecords(f *testing.F) {
	p := &ValidatorProposal{ID: ledger.Hash{1}, Change: ledger.ValidatorChange{Org: "cdc", Key: testKey(1), Power: 10, Reason: "joins"},
		Required: [][32]byte{{2}, {3}}, Quorum: 2, Approvals: [][32]byte{{2}}, Proposed: 4}
	f.Add(uint8(0), encodeProposal(p))
	f.Add(uint8(1), encodeValidators([]Validator{{Org: "a", Key: testKey(1), Power: 10, Decided: 3}}))
	f.Add(uint8(2), encodeUpdates([]ValidatorUpdate{{Key: testKey(1), Power: 0}}))
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		var re []byte
		switch which % 3 {
		case 0:
			p, err := DecodeValidatorProposal(b)
			if err != nil {
				if p != nil {
					t.Fatal("error with a record")
				}
				return
			}
			re = encodeProposal(p)
		case 1:
			vs, err := DecodeValidators(b)
			if err != nil {
				if vs != nil {
					t.Fatal("error with a record")
				}
				return
			}
			re = encodeValidators(vs)
		case 2:
			us, err := DecodeValidatorUpdates(b)
			if err != nil {
				if us != nil {
					t.Fatal("error with a record")
				}
				return
			}
			re = encodeUpdates(us)
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("not canonical: %x re-encodes as %x", b, re)
		}
	})
}
