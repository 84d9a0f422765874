package privacy

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
)

// The ledger records' decoders (records.go): a record parses only in its
// canonical form, so Marshal(Parse(b)) == b, and a failed parse returns
// nothing. The state machine runs them on every privacy record.

func recordSeeds(t testing.TB) (universe, session, risk, opening, chunk []byte) {
	t.Helper()
	u, err := NewUniverse("city", time.Hour, []string{"u1", "u2", "<&>"})
	if err != nil {
		t.Fatal(err)
	}
	universe, _ = json.Marshal(NewUniverseRecord(u))
	d := u.Digest()
	m := 1
	session, _ = json.Marshal(&SessionRecord{V: 1, Type: SessionResult, Session: "psu-00000001", Op: "union", Universe: "city", UniverseDigest: hex.EncodeToString(d[:]),
		Participants: 1, Shares: 1, Result: []int{2}, Members: &m, Uploads: []string{hex.EncodeToString(d[:])}, Product: hex.EncodeToString(d[:])})
	risk, _ = json.Marshal(&RiskRecord{V: 2, Version: 3, Count: 1, Key: base64.StdEncoding.EncodeToString(validElement()), Digest: hex.EncodeToString(d[:])})
	opening, _ = json.Marshal(&OpeningRecord{V: 1, Universe: "city", Device: hex.EncodeToString(d[:]), From: 0, To: 7200, Periods: 1, Missing: []int64{3600},
		Verdict: "match", OpeningDigest: hex.EncodeToString(d[:]), Commitments: []string{"x"}, At: "now"})
	chunk = (&RiskChunk{Version: 3, Index: 0, Tokens: append(validElement(), bytes.Repeat([]byte{0xff}, 32)...)}).Bytes()
	return
}

func TestRecordsParse(t *testing.T) {
	t.Parallel()
	universe, session, risk, opening, chunk := recordSeeds(t)
	if _, err := ParseUniverseRecord(universe); err != nil {
		t.Errorf("universe: %v", err)
	}
	if _, err := ParseSessionRecord(session); err != nil {
		t.Errorf("session: %v", err)
	}
	if _, err := ParseRiskRecord(risk); err != nil {
		t.Errorf("risk: %v", err)
	}
	if _, err := ParseOpeningRecord(opening); err != nil {
		t.Errorf("opening: %v", err)
	}
	if _, err := ParseRiskChunk(chunk); err != nil {
		t.Errorf("chunk: %v", err)
	}
	if n := 12 + TokensPerChunk*ElementSize; n > ledger.MaxPayload {
		t.Errorf("a full token record is %d bytes, over the ledger's payload %d", n, ledger.MaxPayload)
	}
	for _, x := range []struct {
		name  string
		b     []byte
		parse func([]byte) error
		field string
	}{
		{"universe_unknown_field", bytes.Replace(universe, []byte(`"v":1`), []byte(`"v":1,"x":1`), 1), func(b []byte) error { _, err := ParseUniverseRecord(b); return err }, "payload"},
		{"universe_field_case", bytes.Replace(universe, []byte(`"name"`), []byte(`"Name"`), 1), func(b []byte) error { _, err := ParseUniverseRecord(b); return err }, "payload"},
		{"universe_trailing_space", append(bytes.Clone(universe), ' '), func(b []byte) error { _, err := ParseUniverseRecord(b); return err }, "payload"},
		{"universe_html_unescaped", bytes.Replace(universe, []byte(`\u003c`), []byte(`<`), 1), func(b []byte) error { _, err := ParseUniverseRecord(b); return err }, "payload"},
		{"universe_v2", bytes.Replace(universe, []byte(`"v":1`), []byte(`"v":2`), 1), func(b []byte) error { _, err := ParseUniverseRecord(b); return err }, "v"},
		{"session_members", bytes.Replace(session, []byte(`"members":1`), []byte(`"members":2`), 1), func(b []byte) error { _, err := ParseSessionRecord(b); return err }, "members"},
		{"session_type", bytes.Replace(session, []byte(`"result","session"`), []byte(`"other","session"`), 1), func(b []byte) error { _, err := ParseSessionRecord(b); return err }, "type"},
		{"risk_version_0", bytes.Replace(risk, []byte(`"version":3`), []byte(`"version":0`), 1), func(b []byte) error { _, err := ParseRiskRecord(b); return err }, "version"},
		{"risk_digest_upper", bytes.ToUpper(risk), func(b []byte) error { _, err := ParseRiskRecord(b); return err }, "payload"},
		{"opening_verdict", bytes.Replace(opening, []byte(`"match"`), []byte(`"maybe"`), 1), func(b []byte) error { _, err := ParseOpeningRecord(b); return err }, "verdict"},
		{"chunk_unsorted", append(chunk[:12:12], append(bytes.Repeat([]byte{0xff}, 32), validElement()...)...), func(b []byte) error { _, err := ParseRiskChunk(b); return err }, "tokens"},
		{"chunk_torn", chunk[:len(chunk)-1], func(b []byte) error { _, err := ParseRiskChunk(b); return err }, "payload"},
		{"chunk_empty", chunk[:12], func(b []byte) error { _, err := ParseRiskChunk(b); return err }, "payload"},
	} {
		err := x.parse(x.b)
		re, ok := err.(*RecordError)
		if !ok || re.Field != x.field {
			t.Errorf("%s: %v, want a record error naming %q", x.name, err, x.field)
		}
	}
}

// FuzzRecords: whatever parses is canonical (re-encodes to the input);
// nothing else panics.
func FuzzRecords(f *testing.F) {
	universe, session, risk, opening, chunk := recordSeeds(f)
	for _, s := range [][]byte{universe, session, risk, opening, chunk, nil, []byte("{}")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		same := func(name string, v any) {
			out, err := json.Marshal(v)
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("%s parsed a non-canonical record: %q", name, b)
			}
		}
		if u, err := ParseUniverseRecord(b); err == nil {
			same("universe", NewUniverseRecord(u))
		}
		if r, err := ParseSessionRecord(b); err == nil {
			same("session", r)
		}
		if r, err := ParseRiskRecord(b); err == nil {
			same("risk", r)
		}
		if r, err := ParseOpeningRecord(b); err == nil {
			same("opening", r)
		}
		if c, err := ParseRiskChunk(b); err == nil && !bytes.Equal(c.Bytes(), b) {
			t.Fatalf("chunk does not re-encode: %x", b)
		}
	})
}
