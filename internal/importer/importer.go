// Package importer loads NDJSON records into the ledger: it validates each
// line, turns persons into pseudonyms, signs each record with the key of the
// site that records it (the authority signs sites and identities), submits
// the transactions in file order and reports, per line, what was accepted
// and why anything was refused.
package importer

import (
	"bufio"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/record"
	"github.com/epiledger/epiledger/internal/state"
)

// Sink is where transactions go: the local engine or a remote node.
type Sink interface {
	// SubmitAsync submits one transaction; done receives its receipt.
	SubmitAsync(raw []byte, done func(engine.Receipt)) error
	// PutVault stores sealed canonical ids.
	PutVault(es []node.VaultEntry) error
	// Flush sends anything buffered.
	Flush() error
}

// Rejection is one refused line.
type Rejection struct {
	Line  int    `json:"line"`
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
	Msg   string `json:"message"`
}

func (r Rejection) String() string {
	if r.Field != "" {
		return fmt.Sprintf("line %d: %s: %s: %s", r.Line, r.Code, r.Field, r.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", r.Line, r.Code, r.Msg)
}

// Result counts what an import did.
type Result struct {
	Lines      int         `json:"lines"`
	Accepted   int         `json:"accepted"`
	Rejected   int         `json:"rejected"`
	Rejections []Rejection `json:"rejections"`
}

// Importer imports records for one home.
type Importer struct {
	home  *home.Home
	sink  Sink
	pseud *identity.Pseudonymizer
	vault *identity.Vault
	// Progress, if set, is called with the bytes read so far and the
	// number of lines done.
	Progress func(bytes int64, lines int)

	vaulted map[ledger.Pseudonym]bool
}

// New returns an importer that signs with h's keys and submits to sink.
func New(h *home.Home, sink Sink) *Importer {
	return &Importer{home: h, sink: sink, pseud: h.Pseudonymizer(), vault: h.Vault(), vaulted: map[ledger.Pseudonym]bool{}}
}

// job is one line on its way to the ledger.
type job struct {
	line  int
	tx    *ledger.Tx
	raw   []byte // pre-signed bytes, when the line carried them
	keys  []ed25519.PrivateKey
	err   error
	vault *node.VaultEntry
}

const chunkLines = 2048

// Import reads NDJSON from r to the end. A line that fails is counted and
// reported, never stops the import; only a failure of the sink (the node
// stopped) returns an error.
func (im *Importer) Import(r io.Reader) (*Result, error) {
	res := &Result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	record := func(line int, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			res.Accepted++
			return
		}
		res.Rejected++
		res.Rejections = append(res.Rejections, toRejection(line, err))
	}
	cr := &countingReader{r: r}
	sc := bufio.NewScanner(cr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	var chunk []*job
	submit := func() error {
		if err := im.submitChunk(chunk, record, &wg); err != nil {
			return err
		}
		if im.Progress != nil {
			im.Progress(cr.n, line)
		}
		chunk = chunk[:0]
		return nil
	}
	for sc.Scan() {
		line++
		j := im.prepare(line, sc.Bytes())
		if j == nil {
			continue
		}
		chunk = append(chunk, j)
		if len(chunk) == chunkLines {
			if err := submit(); err != nil {
				return res, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return res, fmt.Errorf("import: line %d is longer than 1 MiB", line+1)
		}
		return res, fmt.Errorf("import: read: %w", err)
	}
	if err := submit(); err != nil {
		return res, err
	}
	if err := im.sink.Flush(); err != nil {
		return res, err
	}
	wg.Wait()
	res.Lines = line
	sort.Slice(res.Rejections, func(i, j int) bool { return res.Rejections[i].Line < res.Rejections[j].Line })
	return res, nil
}

func toRejection(line int, err error) Rejection {
	var rj *state.Rejection
	var fe *record.FieldError
	switch {
	case errors.As(err, &rj):
		return Rejection{Line: line, Code: rj.Code, Field: rj.Field, Msg: rj.Msg}
	case errors.As(err, &fe):
		return Rejection{Line: line, Code: "invalid", Field: fe.Field, Msg: fe.Msg}
	case errors.Is(err, errUnknownSite):
		return Rejection{Line: line, Code: state.CodeUnknownSite, Field: fieldOf(err), Msg: err.Error()}
	}
	return Rejection{Line: line, Code: "invalid", Msg: err.Error()}
}

var errUnknownSite = errors.New("site is not registered (this home has no key for it)")

type siteErr struct {
	field, site string
}

func (e *siteErr) Error() string {
	return fmt.Sprintf("site %q is not registered (this home has no key for it)", e.site)
}
func (e *siteErr) Unwrap() error { return errUnknownSite }

func fieldOf(err error) string {
	var se *siteErr
	if errors.As(err, &se) {
		return se.field
	}
	return ""
}

// prepare parses a line and builds its unsigned transaction. It returns nil
// for a blank line.
func (im *Importer) prepare(line int, b []byte) *job {
	j := &job{line: line}
	v, err := record.Parse(b)
	if errors.Is(err, record.ErrEmpty) {
		return nil
	}
	if err != nil {
		j.err = err
		return j
	}
	switch v := v.(type) {
	case *record.Site:
		j.err = im.site(j, v)
	case *record.Identity:
		j.err = im.identity(j, v)
	case *record.Visit:
		j.err = im.visitTx(j, v)
	case *record.Move:
		j.err = im.moveTx(j, v)
	case *record.Case:
		j.err = im.caseTx(j, v)
	case *record.SignedTx:
		raw, err := base64.StdEncoding.DecodeString(v.Tx)
		if err != nil {
			j.err = &record.FieldError{Field: "tx", Msg: "not base64"}
		}
		j.raw = raw
	}
	return j
}

func (im *Importer) siteKey(field, site string) (ed25519.PrivateKey, error) {
	k, err := im.home.Keys.Get(site)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, &siteErr{field: field, site: site}
	}
	return k, nil
}

func (im *Importer) site(j *job, s *record.Site) error {
	k, err := im.home.Keys.GetOrCreate(s.Site)
	if err != nil {
		return err
	}
	b := &ledger.RegisterSite{Site: s.Site, Kind_: s.Kind, Name: s.Name, LatE6: e6(s.Lat), LonE6: e6(s.Lon), Region: s.Region, Parent: s.Parent}
	if s.Origin != nil {
		b.Route = &ledger.Route{FromLatE6: e6(s.Origin[0]), FromLonE6: e6(s.Origin[1]), ToLatE6: e6(s.Destination[0]), ToLonE6: e6(s.Destination[1])}
	}
	copy(b.Key[:], k.Public().(ed25519.PublicKey))
	j.tx = ledger.NewTx(b)
	j.keys = []ed25519.PrivateKey{im.home.Authority()}
	return nil
}

func e6(deg float64) int32 {
	if deg < 0 {
		return int32(deg*1e6 - 0.5)
	}
	return int32(deg*1e6 + 0.5)
}

func (im *Importer) identity(j *job, id *record.Identity) error {
	p := im.pseud.Person(id.ID)
	set := map[ledger.Pseudonym]bool{}
	for _, a := range id.Aliases {
		set[im.pseud.Of(identity.Normalize(a))] = true
	}
	b := &ledger.BindIdentity{Person: p}
	for a := range set {
		b.Aliases = append(b.Aliases, a)
	}
	sort.Slice(b.Aliases, func(i, k int) bool { return string(b.Aliases[i][:]) < string(b.Aliases[k][:]) })
	j.tx = ledger.NewTx(b)
	j.keys = []ed25519.PrivateKey{im.home.Authority()}
	im.vaultOnce(j, p, id.ID)
	return nil
}

// vaultOnce seals the canonical id the first time this import sees it.
func (im *Importer) vaultOnce(j *job, p ledger.Pseudonym, id string) {
	if im.vaulted[p] {
		return
	}
	im.vaulted[p] = true
	j.vault = &node.VaultEntry{Person: p, Sealed: im.vault.Seal(p, id)}
}

// ref pseudonymizes a person reference; an id: reference also seals the id.
func (im *Importer) ref(j *job, ref string) (ledger.PersonRef, error) {
	r, err := im.pseud.Ref("person", ref)
	if err != nil {
		return r, err
	}
	if !r.Alias {
		im.vaultOnce(j, r.Ref, identity.Normalize(ref)[3:])
	}
	return r, nil
}

func (im *Importer) visitTx(j *job, v *record.Visit) error {
	k, err := im.siteKey("site", v.Site)
	if err != nil {
		return err
	}
	r, err := im.ref(j, v.Person)
	if err != nil {
		return err
	}
	j.tx = ledger.NewTx(&ledger.Visit{Site: v.Site, Person: r, In: v.In.Unix(), Out: v.Out.Unix(), Via: v.Via, Role: v.Role})
	j.keys = []ed25519.PrivateKey{k}
	return nil
}

func (im *Importer) moveTx(j *job, m *record.Move) error {
	kf, err := im.siteKey("from", m.From)
	if err != nil {
		return err
	}
	kt, err := im.siteKey("to", m.To)
	if err != nil {
		return err
	}
	r, err := im.ref(j, m.Person)
	if err != nil {
		return err
	}
	j.tx = ledger.NewTx(&ledger.Move{Person: r, From: m.From, To: m.To, Depart: m.Depart.Unix(), Arrive: m.Arrive.Unix(), Via: m.Via})
	j.keys = []ed25519.PrivateKey{kf, kt}
	return nil
}

func (im *Importer) caseTx(j *job, c *record.Case) error {
	k, err := im.siteKey("by", c.By)
	if err != nil {
		return err
	}
	r, err := im.ref(j, c.Person)
	if err != nil {
		return err
	}
	j.tx = ledger.NewTx(&ledger.Case{Person: r, Status: c.Status, Onset: c.Onset, Reported: c.Reported.Unix(), By: c.By})
	j.keys = []ed25519.PrivateKey{k}
	return nil
}

// sign signs the chunk's transactions on all CPUs.
func (im *Importer) sign(chunk []*job) {
	chainID := im.home.Genesis.ChainID
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	per := (len(chunk) + workers - 1) / workers
	for lo := 0; lo < len(chunk); lo += per {
		hi := min(lo+per, len(chunk))
		wg.Add(1)
		go func(js []*job) {
			defer wg.Done()
			for _, j := range js {
				if j.err != nil || j.tx == nil {
					continue
				}
				for _, k := range j.keys {
					j.tx.Sign(chainID, k)
				}
			}
		}(chunk[lo:hi])
	}
	wg.Wait()
}

// submitChunk signs a chunk's transactions, stores its vault entries and
// submits the transactions in order; record receives each line's outcome
// (at once for lines already refused, else with its receipt).
func (im *Importer) submitChunk(chunk []*job, record func(line int, err error), wg *sync.WaitGroup) error {
	im.sign(chunk)
	var ves []node.VaultEntry
	for _, j := range chunk {
		if j.err == nil && j.vault != nil {
			ves = append(ves, *j.vault)
		}
	}
	if len(ves) > 0 {
		if err := im.sink.PutVault(ves); err != nil {
			return fmt.Errorf("import: vault: %w", err)
		}
	}
	for _, j := range chunk {
		if j.err != nil {
			record(j.line, j.err)
			continue
		}
		raw := j.raw
		if raw == nil {
			raw = j.tx.Bytes()
		}
		wg.Add(1)
		ln := j.line
		if err := im.sink.SubmitAsync(raw, func(rc engine.Receipt) { record(ln, rc.Err); wg.Done() }); err != nil {
			wg.Done()
			return fmt.Errorf("import: line %d: %w", ln, err)
		}
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// EngineSink submits to an engine in this process and writes the vault of
// the node directly.
type EngineSink struct {
	Node *node.Node
}

// SubmitAsync implements Sink.
func (s EngineSink) SubmitAsync(raw []byte, done func(engine.Receipt)) error {
	return s.Node.Engine.SubmitAsync(raw, done)
}

// PutVault implements Sink.
func (s EngineSink) PutVault(es []node.VaultEntry) error { return s.Node.PutVault(es) }

// Flush implements Sink.
func (s EngineSink) Flush() error { return nil }

// Collector is a Sink that keeps the signed transactions and vault entries
// instead of submitting them: for benchmarks (signing kept out of the
// measurement) and for tests that submit by other means. Safe for
// concurrent use.
type Collector struct {
	mu    sync.Mutex
	Txs   [][]byte
	Vault []node.VaultEntry
}

// SubmitAsync implements Sink: it keeps raw and acknowledges at once.
func (c *Collector) SubmitAsync(raw []byte, done func(engine.Receipt)) error {
	c.mu.Lock()
	c.Txs = append(c.Txs, raw)
	c.mu.Unlock()
	done(engine.Receipt{})
	return nil
}

// PutVault implements Sink.
func (c *Collector) PutVault(es []node.VaultEntry) error {
	c.mu.Lock()
	c.Vault = append(c.Vault, es...)
	c.mu.Unlock()
	return nil
}

// Flush implements Sink.
func (c *Collector) Flush() error { return nil }
