package state_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// The tests of issue 3 (trajectory validation): the door, the
// longest-chain rule at the close of a window, the double chain and
// corrections, all through Begin/Apply/Finish/Commit.
//
// Time. machine_test.go's fixture gives block h the time t0 + h minutes,
// which cannot reach the close of a 24 h window in a few blocks. These
// tests drive the same fixture through vBlock, which gives each block an
// explicit header time (increasing with the height) and, like the engine,
// stores the accepted transactions' bytes under store.TxKey, where a
// correction reads its target. Record times are chosen relative to those
// block times: no record starts more than MaxFutureSkew after its block.

// vD is 2020-01-27 00:00 +08:00, the start of a validation window (local
// midnight, UTC+8); day 1 of these tests is the window [vD, vD+24h).
const (
	vD   = int64(1_580_054_400)
	vDay = int64(24 * 3600)
)

// vAt is day d (1 = 2020-01-27, +08:00) at hh:mm local time.
func vAt(d, hh, mm int) int64 {
	return vD + int64(d-1)*vDay + int64(hh)*3600 + int64(mm)*60
}

// vEnd is the end of day d's window; vClose is the earliest time at which
// it closes (end plus the 6 h grace).
func vEnd(d int) int64   { return vAt(d+1, 0, 0) }
func vClose(d int) int64 { return vEnd(d) + int64(state.DefaultParams().Validation.Grace/time.Second) }

// Persons of these tests (readable pseudonyms, as in machine_test.go).
var (
	vAlice = ps("val/alice")
	vBob   = ps("val/bob")
)

// Correction parties: the administrator and the authorities of three
// regions. The chain authority (authKey) is none of them.
var (
	vAdminKey = key("val/administrator")
	vWHKey    = key("val/authority/420100") // Wuhan
	vXGKey    = key("val/authority/420900") // Xiaogan
	vSHKey    = key("val/authority/310100") // Shanghai
	vStranger = key("val/stranger")
)

func vRule(quorum int) state.CorrectionRule {
	return state.CorrectionRule{
		Administrator: pub(vAdminKey),
		Authorities: []state.RegionAuthority{ // sorted by region
			{Region: "310100", Key: pub(vSHKey)},
			{Region: "420100", Key: pub(vWHKey)},
			{Region: "420900", Key: pub(vXGKey)},
		},
		Quorum: quorum,
	}
}

// vSite is a site of the validation world, positions in micro-degrees.
type vSite struct {
	id, kind, region, parent string
	lat, lon                 int32
	route                    *ledger.Route
}

// Places. Distances (geo.Meters): office-mall 40 km, mall-shop 960 m,
// mall-shop_far 9.6 km, park-wheel 3.0 km, Wuhan-Xiaogan stations 60 km,
// Wuhan-Shanghai about 690 km, the toll gate 700 km from Shanghai,
// Guangzhou 830 km from Wuhan.
var vSites = []vSite{
	{id: "wh-home", kind: "home", region: "420100", lat: 30_620_000, lon: 114_300_000},
	{id: "wh-office", kind: "office", region: "420100", lat: 30_950_000, lon: 114_300_000},
	{id: "wh-mall", kind: "mall", region: "420100", lat: 30_590_000, lon: 114_300_000},
	{id: "wh-mall/restaurant", kind: "restaurant", region: "420100", parent: "wh-mall", lat: 30_590_500, lon: 114_300_500},
	{id: "wh-metro-2", kind: "metro", region: "420100", lat: 30_620_000, lon: 114_300_000,
		route: &ledger.Route{FromLatE6: 30_650_000, FromLonE6: 114_300_000, ToLatE6: 30_592_000, ToLonE6: 114_300_000}},
	{id: "wh-shop", kind: "shop", region: "420100", lat: 30_590_000, lon: 114_310_000},
	{id: "wh-shop-far", kind: "shop", region: "420100", lat: 30_590_000, lon: 114_400_000},
	{id: "wh-park", kind: "venue", region: "420100", lat: 30_550_000, lon: 114_200_000},
	{id: "wh-park/wheel", kind: "venue", region: "420100", parent: "wh-park", lat: 30_577_000, lon: 114_200_000},
	{id: "wh-station", kind: "station", region: "420100", lat: 30_607_000, lon: 114_424_400},
	{id: "wh-taxi", kind: "taxi", region: "420100", lat: 30_590_000, lon: 114_300_000},
	{id: "wh-bus", kind: "bus", region: "420100", lat: 30_590_000, lon: 114_300_000},
	{id: "MU2500", kind: "flight", region: "420100", lat: 30_783_800, lon: 114_208_100},
	{id: "xg-station", kind: "station", region: "420900", lat: 30_920_000, lon: 113_910_000},
	{id: "G1234", kind: "train", region: "310100", lat: 31_249_700, lon: 121_455_500,
		route: &ledger.Route{FromLatE6: 30_607_000, FromLonE6: 114_424_400, ToLatE6: 31_249_700, ToLonE6: 121_455_500}},
	{id: "G1234/05", kind: "train_carriage", region: "310100", parent: "G1234", lat: 31_249_700, lon: 121_455_500},
	{id: "K9", kind: "train", region: "420100", lat: 30_607_000, lon: 114_424_400},
	{id: "K9/01", kind: "train_carriage", region: "420100", parent: "K9", lat: 30_607_000, lon: 114_424_400},
	{id: "sh-station", kind: "station", region: "310100", lat: 31_249_700, lon: 121_455_500},
	{id: "sh-mall", kind: "mall", region: "310100", lat: 31_243_600, lon: 121_470_000},
	{id: "sh-hosp", kind: "hospital", region: "310100", lat: 31_211_800, lon: 121_468_000},
	{id: "toll-hubei-henan", kind: "toll_gate", region: "420000", lat: 31_700_000, lon: 114_100_000},
	{id: "gz-airport", kind: "airport", region: "440100", lat: 23_392_400, lon: 113_298_800},
}

func vKey(siteID string) ed25519.PrivateKey { return key("val/site/" + siteID) }

// vWorld registers every site of vSites, parents first.
func vWorld() []*ledger.Tx {
	var txs []*ledger.Tx
	for _, s := range vSites {
		txs = append(txs, sign(&ledger.RegisterSite{Site: s.id, Kind_: s.kind, Name: "the " + s.id, LatE6: s.lat, LonE6: s.lon,
			Region: s.region, Parent: s.parent, Key: pub(vKey(s.id)), Route: s.route}, authKey))
	}
	return txs
}

// vVisit is a presence of p at a site (no role: a customer, a passenger),
// signed by the site.
func vVisit(siteID string, p ledger.Pseudonym, in, out int64, via string) *ledger.Tx {
	return sign(&ledger.Visit{Site: siteID, Person: direct(p), In: in, Out: out, Via: via}, vKey(siteID))
}

// vShift is a worker's shift (a visit with a role).
func vShift(siteID string, p ledger.Pseudonym, in, out int64, role string) *ledger.Tx {
	return sign(&ledger.Visit{Site: siteID, Person: direct(p), In: in, Out: out, Via: "staff_card", Role: role}, vKey(siteID))
}

// vMove is a movement signed by both sites.
func vMove(p ledger.Pseudonym, from, to string, depart, arrive int64) *ledger.Tx {
	return sign(&ledger.Move{Person: direct(p), From: from, To: to, Depart: depart, Arrive: arrive, Via: "id_card"}, vKey(from), vKey(to))
}

// vCloseWindows advances the data clock, signed by k.
func vCloseWindows(until int64, k ed25519.PrivateKey) *ledger.Tx {
	return sign(&ledger.CloseWindows{Until: until}, k)
}

func vAnnul(target *ledger.Tx, by ed25519.PrivateKey) *ledger.Tx {
	return sign(&ledger.Correction{Target: target.ID(), Action: ledger.ActionAnnul, Reason: "lent card"}, by)
}

func vAmend(target *ledger.Tx, in, out int64, siteID string, by ed25519.PrivateKey) *ledger.Tx {
	return sign(&ledger.Correction{Target: target.ID(), Action: ledger.ActionAmend, In: in, Out: out, Site: siteID,
		Reason: "wrong clock"}, by)
}

// vApprove is an approval of corr naming approver, signed by signer.
func vApprove(corr *ledger.Tx, approver, signer ed25519.PrivateKey) *ledger.Tx {
	return sign(&ledger.Approval{Correction: corr.ID(), Approver: pub(approver)}, signer)
}

// newVFixture is machine_test.go's fixture with a Genesis that has a
// correction rule of the given quorum.
func newVFixture(t testing.TB, quorum int) *fixture {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	gen := state.Genesis{ChainID: chainID, Region: "420100", Authority: pub(authKey), Time: t0, Corrections: vRule(quorum), Params: state.DefaultParams()}
	return &fixture{t: t, db: db, gen: gen, m: state.New(db, gen), hashes: []ledger.Hash{gen.Hash()}}
}

// vWorldFixture is a fixture whose block 1, at the start of day 1, holds
// vWorld.
func vWorldFixture(t testing.TB, quorum int) *fixture {
	t.Helper()
	f := newVFixture(t, quorum)
	vMust(f, vAt(1, 0, 0), vWorld()...)
	return f
}

// vBlock applies txs as the next block with header time tm (Unix seconds),
// stores the accepted ones under store.TxKey after Finish as the engine
// does, commits, and returns each tx's Apply result. A store failure ends
// the test.
func vBlock(f *fixture, tm int64, txs ...*ledger.Tx) []error {
	f.t.Helper()
	f.height++
	b := f.db.NewBatch()
	blk, err := f.m.Begin(b, f.height, tm*1e9)
	if err != nil {
		f.t.Fatal(err)
	}
	errs := make([]error, len(txs))
	var accepted []*ledger.Tx
	for i, tx := range txs {
		errs[i] = blk.Apply(tx, nil)
		if errs[i] != nil {
			if _, ok := state.IsRejection(errs[i]); !ok {
				f.t.Fatalf("block %d tx %d: store failure: %v", f.height, i, errs[i])
			}
			continue
		}
		accepted = append(accepted, tx)
	}
	h, err := blk.Finish(f.prev())
	if err != nil {
		f.t.Fatal(err)
	}
	// The engine writes the block's transactions after Finish.
	for i, tx := range accepted {
		if err := b.Set(store.TxKey(f.height, uint32(i)), tx.Bytes()); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := b.Commit(); err != nil {
		f.t.Fatal(err)
	}
	blk.Committed()
	f.hashes = append(f.hashes, h)
	return errs
}

// vMust applies a block in which every tx must be accepted.
func vMust(f *fixture, tm int64, txs ...*ledger.Tx) {
	f.t.Helper()
	for i, err := range vBlock(f, tm, txs...) {
		if err != nil {
			f.t.Fatalf("block %d tx %d (%s): %v", f.height, i, txs[i].Body.Kind(), err)
		}
	}
}

// vStep is one block of a scenario: all its txs must be accepted but the
// last, whose outcome is code and field ("" for accepted).
type vStep struct {
	tm          int64
	txs         []*ledger.Tx
	code, field string
}

func vRun(t *testing.T, f *fixture, steps []vStep) {
	t.Helper()
	for i, s := range steps {
		errs := vBlock(f, s.tm, s.txs...)
		for j, err := range errs {
			if j == len(errs)-1 {
				if s.code != "" || err != nil {
					t.Logf("step %d (block %d):", i, f.height)
					checkResult(t, err, s.code, s.field)
				}
				break
			}
			if err != nil {
				t.Fatalf("step %d tx %d (%s): %v", i, j, s.txs[j].Body.Kind(), err)
			}
		}
	}
}

// vTxIn is a record's start: a visit's In, a movement's Depart.
func vTxIn(tx *ledger.Tx) int64 {
	switch b := tx.Body.(type) {
	case *ledger.Visit:
		return b.In
	case *ledger.Move:
		return b.Depart
	}
	panic("vTxIn: not a record")
}

func vGet(t *testing.T, f *fixture, k []byte) ([]byte, bool) {
	t.Helper()
	v, ok, err := f.db.Get(k)
	if err != nil {
		t.Fatal(err)
	}
	return v, ok
}

// vPresence is the person-index entry of a record of p.
func vPresence(t *testing.T, f *fixture, p ledger.Pseudonym, tx *ledger.Tx) *state.Presence {
	t.Helper()
	v, ok := vGet(t, f, store.PersonKey(p, vTxIn(tx), tx.ID()))
	if !ok {
		t.Fatalf("no person-index entry for tx %s", tx.ID().String()[:16])
	}
	pr, err := state.DecodePresence(v)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func vSiteNum(t *testing.T, f *fixture, id string) uint32 {
	t.Helper()
	v, ok := vGet(t, f, store.SiteKey(id))
	if !ok {
		t.Fatalf("site %q not registered", id)
	}
	s, err := state.DecodeSite(v)
	if err != nil {
		t.Fatal(err)
	}
	return s.Num
}

// vStatus is the status of a record in the person index and, for a visit,
// checks the site index agrees.
func vStatus(t *testing.T, f *fixture, p ledger.Pseudonym, tx *ledger.Tx) state.Status {
	t.Helper()
	pr := vPresence(t, f, p, tx)
	if vb, ok := tx.Body.(*ledger.Visit); ok {
		v, ok := vGet(t, f, store.SiteIdxKey(vSiteNum(t, f, vb.Site), vb.In, tx.ID()))
		if !ok {
			t.Fatalf("no site-index entry for tx %s", tx.ID().String()[:16])
		}
		sp, err := state.DecodePresence(v)
		if err != nil {
			t.Fatal(err)
		}
		if sp.Status != pr.Status {
			t.Errorf("tx %s: site index says %s, person index %s", tx.ID().String()[:16], sp.Status, pr.Status)
		}
	}
	return pr.Status
}

// vHead is the person's chain head; ok false if no window closed.
func vHead(t *testing.T, f *fixture, p ledger.Pseudonym) (state.PersonHead, bool) {
	t.Helper()
	v, ok := vGet(t, f, store.PersonValKey(p))
	if !ok {
		return state.PersonHead{}, false
	}
	h, err := state.DecodePersonHead(v)
	if err != nil {
		t.Fatal(err)
	}
	return h, true
}

// vPersonBlocks reads a person's blocks in order and checks that the
// sequence numbers are dense.
func vPersonBlocks(t *testing.T, f *fixture, p ledger.Pseudonym) []*ledger.PersonBlock {
	t.Helper()
	lo, hi := store.PersonBlockPrefix(p)
	var out []*ledger.PersonBlock
	err := f.db.Scan(lo, hi, func(k, v []byte) bool {
		pb, err := ledger.DecodePersonBlock(v)
		if err != nil {
			t.Fatalf("person block %x: %v", k, err)
		}
		if !bytes.Equal(k, store.PersonBlockKey(p, uint64(len(out)))) || pb.Seq != uint64(len(out)) || pb.Person != p {
			t.Fatalf("person block at key %x has seq %d, want %d", k, pb.Seq, len(out))
		}
		out = append(out, pb)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// vCheckPersonChain checks that the blocks link, their entry roots match
// ledger.EntriesRoot and the head names the last one.
func vCheckPersonChain(t *testing.T, f *fixture, p ledger.Pseudonym) []*ledger.PersonBlock {
	t.Helper()
	pbs := vPersonBlocks(t, f, p)
	var prev ledger.Hash
	var closedEnd int64
	for i, pb := range pbs {
		if pb.PrevHash != prev {
			t.Errorf("person block %d: PrevHash %s, want %s", i, pb.PrevHash, prev)
		}
		if pb.EntryRoot != ledger.EntriesRoot(pb.Entries) || int(pb.Count) != len(pb.Entries) {
			t.Errorf("person block %d: entry root does not match its %d entries", i, len(pb.Entries))
		}
		if err := pb.Check(prev); err != nil {
			t.Errorf("person block %d: Check: %v", i, err)
		}
		if pb.WindowEnd-pb.WindowStart != vDay {
			t.Errorf("person block %d: window [%d, %d) is not one day", i, pb.WindowStart, pb.WindowEnd)
		}
		prev = pb.Hash()
		closedEnd = max(closedEnd, pb.WindowEnd)
	}
	head, ok := vHead(t, f, p)
	if len(pbs) == 0 {
		if ok {
			t.Errorf("head (closed end %d, seq %d) without person blocks", head.ClosedEnd, head.Seq)
		}
		return pbs
	}
	if !ok {
		t.Fatalf("no person head after %d person blocks", len(pbs))
	}
	if head.ClosedEnd != closedEnd || head.Seq != uint64(len(pbs)) || head.Hash != prev {
		t.Errorf("person head (closed end %d, seq %d, hash %s), want (%d, %d, %s)", head.ClosedEnd, head.Seq, head.Hash,
			closedEnd, len(pbs), prev)
	}
	return pbs
}

func vIDs(txs ...*ledger.Tx) []ledger.Hash {
	out := make([]ledger.Hash, len(txs))
	for i, tx := range txs {
		out[i] = tx.ID()
	}
	return out
}

func vShort(hs []ledger.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()[:8]
	}
	return out
}

// vDecision reads the decision of p's window ending at end.
func vDecision(t *testing.T, f *fixture, p ledger.Pseudonym, end int64) (*state.Decision, bool) {
	t.Helper()
	v, ok := vGet(t, f, store.DecisionKey(p, end))
	if !ok {
		return nil, false
	}
	d, err := state.DecodeDecision(v)
	if err != nil {
		t.Fatal(err)
	}
	return d, true
}

func vWeight(via string) int64 {
	v := state.DefaultParams().Validation
	return v.Weight(via)
}

// TestValidationWindowOf pins the window arithmetic the other tests rely
// on: windows of 24 h starting at midnight UTC+8.
func TestValidationWindowOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		t          int64
		start, end int64
	}{
		{name: "2020-01-27T00:00+08", t: vD, start: vD, end: vD + vDay},
		{name: "2020-01-27T23:59:59+08", t: vD + vDay - 1, start: vD, end: vD + vDay},
		{name: "2020-01-28T00:00+08", t: vD + vDay, start: vD + vDay, end: vD + 2*vDay},
		{name: "2020-01-26T23:59:59+08", t: vD - 1, start: vD - vDay, end: vD},
		{name: "1970-01-01T07:59:59+08", t: -1, start: -8 * 3600, end: 16 * 3600},
		{name: "1969-12-31T07:59:59+08", t: -8*3600 - 1, start: -8*3600 - vDay, end: -8 * 3600},
	}
	v := state.DefaultParams().Validation
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if s, e := v.WindowOf(tc.t); s != tc.start || e != tc.end {
				t.Errorf("WindowOf(%d) = [%d, %d), want [%d, %d)", tc.t, s, e, tc.start, tc.end)
			}
		})
	}
}

// TestValidationDefaults pins the documented defaults of issue 3 and which
// site kinds are vehicles.
func TestValidationDefaults(t *testing.T) {
	t.Parallel()
	v := state.DefaultParams().Validation
	if !v.Enabled || v.Window != 24*time.Hour || v.WindowOffset != 8*time.Hour || v.Grace != 6*time.Hour ||
		v.Speed != 150 || v.Radius != 2000 || v.Slack != 5*time.Minute || v.Horizon != 48*time.Hour {
		t.Errorf("validation defaults %+v", v)
	}
	if !(v.Weight("face") > v.Weight("payment") && v.Weight("payment") > v.Weight("staff_card") &&
		v.Weight("id_card") > v.Weight("access_card") && v.Weight("unknown-via") == v.DefaultWeight) {
		t.Errorf("weights %v (default %d)", v.Weights, v.DefaultWeight)
	}
	cases := []struct {
		kind    string
		vehicle bool
	}{
		{"train", true}, {"train_carriage", true}, {"flight", true}, {"bus", true}, {"metro", true}, {"taxi", true},
		{"ride", true}, {"home", false}, {"office", false}, {"mall", false}, {"station", false}, {"airport", false},
		{"toll_gate", false},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			if got := v.IsVehicle(tc.kind); got != tc.vehicle {
				t.Errorf("IsVehicle(%q) = %v, want %v", tc.kind, got, tc.vehicle)
			}
		})
	}
}

// lentCard is the seed's evening (sec. 2.6): on day 1 a colleague swipes
// alice's office card at 21:00 and 21:40 (staff_card) while alice rides
// metro line 2 from 20:50 to 21:20 (payment), is seen by the mall's camera
// from 21:30 to 21:50 (face), pays by face in the mall's restaurant from
// 21:50 to 22:30 and opens her home door at 23:00 (access_card). The
// office is 40 km from the mall.
type lentCard struct {
	swipe1, swipe2, metro, mall, restaurant, home *ledger.Tx
}

func newLentCard() lentCard {
	return lentCard{
		swipe1:     vVisit("wh-office", vAlice, vAt(1, 21, 0), vAt(1, 21, 0), "staff_card"),
		swipe2:     vVisit("wh-office", vAlice, vAt(1, 21, 40), vAt(1, 21, 40), "staff_card"),
		metro:      vVisit("wh-metro-2", vAlice, vAt(1, 20, 50), vAt(1, 21, 20), "payment"),
		mall:       vVisit("wh-mall", vAlice, vAt(1, 21, 30), vAt(1, 21, 50), "face"),
		restaurant: vVisit("wh-mall/restaurant", vAlice, vAt(1, 21, 50), vAt(1, 22, 30), "face"),
		home:       vVisit("wh-home", vAlice, vAt(1, 23, 0), vAt(1, 23, 0), "access_card"),
	}
}

// TestLentCardEvening posts the evening in several orders and block
// splits; the window closes with the authority's CloseWindows. The office
// swipes end up rejected, the rest accepted, with a decision whose rival
// holds the swipes.
func TestLentCardEvening(t *testing.T) {
	t.Parallel()
	e := newLentCard()
	post := vAt(1, 23, 30)
	cases := []struct {
		name   string
		blocks [][]*ledger.Tx // posted at post, post+1m, ...
	}{
		{name: "swipes_first_one_block", blocks: [][]*ledger.Tx{{e.swipe1, e.swipe2, e.metro, e.mall, e.restaurant, e.home}}},
		{name: "swipes_last_one_block", blocks: [][]*ledger.Tx{{e.metro, e.mall, e.restaurant, e.home, e.swipe1, e.swipe2}}},
		{name: "reverse_time_order_one_block", blocks: [][]*ledger.Tx{{e.home, e.restaurant, e.mall, e.swipe2, e.swipe1, e.metro}}},
		{name: "each_record_its_own_block", blocks: [][]*ledger.Tx{{e.home}, {e.swipe2}, {e.restaurant}, {e.metro}, {e.swipe1}, {e.mall}}},
		{name: "swipes_in_a_later_block", blocks: [][]*ledger.Tx{{e.metro, e.mall, e.restaurant, e.home}, {e.swipe1, e.swipe2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := vWorldFixture(t, 0)
			for i, txs := range tc.blocks {
				vMust(f, post+int64(i)*60, txs...)
			}
			// Still open: nothing decided, everything recorded.
			for _, tx := range []*ledger.Tx{e.swipe1, e.swipe2, e.metro, e.mall, e.restaurant, e.home} {
				if st := vStatus(t, f, vAlice, tx); st != state.StatusRecorded {
					t.Fatalf("before the close: %s is %s", tx.ID().String()[:8], st)
				}
			}
			vMust(f, vClose(1), vCloseWindows(vClose(1), authKey))

			for _, c := range []struct {
				what string
				tx   *ledger.Tx
				want state.Status
			}{
				{"office swipe 21:00", e.swipe1, state.StatusRejected},
				{"office swipe 21:40", e.swipe2, state.StatusRejected},
				{"metro", e.metro, state.StatusRecorded},
				{"mall camera", e.mall, state.StatusRecorded},
				{"restaurant", e.restaurant, state.StatusRecorded},
				{"home door", e.home, state.StatusRecorded},
			} {
				if got := vStatus(t, f, vAlice, c.tx); got != c.want {
					t.Errorf("%s: status %s, want %s", c.what, got, c.want)
				}
			}
			d, ok := vDecision(t, f, vAlice, vEnd(1))
			if !ok {
				t.Fatal("no decision for the evening's window")
			}
			wantChain := vIDs(e.metro, e.mall, e.restaurant, e.home)
			if !slices.Equal(d.Chain, wantChain) {
				t.Errorf("chain %v, want metro, mall, restaurant, home %v", vShort(d.Chain), vShort(wantChain))
			}
			if want := vIDs(e.swipe1, e.swipe2); !slices.Equal(d.Rejected, want) {
				t.Errorf("rejected %v, want the swipes %v", vShort(d.Rejected), vShort(want))
			}
			if !slices.Contains(d.Rival, e.swipe1.ID()) || !slices.Contains(d.Rival, e.swipe2.ID()) {
				t.Errorf("rival %v does not hold both swipes", vShort(d.Rival))
			}
			if d.Z < 1 || d.Z != int64(len(d.Chain)-len(d.Rival)) {
				t.Errorf("Z = %d with chain %d and rival %d records, want >= 1 and their difference", d.Z, len(d.Chain), len(d.Rival))
			}
			if want := vWeight("payment") + 2*vWeight("face") + vWeight("access_card"); d.Weight != want || d.RivalWeight >= d.Weight {
				t.Errorf("weights %d (rival %d), want %d and a lighter rival", d.Weight, d.RivalWeight, want)
			}
			if d.Person != vAlice || d.WindowStart != vD || d.WindowEnd != vEnd(1) || d.Height != f.height {
				t.Errorf("decision header %x [%d, %d) at %d", d.Person, d.WindowStart, d.WindowEnd, d.Height)
			}
			dk := store.DecisionKey(vAlice, vEnd(1))
			for _, tx := range []*ledger.Tx{e.swipe1, e.swipe2} {
				if v, ok := vGet(t, f, store.RejectedKey(tx.ID())); !ok || !bytes.Equal(v, dk) {
					t.Errorf("RejectedKey(%s) = %x (%v), want the decision key", tx.ID().String()[:8], v, ok)
				}
			}
			if _, ok := vGet(t, f, store.RejectedKey(e.metro.ID())); ok {
				t.Error("an accepted record points to a decision")
			}
			pbs := vCheckPersonChain(t, f, vAlice)
			if len(pbs) != 1 {
				t.Fatalf("%d person blocks, want 1", len(pbs))
			}
			if !slices.Equal(pbs[0].Entries, wantChain) || pbs[0].Hash() != d.PersonBlockH || d.PersonBlock != 0 {
				t.Errorf("person block entries %v (hash %s), decision names block %d %s", vShort(pbs[0].Entries), pbs[0].Hash(), d.PersonBlock, d.PersonBlockH)
			}
			if f.m.Pending(vEnd(1), vAlice) {
				t.Error("the window is still open after the close")
			}
		})
	}
}

// TestLentCardSwipesAfterTheClose posts the swipes only after the
// evening's window closed: they are judged at the door against the
// settled evening and refused, naming the record they contradict.
func TestLentCardSwipesAfterTheClose(t *testing.T) {
	t.Parallel()
	e := newLentCard()
	cases := []struct {
		name  string
		swipe *ledger.Tx
		blame *ledger.Tx
		site  string
	}{
		{name: "swipe_2100_during_metro", swipe: e.swipe1, blame: e.metro, site: "wh-metro-2"},
		{name: "swipe_2140_during_mall_camera", swipe: e.swipe2, blame: e.mall, site: "wh-mall"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := vWorldFixture(t, 0)
			vMust(f, vAt(1, 23, 30), e.metro, e.mall, e.restaurant, e.home)
			vMust(f, vClose(1), vCloseWindows(vClose(1), authKey))
			errs := vBlock(f, vClose(1)+60, tc.swipe)
			checkResult(t, errs[0], state.CodeConflict, "person")
			vCheckConflictMsg(t, errs[0], tc.site, tc.blame, "")
			if _, ok := vGet(t, f, store.PersonKey(vAlice, vTxIn(tc.swipe), tc.swipe.ID())); ok {
				t.Error("a refused swipe is in the person index")
			}
			if pbs := vCheckPersonChain(t, f, vAlice); len(pbs) != 1 {
				t.Errorf("%d person blocks, want 1", len(pbs))
			}
		})
	}
}

// vCheckConflictMsg checks a door refusal names the conflicting record's
// site and tx prefix (and how, if given) but no person.
func vCheckConflictMsg(t *testing.T, err error, site string, blame *ledger.Tx, how string) {
	t.Helper()
	rej, ok := state.IsRejection(err)
	if !ok {
		return
	}
	if !strings.Contains(rej.Msg, `"`+site+`"`) || !strings.Contains(rej.Msg, blame.ID().String()[:16]) {
		t.Errorf("message %q does not name site %q and tx %s", rej.Msg, site, blame.ID().String()[:16])
	}
	if how != "" && !strings.Contains(rej.Msg, how) {
		t.Errorf("message %q does not say %q", rej.Msg, how)
	}
	for _, p := range []ledger.Pseudonym{vAlice, vBob} {
		if strings.Contains(rej.Msg, p.String()) || strings.Contains(rej.Msg, p.Short()) || strings.Contains(rej.Msg, "val/") {
			t.Errorf("message %q names a person", rej.Msg)
		}
	}
}

// TestCloseDecisions posts records of days 1 and 2 while both windows are
// open, closes day 1 then day 2, and checks which records the
// longest-chain rule rejected.
func TestCloseDecisions(t *testing.T) {
	t.Parallel()
	var (
		shMall   = vVisit("sh-mall", vAlice, vAt(1, 13, 30), vAt(1, 13, 50), "wechat")
		toll     = vVisit("toll-hubei-henan", vAlice, vAt(1, 14, 0), vAt(1, 14, 0)+30, "plate")
		shHosp   = vVisit("sh-hosp", vAlice, vAt(1, 15, 30), vAt(1, 18, 0), "id_card")
		whFace   = vVisit("wh-mall", vAlice, vAt(1, 10, 0), vAt(1, 11, 0), "face")
		shPlate  = vVisit("sh-mall", vAlice, vAt(1, 10, 30), vAt(1, 11, 0), "plate")
		office   = vShift("wh-office", vAlice, vAt(1, 9, 0), vAt(1, 18, 0), "staff")
		lunchFar = vVisit("wh-shop-far", vAlice, vAt(1, 12, 0), vAt(1, 12, 30), "payment")
		driver   = vShift("wh-taxi", vAlice, vAt(1, 7, 0), vAt(1, 19, 0), "driver")
		train    = vVisit("G1234", vAlice, vAt(1, 8, 0), vAt(1, 12, 0), "id_card")
		carriage = vVisit("G1234/05", vAlice, vAt(1, 8, 0), vAt(1, 12, 0), "phone")
		late     = vVisit("wh-mall", vAlice, vAt(1, 22, 0), vAt(1, 23, 0), "face")
		night    = vVisit("sh-mall", vAlice, vAt(2, 0, 20), vAt(2, 0, 30), "id_card")
		night2   = vVisit("wh-shop", vAlice, vAt(2, 0, 20), vAt(2, 0, 30), "payment")
		longMall = vVisit("wh-mall", vAlice, vAt(1, 10, 0), vAt(1, 20, 0), "face")
		nested   = vVisit("wh-shop", vAlice, vAt(1, 12, 0), vAt(1, 12, 30), "payment")
		after    = vVisit("sh-mall", vAlice, vAt(1, 20, 30), vAt(1, 21, 0), "plate")
		shLunch  = vVisit("sh-mall", vAlice, vAt(1, 12, 0), vAt(1, 12, 30), "payment")
	)
	cases := []struct {
		name     string
		records  []*ledger.Tx
		rejected []*ledger.Tx
		// day whose window holds the rejection (when any), and the
		// decision's Z.
		day int
		z   int64
		// anchored: the rejection contradicts the settled window before,
		// so no rival story within the window can hold it.
		anchored bool
	}{
		{name: "toll_gate_plate_between_shanghai_mall_and_hospital", records: []*ledger.Tx{shMall, toll, shHosp},
			rejected: []*ledger.Tx{toll}, day: 1, z: 1},
		{name: "toll_gate_plate_posted_first", records: []*ledger.Tx{toll, shHosp, shMall}, rejected: []*ledger.Tx{toll}, day: 1, z: 1},
		{name: "wuhan_face_overlapping_shanghai_plate", records: []*ledger.Tx{whFace, shPlate}, rejected: []*ledger.Tx{shPlate}, day: 1},
		{name: "office_shift_with_lunch_41km_away", records: []*ledger.Tx{office, lunchFar}},
		{name: "taxi_driver_shift_with_lunch_at_shop_far", records: []*ledger.Tx{driver, lunchFar}},
		{name: "wuhan_mall_1000_2000_nested_shop_1200_then_shanghai_2030", records: []*ledger.Tx{longMall, nested, after},
			rejected: []*ledger.Tx{after}, day: 1, z: 0},
		{name: "wuhan_office_shift_0900_1800_with_shanghai_lunch_1200", records: []*ledger.Tx{office, shLunch},
			rejected: []*ledger.Tx{office}, day: 1, z: 0},
		{name: "train_and_its_carriage_overlapping", records: []*ledger.Tx{train, carriage}},
		{name: "shanghai_at_0020_after_settled_wuhan_at_2300", records: []*ledger.Tx{late, night},
			rejected: []*ledger.Tx{night}, day: 2, anchored: true},
		{name: "wuhan_shop_at_0020_after_settled_wuhan_at_2300", records: []*ledger.Tx{late, night2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := vWorldFixture(t, 0)
			vMust(f, vAt(2, 0, 40), tc.records...)
			vMust(f, vClose(1), vCloseWindows(vClose(1), authKey))
			vMust(f, vClose(2), vCloseWindows(vClose(2), authKey))
			for _, tx := range tc.records {
				want := state.StatusRecorded
				if slices.Contains(tc.rejected, tx) {
					want = state.StatusRejected
				}
				if got := vStatus(t, f, vAlice, tx); got != want {
					t.Errorf("record %s at %s: %s, want %s", tx.ID().String()[:8], tx.Body.(*ledger.Visit).Site, got, want)
				}
			}
			for day := 1; day <= 2; day++ {
				d, ok := vDecision(t, f, vAlice, vEnd(day))
				if day != tc.day || len(tc.rejected) == 0 {
					if ok {
						t.Errorf("day %d: unexpected decision rejecting %v", day, vShort(d.Rejected))
					}
					continue
				}
				if !ok {
					t.Fatalf("day %d: no decision", day)
				}
				if want := vIDs(tc.rejected...); !slices.Equal(d.Rejected, want) {
					t.Errorf("day %d: rejected %v, want %v", day, vShort(d.Rejected), vShort(want))
				}
				for _, tx := range tc.rejected {
					if !tc.anchored && !slices.Contains(d.Rival, tx.ID()) {
						t.Errorf("day %d: rival %v lacks rejected %s", day, vShort(d.Rival), tx.ID().String()[:8])
					}
				}
				if d.Z != tc.z {
					t.Errorf("day %d: Z = %d, want %d", day, d.Z, tc.z)
				}
			}
			vCheckPersonChain(t, f, vAlice)
		})
	}
}

// TestDoor applies day-1 records and closes day 1 (they are settled),
// applies day-2 records (their window stays open), then offers one record
// at the door.
func TestDoor(t *testing.T) {
	t.Parallel()
	var (
		whMall     = vVisit("wh-mall", vAlice, vAt(1, 10, 0), vAt(1, 12, 0), "face")
		whMallEve  = vVisit("wh-mall", vAlice, vAt(1, 22, 0), vAt(1, 23, 0), "face")
		shMallEve  = vVisit("sh-mall", vAlice, vAt(1, 20, 0), vAt(1, 21, 0), "id_card")
		park       = vVisit("wh-park", vAlice, vAt(1, 10, 0), vAt(1, 12, 0), "id_card")
		train      = vVisit("G1234", vAlice, vAt(1, 8, 0), vAt(1, 12, 0), "id_card")
		carriage   = vVisit("G1234/05", vAlice, vAt(1, 8, 0), vAt(1, 12, 0), "phone")
		driver     = vShift("wh-taxi", vAlice, vAt(1, 7, 0), vAt(1, 19, 0), "driver")
		office     = vShift("wh-office", vAlice, vAt(1, 9, 0), vAt(1, 18, 0), "staff")
		shopFar    = vVisit("wh-shop-far", vAlice, vAt(1, 12, 0), vAt(1, 12, 30), "payment")
		whShop8    = vVisit("wh-shop", vAlice, vAt(1, 8, 0), vAt(1, 9, 0), "payment")
		shMall16   = vVisit("sh-mall", vAlice, vAt(1, 16, 0), vAt(1, 17, 0), "face")
		bus        = vVisit("wh-bus", vAlice, vAt(1, 9, 30), vAt(1, 11, 30), "payment")
		flight     = vVisit("MU2500", vAlice, vAt(1, 9, 30), vAt(1, 11, 30), "id_card")
		whStation  = vVisit("wh-station", vAlice, vAt(1, 7, 0), vAt(1, 7, 30), "id_card")
		k9         = vVisit("K9/01", vAlice, vAt(1, 8, 0), vAt(1, 12, 0), "id_card")
		openMove   = vMove(vAlice, "wh-station", "xg-station", vAt(2, 12, 0), vAt(2, 13, 0))
		openWHMall = vVisit("wh-mall", vAlice, vAt(2, 10, 0), vAt(2, 12, 0), "face")
		homeLate   = vVisit("wh-home", vAlice, vAt(1, 22, 0), vAt(1, 22, 0), "access_card")
		night      = vVisit("wh-home", vAlice, vAt(1, 21, 0), vAt(2, 8, 0), "access_card")
		longMall   = vVisit("wh-mall", vAlice, vAt(1, 10, 0), vAt(1, 20, 0), "face")
		nestedShop = vVisit("wh-shop", vAlice, vAt(1, 12, 0), vAt(1, 12, 30), "payment")
	)
	cases := []struct {
		name    string
		settled []*ledger.Tx // day 1, closed before tx
		late    []*ledger.Tx // day 1, posted after the close
		open    []*ledger.Tx // day 2, open
		tx      *ledger.Tx
		code    string
		field   string
		blame   *ledger.Tx // the record the refusal must name
		site    string     // its site as the message names it
		how     string
	}{
		// Refused: settled records.
		{name: "shanghai_mall_day2_0030_after_settled_wuhan_mall_until_2300", settled: []*ledger.Tx{whMallEve},
			tx:   vVisit("sh-mall", vAlice, vAt(2, 0, 30), vAt(2, 1, 0), "id_card"),
			code: state.CodeConflict, field: "person", blame: whMallEve, site: "wh-mall"},
		{name: "shanghai_mall_day2_0030_after_late_wuhan_home_2200", settled: []*ledger.Tx{whMall}, late: []*ledger.Tx{homeLate},
			tx:   vVisit("sh-mall", vAlice, vAt(2, 0, 30), vAt(2, 1, 0), "id_card"),
			code: state.CodeConflict, field: "person", blame: homeLate, site: "wh-home"},
		{name: "shanghai_mall_day2_0700_during_settled_night_at_home", settled: []*ledger.Tx{night},
			tx:   vVisit("sh-mall", vAlice, vAt(2, 7, 0), vAt(2, 7, 30), "id_card"),
			code: state.CodeConflict, field: "person", blame: night, site: "wh-home"},
		{name: "late_wuhan_shop_1900_before_settled_shanghai_mall_at_2000", settled: []*ledger.Tx{shMallEve},
			tx:   vVisit("wh-shop", vAlice, vAt(1, 19, 0), vAt(1, 19, 30), "id_card"),
			code: state.CodeConflict, field: "person", blame: shMallEve, site: "sh-mall"},
		{name: "late_shanghai_mall_overlapping_settled_wuhan_mall", settled: []*ledger.Tx{whMall},
			tx:   vVisit("sh-mall", vAlice, vAt(1, 11, 0), vAt(1, 11, 30), "id_card"),
			code: state.CodeConflict, field: "person", blame: whMall, site: "wh-mall"},
		{name: "late_shop_9600m_away_overlapping_settled_mall", settled: []*ledger.Tx{whMall},
			tx:   vVisit("wh-shop-far", vAlice, vAt(1, 11, 0), vAt(1, 11, 30), "id_card"),
			code: state.CodeConflict, field: "person", blame: whMall, site: "wh-mall"},
		{name: "late_shanghai_station_during_settled_carriage_ride", settled: []*ledger.Tx{carriage},
			tx:   vVisit("sh-station", vAlice, vAt(1, 10, 0), vAt(1, 10, 30), "id_card"),
			code: state.CodeConflict, field: "person", blame: carriage, site: "G1234/05"},
		{name: "late_wuhan_station_0900_during_settled_carriage_ride_from_it", settled: []*ledger.Tx{carriage},
			tx:   vVisit("wh-station", vAlice, vAt(1, 9, 0), vAt(1, 9, 10), "id_card"),
			code: state.CodeConflict, field: "person", blame: carriage, site: "G1234/05"},
		{name: "late_guangzhou_airport_1230_after_settled_carriage_on_wuhan_shanghai_route", settled: []*ledger.Tx{carriage},
			tx:   vVisit("gz-airport", vAlice, vAt(1, 12, 30), vAt(1, 13, 0), "id_card"),
			code: state.CodeConflict, field: "person", blame: carriage, site: "G1234/05"},
		{name: "late_shanghai_mall_1300_after_wuhan_0900_and_settled_bus_without_route", settled: []*ledger.Tx{whShop8, bus},
			tx:   vVisit("sh-mall", vAlice, vAt(1, 13, 0), vAt(1, 13, 30), "face"),
			code: state.CodeConflict, field: "person", blame: bus, site: "wh-bus"},
		{name: "late_shanghai_mall_2030_after_settled_wuhan_mall_until_2000_with_nested_shop_visit",
			settled: []*ledger.Tx{longMall, nestedShop},
			tx:      vVisit("sh-mall", vAlice, vAt(1, 20, 30), vAt(1, 21, 0), "plate"),
			code:    state.CodeConflict, field: "person"},
		{name: "late_shanghai_mall_1200_during_settled_wuhan_office_shift_0900_1800", settled: []*ledger.Tx{office},
			tx:   vVisit("sh-mall", vAlice, vAt(1, 12, 0), vAt(1, 12, 30), "payment"),
			code: state.CodeConflict, field: "person", blame: office, site: "wh-office"},
		{name: "late_shanghai_mall_1700_during_settled_wuhan_office_shift_0900_1800", settled: []*ledger.Tx{office},
			tx:   vVisit("sh-mall", vAlice, vAt(1, 17, 0), vAt(1, 17, 30), "payment"),
			code: state.CodeConflict, field: "person", blame: office, site: "wh-office"},
		// Refused: open movements.
		{name: "day2_wuhan_shop_during_open_move_to_xiaogan", settled: []*ledger.Tx{whMall}, open: []*ledger.Tx{openMove},
			tx:   vVisit("wh-shop", vAlice, vAt(2, 12, 20), vAt(2, 12, 30), "payment"),
			code: state.CodeConflict, field: "person", blame: openMove, site: "wh-station", how: "while the person is travelling on it"},
		{name: "day2_guangzhou_airport_from_1254_overlapping_open_move_6min", open: []*ledger.Tx{openMove},
			tx:   vVisit("gz-airport", vAlice, vAt(2, 12, 54), vAt(2, 13, 30), "id_card"),
			code: state.CodeConflict, field: "person", blame: openMove, site: "xg-station", how: "while the person is travelling on it"},
		{name: "day2_move_shop_to_home_during_open_move", open: []*ledger.Tx{openMove},
			tx:   vMove(vAlice, "wh-shop", "wh-home", vAt(2, 12, 10), vAt(2, 12, 40)),
			code: state.CodeConflict, field: "person", blame: openMove, site: "wh-station", how: "while the person is travelling on it"},
		// Refused: impossible movements.
		{name: "move_wuhan_to_xiaogan_station_60km_in_20min",
			tx:   vMove(vAlice, "wh-station", "xg-station", vAt(2, 12, 0), vAt(2, 12, 20)),
			code: state.CodeConflict, field: "arrive"},
		{name: "move_wuhan_to_shanghai_station_690km_in_4h",
			tx:   vMove(vAlice, "wh-station", "sh-station", vAt(2, 8, 0), vAt(2, 12, 0)),
			code: state.CodeConflict, field: "arrive"},
		// Admitted.
		{name: "day2_wuhan_home_0700_during_settled_night_at_home", settled: []*ledger.Tx{night},
			tx: vVisit("wh-home", vAlice, vAt(2, 7, 0), vAt(2, 7, 0), "access_card")},
		{name: "day2_wuhan_shop_1000_after_late_wuhan_home_2200", settled: []*ledger.Tx{whMall}, late: []*ledger.Tx{homeLate},
			tx: vVisit("wh-shop", vAlice, vAt(2, 10, 0), vAt(2, 10, 30), "payment")},
		{name: "late_wuhan_mall_overlapping_settled_wuhan_mall", settled: []*ledger.Tx{whMall},
			tx: vVisit("wh-mall", vAlice, vAt(1, 11, 0), vAt(1, 11, 30), "phone")},
		{name: "late_restaurant_inside_mall_overlapping_settled_mall", settled: []*ledger.Tx{whMall},
			tx: vVisit("wh-mall/restaurant", vAlice, vAt(1, 11, 0), vAt(1, 11, 30), "payment")},
		{name: "late_mall_around_settled_restaurant_inside_it", settled: []*ledger.Tx{vVisit("wh-mall/restaurant", vAlice, vAt(1, 11, 0), vAt(1, 11, 30), "payment")},
			tx: vVisit("wh-mall", vAlice, vAt(1, 10, 0), vAt(1, 12, 0), "face")},
		{name: "late_wheel_3km_from_its_park_overlapping_settled_park", settled: []*ledger.Tx{park},
			tx: vVisit("wh-park/wheel", vAlice, vAt(1, 11, 0), vAt(1, 11, 20), "phone")},
		{name: "late_carriage_overlapping_settled_train", settled: []*ledger.Tx{train},
			tx: carriage},
		{name: "late_shop_far_overlapping_settled_taxi_driver_shift", settled: []*ledger.Tx{driver},
			tx: shopFar},
		{name: "late_taxi_driver_shift_overlapping_settled_shop_far", settled: []*ledger.Tx{shopFar},
			tx: driver},
		{name: "late_shop_41km_away_overlapping_settled_office_shift", settled: []*ledger.Tx{office},
			tx: shopFar},
		{name: "late_office_shift_overlapping_settled_shop_41km_away", settled: []*ledger.Tx{shopFar},
			tx: office},
		{name: "late_shop_960m_away_overlapping_settled_mall", settled: []*ledger.Tx{whMall},
			tx: vVisit("wh-shop", vAlice, vAt(1, 11, 0), vAt(1, 11, 30), "payment")},
		{name: "late_bus_without_route_between_settled_wuhan_0900_and_shanghai_1600", settled: []*ledger.Tx{whShop8, shMall16},
			tx: bus},
		{name: "late_shanghai_mall_1300_after_wuhan_0900_and_settled_flight_without_route", settled: []*ledger.Tx{whShop8, flight},
			tx: vVisit("sh-mall", vAlice, vAt(1, 13, 0), vAt(1, 13, 30), "face")},
		{name: "late_guangzhou_airport_1230_after_settled_carriage_without_route", settled: []*ledger.Tx{whStation, k9},
			tx: vVisit("gz-airport", vAlice, vAt(1, 12, 30), vAt(1, 13, 0), "id_card")},
		{name: "late_shanghai_mall_1230_after_settled_carriage_on_wuhan_shanghai_route", settled: []*ledger.Tx{carriage},
			tx: vVisit("sh-mall", vAlice, vAt(1, 12, 30), vAt(1, 13, 0), "face")},
		{name: "day2_shanghai_mall_overlapping_open_wuhan_mall", open: []*ledger.Tx{openWHMall},
			tx: vVisit("sh-mall", vAlice, vAt(2, 11, 0), vAt(2, 11, 30), "plate")},
		{name: "day2_xiaogan_station_during_open_move_to_it", open: []*ledger.Tx{openMove},
			tx: vVisit("xg-station", vAlice, vAt(2, 12, 30), vAt(2, 13, 30), "id_card")},
		{name: "day2_guangzhou_airport_from_1256_overlapping_open_move_4min", open: []*ledger.Tx{openMove},
			tx: vVisit("gz-airport", vAlice, vAt(2, 12, 56), vAt(2, 13, 30), "id_card")},
		{name: "day2_bob_at_wuhan_shop_during_alice_open_move", open: []*ledger.Tx{openMove},
			tx: vVisit("wh-shop", vBob, vAt(2, 12, 20), vAt(2, 12, 30), "payment")},
		{name: "move_wuhan_to_xiaogan_station_60km_in_1h",
			tx: vMove(vAlice, "wh-station", "xg-station", vAt(2, 8, 0), vAt(2, 9, 0))},
		{name: "move_wuhan_to_shanghai_station_690km_in_5h",
			tx: vMove(vAlice, "wh-station", "sh-station", vAt(2, 8, 0), vAt(2, 13, 0))},
		{name: "move_wuhan_station_into_carriage_on_its_route_in_5min",
			tx: vMove(vAlice, "wh-station", "G1234/05", vAt(2, 8, 0), vAt(2, 8, 5))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := vWorldFixture(t, 0)
			if len(tc.settled) > 0 {
				vMust(f, vAt(1, 23, 30), tc.settled...)
			}
			vMust(f, vClose(1), vCloseWindows(vClose(1), authKey))
			if _, ok := vDecision(t, f, vAlice, vEnd(1)); ok {
				t.Fatal("setup: the settled records were not all accepted")
			}
			if len(tc.late) > 0 {
				vMust(f, vClose(1)+60, tc.late...)
			}
			if len(tc.open) > 0 {
				vMust(f, vAt(2, 16, 0), tc.open...)
			}
			errs := vBlock(f, vAt(2, 16, 1), tc.tx)
			checkResult(t, errs[0], tc.code, tc.field)
			if tc.blame != nil {
				vCheckConflictMsg(t, errs[0], tc.site, tc.blame, tc.how)
			}
		})
	}
}

// TestWindowClose checks when day 1's window (ending at vEnd(1)) closes:
// only once both the block time and the data clock are past its end plus
// the grace period.
func TestWindowClose(t *testing.T) {
	t.Parallel()
	c := vClose(1)
	bobAt := func(tm int64) *ledger.Tx { return vVisit("wh-shop", vBob, tm, tm, "payment") }
	cases := []struct {
		name   string
		steps  []vStep // after alice's day-1 record
		closed bool
	}{
		{name: "block_and_record_at_end_plus_grace", steps: []vStep{{tm: c, txs: one(bobAt(c))}}, closed: true},
		{name: "block_and_record_1s_before_end_plus_grace", steps: []vStep{{tm: c - 1, txs: one(bobAt(c - 1))}}},
		{name: "block_at_end_plus_1h_record_at_end_plus_1h", steps: []vStep{{tm: vEnd(1) + 3600, txs: one(bobAt(vEnd(1) + 3600))}}},
		{name: "empty_block_1h_past_grace", steps: []vStep{{tm: c + 3600}}},
		{name: "record_at_grace_block_10min_before", steps: []vStep{{tm: c - 600, txs: one(bobAt(c))}}},
		{name: "record_at_grace_block_10min_before_then_empty_block_at_grace", steps: []vStep{
			{tm: c - 600, txs: one(bobAt(c))}, {tm: c}}, closed: true},
		{name: "close_windows_until_end_plus_grace", steps: []vStep{{tm: c, txs: one(vCloseWindows(c, authKey))}}, closed: true},
		{name: "close_windows_until_1s_short", steps: []vStep{{tm: c, txs: one(vCloseWindows(c-1, authKey))}}},
		{name: "close_windows_far_ahead_block_1s_short", steps: []vStep{{tm: c - 1, txs: one(vCloseWindows(c+vDay, authKey))}}},
		{name: "close_windows_far_ahead_then_empty_block_at_grace", steps: []vStep{
			{tm: c - 3600, txs: one(vCloseWindows(c+vDay, authKey))}, {tm: c}}, closed: true},
		{name: "close_windows_by_shop_key", steps: []vStep{{tm: c, txs: one(vCloseWindows(c, vKey("wh-shop"))),
			code: state.CodeWrongSigner, field: "signature"}}},
		{name: "close_windows_by_administrator", steps: []vStep{{tm: c, txs: one(vCloseWindows(c, vAdminKey)),
			code: state.CodeWrongSigner, field: "signature"}}},
		{name: "case_reported_at_end_plus_grace", steps: []vStep{{tm: c, txs: one(sign(&ledger.Case{Person: direct(vBob),
			Status: "confirmed", Reported: c, By: "sh-hosp"}, vKey("sh-hosp")))}}, closed: true},
		{name: "move_departing_at_end_plus_grace", steps: []vStep{{tm: c, txs: one(vMove(vBob, "wh-station", "xg-station", c, c+3600))}},
			closed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := vWorldFixture(t, 0)
			rec := vVisit("wh-mall", vAlice, vAt(1, 10, 0), vAt(1, 11, 0), "face")
			vMust(f, vAt(1, 11, 0), rec)
			vRun(t, f, tc.steps)
			head, ok := vHead(t, f, vAlice)
			pending := f.m.Pending(vEnd(1), vAlice)
			pbs := vPersonBlocks(t, f, vAlice)
			if !tc.closed {
				if ok || !pending || len(pbs) != 0 {
					t.Errorf("window closed too early: head %v (closed end %d), pending %v, %d person blocks", ok, head.ClosedEnd, pending, len(pbs))
				}
				return
			}
			if !ok || head.ClosedEnd != vEnd(1) || head.Seq != 1 || pending || len(pbs) != 1 {
				t.Fatalf("window not closed: head %v (closed end %d, seq %d), pending %v, %d person blocks", ok, head.ClosedEnd, head.Seq, pending, len(pbs))
			}
			if !slices.Equal(pbs[0].Entries, vIDs(rec)) || pbs[0].WindowStart != vD || pbs[0].WindowEnd != vEnd(1) ||
				pbs[0].Height != f.height {
				t.Errorf("person block %+v", pbs[0])
			}
		})
	}
}

// TestLateRecords closes alice's day 1 (one record at the mall) and then
// posts a record for a closed window: it passes the door, is accepted at
// once and sealed in its own person block.
func TestLateRecords(t *testing.T) {
	t.Parallel()
	first := vVisit("wh-mall", vAlice, vAt(1, 10, 0), vAt(1, 11, 0), "face")
	cases := []struct {
		name  string
		late  *ledger.Tx
		start int64 // the window of its person block
		code  string
		field string
	}{
		{name: "day1_wuhan_shop_1600", late: vVisit("wh-shop", vAlice, vAt(1, 16, 0), vAt(1, 16, 30), "payment"), start: vD},
		{name: "day1_move_wuhan_to_xiaogan_1400", late: vMove(vAlice, "wh-station", "xg-station", vAt(1, 14, 0), vAt(1, 15, 0)), start: vD},
		{name: "day0_wuhan_shop_2000", late: vVisit("wh-shop", vAlice, vAt(0, 20, 0), vAt(0, 21, 0), "payment"), start: vD - vDay},
		{name: "day1_restaurant_inside_mall_1200", late: vVisit("wh-mall/restaurant", vAlice, vAt(1, 12, 0), vAt(1, 12, 30), "face"),
			start: vD},
		{name: "day1_shanghai_mall_1130_refused", late: vVisit("sh-mall", vAlice, vAt(1, 11, 30), vAt(1, 12, 0), "id_card"),
			code: state.CodeConflict, field: "person"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := vWorldFixture(t, 0)
			vMust(f, vAt(1, 11, 0), first)
			vMust(f, vClose(1), vCloseWindows(vClose(1), authKey))
			before := vCheckPersonChain(t, f, vAlice)
			if len(before) != 1 {
				t.Fatalf("%d person blocks after the close, want 1", len(before))
			}
			errs := vBlock(f, vClose(1)+3600, tc.late)
			checkResult(t, errs[0], tc.code, tc.field)
			pbs := vCheckPersonChain(t, f, vAlice)
			if tc.code != "" {
				if len(pbs) != 1 {
					t.Errorf("a refused late record sealed a person block")
				}
				return
			}
			if st := vStatus(t, f, vAlice, tc.late); st != state.StatusRecorded {
				t.Errorf("late record %s", st)
			}
			if len(pbs) != 2 {
				t.Fatalf("%d person blocks, want 2", len(pbs))
			}
			pb := pbs[1]
			if !slices.Equal(pb.Entries, vIDs(tc.late)) || pb.WindowStart != tc.start || pb.WindowEnd != tc.start+vDay ||
				pb.Height != f.height || pb.PrevHash != before[0].Hash() {
				t.Errorf("late person block %+v", pb)
			}
			if f.m.Pending(tc.start+vDay, vAlice) {
				t.Error("a late record left its window open")
			}
			head, _ := vHead(t, f, vAlice)
			if head.ClosedEnd != vEnd(1) {
				t.Errorf("head.ClosedEnd = %d, want day 1's end %d", head.ClosedEnd, vEnd(1))
			}
		})
	}
}

// TestPersonChain closes three windows of alice (with, in one case, a
// rejection and a late record between them) and checks the person blocks link, their entry
// roots match their entries and they hold exactly the accepted records.
func TestPersonChain(t *testing.T) {
	t.Parallel()
	var (
		d1a  = vVisit("wh-mall", vAlice, vAt(1, 10, 0), vAt(1, 11, 0), "face")
		d1b  = vVisit("wh-shop", vAlice, vAt(1, 12, 0), vAt(1, 12, 30), "payment")
		d1x  = vVisit("sh-mall", vAlice, vAt(1, 10, 30), vAt(1, 10, 40), "plate") // rejected at close
		d1l  = vVisit("wh-home", vAlice, vAt(1, 22, 0), vAt(1, 22, 0), "access_card")
		d2a  = vMove(vAlice, "wh-station", "xg-station", vAt(2, 9, 0), vAt(2, 10, 0))
		d2b  = vVisit("xg-station", vAlice, vAt(2, 10, 0), vAt(2, 10, 10), "id_card")
		d4a  = vVisit("wh-home", vAlice, vAt(4, 8, 0), vAt(4, 8, 0), "access_card")
		bobs = vVisit("wh-shop", vBob, vAt(1, 12, 0), vAt(1, 12, 10), "payment")
	)
	cases := []struct {
		name    string
		steps   []vStep
		entries [][]*ledger.Tx // per person block
		windows []int64        // their window starts
	}{
		{name: "day1_day2_day4_with_rejection_and_late_home", steps: []vStep{
			{tm: vAt(1, 13, 0), txs: []*ledger.Tx{d1b, d1x, d1a, bobs}},
			{tm: vClose(1), txs: one(vCloseWindows(vClose(1), authKey))},
			{tm: vClose(1) + 60, txs: one(d1l)},
			{tm: vAt(2, 10, 30), txs: []*ledger.Tx{d2b, d2a}},
			{tm: vAt(4, 8, 5), txs: []*ledger.Tx{d4a}},
			{tm: vClose(4), txs: one(vCloseWindows(vClose(4), authKey))},
		},
			entries: [][]*ledger.Tx{{d1a, d1b}, {d1l}, {d2a, d2b}, {d4a}},
			windows: []int64{vD, vD, vD + vDay, vD + 3*vDay}},
		{name: "days_1_2_4_posted_together_then_closed", steps: []vStep{
			{tm: vAt(4, 8, 5), txs: []*ledger.Tx{d4a, d2a, d1a, bobs, d2b, d1b}},
			{tm: vClose(4), txs: one(vCloseWindows(vClose(4), authKey))},
		},
			entries: [][]*ledger.Tx{{d1a, d1b}, {d2a, d2b}, {d4a}},
			windows: []int64{vD, vD + vDay, vD + 3*vDay}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := vWorldFixture(t, 0)
			vRun(t, f, tc.steps)
			pbs := vCheckPersonChain(t, f, vAlice)
			if len(pbs) != len(tc.entries) {
				t.Fatalf("%d person blocks, want %d", len(pbs), len(tc.entries))
			}
			for i, pb := range pbs {
				if want := vIDs(tc.entries[i]...); !slices.Equal(pb.Entries, want) {
					t.Errorf("person block %d: entries %v, want %v", i, vShort(pb.Entries), vShort(want))
				}
				if pb.WindowStart != tc.windows[i] {
					t.Errorf("person block %d: window start %d, want %d", i, pb.WindowStart, tc.windows[i])
				}
				raw, _ := vGet(t, f, store.PersonBlockKey(vAlice, uint64(i)))
				if !bytes.Equal(raw, pb.Bytes()) {
					t.Errorf("person block %d: stored bytes are not canonical", i)
				}
			}
			bp := vCheckPersonChain(t, f, vBob)
			if len(bp) != 1 || !slices.Equal(bp[0].Entries, vIDs(bobs)) {
				t.Errorf("bob's person chain: %d blocks", len(bp))
			}
		})
	}
}

// TestSiteChains checks each site's chain: its records in the order they
// were applied, each entry txid||link with link = SiteLink(prev, txid),
// and the head (seq count || last link) written in Finish. A movement
// appears in both its sites' chains; a record rejected at the close stays
// in its site's chain as evidence; a refused one never enters.
func TestSiteChains(t *testing.T) {
	t.Parallel()
	var (
		s1   = vVisit("wh-shop", vAlice, vAt(1, 9, 0), vAt(1, 9, 30), "payment")
		s2   = vVisit("wh-shop", vBob, vAt(1, 9, 10), vAt(1, 9, 20), "payment")
		mv   = vMove(vAlice, "wh-station", "xg-station", vAt(1, 12, 0), vAt(1, 13, 0))
		x1   = vVisit("xg-station", vBob, vAt(1, 13, 0), vAt(1, 13, 5), "id_card")
		s3   = vVisit("wh-shop", vBob, vAt(1, 14, 0), vAt(1, 14, 5), "payment")
		rej  = vVisit("sh-mall", vAlice, vAt(1, 9, 10), vAt(1, 9, 20), "plate")
		bad  = vVisit("wh-shop", vAlice, vAt(1, 23, 0), vAt(1, 22, 0), "payment") // out before in: refused
		w1   = vVisit("wh-mall", vAlice, vAt(1, 15, 0), vAt(1, 15, 30), "face")
		late = vVisit("wh-shop", vAlice, vAt(1, 16, 0), vAt(1, 16, 10), "payment")
	)
	cases := []struct {
		name  string
		steps []vStep
		want  map[string][]*ledger.Tx
	}{
		{name: "visits_and_a_move_in_two_blocks", steps: []vStep{
			{tm: vAt(1, 12, 0), txs: []*ledger.Tx{s2, s1}},
			{tm: vAt(1, 14, 0), txs: []*ledger.Tx{mv, x1, s3}},
		}, want: map[string][]*ledger.Tx{"wh-shop": {s2, s1, s3}, "wh-station": {mv}, "xg-station": {mv, x1}}},
		{name: "rejected_refused_and_late_records", steps: []vStep{
			{tm: vAt(1, 15, 30), txs: []*ledger.Tx{s1, rej, w1}},
			{tm: vAt(1, 15, 31), txs: one(bad), code: state.CodeInvalid, field: "out"},
			{tm: vClose(1), txs: one(vCloseWindows(vClose(1), authKey))},
			{tm: vClose(1) + 60, txs: one(late)},
		}, want: map[string][]*ledger.Tx{"wh-shop": {s1, late}, "sh-mall": {rej}, "wh-mall": {w1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := vWorldFixture(t, 0)
			vRun(t, f, tc.steps)
			at := map[[12]byte]ledger.Hash{}
			tlo, thi := store.TablePrefix(store.TabTxIndex)
			if err := f.db.Scan(tlo, thi, func(k, v []byte) bool {
				at[[12]byte(v)] = ledger.Hash(k[1:])
				return true
			}); err != nil {
				t.Fatal(err)
			}
			for _, s := range vSites {
				num := vSiteNum(t, f, s.id)
				lo, hi := store.SiteChainPrefix(num)
				var link ledger.Hash
				var got []ledger.Hash
				if err := f.db.Scan(lo, hi, func(k, v []byte) bool {
					// The store keeps where each entry's record is
					// (height, index); its txid is the one the
					// transaction index puts there, its link is
					// recomputed here, the last checked against the head.
					if !bytes.Equal(k, store.SiteChainKey(num, uint64(len(got)))) || len(v) != 12 {
						t.Fatalf("site %s: entry %d at key %x, %d bytes", s.id, len(got), k, len(v))
					}
					txid, ok := at[[12]byte(v)]
					if !ok {
						t.Fatalf("site %s: entry %d names %x, where the index has no record", s.id, len(got), v)
					}
					link = ledger.SiteLink(link, txid)
					got = append(got, txid)
					return true
				}); err != nil {
					t.Fatal(err)
				}
				if want := vIDs(tc.want[s.id]...); !slices.Equal(got, want) {
					t.Errorf("site %s: chain %v, want %v", s.id, vShort(got), vShort(want))
				}
				hv, ok := vGet(t, f, store.SiteHeadKey(num))
				if len(got) == 0 {
					if ok {
						t.Errorf("site %s: head without a chain", s.id)
					}
					continue
				}
				wantHead := append(binary.BigEndian.AppendUint64(nil, uint64(len(got))), link[:]...)
				if !ok || !bytes.Equal(hv, wantHead) {
					t.Errorf("site %s: head %x, want %x", s.id, hv, wantHead)
				}
			}
		})
	}
}

// TestCorrections records, on day 1, a visit at the Wuhan shop (parties:
// the Wuhan authority and the administrator) and a movement from Wuhan to
// Xiaogan (the two regions' authorities and the administrator), then
// proposes and approves corrections block by block.
func TestCorrections(t *testing.T) {
	t.Parallel()
	var (
		vis   = vVisit("wh-shop", vAlice, vAt(1, 10, 0), vAt(1, 11, 0), "payment")
		mv    = vMove(vAlice, "wh-station", "xg-station", vAt(1, 12, 0), vAt(1, 13, 0))
		toll  = vVisit("toll-hubei-henan", vAlice, vAt(1, 16, 0), vAt(1, 16, 0)+30, "plate")
		cas   = sign(&ledger.Case{Person: direct(vAlice), Status: "confirmed", Reported: vAt(1, 11, 0), By: "sh-hosp"}, vKey("sh-hosp"))
		pVis  = vAnnul(vis, vWHKey)
		pMv   = vAnnul(mv, vWHKey)
		pMvX  = sign(&ledger.Correction{Target: mv.ID(), Action: ledger.ActionAnnul, Reason: "wrong person"}, vXGKey)
		aVis  = vAmend(vis, vAt(1, 10, 30), vAt(1, 11, 30), "wh-mall", vAdminKey)
		tm    = vAt(1, 17, 0)
		later = func(n int) int64 { return tm + int64(n)*60 }
	)
	type want struct {
		target *ledger.Tx
		status state.Status
		corr   *ledger.Tx // a correction whose stored state is checked
		apps   int        // its approvals
		quorum int
		ok     bool // applied
	}
	cases := []struct {
		name   string
		quorum int
		steps  []vStep
		want   want
	}{
		{name: "annul_visit_by_wuhan_then_administrator", steps: []vStep{
			{tm: later(1), txs: one(pVis)}, {tm: later(2), txs: one(vApprove(pVis, vAdminKey, vAdminKey))}},
			want: want{target: vis, status: state.StatusAnnulled, corr: pVis, apps: 2, quorum: 2, ok: true}},
		{name: "annul_visit_proposed_by_wuhan_only", steps: []vStep{{tm: later(1), txs: one(pVis)}},
			want: want{target: vis, status: state.StatusRecorded, corr: pVis, apps: 1, quorum: 2}},
		{name: "annul_visit_proposal_and_approval_in_one_block", steps: []vStep{
			{tm: later(1), txs: []*ledger.Tx{pVis, vApprove(pVis, vAdminKey, vAdminKey)}}},
			want: want{target: vis, status: state.StatusAnnulled, corr: pVis, apps: 2, quorum: 2, ok: true}},
		{name: "amend_visit_to_wuhan_mall_by_administrator_then_wuhan", steps: []vStep{
			{tm: later(1), txs: one(aVis)}, {tm: later(2), txs: one(vApprove(aVis, vWHKey, vWHKey))}},
			want: want{target: vis, status: state.StatusAmended, corr: aVis, apps: 2, quorum: 2, ok: true}},
		{name: "annul_move_by_wuhan_and_xiaogan_of_three", steps: []vStep{
			{tm: later(1), txs: one(pMv)}, {tm: later(2), txs: one(vApprove(pMv, vXGKey, vXGKey))}},
			want: want{target: mv, status: state.StatusRecorded, corr: pMv, apps: 2, quorum: 3}},
		{name: "annul_move_by_wuhan_xiaogan_and_administrator", steps: []vStep{
			{tm: later(1), txs: one(pMv)}, {tm: later(2), txs: one(vApprove(pMv, vXGKey, vXGKey))},
			{tm: later(3), txs: one(vApprove(pMv, vAdminKey, vAdminKey))}},
			want: want{target: mv, status: state.StatusAnnulled, corr: pMv, apps: 3, quorum: 3, ok: true}},
		{name: "annul_move_by_wuhan_and_xiaogan_quorum_2", quorum: 2, steps: []vStep{
			{tm: later(1), txs: one(pMv)}, {tm: later(2), txs: one(vApprove(pMv, vXGKey, vXGKey))}},
			want: want{target: mv, status: state.StatusAnnulled, corr: pMv, apps: 2, quorum: 2, ok: true}},
		{name: "annul_visit_quorum_5_capped_to_2_parties", quorum: 5, steps: []vStep{
			{tm: later(1), txs: one(pVis)}, {tm: later(2), txs: one(vApprove(pVis, vAdminKey, vAdminKey))}},
			want: want{target: vis, status: state.StatusAnnulled, corr: pVis, apps: 2, quorum: 2, ok: true}},
		// Wrong parties.
		{name: "visit_annul_proposed_by_shanghai", steps: []vStep{{tm: later(1), txs: one(vAnnul(vis, vSHKey)),
			code: state.CodeWrongSigner, field: "signature"}}, want: want{target: vis, status: state.StatusRecorded}},
		{name: "visit_annul_proposed_by_xiaogan", steps: []vStep{{tm: later(1), txs: one(vAnnul(vis, vXGKey)),
			code: state.CodeWrongSigner, field: "signature"}}, want: want{target: vis, status: state.StatusRecorded}},
		{name: "visit_annul_proposed_by_chain_authority", steps: []vStep{{tm: later(1), txs: one(vAnnul(vis, authKey)),
			code: state.CodeWrongSigner, field: "signature"}}, want: want{target: vis, status: state.StatusRecorded}},
		{name: "visit_annul_proposed_by_the_shop", steps: []vStep{{tm: later(1), txs: one(vAnnul(vis, vKey("wh-shop"))),
			code: state.CodeWrongSigner, field: "signature"}}, want: want{target: vis, status: state.StatusRecorded}},
		{name: "visit_annul_approved_by_shanghai", steps: []vStep{{tm: later(1), txs: one(pVis)},
			{tm: later(2), txs: one(vApprove(pVis, vSHKey, vSHKey)), code: state.CodeWrongSigner, field: "signature"}},
			want: want{target: vis, status: state.StatusRecorded, corr: pVis, apps: 1, quorum: 2}},
		{name: "visit_annul_approved_by_stranger", steps: []vStep{{tm: later(1), txs: one(pVis)},
			{tm: later(2), txs: one(vApprove(pVis, vStranger, vStranger)), code: state.CodeWrongSigner, field: "signature"}},
			want: want{target: vis, status: state.StatusRecorded, corr: pVis, apps: 1, quorum: 2}},
		{name: "approval_naming_administrator_signed_by_stranger", steps: []vStep{{tm: later(1), txs: one(pVis)},
			{tm: later(2), txs: one(vApprove(pVis, vAdminKey, vStranger)), code: state.CodeWrongSigner, field: "approver"}},
			want: want{target: vis, status: state.StatusRecorded, corr: pVis, apps: 1, quorum: 2}},
		{name: "approval_naming_administrator_signed_by_wuhan", steps: []vStep{{tm: later(1), txs: one(pMv)},
			{tm: later(2), txs: one(vApprove(pMv, vAdminKey, vWHKey)), code: state.CodeWrongSigner, field: "approver"}},
			want: want{target: mv, status: state.StatusRecorded, corr: pMv, apps: 1, quorum: 3}},
		// Duplicates.
		{name: "move_annul_approved_again_by_its_proposer", steps: []vStep{{tm: later(1), txs: one(pMv)},
			{tm: later(2), txs: one(vApprove(pMv, vWHKey, vWHKey)), code: state.CodeConflict, field: "signature"}},
			want: want{target: mv, status: state.StatusRecorded, corr: pMv, apps: 1, quorum: 3}},
		{name: "move_annul_approved_twice_by_xiaogan", steps: []vStep{{tm: later(1), txs: one(pMv)},
			{tm: later(2), txs: one(vApprove(pMv, vXGKey, vXGKey))},
			{tm: later(3), txs: one(vApprove(pMv, vXGKey, vXGKey)), code: state.CodeReplay}},
			want: want{target: mv, status: state.StatusRecorded, corr: pMv, apps: 2, quorum: 3}},
		{name: "move_annul_approved_after_quorum_2_reached", quorum: 2, steps: []vStep{{tm: later(1), txs: one(pMv)},
			{tm: later(2), txs: one(vApprove(pMv, vXGKey, vXGKey))},
			{tm: later(3), txs: one(vApprove(pMv, vAdminKey, vAdminKey)), code: state.CodeConflict, field: "correction"}},
			want: want{target: mv, status: state.StatusAnnulled, corr: pMv, apps: 2, quorum: 2, ok: true}},
		{name: "second_correction_of_annulled_visit", steps: []vStep{{tm: later(1), txs: one(pVis)},
			{tm: later(2), txs: one(vApprove(pVis, vAdminKey, vAdminKey))},
			{tm: later(3), txs: one(aVis), code: state.CodeConflict, field: "target"}},
			want: want{target: vis, status: state.StatusAnnulled, corr: pVis, apps: 2, quorum: 2, ok: true}},
		{name: "rival_correction_approved_after_first_applied", quorum: 2, steps: []vStep{
			{tm: later(1), txs: []*ledger.Tx{pMv, pMvX}},
			{tm: later(2), txs: one(vApprove(pMv, vAdminKey, vAdminKey))},
			{tm: later(3), txs: one(vApprove(pMvX, vWHKey, vWHKey)), code: state.CodeConflict, field: "target"}},
			want: want{target: mv, status: state.StatusAnnulled, corr: pMvX, apps: 1, quorum: 2}},
		// Invalid targets and corrections.
		{name: "target_visit_in_same_block", steps: []vStep{{tm: later(1), txs: []*ledger.Tx{
			vVisit("wh-shop", vAlice, vAt(1, 16, 30), vAt(1, 16, 40), "payment"),
			vAnnul(vVisit("wh-shop", vAlice, vAt(1, 16, 30), vAt(1, 16, 40), "payment"), vWHKey)},
			code: state.CodeInvalid, field: "target"}}, want: want{target: vis, status: state.StatusRecorded}},
		{name: "target_unknown_tx", steps: []vStep{{tm: later(1), txs: one(vAnnul(vVisit("wh-shop", vBob, 1, 2, "x"), vWHKey)),
			code: state.CodeInvalid, field: "target"}}, want: want{target: vis, status: state.StatusRecorded}},
		{name: "target_case_report", steps: []vStep{{tm: later(1), txs: one(vAnnul(cas, vWHKey)),
			code: state.CodeInvalid, field: "target"}}, want: want{target: vis, status: state.StatusRecorded}},
		{name: "target_toll_gate_in_region_without_authority", steps: []vStep{{tm: later(1), txs: one(vAnnul(toll, vAdminKey)),
			code: state.CodeInvalid, field: "target"}}, want: want{target: toll, status: state.StatusRecorded}},
		{name: "approval_of_unknown_correction", steps: []vStep{{tm: later(1), txs: one(vApprove(pVis, vAdminKey, vAdminKey)),
			code: state.CodeInvalid, field: "correction"}}, want: want{target: vis, status: state.StatusRecorded}},
		{name: "amend_visit_out_before_in", steps: []vStep{{tm: later(1), txs: one(vAmend(vis, vAt(1, 11, 0), vAt(1, 10, 0), "", vWHKey)),
			code: state.CodeInvalid, field: "out"}}, want: want{target: vis, status: state.StatusRecorded}},
		{name: "amend_move_site", steps: []vStep{{tm: later(1), txs: one(vAmend(mv, vAt(1, 12, 0), vAt(1, 13, 0), "wh-shop", vWHKey)),
			code: state.CodeInvalid, field: "site"}}, want: want{target: mv, status: state.StatusRecorded}},
		{name: "amend_visit_to_unregistered_site", steps: []vStep{{tm: later(1), txs: one(vAmend(vis, vAt(1, 10, 0), vAt(1, 11, 0), "nowhere", vWHKey)),
			code: state.CodeUnknownSite, field: "site"}}, want: want{target: vis, status: state.StatusRecorded}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := vWorldFixture(t, tc.quorum)
			vMust(f, tm, vis, mv, toll, cas)
			vRun(t, f, tc.steps)
			w := tc.want
			if got := vStatus(t, f, vAlice, w.target); got != w.status {
				t.Errorf("target status %s, want %s", got, w.status)
			}
			if w.corr == nil {
				return
			}
			v, ok := vGet(t, f, store.CorrectionKey(w.corr.ID()))
			if !ok {
				t.Fatal("correction not stored")
			}
			c, err := state.DecodeCorrection(v)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Approvals) != w.apps || c.Quorum != w.quorum || (c.Applied != 0) != w.ok {
				t.Errorf("correction: %d approvals, quorum %d, applied at %d; want %d, %d, applied %v",
					len(c.Approvals), c.Quorum, c.Applied, w.apps, w.quorum, w.ok)
			}
			if _, ok := vGet(t, f, store.CorrectionHistKey(w.target.ID(), w.corr.ID())); !ok {
				t.Error("correction missing from the target's history")
			}
			corrBody := w.corr.Body.(*ledger.Correction)
			amended := corrBody.Action == ledger.ActionAmend && w.ok
			np, found := vGet(t, f, store.PersonKey(vAlice, corrBody.In, w.corr.ID()))
			if found != amended {
				t.Fatalf("amended presence under the correction's id: %v, want %v", found, amended)
			}
			if amended {
				p, err := state.DecodePresence(np)
				if err != nil {
					t.Fatal(err)
				}
				num := vSiteNum(t, f, corrBody.Site)
				if p.Status != state.StatusRecorded || p.In != corrBody.In || p.Out != corrBody.Out || p.Site != num || p.TxID != w.corr.ID() {
					t.Errorf("amended presence %+v", p)
				}
				sv, ok := vGet(t, f, store.SiteIdxKey(num, corrBody.In, w.corr.ID()))
				if !ok || !bytes.Equal(sv, np) {
					t.Errorf("amended presence missing from the new site's index")
				}
			}
		})
	}
}

// TestCorrectionChangesSettledRecords settles alice's evening at the
// Wuhan mall (22:00-23:00 on day 1), corrects it, and offers a record
// that contradicts the original or the amended version: late (day 1, the
// door reads the settled records) or of day 2 (the still-open window that
// follows the settled chain). A day-2 record that is admitted must also
// survive the close of day 2.
func TestCorrectionChangesSettledRecords(t *testing.T) {
	t.Parallel()
	eve := vVisit("wh-mall", vAlice, vAt(1, 22, 0), vAt(1, 23, 0), "face")
	annul := vAnnul(eve, vWHKey)
	toShanghai := sign(&ledger.Correction{Target: eve.ID(), Action: ledger.ActionAmend, In: vAt(1, 22, 0), Out: vAt(1, 23, 0),
		Site: "sh-mall", Reason: "wrong site"}, vWHKey)
	lateSH := vVisit("sh-mall", vAlice, vAt(1, 22, 30), vAt(1, 22, 40), "id_card")
	day2SH := vVisit("sh-mall", vAlice, vAt(2, 0, 30), vAt(2, 1, 0), "id_card")
	day2WH := vVisit("wh-shop", vAlice, vAt(2, 0, 30), vAt(2, 1, 0), "id_card")
	cases := []struct {
		name    string
		corr    *ledger.Tx
		approve bool
		tx      *ledger.Tx
		code    string
	}{
		{name: "annul_proposed_only_then_late_shanghai_2230", corr: annul, tx: lateSH, code: state.CodeConflict},
		{name: "annul_approved_then_late_shanghai_2230", corr: annul, approve: true, tx: lateSH},
		{name: "annul_proposed_only_then_day2_shanghai_0030", corr: annul, tx: day2SH, code: state.CodeConflict},
		{name: "annul_approved_then_day2_shanghai_0030", corr: annul, approve: true, tx: day2SH},
		{name: "amend_to_shanghai_proposed_only_then_day2_shanghai_0030", corr: toShanghai, tx: day2SH, code: state.CodeConflict},
		{name: "amend_to_shanghai_approved_then_day2_shanghai_0030", corr: toShanghai, approve: true, tx: day2SH},
		{name: "amend_to_shanghai_approved_then_day2_wuhan_0030", corr: toShanghai, approve: true, tx: day2WH, code: state.CodeConflict},
		{name: "amend_to_shanghai_approved_then_late_shanghai_2230", corr: toShanghai, approve: true, tx: lateSH},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := vWorldFixture(t, 0)
			vMust(f, vAt(1, 23, 30), eve)
			vMust(f, vClose(1), vCloseWindows(vClose(1), authKey))
			vMust(f, vClose(1)+60, tc.corr)
			if tc.approve {
				vMust(f, vClose(1)+120, vApprove(tc.corr, vAdminKey, vAdminKey))
			}
			errs := vBlock(f, vClose(1)+180, tc.tx)
			field := ""
			if tc.code != "" {
				field = "person"
			}
			checkResult(t, errs[0], tc.code, field)
			if tc.code != "" {
				return
			}
			vMust(f, vClose(2), vCloseWindows(vClose(2), authKey))
			if st := vStatus(t, f, vAlice, tc.tx); st != state.StatusRecorded {
				t.Errorf("admitted record is %s after the close of day 2", st)
			}
			vCheckPersonChain(t, f, vAlice)
		})
	}
}

// vHistory is a chain touching everything of issue 3: the lent-card
// evening, the toll gate, closes by record and by CloseWindows, a door
// refusal, a late record, an amendment and an annulment.
func vHistory() []vStep {
	e := newLentCard()
	shMall := vVisit("sh-mall", vBob, vAt(1, 13, 30), vAt(1, 13, 50), "wechat")
	toll := vVisit("toll-hubei-henan", vBob, vAt(1, 14, 0), vAt(1, 14, 0)+30, "plate")
	shHosp := vVisit("sh-hosp", vBob, vAt(1, 15, 30), vAt(1, 18, 0), "id_card")
	mv := vMove(vBob, "wh-station", "xg-station", vAt(2, 9, 0), vAt(2, 10, 0))
	corr := vAmend(e.home, vAt(1, 23, 5), vAt(1, 23, 5), "", vWHKey)
	ann := vAnnul(mv, vXGKey)
	return []vStep{
		{tm: vAt(1, 0, 0), txs: vWorld()},
		{tm: vAt(1, 18, 0), txs: []*ledger.Tx{shMall, toll, shHosp}},
		{tm: vAt(1, 23, 30), txs: []*ledger.Tx{e.swipe1, e.metro, e.mall, e.swipe2, e.restaurant, e.home}},
		{tm: vClose(1), txs: one(vCloseWindows(vClose(1), authKey))},
		{tm: vAt(2, 10, 0), txs: []*ledger.Tx{mv, vVisit("sh-mall", vAlice, vAt(1, 21, 0), vAt(1, 21, 5), "plate")},
			code: state.CodeConflict, field: "person"},
		{tm: vAt(2, 10, 1), txs: []*ledger.Tx{vVisit("wh-home", vAlice, vAt(1, 7, 0), vAt(1, 7, 0), "access_card"), corr}},
		{tm: vAt(2, 10, 2), txs: []*ledger.Tx{vApprove(corr, vAdminKey, vAdminKey), ann}},
		{tm: vClose(2), txs: []*ledger.Tx{vVisit("wh-shop", vAlice, vClose(2), vClose(2), "payment")}},
		{tm: vClose(2) + 60, txs: []*ledger.Tx{vApprove(ann, vWHKey, vWHKey), vApprove(ann, vAdminKey, vAdminKey)}},
		{tm: vClose(3), txs: one(vCloseWindows(vClose(3), authKey))},
	}
}

// TestValidationDeterministic applies vHistory to two fresh stores and
// expects the same state hash at every height, a new one at each, and the
// same state.
func TestValidationDeterministic(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		steps []vStep
	}{
		{name: "full_history", steps: vHistory()},
		{name: "history_without_the_last_close", steps: vHistory()[:len(vHistory())-1]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			run := func() *fixture {
				f := newVFixture(t, 0)
				vRun(t, f, tc.steps)
				return f
			}
			a, b := run(), run()
			if len(a.hashes) != len(tc.steps)+1 || len(b.hashes) != len(a.hashes) {
				t.Fatalf("%d and %d hashes for %d blocks", len(a.hashes), len(b.hashes), len(tc.steps))
			}
			for h := 1; h < len(a.hashes); h++ {
				if a.hashes[h] != b.hashes[h] {
					t.Errorf("height %d: state hashes differ: %s and %s", h, a.hashes[h], b.hashes[h])
				}
				if a.hashes[h] == a.hashes[h-1] {
					t.Errorf("height %d: state hash did not change", h)
				}
			}
			if !equalDumps(a.dump(), b.dump()) {
				t.Error("the two stores differ")
			}
			// The history did what it says: the swipes and the toll record
			// rejected, the home door amended, bob's move annulled.
			e := newLentCard()
			for _, c := range []struct {
				p    ledger.Pseudonym
				tx   *ledger.Tx
				want state.Status
			}{
				{vAlice, e.swipe1, state.StatusRejected},
				{vAlice, e.swipe2, state.StatusRejected},
				{vAlice, e.metro, state.StatusRecorded},
				{vAlice, e.home, state.StatusAmended},
				{vBob, tc.steps[1].txs[1], state.StatusRejected},
				{vBob, tc.steps[4].txs[0], state.StatusAnnulled},
			} {
				if got := vStatus(t, a, c.p, c.tx); got != c.want {
					t.Errorf("tx %s: %s, want %s", c.tx.ID().String()[:8], got, c.want)
				}
			}
			vCheckPersonChain(t, a, vAlice)
			vCheckPersonChain(t, a, vBob)
		})
	}
}

// TestValidationRestart: the open windows live in memory and in each
// block's window log; a machine started afresh on the store at any height
// of vHistory (windows open, half closed, amended) must go on exactly as
// the one that never stopped: the same state hash at every later height
// and the same store.
func TestValidationRestart(t *testing.T) {
	t.Parallel()
	steps := vHistory()
	a := newVFixture(t, 0)
	vRun(t, a, steps)
	for k := 1; k < len(steps); k++ {
		t.Run(fmt.Sprintf("after_block_%d", k), func(t *testing.T) {
			t.Parallel()
			b := newVFixture(t, 0)
			vRun(t, b, steps[:k])
			open := b.m.PendingWindows()
			b.m = state.New(b.db, b.gen)
			vRun(t, b, steps[k:])
			for h := 1; h < len(a.hashes); h++ {
				if a.hashes[h] != b.hashes[h] {
					t.Fatalf("restarted after block %d (%d windows open): height %d: state hash %s, want %s", k, open, h, b.hashes[h], a.hashes[h])
				}
			}
			if a.m.PendingWindows() != b.m.PendingWindows() {
				t.Errorf("%d windows open at the end, want %d", b.m.PendingWindows(), a.m.PendingWindows())
			}
			if !equalDumps(a.dump(), b.dump()) {
				t.Error("the stores differ")
			}
		})
	}
}

// TestLegacyPendingMarker: a store written before the window log holds a
// marker per open window instead. A machine started on it treats the
// window as open, decides and seals it when it closes, and deletes the
// marker.
func TestLegacyPendingMarker(t *testing.T) {
	t.Parallel()
	f := vWorldFixture(t, 0)
	visit := vVisit("wh-mall", vAlice, vAt(1, 10, 0), vAt(1, 11, 0), "face")
	vMust(f, vAt(1, 11, 0), visit)
	// Rewrite the open window the way older stores kept it: no log entry,
	// a marker.
	b := f.db.NewBatch()
	if err := b.Delete(store.WinLogKey(f.height)); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(store.PendingKey(vEnd(1), vAlice), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	f.m = state.New(f.db, f.gen)
	vMust(f, vAt(1, 12, 0), vVisit("wh-shop", vBob, vAt(1, 12, 0), vAt(1, 12, 5), "payment")) // loads the open set
	if !f.m.Pending(vEnd(1), vAlice) {
		t.Fatal("the marker's window is not open after the restart")
	}
	vMust(f, vClose(1), vCloseWindows(vClose(1), authKey))
	if f.m.Pending(vEnd(1), vAlice) {
		t.Error("the window is still open after its close")
	}
	if _, ok := vGet(t, f, store.PendingKey(vEnd(1), vAlice)); ok {
		t.Error("the marker is left after the close")
	}
	pbs := vPersonBlocks(t, f, vAlice)
	if len(pbs) != 1 || !slices.Equal(pbs[0].Entries, vIDs(visit)) {
		t.Errorf("person blocks %+v, want one sealing the visit", pbs)
	}
}
