package state_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/privacy"
	"github.com/epiledger/epiledger/internal/state"
)

// The privacy protocols' shared state is decided by the state machine
// (issue 13, point 3): these tests drive it with the records the API
// writes and with the records a second node, or a hand-made transaction,
// could send.

func publishTx(topic string, v any) *ledger.Tx {
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			panic(err)
		}
	}
	return sign(&ledger.Publish{Topic: topic, Payload: b}, authKey)
}

func universeRec(name string, places ...string) *privacy.UniverseRecord {
	u, err := privacy.NewUniverse(name, time.Hour, places)
	if err != nil {
		panic(err)
	}
	return privacy.NewUniverseRecord(u)
}

// sessionReq is a valid request record of session id over universe rec.
func sessionReq(t *testing.T, id string, rec *privacy.UniverseRecord, n int) *privacy.SessionRecord {
	t.Helper()
	sk, err := privacy.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := hex.DecodeString(rec.Digest)
	p := &privacy.Params{Session: id, Op: privacy.Union, Places: len(rec.Places), Participants: n, Shares: n}
	copy(p.Universe[:], d)
	if err := sk.NewRequest(p, nil); err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString
	return &privacy.SessionRecord{V: 1, Type: privacy.SessionRequest, Session: id, Op: "union", Universe: rec.Name, UniverseDigest: rec.Digest,
		Participants: n, Shares: n, Key: enc(p.Key.Bytes()), EncE: enc(p.EncE.Bytes()), Proof: enc(p.Proof.Bytes())}
}

func sessionRes(req *privacy.SessionRecord, result ...int) *privacy.SessionRecord {
	m := len(result)
	res := &privacy.SessionRecord{V: 1, Type: privacy.SessionResult, Session: req.Session, Op: req.Op, Universe: req.Universe, UniverseDigest: req.UniverseDigest,
		Participants: req.Participants, Shares: req.Shares, Result: result, Members: &m, Product: hex.EncodeToString(make([]byte, 32))}
	for i := 0; i < req.Participants; i++ {
		res.Uploads = append(res.Uploads, hex.EncodeToString(make([]byte, 32)))
	}
	return res
}

// randomTokens returns n distinct sorted 32-byte tokens (the machine
// checks order, sizes and digests; devices decode the elements).
func randomTokens(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	toks := make([][]byte, n)
	for i := range toks {
		toks[i] = make([]byte, 32)
		for j := range toks[i] {
			toks[i][j] = byte(rng.Uint32())
		}
	}
	slices.SortFunc(toks, bytes.Compare)
	return bytes.Join(toks, nil)
}

func riskRec(v int, version uint64, key []byte, tokens []byte) *privacy.RiskRecord {
	d := sha256.Sum256(tokens)
	return &privacy.RiskRecord{V: v, Version: version, Count: len(tokens) / 32, Key: base64.StdEncoding.EncodeToString(key), Digest: hex.EncodeToString(d[:])}
}

func chunkTx(c *privacy.RiskChunk) *ledger.Tx { return publishTx(privacy.TopicRiskTokens, c.Bytes()) }

// step is one transaction of a privacy history and the result the
// machine must give it.
type step struct {
	name  string
	tx    *ledger.Tx
	code  string
	field string
}

// privacyHistory is a chain of privacy records, block by block: what a
// node's API writes, and what another node (or a hand-made transaction)
// could send against it.
func privacyHistory(t *testing.T) [][]step {
	t.Helper()
	city := universeRec("city", "u1", "u2", "u3")
	other := universeRec("city", "u1", "u2") // the same name, other places
	badDigest := universeRec("town", "u1")
	badDigest.Digest = city.Digest
	canonical, _ := json.Marshal(universeRec("spaced", "u1"))
	spaced := append([]byte(" "), canonical...)
	req := sessionReq(t, "psu-0000000000000001", city, 2)
	req2 := sessionReq(t, "psu-0000000000000002", city, 2)
	nowhere := sessionReq(t, "psu-0000000000000003", city, 2)
	nowhere.Universe = "nowhere"
	wrongOp := sessionRes(req, 0)
	wrongOp.Op = "intersection"
	outside := sessionRes(req, 3)
	stray := sessionRes(sessionReq(t, "psu-0000000000000009", city, 1))

	// Block 3's time is t0 + 180 s: the hour starting at h0 is over, the
	// one holding the block is not.
	h0 := (blockTime(3)/3600)*3600 - 3600
	root := func(scheme string, period int64) *ledger.Tx {
		return sign(&ledger.CommitRoot{Scheme: scheme, Period: period, Count: 2, Root: ledger.Hash{9}}, authKey)
	}
	opening := func(from, to int64) *privacy.OpeningRecord {
		n := int((to - from) / 3600)
		rec := &privacy.OpeningRecord{V: 1, Universe: "city", Device: hex.EncodeToString(make([]byte, 32)), From: from, To: to, Periods: n, Verdict: "match",
			Product: "00", Reopened: "00", OpeningDigest: hex.EncodeToString(make([]byte, 32)), At: "2020-01-26T00:00:00Z"}
		for i := 0; i < n; i++ {
			rec.Commitments = append(rec.Commitments, hex.EncodeToString(make([]byte, 32)))
		}
		return rec
	}

	rk, _ := privacy.NewRiskKey(nil)
	rk2, _ := privacy.NewRiskKey(nil)
	toks := randomTokens(1, privacy.TokensPerChunk+500)
	chunks := privacy.SplitTokens(1, toks)
	badLast := &privacy.RiskChunk{Version: 1, Index: 1, Tokens: randomTokens(2, 500)}
	badLast.Tokens[0] = 0xff // after chunk 0's last token, but not the published tokens
	toks2 := randomTokens(3, 10)

	return [][]step{
		{ // block 1: universes
			{"universe", publishTx(privacy.TopicUniverse, city), "", ""},
			{"same_name_same_block", publishTx(privacy.TopicUniverse, other), state.CodeConflict, "name"},
			{"digest_of_another", publishTx(privacy.TopicUniverse, badDigest), state.CodeInvalid, "digest"},
			{"not_canonical", publishTx(privacy.TopicUniverse, spaced), state.CodeInvalid, "payload"},
			{"other_topic_free", publishTx("privacy/other", []byte("anything")), "", ""},
		},
		{ // block 2: the same name later; sessions
			{"same_name_later", publishTx(privacy.TopicUniverse, other), state.CodeConflict, "name"},
			{"request", publishTx(privacy.TopicPSU, req), "", ""},
			{"request_again", publishTx(privacy.TopicPSU, sessionReq(t, req.Session, city, 2)), state.CodeConflict, "session"},
			{"request_unknown_universe", publishTx(privacy.TopicPSU, nowhere), state.CodeUnknownUniverse, "universe"},
			{"result_without_request", publishTx(privacy.TopicPSU, stray), state.CodeUnknownSession, "session"},
			{"request_2", publishTx(privacy.TopicPSU, req2), "", ""},
			{"result_same_block", publishTx(privacy.TopicPSU, sessionRes(req2, 0, 2)), "", ""},
			{"second_result", publishTx(privacy.TopicPSU, sessionRes(req2, 1)), state.CodeConflict, "result"},
		},
		{ // block 3: results, roots, openings
			{"result_other_op", publishTx(privacy.TopicPSU, wrongOp), state.CodeInvalid, "op"},
			{"result_place_outside", publishTx(privacy.TopicPSU, outside), state.CodeInvalid, "result[0]"},
			{"result", publishTx(privacy.TopicPSU, sessionRes(req, 1)), "", ""},
			{"result_again", publishTx(privacy.TopicPSU, sessionRes(req)), state.CodeConflict, "result"},
			{"root", root("pedersen/v1/city", h0), "", ""},
			{"root_again", root("pedersen/v1/city", h0), state.CodeReplay, ""},
			{"other_root_same_period", sign(&ledger.CommitRoot{Scheme: "pedersen/v1/city", Period: h0, Count: 1, Root: ledger.Hash{1}}, authKey), state.CodeConflict, "period"},
			{"root_not_over", root("pedersen/v1/city", h0+3600), state.CodeTooEarly, "period"},
			{"root_unaligned", root("pedersen/v1/city", h0-60), state.CodeInvalid, "period"},
			{"root_unknown_universe", root("pedersen/v1/nowhere", h0), state.CodeUnknownUniverse, "scheme"},
			{"root_other_scheme", root("places-v1", h0), "", ""},
			{"root_other_scheme_again", sign(&ledger.CommitRoot{Scheme: "places-v1", Period: h0, Count: 3}, authKey), state.CodeConflict, "period"},
			{"opening", publishTx(privacy.TopicOpening, opening(h0, h0+3600)), "", ""},
			{"opening_unanchored", publishTx(privacy.TopicOpening, opening(h0-3600, h0+3600)), state.CodeNotAnchored, "from"},
		},
		{ // block 4: a risk publication with its tokens
			{"chunk_before_record", chunkTx(chunks[0]), state.CodeConflict, "version"},
			{"risk", publishTx(privacy.TopicRisk, riskRec(2, 1, rk.Public(), toks)), "", ""},
			{"chunk_out_of_order", chunkTx(chunks[1]), state.CodeConflict, "index"},
			{"chunk_0", chunkTx(chunks[0]), "", ""},
		},
		{ // block 5: the last chunk, checked against the digest
			{"chunk_1_not_the_tokens", chunkTx(badLast), state.CodeInvalid, "tokens"},
			{"chunk_1", chunkTx(chunks[1]), "", ""},
			{"chunk_extra", chunkTx(&privacy.RiskChunk{Version: 1, Index: 2, Tokens: randomTokens(4, 1)}), state.CodeConflict, "index"},
			{"same_version", publishTx(privacy.TopicRisk, riskRec(2, 1, rk.Public(), toks2)), state.CodeConflict, "version"},
			{"another_key", publishTx(privacy.TopicRisk, riskRec(2, 2, rk2.Public(), toks2)), state.CodeConflict, "key"},
			{"legacy_record_after_v2", publishTx(privacy.TopicRisk, riskRec(1, 2, rk.Public(), toks2)), state.CodeInvalid, "v"},
			{"risk_2", publishTx(privacy.TopicRisk, riskRec(2, 2, rk.Public(), toks2)), "", ""},
		},
	}
}

// applyPrivacy applies a privacy history on a fresh machine after the
// world block, checking each step's result, and returns the fixture.
func applyPrivacy(t *testing.T, hist [][]step) *fixture {
	t.Helper()
	f := newFixture(t)
	for _, blk := range hist {
		txs := make([]*ledger.Tx, len(blk))
		for i, s := range blk {
			txs[i] = s.tx
		}
		errs, _ := f.block(txs)
		for i, s := range blk {
			t.Run(s.name, func(t *testing.T) { checkResult(t, errs[i], s.code, s.field) })
		}
	}
	return f
}

func TestPrivacyRecordsChecked(t *testing.T) {
	t.Parallel()
	hist := privacyHistory(t)
	f := applyPrivacy(t, hist)

	// What the readers answer comes from the ledger only.
	u, err := state.Universe(f.db, "city")
	if err != nil || u == nil || len(u.Places) != 3 {
		t.Fatalf("universe city: %v %v", u, err)
	}
	st, err := state.Session(f.db, "psu-0000000000000001")
	if err != nil || st == nil || st.Result == nil || !slices.Equal(st.Result.Result, []int{1}) {
		t.Fatalf("session: %+v %v", st, err)
	}
	if st, _ := state.Session(f.db, "psu-0000000000000003"); st != nil {
		t.Errorf("a refused request is a session: %+v", st)
	}
	rs, legacy, err := state.Risk(f.db)
	// Version 2 is announced, its one token record not sent: version 1
	// stays current, its tokens read back whole from the ledger.
	if err != nil || legacy || rs.Latest != 2 || rs.Current != 1 || rs.CurrentTime != blockTime(4) {
		t.Fatalf("risk state: %+v legacy %v %v", rs, legacy, err)
	}
	got, err := state.RiskTokens(f.db, rs)
	if err != nil || !bytes.Equal(got, tokensOf(t, hist)) {
		t.Errorf("risk tokens of version 1: %d bytes, %v", len(got), err)
	}
}

// tokensOf returns the tokens of the history's first risk publication,
// from its two chunks.
func tokensOf(t *testing.T, hist [][]step) []byte {
	t.Helper()
	var out []byte
	for _, s := range []*ledger.Tx{hist[3][3].tx, hist[4][1].tx} {
		c, err := privacy.ParseRiskChunk(s.Body.(*ledger.Publish).Payload)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c.Tokens...)
	}
	return out
}

// TestPrivacyRecordsIncomplete: a publication whose tokens have not all
// arrived is not current; the previous one stays current until the new
// one completes, and a new version may supersede an incomplete one.
func TestPrivacyRecordsIncomplete(t *testing.T) {
	t.Parallel()
	rk, _ := privacy.NewRiskKey(nil)
	small := randomTokens(5, 3)
	big := randomTokens(6, privacy.TokensPerChunk+1)
	bigChunks := privacy.SplitTokens(2, big)
	f := applyPrivacy(t, [][]step{
		{
			{"v1_complete", publishTx(privacy.TopicRisk, riskRec(2, 1, rk.Public(), small)), "", ""},
			{"v1_tokens", chunkTx(privacy.SplitTokens(1, small)[0]), "", ""},
			{"v2_announced", publishTx(privacy.TopicRisk, riskRec(2, 2, rk.Public(), big)), "", ""},
			{"v2_first_half", chunkTx(bigChunks[0]), "", ""},
		},
	})
	rs, _, _ := state.Risk(f.db)
	if rs.Latest != 2 || rs.Current != 1 {
		t.Fatalf("latest %d current %d, want 2 and 1", rs.Latest, rs.Current)
	}
	f2 := applyPrivacy(t, [][]step{{
		{"v1", publishTx(privacy.TopicRisk, riskRec(2, 1, rk.Public(), big)), "", ""},
		{"v2_supersedes", publishTx(privacy.TopicRisk, riskRec(2, 2, rk.Public(), nil)), "", ""},
		{"v1_tokens_late", chunkTx(privacy.SplitTokens(1, big)[0]), state.CodeConflict, "version"},
	}})
	if rs, _, _ := state.Risk(f2.db); rs.Current != 2 || rs.Latest != 2 {
		t.Errorf("empty publication: latest %d current %d, want 2 and 2", rs.Latest, rs.Current)
	}
}

// TestPrivacyReplayAlike: a second machine over the same blocks (as
// another node, or verify --replay) gets the same state hashes.
func TestPrivacyReplayAlike(t *testing.T) {
	t.Parallel()
	hist := privacyHistory(t)
	a := applyPrivacy(t, hist)
	b := applyPrivacy(t, hist)
	if !slices.Equal(a.hashes, b.hashes) {
		t.Errorf("state hashes differ between two machines over the same blocks")
	}
}

// legacyPrivacyHistory is a chain of the records the API wrote before
// the state machine checked them, risk records of version 1 among them,
// made deterministically.
func legacyPrivacyHistory(t *testing.T) [][]*ledger.Tx {
	t.Helper()
	rng := rand.NewChaCha8([32]byte{13, 3})
	city := universeRec("city", "u1", "u2", "u3")
	sk, err := privacy.GenerateKey(rng)
	if err != nil {
		t.Fatal(err)
	}
	p := &privacy.Params{Session: "psu-legacy-000001", Op: privacy.Union, Places: 3, Participants: 1, Shares: 1}
	d, _ := hex.DecodeString(city.Digest)
	copy(p.Universe[:], d)
	if err := sk.NewRequest(p, rng); err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString
	req := &privacy.SessionRecord{V: 1, Type: privacy.SessionRequest, Session: p.Session, Op: "union", Universe: "city", UniverseDigest: city.Digest,
		Participants: 1, Shares: 1, Key: enc(p.Key.Bytes()), EncE: enc(p.EncE.Bytes()), Proof: enc(p.Proof.Bytes())}
	// The ristretto255 base point (RFC 9496), a valid element.
	key, _ := hex.DecodeString("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")
	h0 := (blockTime(2)/3600)*3600 - 3600
	opening := &privacy.OpeningRecord{V: 1, Universe: "city", Device: hex.EncodeToString(make([]byte, 32)), From: h0, To: h0 + 3600, Periods: 1, Verdict: "mismatch",
		Product: "00", Reopened: "00", OpeningDigest: hex.EncodeToString(make([]byte, 32)), Commitments: []string{hex.EncodeToString(make([]byte, 32))}, At: "2020-01-26T00:00:00Z"}
	return [][]*ledger.Tx{
		world(),
		{
			publishTx(privacy.TopicUniverse, city),
			publishTx(privacy.TopicPSU, req),
			publishTx(privacy.TopicPSU, sessionRes(req, 0, 2)),
			sign(&ledger.CommitRoot{Scheme: "pedersen/v1/city", Period: h0, Count: 2, Root: ledger.Hash{9}}, authKey),
			publishTx(privacy.TopicOpening, opening),
			publishTx(privacy.TopicRisk, riskRec(1, 1, key, randomTokens(7, 4))),
			publishTx(privacy.TopicRisk, riskRec(1, 2, key, randomTokens(8, 4))),
		},
	}
}

// TestLegacyPrivacyRecordsKeepTheirHash: the records the API wrote
// before the state machine checked them are accepted and write what they
// always wrote. The state hashes are pinned; they are the ones the
// machine before issue 13 point 3 computes for the same blocks (it was
// run on this history to pin them), so that chains holding such records
// still verify and replay.
func TestLegacyPrivacyRecordsKeepTheirHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, txs := range legacyPrivacyHistory(t) {
		errs, _ := f.block(txs)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("block %d tx %d: %v", f.height, i, err)
			}
		}
	}
	want := []string{
		1: "b39852d5c059c0afb20b58fc36d313a1bb48fb7c58095079b68eccee3f4e1f48",
		2: "56d53f2d011557bdbf50f2c9b69aec552040e19bee582a552db20355710a874c",
	}
	for h := 1; h < len(f.hashes); h++ {
		if f.hashes[h].String() != want[h] {
			t.Errorf("height %d: state hash %s, want %s", h, f.hashes[h], want[h])
		}
	}
	if rs, legacy, err := state.Risk(f.db); err != nil || !legacy || rs.Current != 2 || rs.Latest != 2 {
		t.Errorf("legacy risk state: %+v %v %v", rs, legacy, err)
	}
	if st, err := state.Session(f.db, "psu-legacy-000001"); err != nil || st == nil || st.Result == nil {
		t.Errorf("legacy session: %+v %v", st, err)
	}
}
