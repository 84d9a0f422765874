package privacy

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The privacy protocols' ledger records (docs/PRIVACY.md, "What goes on
// the ledger"). Each is the payload of a ledger.Publish under its topic,
// signed by the chain authority; the state machine parses every one with
// the functions below and checks it against what the ledger already
// holds (internal/state/privacy.go), so that every node decides alike.
// The JSON records are canonical: a payload is accepted only if it is
// exactly what json.Marshal gives for its decoding (Marshal(Parse(b)) ==
// b), which every record the API has ever written is.

// Ledger topics of the privacy records.
const (
	TopicUniverse   = "privacy/universe"
	TopicPSU        = "privacy/psu"
	TopicOpening    = "privacy/opening"
	TopicRisk       = "privacy/risk"
	TopicRiskTokens = "privacy/risk/tokens"
)

// Limits of the exposure check's publications.
const (
	// MaxRiskTokens bounds the risk tokens of one publication.
	MaxRiskTokens = 200000
	// TokensPerChunk is how many risk tokens one privacy/risk/tokens
	// record carries (the last one of a publication carries the rest):
	// 12 + 2000*32 bytes fit a ledger payload.
	TokensPerChunk = 2000
)

// RecordError is a privacy record that does not parse or is not
// canonical, naming the record's field.
type RecordError struct {
	Field string
	Msg   string
}

func (e *RecordError) Error() string { return e.Field + ": " + e.Msg }

func recErr(field, format string, args ...any) error {
	return &RecordError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// parseCanonical decodes a JSON record into v (unknown fields refused),
// checks that it is exactly json.Marshal's encoding of the result and
// that its record version *ver is 1 to maxVer.
func parseCanonical(b []byte, v any, ver *int, maxVer int) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return recErr("payload", "not a JSON record of this topic")
	}
	out, err := json.Marshal(v)
	if err != nil || !bytes.Equal(out, b) {
		return recErr("payload", "not in canonical form (the record's json.Marshal encoding)")
	}
	if *ver < 1 || *ver > maxVer {
		return recErr("v", "unknown record version %d", *ver)
	}
	return nil
}

// paramsRecErr turns a *ParamsError into a *RecordError.
func paramsRecErr(err error) error {
	var pe *ParamsError
	if errors.As(err, &pe) {
		return recErr(pe.Field, "%s", pe.Msg)
	}
	return recErr("payload", "%s", err.Error())
}

// checkHex32 checks a lowercase hex SHA-256 value.
func checkHex32(field, s string) error {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 || hex.EncodeToString(b) != s {
		return recErr(field, "want 64 lowercase hex digits")
	}
	return nil
}

// UniverseRecord is a universe's ledger record (topic privacy/universe).
type UniverseRecord struct {
	V      int      `json:"v"`
	Name   string   `json:"name"`
	Period int64    `json:"period"`
	Digest string   `json:"digest"`
	Places []string `json:"places"`
}

// NewUniverseRecord is u's ledger record.
func NewUniverseRecord(u *Universe) *UniverseRecord {
	d := u.Digest()
	return &UniverseRecord{V: 1, Name: u.Name, Period: u.Period, Digest: hex.EncodeToString(d[:]), Places: u.Places}
}

// ParseUniverseRecord parses and validates a universe's record: a valid
// universe whose digest is the one recorded.
func ParseUniverseRecord(b []byte) (*Universe, error) {
	var rec UniverseRecord
	if err := parseCanonical(b, &rec, &rec.V, 1); err != nil {
		return nil, err
	}
	if rec.Period < MinPeriod || rec.Period > MaxPeriod {
		return nil, recErr("period", "want %d to %d seconds", MinPeriod, MaxPeriod)
	}
	u, err := NewUniverse(rec.Name, time.Duration(rec.Period)*time.Second, rec.Places)
	if err != nil {
		return nil, paramsRecErr(err)
	}
	if d := u.Digest(); hex.EncodeToString(d[:]) != rec.Digest {
		return nil, recErr("digest", "is not the universe's digest")
	}
	return u, nil
}

// SessionRecord is a set-operation session's ledger record (topic
// privacy/psu): its request (Type "request"), then its result (Type
// "result").
type SessionRecord struct {
	V              int      `json:"v"`
	Type           string   `json:"type"`
	Session        string   `json:"session"`
	Op             string   `json:"op"`
	Universe       string   `json:"universe"`
	UniverseDigest string   `json:"universe_digest"`
	Participants   int      `json:"participants"`
	Shares         int      `json:"shares"`
	Key            string   `json:"key,omitempty"`
	EncE           string   `json:"enc_e,omitempty"`
	Proof          string   `json:"proof,omitempty"`
	Result         []int    `json:"result,omitempty"`  // place indices in the universe
	Members        *int     `json:"members,omitempty"` // len(Result)
	Uploads        []string `json:"uploads,omitempty"` // SHA-256 of each upload
	Product        string   `json:"product,omitempty"` // SHA-256 of the cloud's product
}

// The session record types.
const (
	SessionRequest = "request"
	SessionResult  = "result"
)

// ParseSessionRecord parses a session record and checks what it can
// alone: the shape of a request or a result. What depends on the ledger
// (the universe, the request a result follows) is the caller's.
func ParseSessionRecord(b []byte) (*SessionRecord, error) {
	var rec SessionRecord
	if err := parseCanonical(b, &rec, &rec.V, 1); err != nil {
		return nil, err
	}
	if !sessionRE.MatchString(rec.Session) {
		return nil, recErr("session", "want 8-64 characters of a-z, 0-9 and '-'")
	}
	if _, err := ParseOp(rec.Op); err != nil {
		return nil, recErr("op", "%s", err.Error())
	}
	if !universeNameRE.MatchString(rec.Universe) {
		return nil, recErr("universe", "not a universe name")
	}
	if err := checkHex32("universe_digest", rec.UniverseDigest); err != nil {
		return nil, err
	}
	switch rec.Type {
	case SessionRequest:
		if rec.Result != nil || rec.Members != nil || rec.Uploads != nil || rec.Product != "" {
			return nil, recErr("result", "a request carries no result")
		}
	case SessionResult:
		if rec.Key != "" || rec.EncE != "" || rec.Proof != "" {
			return nil, recErr("key", "a result repeats no request key")
		}
		if rec.Members == nil || *rec.Members != len(rec.Result) {
			return nil, recErr("members", "want the number of places in the result")
		}
		if len(rec.Uploads) != rec.Participants {
			return nil, recErr("uploads", "want one digest per participant")
		}
		for i, u := range rec.Uploads {
			if err := checkHex32(fmt.Sprintf("uploads[%d]", i), u); err != nil {
				return nil, err
			}
		}
		if err := checkHex32("product", rec.Product); err != nil {
			return nil, err
		}
		for i, x := range rec.Result {
			if x < 0 || (i > 0 && x <= rec.Result[i-1]) {
				return nil, recErr(fmt.Sprintf("result[%d]", i), "want increasing place indices")
			}
		}
	default:
		return nil, recErr("type", `want "request" or "result"`)
	}
	return &rec, nil
}

// Params rebuilds and validates a request's parameters (the proof
// included) for a universe of m places with the digest the request
// names.
func (rec *SessionRecord) Params(m int) (*Params, error) {
	op, _ := ParseOp(rec.Op)
	d, _ := hex.DecodeString(rec.UniverseDigest)
	p := &Params{Session: rec.Session, Op: op, Places: m, Participants: rec.Participants, Shares: rec.Shares}
	copy(p.Universe[:], d)
	field := func(name, s string, size int, parse func([]byte) error) error {
		// As the API has always decoded them (records written before
		// keep the caller's spelling of the base64).
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != size {
			return recErr(name, "want %d bytes in standard base64", size)
		}
		if err := parse(b); err != nil {
			return recErr(name, "%s", err.Error())
		}
		return nil
	}
	if err := field("key", rec.Key, ElementSize, func(b []byte) (err error) { p.Key, err = ParsePublicKey(b); return }); err != nil {
		return nil, err
	}
	if err := field("enc_e", rec.EncE, CiphertextSize, func(b []byte) (err error) { p.EncE, err = ParseCiphertext(b); return }); err != nil {
		return nil, err
	}
	if err := field("proof", rec.Proof, ProofSize, func(b []byte) (err error) { p.Proof, err = ParseProof(b); return }); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, paramsRecErr(err)
	}
	return p, nil
}

// OpeningRecord is the verdict on a device's opening (topic
// privacy/opening): no counts, only their digest, so the evidence binds
// the opening without publishing it.
type OpeningRecord struct {
	V             int      `json:"v"`
	Universe      string   `json:"universe"`
	Device        string   `json:"device"`
	From          int64    `json:"from"`
	To            int64    `json:"to"`
	Periods       int      `json:"periods"`
	Missing       []int64  `json:"missing,omitempty"`
	Verdict       string   `json:"verdict"`
	Product       string   `json:"product"`
	Reopened      string   `json:"reopened"`
	OpeningDigest string   `json:"opening_digest"`
	Commitments   []string `json:"commitments"` // leaf hashes, each under its period's anchored root
	At            string   `json:"at"`
}

// MaxOpenPeriods bounds the periods of one opening.
const MaxOpenPeriods = 2000

// ParseOpeningRecord parses a verdict record and checks its shape
// against its universe's period u (the caller looks the universe up).
func ParseOpeningRecord(b []byte) (*OpeningRecord, error) {
	var rec OpeningRecord
	if err := parseCanonical(b, &rec, &rec.V, 1); err != nil {
		return nil, err
	}
	if !universeNameRE.MatchString(rec.Universe) {
		return nil, recErr("universe", "not a universe name")
	}
	if rec.Verdict != "match" && rec.Verdict != "mismatch" {
		return nil, recErr("verdict", `want "match" or "mismatch"`)
	}
	if d, err := hex.DecodeString(rec.Device); err != nil || len(d) != 32 {
		return nil, recErr("device", "want a 32-byte key in hex")
	}
	if err := checkHex32("opening_digest", rec.OpeningDigest); err != nil {
		return nil, err
	}
	if rec.Periods < 0 || rec.Periods != len(rec.Commitments) {
		return nil, recErr("periods", "want the number of commitments")
	}
	return &rec, nil
}

// CheckWindow checks an opening's window against its universe: from <
// to, both period starts, at most MaxOpenPeriods periods, and the
// missing and present periods adding up.
func (rec *OpeningRecord) CheckWindow(u *Universe) error {
	if u.CheckPeriod(rec.From) != nil || u.CheckPeriod(rec.To) != nil || rec.To <= rec.From || (rec.To-rec.From)/u.Period > MaxOpenPeriods {
		return recErr("to", "want period starts from < to, at most %d periods", MaxOpenPeriods)
	}
	if int64(rec.Periods+len(rec.Missing)) != (rec.To-rec.From)/u.Period {
		return recErr("missing", "periods and missing periods do not cover the window")
	}
	for i, p := range rec.Missing {
		if p < rec.From || p >= rec.To || u.CheckPeriod(p) != nil || (i > 0 && p <= rec.Missing[i-1]) {
			return recErr(fmt.Sprintf("missing[%d]", i), "want increasing period starts within the window")
		}
	}
	return nil
}

// RiskRecord announces a version of the risk tokens (topic privacy/risk).
// Version 1 records (V 1) kept their tokens in the publishing node's
// files; from V 2 the tokens follow on the ledger in privacy/risk/tokens
// records, in order, TokensPerChunk at a time.
type RiskRecord struct {
	V       int    `json:"v"`
	Version uint64 `json:"version"`
	Count   int    `json:"count"`
	Key     string `json:"key"`    // the server's public key K, base64
	Digest  string `json:"digest"` // SHA-256 of the sorted tokens, hex
}

// Chunks is the number of privacy/risk/tokens records of a V 2
// publication.
func (rec *RiskRecord) Chunks() int { return (rec.Count + TokensPerChunk - 1) / TokensPerChunk }

// ParseRiskRecord parses and checks a risk publication's record.
func ParseRiskRecord(b []byte) (*RiskRecord, error) {
	var rec RiskRecord
	if err := parseCanonical(b, &rec, &rec.V, 2); err != nil {
		return nil, err
	}
	if rec.Version < 1 {
		return nil, recErr("version", "want 1 or more")
	}
	if rec.Count < 0 || rec.Count > MaxRiskTokens {
		return nil, recErr("count", "want 0 to %d tokens", MaxRiskTokens)
	}
	k, err := base64.StdEncoding.DecodeString(rec.Key)
	if err != nil || base64.StdEncoding.EncodeToString(k) != rec.Key {
		return nil, recErr("key", "want standard base64")
	}
	if _, err := ParseElement(k); err != nil {
		return nil, recErr("key", "%s", err.Error())
	}
	if err := checkHex32("digest", rec.Digest); err != nil {
		return nil, err
	}
	return &rec, nil
}

// RiskChunk is one privacy/risk/tokens record: tokens Index*TokensPerChunk
// onwards of publication Version. Its encoding is version (8 bytes) |
// index (4) | tokens, big-endian.
type RiskChunk struct {
	Version uint64
	Index   uint32
	Tokens  []byte
}

// Bytes is the chunk's payload.
func (c *RiskChunk) Bytes() []byte {
	b := make([]byte, 12, 12+len(c.Tokens))
	binary.BigEndian.PutUint64(b, c.Version)
	binary.BigEndian.PutUint32(b[8:], c.Index)
	return append(b, c.Tokens...)
}

// ParseRiskChunk decodes a chunk: at least one and at most
// TokensPerChunk whole tokens, strictly increasing. (Each token is an
// element the reader decodes; the state machine checks order and sizes.)
func ParseRiskChunk(b []byte) (*RiskChunk, error) {
	if len(b) < 12+ElementSize || (len(b)-12)%ElementSize != 0 || (len(b)-12)/ElementSize > TokensPerChunk {
		return nil, recErr("payload", "want version, index and 1 to %d tokens of %d bytes", TokensPerChunk, ElementSize)
	}
	c := &RiskChunk{Version: binary.BigEndian.Uint64(b), Index: binary.BigEndian.Uint32(b[8:]), Tokens: slices.Clone(b[12:])}
	for i := ElementSize; i < len(c.Tokens); i += ElementSize {
		if bytes.Compare(c.Tokens[i-ElementSize:i], c.Tokens[i:i+ElementSize]) >= 0 {
			return nil, recErr("tokens", "token %d is out of order or repeated", i/ElementSize)
		}
	}
	return c, nil
}

// SplitTokens cuts a publication's sorted tokens into its chunks.
func SplitTokens(version uint64, tokens []byte) []*RiskChunk {
	var out []*RiskChunk
	for i := 0; i*TokensPerChunk*ElementSize < len(tokens); i++ {
		lo := i * TokensPerChunk * ElementSize
		hi := min(lo+TokensPerChunk*ElementSize, len(tokens))
		out = append(out, &RiskChunk{Version: version, Index: uint32(i), Tokens: tokens[lo:hi]})
	}
	return out
}
