package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/privacy"
	"github.com/epiledger/epiledger/internal/store"
)

// The privacy protocols' shared state (issue 13, point 3): what one node
// must not decide alone is decided here, from the ledger, so that every
// node answers alike (docs/PRIVACY.md, "Shared and node-local state").
//
//   - privacy/universe: a valid universe whose digest is its own; a name
//     is published once.
//   - privacy/psu: a request names a published universe (and its digest),
//     its parameters and proof check, and its session id is new; a result
//     follows its session's request, once, and repeats its parameters.
//   - privacy/risk: versions strictly increase and every publication is
//     under the chain's exposure-check key (the first one's). From record
//     version 2 the tokens follow in privacy/risk/tokens records, in
//     order, and the last one completes the publication only if all of
//     them hash to the announced digest; the state record
//     CounterKey(RiskStateName) says which publication is current.
//   - privacy/opening: its universe is published and every period of its
//     window is anchored.
//   - commit_root: one root per scheme and period; a "pedersen/v1/<name>"
//     scheme names a published universe, its period is one of the
//     universe's and is over at the block's time.
//
// None of these checks writes anything but the record itself (and, for
// the new risk records, the risk state record), so the state hashes of
// chains written before them are unchanged. The lookups scan the
// publication table (u) of the topic; the records of this block live in
// the block's overlay (the table is not read back within a block).

// Rejection codes of the privacy records.
const (
	CodeUnknownUniverse = "unknown_universe"
	CodeUnknownSession  = "unknown_session"
	CodeTooEarly        = "too_early"
	CodeNotAnchored     = "not_anchored"
)

// SchemePedersen prefixes the commitment scheme of a universe's visit
// commitments: "pedersen/v1/<universe>" (privacy.Universe.Scheme).
const SchemePedersen = "pedersen/v1/"

// RiskStateName is the counter table's name of the exposure check's
// state record.
const RiskStateName = "privacy/risk"

// privBlock is a block's overlay of the privacy records it accepted.
type privBlock struct {
	universes map[string]*privacy.Universe
	sessions  map[string]*SessionState
	roots     map[rootKey]bool
	risk      *RiskState        // nil: unchanged in this block
	legacy    bool              // risk is derived from record version 1 records
	chunks    map[uint32][]byte // tokens of this block's chunks of risk.Latest
}

type rootKey struct {
	scheme string
	period int64
}

func (blk *Block) privacy() *privBlock {
	if blk.priv == nil {
		blk.priv = &privBlock{universes: map[string]*privacy.Universe{}, sessions: map[string]*SessionState{}, roots: map[rootKey]bool{}, chunks: map[uint32][]byte{}}
	}
	return blk.priv
}

// recordRejection turns a privacy record's parse error into a rejection.
func recordRejection(err error) error {
	var re *privacy.RecordError
	if errors.As(err, &re) {
		return reject(CodeInvalid, re.Field, "%s", re.Msg)
	}
	return reject(CodeInvalid, "payload", "%s", err.Error())
}

// checkPublication checks a publication under one of the privacy topics
// (others pass as they are) and notes it in the block's overlay; risk
// records also write the risk state.
func (blk *Block) checkPublication(b *ledger.Publish) error {
	switch b.Topic {
	case privacy.TopicUniverse:
		return blk.checkUniverse(b.Payload)
	case privacy.TopicPSU:
		return blk.checkSession(b.Payload)
	case privacy.TopicOpening:
		return blk.checkOpening(b.Payload)
	case privacy.TopicRisk:
		return blk.checkRisk(b.Payload)
	case privacy.TopicRiskTokens:
		return blk.checkRiskTokens(b.Payload)
	}
	return nil
}

// ---- universes

func (blk *Block) universe(name string) (*privacy.Universe, error) {
	if blk.priv != nil {
		if u := blk.priv.universes[name]; u != nil {
			return u, nil
		}
	}
	return Universe(blk.b, name)
}

// knownUniverse returns the universe published under name, or refuses
// the record naming field.
func (blk *Block) knownUniverse(field, name string) (*privacy.Universe, error) {
	u, err := blk.universe(name)
	if err == nil && u == nil {
		err = reject(CodeUnknownUniverse, field, "no universe of that name is published")
	}
	return u, err
}

// Universe returns the universe published under name, or nil. (Chains
// written before the name was unique may hold several: the first in
// ledger order counts, as it always did.)
func Universe(r store.Reader, name string) (*privacy.Universe, error) {
	var found *privacy.Universe
	needle := []byte(`"name":"` + name + `"`)
	lo, hi := store.PublishRange(privacy.TopicUniverse)
	err := r.Scan(lo, hi, func(_, v []byte) bool {
		if !bytes.Contains(v, needle) {
			return true
		}
		if u, err := privacy.ParseUniverseRecord(v); err == nil && u.Name == name {
			found = u
			return false
		}
		return true
	})
	return found, err
}

func (blk *Block) checkUniverse(payload []byte) error {
	u, err := privacy.ParseUniverseRecord(payload)
	if err != nil {
		return recordRejection(err)
	}
	if old, err := blk.universe(u.Name); err != nil {
		return err
	} else if old != nil {
		return reject(CodeConflict, "name", "a universe of that name is already published (universes never change: publish one under a new name)")
	}
	blk.privacy().universes[u.Name] = u
	return nil
}

// ---- sessions

// SessionState is a set-operation session as the ledger holds it: its
// request and, once published, its result.
type SessionState struct {
	Request *privacy.SessionRecord
	Result  *privacy.SessionRecord
}

func (blk *Block) session(id string) (*SessionState, error) {
	if blk.priv != nil {
		if s := blk.priv.sessions[id]; s != nil {
			return s, nil
		}
	}
	return Session(blk.b, id)
}

// Session returns a session's records on the ledger, or nil.
func Session(r store.Reader, id string) (*SessionState, error) {
	var st *SessionState
	needle := []byte(`"session":"` + id + `"`)
	lo, hi := store.PublishRange(privacy.TopicPSU)
	err := r.Scan(lo, hi, func(_, v []byte) bool {
		if !bytes.Contains(v, needle) {
			return true
		}
		rec, err := privacy.ParseSessionRecord(v)
		if err != nil || rec.Session != id {
			return true
		}
		if st == nil {
			st = &SessionState{}
		}
		switch {
		case rec.Type == privacy.SessionRequest && st.Request == nil:
			st.Request = rec
		case rec.Type == privacy.SessionResult && st.Result == nil:
			st.Result = rec
		}
		return true
	})
	if st != nil && st.Request == nil {
		st = nil // a result without a request never passed the checks
	}
	return st, err
}

func (blk *Block) checkSession(payload []byte) error {
	rec, err := privacy.ParseSessionRecord(payload)
	if err != nil {
		return recordRejection(err)
	}
	u, err := blk.knownUniverse("universe", rec.Universe)
	if err != nil {
		return err
	}
	if d := u.Digest(); hex.EncodeToString(d[:]) != rec.UniverseDigest {
		return reject(CodeInvalid, "universe_digest", "is not the digest of the universe named")
	}
	st, err := blk.session(rec.Session)
	if err != nil {
		return err
	}
	switch rec.Type {
	case privacy.SessionRequest:
		if st != nil {
			return reject(CodeConflict, "session", "the session id is taken")
		}
		if _, err := rec.Params(len(u.Places)); err != nil {
			return recordRejection(err)
		}
		st = &SessionState{Request: rec}
	case privacy.SessionResult:
		if st == nil {
			return reject(CodeUnknownSession, "session", "no request of this session is on the ledger")
		}
		if st.Result != nil {
			return reject(CodeConflict, "result", "the session's result is already published")
		}
		q := st.Request
		for _, c := range []struct {
			field string
			same  bool
		}{{"op", rec.Op == q.Op}, {"universe", rec.Universe == q.Universe}, {"participants", rec.Participants == q.Participants}, {"shares", rec.Shares == q.Shares}} {
			if !c.same {
				return reject(CodeInvalid, c.field, "differs from the session's request")
			}
		}
		if n := len(rec.Result); n > 0 && rec.Result[n-1] >= len(u.Places) {
			return reject(CodeInvalid, fmt.Sprintf("result[%d]", n-1), "not a place of the universe")
		}
		st = &SessionState{Request: q, Result: rec}
	}
	blk.privacy().sessions[rec.Session] = st
	return nil
}

// ---- commitment roots and openings

// anchored returns the periods of scheme in [from, to] that have a root,
// this block's included.
func (blk *Block) anchored(scheme string, from, to int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	lo, hi := store.CommitRange(scheme, from, to)
	err := blk.b.Scan(lo, hi, func(k, _ []byte) bool {
		out[store.TimeFromKey(binary.BigEndian.Uint64(k[len(k)-16:len(k)-8]))] = true
		return true
	})
	if blk.priv != nil {
		for k := range blk.priv.roots {
			if k.scheme == scheme && k.period >= from && k.period <= to {
				out[k.period] = true
			}
		}
	}
	return out, err
}

// checkCommitRoot checks an anchored root against the ledger.
func (blk *Block) checkCommitRoot(b *ledger.CommitRoot) error {
	if name, ok := strings.CutPrefix(b.Scheme, SchemePedersen); ok {
		u, err := blk.knownUniverse("scheme", name)
		if err != nil {
			return err
		}
		if u.CheckPeriod(b.Period) != nil {
			return reject(CodeInvalid, "period", "want a multiple of %d seconds (the universe's period)", u.Period)
		}
		if b.Period > blk.now-u.Period {
			return reject(CodeTooEarly, "period", "the period is not over at the block's time: devices may still upload for it")
		}
	}
	got, err := blk.anchored(b.Scheme, b.Period, b.Period)
	if err != nil {
		return err
	}
	if got[b.Period] {
		return reject(CodeConflict, "period", "the period is already anchored")
	}
	blk.privacy().roots[rootKey{b.Scheme, b.Period}] = true
	return nil
}

func (blk *Block) checkOpening(payload []byte) error {
	rec, err := privacy.ParseOpeningRecord(payload)
	if err != nil {
		return recordRejection(err)
	}
	u, err := blk.knownUniverse("universe", rec.Universe)
	if err != nil {
		return err
	}
	if err := rec.CheckWindow(u); err != nil {
		return recordRejection(err)
	}
	got, err := blk.anchored(u.Scheme(), rec.From, rec.To-1)
	if err != nil {
		return err
	}
	for p := rec.From; p < rec.To; p += u.Period {
		if !got[p] {
			return reject(CodeNotAnchored, "from", "a period of the window is not anchored")
		}
	}
	return nil
}

// ---- the exposure check

// RiskState is the exposure check's state on the ledger: the chain's key,
// the latest publication announced and how many of its token records
// have arrived, and the current publication (the latest complete one).
type RiskState struct {
	Key         [32]byte // the first publication's key
	Latest      uint64   // the highest version announced (0: none)
	LatestTime  int64    // its record's block time
	Count       uint32   // its tokens
	Received    uint32   // its token records so far
	Last        [32]byte // the last token received
	Digest      [32]byte // its digest
	Current     uint64   // the highest complete version (0: none)
	CurrentTime int64    // its record's block time
}

const riskStateSize = 32 + 8 + 8 + 4 + 4 + 32 + 32 + 8 + 8

func (s *RiskState) encode() []byte {
	b := make([]byte, 0, riskStateSize)
	b = append(b, s.Key[:]...)
	b = binary.BigEndian.AppendUint64(b, s.Latest)
	b = binary.BigEndian.AppendUint64(b, uint64(s.LatestTime))
	b = binary.BigEndian.AppendUint32(b, s.Count)
	b = binary.BigEndian.AppendUint32(b, s.Received)
	b = append(b, s.Last[:]...)
	b = append(b, s.Digest[:]...)
	b = binary.BigEndian.AppendUint64(b, s.Current)
	return binary.BigEndian.AppendUint64(b, uint64(s.CurrentTime))
}

func decodeRiskState(b []byte) (*RiskState, error) {
	if len(b) != riskStateSize {
		return nil, fmt.Errorf("%w: risk state record", store.ErrCorrupt)
	}
	s := &RiskState{}
	copy(s.Key[:], b)
	s.Latest = binary.BigEndian.Uint64(b[32:])
	s.LatestTime = int64(binary.BigEndian.Uint64(b[40:]))
	s.Count = binary.BigEndian.Uint32(b[48:])
	s.Received = binary.BigEndian.Uint32(b[52:])
	copy(s.Last[:], b[56:])
	copy(s.Digest[:], b[88:])
	s.Current = binary.BigEndian.Uint64(b[120:])
	s.CurrentTime = int64(binary.BigEndian.Uint64(b[128:]))
	return s, nil
}

// chunks is the number of token records of the latest publication.
func (s *RiskState) chunks() uint32 {
	return (s.Count + privacy.TokensPerChunk - 1) / privacy.TokensPerChunk
}

// Risk returns the exposure check's state on the ledger; legacy is true
// on a chain whose risk records are all of record version 1 (no state
// record: the state is derived from the records, and each is current
// once announced, its tokens kept by the node that published it).
func Risk(r store.Reader) (s *RiskState, legacy bool, err error) {
	v, ok, err := r.Get(store.CounterKey(RiskStateName))
	if err != nil {
		return nil, false, err
	}
	if ok {
		s, err := decodeRiskState(v)
		return s, false, err
	}
	s = &RiskState{}
	lo, hi := store.PublishRange(privacy.TopicRisk)
	err = r.Scan(lo, hi, func(k, v []byte) bool {
		rec, err := privacy.ParseRiskRecord(v)
		if err != nil || rec.V != 1 || rec.Version <= s.Latest {
			return true // refused by the checks; not on any chain they ran on
		}
		key, _ := base64.StdEncoding.DecodeString(rec.Key)
		if s.Latest == 0 {
			copy(s.Key[:], key)
		}
		t := store.TimeFromKey(binary.BigEndian.Uint64(k[len(k)-16 : len(k)-8]))
		s.Latest, s.LatestTime, s.Current, s.CurrentTime = rec.Version, t, rec.Version, t
		return true
	})
	return s, true, err
}

func (blk *Block) risk() (*RiskState, bool, error) {
	if blk.priv != nil && blk.priv.risk != nil {
		return blk.priv.risk, blk.priv.legacy, nil
	}
	return Risk(blk.b)
}

func (blk *Block) setRisk(s *RiskState) error {
	p := blk.privacy()
	p.risk, p.legacy = s, false
	return blk.set(store.CounterKey(RiskStateName), s.encode())
}

func (blk *Block) checkRisk(payload []byte) error {
	rec, err := privacy.ParseRiskRecord(payload)
	if err != nil {
		return recordRejection(err)
	}
	s, legacy, err := blk.risk()
	if err != nil {
		return err
	}
	if rec.Version <= s.Latest {
		return reject(CodeConflict, "version", "version %d is not after the latest published (%d)", rec.Version, s.Latest)
	}
	key, _ := base64.StdEncoding.DecodeString(rec.Key)
	if s.Latest > 0 && !bytes.Equal(key, s.Key[:]) {
		return reject(CodeConflict, "key", "is not the chain's exposure-check key (the first publication's)")
	}
	if rec.V == 1 {
		if !legacy {
			return reject(CodeInvalid, "v", "record version 1 (tokens off the ledger) is no longer accepted once version 2 is in use")
		}
		// As before: the record alone, no state record.
		n := *s
		if n.Latest == 0 {
			copy(n.Key[:], key)
		}
		n.Latest, n.LatestTime, n.Current, n.CurrentTime = rec.Version, blk.now, rec.Version, blk.now
		p := blk.privacy()
		p.risk, p.legacy = &n, true
		return nil
	}
	n := *s
	copy(n.Key[:], key)
	n.Latest, n.LatestTime, n.Count, n.Received, n.Last = rec.Version, blk.now, uint32(rec.Count), 0, [32]byte{}
	d, _ := hex.DecodeString(rec.Digest)
	copy(n.Digest[:], d)
	if rec.Count == 0 {
		if rec.Digest != emptyDigest {
			return reject(CodeInvalid, "digest", "is not the digest of no tokens")
		}
		n.Current, n.CurrentTime = n.Latest, n.LatestTime
	}
	clear(blk.privacy().chunks)
	return blk.setRisk(&n)
}

var emptyDigest = func() string { d := sha256.Sum256(nil); return hex.EncodeToString(d[:]) }()

func (blk *Block) checkRiskTokens(payload []byte) error {
	c, err := privacy.ParseRiskChunk(payload)
	if err != nil {
		return recordRejection(err)
	}
	s, legacy, err := blk.risk()
	if err != nil {
		return err
	}
	if legacy || c.Version != s.Latest || s.Latest == 0 {
		return reject(CodeConflict, "version", "not the tokens of the latest risk publication")
	}
	if s.Received >= s.chunks() || c.Index != s.Received {
		return reject(CodeConflict, "index", "want the publication's token record %d of %d", s.Received, s.chunks())
	}
	want := min(privacy.TokensPerChunk, int(s.Count)-int(s.Received)*privacy.TokensPerChunk)
	if len(c.Tokens) != want*privacy.ElementSize {
		return reject(CodeInvalid, "tokens", "%d tokens, want %d", len(c.Tokens)/privacy.ElementSize, want)
	}
	if s.Received > 0 && bytes.Compare(c.Tokens[:privacy.ElementSize], s.Last[:]) <= 0 {
		return reject(CodeInvalid, "tokens", "the first token is out of order with the previous record's")
	}
	n := *s
	n.Received++
	copy(n.Last[:], c.Tokens[len(c.Tokens)-privacy.ElementSize:])
	if n.Received == n.chunks() {
		got, err := blk.riskDigest(&n, c)
		if err != nil {
			return err
		}
		if got != n.Digest {
			return reject(CodeInvalid, "tokens", "the publication's tokens do not hash to its digest")
		}
		n.Current, n.CurrentTime = n.Latest, n.LatestTime
	}
	blk.privacy().chunks[c.Index] = c.Tokens
	return blk.setRisk(&n)
}

// riskDigest hashes the tokens of publication s.Latest: its committed
// token records, this block's and last.
func (blk *Block) riskDigest(s *RiskState, last *privacy.RiskChunk) ([32]byte, error) {
	parts := make([][]byte, s.chunks())
	err := scanRiskChunks(blk.b, s.Latest, s.LatestTime, func(c *privacy.RiskChunk) {
		if int(c.Index) < len(parts) {
			parts[c.Index] = c.Tokens
		}
	})
	if err != nil {
		return [32]byte{}, err
	}
	for i, t := range blk.privacy().chunks {
		parts[i] = t
	}
	parts[last.Index] = last.Tokens
	h := sha256.New()
	for i, p := range parts {
		if p == nil {
			return [32]byte{}, fmt.Errorf("%w: risk token record %d of version %d is missing", store.ErrCorrupt, i, s.Latest)
		}
		h.Write(p)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d, nil
}

// scanRiskChunks calls fn for every committed token record of a
// publication whose record has block time t.
func scanRiskChunks(r store.Reader, version uint64, t int64, fn func(*privacy.RiskChunk)) error {
	lo, hi := store.PublishRange(privacy.TopicRiskTokens)
	from := store.PublishKey(privacy.TopicRiskTokens, t, ledger.Hash{})
	if bytes.Compare(from, lo) > 0 {
		lo = from
	}
	var derr error
	err := r.Scan(lo, hi, func(_, v []byte) bool {
		if len(v) < 8 || binary.BigEndian.Uint64(v) != version {
			return true
		}
		c, err := privacy.ParseRiskChunk(v)
		if err != nil {
			derr = fmt.Errorf("%w: risk token record: %v", store.ErrCorrupt, err)
			return false
		}
		fn(c)
		return true
	})
	if err == nil {
		err = derr
	}
	return err
}

// RiskTokens returns the sorted tokens of the current publication of s
// (record version 2), read from its token records.
func RiskTokens(r store.Reader, s *RiskState) ([]byte, error) {
	if s.Current == 0 {
		return nil, nil
	}
	var parts [][]byte
	err := scanRiskChunks(r, s.Current, s.CurrentTime, func(c *privacy.RiskChunk) {
		for len(parts) <= int(c.Index) {
			parts = append(parts, nil)
		}
		parts[c.Index] = c.Tokens
	})
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(parts, func(p []byte) bool { return p == nil }) {
		return nil, fmt.Errorf("%w: a risk token record of version %d is missing", store.ErrCorrupt, s.Current)
	}
	return bytes.Join(parts, nil), nil
}

// RiskRecord returns the record of a published version, with its block
// time t (the state's LatestTime or CurrentTime).
func RiskRecord(r store.Reader, version uint64, t int64) (*privacy.RiskRecord, error) {
	lo, hi := store.PublishRange(privacy.TopicRisk)
	from := store.PublishKey(privacy.TopicRisk, t, ledger.Hash{})
	if bytes.Compare(from, lo) > 0 {
		lo = from
	}
	var found *privacy.RiskRecord
	err := r.Scan(lo, hi, func(_, v []byte) bool {
		if rec, err := privacy.ParseRiskRecord(v); err == nil && rec.Version == version {
			found = rec
			return false
		}
		return true
	})
	if err == nil && found == nil {
		err = fmt.Errorf("%w: risk record of version %d is missing", store.ErrCorrupt, version)
	}
	return found, err
}
