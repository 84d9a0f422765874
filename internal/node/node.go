// Package node assembles a running node from its home: the store, the state
// machine, the engine, the querier and the identity vault. The CLI and the
// HTTP API both work through a *Node.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/comet"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/timeline"
	"github.com/epiledger/epiledger/internal/trace"
)

// Node is an open node.
type Node struct {
	Home    *home.Home
	DB      *store.DB
	Machine *state.Machine
	Engine  engine.Engine
	Query   *trace.Querier
	Pseud   *identity.Pseudonymizer
	Vault   *identity.Vault
	Log     *slog.Logger
	// Timeline is the resident timeline (Options.Resident), or nil.
	Timeline *timeline.Timeline
	// Trees keeps the upper levels of the blocks' Merkle trees, so that
	// a proof hashes the transactions around its own, not its whole block
	// (blocks.Trees): filled by the proofs the node's reports build, and
	// with Options.Trees loaded in the background when it opens.
	Trees *blocks.Trees

	stopLoad context.CancelFunc
	loaded   chan struct{}

	stopTrees   context.CancelFunc
	treesLoaded chan struct{}

	// consortium: the home runs the CometBFT engine; proofs are its
	// stores opened by Prover when the node itself is not running.
	consortium bool
	proofsMu   sync.Mutex
	proofs     *comet.Proofs

	closeOnce sync.Once
	closeErr  error
}

// ErrLocked is returned when another process (a running node) holds the
// store.
var ErrLocked = errors.New("node: the store is in use by another process (is a node running? then pass --node URL)")

// Options tune Open.
type Options struct {
	// NoEngine opens the store for queries only.
	NoEngine bool
	// Solo overrides the engine config from the home's config file.
	Solo *engine.SoloConfig
	// Resident keeps a resident timeline for contacts and chains, loaded
	// in the background (trace.resident in the config; a running node).
	Resident bool
	// ResidentIDsInStore keeps the timeline's record ids in the store,
	// not in memory (trace.resident_ids = "store"; timeline.Options).
	ResidentIDsInStore bool
	// Trees loads the upper levels of every block's Merkle tree in the
	// background (Node.Trees; a running node): about 1 byte per
	// transaction.
	Trees bool
	// ReadOnly opens the store without changing a byte of it (verify);
	// it implies NoEngine.
	ReadOnly bool
	// FS is the file system of the store and the acked-head file; nil
	// means the real one (tests pass a crashable memory file system).
	FS vfs.FS
	// Engine is "solo" or "cometbft"; empty means the home's
	// engine.kind.
	Engine string
	// Serving says the node is opened to run (epiledger node): only then
	// does a consortium home start its CometBFT engine. A command that
	// would write through a consortium home's own engine is refused: it
	// must go through the running node (--node).
	Serving bool
	// Poison is a test hook for the CometBFT engine (comet.Options).
	Poison []byte
}

// ErrConsortium is returned when a command would write through the engine
// of a consortium home that is not the running node.
var ErrConsortium = errors.New("node: this home runs the consortium engine (engine.kind = \"cometbft\"): writes go through its running node; start it with epiledger node and pass --node URL")

// AckedHeadFile is the file in the home that records the last block the
// node acknowledged (see store.HeadFile).
const AckedHeadFile = "acked-head"

// Open opens the node of home h. It refuses a store that holds less than
// the node acknowledged (a *chain.LostBlocksError naming the missing
// heights) or another block at the acknowledged height.
func Open(h *home.Home, log *slog.Logger, o Options) (*Node, error) {
	db, err := store.Open(h.DataDir(), store.Options{FS: o.FS, ReadOnly: o.ReadOnly, Log: log})
	if err != nil {
		if strings.Contains(err.Error(), "lock") {
			return nil, ErrLocked
		}
		return nil, err
	}
	acked := store.NewHeadFile(o.FS, filepath.Join(h.Dir, AckedHeadFile))
	if ah, ok, err := acked.Read(); err != nil {
		db.Close()
		return nil, err
	} else if ok {
		if err := blocks.CheckAcked(db, &h.Genesis, ah, acked.Path()); err != nil {
			db.Close()
			return nil, err
		}
	}
	params := h.Genesis.Params
	m := state.New(db, h.Genesis)
	n := &Node{Home: h, DB: db, Machine: m, Log: log, Pseud: h.Pseudonymizer(), Vault: h.Vault(), Trees: blocks.NewTrees(),
		Query: trace.New(db, trace.Rules{MinOverlap: h.Config.Trace.MinOverlap.Duration, MaxPresence: params.MaxPresence, Validation: params.Validation,
			Vocabulary: params.Vocabulary})}
	kind := h.Config.Engine.Kind
	if o.Engine != "" {
		kind = o.Engine
	}
	n.consortium = kind == "cometbft"
	if h.Member() && !n.consortium && !o.NoEngine && !o.ReadOnly {
		db.Close()
		return nil, errors.New("node: this home is a consortium member's (keys/node.key): it runs the consortium engine only (engine.kind = \"cometbft\"), never a chain of its own")
	}
	if !o.NoEngine && !o.ReadOnly && kind == "cometbft" {
		if !o.Serving {
			db.Close()
			return nil, ErrConsortium
		}
		if n.Engine, err = comet.Start(h, db, m, log, comet.Options{Acked: acked, Poison: o.Poison}); err != nil {
			db.Close()
			return nil, err
		}
	} else if !o.NoEngine && !o.ReadOnly {
		cfg := engine.SoloConfig{Interval: h.Config.Engine.BlockInterval.Duration, MaxTxs: h.Config.Engine.MaxBlockTxs, MaxBytes: h.Config.Engine.MaxBlockBytes}
		if o.Solo != nil {
			cfg = *o.Solo
		}
		cfg.Acked = acked
		if n.Engine, err = engine.NewSolo(db, m, cfg, log); err != nil {
			db.Close()
			return nil, err
		}
	}
	if o.Resident {
		n.startTimeline(timeline.Options{IDsInStore: o.ResidentIDsInStore})
	}
	if o.Trees {
		n.startTrees()
	}
	return n, nil
}

// startTrees loads the upper levels of the Merkle trees of the blocks
// committed so far in the background (later blocks are kept by their
// first proof).
func (n *Node) startTrees() {
	ctx, cancel := context.WithCancel(context.Background())
	n.stopTrees, n.treesLoaded = cancel, make(chan struct{})
	go func() {
		defer close(n.treesLoaded)
		t0 := time.Now()
		head, err := blocks.ReadHead(n.DB, &n.Home.Genesis)
		if err == nil {
			err = n.Trees.Load(ctx, n.DB, head.Height, nil)
		}
		if err != nil {
			if ctx.Err() == nil {
				n.Log.Error("proof trees: not loaded; a block's first proof hashes it whole", "err", err)
			}
			return
		}
		st := n.Trees.Stats()
		n.Log.Info("proof trees: loaded", "blocks", st.Blocks, "mib", st.Bytes>>20, "seconds", time.Since(t0).Seconds())
	}()
}

// startTimeline taps the store at once (so that no block is missed) and
// loads the timeline in the background; queries read the store until it
// is loaded.
func (n *Node) startTimeline(to timeline.Options) {
	tl := timeline.New(n.DB, to)
	n.Timeline, n.loaded = tl, make(chan struct{})
	n.Query.SetTimeline(tl)
	ctx, cancel := context.WithCancel(context.Background())
	n.stopLoad = cancel
	go func() {
		defer close(n.loaded)
		t0 := time.Now()
		n.Log.Info("timeline: loading")
		err := tl.Load(ctx, func(entries int) { n.Log.Debug("timeline: loading", "entries", entries) })
		if err != nil {
			if ctx.Err() == nil {
				n.Log.Error("timeline: not loaded; queries read the store", "err", err)
			}
			return
		}
		st := tl.Stats()
		n.Log.Info("timeline: loaded", "entries", st.Entries, "persons", st.Persons, "sites", st.Sites, "mib", st.Bytes>>20, "seconds", time.Since(t0).Seconds())
	}()
}

// WaitTimeline blocks until the resident timeline has loaded (or failed:
// see TimelineStatus), or ctx is done. Without one it returns at once.
func (n *Node) WaitTimeline(ctx context.Context) error {
	if n.loaded == nil {
		return nil
	}
	select {
	case <-n.loaded:
		return n.Timeline.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TimelineStatus says what contacts and chains read: "off" (the store,
// no resident timeline), "loading" (the store, until loaded), "ready"
// (memory) or "failed" (the store; the log says why).
func (n *Node) TimelineStatus() string {
	switch {
	case n.Timeline == nil:
		return "off"
	case n.Timeline.Ready():
		return "ready"
	case n.Timeline.Err() != nil:
		return "failed"
	}
	select {
	case <-n.loaded:
		return "failed"
	default:
		return "loading"
	}
}

// Prover ties a block to a consortium's signed chain: CometBFT's proofs of
// a transaction and its result, and the signed headers from the genesis
// validators (issue 13, point 8).
type Prover interface {
	ConsortiumProof(height uint64, tx []byte) (*consortium.Proof, error)
	// LightBlock is signed header h with the validator set that signed
	// it, for a relay into a parent chain (issue 15).
	LightBlock(h int64) (*cmttypes.SignedHeader, *cmttypes.ValidatorSet, error)
}

// Prover returns the consortium prover of a consortium home: its running
// engine, or, opened for queries while the node is stopped (tx proof
// --home), the CometBFT stores it left. A solo home has none (nil, nil).
func (n *Node) Prover() (Prover, error) {
	if p, ok := n.Engine.(Prover); ok {
		return p, nil
	}
	if !n.consortium {
		return nil, nil
	}
	n.proofsMu.Lock()
	defer n.proofsMu.Unlock()
	if n.proofs == nil {
		p, err := comet.OpenProofs(n.Home)
		if err != nil {
			return nil, err
		}
		n.proofs = p
	}
	return n.proofs, nil
}

// Close stops the engine (committing what it admitted) and closes the
// store. Calling it again returns the first call's result.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		var err error
		if n.Engine != nil {
			err = n.Engine.Close()
		}
		if n.Timeline != nil {
			n.stopLoad()
			<-n.loaded
			n.Timeline.Close()
		}
		if n.stopTrees != nil {
			n.stopTrees()
			<-n.treesLoaded
		}
		n.proofsMu.Lock()
		if n.proofs != nil {
			err = errors.Join(err, n.proofs.Close())
			n.proofs = nil
		}
		n.proofsMu.Unlock()
		n.closeErr = errors.Join(err, n.DB.Close())
	})
	return n.closeErr
}

// ErrUnknownPerson is returned for a reference that names nobody on the
// ledger. The message never repeats the reference.
var ErrUnknownPerson = errors.New("unknown person: the reference is not bound to any identity")

// UnknownRefError says which field names a reference bound to nobody, and
// the reference's own pseudonym (what the audit record of the lookup
// names: a lookup that finds nobody still tells whether a number is
// bound). It wraps ErrUnknownPerson and never holds the reference.
type UnknownRefError struct {
	Field string
	Ref   ledger.Pseudonym
	// Unseen: the reference names a person (a canonical id, a bound
	// alias, a pseudonym) of whom the ledger holds no record at all - a
	// mistyped id reads as this, never as "no contacts".
	Unseen bool
}

func (e *UnknownRefError) Error() string { return e.Field + ": unknown person: " + e.Reason() }
func (e *UnknownRefError) Unwrap() error { return ErrUnknownPerson }

// Reason says what is unknown, without the reference.
func (e *UnknownRefError) Reason() string {
	if e.Unseen {
		return "the ledger holds no record of this person (no presence, movement, encounter or case report): check the reference"
	}
	return "the reference is not bound to any identity"
}

// Resolve turns a raw reference ("id:..." or an alias) into the person's
// pseudonym. "pn:" and a pseudonym's 64 hex digits names the person by
// pseudonym: what a report already showed, so that a link (the console's)
// or a member's node, which holds no chain secret, can name a person
// without a raw identifier.
func (n *Node) Resolve(field, ref string) (ledger.Pseudonym, error) {
	if h, ok := strings.CutPrefix(ref, PseudonymRef); ok {
		p, err := ledger.ParseHash(h)
		if err != nil {
			return ledger.Pseudonym{}, &ledger.FieldError{Field: field, Msg: "pn: takes a pseudonym, 64 hex digits"}
		}
		return ledger.Pseudonym(p), n.Seen(field, ledger.Pseudonym(p), ledger.Pseudonym(p))
	}
	if n.Pseud == nil {
		return ledger.Pseudonym{}, notHeld(field, "derive pseudonyms from raw identifiers")
	}
	r, err := n.Pseud.Ref(field, ref)
	if err != nil {
		return ledger.Pseudonym{}, err
	}
	p, ok, err := n.Query.Resolve(r)
	if err != nil {
		return p, err
	}
	if !ok {
		return p, &UnknownRefError{Field: field, Ref: r.Ref}
	}
	return p, n.Seen(field, p, r.Ref)
}

// PseudonymRef prefixes a person reference that is a pseudonym (Resolve).
const PseudonymRef = "pn:"

// NotAuthorityError is what a consortium member's node answers for what
// needs the chain authority's key or the chain's secret, which it does
// not hold (home.ErrNotAuthority): Field names what was asked, What what
// it would have taken.
type NotAuthorityError struct{ Field, What string }

func (e *NotAuthorityError) Error() string {
	return fmt.Sprintf("%v: it cannot %s; ask a node of the chain authority", home.ErrNotAuthority, e.What)
}

func (e *NotAuthorityError) Unwrap() error { return home.ErrNotAuthority }

func notHeld(field, what string) error { return &NotAuthorityError{Field: field, What: what} }

// Seen returns an *UnknownRefError (Unseen) when the ledger holds no
// record of p at all: no presence, movement, encounter or case report.
// ref is the pseudonym of the reference that named p, for the audit
// record of the lookup.
func (n *Node) Seen(field string, p, ref ledger.Pseudonym) error {
	_, _, ok, err := n.Query.Span(p)
	if err != nil || ok {
		return err
	}
	cs, err := n.Query.CasesOf(p)
	if err != nil || len(cs) > 0 {
		return err
	}
	return &UnknownRefError{Field: field, Ref: ref, Unseen: true}
}

// VaultEntry is a sealed canonical id for a person.
type VaultEntry struct {
	Person ledger.Pseudonym
	Sealed []byte
}

// SealedError says which vault entry does not open for its person.
type SealedError struct {
	Index int
}

func (e *SealedError) Error() string {
	return fmt.Sprintf("entries[%d].sealed: does not open for its person (wrong key, wrong person or damaged)", e.Index)
}

// PutVault stores sealed identities (identity.Vault.Seal or SealIdentity),
// all or none. It first checks that each opens for its person, so a wrong
// key or a misplaced entry is refused with a *SealedError and nothing is
// stored. What the vault already holds of a person is kept: an entry that
// lacks aliases the stored one has (a later import that names the person
// by id only) is stored with them, sealed again.
func (n *Node) PutVault(es []VaultEntry) error {
	if n.Vault == nil {
		return notHeld("vault", "hold sealed identities")
	}
	ids := map[ledger.Pseudonym]identity.Identity{}
	var order []ledger.Pseudonym
	sealed := map[ledger.Pseudonym][]byte{}
	for i, e := range es {
		id, err := n.Vault.OpenIdentity(e.Person, e.Sealed)
		if err != nil {
			return &SealedError{Index: i}
		}
		had, ok := ids[e.Person]
		if !ok {
			order = append(order, e.Person)
			v, found, err := n.DB.Get(store.VaultKey(e.Person))
			if err != nil {
				return err
			}
			if found {
				// An entry that no longer opens (another key) is replaced.
				had, _ = n.Vault.OpenIdentity(e.Person, v)
			}
		}
		merged := id.Merge(had)
		ids[e.Person] = merged
		if merged.Equal(id) {
			sealed[e.Person] = e.Sealed
		} else if sealed[e.Person], err = n.Vault.SealIdentity(e.Person, merged); err != nil {
			return &SealedError{Index: i}
		}
	}
	kvs := make([][2][]byte, len(order))
	for i, p := range order {
		kvs[i] = [2][]byte{store.VaultKey(p), sealed[p]}
	}
	return n.DB.SetLocal(kvs)
}

// RealID opens the vault entry of p; ok is false when the vault has none.
// It needs the receipt of the read it serves (see Read): without one it
// opens nothing and returns an error wrapping ErrNoAudit.
//
// A consortium member's node holds no vault (it is node-local, and sealed
// with the chain's secret): every person is shown by pseudonym there, as
// one with no vault entry is on the authority's node.
func (n *Node) RealID(rc *Receipt, p ledger.Pseudonym) (string, bool, error) {
	if !rc.valid(n) {
		return "", false, fmt.Errorf("%w: the vault opens only for an audited read", ErrNoAudit)
	}
	if n.Vault == nil {
		return "", false, nil
	}
	v, ok, err := n.DB.Get(store.VaultKey(p))
	if err != nil || !ok {
		return "", false, err
	}
	id, err := n.Vault.OpenIdentity(p, v)
	if err != nil {
		return "", false, fmt.Errorf("vault entry of %s: %w", p.Short(), err)
	}
	return id.ID, true, nil
}

// Aliases returns the aliases the vault holds of p that the ledger binds
// to p now (phone numbers first, then the others, each sorted): how to
// reach a person. It needs the receipt of a read whose audit record says
// it reads aliases (a Subject with Aliases set): with any other, or none,
// it opens nothing and returns an error wrapping ErrNoAudit. An alias the
// ledger binds to someone else (its binding to p was refused), or to
// nobody, is left out; a
// person without any is an empty list, never nil.
func (n *Node) Aliases(rc *Receipt, p ledger.Pseudonym) ([]string, error) {
	if n.Vault == nil || n.Pseud == nil {
		return nil, notHeld("vault", "open sealed identities")
	}
	if !rc.valid(n) || !rc.readsAliases() {
		return nil, fmt.Errorf("%w: the vault's aliases open only for a read whose audit record says it reads them", ErrNoAudit)
	}
	out := []string{}
	v, ok, err := n.DB.Get(store.VaultKey(p))
	if err != nil {
		return nil, err
	}
	if !ok {
		return out, nil
	}
	id, err := n.Vault.OpenIdentity(p, v)
	if err != nil {
		return nil, fmt.Errorf("vault entry of %s: %w", p.Short(), err)
	}
	for _, a := range id.Aliases {
		r, err := n.Pseud.Ref("alias", a)
		if err != nil {
			// Sealed by SealIdentity, so a reference; never shown if not.
			continue
		}
		q, ok, err := n.Query.Resolve(r)
		if err != nil {
			return nil, err
		}
		if ok && q == p {
			out = append(out, a)
		}
	}
	// Phones first: the list is for calling.
	sort.SliceStable(out, func(i, j int) bool {
		return strings.HasPrefix(out[i], "phone:") && !strings.HasPrefix(out[j], "phone:")
	})
	return out, nil
}
