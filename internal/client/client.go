// Package client talks to a node's HTTP API: it submits transactions in
// batches (as an importer sink), stores vault entries and runs trace
// queries.
package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/state"
)

// Client is an API client. Submissions are buffered into batches of
// BatchSize and sent by a background sender, so that a batch is in flight
// while the next one fills.
type Client struct {
	base  string
	token string
	hc    *http.Client
	// Key, when set, signs every request (the API's signed requests) and
	// ChainID is the node's chain, which the signature binds; otherwise
	// the bearer token authenticates as the chain authority.
	Key     ed25519.PrivateKey
	ChainID string
	// Case and Purpose are sent with every request; reads of personal
	// data need them (they go into the audit record).
	Case, Purpose string
	// Grant, when set, names a national grant (its id) on every request:
	// a key from another region reads under it (docs/REGIONS.md step 8).
	Grant string
	// BatchSize is how many transactions go in one POST /v1/txs.
	BatchSize int

	mu      sync.Mutex
	pending []pendingTx
	sendq   chan []pendingTx
	sendWG  sync.WaitGroup
	failed  error
}

type pendingTx struct {
	b64  string
	done func(engine.Receipt)
}

// New returns a client for the node at base (e.g. http://127.0.0.1:7070).
func New(base, token string) *Client {
	c := &Client{base: strings.TrimRight(base, "/"), token: token, hc: &http.Client{Timeout: 5 * time.Minute}, BatchSize: 1000, sendq: make(chan []pendingTx, 2)}
	c.sendWG.Add(1)
	go c.sender()
	return c
}

// APIError is an error reply from the node.
type APIError struct {
	Status int
	Body   api.Error
}

func (e *APIError) Error() string {
	if e.Body.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Body.Code, e.Body.Field, e.Body.Msg)
	}
	return e.Body.Code + ": " + e.Body.Msg
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var raw []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		raw = b
	}
	resp, err := c.send(ctx, c.hc, method, path, raw)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("node at %s: a reply that is not the API's: %w", c.base, err)
	}
	return nil
}

// send sends one request with hc, signed or with the token, and returns
// the answer if its status is a success, else the API's error.
func (c *Client) send(ctx context.Context, hc *http.Client, method, path string, raw []byte) (*http.Response, error) {
	if c.Grant != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "grant=" + url.QueryEscape(c.Grant)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	switch {
	case c.Key != nil:
		api.SignRequest(req, c.ChainID, c.Key, c.Case, c.Purpose, raw, time.Now())
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set(api.HeaderCase, c.Case)
		req.Header.Set(api.HeaderPurpose, c.Purpose)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node at %s: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e struct {
			Error api.Error `json:"error"`
		}
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error.Code == "" {
			return nil, &APIError{Status: resp.StatusCode, Body: api.Error{Code: "http", Msg: resp.Status}}
		}
		return nil, &APIError{Status: resp.StatusCode, Body: e.Error}
	}
	return resp, nil
}

// Backup asks the node for a backup of its store (POST /v1/backup, the
// administrator's) and returns the tar stream, which the caller reads to
// its end and closes. No time limit but ctx's: a large store takes long.
func (c *Client) Backup(ctx context.Context) (io.ReadCloser, error) {
	resp, err := c.send(ctx, &http.Client{}, "POST", "/v1/backup", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// committed checks a reply that says a transaction was committed: one
// that names no transaction or block is not the API's (a node.json that
// named another server, say), whatever its status.
func (c *Client) committed(r *api.TxResult, err error) (*api.TxResult, error) {
	if err == nil && (r.Tx == "" || r.Height == 0) {
		err = fmt.Errorf("node at %s: a reply that names no committed transaction", c.base)
	}
	return r, err
}

// Status asks for the node's status.
func (c *Client) Status(ctx context.Context) (*api.Status, error) {
	var s api.Status
	return &s, c.do(ctx, "GET", "/v1/status", nil, &s)
}

// Health asks for the node's public status (no authentication).
func (c *Client) Health(ctx context.Context) (*api.Status, error) {
	var s api.Status
	return &s, c.do(ctx, "GET", "/v1/health", nil, &s)
}

// SubmitAsync implements importer.Sink.
func (c *Client) SubmitAsync(raw []byte, done func(engine.Receipt)) error {
	c.mu.Lock()
	if c.failed != nil {
		err := c.failed
		c.mu.Unlock()
		return err
	}
	c.pending = append(c.pending, pendingTx{b64: base64.StdEncoding.EncodeToString(raw), done: done})
	var batch []pendingTx
	if len(c.pending) >= c.BatchSize {
		batch, c.pending = c.pending, nil
	}
	c.mu.Unlock()
	if batch != nil {
		c.sendq <- batch
	}
	return nil
}

// Flush implements importer.Sink: it sends what is buffered and waits for
// every batch's reply.
func (c *Client) Flush() error {
	c.mu.Lock()
	batch := c.pending
	c.pending = nil
	c.mu.Unlock()
	if len(batch) > 0 {
		c.sendq <- batch
	}
	close(c.sendq)
	c.sendWG.Wait()
	c.sendq = make(chan []pendingTx, 2)
	c.sendWG.Add(1)
	go c.sender()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

func (c *Client) sender() {
	defer c.sendWG.Done()
	for batch := range c.sendq {
		req := api.SubmitRequest{Txs: make([]string, len(batch))}
		for i, p := range batch {
			req.Txs[i] = p.b64
		}
		var rep api.SubmitReply
		err := c.do(context.Background(), "POST", "/v1/txs", req, &rep)
		if err == nil && len(rep.Results) != len(batch) {
			err = fmt.Errorf("node answered %d results for %d transactions", len(rep.Results), len(batch))
		}
		if err != nil {
			c.mu.Lock()
			if c.failed == nil {
				c.failed = fmt.Errorf("submit: %w", err)
			}
			c.mu.Unlock()
			for _, p := range batch {
				p.done(engine.Receipt{Err: err})
			}
			continue
		}
		for i, p := range batch {
			p.done(toReceipt(rep.Results[i]))
		}
	}
}

func toReceipt(r api.TxResult) engine.Receipt {
	rc := engine.Receipt{Height: r.Height, Index: r.Index}
	rc.TxID, _ = ledger.ParseHash(r.Tx)
	if r.Error != nil {
		rc.Err = &state.Rejection{Code: r.Error.Code, Field: r.Error.Field, Msg: r.Error.Msg}
	}
	return rc
}

// PutVault implements importer.Sink.
func (c *Client) PutVault(es []node.VaultEntry) error {
	req := api.VaultRequest{Entries: make([]api.VaultEntry, len(es))}
	for i, e := range es {
		req.Entries[i] = api.VaultEntry{Person: ledger.Hash(e.Person).String(), Sealed: base64.StdEncoding.EncodeToString(e.Sealed)}
	}
	return c.do(context.Background(), "PUT", "/v1/vault", req, nil)
}

// Trajectory runs a trajectory query.
func (c *Client) Trajectory(ctx context.Context, q report.Query) (*report.Trajectory, error) {
	var t report.Trajectory
	return &t, c.do(ctx, "POST", "/v1/trace/trajectory", q, &t)
}

// Contacts runs a contacts query.
func (c *Client) Contacts(ctx context.Context, q report.Query) (*report.Contacts, error) {
	var t report.Contacts
	return &t, c.do(ctx, "POST", "/v1/trace/contacts", q, &t)
}

// IsBadInput reports whether err is an API 4xx.
func IsBadInput(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status >= 400 && e.Status < 500
}

// Verify asks the node to verify its chain.
func (c *Client) Verify(ctx context.Context) (*api.VerifyReply, error) {
	var v api.VerifyReply
	return &v, c.do(ctx, "GET", "/v1/verify", nil, &v)
}

// Decisions fetches a person's validation decisions.
func (c *Client) Decisions(ctx context.Context, q report.Query) (*report.Decisions, error) {
	var d report.Decisions
	return &d, c.do(ctx, "POST", "/v1/validate/decisions", q, &d)
}

// PersonChain fetches a person's chain with its proofs.
func (c *Client) PersonChain(ctx context.Context, q report.Query) (*blocks.PersonChainView, error) {
	var v blocks.PersonChainView
	path := "/v1/persons/" + url.PathEscape(q.Person) + "/chain?from=" + url.QueryEscape(q.From) + "&to=" + url.QueryEscape(q.To)
	return &v, c.do(ctx, "GET", path, nil, &v)
}

// Close advances the validation clock.
func (c *Client) Close(ctx context.Context, until string) (*api.CloseReply, error) {
	var r api.CloseReply
	_, err := c.committed(&r.TxResult, c.do(ctx, "POST", "/v1/validate/close", api.CloseRequest{Until: until}, &r))
	return &r, err
}

// SubmitOne submits one transaction and waits for its block.
func (c *Client) SubmitOne(ctx context.Context, raw []byte) (*api.TxResult, error) {
	var r api.TxResult
	return c.committed(&r, c.do(ctx, "POST", "/v1/tx", api.SingleRequest{Tx: base64.StdEncoding.EncodeToString(raw)}, &r))
}

// Audits lists the audit trail (GET /v1/audit).
func (c *Client) Audits(ctx context.Context, from, to string) ([]report.AuditView, error) {
	var v struct {
		Audits []report.AuditView `json:"audits"`
	}
	err := c.do(ctx, "GET", "/v1/audit?from="+url.QueryEscape(from)+"&to="+url.QueryEscape(to), nil, &v)
	return v.Audits, err
}

// ConsoleLogin is the node's answer to a console login: the one-time URL
// (absolute) that opens a browser session, when it expires, and the role
// the session has.
type ConsoleLogin struct {
	URL     string `json:"url"`
	Expires string `json:"expires"`
	Role    string `json:"role"`
}

// ConsoleLogin logs in to the node's console with the client's key: it
// asks for a challenge, then sends it in a signed request, and returns the
// one-time URL the node answers.
func (c *Client) ConsoleLogin(ctx context.Context) (*ConsoleLogin, error) {
	if c.Key == nil {
		return nil, errors.New("the console logs in with a key that holds a role (--as KEY), not the operator's token")
	}
	var ch struct {
		Challenge string `json:"challenge"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/console/challenge", nil, &ch); err != nil {
		return nil, err
	}
	var out ConsoleLogin
	if err := c.do(ctx, http.MethodPost, "/v1/console/login", api.ConsoleLogin{Challenge: ch.Challenge}, &out); err != nil {
		return nil, err
	}
	out.URL = c.base + out.URL
	return &out, nil
}
