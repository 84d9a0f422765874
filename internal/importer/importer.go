// Package importer loads NDJSON records into the ledger: it validates each
// line, turns persons into pseudonyms, signs each record with the key of the
// site that records it (the authority signs sites and identities), submits
// the transactions in file order and reports, per line, what was accepted
// and why anything was refused.
//
// An importer works with a home (New: its keys sign, its secret makes
// pseudonyms) or with nothing but one operator's key (NewWith, a
// KeySigner and a node's POST /v1/pseudonyms as the Resolver).
package importer

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
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
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/state"
)

// Sink is where transactions go: the local engine or a remote node.
type Sink interface {
	// SubmitAsync submits one transaction; done receives its receipt.
	SubmitAsync(raw []byte, done func(engine.Receipt)) error
	// PutVault stores sealed canonical ids (for New's resolver, which
	// seals them with the home's secret).
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

// Importer imports records: its Signer signs them, its Resolver turns
// persons into pseudonyms, its Sink takes the transactions.
type Importer struct {
	keys Signer
	refs Resolver
	sink Sink
	// Region is the region of a site the importer registers itself (a
	// SocioPatterns data set's device); New sets the chain's.
	Region string
	// Progress, if set, is called with the bytes read so far and the
	// number of lines done.
	Progress func(bytes int64, lines int)
	// Vocabulary, if set, is the chain's (its genesis's), which lines are
	// checked against; nil means the default one (an importer that works
	// through a node without its genesis: the node checks them again).
	Vocabulary *ledger.Vocabulary
}

// New returns an importer that signs with h's keys (the authority's,
// the keystore's), makes pseudonyms with h's secret, seals canonical ids
// into the vault through sink, and submits to sink.
func New(h *home.Home, sink Sink) *Importer {
	im := NewWith(HomeSigner{H: h}, NewHomeResolver(h, sink), sink)
	im.Region = h.Genesis.Region
	im.Vocabulary = &h.Genesis.Params.Vocabulary
	return im
}

// NewWith returns an importer that signs with keys, resolves references
// with refs and submits to sink: with a KeySigner and a node's
// POST /v1/pseudonyms, a site or hospital imports its own records holding
// nothing but its key.
func NewWith(keys Signer, refs Resolver, sink Sink) *Importer {
	return &Importer{keys: keys, refs: refs, sink: sink}
}

// job is one line on its way to the ledger.
type job struct {
	line int
	// refs are the checked person references the record names (see
	// identity.CheckRef); build makes the record's body once they are
	// resolved, in the same order.
	refs  []string
	build func([]ledger.PersonRef) ledger.Body
	// ident is an identity record's id and aliases, for the vault.
	ident *identity.Identity
	tx    *ledger.Tx
	raw   []byte // pre-signed bytes, when the line carried them
	keys  []ed25519.PrivateKey
	err   error
}

const chunkLines = 2048

// Import reads NDJSON from r to the end. A line that fails is counted and
// reported, never stops the import; only a failure of the sink or the
// resolver (the node stopped) returns an error.
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
	br := bufio.NewReaderSize(cr, 64<<10)
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
	for {
		b, tooLong, err := readLine(br, MaxLine)
		if err == io.EOF && b == nil && !tooLong {
			break
		}
		if err != nil && err != io.EOF {
			return res, fmt.Errorf("import: read: %w", err)
		}
		line++
		var j *job
		if tooLong {
			// One bad line is refused, as any other: the rest goes on.
			j = &job{line: line, err: &ndjson.FieldError{Field: "line", Msg: fmt.Sprintf("longer than %d bytes", MaxLine)}}
		} else if j = im.prepare(line, b); j == nil {
			continue
		}
		chunk = append(chunk, j)
		if len(chunk) == chunkLines {
			if err := submit(); err != nil {
				return res, err
			}
		}
		if err == io.EOF {
			break
		}
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

// MaxLine bounds an import line: a longer one is refused, and the import
// goes on with the next.
const MaxLine = 1 << 20

// readLine returns the next line of br without its end (\n or \r\n). A
// line over max bytes is tooLong: its bytes are read and dropped. The last
// line may end without \n; err is io.EOF after it (with the line) or at
// the end (with none).
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(frag) > max+2 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(buf) == 0 && !tooLong {
			return nil, false, io.EOF
		}
		buf = bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
		if !tooLong && len(buf) > max {
			tooLong, buf = true, nil
		}
		if tooLong {
			return nil, true, err
		}
		if buf == nil {
			buf = []byte{}
		}
		return buf, false, err
	}
}

// CodeAuthorityOnly is the rejection code of a record that only the chain
// authority signs (a site registration, an identity binding), given to an
// importer that does not hold the authority's key.
const CodeAuthorityOnly = "authority_only"

func toRejection(line int, err error) Rejection {
	var rj *state.Rejection
	var fe *ndjson.FieldError
	var ae *authorityError
	switch {
	case errors.As(err, &rj):
		return Rejection{Line: line, Code: rj.Code, Field: rj.Field, Msg: rj.Msg}
	case errors.As(err, &fe):
		return Rejection{Line: line, Code: "invalid", Field: fe.Field, Msg: fe.Msg}
	case errors.Is(err, errUnknownSite):
		return Rejection{Line: line, Code: state.CodeUnknownSite, Field: fieldOf(err), Msg: err.Error()}
	case errors.As(err, &ae):
		return Rejection{Line: line, Code: CodeAuthorityOnly, Field: "type", Msg: ae.Error()}
	}
	return Rejection{Line: line, Code: "invalid", Msg: err.Error()}
}

var errUnknownSite = errors.New("site is not registered from this home (it holds no key for it)")

type siteErr struct {
	field, site string
}

func (e *siteErr) Error() string {
	return fmt.Sprintf("site %q is not registered from this home (it holds no key for it; a site whose operator holds its key imports its own records with --node URL --as KEY)", e.site)
}
func (e *siteErr) Unwrap() error { return errUnknownSite }

func fieldOf(err error) string {
	var se *siteErr
	if errors.As(err, &se) {
		return se.field
	}
	return ""
}

// authorityError refuses a record that only the chain authority signs.
type authorityError struct {
	what string // "site", "identity"
	err  error  // the signer's reason, wrapping ErrNoAuthority
}

func (e *authorityError) Error() string {
	return fmt.Sprintf("only the chain authority signs %s records: import this line on the authority's home (epiledger import --home AUTHORITY_HOME), not with --as", e.what)
}
func (e *authorityError) Unwrap() error { return e.err }

// authority returns the authority's key for a record of kind what.
func (im *Importer) authority(what string) (ed25519.PrivateKey, error) {
	k, err := im.keys.Authority()
	if errors.Is(err, ErrNoAuthority) {
		return nil, &authorityError{what: what, err: err}
	}
	return k, err
}

// prepare parses a line and plans its transaction. It returns nil for a
// blank line.
func (im *Importer) prepare(line int, b []byte) *job {
	j := &job{line: line}
	v, err := ndjson.ParseWith(b, im.Vocabulary)
	if errors.Is(err, ndjson.ErrEmpty) {
		return nil
	}
	if err != nil {
		j.err = err
		return j
	}
	switch v := v.(type) {
	case *ndjson.Site:
		j.err = im.site(j, v)
	case *ndjson.Identity:
		j.err = im.identity(j, v)
	case *ndjson.Visit:
		j.err = im.visitTx(j, v)
	case *ndjson.Move:
		j.err = im.moveTx(j, v)
	case *ndjson.Case:
		j.err = im.caseTx(j, v)
	case *ndjson.SignedTx:
		raw, err := base64.StdEncoding.DecodeString(v.Tx)
		if err != nil {
			j.err = &ndjson.FieldError{Field: "tx", Msg: "not base64"}
		}
		j.raw = raw
	}
	return j
}

func (im *Importer) siteKey(field, site string) (ed25519.PrivateKey, error) {
	k, err := im.keys.Site(site)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, &siteErr{field: field, site: site}
	}
	return k, nil
}

func (im *Importer) site(j *job, s *ndjson.Site) error {
	auth, err := im.authority("site")
	if err != nil {
		return err
	}
	b := &ledger.RegisterSite{Site: s.Site, Kind_: s.Kind, Name: s.Name, LatE6: e6(s.Lat), LonE6: e6(s.Lon), Region: s.Region, Parent: s.Parent}
	if s.Origin != nil {
		b.Route = &ledger.Route{FromLatE6: e6(s.Origin[0]), FromLonE6: e6(s.Origin[1]), ToLatE6: e6(s.Destination[0]), ToLonE6: e6(s.Destination[1])}
	}
	if s.Key != "" {
		// The operator holds the site's key: the site is registered with
		// its public key and this home keeps none.
		if _, err := hex.Decode(b.Key[:], []byte(s.Key)); err != nil {
			return &ndjson.FieldError{Field: "key", Msg: "want 64 hex digits"}
		}
	} else {
		k, err := im.keys.NewSite(s.Site)
		if err != nil {
			return err
		}
		copy(b.Key[:], k.Public().(ed25519.PublicKey))
	}
	j.tx = ledger.NewTx(b)
	j.keys = []ed25519.PrivateKey{auth}
	return nil
}

func e6(deg float64) int32 {
	if deg < 0 {
		return int32(deg*1e6 - 0.5)
	}
	return int32(deg*1e6 + 0.5)
}

// checkRefs checks a record's person references (field names them) and
// keeps their normalized form for the resolver.
func (j *job) checkRefs(fields []string, refs []string) error {
	j.refs = make([]string, len(refs))
	for i, r := range refs {
		c, err := identity.CheckRef(fields[i], r)
		if err != nil {
			return err
		}
		j.refs[i] = c
	}
	return nil
}

func (im *Importer) identity(j *job, id *ndjson.Identity) error {
	auth, err := im.authority("identity")
	if err != nil {
		return err
	}
	fields, refs := []string{"id"}, []string{"id:" + id.ID}
	for i, a := range id.Aliases {
		fields, refs = append(fields, fmt.Sprintf("aliases[%d]", i)), append(refs, a)
	}
	if err := j.checkRefs(fields, refs); err != nil {
		return err
	}
	j.build = func(ps []ledger.PersonRef) ledger.Body {
		set := map[ledger.Pseudonym]bool{}
		for _, a := range ps[1:] {
			set[a.Ref] = true
		}
		b := &ledger.BindIdentity{Person: ps[0].Ref}
		for a := range set {
			b.Aliases = append(b.Aliases, a)
		}
		sort.Slice(b.Aliases, func(i, k int) bool { return string(b.Aliases[i][:]) < string(b.Aliases[k][:]) })
		return b
	}
	j.keys = []ed25519.PrivateKey{auth}
	j.ident = &identity.Identity{ID: id.ID, Aliases: id.Aliases}
	return nil
}

func (im *Importer) visitTx(j *job, v *ndjson.Visit) error {
	k, err := im.siteKey("site", v.Site)
	if err != nil {
		return err
	}
	if err := j.checkRefs([]string{"person"}, []string{v.Person}); err != nil {
		return err
	}
	j.build = func(ps []ledger.PersonRef) ledger.Body {
		return &ledger.Visit{Site: v.Site, Person: ps[0], In: v.In.Unix(), Out: v.Out.Unix(), Via: v.Via, Role: v.Role}
	}
	j.keys = []ed25519.PrivateKey{k}
	return nil
}

func (im *Importer) moveTx(j *job, m *ndjson.Move) error {
	kf, err := im.siteKey("from", m.From)
	if err != nil {
		return err
	}
	kt, err := im.siteKey("to", m.To)
	if err != nil {
		return err
	}
	if err := j.checkRefs([]string{"person"}, []string{m.Person}); err != nil {
		return err
	}
	j.build = func(ps []ledger.PersonRef) ledger.Body {
		return &ledger.Move{Person: ps[0], From: m.From, To: m.To, Depart: m.Depart.Unix(), Arrive: m.Arrive.Unix(), Via: m.Via}
	}
	j.keys = []ed25519.PrivateKey{kf, kt}
	return nil
}

func (im *Importer) caseTx(j *job, c *ndjson.Case) error {
	k, err := im.siteKey("by", c.By)
	if err != nil {
		return err
	}
	if err := j.checkRefs([]string{"person"}, []string{c.Person}); err != nil {
		return err
	}
	j.build = func(ps []ledger.PersonRef) ledger.Body {
		return &ledger.Case{Person: ps[0], Status: c.Status, Onset: c.Onset, Reported: c.Reported.Unix(), By: c.By}
	}
	j.keys = []ed25519.PrivateKey{k}
	return nil
}

// resolve resolves the person references of a chunk's jobs in one call of
// the resolver (each distinct reference once) and builds their
// transactions.
func (im *Importer) resolve(chunk []*job) error {
	index := map[string]int{}
	var refs []string
	for _, j := range chunk {
		if j.err != nil || j.build == nil {
			continue
		}
		for _, r := range j.refs {
			if _, ok := index[r]; !ok {
				index[r] = len(refs)
				refs = append(refs, r)
			}
		}
	}
	var ps []ledger.PersonRef
	if len(refs) > 0 {
		var err error
		if ps, err = im.refs.Resolve(refs); err != nil {
			return fmt.Errorf("import: pseudonyms: %w", err)
		}
		if len(ps) != len(refs) {
			return fmt.Errorf("import: pseudonyms: %d answers for %d references", len(ps), len(refs))
		}
	}
	for _, j := range chunk {
		if j.err != nil || j.build == nil {
			continue
		}
		mine := make([]ledger.PersonRef, len(j.refs))
		for i, r := range j.refs {
			mine[i] = ps[index[r]]
		}
		if j.ident != nil {
			// The vault keeps the aliases with the id (an identity
			// record is the authority's: its resolver keeps them).
			keeper, ok := im.refs.(IdentityKeeper)
			if !ok {
				j.err = ErrNoAuthority
				continue
			}
			if err := keeper.KeepIdentity(mine[0].Ref, *j.ident); err != nil {
				j.err = &ndjson.FieldError{Field: "aliases", Msg: "cannot be sealed into the vault"}
				continue
			}
		}
		j.tx = ledger.NewTx(j.build(mine))
	}
	if keeper, ok := im.refs.(IdentityKeeper); ok {
		if err := keeper.Flush(); err != nil {
			return fmt.Errorf("import: vault: %w", err)
		}
	}
	return nil
}

// sign signs the chunk's transactions on all CPUs.
func (im *Importer) sign(chunk []*job) {
	chainID := im.keys.ChainID()
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

// submitChunk resolves a chunk's person references (which seals their
// canonical ids into the vault), signs its transactions and submits them
// in order; record receives each line's outcome (at once for lines
// already refused, else with its receipt).
func (im *Importer) submitChunk(chunk []*job, record func(line int, err error), wg *sync.WaitGroup) error {
	if err := im.resolve(chunk); err != nil {
		return err
	}
	im.sign(chunk)
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
