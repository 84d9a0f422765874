package state_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/attest"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// Attesters: a newsroom (a node's key), a hospital, the CDC (an
// investigator), an auditor; and a key no one granted a role.
var (
	newsroomKey = key("newsroom")
	auditorKey  = key("auditor")
	rumourMill  = key("rumour mill")
)

var attestClock int64 = 1_579_000_000

// attestOf is k's attestation of content (a fresh time each, so that no
// two are the same transaction).
func attestOf(k ed25519.PrivateKey, content ledger.Hash) *ledger.Tx {
	attestClock++
	return sign(&ledger.Attestation{Content: content, Kind_: ledger.AttestNews, Source: "https://example.org/post/1", Time: attestClock, By: pub(k)}, k)
}

// TestAttestations: the state keeps a content's attestations in block
// order, then in their order within a block, so that the first is its
// first publisher; a key with no role (or one granted in the same block,
// or revoked) is refused, as is a key's second attestation of a content
// and a replay; listings are bounded; and attest.Check, run on what the
// state lists, names the same first.
func TestAttestations(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(world()...)
	f.mustBlock(grantTx(newsroomKey, ledger.RoleNode), grantTx(jinyintanKey, ledger.RoleHospital), grantTx(cdcKey, ledger.RoleInvestigator),
		grantTx(auditorKey, ledger.RoleAuditor))
	rumour, video := ledger.Hash(sha256.Sum256([]byte("a SARS-like pneumonia in Wuhan"))), ledger.Hash(sha256.Sum256([]byte("a video")))
	byID := map[ledger.Hash]*ledger.Tx{}
	mustBlock := func(txs ...*ledger.Tx) {
		t.Helper()
		f.mustBlock(txs...)
		for _, tx := range txs {
			byID[tx.ID()] = tx
		}
	}
	// Across blocks, then within one: the newsroom first, then the CDC
	// before the hospital (the CDC's transaction comes first in the block,
	// though it says a later time).
	first := attestOf(newsroomKey, rumour)
	mustBlock(first)
	hosp, cdc := attestOf(jinyintanKey, rumour), attestOf(cdcKey, rumour)
	mustBlock(cdc, hosp)
	// Within one block, for another content: the hospital before the
	// newsroom.
	mustBlock(attestOf(jinyintanKey, video), attestOf(newsroomKey, video))

	late := key("late granted")
	revoked := sign(&ledger.GrantRole{Key: pub(auditorKey), Role: ledger.RoleNone}, authKey)
	mustBlock(revoked)
	// An hour after the blocks below, beyond the skew the rules allow.
	hour := blockTime(f.height+60) + int64(state.DefaultParams().MaxFutureSkew/time.Second)
	future := sign(&ledger.Attestation{Content: ledger.Hash{9}, Kind_: ledger.AttestOther, Time: hour, By: pub(cdcKey)}, cdcKey)
	borrowed := sign(&ledger.Attestation{Content: rumour, Kind_: ledger.AttestNews, Time: 1, By: pub(newsroomKey)}, cdcKey)
	for _, tc := range []struct {
		name        string
		txs         []*ledger.Tx // the last is the one checked
		code, field string
	}{
		{"a_key_with_no_role", one(attestOf(rumourMill, rumour)), state.CodeWrongSigner, "signature"},
		{"a_key_granted_in_the_same_block", []*ledger.Tx{grantTx(late, ledger.RoleHospital), attestOf(late, rumour)}, state.CodeWrongSigner, "signature"},
		{"a_revoked_key", one(attestOf(auditorKey, rumour)), state.CodeWrongSigner, "signature"},
		{"another_key_named", one(borrowed), state.CodeWrongSigner, "by"},
		{"a_replay", one(first), state.CodeReplay, ""},
		{"a_second_attestation_by_the_same_key", one(attestOf(newsroomKey, rumour)), state.CodeConflict, "content"},
		{"twice_by_one_key_in_one_block", []*ledger.Tx{attestOf(cdcKey, ledger.Hash{7}), attestOf(cdcKey, ledger.Hash{7})}, state.CodeConflict, "content"},
		{"a_time_after_the_block", one(future), state.CodeInvalid, "time"},
		{"a_zero_content", one(attestOf(cdcKey, ledger.Hash{})), state.CodeInvalid, "content"},
	} {
		errs, _ := f.block(tc.txs)
		t.Run(tc.name, func(t *testing.T) {
			for i, err := range errs[:len(errs)-1] {
				checkResult(t, err, "", "") // the setup
				byID[tc.txs[i].ID()] = tc.txs[i]
			}
			checkResult(t, errs[len(errs)-1], tc.code, tc.field)
		})
	}
	// The late key may attest from the block after its grant.
	mustBlock(attestOf(late, rumour))

	want := map[ledger.Hash][]ed25519.PrivateKey{rumour: {newsroomKey, cdcKey, jinyintanKey, late}, video: {jinyintanKey, newsroomKey}}
	for content, keys := range want {
		got, more, err := state.Attestations(f.db, content, 100)
		if err != nil || more || len(got) != len(keys) {
			t.Fatalf("%x: %d attestations (more %v) %v, want %d", content[:4], len(got), more, err, len(keys))
		}
		var entries []attest.Entry
		for i, a := range got {
			if a.Signer != pub(keys[i]) {
				t.Errorf("%x: attestation %d by another key", content[:4], i)
			}
			if i > 0 && (a.Height < got[i-1].Height || a.Height == got[i-1].Height && a.Seq <= got[i-1].Seq) {
				t.Errorf("%x: attestation %d out of block order", content[:4], i)
			}
			entries = append(entries, attest.Entry{Tx: byID[a.Tx], Height: a.Height, Index: uint64(a.Seq)})
		}
		if b, err := attest.Check(content, entries); err != nil || b == nil || b.By != pub(keys[0]) {
			t.Errorf("%x: attest.Check on the state's list: %+v, %v", content[:4], b, err)
		}
	}
	// Bounded: a listing stops at its bound and says there is more.
	for _, tc := range []struct {
		max  int
		n    int
		more bool
	}{{1, 1, true}, {3, 3, true}, {4, 4, false}, {5, 4, false}} {
		got, more, err := state.Attestations(f.db, rumour, tc.max)
		if err != nil || len(got) != tc.n || more != tc.more || got[0].Tx != first.ID() {
			t.Errorf("at most %d: %d listed, more %v, %v; want %d, more %v, the first first", tc.max, len(got), more, err, tc.n, tc.more)
		}
	}
	if got, more, err := state.Attestations(f.db, ledger.Hash{8}, 10); err != nil || more || len(got) != 0 {
		t.Errorf("a content no one attested: %d, %v, %v", len(got), more, err)
	}
}
