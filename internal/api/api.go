// Package api serves a node over HTTP under /v1: JSON in and out, errors as
// {"error":{"code","message","field"}}. Every route but GET /v1/health and
// the privacy protocols' device routes is called by a request signed with
// a key holding one of the route's roles, or with the operator's token
// (routes.go registers each with its roles; docs/API.md lists who may call
// what). Transactions carry their own signatures besides.
//
// Persons are never put in URLs (which end up in logs and histories): trace
// queries are POSTs with a JSON body.
package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// Error is the JSON error body.
type Error struct {
	Status int    `json:"-"`
	Code   string `json:"code"`
	Msg    string `json:"message"`
	Field  string `json:"field,omitempty"`
	// RetryAfter, when positive, is sent as the Retry-After header (a
	// 429: when the caller may try again).
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Msg }

func errf(status int, code, field, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Server holds the handlers' dependencies.
type Server struct {
	n     *node.Node
	log   *slog.Logger
	token string
	rb    *report.Builder
	// rbCross builds the reports of reads under a grant: pseudonyms
	// only, the vault stays closed.
	rbCross  *report.Builder
	refusals refusalLimiter
	replay   *replayGuard
	// publicBulk and publicSmall bound the public requests with a body
	// that run at once (see slot).
	publicBulk, publicSmall chan struct{}
	mux                     *http.ServeMux
	// ids is the quota of POST /v1/pseudonyms.
	ids *idQuota
	// verifying holds the one GET /v1/verify that may run at a time;
	// verifyChain runs it (blocks.VerifyContext on the node's store);
	// lastVerify is how long the last one that finished took.
	verifying   chan struct{}
	verifyChain func(context.Context) (*blocks.VerifyReport, error)
	lastVerify  atomic.Int64
	// metrics are served at GET /metrics (metrics.go).
	metrics *metrics
	// backingUp holds the one POST /v1/backup that may run at a time.
	backingUp chan struct{}
	// console holds the console's challenges and sessions (console.go).
	console *consoleSessions
	// riskCache serves GET /v1/public/risk-sites (console.go).
	riskCache riskCache

	// privacy
	priv *privacyState
}

// New returns the API handler for n. It fails only if the signatures of
// requests received before a restart cannot be read back (see
// replayGuard): serving without them would let a request be replayed.
func New(n *node.Node, log *slog.Logger) (http.Handler, error) {
	s, err := newServer(n, log)
	if err != nil {
		return nil, err
	}
	return s.mux, nil
}

func newServer(n *node.Node, log *slog.Logger) (*Server, error) {
	rg, err := newReplayGuard(n.DB, time.Now())
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &Server{n: n, log: log, token: n.Home.APIToken(), rb: &report.Builder{N: n, Now: time.Now}, rbCross: &report.Builder{N: n, Now: time.Now, Pseudonymous: true}, replay: rg,
		publicBulk: make(chan struct{}, publicBulk), publicSmall: make(chan struct{}, publicSmall), mux: http.NewServeMux(),
		ids: newIDQuota(PseudonymQuota, PseudonymWindow), verifying: make(chan struct{}, 1), metrics: newMetrics(n),
		backingUp: make(chan struct{}, 1), console: newConsoleSessions(), riskCache: riskCache{turn: make(chan struct{}, 1)}}
	s.verifyChain = func(ctx context.Context) (*blocks.VerifyReport, error) {
		// On a snapshot: blocks committed while it runs (a consortium
		// commits whenever its validators do) are not a block "past the
		// head" it read first.
		g := n.Home.Genesis
		snap := n.DB.Snapshot()
		defer snap.Close()
		return blocks.VerifyContext(ctx, snap, &g, nil)
	}
	s.routes(s.mux)
	return s, nil
}

func (s *Server) authorised(r *http.Request) bool {
	if s.token == "" {
		// A member's node has no operator token (no secret to derive it
		// from): every request is signed, none passes on a bare "Bearer ".
		return false
	}
	got := r.Header.Get("Authorization")
	want := "Bearer " + s.token
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// halted answers every request a halted node cannot serve.
var halted = &Error{Status: http.StatusServiceUnavailable, Code: "halted", Msg: "the node stopped writing after finding its store damaged (see the node's log)"}

func (s *Server) toError(err error) *Error {
	var e *Error
	var rj *state.Rejection
	var fe *ndjson.FieldError
	var mbe *http.MaxBytesError
	var ure *node.UnknownRefError
	var nae *node.NotAuthorityError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &rj):
		return &Error{Status: http.StatusUnprocessableEntity, Code: rj.Code, Field: rj.Field, Msg: rj.Msg}
	case errors.As(err, &fe):
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: fe.Field, Msg: fe.Msg}
	case errors.As(err, &ure):
		return &Error{Status: http.StatusNotFound, Code: "unknown_person", Field: ure.Field, Msg: ure.Reason()}
	case errors.As(err, &nae):
		return &Error{Status: http.StatusForbidden, Code: "not_authority", Field: nae.Field, Msg: nae.Error()}
	case errors.Is(err, home.ErrNotAuthority):
		return &Error{Status: http.StatusForbidden, Code: "not_authority", Msg: err.Error()}
	case errors.Is(err, node.ErrUnknownPerson):
		return &Error{Status: http.StatusNotFound, Code: "unknown_person", Field: "person", Msg: "the reference is not bound to any identity"}
	case errors.Is(err, blocks.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Msg: err.Error()}
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Msg: fmt.Sprintf("request body over %d bytes, this route's limit", mbe.Limit)}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Msg: "the request was cancelled before it ran"}
	case errors.Is(err, store.ErrCorrupt):
		// Damage found while serving (a record a query cannot decode
		// too) stops the node's writes; the reason goes to the log, not
		// to the caller.
		s.n.DB.Halt(err)
		s.log.Error("request failed: the store is damaged, writes stopped", "err", err)
		return halted
	case errors.Is(err, engine.ErrHalted):
		return halted
	case errors.Is(err, engine.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Msg: "the node is shutting down"}
	case s.n.DB.Halted() != nil:
		s.log.Error("request failed on a halted node", "err", err)
		return halted
	}
	s.log.Error("request failed", "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Msg: "internal error (see the node's log)"}
}

// decode reads a JSON body strictly into v: one object (not null, not an
// array), known fields only, named exactly (encoding/json alone would take
// "PERSON" for "person"), nothing after it.
func decode(r *http.Request, v any) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	lead := bytes.TrimLeft(raw, " \t\r\n")
	if len(lead) == 0 {
		return errf(http.StatusBadRequest, "invalid", "", "empty body: want a JSON object")
	}
	if lead[0] != '{' {
		return errf(http.StatusBadRequest, "invalid", "", "want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
			f = strings.TrimSuffix(f, `"`)
			f = echoable(f, "body")
			return errf(http.StatusBadRequest, "invalid", f, "unknown field %q", f)
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errf(http.StatusBadRequest, "invalid", te.Field, "wrong type: want %s", te.Type)
		}
		if errors.Is(err, io.EOF) {
			return errf(http.StatusBadRequest, "invalid", "", "empty body: want a JSON object")
		}
		return errf(http.StatusBadRequest, "invalid", "", "malformed JSON: %s", clean(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errf(http.StatusBadRequest, "invalid", "", "unexpected data after the JSON object")
	}
	return exactNames(raw, v)
}

// exactNames refuses a top-level field of raw that v's struct type names
// only in another case.
func exactNames(raw []byte, v any) error {
	names := jsonNames(reflect.TypeOf(v))
	if names == nil {
		return nil
	}
	keys, err := topLevelKeys(raw)
	if err != nil {
		return errf(http.StatusBadRequest, "invalid", "", "malformed JSON: %s", clean(err))
	}
	for _, k := range keys {
		if !names[k] {
			f := echoable(k, "body")
			return errf(http.StatusBadRequest, "invalid", f, "unknown field %q (field names are case-sensitive)", f)
		}
	}
	return nil
}

// topLevelKeys lists the keys of the JSON object raw, which has decoded
// already: one pass over its bytes that copies only the keys, so a bulk
// body (POST /v1/txs, 32 MiB) is not parsed a second time into values.
func topLevelKeys(raw []byte) ([]string, error) {
	var keys []string
	depth, expectKey := 0, false
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			j := i + 1
			for j < len(raw) && raw[j] != '"' {
				if raw[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(raw) {
				return nil, errors.New("unterminated string")
			}
			if expectKey {
				var k string
				if err := json.Unmarshal(raw[i:j+1], &k); err != nil {
					return nil, err
				}
				keys = append(keys, k)
				expectKey = false
			}
			i = j
		}
	}
	return keys, nil
}

// jsonNames are the JSON names of struct type t's fields (through a
// pointer, and embedded structs); nil for a type that is not a struct.
func jsonNames(t reflect.Type) map[string]bool {
	if n, ok := jsonNameCache.Load(t); ok {
		return n.(map[string]bool)
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	names := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == "-":
		case f.Anonymous && tag == "":
			for k := range jsonNames(f.Type) {
				names[k] = true
			}
		case !f.IsExported():
		case tag != "":
			names[tag] = true
		default:
			names[f.Name] = true
		}
	}
	jsonNameCache.Store(t, names)
	return names
}

var jsonNameCache sync.Map

// clean keeps a JSON decoder's message but never echoes input values.
func clean(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	msg := err.Error()
	if len(msg) > 80 {
		msg = msg[:80]
	}
	return msg
}

// Status is the reply of /v1/health and /v1/status.
type Status struct {
	Status    string `json:"status"`
	ChainID   string `json:"chain_id"`
	Region    string `json:"region"`
	Height    uint64 `json:"height"`
	Head      string `json:"head"`
	StateHash string `json:"state_hash"`
	// Timeline says what contacts and chains read: "ready" (the resident
	// timeline), "loading", "failed" or "off" (the store).
	Timeline string `json:"timeline"`
}

// health answers the node's status, or 503 "halted" once the node has
// stopped writing (a damaged store, a failed commit): the reason is in
// its log, not here (the route is public).
func (s *Server) health(r *http.Request) (any, error) {
	if err := s.n.Halted(); err != nil {
		what := "a storage write failed"
		if errors.Is(err, store.ErrCorrupt) {
			what = "the store is damaged"
		}
		return nil, errf(http.StatusServiceUnavailable, "halted", "", "%s: the node refuses writes until restarted and repaired (see its log)", what)
	}
	h := s.n.Engine.Head()
	g := s.n.Home.Genesis
	return Status{Status: "ok", ChainID: g.ChainID, Region: g.Region, Height: h.Height, Head: h.Hash.String(), StateHash: h.StateHash.String(), Timeline: s.n.TimelineStatus()}, nil
}

// TxResult is the outcome of one submitted transaction.
type TxResult struct {
	Tx     string `json:"tx,omitempty"` // absent when the bytes did not decode
	Height uint64 `json:"height,omitempty"`
	Index  uint32 `json:"index"`
	Error  *Error `json:"error,omitempty"`
}

// SubmitRequest carries base64 transactions.
type SubmitRequest struct {
	Txs []string `json:"txs"`
}

// SubmitReply carries one result per transaction, in order.
type SubmitReply struct {
	Results []TxResult `json:"results"`
}

// MaxSubmit is the most transactions one POST /v1/txs may carry.
const MaxSubmit = 10000

func (s *Server) submitTxs(r *http.Request) (any, error) {
	var req SubmitRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if len(req.Txs) > MaxSubmit {
		return nil, errf(http.StatusBadRequest, "invalid", "txs", "more than %d transactions in one request", MaxSubmit)
	}
	start := time.Now()
	out := make([]TxResult, len(req.Txs))
	done := make(chan struct{}, len(req.Txs))
	result := func(i int, rc engine.Receipt) {
		out[i] = s.resultFor(r, rc)
		s.metrics.record(out[i].Error, start)
		done <- struct{}{}
	}
	batcher, batched := s.n.Engine.(engine.Batcher)
	var raws [][]byte
	var at []int
	for i, b64 := range req.Txs {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			out[i].Error = errf(http.StatusBadRequest, "invalid", fmt.Sprintf("txs[%d]", i), "not base64")
			s.metrics.record(out[i].Error, start)
			done <- struct{}{}
			continue
		}
		if batched {
			raws, at = append(raws, raw), append(at, i)
			continue
		}
		i := i
		if err := s.n.Engine.SubmitAsync(raw, func(rc engine.Receipt) { result(i, rc) }); err != nil {
			return nil, err
		}
	}
	if len(raws) > 0 {
		// The engine takes the request's records together (the CometBFT
		// engine bundles them).
		err := batcher.SubmitBatch(raws, func(j int, rc engine.Receipt) { result(at[j], rc) })
		if err != nil {
			return nil, err
		}
	}
	for range req.Txs {
		select {
		case <-done:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return SubmitReply{Results: out}, nil
}

func (s *Server) result(rc engine.Receipt) TxResult {
	res := TxResult{Height: rc.Height, Index: rc.Index}
	if rc.TxID != (ledger.Hash{}) {
		res.Tx = rc.TxID.String()
	}
	if rc.Err != nil {
		res.Error = s.toError(rc.Err)
		res.Height, res.Index = 0, 0
	}
	return res
}

// SingleRequest is a single base64 transaction.
type SingleRequest struct {
	Tx string `json:"tx"`
}

func (s *Server) submitTx(r *http.Request) (any, error) {
	var req SingleRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(req.Tx)
	if err != nil || req.Tx == "" {
		return nil, errf(http.StatusBadRequest, "invalid", "tx", "want the transaction's bytes in base64")
	}
	start := time.Now()
	rc := s.n.Engine.Submit(r.Context(), raw)
	if rc.Err != nil {
		e := forWriter(principalOf(r), s.toError(rc.Err))
		s.metrics.record(e, start)
		return nil, e
	}
	s.metrics.record(nil, start)
	return s.result(rc), nil
}

// resultFor is the result of rc as the caller of r may see it.
func (s *Server) resultFor(r *http.Request, rc engine.Receipt) TxResult {
	res := s.result(rc)
	res.Error = forWriter(principalOf(r), res.Error)
	return res
}

// forWriter keeps what a site or a hospital learns from the refusal of a
// record it submitted to what concerns that record: a record that is
// impossible given another record of the person is refused without naming
// that record, its site or its times, which would tell a site where anyone
// it names has been (an investigator reads them, audited). Other callers,
// and other refusals, are unchanged.
func forWriter(p *Principal, e *Error) *Error {
	if e == nil || p == nil || !p.writes() {
		return e
	}
	if e.Code == state.CodeConflict && e.Field == "person" {
		return &Error{Status: e.Status, Code: e.Code, Field: e.Field,
			Msg: "physically impossible given another record of this person on the ledger (which one is for investigators to read)"}
	}
	return e
}

// hashParam is the path's {hash}: 64 hex digits, either case (docs/API.md).
func hashParam(r *http.Request) (ledger.Hash, error) {
	if err := onlyParams(r); err != nil {
		return ledger.Hash{}, err
	}
	h, err := ledger.ParseHash(r.PathValue("hash"))
	if err != nil {
		return h, errf(http.StatusBadRequest, "invalid", "hash", "want 64 hex digits")
	}
	return h, nil
}

// TxInfo describes a stored transaction.
type TxInfo struct {
	Tx     string `json:"tx"`
	Kind   string `json:"kind"`
	Height uint64 `json:"height"`
	Index  uint32 `json:"index"`
	Bytes  string `json:"bytes"`
}

func (s *Server) getTx(r *http.Request) (any, error) {
	id, err := hashParam(r)
	if err != nil {
		return nil, err
	}
	p, err := blocks.Prove(s.n.DB, id)
	if err != nil {
		return nil, err
	}
	tx, err := ledger.DecodeTx(p.Tx)
	if err != nil {
		return nil, fmt.Errorf("%w: stored tx: %v", store.ErrCorrupt, err)
	}
	return TxInfo{Tx: id.String(), Kind: tx.Body.Kind().String(), Height: p.Header.Height, Index: uint32(p.Index), Bytes: base64.StdEncoding.EncodeToString(p.Tx)}, nil
}

func (s *Server) block(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	h, err := strconv.ParseUint(r.PathValue("height"), 10, 64)
	if err != nil || h == 0 {
		return nil, errf(http.StatusBadRequest, "invalid", "height", "want a block height >= 1")
	}
	hdr, err := blocks.Header(s.n.DB, h)
	if err != nil {
		return nil, err
	}
	return blocks.HeaderJSON(hdr), nil
}

// VaultRequest carries sealed identities.
type VaultRequest struct {
	Entries []VaultEntry `json:"entries"`
}

// VaultEntry is one sealed identity.
type VaultEntry struct {
	Person string `json:"person"`
	Sealed string `json:"sealed"`
}

func (s *Server) putVault(r *http.Request) (any, error) {
	var req VaultRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	es := make([]node.VaultEntry, len(req.Entries))
	for i, e := range req.Entries {
		p, err := ledger.ParseHash(e.Person)
		if err != nil {
			return nil, errf(http.StatusBadRequest, "invalid", fmt.Sprintf("entries[%d].person", i), "want 64 hex digits")
		}
		b, err := base64.StdEncoding.DecodeString(e.Sealed)
		if err != nil {
			return nil, errf(http.StatusBadRequest, "invalid", fmt.Sprintf("entries[%d].sealed", i), "not base64")
		}
		es[i] = node.VaultEntry{Person: ledger.Pseudonym(p), Sealed: b}
	}
	if err := s.n.PutVault(es); err != nil {
		var se *node.SealedError
		if errors.As(err, &se) {
			return nil, errf(http.StatusBadRequest, "invalid", fmt.Sprintf("entries[%d].sealed", se.Index), "does not open for its person (wrong key, wrong person or damaged)")
		}
		return nil, err
	}
	return map[string]int{"stored": len(es)}, nil
}

func (s *Server) trajectory(r *http.Request) (reader, error) {
	var q report.Query
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	return planned(s.builder(r).Trajectory(q))
}

func (s *Server) contacts(r *http.Request) (reader, error) {
	var q report.Query
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	return planned(s.builder(r).Contacts(q))
}

// cases lists every case with its real id: GET /v1/cases (see
// report.Builder.Cases).
func (s *Server) cases(r *http.Request) (reader, error) {
	if err := onlyParams(r, "status"); err != nil {
		return nil, err
	}
	return planned(s.rb.Cases(r.URL.Query().Get("status")))
}

// VerifyReply is the outcome of GET /v1/verify.
type VerifyReply struct {
	OK           bool   `json:"ok"`
	Blocks       uint64 `json:"blocks"`
	Txs          uint64 `json:"txs"`
	Signatures   uint64 `json:"signatures"`
	Head         string `json:"head,omitempty"`
	StateHash    string `json:"state_hash,omitempty"`
	SiteChains   int    `json:"site_chains"`
	Persons      uint64 `json:"persons"`
	PersonBlocks uint64 `json:"person_blocks"`
	// Replayed: every block was re-applied and every state hash matched
	// (epiledger verify --replay, on the store).
	Replayed  bool   `json:"replayed,omitempty"`
	BadHeight uint64 `json:"bad_height,omitempty"`
	View      string `json:"view,omitempty"` // "site chain" or "person chain" when one is bad
	Where     string `json:"where,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// File is the store's file that failed its checksum; Acked and Have
	// the heights acknowledged and held when blocks are missing.
	File  string `json:"file,omitempty"`
	Acked uint64 `json:"acked,omitempty"`
	Have  uint64 `json:"have,omitempty"`
}

// VerifyResult is the reply for what chain.Verify (and a replay) returned:
// a finding that the store is damaged (a bad block or chain, blocks
// acknowledged but missing, a damaged file) is a reply with OK false that
// says where; any other error is returned as it is. The node's
// GET /v1/verify and epiledger verify on the store both answer with it.
func VerifyResult(rep *blocks.VerifyReport, err error) (VerifyReply, error) {
	var file string
	var ce *store.CorruptionError
	if errors.As(err, &ce) {
		file = ce.Path
	}
	var bad *blocks.BadBlockError
	var badChain *blocks.BadChainError
	var lost *blocks.LostBlocksError
	switch {
	case err == nil:
		return VerifyReply{OK: true, Blocks: rep.Blocks, Txs: rep.Txs, Signatures: rep.Signatures, SiteChains: rep.SiteChains,
			Persons: rep.Persons, PersonBlocks: rep.PersonBlocks, Head: rep.Head.Hash.String(), StateHash: rep.Head.StateHash.String()}, nil
	case errors.As(err, &bad):
		return VerifyReply{BadHeight: bad.Height, Reason: bad.Reason, File: file}, nil
	case errors.As(err, &badChain):
		return VerifyReply{View: badChain.View, Where: badChain.Where, Reason: fmt.Sprintf("entry %d: %s", badChain.Seq, badChain.Reason)}, nil
	case errors.As(err, &lost):
		return VerifyReply{BadHeight: lost.Have + 1, Acked: lost.Acked, Have: lost.Have, Reason: lost.Error()}, nil
	case errors.Is(err, store.ErrCorrupt):
		return VerifyReply{Reason: err.Error(), File: file}, nil
	}
	return VerifyReply{}, err
}

// verify re-checks the live chain up to the head it sees when it starts;
// blocks below the head never change, so this runs beside the engine. It
// takes seconds on a city (about 13 s), so one runs at a time: a second
// request while one runs is a 429, with the last run's duration as
// Retry-After; and a run stops when its request is cancelled (the caller
// gone), rather than spending the node's CPU for nobody.
func (s *Server) verify(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	select {
	case s.verifying <- struct{}{}:
		defer func() { <-s.verifying }()
	default:
		last, took := time.Duration(s.lastVerify.Load()), ""
		if last > 0 {
			took = fmt.Sprintf(" (the last took %s)", last.Round(time.Second))
		}
		e := errf(http.StatusTooManyRequests, "busy", "", "a verify of the chain is already running, and one runs at a time%s: retry when it is done", took)
		e.RetryAfter = max(last, time.Second)
		return nil, e
	}
	start := time.Now()
	rep, err := s.verifyChain(r.Context())
	if r.Context().Err() == nil {
		s.lastVerify.Store(int64(time.Since(start)))
	}
	var bad *blocks.BadBlockError
	var badChain *blocks.BadChainError
	if err != nil && !errors.As(err, &bad) && !errors.As(err, &badChain) {
		// Damage below the chain's own checks (a file of the store) halts
		// the node like any corruption found while serving (toError).
		return nil, err
	}
	return VerifyResult(rep, err)
}

// personChain serves a person's chain with its proofs. The reference in
// the path may be a pseudonym (preferred: it carries no identifier) or a
// reference such as id:...; paths are never logged.
func (s *Server) personChain(r *http.Request) (reader, error) {
	if err := onlyParams(r, "from", "to"); err != nil {
		return nil, err
	}
	q := report.Query{Person: r.PathValue("ref"), From: r.URL.Query().Get("from"), To: r.URL.Query().Get("to")}
	return planned(s.rb.PersonChain(q))
}

func (s *Server) decisions(r *http.Request) (reader, error) {
	var q report.Query
	if err := decode(r, &q); err != nil {
		return nil, err
	}
	return planned(s.rb.Decisions(q))
}

func (s *Server) probability(r *http.Request) (any, error) {
	if err := onlyParams(r, "q", "z"); err != nil {
		return nil, err
	}
	q, from, to, err := report.ParseProbability(r.URL.Query().Get("q"), r.URL.Query().Get("z"))
	if err != nil {
		return nil, err
	}
	rows, err := report.ProbabilityTable(r.Context(), q, from, to)
	if err != nil {
		return nil, err
	}
	return map[string]any{"q": q, "rows": rows}, nil
}
