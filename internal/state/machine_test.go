package state_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

const chainID = "epiledger-test"

// t0 is the genesis time, Unix seconds. Block h has time t0 + h minutes.
const t0 = int64(1_580_000_000)

func blockTime(height uint64) int64 { return t0 + int64(height)*60 }

// key derives a fixed test key from a name.
func key(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("epiledger-test-key/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pub(k ed25519.PrivateKey) (p [32]byte) {
	copy(p[:], k.Public().(ed25519.PublicKey))
	return p
}

var (
	authKey    = key("authority")
	hospKey    = key("hosp")
	clinicKey  = key("clinic")
	shopKey    = key("shop")
	shop2Key   = key("shop2")
	stAKey     = key("st-a")
	stBKey     = key("st-b")
	newSiteKey = key("new")
)

// ps is a readable pseudonym: the bytes of s, zero padded. Ordering of
// pseudonyms is the ordering of the strings.
func ps(s string) ledger.Pseudonym {
	var p ledger.Pseudonym
	if len(s) > len(p) {
		panic("ps: name too long")
	}
	copy(p[:], s)
	return p
}

var (
	alice      = ps("person/alice")
	bob        = ps("person/bob")
	alicePhone = ps("alias/alice-phone")
	bobPhone   = ps("alias/bob-phone")
	unbound    = ps("alias/nobody")
)

func direct(p ledger.Pseudonym) ledger.PersonRef { return ledger.PersonRef{Ref: p} }
func alias(p ledger.Pseudonym) ledger.PersonRef  { return ledger.PersonRef{Ref: p, Alias: true} }

// sign signs b with keys in order and returns the transaction as the engine
// sees it: decoded from its canonical bytes.
func sign(b ledger.Body, keys ...ed25519.PrivateKey) *ledger.Tx {
	tx := ledger.NewTx(b)
	for _, k := range keys {
		tx.Sign(chainID, k)
	}
	d, err := ledger.DecodeTx(tx.Bytes())
	if err != nil {
		panic("test transaction is not canonical: " + err.Error())
	}
	return d
}

func site(id, kind, parent string, k ed25519.PrivateKey) *ledger.RegisterSite {
	return &ledger.RegisterSite{Site: id, Kind_: kind, Name: "the " + id, LatE6: 30_590_000, LonE6: 114_300_000,
		Region: "420100", Parent: parent, Key: pub(k)}
}

func regSite(id, kind, parent string, k ed25519.PrivateKey) *ledger.Tx {
	return sign(site(id, kind, parent, k), authKey)
}

func bind(person ledger.Pseudonym, aliases ...ledger.Pseudonym) *ledger.BindIdentity {
	return &ledger.BindIdentity{Person: person, Aliases: aliases}
}

func visit(siteID string, who ledger.PersonRef, in, out int64) *ledger.Visit {
	return &ledger.Visit{Site: siteID, Person: who, In: in, Out: out, Via: "qr", Role: "customer"}
}

func move(who ledger.PersonRef, from, to string, depart, arrive int64) *ledger.Move {
	return &ledger.Move{Person: who, From: from, To: to, Depart: depart, Arrive: arrive, Via: "train"}
}

func report(who ledger.PersonRef, status, onset, by string, reported int64) *ledger.Case {
	return &ledger.Case{Person: who, Status: status, Onset: onset, Reported: reported, By: by}
}

// world is block 1 of every fixture: a few sites and two bound persons.
func world() []*ledger.Tx {
	return []*ledger.Tx{
		regSite("hosp", "hospital", "", hospKey),
		regSite("clinic", "clinic", "", clinicKey),
		regSite("shop", "shop", "", shopKey),
		regSite("shop2", "shop", "", shop2Key),
		regSite("st-a", "station", "", stAKey),
		regSite("st-b", "station", "", stBKey),
		sign(bind(alice, alicePhone), authKey),
		sign(bind(bob, bobPhone), authKey),
	}
}

// fixture drives one machine over one store, block by block.
type fixture struct {
	t      testing.TB
	db     *store.DB
	gen    state.Genesis
	m      *state.Machine
	height uint64
	hashes []ledger.Hash // hashes[h] is the state hash after block h; [0] is the genesis hash
	// skew moves the blocks from here on later than blockTime (seconds):
	// days apart, for the daily counts.
	skew int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// A legacy genesis (its hash without the rules): the state hashes
	// TestStateHashKnownAnswer pins start from it, and stay what they were
	// before the rules moved into the genesis.
	gen := state.Genesis{ChainID: chainID, Region: "420100", Authority: pub(authKey), Time: t0, Params: state.DefaultParams(), LegacyRules: true}
	return &fixture{t: t, db: db, gen: gen, m: state.New(db, gen), hashes: []ledger.Hash{gen.Hash()}}
}

func (f *fixture) prev() ledger.Hash { return f.hashes[len(f.hashes)-1] }

// block applies txs as the next block, commits it and returns each tx's
// Apply result and the new state hash. sigErrs, if given, pairs with txs.
// A store failure ends the test.
func (f *fixture) block(txs []*ledger.Tx, sigErrs ...error) ([]error, ledger.Hash) {
	f.t.Helper()
	f.height++
	b := f.db.NewBatch()
	blk, err := f.m.Begin(b, f.height, (blockTime(f.height)+f.skew)*1e9)
	if err != nil {
		f.t.Fatal(err)
	}
	errs := make([]error, len(txs))
	for i, tx := range txs {
		var sigErr error
		if i < len(sigErrs) {
			sigErr = sigErrs[i]
		}
		errs[i] = blk.Apply(tx, sigErr)
		if _, ok := state.IsRejection(errs[i]); errs[i] != nil && !ok {
			f.t.Fatalf("block %d tx %d: store failure: %v", f.height, i, errs[i])
		}
	}
	h, err := blk.Finish(f.prev())
	if err != nil {
		f.t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		f.t.Fatal(err)
	}
	blk.Committed()
	f.hashes = append(f.hashes, h)
	return errs, h
}

// mustBlock applies a block in which every tx must be accepted.
func (f *fixture) mustBlock(txs ...*ledger.Tx) ledger.Hash {
	f.t.Helper()
	errs, h := f.block(txs)
	for i, err := range errs {
		if err != nil {
			f.t.Fatalf("block %d tx %d (%s): %v", f.height, i, txs[i].Body.Kind(), err)
		}
	}
	return h
}

// emptyHash is the state hash an empty block at the next height would give,
// computed on a batch that is then discarded.
func (f *fixture) emptyHash() ledger.Hash {
	f.t.Helper()
	b := f.db.NewBatch()
	defer b.Discard()
	blk, err := f.m.Begin(b, f.height+1, blockTime(f.height+1)*1e9)
	if err != nil {
		f.t.Fatal(err)
	}
	h, err := blk.Finish(f.prev())
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// dump is every key and value in the store, in order.
func (f *fixture) dump() [][2]string {
	f.t.Helper()
	var out [][2]string
	if err := f.db.Scan([]byte{0}, []byte{0xff}, func(k, v []byte) bool {
		out = append(out, [2]string{string(k), string(v)})
		return true
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func checkResult(t *testing.T, err error, code, field string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("Apply = %v, want accepted", err)
		}
		return
	}
	rej, ok := state.IsRejection(err)
	if !ok {
		t.Fatalf("Apply = %v, want rejection %s (field %q)", err, code, field)
	}
	if rej.Code != code || rej.Field != field {
		t.Fatalf("Apply = %s/%q (%v), want %s/%q", rej.Code, rej.Field, rej, code, field)
	}
}

// now2 is the time of block 2, the block in which most cases are applied.
var now2 = blockTime(2)

type applyCase struct {
	name  string
	prior []*ledger.Tx // applied as its own block after the world, all accepted
	txs   []*ledger.Tx // applied in one block; all but the last must be accepted
	// sigErr is the signature check result passed with the last tx.
	sigErr error
	code   string // "" means accepted
	field  string
}

func runApplyCases(t *testing.T, cases []applyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.mustBlock(world()...)
			if len(tc.prior) > 0 {
				f.mustBlock(tc.prior...)
			}
			sigErrs := make([]error, len(tc.txs))
			sigErrs[len(sigErrs)-1] = tc.sigErr
			errs, _ := f.block(tc.txs, sigErrs...)
			for i, err := range errs[:len(errs)-1] {
				if err != nil {
					t.Fatalf("setup tx %d (%s): %v", i, tc.txs[i].Body.Kind(), err)
				}
			}
			checkResult(t, errs[len(errs)-1], tc.code, tc.field)
		})
	}
}

func one(tx *ledger.Tx) []*ledger.Tx { return []*ledger.Tx{tx} }

func TestApplyRegisterSite(t *testing.T) {
	t.Parallel()
	withLatLon := func(lat, lon int32) *ledger.Tx {
		s := site("geo", "shop", "", newSiteKey)
		s.LatE6, s.LonE6 = lat, lon
		return sign(s, authKey)
	}
	runApplyCases(t, []applyCase{
		{name: "new_shop_by_authority", txs: one(regSite("new", "shop", "", newSiteKey))},
		{name: "new_shop_by_shop_key", txs: one(sign(site("new", "shop", "", newSiteKey), shopKey)),
			code: state.CodeWrongSigner, field: "signature"},
		{name: "new_shop_by_its_own_key", txs: one(sign(site("new", "shop", "", newSiteKey), newSiteKey)),
			code: state.CodeWrongSigner, field: "signature"},
		{name: "duplicate_id_shop", txs: one(regSite("shop", "restaurant", "", newSiteKey)),
			code: state.CodeConflict, field: "site"},
		{name: "duplicate_id_in_same_block", txs: []*ledger.Tx{
			regSite("new", "shop", "", newSiteKey), regSite("new", "venue", "", newSiteKey)},
			code: state.CodeConflict, field: "site"},
		{name: "duplicate_id_from_prior_block", prior: one(regSite("new", "shop", "", newSiteKey)),
			txs: one(regSite("new", "venue", "", newSiteKey)), code: state.CodeConflict, field: "site"},
		{name: "empty_id", txs: one(regSite("", "shop", "", newSiteKey)), code: state.CodeInvalid, field: "site"},
		{name: "id_64_bytes", txs: one(regSite(strings.Repeat("x", 64), "shop", "", newSiteKey))},
		{name: "id_65_bytes", txs: one(regSite(strings.Repeat("x", 65), "shop", "", newSiteKey)),
			code: state.CodeInvalid, field: "site"},
		{name: "kind_spaceship", txs: one(regSite("new", "spaceship", "", newSiteKey)), code: state.CodeInvalid, field: "kind"},
		{name: "kind_empty", txs: one(regSite("new", "", "", newSiteKey)), code: state.CodeInvalid, field: "kind"},
		{name: "kind_Shop_upper_case", txs: one(regSite("new", "Shop", "", newSiteKey)), code: state.CodeInvalid, field: "kind"},
		{name: "kind_train_carriage", txs: one(regSite("new", "train_carriage", "", newSiteKey))},
		{name: "parent_unregistered", txs: one(regSite("new", "shop", "mall-x", newSiteKey)),
			code: state.CodeUnknownSite, field: "parent"},
		{name: "parent_itself", txs: one(regSite("new", "shop", "new", newSiteKey)),
			code: state.CodeUnknownSite, field: "parent"},
		{name: "parent_registered_earlier", txs: one(regSite("new", "shop", "shop2", newSiteKey))},
		{name: "parent_registered_in_prior_block", prior: one(regSite("mall", "mall", "", key("mall"))),
			txs: one(regSite("new", "shop", "mall", newSiteKey))},
		{name: "parent_registered_in_same_block", txs: []*ledger.Tx{
			regSite("mall", "mall", "", key("mall")), regSite("new", "shop", "mall", newSiteKey)}},
		{name: "lat_90000000_lon_180000000", txs: one(withLatLon(90e6, 180e6))},
		{name: "lat_-90000000_lon_-180000000", txs: one(withLatLon(-90e6, -180e6))},
		{name: "lat_90000001", txs: one(withLatLon(90e6+1, 0)), code: state.CodeInvalid, field: "lat"},
		{name: "lat_-90000001", txs: one(withLatLon(-90e6-1, 0)), code: state.CodeInvalid, field: "lat"},
		{name: "lat_max_int32", txs: one(withLatLon(math.MaxInt32, 0)), code: state.CodeInvalid, field: "lat"},
		{name: "lon_180000001", txs: one(withLatLon(0, 180e6+1)), code: state.CodeInvalid, field: "lon"},
		{name: "lon_-180000001", txs: one(withLatLon(0, -180e6-1)), code: state.CodeInvalid, field: "lon"},
	})
}

func TestApplyBindIdentity(t *testing.T) {
	t.Parallel()
	carol := ps("person/carol")
	runApplyCases(t, []applyCase{
		{name: "new_person_new_alias", txs: one(sign(bind(carol, ps("alias/carol-phone")), authKey))},
		{name: "new_alias_for_alice", txs: one(sign(bind(alice, ps("alias/alice-plate")), authKey))},
		{name: "no_aliases", txs: one(sign(bind(carol), authKey))},
		{name: "bob_phone_to_alice", txs: one(sign(bind(alice, bobPhone), authKey)),
			code: state.CodeConflict, field: "aliases[0]"},
		{name: "second_alias_bob_phone_to_alice", txs: one(sign(bind(alice, alicePhone, bobPhone), authKey)),
			code: state.CodeConflict, field: "aliases[1]"},
		{name: "alias_bound_earlier_in_same_block_to_carol", txs: []*ledger.Tx{
			sign(bind(carol, ps("alias/shared")), authKey), sign(bind(alice, ps("alias/shared")), authKey)},
			code: state.CodeConflict, field: "aliases[0]"},
		{name: "alice_phone_to_alice_again", txs: one(sign(bind(alice, alicePhone, ps("alias/alice-plate")), authKey))},
		{name: "alice_to_alice", txs: one(sign(bind(alice, alice), authKey)),
			code: state.CodeInvalid, field: "aliases[0]"},
		{name: "alice_to_alice_as_second_alias", txs: one(sign(bind(alice, alicePhone, alice), authKey)),
			code: state.CodeInvalid, field: "aliases[1]"},
		{name: "by_hosp_key", txs: one(sign(bind(carol, ps("alias/carol-phone")), hospKey)),
			code: state.CodeWrongSigner, field: "signature"},
		{name: "bad_signature", txs: one(sign(bind(carol, ps("alias/carol-phone")), authKey)),
			sigErr: ledger.ErrBadSignature, code: state.CodeBadSignature, field: "signature"},
	})
}

func TestApplyVisit(t *testing.T) {
	t.Parallel()
	ok := sign(visit("shop", direct(alice), now2-3600, now2-1800), shopKey)
	max := int64(state.DefaultParams().MaxPresence / time.Second)
	skew := int64(state.DefaultParams().MaxFutureSkew / time.Second)
	runApplyCases(t, []applyCase{
		{name: "alice_at_shop_by_shop_key", txs: one(ok)},
		{name: "alice_phone_at_shop", txs: one(sign(visit("shop", alias(alicePhone), now2-60, now2), shopKey))},
		{name: "unbound_alias", txs: one(sign(visit("shop", alias(unbound), now2-60, now2), shopKey)),
			code: state.CodeUnknownAlias, field: "person"},
		{name: "alice_pseudonym_marked_alias", txs: one(sign(visit("shop", alias(alice), now2-60, now2), shopKey)),
			code: state.CodeUnknownAlias, field: "person"},
		{name: "unregistered_site", txs: one(sign(visit("nowhere", direct(alice), now2-60, now2), shopKey)),
			code: state.CodeUnknownSite, field: "site"},
		{name: "shop_signed_by_shop2_key", txs: one(sign(visit("shop", direct(alice), now2-60, now2), shop2Key)),
			code: state.CodeWrongSigner, field: "site"},
		{name: "shop_signed_by_authority", txs: one(sign(visit("shop", direct(alice), now2-60, now2), authKey)),
			code: state.CodeWrongSigner, field: "site"},
		{name: "site_registered_in_same_block", txs: []*ledger.Tx{
			regSite("new", "bus", "", newSiteKey), sign(visit("new", direct(alice), now2-60, now2), newSiteKey)}},
		{name: "site_registered_in_prior_block", prior: one(regSite("new", "bus", "", newSiteKey)),
			txs: one(sign(visit("new", direct(alice), now2-60, now2), newSiteKey))},
		{name: "out_equals_in", txs: one(sign(visit("shop", direct(alice), now2, now2), shopKey))},
		{name: "out_1s_before_in", txs: one(sign(visit("shop", direct(alice), now2, now2-1), shopKey)),
			code: state.CodeInvalid, field: "out"},
		{name: "presence_max", txs: one(sign(visit("shop", direct(alice), now2-max, now2), shopKey))},
		{name: "presence_max_plus_1s", txs: one(sign(visit("shop", direct(alice), now2-max-1, now2), shopKey)),
			code: state.CodeInvalid, field: "out"},
		{name: "presence_1e10s", txs: one(sign(visit("shop", direct(alice), now2, now2+1e10), shopKey)),
			code: state.CodeInvalid, field: "out"},
		{name: "in_min_int64_out_max_int64", txs: one(sign(visit("shop", direct(alice), math.MinInt64, math.MaxInt64), shopKey)),
			code: state.CodeInvalid, field: "in"},
		{name: "in_at_max_future_skew", txs: one(sign(visit("shop", direct(alice), now2+skew, now2+skew), shopKey))},
		{name: "in_1s_past_max_future_skew", txs: one(sign(visit("shop", direct(alice), now2+skew+1, now2+skew+1), shopKey)),
			code: state.CodeInvalid, field: "in"},
		{name: "in_1e10s_after_block", txs: one(sign(visit("shop", direct(alice), now2+1e10, now2+1e10), shopKey)),
			code: state.CodeInvalid, field: "in"},
		{name: "replay_in_same_block", txs: []*ledger.Tx{ok, ok}, code: state.CodeReplay},
		{name: "replay_in_later_block", prior: one(ok), txs: one(ok), code: state.CodeReplay},
		{name: "replay_signed_by_shop2_key", prior: one(ok),
			txs:  one(sign(visit("shop", direct(alice), now2-3600, now2-1800), shop2Key)),
			code: state.CodeReplay},
		{name: "bad_signature", txs: one(ok), sigErr: ledger.ErrBadSignature,
			code: state.CodeBadSignature, field: "signature"},
		{name: "bad_signature_on_replay", prior: one(ok), txs: one(ok), sigErr: errors.New("any"),
			code: state.CodeBadSignature, field: "signature"},
	})
}

func TestApplyMove(t *testing.T) {
	t.Parallel()
	skew := int64(state.DefaultParams().MaxFutureSkew / time.Second)
	mv := move(direct(alice), "st-a", "st-b", now2-3600, now2-60)
	runApplyCases(t, []applyCase{
		{name: "signed_by_from_then_to", txs: one(sign(mv, stAKey, stBKey))},
		{name: "alice_phone_signed_by_from_then_to",
			txs: one(sign(move(alias(alicePhone), "st-a", "st-b", now2-60, now2), stAKey, stBKey))},
		{name: "signed_by_to_then_from", txs: one(sign(mv, stBKey, stAKey)),
			code: state.CodeWrongSigner, field: "from"},
		{name: "signed_by_from_then_shop", txs: one(sign(mv, stAKey, shopKey)),
			code: state.CodeWrongSigner, field: "to"},
		{name: "signed_by_from_twice", txs: one(sign(mv, stAKey, stAKey)),
			code: state.CodeWrongSigner, field: "to"},
		{name: "from_unregistered", txs: one(sign(move(direct(alice), "nowhere", "st-b", now2-60, now2), stAKey, stBKey)),
			code: state.CodeUnknownSite, field: "from"},
		{name: "to_unregistered", txs: one(sign(move(direct(alice), "st-a", "nowhere", now2-60, now2), stAKey, stBKey)),
			code: state.CodeUnknownSite, field: "to"},
		{name: "arrive_1s_before_depart", txs: one(sign(move(direct(alice), "st-a", "st-b", now2, now2-1), stAKey, stBKey)),
			code: state.CodeInvalid, field: "arrive"},
		{name: "arrive_equals_depart", txs: one(sign(move(direct(alice), "st-a", "st-b", now2, now2), stAKey, stBKey))},
		{name: "depart_1s_past_max_future_skew",
			txs:  one(sign(move(direct(alice), "st-a", "st-b", now2+skew+1, now2+skew+1), stAKey, stBKey)),
			code: state.CodeInvalid, field: "depart"},
		{name: "unbound_alias", txs: one(sign(move(alias(unbound), "st-a", "st-b", now2-60, now2), stAKey, stBKey)),
			code: state.CodeUnknownAlias, field: "person"},
		{name: "replay", prior: one(sign(mv, stAKey, stBKey)), txs: one(sign(mv, stAKey, stBKey)), code: state.CodeReplay},
	})
}

func TestApplyCase(t *testing.T) {
	t.Parallel()
	skew := int64(state.DefaultParams().MaxFutureSkew / time.Second)
	runApplyCases(t, []applyCase{
		{name: "confirmed_by_hospital", txs: one(sign(report(direct(alice), "confirmed", "2020-01-20", "hosp", now2), hospKey))},
		{name: "suspected_by_clinic", txs: one(sign(report(direct(alice), "suspected", "", "clinic", now2), clinicKey))},
		{name: "confirmed_alice_phone", txs: one(sign(report(alias(alicePhone), "confirmed", "", "hosp", now2), hospKey))},
		{name: "by_shop", txs: one(sign(report(direct(alice), "confirmed", "", "shop", now2), shopKey)),
			code: state.CodeWrongSigner, field: "by"},
		{name: "by_hosp_signed_by_shop_key", txs: one(sign(report(direct(alice), "confirmed", "", "hosp", now2), shopKey)),
			code: state.CodeWrongSigner, field: "by"},
		{name: "by_unregistered", txs: one(sign(report(direct(alice), "confirmed", "", "nowhere", now2), hospKey)),
			code: state.CodeUnknownSite, field: "by"},
		{name: "status_sick", txs: one(sign(report(direct(alice), "sick", "", "hosp", now2), hospKey)),
			code: state.CodeInvalid, field: "status"},
		{name: "status_empty", txs: one(sign(report(direct(alice), "", "", "hosp", now2), hospKey)),
			code: state.CodeInvalid, field: "status"},
		{name: "status_Confirmed", txs: one(sign(report(direct(alice), "Confirmed", "", "hosp", now2), hospKey)),
			code: state.CodeInvalid, field: "status"},
		{name: "onset_2020-13-01", txs: one(sign(report(direct(alice), "confirmed", "2020-13-01", "hosp", now2), hospKey)),
			code: state.CodeInvalid, field: "onset"},
		{name: "onset_2020-02-30", txs: one(sign(report(direct(alice), "confirmed", "2020-02-30", "hosp", now2), hospKey)),
			code: state.CodeInvalid, field: "onset"},
		{name: "onset_20200120", txs: one(sign(report(direct(alice), "confirmed", "20200120", "hosp", now2), hospKey)),
			code: state.CodeInvalid, field: "onset"},
		{name: "onset_2020-1-2", txs: one(sign(report(direct(alice), "confirmed", "2020-1-2", "hosp", now2), hospKey)),
			code: state.CodeInvalid, field: "onset"},
		{name: "reported_at_max_future_skew", txs: one(sign(report(direct(alice), "confirmed", "", "hosp", now2+skew), hospKey))},
		{name: "reported_1s_past_max_future_skew",
			txs:  one(sign(report(direct(alice), "confirmed", "", "hosp", now2+skew+1), hospKey)),
			code: state.CodeInvalid, field: "reported"},
		{name: "reported_1e10s_after_block",
			txs:  one(sign(report(direct(alice), "confirmed", "", "hosp", now2+1e10), hospKey)),
			code: state.CodeInvalid, field: "reported"},
		{name: "unbound_alias", txs: one(sign(report(alias(unbound), "confirmed", "", "hosp", now2), hospKey)),
			code: state.CodeUnknownAlias, field: "person"},
	})
}

// TestRefusedTxWritesNothing applies blocks of refused transactions only,
// each refused after some checks passed, and expects the state hash of an
// empty block and a store unchanged but for nothing.
func TestRefusedTxWritesNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		txs     []*ledger.Tx
		sigErrs []error
	}{
		{name: "site_with_unregistered_parent", txs: one(regSite("new", "shop", "nowhere", newSiteKey))},
		{name: "site_with_lat_91", txs: one(sign(&ledger.RegisterSite{Site: "new", Kind_: "shop", LatE6: 91e6, Key: pub(newSiteKey)}, authKey))},
		{name: "site_duplicate_shop", txs: one(regSite("shop", "shop", "", newSiteKey))},
		{name: "bind_second_alias_taken", txs: one(sign(bind(alice, ps("alias/alice-fresh"), bobPhone), authKey))},
		{name: "bind_second_alias_is_person", txs: one(sign(bind(alice, ps("alias/alice-fresh"), alice), authKey))},
		{name: "visit_unbound_alias", txs: one(sign(visit("shop", alias(unbound), now2-60, now2), shopKey))},
		{name: "visit_out_before_in", txs: one(sign(visit("shop", direct(alice), now2, now2-1), shopKey))},
		{name: "visit_bad_signature", txs: one(sign(visit("shop", direct(alice), now2-60, now2), shopKey)),
			sigErrs: []error{ledger.ErrBadSignature}},
		{name: "move_to_wrong_signer", txs: one(sign(move(direct(alice), "st-a", "st-b", now2-60, now2), stAKey, shopKey))},
		{name: "move_unbound_alias", txs: one(sign(move(alias(unbound), "st-a", "st-b", now2-60, now2), stAKey, stBKey))},
		{name: "case_unbound_alias", txs: one(sign(report(alias(unbound), "confirmed", "", "hosp", now2), hospKey))},
		{name: "case_bad_onset", txs: one(sign(report(direct(alice), "confirmed", "2020-02-30", "hosp", now2), hospKey))},
		{name: "all_of_them_in_one_block", txs: []*ledger.Tx{
			regSite("new", "shop", "nowhere", newSiteKey),
			sign(bind(alice, ps("alias/alice-fresh"), bobPhone), authKey),
			sign(visit("shop", alias(unbound), now2-60, now2), shopKey),
			sign(move(alias(unbound), "st-a", "st-b", now2-60, now2), stAKey, stBKey),
			sign(report(alias(unbound), "confirmed", "", "hosp", now2), hospKey),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.mustBlock(world()...)
			before := f.dump()
			want := f.emptyHash()
			errs, got := f.block(tc.txs, tc.sigErrs...)
			for i, err := range errs {
				if _, ok := state.IsRejection(err); !ok {
					t.Fatalf("tx %d: Apply = %v, want a rejection", i, err)
				}
			}
			if got != want {
				t.Errorf("state hash %s, want the empty block's %s", got, want)
			}
			if after := f.dump(); !equalDumps(before, after) {
				t.Errorf("store changed: %d entries before, %d after", len(before), len(after))
			}
		})
	}
}

func equalDumps(a, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// history is a short chain touching every kind of transaction, accepted
// and refused.
func history() [][]*ledger.Tx {
	return [][]*ledger.Tx{
		world(),
		{
			sign(visit("shop", direct(alice), now2-3600, now2-1800), shopKey),
			sign(visit("shop", alias(bobPhone), now2-3000, now2-600), shopKey),
			sign(visit("shop", alias(unbound), now2-3000, now2-600), shopKey), // refused
			sign(move(alias(alicePhone), "st-a", "st-b", now2-1700, now2-1000), stAKey, stBKey),
			regSite("new", "bus", "st-a", newSiteKey),
			sign(visit("new", direct(bob), now2-500, now2-100), newSiteKey),
		},
		{
			sign(report(direct(alice), "confirmed", "2020-01-20", "hosp", blockTime(3)), hospKey),
			sign(bind(ps("person/carol"), ps("alias/carol-phone")), authKey),
			sign(visit("new", alias(ps("alias/carol-phone")), blockTime(3)-300, blockTime(3)), newSiteKey),
			sign(visit("shop", direct(alice), now2-3600, now2-1800), shopKey), // replay, refused
		},
		{
			sign(visit("shop2", direct(bob), blockTime(4)-100, blockTime(4)), shop2Key),
			sign(report(direct(bob), "suspected", "", "clinic", blockTime(4)), clinicKey),
		},
	}
}

func applyHistory(t *testing.T, blocks [][]*ledger.Tx) []ledger.Hash {
	t.Helper()
	f := newFixture(t)
	for _, txs := range blocks {
		f.block(txs)
	}
	return f.hashes
}

func TestStateHashDeterministic(t *testing.T) {
	t.Parallel()
	a := applyHistory(t, history())
	b := applyHistory(t, history())
	for h := range a {
		if a[h] != b[h] {
			t.Errorf("height %d: state hashes differ between two stores: %s and %s", h, a[h], b[h])
		}
		if h > 0 && a[h] == a[h-1] {
			t.Errorf("height %d: state hash did not change", h)
		}
	}
}

// TestStateHashCoversEveryField changes one field of one transaction of
// block 3 and expects blocks 1-2 unchanged and every hash from 3 on to
// differ.
func TestStateHashCoversEveryField(t *testing.T) {
	t.Parallel()
	base := applyHistory(t, history())
	b3 := blockTime(3)
	cases := []struct {
		name string
		tx   *ledger.Tx // replaces block 3's tx at index idx
		idx  int
	}{
		{name: "case_status_recovered", idx: 0, tx: sign(report(direct(alice), "recovered", "2020-01-20", "hosp", b3), hospKey)},
		{name: "case_onset_2020-01-21", idx: 0, tx: sign(report(direct(alice), "confirmed", "2020-01-21", "hosp", b3), hospKey)},
		{name: "case_reported_1s_earlier", idx: 0, tx: sign(report(direct(alice), "confirmed", "2020-01-20", "hosp", b3-1), hospKey)},
		{name: "case_by_clinic", idx: 0, tx: sign(report(direct(alice), "confirmed", "2020-01-20", "clinic", b3), clinicKey)},
		{name: "case_person_bob", idx: 0, tx: sign(report(direct(bob), "confirmed", "2020-01-20", "hosp", b3), hospKey)},
		{name: "bind_other_alias", idx: 1, tx: sign(bind(ps("person/carol"), ps("alias/carol-phone"), ps("alias/carol-plate")), authKey)},
		{name: "visit_in_1s_earlier", idx: 2, tx: sign(visit("new", alias(ps("alias/carol-phone")), b3-301, b3), newSiteKey)},
		{name: "visit_out_1s_earlier", idx: 2, tx: sign(visit("new", alias(ps("alias/carol-phone")), b3-300, b3-1), newSiteKey)},
		{name: "visit_role_driver", idx: 2, tx: sign(&ledger.Visit{Site: "new", Person: alias(ps("alias/carol-phone")),
			In: b3 - 300, Out: b3, Via: "qr", Role: "driver"}, newSiteKey)},
		{name: "visit_via_card", idx: 2, tx: sign(&ledger.Visit{Site: "new", Person: alias(ps("alias/carol-phone")),
			In: b3 - 300, Out: b3, Via: "card", Role: "customer"}, newSiteKey)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			blocks := history()
			blocks[2][tc.idx] = tc.tx
			got := applyHistory(t, blocks)
			for h := range got {
				if h < 3 && got[h] != base[h] {
					t.Errorf("height %d: hash changed by a later block", h)
				}
				if h >= 3 && got[h] == base[h] {
					t.Errorf("height %d: hash unchanged", h)
				}
			}
		})
	}
}

// TestStateHashKnownAnswer pins the state hashes of history(): they are
// consensus values, and any change to an encoding or to what the machine
// writes breaks every existing chain.
func TestStateHashKnownAnswer(t *testing.T) {
	t.Parallel()
	want := []string{
		1: "b39852d5c059c0afb20b58fc36d313a1bb48fb7c58095079b68eccee3f4e1f48",
		2: "e2d30a33366d10bf63f80d507134f9b9600abe0df84945ccf4c22a6fe54c663e",
		3: "859ea80549fbde16f012b6a4e5dac151aae33342d4d5bd0605bdd80a085cfa47",
		4: "695a7a7d4c8e70ada12c58d9666477e592ce3c29a103c478ffb26342bb5aa826",
	}
	got := applyHistory(t, history())
	if len(got) != len(want) {
		t.Fatalf("%d heights, want %d", len(got)-1, len(want)-1)
	}
	for h := 1; h < len(got); h++ {
		if got[h].String() != want[h] {
			t.Errorf("height %d: state hash %s, want %s", h, got[h], want[h])
		}
	}
}

// TestSiteVisibility checks when a registered site may be used: in the same
// block, in the next block, from a fresh machine over the same store, and
// not at all if its block was abandoned.
func TestSiteVisibility(t *testing.T) {
	t.Parallel()
	reg := regSite("new", "bus", "", newSiteKey)
	visitAt := func(h uint64) *ledger.Tx {
		return sign(visit("new", direct(alice), blockTime(h)-60, blockTime(h)), newSiteKey)
	}
	t.Run("same_block_and_next_block", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.mustBlock(world()...)
		f.mustBlock(reg, visitAt(2))
		f.mustBlock(visitAt(3))
	})
	t.Run("next_block_from_fresh_machine", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.mustBlock(world()...)
		f.mustBlock(reg)
		f.m = state.New(f.db, f.gen)
		f.mustBlock(visitAt(3))
		f.mustBlock(regSite("new2", "bus", "new", key("new2")))
	})
	t.Run("abandoned_block", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.mustBlock(world()...)
		b := f.db.NewBatch()
		blk, err := f.m.Begin(b, 2, blockTime(2)*1e9)
		if err != nil {
			t.Fatal(err)
		}
		if err := blk.Apply(reg, nil); err != nil {
			t.Fatal(err)
		}
		b.Discard()
		errs, _ := f.block(one(visitAt(2)))
		checkResult(t, errs[0], state.CodeUnknownSite, "site")
		f.mustBlock(reg, visitAt(3))
	})
}

// TestVisitResolvesAlias checks that a visit by a bound alias is indexed
// under the person, not the alias.
func TestVisitResolvesAlias(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ref  ledger.PersonRef
	}{
		{name: "alice_phone", ref: alias(alicePhone)},
		{name: "alice", ref: direct(alice)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.mustBlock(world()...)
			in := blockTime(2) - 60
			tx := sign(visit("shop", tc.ref, in, in+30), shopKey)
			f.mustBlock(tx)
			v, ok, err := f.db.Get(store.PersonKey(alice, in, tx.ID()))
			if err != nil || !ok {
				t.Fatalf("person index entry: ok=%v err=%v", ok, err)
			}
			p, err := state.DecodePresence(v)
			if err != nil {
				t.Fatal(err)
			}
			want := state.Presence{Kind: state.PresenceVisit, Site: 3, Person: alice, In: in, Out: in + 30,
				Via: "qr", Role: "customer", TxID: tx.ID()}
			if *p != want {
				t.Errorf("presence = %+v, want %+v", *p, want)
			}
			if _, ok, _ := f.db.Get(store.PersonKey(alicePhone, in, tx.ID())); ok {
				t.Errorf("presence indexed under the alias")
			}
			sv, ok, err := f.db.Get(store.SiteIdxKey(3, in, tx.ID()))
			if err != nil || !ok || !bytes.Equal(sv, v) {
				t.Errorf("site index entry: ok=%v err=%v equal=%v", ok, err, bytes.Equal(sv, v))
			}
		})
	}
}

// TestVocabularyIsTheGenesis: the site kinds, case statuses and site id
// length the machine accepts are the genesis's, not a package's: a kind
// the genesis adds is registered, a status it leaves out is refused, a
// site id past its limit is refused; the default chain refuses the kind.
func TestVocabularyIsTheGenesis(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.gen.Params.Vocabulary = ledger.Vocabulary{
		SiteKinds:    append(slices.Clone(f.gen.Params.Vocabulary.SiteKinds), "ferry"),
		CaseStatuses: []string{"confirmed"},
		MaxSiteIDLen: 8,
	}
	f.m = state.New(f.db, f.gen)
	errs, _ := f.block([]*ledger.Tx{
		regSite("hosp", "hospital", "", hospKey),
		regSite("boat", "ferry", "", shopKey),
		regSite("longer-than-8", "shop", "", shop2Key),
		sign(bind(alice, alicePhone), authKey),
	})
	checkResult(t, errs[0], "", "")
	checkResult(t, errs[1], "", "")
	checkResult(t, errs[2], state.CodeInvalid, "site")
	errs, _ = f.block([]*ledger.Tx{
		sign(report(direct(alice), "confirmed", "", "hosp", blockTime(2)-60), hospKey),
		sign(report(direct(alice), "suspected", "", "hosp", blockTime(2)-30), hospKey),
	})
	checkResult(t, errs[0], "", "")
	checkResult(t, errs[1], state.CodeInvalid, "status")

	d := newFixture(t)
	errs, _ = d.block([]*ledger.Tx{regSite("boat", "ferry", "", shopKey)})
	checkResult(t, errs[0], state.CodeInvalid, "kind")
}

// seeded runs a property test's sequences, seeds 1 to n in parallel, each
// returning how often it took each kind of step; a kind of kinds taken
// fewer than least times in all fails the test: a sequence that refuses
// everything proves nothing.
func seeded(t *testing.T, n uint64, least int, kinds []string, run func(t *testing.T, seed uint64) map[string]int) {
	t.Helper()
	var mu sync.Mutex
	taken := map[string]int{}
	t.Cleanup(func() {
		for _, k := range kinds {
			if taken[k] < least {
				t.Errorf("%s accepted %d times in all sequences, want at least %d: %v", k, taken[k], least, taken)
			}
		}
	})
	for seed := uint64(1); seed <= n; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			got := run(t, seed)
			mu.Lock()
			defer mu.Unlock()
			for k, c := range got {
				taken[k] += c
			}
		})
	}
}
