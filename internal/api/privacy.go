package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/privacy"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/trace"
)

// The privacy endpoints (docs/PRIVACY.md): universes of places,
// set-operation sessions (administrator, participants and cloud talk only
// through these), committed visit records, and the exposure check.
//
// Credentials: the administrator uses the authority's bearer token. A
// session's creation returns one random bearer token per participant and
// one for the cloud; the node keeps only their hashes, and each token
// opens only its own session and role. Devices uploading commitments sign
// each record with their own Ed25519 key; the exposure check is open to
// anyone and rate-limited per client address.

// Ledger topics of the privacy records (privacy/records.go).
const (
	TopicUniverse   = privacy.TopicUniverse
	TopicPSU        = privacy.TopicPSU
	TopicOpening    = privacy.TopicOpening
	TopicRisk       = privacy.TopicRisk
	TopicRiskTokens = privacy.TopicRiskTokens
)

// Limits of the privacy endpoints.
const (
	MaxWait        = 30 * time.Second       // longest ?wait=
	MaxEvaluate    = 1024                   // blinded visits per exposure-check request
	MaxRiskVisits  = privacy.MaxRiskTokens  // risk visits (hour slots) in one publication
	MaxOpenPeriods = privacy.MaxOpenPeriods // periods in one opening
)

// privacyState is what the privacy endpoints keep on this node. What
// every node must answer alike (universes, sessions' requests and
// results, risk publications, commitment roots) is decided by the state
// machine and read from the ledger; what is here is node-local by
// nature (docs/PRIVACY.md, "Shared and node-local state"): the session
// mailboxes of the sessions this node started, the commitments devices
// uploaded to it, its exposure-check key, the rate limiter, and caches
// of ledger records.
type privacyState struct {
	sessions *privacy.Sessions
	commits  *privacy.CommitStore
	risk     *privacy.RiskStore
	limit    *privacy.Limiter

	// universes caches universes read from the ledger (a published
	// universe never changes); riskCache the current risk tokens read
	// from it, by version.
	cmu       sync.Mutex
	universes map[string]*universeEntry
	riskCache *riskTokens
}

// riskTokens are a publication's tokens as read from the ledger.
type riskTokens struct {
	version uint64
	tokens  []byte
}

type universeEntry struct {
	u    *privacy.Universe
	gens *privacy.Generators
	once sync.Once
}

func (e *universeEntry) generators() *privacy.Generators {
	e.once.Do(func() { e.gens = privacy.NewGenerators(e.u.Digest(), len(e.u.Places)) })
	return e.gens
}

func (s *Server) privacyRoutes(mux *http.ServeMux) {
	dir := filepath.Join(s.n.Home.Dir, "privacy")
	// A device checks a few hundred visits at once; 2048 at once and
	// one more every 2 s (1800 an hour) is ample for one, and slow for
	// anyone enumerating sites and hours.
	s.priv = &privacyState{sessions: privacy.NewSessions(), commits: privacy.NewCommitStore(dir), risk: privacy.NewRiskStore(dir),
		limit: privacy.NewLimiter(0.5, 2048), universes: map[string]*universeEntry{}}

	mux.HandleFunc("POST /v1/privacy/universes", s.signed(admins, MaxBody, s.createUniverse))
	mux.HandleFunc("GET /v1/privacy/universes/{name}", s.public(SmallBody, s.getUniverse))

	mux.HandleFunc("POST /v1/privacy/sessions", s.signed(admins, MediumBody, s.createSession))
	mux.HandleFunc("GET /v1/privacy/sessions/{id}", s.public(SmallBody, s.inSession(anyInSession, s.getSession)))
	mux.HandleFunc("POST /v1/privacy/sessions/{id}/join", s.public(SmallBody, s.inSession(participantOnly, s.join)))
	mux.HandleFunc("GET /v1/privacy/sessions/{id}/peers", s.public(SmallBody, s.inSession(anyInSession, s.peers)))
	mux.HandleFunc("POST /v1/privacy/sessions/{id}/shares", s.public(MaxBody, s.inSession(participantOnly, s.postShares)))
	mux.HandleFunc("GET /v1/privacy/sessions/{id}/shares", s.public(SmallBody, s.inSession(participantOnly, s.inbox)))
	mux.HandleFunc("POST /v1/privacy/sessions/{id}/upload", s.public(MaxBody, s.inSession(participantOnly, s.postUpload)))
	mux.HandleFunc("GET /v1/privacy/sessions/{id}/uploads", s.public(SmallBody, s.inSession(cloudOrAdmin, s.uploads)))
	mux.HandleFunc("POST /v1/privacy/sessions/{id}/product", s.public(MaxBody, s.inSession(cloudOnly, s.postProduct)))
	mux.HandleFunc("GET /v1/privacy/sessions/{id}/product", s.public(SmallBody, s.inSession(adminOnly, s.product)))
	mux.HandleFunc("POST /v1/privacy/sessions/{id}/result", s.public(MediumBody, s.inSession(adminOnly, s.postResult)))

	mux.HandleFunc("POST /v1/privacy/commitments", s.public(MediumBody, s.postCommitment))
	mux.HandleFunc("POST /v1/privacy/commitments/anchor", s.signed(admins, MediumBody, s.anchor))
	mux.HandleFunc("POST /v1/privacy/commitments/proof", s.public(MediumBody, s.commitmentProof))
	mux.HandleFunc("POST /v1/privacy/commitments/verify", s.signed(admins, MaxBody, s.verifyOpening))

	mux.HandleFunc("POST /v1/privacy/risk", s.signed(admins, MaxBody, s.publishRisk))
	mux.HandleFunc("GET /v1/privacy/risk", s.public(SmallBody, s.riskTokens))
	mux.HandleFunc("POST /v1/privacy/risk/evaluate", s.public(MediumBody, s.evaluate))
}

// privErr maps the privacy package's errors to API errors; field names
// the request field when the error does not.
func privErr(err error, field string) error {
	var ie *privacy.InputError
	var pe *privacy.ParamsError
	var ee *privacy.ElementError
	var ue *privacy.UploadError
	switch {
	case errors.As(err, &ie):
		if errors.Is(ie.Err, privacy.ErrConflict) {
			return errf(http.StatusConflict, "conflict", ie.Field, "already done: %s", ie.Field)
		}
		return errf(http.StatusBadRequest, "invalid", ie.Field, "%s", clean(ie.Err))
	case errors.As(err, &pe):
		return errf(http.StatusBadRequest, "invalid", pe.Field, "%s", pe.Msg)
	case errors.As(err, &ue):
		return errf(http.StatusBadRequest, "invalid", fmt.Sprintf("uploads[%d]", ue.From), "%s", ue.Error())
	case errors.As(err, &ee):
		return errf(http.StatusBadRequest, "invalid", field, "%s", ee.Error())
	case errors.Is(err, privacy.ErrLength), errors.Is(err, privacy.ErrEncoding), errors.Is(err, privacy.ErrIdentity), errors.Is(err, privacy.ErrScalar):
		return errf(http.StatusBadRequest, "invalid", field, "%s", err.Error())
	case errors.Is(err, privacy.ErrNoSession):
		return errf(http.StatusNotFound, "no_session", "id", "no such session (or it expired)")
	case errors.Is(err, privacy.ErrNotReady):
		return errf(http.StatusConflict, "not_ready", "", "an earlier step of the session is not complete")
	case errors.Is(err, privacy.ErrTooMany):
		return errf(http.StatusServiceUnavailable, "busy", "", "too many open sessions; try again later")
	case errors.Is(err, privacy.ErrSealed):
		return errf(http.StatusConflict, "sealed", "period", "the period is anchored: no more uploads for it")
	}
	return err
}

// b64 decodes a standard base64 field; want > 0 also checks the length.
func b64(field, s string, want int) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || s == "" {
		return nil, errf(http.StatusBadRequest, "invalid", field, "want standard base64")
	}
	if want > 0 && len(b) != want {
		return nil, errf(http.StatusBadRequest, "invalid", field, "%d bytes, want %d", len(b), want)
	}
	return b, nil
}

// fields decodes request fields and keeps the first error (which names
// its field), so that a handler reads as the list of its fields.
type fields struct{ err error }

func (f *fields) bytes(field, s string, want int) []byte {
	if f.err != nil {
		return nil
	}
	b, err := b64(field, s, want)
	f.err = err
	return b
}

func (f *fields) time(field, s string) int64 {
	if f.err != nil {
		return 0
	}
	t, err := parseTime(field, s)
	f.err = err
	return t
}

// period decodes a period start aligned to u's period.
func (f *fields) period(u *privacy.Universe, field, s string) int64 {
	t := f.time(field, s)
	if f.err == nil {
		if err := u.CheckPeriod(t); err != nil {
			f.err = privErr(err, field)
		}
	}
	return t
}

// parse runs a decoder on b unless an earlier field failed, naming field
// in its error.
func (f *fields) parse(field string, b []byte, dec func([]byte) error) {
	if f.err == nil {
		if err := dec(b); err != nil {
			f.err = privErr(err, field)
		}
	}
}

func enc(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func parseWait(r *http.Request) (time.Duration, error) {
	w := r.URL.Query().Get("wait")
	if w == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(w)
	if err != nil || d < 0 || d > MaxWait {
		return 0, errf(http.StatusBadRequest, "invalid", "wait", "want a duration up to %s, e.g. 10s", MaxWait)
	}
	return d, nil
}

func parseTime(field, s string) (int64, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, errf(http.StatusBadRequest, "invalid", field, "want an RFC 3339 time, e.g. 2020-01-20T08:00:00+08:00")
	}
	return t.Unix(), nil
}

func (s *Server) formatTime(t int64) string {
	return time.Unix(t, 0).In(s.n.Home.Config.Location()).Format(time.RFC3339)
}

// publish records public information on the ledger under topic and
// returns the transaction's hash.
func (s *Server) publish(ctx context.Context, topic string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if len(b) > ledger.MaxPayload {
		return "", errf(http.StatusRequestEntityTooLarge, "too_large", "", "the record (%d bytes) exceeds the ledger's %d-byte payload", len(b), ledger.MaxPayload)
	}
	return s.submitAuthority(ctx, &ledger.Publish{Topic: topic, Payload: b})
}

// authorityTx builds and signs a transaction as the chain authority.
func (s *Server) authorityTx(body ledger.Body) ([]byte, error) {
	if s.n.Home.Authority() == nil {
		return nil, &node.NotAuthorityError{What: "sign the privacy protocols' records as the chain authority"}
	}
	tx, err := ledger.Build(body)
	if err != nil {
		return nil, err
	}
	tx.Sign(s.n.Home.Genesis.ChainID, s.n.Home.Authority())
	return tx.Bytes(), nil
}

// submitAuthority submits a transaction as the chain authority and waits
// for it; the state machine's refusal of a privacy record is mapped by
// privRefusal.
func (s *Server) submitAuthority(ctx context.Context, body ledger.Body) (string, error) {
	raw, err := s.authorityTx(body)
	if err != nil {
		return "", err
	}
	rc := s.n.Engine.Submit(ctx, raw)
	if rc.Err != nil {
		return "", privRefusal(rc.Err)
	}
	return rc.TxID.String(), nil
}

// privRefusal maps the state machine's refusals of privacy records to
// the statuses of the same refusals the API finds first: the ledger is
// the judge, and another node may have written first.
func privRefusal(err error) error {
	rj, ok := state.IsRejection(err)
	if !ok {
		return err
	}
	switch rj.Code {
	case state.CodeConflict:
		return errf(http.StatusConflict, "conflict", rj.Field, "%s", rj.Msg)
	case state.CodeTooEarly:
		return errf(http.StatusConflict, "not_over", rj.Field, "%s", rj.Msg)
	case state.CodeNotAnchored:
		return errf(http.StatusConflict, "not_anchored", rj.Field, "%s", rj.Msg)
	case state.CodeUnknownUniverse:
		return errf(http.StatusNotFound, "unknown_universe", rj.Field, "%s", rj.Msg)
	case state.CodeUnknownSession:
		return errf(http.StatusNotFound, "no_session", rj.Field, "%s", rj.Msg)
	}
	return err
}

// ---- universes

// UniverseRequest publishes a universe of places.
type UniverseRequest struct {
	Name   string   `json:"name"`
	Period string   `json:"period,omitempty"` // commitment period, default 1h
	Places []string `json:"places"`
}

// UniverseInfo describes a published universe.
type UniverseInfo struct {
	Name   string   `json:"name"`
	Period string   `json:"period"`
	Digest string   `json:"digest"`
	Places []string `json:"places"`
	Tx     string   `json:"tx,omitempty"`
}

func universeInfo(u *privacy.Universe, tx string) *UniverseInfo {
	d := u.Digest()
	return &UniverseInfo{Name: u.Name, Period: (time.Duration(u.Period) * time.Second).String(), Digest: hex.EncodeToString(d[:]), Places: u.Places, Tx: tx}
}

func (s *Server) createUniverse(r *http.Request) (any, error) {
	var req UniverseRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	period := time.Hour
	if req.Period != "" {
		var err error
		if period, err = time.ParseDuration(req.Period); err != nil {
			return nil, errf(http.StatusBadRequest, "invalid", "period", "want a duration such as 1h or 30m")
		}
	}
	u, err := privacy.NewUniverse(req.Name, period, req.Places)
	if err != nil {
		return nil, privErr(err, "")
	}
	// The ledger says whether the name is free; the state machine
	// decides (a second universe of a name is refused on every node).
	if e, err := s.universe(u.Name); err != nil {
		return nil, err
	} else if e != nil {
		return nil, errf(http.StatusConflict, "conflict", "name", "a universe of that name is already published (universes never change: publish one under a new name)")
	}
	tx, err := s.publish(r.Context(), TopicUniverse, privacy.NewUniverseRecord(u))
	if err != nil {
		return nil, err
	}
	return universeInfo(u, tx), nil
}

// universe returns the universe published under name on the ledger, or
// nil; the cache holds only what the ledger returned.
func (s *Server) universe(name string) (*universeEntry, error) {
	s.priv.cmu.Lock()
	e := s.priv.universes[name]
	s.priv.cmu.Unlock()
	if e != nil {
		return e, nil
	}
	u, err := s.n.Query.Universe(name)
	if err != nil || u == nil {
		return nil, err
	}
	s.priv.cmu.Lock()
	defer s.priv.cmu.Unlock()
	if e := s.priv.universes[name]; e != nil {
		return e, nil
	}
	e = &universeEntry{u: u}
	s.priv.universes[name] = e
	return e, nil
}

// lookupUniverse returns a published universe, or a 404 naming field.
func (s *Server) lookupUniverse(field, name string) (*universeEntry, error) {
	e, err := s.universe(name)
	if err == nil && e == nil {
		err = errf(http.StatusNotFound, "unknown_universe", field, "no universe of that name is published")
	}
	return e, err
}

// universeRequest is a request body that names a universe.
type universeRequest interface{ universeName() string }

func (r *CommitmentUpload) universeName() string { return r.Universe }
func (r *AnchorRequest) universeName() string    { return r.Universe }
func (r *ProofRequest) universeName() string     { return r.Universe }
func (r *OpeningRequest) universeName() string   { return r.Universe }

// decodeUniverse decodes the body into req and looks up its universe.
func (s *Server) decodeUniverse(r *http.Request, req universeRequest) (*universeEntry, error) {
	if err := decode(r, req); err != nil {
		return nil, err
	}
	return s.lookupUniverse("universe", req.universeName())
}

func (s *Server) getUniverse(r *http.Request) (any, error) {
	e, err := s.lookupUniverse("name", r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return universeInfo(e.u, ""), nil
}

// ---- set-operation sessions

// SessionRequest is the administrator's request for a union or an
// intersection (seed 003, step 3). Key, EncE and Proof are base64.
type SessionRequest struct {
	Session      string `json:"session"`
	Op           string `json:"op"`
	Universe     string `json:"universe"`
	Participants int    `json:"participants"`
	Shares       int    `json:"shares,omitempty"` // default: participants
	Key          string `json:"key"`
	EncE         string `json:"enc_e"`
	Proof        string `json:"proof"`
}

// SessionCreated returns the session's credentials: give token i to
// participant i, and the cloud token to the cloud.
type SessionCreated struct {
	Session           string   `json:"session"`
	Tx                string   `json:"tx"`
	ParticipantTokens []string `json:"participant_tokens"`
	CloudToken        string   `json:"cloud_token"`
}

// SessionInfo is a session's parameters and progress.
type SessionInfo struct {
	SessionRequest
	UniverseDigest string `json:"universe_digest"`
	Places         int    `json:"places"`
	RequestTx      string `json:"request_tx"`
	Joined         int    `json:"joined"`
	SharesSent     int    `json:"shares_sent"`
	Uploaded       int    `json:"uploaded"`
	Product        bool   `json:"product"`
	ResultTx       string `json:"result_tx,omitempty"`
	Role           string `json:"role"`            // the caller's role
	Index          *int   `json:"index,omitempty"` // the caller's position (participants)
}

func (s *Server) createSession(r *http.Request) (any, error) {
	var req SessionRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	op, err := privacy.ParseOp(req.Op)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "op", "%s", err.Error())
	}
	ue, err := s.lookupUniverse("universe", req.Universe)
	if err != nil {
		return nil, err
	}
	if req.Shares == 0 {
		req.Shares = req.Participants
	}
	p := &privacy.Params{Session: req.Session, Op: op, Universe: ue.u.Digest(), Places: len(ue.u.Places), Participants: req.Participants, Shares: req.Shares}
	var f fields
	f.parse("key", f.bytes("key", req.Key, privacy.ElementSize), func(b []byte) (err error) { p.Key, err = privacy.ParsePublicKey(b); return })
	f.parse("enc_e", f.bytes("enc_e", req.EncE, privacy.CiphertextSize), func(b []byte) (err error) { p.EncE, err = privacy.ParseCiphertext(b); return })
	f.parse("proof", f.bytes("proof", req.Proof, privacy.ProofSize), func(b []byte) (err error) { p.Proof, err = privacy.ParseProof(b); return })
	if f.err != nil {
		return nil, f.err
	}
	if err := p.Validate(); err != nil {
		return nil, privErr(err, "")
	}
	// The ledger says whether the id is free, the state machine decides
	// (on every node); how many mailboxes this node keeps open is its
	// own limit.
	if st, err := s.n.Query.Session(p.Session); err != nil {
		return nil, err
	} else if st != nil {
		return nil, errf(http.StatusConflict, "conflict", "session", "the session id is taken")
	}
	if s.priv.sessions.Reserved(p.Session) {
		return nil, errf(http.StatusConflict, "conflict", "session", "the session id is taken, or too many sessions are open on this node")
	}
	tx, err := s.publish(r.Context(), TopicPSU, privacy.SessionRecord{V: 1, Type: privacy.SessionRequest, Session: p.Session, Op: op.String(), Universe: ue.u.Name,
		UniverseDigest: hex.EncodeToString(p.Universe[:]), Participants: p.Participants, Shares: p.Shares,
		Key: enc(p.Key.Bytes()), EncE: enc(p.EncE.Bytes()), Proof: enc(p.Proof.Bytes())})
	if err != nil {
		return nil, err
	}
	toks, cloud, err := s.priv.sessions.Create(p, privacy.SessionInfo{Universe: ue.u.Name, RequestTx: tx})
	if err != nil {
		return nil, privErr(err, "")
	}
	return &SessionCreated{Session: p.Session, Tx: tx, ParticipantTokens: toks, CloudToken: cloud}, nil
}

// Who may call a session endpoint.
const (
	anyInSession = iota
	participantOnly
	cloudOnly
	cloudOrAdmin
	adminOnly
)

// caller is an authenticated session caller; admin means the authority.
type caller struct {
	id    string
	admin bool
	cred  privacy.Credential
}

// inSession authenticates a session endpoint's caller: the authority's
// token, or a token of this session with an allowed role.
func (s *Server) inSession(who int, h func(*http.Request, caller) (any, error)) func(*http.Request) (any, error) {
	return func(r *http.Request) (any, error) {
		c := caller{id: r.PathValue("id")}
		if s.authorised(r) {
			c.admin = true
		} else {
			tok, ok := bearer(r)
			cred, found := s.priv.sessions.Authenticate(tok)
			if !ok || !found || cred.Session != c.id {
				return nil, errf(http.StatusUnauthorized, "unauthorized", "Authorization", "this endpoint needs this session's participant or cloud token, or the authority's token")
			}
			c.cred = cred
		}
		allowed := false
		switch who {
		case anyInSession:
			allowed = true
		case participantOnly:
			allowed = !c.admin && c.cred.Role == privacy.RoleParticipant
		case cloudOnly:
			allowed = !c.admin && c.cred.Role == privacy.RoleCloud
		case cloudOrAdmin:
			allowed = c.admin || c.cred.Role == privacy.RoleCloud
		case adminOnly:
			allowed = c.admin
		}
		if !allowed {
			return nil, errf(http.StatusForbidden, "forbidden", "Authorization", "this step belongs to another role of the session")
		}
		return h(r, c)
	}
}

func bearer(r *http.Request) (string, bool) {
	const p = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(p) || h[:len(p)] != p {
		return "", false
	}
	return h[len(p):], true
}

func (s *Server) getSession(r *http.Request, c caller) (any, error) {
	v, err := s.priv.sessions.View(c.id)
	if err != nil {
		return nil, privErr(err, "")
	}
	p := v.Params
	info := &SessionInfo{SessionRequest: SessionRequest{Session: p.Session, Op: p.Op.String(), Universe: v.Info.Universe, Participants: p.Participants,
		Shares: p.Shares, Key: enc(p.Key.Bytes()), EncE: enc(p.EncE.Bytes()), Proof: enc(p.Proof.Bytes())},
		UniverseDigest: hex.EncodeToString(p.Universe[:]), Places: p.Places, RequestTx: v.Info.RequestTx,
		Joined: v.Joined, SharesSent: v.Sent, Uploaded: v.Uploaded, Product: v.Product, ResultTx: v.Result, Role: "administrator"}
	if !c.admin {
		info.Role = c.cred.Role.String()
		if c.cred.Role == privacy.RoleParticipant {
			i := c.cred.Index
			info.Index = &i
		}
	}
	return info, nil
}

// JoinRequest registers a participant's public keys (base64): X25519 for
// the shares sent to it, Ed25519 for its upload's signature.
type JoinRequest struct {
	DH   string `json:"dh"`
	Sign string `json:"sign"`
}

// PeerInfo is a participant's registered keys.
type PeerInfo struct {
	Index int    `json:"index"`
	DH    string `json:"dh"`
	Sign  string `json:"sign"`
}

// PeersReply lists every participant's keys once all have joined.
type PeersReply struct {
	Ready  bool       `json:"ready"`
	Joined int        `json:"joined"`
	Peers  []PeerInfo `json:"peers"`
}

func (s *Server) join(r *http.Request, c caller) (any, error) {
	var req JoinRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	var f fields
	dh, sign := f.bytes("dh", req.DH, 32), f.bytes("sign", req.Sign, 32)
	if f.err != nil {
		return nil, f.err
	}
	if err := s.priv.sessions.Join(c.id, c.cred.Index, privacy.PeerKeys{DH: dh, Sign: sign}); err != nil {
		return nil, privErr(err, "")
	}
	return map[string]int{"index": c.cred.Index}, nil
}

func peerInfos(peers []privacy.PeerKeys) []PeerInfo {
	out := make([]PeerInfo, len(peers))
	for i, p := range peers {
		out[i] = PeerInfo{Index: i, DH: enc(p.DH), Sign: enc(p.Sign)}
	}
	return out
}

func (s *Server) peers(r *http.Request, c caller) (any, error) {
	wait, err := parseWait(r)
	if err != nil {
		return nil, err
	}
	peers, joined, ready, err := s.priv.sessions.Peers(r.Context(), c.id, wait)
	if err != nil {
		return nil, privErr(err, "")
	}
	return &PeersReply{Ready: ready, Joined: joined, Peers: peerInfos(peers)}, nil
}

// SharesRequest carries a participant's sealed shares, one per recipient.
type SharesRequest struct {
	Shares []ShareOut `json:"shares"`
}

// ShareOut is one sealed share (base64 box) for participant To.
type ShareOut struct {
	To  int    `json:"to"`
	Box string `json:"box"`
}

// ShareIn is one sealed share from participant From.
type ShareIn struct {
	From int    `json:"from"`
	Box  string `json:"box"`
}

// InboxReply lists the shares sent to the caller once all have arrived.
type InboxReply struct {
	Ready  bool      `json:"ready"`
	Shares []ShareIn `json:"shares"`
}

func (s *Server) postShares(r *http.Request, c caller) (any, error) {
	var req SharesRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	shares := make([]privacy.SealedShare, len(req.Shares))
	for i, sh := range req.Shares {
		box, err := b64(fmt.Sprintf("shares[%d].box", i), sh.Box, privacy.BoxSize)
		if err != nil {
			return nil, err
		}
		shares[i] = privacy.SealedShare{From: c.cred.Index, To: sh.To, Box: box}
	}
	if err := s.priv.sessions.PostShares(c.id, c.cred.Index, shares); err != nil {
		return nil, privErr(err, "shares")
	}
	return map[string]int{"accepted": len(shares)}, nil
}

func (s *Server) inbox(r *http.Request, c caller) (any, error) {
	wait, err := parseWait(r)
	if err != nil {
		return nil, err
	}
	shares, ready, err := s.priv.sessions.Inbox(r.Context(), c.id, c.cred.Index, wait)
	if err != nil {
		return nil, privErr(err, "")
	}
	out := &InboxReply{Ready: ready, Shares: []ShareIn{}}
	for _, sh := range shares {
		out.Shares = append(out.Shares, ShareIn{From: sh.From, Box: enc(sh.Box)})
	}
	return out, nil
}

// UploadRequest is a participant's upload: m ciphertexts and its
// signature (base64).
type UploadRequest struct {
	Vector string `json:"vector"`
	Sig    string `json:"sig"`
}

// UploadInfo is a stored upload.
type UploadInfo struct {
	From   int    `json:"from"`
	Vector string `json:"vector"`
	Sig    string `json:"sig"`
}

// UploadsReply lists every upload, with the keys that signed them, once
// all have arrived.
type UploadsReply struct {
	Ready   bool         `json:"ready"`
	Uploads []UploadInfo `json:"uploads"`
	Peers   []PeerInfo   `json:"peers"`
}

func (s *Server) postUpload(r *http.Request, c caller) (any, error) {
	var req UploadRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	var f fields
	vec, sig := f.bytes("vector", req.Vector, 0), f.bytes("sig", req.Sig, 64)
	if f.err != nil {
		return nil, f.err
	}
	if err := s.priv.sessions.PostUpload(c.id, &privacy.Upload{From: c.cred.Index, Vector: vec, Sig: sig}); err != nil {
		return nil, privErr(err, "vector")
	}
	return map[string]bool{"accepted": true}, nil
}

func (s *Server) uploads(r *http.Request, c caller) (any, error) {
	wait, err := parseWait(r)
	if err != nil {
		return nil, err
	}
	ups, peers, ready, err := s.priv.sessions.Uploads(r.Context(), c.id, wait)
	if err != nil {
		return nil, privErr(err, "")
	}
	out := &UploadsReply{Ready: ready, Uploads: []UploadInfo{}, Peers: peerInfos(peers)}
	for _, u := range ups {
		out.Uploads = append(out.Uploads, UploadInfo{From: u.From, Vector: enc(u.Vector), Sig: enc(u.Sig)})
	}
	return out, nil
}

// ProductRequest is the cloud's product of the uploads (base64).
type ProductRequest struct {
	Vector string `json:"vector"`
}

// ProductReply is the cloud's product once it is there.
type ProductReply struct {
	Ready  bool   `json:"ready"`
	Vector string `json:"vector,omitempty"`
}

func (s *Server) postProduct(r *http.Request, c caller) (any, error) {
	var req ProductRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	vec, err := b64("vector", req.Vector, 0)
	if err != nil {
		return nil, err
	}
	if err := s.priv.sessions.PostProduct(c.id, vec); err != nil {
		return nil, privErr(err, "vector")
	}
	return map[string]bool{"accepted": true}, nil
}

func (s *Server) product(r *http.Request, c caller) (any, error) {
	wait, err := parseWait(r)
	if err != nil {
		return nil, err
	}
	vec, ready, err := s.priv.sessions.Product(r.Context(), c.id, wait)
	if err != nil {
		return nil, privErr(err, "")
	}
	out := &ProductReply{Ready: ready}
	if ready {
		out.Vector = enc(vec)
	}
	return out, nil
}

// ResultRequest is the administrator's decrypted result: the places in
// the union or intersection.
type ResultRequest struct {
	Result []string `json:"result"`
}

// ResultReply is the published result.
type ResultReply struct {
	Session string   `json:"session"`
	Op      string   `json:"op"`
	Result  []string `json:"result"`
	Tx      string   `json:"tx"`
}

func (s *Server) postResult(r *http.Request, c caller) (any, error) {
	var req ResultRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	v, err := s.priv.sessions.View(c.id)
	if err != nil {
		return nil, privErr(err, "")
	}
	ue, err := s.lookupUniverse("universe", v.Info.Universe)
	if err != nil {
		return nil, err
	}
	flags, err := ue.u.Flags("result", req.Result)
	if err != nil {
		return nil, privErr(err, "result")
	}
	var idx []int
	for i, b := range flags {
		if b {
			idx = append(idx, i)
		}
	}
	ups, prod, err := s.priv.sessions.Digests(c.id)
	if err != nil {
		return nil, privErr(err, "")
	}
	// The ledger holds the session's result at most once: the state
	// machine refuses a second, whichever node sends it.
	if st, err := s.n.Query.Session(c.id); err != nil {
		return nil, err
	} else if st != nil && st.Result != nil {
		return nil, errf(http.StatusConflict, "conflict", "result", "the result is already published")
	}
	p := v.Params
	rec := privacy.SessionRecord{V: 1, Type: privacy.SessionResult, Session: p.Session, Op: p.Op.String(), Universe: ue.u.Name, UniverseDigest: hex.EncodeToString(p.Universe[:]),
		Participants: p.Participants, Shares: p.Shares, Result: idx, Product: hex.EncodeToString(prod[:])}
	n := len(idx)
	rec.Members = &n
	for _, d := range ups {
		rec.Uploads = append(rec.Uploads, hex.EncodeToString(d[:]))
	}
	tx, err := s.publish(r.Context(), TopicPSU, rec)
	if err != nil {
		return nil, err
	}
	if err := s.priv.sessions.Finish(c.id, tx); err != nil {
		return nil, privErr(err, "")
	}
	return &ResultReply{Session: p.Session, Op: p.Op.String(), Result: ue.u.Names(flags), Tx: tx}, nil
}

// ---- committed visit records

// CommitmentUpload is one device's commitment for one period.
type CommitmentUpload struct {
	Universe   string `json:"universe"`
	Period     string `json:"period"`     // RFC 3339, the period's start
	Device     string `json:"device"`     // Ed25519 public key, base64
	Commitment string `json:"commitment"` // base64
	Sig        string `json:"sig"`        // base64, over privacy.CommitMessage
}

func parseCommitment(u *privacy.Universe, req *CommitmentUpload) (*privacy.CommitRecord, error) {
	var f fields
	rec := &privacy.CommitRecord{Period: f.period(u, "period", req.Period), Device: f.bytes("device", req.Device, 32)}
	f.parse("commitment", f.bytes("commitment", req.Commitment, privacy.ElementSize), func(b []byte) (err error) { rec.C, err = privacy.ParseCommitment(b); return })
	rec.Sig = f.bytes("sig", req.Sig, 64)
	if f.err != nil {
		return nil, f.err
	}
	if err := rec.Check(u.Digest()); err != nil {
		return nil, privErr(err, "sig")
	}
	return rec, nil
}

// anchoredRoots returns the roots on the ledger of a universe's periods in
// [from, to] (one per period: the state machine refuses a second).
func (s *Server) anchoredRoots(u *privacy.Universe, from, to int64) (map[int64]trace.CommitmentRoot, error) {
	roots, err := s.n.Query.CommitmentRoots(u.Scheme(), from, to)
	if err != nil {
		return nil, err
	}
	out := map[int64]trace.CommitmentRoot{}
	for _, r := range roots {
		if _, dup := out[r.Period]; !dup {
			out[r.Period] = r
		}
	}
	return out, nil
}

// notHeld answers for a period whose commitments were uploaded to
// another node: the records are the cloud's storage, held where devices
// uploaded them; the root on the ledger is everyone's.
func (s *Server) notHeld(period int64) error {
	return errf(http.StatusConflict, "not_held", "period", "this node does not hold the commitments of period %s: they were uploaded to the node that anchored it (ask that node)", s.formatTime(period))
}

func (s *Server) postCommitment(r *http.Request) (any, error) {
	var req CommitmentUpload
	ue, err := s.decodeUniverse(r, &req)
	if err != nil {
		return nil, err
	}
	rec, err := parseCommitment(ue.u, &req)
	if err != nil {
		return nil, err
	}
	if now := time.Now().Unix(); rec.Period > now+ue.u.Period {
		return nil, errf(http.StatusBadRequest, "invalid", "period", "the period has not started")
	}
	roots, err := s.anchoredRoots(ue.u, rec.Period, rec.Period)
	if err != nil {
		return nil, err
	}
	if len(roots) > 0 {
		return nil, privErr(privacy.ErrSealed, "period")
	}
	if err := s.priv.commits.Add(ue.u, rec); err != nil {
		return nil, privErr(err, "period")
	}
	return map[string]any{"accepted": true, "leaf": rec.Leaf().String()}, nil
}

// AnchorRequest asks the node to put a period's commitment root on the
// ledger.
type AnchorRequest struct {
	Universe string `json:"universe"`
	Period   string `json:"period"` // RFC 3339, the period's start
}

// AnchorReply is the anchored root.
type AnchorReply struct {
	Universe string `json:"universe"`
	Period   string `json:"period"`
	Count    int    `json:"count"`
	Root     string `json:"root"`
	Tx       string `json:"tx"`
}

func (s *Server) anchor(r *http.Request) (any, error) {
	var req AnchorRequest
	ue, err := s.decodeUniverse(r, &req)
	if err != nil {
		return nil, err
	}
	var f fields
	period := f.period(ue.u, "period", req.Period)
	if f.err != nil {
		return nil, f.err
	}
	// Whether the period is over is the state machine's to say, by the
	// block's time (not this node's clock): a refusal is a 409 not_over.
	if roots, err := s.anchoredRoots(ue.u, period, period); err != nil {
		return nil, err
	} else if len(roots) > 0 {
		return nil, errf(http.StatusConflict, "conflict", "period", "the period is already anchored")
	}
	recs, release, err := s.priv.commits.Seal(ue.u, period)
	if err != nil {
		return nil, privErr(err, "period")
	}
	root := privacy.Root(recs)
	tx, err := s.submitAuthority(r.Context(), &ledger.CommitRoot{Scheme: ue.u.Scheme(), Period: period, Count: uint32(len(recs)), Root: root})
	release(err == nil)
	if err != nil {
		return nil, err
	}
	return &AnchorReply{Universe: ue.u.Name, Period: s.formatTime(period), Count: len(recs), Root: root.String(), Tx: tx}, nil
}

// ProofRequest asks for a device's commitment in a period with its
// inclusion proof. (A POST: device keys stay out of URLs.)
type ProofRequest struct {
	Universe string `json:"universe"`
	Period   string `json:"period"`
	Device   string `json:"device"`
}

// CommitmentProof is a stored commitment with its RFC 6962 inclusion
// path to the period's root; AnchoredRoot is the root on the ledger (empty
// before anchoring).
type CommitmentProof struct {
	Commitment   string   `json:"commitment"`
	Sig          string   `json:"sig"`
	Leaf         string   `json:"leaf"`
	Index        int      `json:"index"`
	Count        int      `json:"count"`
	Root         string   `json:"root"`
	Path         []string `json:"path"`
	AnchoredRoot string   `json:"anchored_root,omitempty"`
}

func (s *Server) commitmentProof(r *http.Request) (any, error) {
	var req ProofRequest
	ue, err := s.decodeUniverse(r, &req)
	if err != nil {
		return nil, err
	}
	var f fields
	period, dev := f.time("period", req.Period), f.bytes("device", req.Device, 32)
	if f.err != nil {
		return nil, f.err
	}
	recs, i, err := s.priv.commits.Find(ue.u, period, dev)
	if err != nil {
		return nil, s.storageErr(err)
	}
	roots, err := s.anchoredRoots(ue.u, period, period)
	if err != nil {
		return nil, err
	}
	if root, ok := roots[period]; ok && len(recs) == 0 && root.Count > 0 {
		return nil, s.notHeld(period)
	}
	if i < 0 {
		return nil, errf(http.StatusNotFound, "not_found", "device", "no commitment of this device for this period")
	}
	leaves := make([]ledger.Hash, len(recs))
	for k := range recs {
		leaves[k] = recs[k].Leaf()
	}
	path, err := ledger.InclusionPath(i, leaves)
	if err != nil {
		return nil, err
	}
	out := &CommitmentProof{Commitment: enc(recs[i].C[:]), Sig: enc(recs[i].Sig), Leaf: leaves[i].String(), Index: i, Count: len(recs), Root: ledger.MerkleRoot(leaves).String(), Path: []string{}}
	for _, h := range path {
		out.Path = append(out.Path, h.String())
	}
	if root, ok := roots[period]; ok {
		out.AnchoredRoot = root.Root.String()
	}
	return out, nil
}

func (s *Server) storageErr(err error) error {
	if errors.Is(err, privacy.ErrTampered) {
		s.log.Error("privacy: commitment storage does not match the ledger", "err", err)
		return errf(http.StatusInternalServerError, "storage_tampered", "", "%s", err.Error())
	}
	return err
}

// OpeningRequest is a case's opening of its commitments over [From, To):
// the number of periods in which it visited each place (places it did not
// visit may be left out) and the sum of its periods' r (base64).
type OpeningRequest struct {
	Universe string            `json:"universe"`
	Device   string            `json:"device"`
	From     string            `json:"from"`
	To       string            `json:"to"`
	Counts   map[string]uint32 `json:"counts"`
	R        string            `json:"r"`
}

// OpeningReply is the verdict: "match" proves the counts; "mismatch"
// marks the device dishonest. Either way the evidence is on the ledger.
type OpeningReply struct {
	Verdict  string   `json:"verdict"`
	Device   string   `json:"device"`
	Periods  int      `json:"periods"`
	Missing  []string `json:"missing"` // periods without a commitment of the device
	Product  string   `json:"product"`
	Reopened string   `json:"reopened"`
	Tx       string   `json:"tx"`
}

func (s *Server) verifyOpening(r *http.Request) (any, error) {
	var req OpeningRequest
	ue, err := s.decodeUniverse(r, &req)
	if err != nil {
		return nil, err
	}
	u := ue.u
	o := &privacy.Opening{Counts: make([]uint32, len(u.Places))}
	var f fields
	dev, from, to := f.bytes("device", req.Device, 32), f.period(u, "from", req.From), f.period(u, "to", req.To)
	f.parse("r", f.bytes("r", req.R, privacy.ScalarSize), func(b []byte) (err error) { o.R, err = privacy.ParseR(b); return })
	if f.err != nil {
		return nil, f.err
	}
	if to <= from || (to-from)/u.Period > MaxOpenPeriods {
		return nil, errf(http.StatusBadRequest, "invalid", "to", "want from < to and at most %d periods", MaxOpenPeriods)
	}
	for place, n := range req.Counts {
		i, ok := u.Index(place)
		if !ok {
			return nil, errf(http.StatusBadRequest, "invalid", "counts", "a key is not a place of the universe")
		}
		o.Counts[i] = n
	}
	roots, err := s.anchoredRoots(u, from, to-1)
	if err != nil {
		return nil, err
	}
	var cs []privacy.Commitment
	var leaves []string
	var missing []int64
	for p := from; p < to; p += u.Period {
		root, ok := roots[p]
		if !ok {
			return nil, errf(http.StatusConflict, "not_anchored", "from", "period %s is not anchored on the ledger yet", s.formatTime(p))
		}
		recs, i, err := s.priv.commits.Find(u, p, dev)
		if err != nil {
			return nil, s.storageErr(err)
		}
		if len(recs) == 0 && root.Count > 0 {
			return nil, s.notHeld(p)
		}
		if privacy.Root(recs) != root.Root {
			return nil, s.storageErr(fmt.Errorf("%w: period %s", privacy.ErrTampered, s.formatTime(p)))
		}
		if i < 0 {
			missing = append(missing, p)
			continue
		}
		cs = append(cs, recs[i].C)
		leaves = append(leaves, recs[i].Leaf().String())
	}
	prod, reopened, err := ue.generators().Check(cs, o)
	verdict := "match"
	if errors.Is(err, privacy.ErrOpening) {
		verdict = "mismatch"
	} else if err != nil {
		return nil, err
	}
	od := openingDigest(o)
	rec := privacy.OpeningRecord{V: 1, Universe: u.Name, Device: hex.EncodeToString(dev), From: from, To: to, Periods: len(cs), Missing: missing, Verdict: verdict,
		Product: hex.EncodeToString(prod[:]), Reopened: hex.EncodeToString(reopened[:]), OpeningDigest: hex.EncodeToString(od[:]), Commitments: leaves,
		At: time.Now().UTC().Format(time.RFC3339Nano)}
	tx, err := s.publish(r.Context(), TopicOpening, rec)
	if err != nil {
		return nil, err
	}
	out := &OpeningReply{Verdict: verdict, Device: req.Device, Periods: len(cs), Missing: []string{}, Product: enc(prod[:]), Reopened: enc(reopened[:]), Tx: tx}
	for _, p := range missing {
		out.Missing = append(out.Missing, s.formatTime(p))
	}
	return out, nil
}

// openingDigest is SHA-256 over a label, every count (big-endian u32, in
// universe order) and R.
func openingDigest(o *privacy.Opening) [32]byte {
	h := sha256.New()
	h.Write([]byte("epiledger/v1/privacy/opening\x00"))
	var b [4]byte
	for _, n := range o.Counts {
		binary.BigEndian.PutUint32(b[:], n)
		h.Write(b[:])
	}
	h.Write(privacy.EncodeR(o.R))
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// ---- the exposure check

// RiskRequest publishes the risk visits: presences at sites, each
// expanded to the hour slots it overlaps.
type RiskRequest struct {
	Visits []RiskVisit `json:"visits"`
}

// RiskVisit is a presence at a site (RFC 3339 times).
type RiskVisit struct {
	Site string `json:"site"`
	In   string `json:"in"`
	Out  string `json:"out"`
}

// RiskInfo describes the published risk tokens.
type RiskInfo struct {
	Version uint64 `json:"version"`
	Count   int    `json:"count"`
	Key     string `json:"key"`    // the server's public key K (base64)
	Digest  string `json:"digest"` // SHA-256 of the tokens, hex
	Tx      string `json:"tx,omitempty"`
	Tokens  string `json:"tokens,omitempty"` // sorted tokens, concatenated, base64
}

func (s *Server) publishRisk(r *http.Request) (any, error) {
	var req RiskRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	var visits []privacy.Visit
	for i, v := range req.Visits {
		f := fmt.Sprintf("visits[%d]", i)
		if v.Site == "" || len(v.Site) > 256 {
			return nil, errf(http.StatusBadRequest, "invalid", f+".site", "want 1-256 bytes")
		}
		var fs fields
		in, out := fs.time(f+".in", v.In), fs.time(f+".out", v.Out)
		if fs.err != nil {
			return nil, fs.err
		}
		if out < in || out-in > 30*24*3600 {
			return nil, errf(http.StatusBadRequest, "invalid", f+".out", "want in <= out within 30 days")
		}
		visits = append(visits, privacy.Slots(v.Site, in, out)...)
		if len(visits) > MaxRiskVisits {
			return nil, errf(http.StatusBadRequest, "invalid", "visits", "more than %d hour slots", MaxRiskVisits)
		}
	}
	// The ledger holds the chain's key (the first publication's) and the
	// latest version; a node that does not hold that key cannot publish
	// under it, and the state machine refuses another key or an old
	// version whichever node sends it.
	st, _, err := s.n.Query.Risk()
	if err != nil {
		return nil, err
	}
	var key *privacy.RiskKey
	if st.Latest == 0 {
		key, err = s.priv.risk.KeyOrNew()
	} else {
		key, err = s.heldRiskKey(st)
	}
	if err != nil {
		return nil, err
	}
	tokens := key.Tokens(visits)
	d := sha256.Sum256(tokens)
	rec := privacy.RiskRecord{V: 2, Version: st.Latest + 1, Count: len(tokens) / privacy.ElementSize, Key: enc(key.Public()), Digest: hex.EncodeToString(d[:])}
	tx, err := s.publish(r.Context(), TopicRisk, rec)
	if err != nil {
		return nil, err
	}
	if err := s.publishTokens(rec.Version, tokens); err != nil {
		return nil, err
	}
	return &RiskInfo{Version: rec.Version, Count: rec.Count, Key: rec.Key, Digest: rec.Digest, Tx: tx}, nil
}

// publishTokens puts a publication's tokens on the ledger after its
// record, in order (each engine keeps the order of one submitter's
// transactions), and waits for all of them: the publication is current
// once the last is committed.
func (s *Server) publishTokens(version uint64, tokens []byte) error {
	chunks := privacy.SplitTokens(version, tokens)
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for i, c := range chunks {
		raw, err := s.authorityTx(&ledger.Publish{Topic: TopicRiskTokens, Payload: c.Bytes()})
		if err != nil {
			errs[i] = err
			break
		}
		wg.Add(1)
		if err := s.n.Engine.SubmitAsync(raw, func(rc engine.Receipt) { errs[i] = rc.Err; wg.Done() }); err != nil {
			errs[i] = err
			wg.Done()
			break
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			s.log.Error("privacy: a risk token record was refused; the publication is incomplete and the previous one stays current", "version", version, "record", i, "err", err)
			return privRefusal(err)
		}
	}
	return nil
}

// heldRiskKey returns this node's exposure-check key if it is the one the
// ledger's publications are under (a 409 key_not_held otherwise).
func (s *Server) heldRiskKey(st *state.RiskState) (*privacy.RiskKey, error) {
	key, err := s.priv.risk.Key()
	if err != nil {
		return nil, err
	}
	if key == nil || !bytes.Equal(key.Public(), st.Key[:]) {
		return nil, errf(http.StatusConflict, "key_not_held", "", "this node does not hold the exposure-check key of the ledger's risk publications: the node that published them answers exposure checks and publishes new versions")
	}
	return key, nil
}

func (s *Server) riskTokens(r *http.Request) (any, error) {
	st, _, err := s.n.Query.Risk()
	if err != nil {
		return nil, err
	}
	if st.Current == 0 {
		d := sha256.Sum256(nil)
		info := &RiskInfo{Digest: hex.EncodeToString(d[:])}
		if st.Latest > 0 {
			info.Key = enc(st.Key[:])
		}
		return info, nil
	}
	rec, err := s.n.Query.RiskRecord(st.Current, st.CurrentTime)
	if err != nil {
		return nil, err
	}
	tokens, err := s.currentTokens(st, rec)
	if err != nil {
		return nil, err
	}
	return &RiskInfo{Version: rec.Version, Count: rec.Count, Key: rec.Key, Digest: rec.Digest, Tokens: enc(tokens)}, nil
}

// currentTokens returns the tokens of the current publication rec: from
// the ledger (cached by version), or, for a record version 1 publication,
// from the file of the node that published it if it is this one.
func (s *Server) currentTokens(st *state.RiskState, rec *privacy.RiskRecord) ([]byte, error) {
	if rec.V == 1 {
		tokens, version, err := s.priv.risk.LegacyTokens()
		if err != nil {
			return nil, err
		}
		if d := sha256.Sum256(tokens); version != rec.Version || hex.EncodeToString(d[:]) != rec.Digest {
			return nil, errf(http.StatusConflict, "not_held", "", "the current risk publication (record version 1) kept its tokens on the node that published it, not on the ledger: ask that node, or publish a new version")
		}
		return tokens, nil
	}
	s.priv.cmu.Lock()
	c := s.priv.riskCache
	s.priv.cmu.Unlock()
	if c != nil && c.version == rec.Version {
		return c.tokens, nil
	}
	tokens, err := s.n.Query.RiskTokens(st)
	if err != nil {
		return nil, err
	}
	if d := sha256.Sum256(tokens); hex.EncodeToString(d[:]) != rec.Digest || len(tokens) != rec.Count*privacy.ElementSize {
		return nil, fmt.Errorf("%w: the risk tokens of version %d do not hash to their record's digest", store.ErrCorrupt, rec.Version)
	}
	s.priv.cmu.Lock()
	s.priv.riskCache = &riskTokens{version: rec.Version, tokens: tokens}
	s.priv.cmu.Unlock()
	return tokens, nil
}

// EvaluateRequest carries blinded visits (concatenated elements, base64).
type EvaluateRequest struct {
	Blinded string `json:"blinded"`
}

// EvaluateReply carries the answers and one proof that they were all
// made with the published key.
type EvaluateReply struct {
	Evaluated string `json:"evaluated"`
	Proof     string `json:"proof"`
}

func (s *Server) evaluate(r *http.Request) (any, error) {
	var req EvaluateRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	b, err := b64("blinded", req.Blinded, 0)
	if err != nil {
		return nil, err
	}
	n := len(b) / privacy.ElementSize
	if n > MaxEvaluate {
		return nil, errf(http.StatusBadRequest, "invalid", "blinded", "more than %d elements in one request", MaxEvaluate)
	}
	st, _, err := s.n.Query.Risk()
	if err != nil {
		return nil, err
	}
	if st.Latest == 0 {
		return nil, errf(http.StatusConflict, "not_published", "", "no risk tokens are published on the ledger: there is nothing to check against")
	}
	key, err := s.heldRiskKey(st)
	if err != nil {
		return nil, err
	}
	client, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		client = r.RemoteAddr
	}
	if ok, retry := s.priv.limit.Allow(client, n); !ok {
		return nil, errf(http.StatusTooManyRequests, "rate_limited", "blinded", "too many exposure checks from this address; retry in %d s", int(retry.Seconds())+1)
	}
	ev, proof, err := key.Evaluate(b, nil)
	if err != nil {
		return nil, privErr(err, "blinded")
	}
	return &EvaluateReply{Evaluated: enc(ev), Proof: enc(proof.Bytes())}, nil
}

// TempNode initialises a throwaway home in a new temporary directory,
// opens a node on it with a short block interval and serves this API on a
// loopback port, for commands and benchmarks that run every privacy role
// through a node. It returns the base URL, the authority's token and a
// function that stops the server, closes the node and removes the
// directory.
func TempNode(log *slog.Logger) (url, token string, stop func() error, err error) {
	dir, err := os.MkdirTemp("", "epiledger-privacy-")
	if err != nil {
		return "", "", nil, err
	}
	fail := func(err error) (string, string, func() error, error) {
		os.RemoveAll(dir)
		return "", "", nil, err
	}
	h, err := home.Init(filepath.Join(dir, "home"), home.InitOptions{ChainID: "epiledger-privacy", Region: "000000"})
	if err != nil {
		return fail(err)
	}
	cfg := engine.DefaultSoloConfig()
	cfg.Interval = 5 * time.Millisecond
	n, err := node.Open(h, log, node.Options{Solo: &cfg})
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		n.Close()
		return fail(err)
	}
	handler, err := New(n, log)
	if err != nil {
		n.Close()
		return fail(err)
	}
	srv := Serve(ln, handler)
	stop = func() error {
		return errors.Join(srv.Shutdown(5*time.Second), n.Close(), os.RemoveAll(dir))
	}
	return "http://" + ln.Addr().String(), h.APIToken(), stop, nil
}
