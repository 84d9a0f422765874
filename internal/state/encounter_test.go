package state_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

var (
	tagKey  = key("tag")
	tag2Key = key("tag2")
	carol   = ps("person/carol")
)

// meet builds an encounter with the persons in canonical order.
func meet(device string, a, b ledger.PersonRef, start int64, dur uint32) *ledger.Encounter {
	if ledger.RefLess(b, a) {
		a, b = b, a
	}
	return &ledger.Encounter{Device: device, A: a, B: b, Start: start, Duration: dur, DistanceCM: 120}
}

func devices() []*ledger.Tx {
	return []*ledger.Tx{regSite("tag", "device", "", tagKey), regSite("tag2", "device", "", tag2Key)}
}

func TestApplyEncounter(t *testing.T) {
	t.Parallel()
	at := now2 - 3600
	runApplyCases(t, []applyCase{
		{name: "two_persons_by_device", prior: devices(), txs: one(sign(meet("tag", direct(alice), direct(bob), at, 60), tagKey))},
		{name: "aliases_resolve", prior: devices(), txs: one(sign(meet("tag", alias(alicePhone), alias(bobPhone), at, 60), tagKey))},
		{name: "device_registered_in_same_block", txs: []*ledger.Tx{regSite("tag", "device", "", tagKey),
			sign(meet("tag", direct(alice), direct(bob), at, 60), tagKey)}},
		{name: "signed_by_other_device", prior: devices(), txs: one(sign(meet("tag", direct(alice), direct(bob), at, 60), tag2Key)),
			code: state.CodeWrongSigner, field: "device"},
		{name: "named_site_is_a_shop", txs: one(sign(meet("shop", direct(alice), direct(bob), at, 60), shopKey)),
			code: state.CodeWrongSigner, field: "device"},
		{name: "unknown_device", txs: one(sign(meet("tag9", direct(alice), direct(bob), at, 60), tagKey)),
			code: state.CodeUnknownSite, field: "device"},
		{name: "zero_duration", prior: devices(), txs: one(sign(meet("tag", direct(alice), direct(bob), at, 0), tagKey)),
			code: state.CodeInvalid, field: "duration"},
		{name: "duration_over_a_day", prior: devices(), txs: one(sign(meet("tag", direct(alice), direct(bob), at, state.MaxEncounter+1), tagKey)),
			code: state.CodeInvalid, field: "duration"},
		{name: "duration_a_day", prior: devices(), txs: one(sign(meet("tag", direct(alice), direct(bob), at, state.MaxEncounter), tagKey))},
		{name: "starts_an_hour_after_the_block", prior: devices(), txs: one(sign(meet("tag", direct(alice), direct(bob), now2+3600, 60), tagKey)),
			code: state.CodeInvalid, field: "start"},
		{name: "alias_of_the_same_person", prior: devices(), txs: one(sign(meet("tag", direct(alice), alias(alicePhone), at, 60), tagKey)),
			code: state.CodeInvalid, field: "b"},
		{name: "unbound_alias", prior: devices(), txs: one(sign(meet("tag", direct(alice), alias(unbound), at, 60), tagKey)),
			code: state.CodeUnknownAlias, field: "a"},
		{name: "replay", prior: append(devices(), sign(meet("tag", direct(alice), direct(bob), at, 60), tagKey)),
			txs: one(sign(meet("tag", direct(alice), direct(bob), at, 60), tagKey)), code: state.CodeReplay},
	})
}

// TestEncounterOrderIsCanonical: the same meeting with its persons swapped
// does not decode, so it cannot be recorded twice under two ids.
func TestEncounterOrderIsCanonical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		a, b ledger.PersonRef
		ok   bool
	}{
		{"alice_bob", direct(alice), direct(bob), true},
		{"bob_alice", direct(bob), direct(alice), false},
		{"same_ref_id_then_alias", direct(alice), alias(alice), true},
		{"same_ref_alias_then_id", alias(alice), direct(alice), false},
		{"same_person_twice", direct(alice), direct(alice), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tx := ledger.NewTx(&ledger.Encounter{Device: "tag", A: tc.a, B: tc.b, Start: 1, Duration: 2})
			tx.Sign(chainID, tagKey)
			_, err := ledger.DecodeTx(tx.Bytes())
			if tc.ok && err != nil {
				t.Fatalf("DecodeTx: %v", err)
			}
			if !tc.ok && !errors.Is(err, ledger.ErrNonCanonical) {
				t.Fatalf("DecodeTx = %v, want ErrNonCanonical", err)
			}
		})
	}
}

// TestEncounterIndexedForBothPersons: an accepted encounter is in both
// persons' indexes with the other person, the device and the times, and
// in no one else's; the state hash covers it.
func TestEncounterIndexedForBothPersons(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustBlock(append(world(), devices()...)...)
	at := blockTime(2) - 600
	tx := sign(meet("tag2", alias(bobPhone), direct(alice), at, 90), tag2Key)
	before := f.emptyHash()
	if h := f.mustBlock(tx); h == before {
		t.Fatal("the encounter did not change the state hash")
	}
	for _, c := range []struct {
		who, other ledger.Pseudonym
	}{{alice, bob}, {bob, alice}} {
		lo, hi := store.EncounterRange(c.who, at, at)
		var got []state.Encounter
		if err := f.db.Scan(lo, hi, func(k, v []byte) bool {
			var e state.Encounter
			if err := state.DecodeEncounterInto(k, v, &e); err != nil {
				t.Fatal(err)
			}
			got = append(got, e)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("%d encounters indexed, want 1", len(got))
		}
		e := got[0]
		if e.Person != c.who || e.Other != c.other || e.Start != at || e.End != at+90 || e.DistanceCM != 120 || e.TxID != tx.ID() || !e.Visible() {
			t.Fatalf("indexed %+v", e)
		}
		s, err := f.m.SiteByNum(f.db, e.Device)
		if err != nil || s.ID != "tag2" {
			t.Fatalf("device %d = %v, %v; want tag2", e.Device, s, err)
		}
	}
	lo, hi := store.EncounterRange(carol, at-state.MaxEncounter, at+state.MaxEncounter)
	if err := f.db.Scan(lo, hi, func(k, v []byte) bool { t.Fatal("carol has an encounter"); return false }); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeEncounterRejectsDamage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustBlock(append(world(), devices()...)...)
	f.mustBlock(sign(meet("tag", direct(alice), direct(bob), blockTime(2)-600, 90), tagKey))
	lo, hi := store.TablePrefix(store.TabEncounter)
	var k, v []byte
	f.db.Scan(lo, hi, func(kk, vv []byte) bool {
		k, v = append([]byte(nil), kk...), append([]byte(nil), vv...)
		return false
	})
	var e state.Encounter
	if err := state.DecodeEncounterInto(k, v, &e); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"truncated":     v[:len(v)-1],
		"trailing_byte": append(append([]byte(nil), v...), 0),
		"bad_status":    append(append([]byte(nil), v[:len(v)-1]...), 9),
		"end_before_start": func() []byte {
			b := append([]byte(nil), v...)
			copy(b[44:52], b[36:44]) // end = start
			return b
		}(),
	} {
		if err := state.DecodeEncounterInto(k, bad, &e); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestDecodePresenceCoreAgrees: the allocation-free decoder reads the same
// fields as DecodePresenceInto from every presence entry of a block, and
// refuses damage.
func TestDecodePresenceCoreAgrees(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(sign(visit("shop", alias(alicePhone), now2-7200, now2-3600), shopKey),
		sign(&ledger.Visit{Site: "shop", Person: direct(bob), In: now2 - 5000, Out: now2 - 100, Via: strings.Repeat("v", 32), Role: "staff"}, shopKey),
		sign(move(direct(bob), "st-a", "st-b", now2-90, now2-10), stAKey, stBKey))
	n := 0
	for _, tab := range []byte{store.TabPerson, store.TabSiteIdx} {
		lo, hi := store.TablePrefix(tab)
		f.db.Scan(lo, hi, func(k, v []byte) bool {
			n++
			var full state.Presence
			var core state.PresenceCore
			if err := state.DecodePresenceInto(v, &full); err != nil {
				t.Fatal(err)
			}
			if err := state.DecodePresenceCore(v, &core); err != nil {
				t.Fatal(err)
			}
			want := state.PresenceCore{Kind: full.Kind, Site: full.Site, Person: full.Person, In: full.In, Out: full.Out, TxID: full.TxID, Status: full.Status}
			if core != want {
				t.Fatalf("core %+v, want %+v", core, want)
			}
			for _, bad := range [][]byte{v[:len(v)-1], append(append([]byte(nil), v...), 0)} {
				if err := state.DecodePresenceCore(bad, &core); !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("damaged entry: %v", err)
				}
			}
			return true
		})
	}
	if n != 5 {
		t.Fatalf("%d entries, want 5 (2 visits twice, 1 move)", n)
	}
}
