package privacy

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Sessions is a node's bookkeeping of set-operation sessions: the
// mailbox through which participants, the cloud and the administrator
// talk (they never talk directly). It issues per-session credentials,
// checks every message's shape when it arrives (so a bad message is
// refused at the door, naming what is wrong) and lets readers wait for a
// step to complete. It holds no secret of any role: shares arrive sealed.
// Sessions live in memory for TTL after creation (a session takes
// seconds); what matters afterwards is on the ledger. Safe for concurrent
// use.
type Sessions struct {
	// TTL is how long a session is kept (default 1 h); MaxLive how many
	// may be open at once (default 64).
	TTL     time.Duration
	MaxLive int
	Now     func() time.Time

	mu      sync.Mutex
	byID    map[string]*sessionState
	byToken map[[32]byte]Credential
}

// Role is what a session credential may do.
type Role uint8

// The session roles (the administrator authenticates with the node's
// authority token instead).
const (
	RoleParticipant Role = 1
	RoleCloud       Role = 2
)

func (r Role) String() string {
	if r == RoleCloud {
		return "cloud"
	}
	return "participant"
}

// Credential is what a session token stands for.
type Credential struct {
	Session string
	Role    Role
	Index   int // the participant's position (participants only)
}

// Errors of Sessions, for the API to map to statuses.
var (
	ErrNoSession = errors.New("privacy: no such session (or it expired)")
	ErrConflict  = errors.New("privacy: already done")
	ErrTooMany   = errors.New("privacy: too many open sessions; try again later")
	ErrNotReady  = errors.New("privacy: an earlier step is not complete")
)

// InputError is a refused message, naming the field.
type InputError struct {
	Field string
	Err   error
}

func (e *InputError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Err: fmt.Errorf(format, args...)}
}

// SessionInfo is what the node records about a session besides its
// parameters.
type SessionInfo struct {
	Universe  string // the universe's name
	RequestTx string // the Publish transaction that recorded the request
	Created   time.Time
}

type sessionState struct {
	p       *Params
	info    SessionInfo
	keys    []*PeerKeys
	joined  int
	sent    []bool
	inbox   [][]SealedShare // by recipient
	nSent   int
	uploads []*Upload
	nUp     int
	product []byte
	result  string // the result transaction, once published
	changed chan struct{}
}

func (st *sessionState) touch() {
	close(st.changed)
	st.changed = make(chan struct{})
}

// NewSessions returns an empty registry.
func NewSessions() *Sessions {
	return &Sessions{TTL: time.Hour, MaxLive: 64, Now: time.Now, byID: map[string]*sessionState{}, byToken: map[[32]byte]Credential{}}
}

func (s *Sessions) expire() {
	now := s.Now()
	for id, st := range s.byID {
		if now.Sub(st.info.Created) > s.TTL {
			delete(s.byID, id)
		}
	}
	for h, c := range s.byToken {
		if _, ok := s.byID[c.Session]; !ok {
			delete(s.byToken, h)
		}
	}
}

func newToken() (string, [32]byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	tok := "psu_" + hex.EncodeToString(b[:])
	return tok, sha256.Sum256([]byte(tok))
}

// Create registers a validated session (its request already recorded on
// the ledger: info.RequestTx) and returns one token per participant, in
// order, and the cloud's token. Only token hashes are kept.
func (s *Sessions) Create(p *Params, info SessionInfo) (participants []string, cloud string, err error) {
	if err := p.Validate(); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	if _, ok := s.byID[p.Session]; ok {
		return nil, "", &InputError{Field: "session", Err: ErrConflict}
	}
	if len(s.byID) >= s.MaxLive {
		return nil, "", ErrTooMany
	}
	n := p.Participants
	st := &sessionState{p: p, info: info, keys: make([]*PeerKeys, n), sent: make([]bool, n), inbox: make([][]SealedShare, n),
		uploads: make([]*Upload, n), changed: make(chan struct{})}
	if st.info.Created.IsZero() {
		st.info.Created = s.Now()
	}
	s.byID[p.Session] = st
	for i := 0; i < n; i++ {
		tok, h := newToken()
		s.byToken[h] = Credential{Session: p.Session, Role: RoleParticipant, Index: i}
		participants = append(participants, tok)
	}
	tok, h := newToken()
	s.byToken[h] = Credential{Session: p.Session, Role: RoleCloud}
	return participants, tok, nil
}

// Reserved reports whether a session id is taken (so that the API can
// refuse it before recording a request on the ledger).
func (s *Sessions) Reserved(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	_, ok := s.byID[id]
	return ok || len(s.byID) >= s.MaxLive
}

// Authenticate returns the credential a token stands for.
func (s *Sessions) Authenticate(token string) (Credential, bool) {
	h := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.byToken[h]
	if ok {
		if _, err := s.get(c.Session); err != nil {
			return Credential{}, false
		}
	}
	// The lookup is keyed by a hash of the token, so its timing says
	// nothing about the token.
	return c, ok
}

// SessionView is a snapshot of a session for its readers.
type SessionView struct {
	Params   *Params
	Info     SessionInfo
	Joined   int
	Sent     int
	Uploaded int
	Product  bool
	Result   string
}

func (s *Sessions) get(id string) (*sessionState, error) {
	st, ok := s.byID[id]
	if !ok || s.Now().Sub(st.info.Created) > s.TTL {
		return nil, ErrNoSession
	}
	return st, nil
}

// View returns the session's parameters and progress.
func (s *Sessions) View(id string) (*SessionView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.get(id)
	if err != nil {
		return nil, err
	}
	return &SessionView{Params: st.p, Info: st.info, Joined: st.joined, Sent: st.nSent, Uploaded: st.nUp, Product: st.product != nil, Result: st.result}, nil
}

// wait waits, up to d or until ctx is done, for ready (called under the
// lock) to return true; it returns ready's last answer.
func (s *Sessions) wait(ctx context.Context, id string, d time.Duration, ready func(st *sessionState) bool) (bool, error) {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	for {
		s.mu.Lock()
		st, err := s.get(id)
		if err != nil {
			s.mu.Unlock()
			return false, err
		}
		ok := ready(st)
		ch := st.changed
		s.mu.Unlock()
		if ok || timer == nil {
			return ok, nil
		}
		select {
		case <-ch:
		case <-timer:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// Join registers participant index's keys (once).
func (s *Sessions) Join(id string, index int, k PeerKeys) error {
	if len(k.DH) != 32 {
		return inputErr("dh", "want a 32-byte X25519 public key")
	}
	if len(k.Sign) != ed25519.PublicKeySize {
		return inputErr("sign", "want a 32-byte Ed25519 public key")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.get(id)
	if err != nil {
		return err
	}
	if st.keys[index] != nil {
		return &InputError{Field: "index", Err: ErrConflict}
	}
	for i, o := range st.keys {
		if o != nil && (bytes.Equal(o.DH, k.DH) || bytes.Equal(o.Sign, k.Sign)) {
			return inputErr("dh", "the same key as participant %d", i)
		}
	}
	kk := PeerKeys{DH: slices.Clone(k.DH), Sign: slices.Clone(k.Sign)}
	st.keys[index] = &kk
	st.joined++
	st.touch()
	return nil
}

// Peers waits up to d for every participant to join and returns their
// keys in order once they all have (ready false with the count so far
// otherwise).
func (s *Sessions) Peers(ctx context.Context, id string, d time.Duration) (peers []PeerKeys, joined int, ready bool, err error) {
	ready, err = s.wait(ctx, id, d, func(st *sessionState) bool {
		joined = st.joined
		if st.joined < len(st.keys) {
			return false
		}
		peers = make([]PeerKeys, len(st.keys))
		for i, k := range st.keys {
			peers[i] = *k
		}
		return true
	})
	return
}

// PostShares accepts participant from's sealed shares: exactly one for
// each of its recipients, each BoxSize bytes, once.
func (s *Sessions) PostShares(id string, from int, shares []SealedShare) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.get(id)
	if err != nil {
		return err
	}
	if st.joined < len(st.keys) {
		return ErrNotReady
	}
	if st.sent[from] {
		return &InputError{Field: "shares", Err: ErrConflict}
	}
	want := st.p.Recipients(from)
	if len(shares) != len(want) {
		return inputErr("shares", "%d shares, want one for each of participants %v", len(shares), want)
	}
	got := map[int]bool{}
	for i, sh := range shares {
		f := fmt.Sprintf("shares[%d]", i)
		if !slices.Contains(want, sh.To) || got[sh.To] {
			return inputErr(f+".to", "participant %d is not one of this participant's recipients %v, or repeats", sh.To, want)
		}
		if len(sh.Box) != BoxSize {
			return inputErr(f+".box", "%d bytes, want %d", len(sh.Box), BoxSize)
		}
		got[sh.To] = true
	}
	for _, sh := range shares {
		st.inbox[sh.To] = append(st.inbox[sh.To], SealedShare{From: from, To: sh.To, Box: slices.Clone(sh.Box)})
	}
	st.sent[from] = true
	st.nSent++
	st.touch()
	return nil
}

// Inbox waits up to d for every share addressed to participant to and
// returns them once all have arrived.
func (s *Sessions) Inbox(ctx context.Context, id string, to int, d time.Duration) (shares []SealedShare, ready bool, err error) {
	ready, err = s.wait(ctx, id, d, func(st *sessionState) bool {
		if len(st.inbox[to]) < st.p.Shares-1 {
			return false
		}
		shares = slices.Clone(st.inbox[to])
		return true
	})
	return
}

// PostUpload accepts participant from's upload once: the signature must
// verify with the key it registered and every element must decode (an
// error names the element).
func (s *Sessions) PostUpload(id string, u *Upload) error {
	s.mu.Lock()
	st, err := s.get(id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if st.joined < len(st.keys) {
		s.mu.Unlock()
		return ErrNotReady
	}
	if st.uploads[u.From] != nil {
		s.mu.Unlock()
		return &InputError{Field: "vector", Err: ErrConflict}
	}
	p, keys := st.p, *st.keys[u.From]
	s.mu.Unlock()

	// Check outside the lock: it decodes 2m elements.
	if len(u.Vector) != p.Places*CiphertextSize {
		return inputErr("vector", "%d bytes, want %d ciphertexts of %d bytes", len(u.Vector), p.Places, CiphertextSize)
	}
	if !ed25519.Verify(keys.Sign, uploadMessage(p, u.From, u.Vector), u.Sig) {
		return &InputError{Field: "sig", Err: ErrSignature}
	}
	if _, err := ParseVector(u.Vector, p.Places); err != nil {
		return &InputError{Field: "vector", Err: err}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if st.uploads[u.From] != nil {
		return &InputError{Field: "vector", Err: ErrConflict}
	}
	st.uploads[u.From] = &Upload{From: u.From, Vector: slices.Clone(u.Vector), Sig: slices.Clone(u.Sig)}
	st.nUp++
	st.touch()
	return nil
}

// Uploads waits up to d for every upload and returns them, in
// participant order, with the participants' keys.
func (s *Sessions) Uploads(ctx context.Context, id string, d time.Duration) (uploads []Upload, peers []PeerKeys, ready bool, err error) {
	ready, err = s.wait(ctx, id, d, func(st *sessionState) bool {
		if st.nUp < len(st.uploads) {
			return false
		}
		uploads, peers = make([]Upload, len(st.uploads)), make([]PeerKeys, len(st.keys))
		for i, u := range st.uploads {
			uploads[i], peers[i] = *u, *st.keys[i]
		}
		return true
	})
	return
}

// PostProduct accepts the cloud's product once, after every upload.
func (s *Sessions) PostProduct(id string, vec []byte) error {
	s.mu.Lock()
	st, err := s.get(id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	p, ready, done := st.p, st.nUp == len(st.uploads), st.product != nil
	s.mu.Unlock()
	switch {
	case !ready:
		return ErrNotReady
	case done:
		return &InputError{Field: "vector", Err: ErrConflict}
	}
	if _, err := ParseVector(vec, p.Places); err != nil {
		return &InputError{Field: "vector", Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.product != nil {
		return &InputError{Field: "vector", Err: ErrConflict}
	}
	st.product = slices.Clone(vec)
	st.touch()
	return nil
}

// Product waits up to d for the cloud's product.
func (s *Sessions) Product(ctx context.Context, id string, d time.Duration) (vec []byte, ready bool, err error) {
	ready, err = s.wait(ctx, id, d, func(st *sessionState) bool {
		vec = st.product
		return vec != nil
	})
	return
}

// Digests returns SHA-256 of each upload and of the product, for the
// published result.
func (s *Sessions) Digests(id string) (uploads [][32]byte, product [32]byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.get(id)
	if err != nil {
		return nil, product, err
	}
	if st.product == nil {
		return nil, product, ErrNotReady
	}
	for _, u := range st.uploads {
		uploads = append(uploads, sha256.Sum256(u.Vector))
	}
	return uploads, sha256.Sum256(st.product), nil
}

// Finish records the result's transaction (once).
func (s *Sessions) Finish(id, tx string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.get(id)
	if err != nil {
		return err
	}
	if st.result != "" {
		return &InputError{Field: "result", Err: ErrConflict}
	}
	st.result = tx
	st.touch()
	return nil
}
