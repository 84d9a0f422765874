package api_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// verifyStore runs what `epiledger verify --replay` runs on the node's
// store: the chain check (blocks, signatures, site and person chains),
// then a replay of every block into a scratch store compared table by
// table. The node must be quiet (no submission in flight).
func verifyStore(t *testing.T, f *fixture) {
	t.Helper()
	g := f.h.Genesis
	if _, err := blocks.Verify(f.n.DB, &g, nil); err != nil {
		t.Fatalf("verify: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "replay")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dst, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := blocks.Replay(f.n.DB, dst, &g, nil); err != nil {
		t.Fatalf("verify --replay: %v", err)
	}
	if err := blocks.CompareState(f.n.DB, dst); err != nil {
		t.Fatalf("verify --replay: %v", err)
	}
}

// TestVisitBefore1970 posts site-signed visits dated before 1970 (issue 11
// point 3): each is refused with a 422 naming the time field, the head does
// not move, and verify and verify --replay still pass on the store.
func TestVisitBefore1970(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	h := f.h
	cases := []struct {
		name, in, out string
		field         string
	}{
		{"1969-12-01", "1969-12-01T08:00:00+08:00", "1969-12-01T09:00:00+08:00", "in"},
		{"1900-01-01", "1900-01-01T08:00:00+08:00", "1900-01-01T09:00:00+08:00", "in"},
		{"year_1", "0001-01-01T08:00:00Z", "0001-01-01T09:00:00Z", "in"},
		{"one_second_before_1970", "1969-12-31T23:59:59Z", "1970-01-01T00:30:00Z", "in"},
		{"1970_local_but_1969_utc", "1970-01-01T07:00:00+08:00", "1970-01-01T09:00:00+08:00", "in"},
	}
	headBefore := f.n.Engine.Head()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A person with no other record: their first person block
			// would be this visit's.
			tx := visit(t, h, nil, "office-1", "id:new-"+c.name, c.in, c.out)
			r := f.call(t, "POST", "/v1/tx", f.token, txJSON(tx))
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", r.status, r.body)
			}
			if e := apiError(t, r); e.Code != "invalid" || e.Field != c.field {
				t.Errorf("error %s/%s (%s), want invalid/%s", e.Code, e.Field, e.Msg, c.field)
			}
		})
	}
	if head := f.n.Engine.Head(); head != headBefore {
		t.Errorf("refused visits moved the head from %d to %d", headBefore.Height, head.Height)
	}
	verifyStore(t, f)
}

// TestGrantRoleLongName posts role grants whose name or role breaks the
// ledger's limit (issue 11 point 4): a 400 naming the field, never a panic
// or a 500 (a name over 64 KiB used to panic in the handler, one over 128
// bytes gave a 422 about undecodable bytes), and nothing committed.
func TestGrantRoleLongName(t *testing.T) {
	t.Parallel()
	f := serve(t, registry)
	key := strings.Repeat("ab", 32)
	cases := []struct {
		name, role, who string
		status          int
		field           string
	}{
		{"name_128_bytes", "auditor", strings.Repeat("n", 128), http.StatusOK, ""},
		{"name_129_bytes", "auditor", strings.Repeat("n", 129), http.StatusBadRequest, "name"},
		{"name_65000_bytes", "auditor", strings.Repeat("n", 65000), http.StatusBadRequest, "name"},
		{"role_65000_bytes", strings.Repeat("r", 65000), "x", http.StatusBadRequest, "role"},
		// Past the route's body limit the body is not read at all.
		{"name_70_KiB", "auditor", strings.Repeat("n", 70<<10), http.StatusRequestEntityTooLarge, ""},
		{"name_with_newline", "auditor", "CDC\nWuhan", http.StatusBadRequest, "name"},
		{"name_invalid_utf8", "auditor", "CDC \xff Wuhan", http.StatusBadRequest, "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head := f.n.Engine.Head()
			body := `{"key":"` + key + `","role":"` + c.role + `","name":"` + strings.ReplaceAll(c.who, "\n", `\n`) + `"}`
			r := f.call(t, "POST", "/v1/roles", f.token, body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %.200s", r.status, c.status, r.body)
			}
			if c.status == http.StatusOK {
				return
			}
			if e := apiError(t, r); c.field != "" && (e.Code != "invalid" || e.Field != c.field) {
				t.Errorf("error %s/%s (%s), want invalid/%s", e.Code, e.Field, e.Msg, c.field)
			}
			if got := f.n.Engine.Head(); got != head {
				t.Errorf("a refused grant moved the head from %d to %d", head.Height, got.Height)
			}
		})
	}
}

// TestPersonNotText asks for trajectories of references that are not
// text (issue 11 point 5): control characters, invalid UTF-8 (which JSON
// decoding turns into U+FFFD) and U+FFFD itself. Each is a 400 naming the
// field whose message does not repeat the reference; before, "id:\u0000abc"
// and an invalid byte read as valid ids.
func TestPersonNotText(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	cases := []struct {
		name, person string // person as JSON string contents (escapes allowed)
	}{
		{"nul_after_scheme", `id:\u0000abc`},
		{"nul_in_id", `id:` + idA + `\u0000`},
		{"tab_in_id", `id:4201\t00`},
		{"del_in_id", "id:4201\x7f00"},
		{"c1_in_id", `id:4201\u008500`},
		{"newline_in_alias", `phone:138\n00000000`},
		{"invalid_utf8_byte", "id:\xff" + idA},
		{"truncated_utf8", "id:" + idA + "\xe4\xb8"},
		{"replacement_character", `id:\ufffd` + idA},
		{"escape_in_scheme", `i\u0000d:` + idA},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := f.call(t, "POST", "/v1/trace/trajectory", f.token, `{"person":"`+c.person+`","from":"2020-01-20","to":"2020-01-20"}`)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			if e := apiError(t, r); e.Code != "invalid" || e.Field != "person" {
				t.Errorf("error %s/%s (%s), want invalid/person", e.Code, e.Field, e.Msg)
			}
			noSecrets(t, "refusal", r.body, "abc", pseudonymHex(f.h, idA))
		})
	}
}

// gen draws transactions of every kind with extreme field values, signed
// by the key the kind needs (now and then by another), for
// TestExtremesThroughAPI. Draws are deterministic for a seed; "now" is
// the only input from outside, so that some draws fall where the ledger
// accepts them.
type gen struct {
	r     *mrand.Rand
	wild  bool // this transaction: every field extreme, not only now and then
	h     *home.Home
	now   int64
	sites []genSite // registered (by the world) or drawn for registration
	keys  map[string]ed25519.PrivateKey
	recs  []ledger.Hash // visits and moves sent, targets for corrections
	corrs []ledger.Hash // corrections sent, for approvals
	refs  []ledger.PersonRef
}

type genSite struct {
	id, kind string
}

func unixOf(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

func newGen(t *testing.T, h *home.Home, seed uint64) *gen {
	g := &gen{r: mrand.New(mrand.NewPCG(seed, 11)), h: h, now: time.Now().Unix(), keys: map[string]ed25519.PrivateKey{}}
	for _, s := range []genSite{{"office-1", "office"}, {"shop-1", "shop"}, {"taxi-1", "taxi"}, {"hospital-1", "hospital"}, {"tag-1", "device"}} {
		g.sites = append(g.sites, s)
		g.keys[s.id] = siteKey(t, h, s.id)
	}
	p := h.Pseudonymizer()
	refs := []string{"id:" + idA, "id:" + idB, "id:" + idC, "phone:" + phoneA, "phone:" + phoneC, "phone:" + phoneX}
	for i := 0; i < 8; i++ {
		refs = append(refs, fmt.Sprintf("id:fresh-%d", i)) // persons with no record yet
	}
	for _, ref := range refs {
		r, err := p.Ref("person", ref)
		if err != nil {
			t.Fatal(err)
		}
		g.refs = append(g.refs, r)
	}
	g.refs = append(g.refs, ledger.PersonRef{}, ledger.PersonRef{Alias: true})
	return g
}

func oneOf[T any](g *gen, xs ...T) T { return xs[g.r.IntN(len(xs))] }

// plain says whether a field of this transaction takes a plausible value:
// rarely in a wild transaction, mostly in the others.
func (g *gen) plain() bool { return !g.wild && g.r.IntN(8) > 0 }

// time is an extreme or a plausible time.
func (g *gen) time() int64 {
	if g.plain() {
		return g.now - 3*86400 + g.r.Int64N(3*86400)
	}
	return oneOf(g, 0, -1, 1, math.MinInt64, math.MaxInt64, math.MinInt64+1, math.MaxInt64-1,
		unixOf("0001-01-01T00:00:00Z"), unixOf("1900-01-01T00:00:00Z"), unixOf("1969-12-01T00:00:00Z"), unixOf("1969-12-31T23:59:59Z"),
		ledger.MaxTime, ledger.MaxTime+1, 1<<62, -1<<62, 1<<32, 1<<31,
		g.now, g.now-3600, g.now-86400, g.now-40*86400, g.now+600, g.now+601, g.now-7*86400+g.r.Int64N(7*86400),
		unixOf("2020-01-20T10:00:00+08:00"), unixOf("2020-01-21T03:00:00Z"))
}

// later is a time at or after t, or anything.
func (g *gen) later(t int64) int64 {
	d := oneOf[int64](g, 0, 1, 60, 3600, 86400, 30*86400, 30*86400+1, 1<<40)
	if g.plain() {
		d = 60 + g.r.Int64N(3600)
	}
	if (g.wild && g.r.IntN(4) == 0) || t > math.MaxInt64-d {
		return g.time()
	}
	return t + d
}

// text is a plausible string or an extreme one: empty, at and past the
// ledger's limits, control characters, invalid UTF-8, U+FFFD.
func (g *gen) text(plausible ...string) string {
	if len(plausible) > 0 && g.plain() {
		return oneOf(g, plausible...)
	}
	return oneOf(g, "", "x", "é", "\x00", "id:\x00abc", "a\nb", "\t", "\x7f", "\u0085", "\xff", "\xe4\xb8", "\ufffd", "名字",
		strings.Repeat("s", 16), strings.Repeat("s", 17), strings.Repeat("t", 32), strings.Repeat("t", 33),
		strings.Repeat("n", 64), strings.Repeat("n", 65), strings.Repeat("n", 128), strings.Repeat("n", 129),
		strings.Repeat("r", 512), strings.Repeat("r", 513), strings.Repeat("h", 2000))
}

func (g *gen) site() genSite { return g.sites[g.r.IntN(len(g.sites))] }

func (g *gen) ref() ledger.PersonRef {
	if !g.plain() && g.r.IntN(4) == 0 {
		var p ledger.Pseudonym
		for i := range p {
			p[i] = byte(g.r.IntN(256))
		}
		return ledger.PersonRef{Ref: p, Alias: g.r.IntN(2) == 0}
	}
	return oneOf(g, g.refs...)
}

func (g *gen) i32() int32 {
	if g.plain() {
		return 30_000_000 + g.r.Int32N(1_000_000)
	}
	return oneOf[int32](g, 0, 1, -1, 90e6, 90e6+1, -90e6, 180e6, 180e6+1, -180e6-1, math.MaxInt32, math.MinInt32, 30_500_000, 114_300_000)
}

func (g *gen) u32() uint32 {
	if g.plain() {
		return 1 + g.r.Uint32N(3600)
	}
	return oneOf[uint32](g, 0, 1, 60, 86400, 86401, math.MaxUint32)
}

// key is the key of the site (or the authority, site ""), now and then
// another's.
func (g *gen) key(site string) ed25519.PrivateKey {
	if !g.plain() && g.r.IntN(4) == 0 {
		return g.keys[g.site().id]
	}
	if site == "" || g.keys[site] == nil {
		return g.h.Authority()
	}
	return g.keys[site]
}

// tx draws one signed transaction of a random kind. It never draws a
// string the encoding cannot hold at all (over 64 KiB), which no signed
// transaction can carry; Build refuses those (TestGrantRoleLongName,
// FuzzBuild).
func (g *gen) tx() *ledger.Tx {
	var body ledger.Body
	var signers []ed25519.PrivateKey
	g.wild = g.r.IntN(3) == 0
	switch k := ledger.Kind(1 + g.r.IntN(13)); k {
	case ledger.KindRegisterSite:
		id := fmt.Sprintf("x-%d", g.r.IntN(1000))
		if !g.plain() {
			id = g.text()
		}
		kind := oneOf(g, "shop", "train", "device", "hospital", "flight", "", "nonsense")
		parent := ""
		if !g.plain() {
			parent = g.site().id
		}
		b := &ledger.RegisterSite{Site: id, Kind_: kind, Name: g.text("a shop"), LatE6: g.i32(), LonE6: g.i32(), Region: g.text("420100"), Parent: parent}
		if !g.plain() {
			b.Route = &ledger.Route{FromLatE6: g.i32(), FromLonE6: g.i32(), ToLatE6: g.i32(), ToLonE6: g.i32()}
		}
		sk := ed25519.NewKeyFromSeed(binary.BigEndian.AppendUint64(make([]byte, 24), g.r.Uint64()))
		copy(b.Key[:], sk.Public().(ed25519.PublicKey))
		if _, ok := g.keys[id]; !ok && len(id) <= ledger.MaxIDLen {
			g.keys[id] = sk
			g.sites = append(g.sites, genSite{id, kind})
		}
		body, signers = b, []ed25519.PrivateKey{g.key("")}
	case ledger.KindBindIdentity:
		b := &ledger.BindIdentity{Person: g.ref().Ref}
		n := oneOf(g, 0, 1, 2, 5)
		for i := 0; i < n; i++ {
			b.Aliases = append(b.Aliases, g.ref().Ref)
		}
		slices.SortFunc(b.Aliases, func(x, y ledger.Pseudonym) int { return bytes.Compare(x[:], y[:]) })
		b.Aliases = slices.Compact(b.Aliases)
		body, signers = b, []ed25519.PrivateKey{g.key("")}
	case ledger.KindVisit:
		s := g.site()
		in := g.time()
		body = &ledger.Visit{Site: s.id, Person: g.ref(), In: in, Out: g.later(in), Via: g.text("face", "payment"), Role: g.text("", "staff")}
		signers = []ed25519.PrivateKey{g.key(s.id)}
	case ledger.KindMove:
		from, to := g.site(), g.site()
		dep := g.time()
		body = &ledger.Move{Person: g.ref(), From: from.id, To: to.id, Depart: dep, Arrive: g.later(dep), Via: g.text("walk")}
		signers = []ed25519.PrivateKey{g.key(from.id), g.key(to.id)}
	case ledger.KindCase:
		by := oneOf(g, "hospital-1", g.site().id)
		body = &ledger.Case{Person: g.ref(), Status: oneOf(g, "confirmed", "suspected", "cleared", "", "zombie"),
			Onset: oneOf(g, "", "2020-01-19", "1969-12-31", "0001-01-01", "9999-12-31", "2020-13-01", "tomorrow!!"), Reported: g.time(), By: by}
		signers = []ed25519.PrivateKey{g.key(by)}
	case ledger.KindPublish:
		body = &ledger.Publish{Topic: g.text("privacy/request"), Payload: bytes.Repeat([]byte{'p'}, oneOf(g, 0, 1, 1000))}
		signers = []ed25519.PrivateKey{g.key("")}
	case ledger.KindCommitRoot:
		body = &ledger.CommitRoot{Scheme: g.text("places-v1"), Period: g.time(), Count: g.u32()}
		signers = []ed25519.PrivateKey{g.key("")}
	case ledger.KindCloseWindows:
		body, signers = &ledger.CloseWindows{Until: g.time()}, []ed25519.PrivateKey{g.key("")}
	case ledger.KindCorrection:
		b := &ledger.Correction{Action: oneOf[uint8](g, ledger.ActionAnnul, ledger.ActionAmend, ledger.ActionAmend), Reason: g.text("lent card")}
		if !g.plain() {
			b.Action = oneOf[uint8](g, 0, 3, 255)
		}
		if len(g.recs) > 0 && g.plain() {
			b.Target = g.recs[g.r.IntN(len(g.recs))]
		}
		if b.Action != ledger.ActionAnnul || !g.plain() {
			b.In = g.time()
			b.Out = g.later(b.In)
			if !g.plain() {
				b.Site = g.site().id
			}
		}
		body, signers = b, []ed25519.PrivateKey{g.key("")}
	case ledger.KindApproval:
		b := &ledger.Approval{}
		if len(g.corrs) > 0 {
			b.Correction = g.corrs[g.r.IntN(len(g.corrs))]
		}
		key := g.key("")
		copy(b.Approver[:], key.Public().(ed25519.PublicKey))
		body, signers = b, []ed25519.PrivateKey{key}
	case ledger.KindEncounter:
		a, b := g.ref(), g.ref()
		if ledger.RefLess(b, a) {
			a, b = b, a
		}
		if a == b {
			b.Alias, a.Alias = true, false
		}
		dev := oneOf(g, "tag-1", g.site().id)
		body = &ledger.Encounter{Device: dev, A: a, B: b, Start: g.time(), Duration: g.u32(), DistanceCM: g.u32()}
		signers = []ed25519.PrivateKey{g.key(dev)}
	case ledger.KindGrantRole:
		var key [32]byte
		key[0] = byte(g.r.IntN(256))
		body = &ledger.GrantRole{Key: key, Role: g.text("auditor", "none", "investigator"), Name: g.text("CDC Wuhan 17")}
		signers = []ed25519.PrivateKey{g.key("")}
	case ledger.KindAudit:
		from := g.time()
		body = &ledger.Audit{Role: g.text("investigator"), Case: g.text("case-1"), Purpose: g.text("tracing"), Route: g.text("POST /v1/trace/contacts"),
			Person: g.ref().Ref, From: from, To: g.later(from), Time: g.time()}
		signers = []ed25519.PrivateKey{g.key("")}
	default:
		panic(fmt.Sprintf("kind %s", k))
	}
	tx := ledger.NewTx(body)
	for _, k := range signers {
		tx.Sign(g.h.Genesis.ChainID, k)
	}
	switch body.(type) {
	case *ledger.Visit, *ledger.Move:
		g.recs = append(g.recs, tx.ID())
	case *ledger.Correction:
		g.corrs = append(g.corrs, tx.ID())
	}
	return tx
}

// TestExtremesThroughAPI is the property of issue 11 point 3: whatever
// validly encoded, signed transactions of any kind carry (times before
// 1970 and past 9999, the int64 extremes, control characters, strings at
// and past every limit), the node accepts only what ledger.Validate
// accepts, answers each with a result (never a 5xx), and verify and
// verify --replay pass on its store afterwards.
func TestExtremesThroughAPI(t *testing.T) {
	t.Parallel()
	f := serve(t, registry+`{"type":"site","site":"tag-1","kind":"device","lat":30.6,"lon":114.3,"region":"420100"}
`+world[len(registry):])
	g := newGen(t, f.h, 20260111)
	accepted, refused := map[ledger.Kind]int{}, map[string]int{}
	const rounds, perRound = 10, 100
	for round := 0; round < rounds; round++ {
		var req api.SubmitRequest
		var txs []*ledger.Tx
		for i := 0; i < perRound; i++ {
			tx := g.tx()
			txs = append(txs, tx)
			req.Txs = append(req.Txs, b64(tx))
		}
		body, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var rep api.SubmitReply
		decodeOK(t, f.call(t, "POST", "/v1/txs", f.token, string(body)), &rep)
		if len(rep.Results) != len(txs) {
			t.Fatalf("%d results for %d transactions", len(rep.Results), len(txs))
		}
		for i, res := range rep.Results {
			tx := txs[i]
			k := tx.Body.Kind()
			if res.Error != nil {
				if res.Error.Status >= 500 || res.Error.Code == "internal" {
					t.Fatalf("round %d tx %d (%s): %+v", round, i, k, res.Error)
				}
				refused[res.Error.Code+"/"+res.Error.Field]++
				continue
			}
			accepted[k]++
			if err := ledger.Validate(tx.Body); err != nil {
				t.Errorf("round %d tx %d: the node accepted a %s that does not validate: %v", round, i, k, err)
			}
		}
		verifyStore(t, f)
	}
	t.Logf("accepted %v, refused %v", accepted, refused)
	for _, k := range []ledger.Kind{ledger.KindVisit, ledger.KindMove, ledger.KindCase, ledger.KindCloseWindows, ledger.KindCorrection, ledger.KindEncounter, ledger.KindAudit} {
		if accepted[k] == 0 {
			t.Errorf("no %s was accepted: the draws do not reach the state's acceptance paths", k)
		}
	}
}
