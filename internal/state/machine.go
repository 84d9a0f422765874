// Package state is epiledger's deterministic state machine: it checks each
// transaction against what the ledger already holds and applies it to the
// state tables and indexes. It takes time only from the block, does no I/O
// but the store batch it is given, starts no goroutines and iterates no maps
// in an order that matters, so the same blocks give the same state hash on
// every node, whichever engine (solo or CometBFT) drives it.
package state

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/detect"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// Genesis fixes what a chain starts from: its id, its region, the
// authority's key, the genesis time, and who may correct records.
type Genesis struct {
	ChainID   string   `json:"chain_id"`
	Region    string   `json:"region"`
	Authority [32]byte `json:"-"`
	Time      int64    `json:"time"` // Unix seconds
	// Corrections says whose approvals make a correction take effect.
	Corrections CorrectionRule `json:"-"`
	// Params are the chain's rules (genesis.json "rules").
	Params Params `json:"-"`
	// LegacyRules marks a genesis written before the rules moved into it
	// (it has no "rules"): it runs on the default rules and its hash is
	// taken as before, without them, so that its blocks still verify.
	LegacyRules bool `json:"-"`
	// PseudonymKey is the chain's VOPRF pseudonym key (RFC 9497,
	// ristretto255-SHA512, the 32-byte encoding of its public key:
	// identity.OPRFScheme), which sites check the nodes' proofs against;
	// nil for a genesis that names none, whose pseudonyms are HMAC
	// pseudonyms (every genesis written before the VOPRF scheme). Part
	// of the hash only when set, so that older genesis hashes stay.
	PseudonymKey []byte `json:"-"`
	// Validators are the consortium's validators at genesis (issue 13,
	// point 6): organisation, CometBFT consensus key, power; none for a
	// genesis written before them, whose set is not on the ledger. Part
	// of the hash only when set, so that older genesis hashes stay.
	Validators []GenesisValidator `json:"-"`
}

// CorrectionRule is the deployment's k-of-n rule for corrections (seed 000
// sec. 2.6, end): a correction of a record needs the approvals of the
// authority of the record's origin region, of its destination region and
// of the system administrator; Quorum of these distinct parties must
// approve (0 means all of them).
type CorrectionRule struct {
	Administrator [32]byte
	Authorities   []RegionAuthority // sorted by region
	Quorum        int
}

// RegionAuthority is the key of the authority of one region.
type RegionAuthority struct {
	Region string
	Key    [32]byte
}

// AuthorityOf returns the key of a region's authority.
func (c *CorrectionRule) AuthorityOf(region string) ([32]byte, bool) {
	for _, a := range c.Authorities {
		if a.Region == region {
			return a.Key, true
		}
	}
	return [32]byte{}, false
}

// Hash commits to the genesis; block 1's PrevHash is this hash.
func (g *Genesis) Hash() ledger.Hash {
	h := sha256.New()
	h.Write([]byte("epiledger/v1/genesis\x00"))
	h.Write([]byte(g.ChainID))
	h.Write([]byte{0})
	h.Write([]byte(g.Region))
	h.Write([]byte{0})
	h.Write(g.Authority[:])
	binary.Write(h, binary.BigEndian, g.Time)
	h.Write(g.Corrections.Administrator[:])
	binary.Write(h, binary.BigEndian, int64(g.Corrections.Quorum))
	for _, a := range g.Corrections.Authorities {
		h.Write([]byte(a.Region))
		h.Write([]byte{0})
		h.Write(a.Key[:])
	}
	if !g.LegacyRules {
		rules, err := g.Params.MarshalJSON()
		if err != nil {
			panic(err) // plain values: cannot fail
		}
		h.Write([]byte("rules\x00"))
		binary.Write(h, binary.BigEndian, uint64(len(rules)))
		h.Write(rules)
	}
	if g.PseudonymKey != nil {
		h.Write([]byte("pseudonyms\x00voprf-ristretto255-sha512/v1\x00"))
		binary.Write(h, binary.BigEndian, uint64(len(g.PseudonymKey)))
		h.Write(g.PseudonymKey)
	}
	if len(g.Validators) > 0 {
		h.Write([]byte("validators\x00"))
		binary.Write(h, binary.BigEndian, uint64(len(g.Validators)))
		for _, v := range g.Validators {
			h.Write([]byte(v.Org))
			h.Write([]byte{0})
			h.Write(v.Key[:])
			binary.Write(h, binary.BigEndian, v.Power)
		}
	}
	var out ledger.Hash
	h.Sum(out[:0])
	return out
}

// Rejection is why a transaction was refused. Code is stable and
// machine-readable; Field names the offending field; Msg is for people and
// never contains a personal identifier.
type Rejection struct {
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
	Msg   string `json:"message"`
}

func (r *Rejection) Error() string {
	if r.Field != "" {
		return r.Code + ": " + r.Field + ": " + r.Msg
	}
	return r.Code + ": " + r.Msg
}

func reject(code, field, format string, args ...any) *Rejection {
	return &Rejection{Code: code, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// invalid turns a *ledger.FieldError (from ledger.Validate and its
// checks) into an invalid-field rejection.
func invalid(err error) *Rejection {
	var fe *ledger.FieldError
	if errors.As(err, &fe) {
		return &Rejection{Code: CodeInvalid, Field: fe.Field, Msg: fe.Msg}
	}
	return &Rejection{Code: CodeInvalid, Msg: err.Error()}
}

// Rejection codes.
const (
	CodeBadSignature = "bad_signature"
	CodeReplay       = "replay"
	CodeUnknownSite  = "unknown_site"
	CodeUnknownAlias = "unknown_person"
	CodeWrongSigner  = "wrong_signer"
	CodeInvalid      = "invalid"
	CodeConflict     = "conflict"
)

// Machine applies blocks to the state in a store. Queries may run
// concurrently with Apply: they read committed state only.
type Machine struct {
	db     *store.DB
	gen    Genesis
	params Params

	mu    sync.RWMutex
	sites map[string]*Site // committed sites; sites never change once registered
	byNum map[uint32]*Site

	c caches
}

// New returns a machine over db, on the rules of gen.
func New(db *store.DB, gen Genesis) *Machine {
	return &Machine{db: db, gen: gen, params: gen.Params, sites: map[string]*Site{}, byNum: map[uint32]*Site{},
		c: caches{vals: map[ledger.Pseudonym]personVal{}, aliases: map[ledger.Pseudonym]ledger.Pseudonym{}, dur: map[uint32]int64{}}}
}

// Genesis returns the chain's genesis.
func (m *Machine) Genesis() Genesis { return m.gen }

// Params returns the chain's rules (the genesis's).
func (m *Machine) Params() Params { return m.params }

// Block applies the transactions of one block into a batch. Use it from one
// goroutine: Begin, Apply each transaction in order, Finish, then the
// engine adds the chain records and commits the batch.
type Block struct {
	m      *Machine
	b      *store.Batch
	height uint64
	now    int64 // block time, Unix seconds
	// nowNanos is the block time in Unix nanoseconds (a light client's now).
	nowNanos int64
	idx      uint32
	h        hash.Hash
	added    map[string]*Site // sites registered in this block
	byNum    map[uint32]*Site
	nsites   uint32

	open      map[winKey]openWindow     // pending windows opened or extended in this block (see openWindow)
	noWin     map[ledger.Pseudonym]bool // persons whose windows a correction touched in this block
	vals      map[ledger.Pseudonym]personVal
	closed    []winKey                      // windows closed in this block
	txids     []ledger.Hash                 // accepted in this block
	seen      map[ledger.Hash]bool          // the same, for replays within the block
	boundHere map[ledger.Pseudonym]struct{} // aliases bound in this block (not cached until committed)
	dur       map[uint32]int64              // longest presence per site, this block's view
	siteHeads map[uint32]*siteHead
	// rules are the warning rules as this block sees them (nil until a
	// card first needs them): read once per block, not once per card.
	rules     []Rule
	rulesRead bool
	byDisease map[string][]*Rule // the active rules, by disease
	alertIDs  map[boundKey]ledger.Hash
	// counted are the buckets cards entered or left in this block, by
	// key: the rules on counts run on them once, at the block's end.
	counted map[string]*countedBucket
	cards   *store.Cursor // over the cards' index, while runCounted runs
	// roles are the keys' roles this block read (grants take effect
	// from the next block).
	roles map[[32]byte]string
	// supplyItems and supplyHolds are the items and holdings this
	// block's supply steps wrote, read back by its later steps.
	supplyItems map[string]Item
	supplyHolds map[string]uint64
	// buckets are the daily counts this block read or wrote, by key: the
	// rules read the same days again and again within a block.
	buckets map[string]DayCount
	// alerts are the alerts this block read or changed, written at its
	// end (flushAlerts).
	alerts map[ledger.Hash]*Alert
	// past are the daily totals before their block's day that the rules
	// read, by district, disease and window (pastSeries).
	past        map[seriesKey][]uint32
	bounds      map[boundKey]detect.Value
	least       map[boundKey]uint32
	pastChanged bool
	clock       int64 // the data clock: latest record time seen
	clockDirty  bool
	// closedUntil: every window ending at or before it has been decided.
	closedUntil      int64
	closedUntilDirty bool
	// opened are the windows this block opened (its window log entry),
	// logEnd the latest end among them; logsDone the log entries this
	// block deleted. closedAll says the block closed every window up to
	// closedUntil, nextMinEnd the least end left open.
	opened     []winKey
	logEnd     int64
	logsDone   []uint64
	closedAll  bool
	nextMinEnd int64

	// priv is the overlay of the privacy records this block accepted
	// (privacy.go), made on first use.
	priv *privBlock

	// Closed counts the person windows this block closed (for metrics and
	// benchmarks).
	Closed int
	// writes counts the state writes (set and del) of the block.
	writes int
}

// Begin starts applying the block at height with the header time (Unix
// nanoseconds) into batch b.
func (m *Machine) Begin(b *store.Batch, height uint64, timeNanos int64) (*Block, error) {
	blk := &Block{m: m, b: b, height: height, now: timeNanos / 1e9, nowNanos: timeNanos, h: sha256.New(), added: map[string]*Site{}, byNum: map[uint32]*Site{},
		open: map[winKey]openWindow{}, noWin: map[ledger.Pseudonym]bool{}, siteHeads: map[uint32]*siteHead{}, clock: minTime, vals: map[ledger.Pseudonym]personVal{},
		seen: map[ledger.Hash]bool{}, dur: map[uint32]int64{}, boundHere: map[ledger.Pseudonym]struct{}{}}
	if err := m.loadFilter(b); err != nil {
		return nil, err
	}
	v, ok, err := b.Get(store.CounterKey("sites"))
	if err != nil {
		return nil, err
	}
	if ok {
		blk.nsites = binary.BigEndian.Uint32(v)
	}
	v, ok, err = b.Get(store.CounterKey("clock"))
	if err != nil {
		return nil, err
	}
	if ok {
		blk.clock = int64(binary.BigEndian.Uint64(v))
	}
	blk.closedUntil = minTime
	v, ok, err = b.Get(store.CounterKey("closeduntil"))
	if err != nil {
		return nil, err
	}
	if ok {
		blk.closedUntil = int64(binary.BigEndian.Uint64(v))
	}
	if err := m.loadOpenWindows(b, blk.closedUntil); err != nil {
		return nil, err
	}
	if m.params.Validation.Enabled {
		if err := m.loadVals(b); err != nil {
			return nil, err
		}
	}
	return blk, nil
}

// set writes into the batch and the state hash.
func (blk *Block) set(k, v []byte) error { return blk.setStored(k, v, v) }

// setStored writes k into the state hash with value v, as set does, but
// stores only stored, a shorter form from which the store's readers
// derive v (each caller says how). The state hash is the protocol,
// what nodes agree on; the stored form is this node's, so it can shed
// bytes without changing a hash, and a store written with the full
// form reads as before.
func (blk *Block) setStored(k, v, stored []byte) error {
	blk.writes++
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(k)))
	blk.h.Write(n[:])
	blk.h.Write(k)
	binary.BigEndian.PutUint32(n[:], uint32(len(v)))
	blk.h.Write(n[:])
	blk.h.Write(v)
	return blk.b.Set(k, stored)
}

// del deletes a key through the batch and the state hash.
func (blk *Block) del(k []byte) error {
	blk.writes++
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(k)))
	blk.h.Write([]byte{0xff})
	blk.h.Write(n[:])
	blk.h.Write(k)
	return blk.b.Delete(k)
}

// Finish ends the block: it closes the validation windows that are due
// (the longest-chain rule, person blocks), writes what the block cached,
// and returns the state hash after the block: a hash chain over the
// previous state hash and every state write of the block, in order. A
// block that writes nothing (an empty block that closes no window, as
// CometBFT makes) leaves the state, and so its hash, as it was. An error
// is a store failure; the block must be abandoned.
func (blk *Block) Finish(prev ledger.Hash) (ledger.Hash, error) {
	if blk.m.params.Validation.Enabled {
		if err := blk.closeWindows(); err != nil {
			return ledger.Hash{}, err
		}
	}
	if err := blk.flush(); err != nil {
		return ledger.Hash{}, err
	}
	if err := blk.runCounted(); err != nil {
		return ledger.Hash{}, err
	}
	if err := blk.flushAlerts(); err != nil {
		return ledger.Hash{}, err
	}
	if blk.writes == 0 {
		return prev, nil
	}
	h := sha256.New()
	h.Write([]byte("epiledger/v1/state\x00"))
	h.Write(prev[:])
	h.Write(blk.h.Sum(nil))
	var out ledger.Hash
	h.Sum(out[:0])
	return out, nil
}

// Committed must be called after the engine committed the batch; it makes
// this block's sites visible to the machine's cache.
func (blk *Block) Committed() {
	blk.m.mu.Lock()
	for id, s := range blk.added {
		blk.m.sites[id] = s
		blk.m.byNum[s.Num] = s
	}
	blk.m.mu.Unlock()
	blk.m.merge(blk)
}

// Apply checks tx and, if it is acceptable, applies it. sigErr is the
// result of verifying the tx's signatures (done by the engine in parallel
// batches before the block is applied). A refused tx returns a *Rejection
// and writes nothing; any other error is a store failure and the block must
// be abandoned. Apply is deterministic. tx must come from ledger.DecodeTx
// or ledger.NewTx, which guarantee the signature count of its kind.
func (blk *Block) Apply(tx *ledger.Tx, sigErr error) error {
	if sigErr != nil {
		return reject(CodeBadSignature, "signature", "%v", sigErr)
	}
	id := tx.ID()
	if blk.seen[id] {
		return reject(CodeReplay, "", "transaction %s is already in this block", id.String()[:16])
	}
	if blk.m.c.filter.mayContain(&id) {
		v, ok, err := blk.b.Get(store.TxIndexKey(id))
		if err != nil {
			return err
		}
		if ok {
			return reject(CodeReplay, "", "transaction %s is already on the ledger at height %d", id.String()[:16], binary.BigEndian.Uint64(v))
		}
	}
	// Field limits, text and time bounds first, for every kind: a time
	// before 1970 or a control character never reaches an index.
	if err := ledger.Validate(tx.Body); err != nil {
		return invalid(err)
	}
	var err error
	switch b := tx.Body.(type) {
	case *ledger.RegisterSite:
		err = blk.registerSite(tx, b)
	case *ledger.BindIdentity:
		err = blk.bindIdentity(tx, b)
	case *ledger.Visit:
		err = blk.visit(tx, id, b)
	case *ledger.Move:
		err = blk.move(tx, id, b)
	case *ledger.Case:
		err = blk.reportCase(tx, id, b)
	case *ledger.Publish:
		err = blk.publish(tx, id, b)
	case *ledger.CommitRoot:
		err = blk.commitRoot(tx, id, b)
	case *ledger.Correction:
		err = blk.propose(tx, id, b)
	case *ledger.Approval:
		err = blk.approve(tx, b)
	case *ledger.ValidatorChange:
		err = blk.proposeValidator(tx, id, b)
	case *ledger.Encounter:
		err = blk.encounter(tx, id, b)
	case *ledger.GrantRole:
		err = blk.grantRole(tx, b)
	case *ledger.Audit:
		err = blk.audit(tx, id, b)
	case *ledger.RegisterChild:
		err = blk.registerChild(tx, id, b)
	case *ledger.Anchor:
		err = blk.anchor(tx, id, b)
	case *ledger.RegisterParent:
		err = blk.registerParent(tx, id, b)
	case *ledger.LightAnchor:
		err = blk.lightAnchor(tx, id, b)
	case *ledger.Intel:
		err = blk.intel(tx, id, b)
	case *ledger.IntelPolicy:
		err = blk.intelPolicy(tx, b)
	case *ledger.IntelConfirm:
		err = blk.intelConfirm(tx, id, b)
	case *ledger.IntelSummary:
		err = blk.intelSummary(tx, id, b)
	case *ledger.IntelSummaryBFT:
		err = blk.intelSummaryBFT(tx, id, b)
	case *ledger.AccessRequest:
		err = blk.accessRequest(tx, id, b)
	case *ledger.AccessGrant:
		err = blk.accessGrant(tx, id, b)
	case *ledger.AccessRevoke:
		err = blk.accessRevoke(tx, id, b)
	case *ledger.RegisterDoctor:
		err = blk.registerDoctor(tx, b)
	case *ledger.ReportCard:
		err = blk.reportCard(tx, id, b)
	case *ledger.CardReview:
		err = blk.cardReview(tx, id, b)
	case *ledger.WarningRule:
		err = blk.setRule(tx, id, b)
	case *ledger.AlertAction:
		err = blk.alertAction(tx, id, b)
	case *ledger.PublishStats:
		err = blk.publishStats(tx, id, b)
	case *ledger.SupplyEvent:
		err = blk.supplyEvent(tx, id, b)
	case *ledger.SupplyNeed:
		err = blk.supplyNeed(tx, id, b)
	case *ledger.DonationPledge:
		err = blk.donationPledge(tx, id, b)
	case *ledger.DonationStep:
		err = blk.donationStep(tx, id, b)
	case *ledger.Attestation:
		err = blk.attest(tx, id, b)
	case *ledger.CloseWindows:
		err = blk.requireAuthority(tx)
		if err == nil {
			blk.advanceClock(b.Until)
		}
	default:
		err = reject(CodeInvalid, "kind", "unsupported transaction kind %s", tx.Body.Kind())
	}
	if err != nil {
		return err
	}
	var loc [12]byte
	binary.BigEndian.PutUint64(loc[:8], blk.height)
	binary.BigEndian.PutUint32(loc[8:], blk.idx)
	blk.idx++
	blk.seen[id] = true
	blk.txids = append(blk.txids, id)
	return blk.set(store.TxIndexKey(id), loc[:])
}

// Index is the position the next accepted transaction will take in the
// block.
func (blk *Block) Index() uint32 { return blk.idx }

func (blk *Block) requireAuthority(tx *ledger.Tx) error {
	if tx.Sigs[0].Key != blk.m.gen.Authority {
		return reject(CodeWrongSigner, "signature", "%s must be signed by the chain authority", tx.Body.Kind())
	}
	return nil
}

func (blk *Block) registerSite(tx *ledger.Tx, b *ledger.RegisterSite) error {
	if err := blk.requireAuthority(tx); err != nil {
		return err
	}
	voc := &blk.m.params.Vocabulary
	if b.Site == "" || len(b.Site) > voc.MaxSiteIDLen {
		return reject(CodeInvalid, "site", "site id must be 1 to %d bytes", voc.MaxSiteIDLen)
	}
	if !voc.KnownKind(b.Kind_) {
		return reject(CodeInvalid, "kind", "unknown site kind %q (the genesis knows: %s)", b.Kind_, strings.Join(voc.SiteKinds, ", "))
	}
	if b.LatE6 < -90e6 || b.LatE6 > 90e6 {
		return reject(CodeInvalid, "lat", "must be within [-90, 90] degrees")
	}
	if b.LonE6 < -180e6 || b.LonE6 > 180e6 {
		return reject(CodeInvalid, "lon", "must be within [-180, 180] degrees")
	}
	if s, err := blk.site(b.Site); err != nil {
		return err
	} else if s != nil {
		return reject(CodeConflict, "site", "site %q is already registered", b.Site)
	}
	var parent *Site
	if b.Parent != "" {
		p, err := blk.site(b.Parent)
		if err != nil {
			return err
		}
		if p == nil {
			return reject(CodeUnknownSite, "parent", "parent site %q is not registered", b.Parent)
		}
		parent = p
	}
	route := b.Route
	if route != nil {
		for _, c := range []struct {
			v   int32
			lim int32
		}{{route.FromLatE6, 90e6}, {route.FromLonE6, 180e6}, {route.ToLatE6, 90e6}, {route.ToLonE6, 180e6}} {
			if c.v < -c.lim || c.v > c.lim {
				return reject(CodeInvalid, "route", "route coordinates out of range")
			}
		}
	} else if parent != nil {
		route = parent.Route // a carriage runs where its train runs
	}
	blk.nsites++
	s := &Site{ID: b.Site, Num: blk.nsites, Kind: b.Kind_, Name: b.Name, LatE6: b.LatE6, LonE6: b.LonE6,
		Region: b.Region, Parent: b.Parent, Key: b.Key, Route: route}
	if parent != nil {
		s.ParentNum = parent.Num
	}
	s.withGeometry()
	if err := blk.set(store.SiteKey(s.ID), encodeSite(s)); err != nil {
		return err
	}
	if err := blk.set(store.SiteNumKey(s.Num), []byte(s.ID)); err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], blk.nsites)
	blk.added[s.ID] = s
	blk.byNum[s.Num] = s
	return blk.set(store.CounterKey("sites"), n[:])
}

func (blk *Block) bindIdentity(tx *ledger.Tx, b *ledger.BindIdentity) error {
	if err := blk.requireAuthority(tx); err != nil {
		return err
	}
	for i, a := range b.Aliases {
		if a == b.Person {
			return reject(CodeInvalid, fmt.Sprintf("aliases[%d]", i), "an alias cannot be the person's own pseudonym")
		}
		v, ok, err := blk.b.Get(store.AliasKey(a))
		if err != nil {
			return err
		}
		if ok && (len(v) < 32 || ledger.Pseudonym(v[:32]) != b.Person) {
			return reject(CodeConflict, fmt.Sprintf("aliases[%d]", i), "alias is already bound to another person")
		}
	}
	// The value keeps the binding transaction's id, so that a person
	// chain can prove an alias is the person's.
	id := tx.ID()
	val := append(append([]byte{}, b.Person[:]...), id[:]...)
	for _, a := range b.Aliases {
		if err := blk.set(store.AliasKey(a), val); err != nil {
			return err
		}
		blk.boundHere[a] = struct{}{}
	}
	return nil
}

// site returns the site registered under id, seeing this block's
// registrations, or nil if there is none.
func (blk *Block) site(id string) (*Site, error) {
	if s := blk.added[id]; s != nil {
		return s, nil
	}
	return blk.m.committedSite(blk.b, id)
}

func (m *Machine) committedSite(r store.Reader, id string) (*Site, error) {
	m.mu.RLock()
	s := m.sites[id]
	m.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	v, ok, err := r.Get(store.SiteKey(id))
	if err != nil || !ok {
		return nil, err
	}
	s, err = DecodeSite(v)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.sites[id] = s
	m.byNum[s.Num] = s
	m.mu.Unlock()
	return s, nil
}

// siteAt returns the site with number num, seeing this block's
// registrations.
func (blk *Block) siteAt(num uint32) (*Site, error) {
	if s := blk.byNum[num]; s != nil {
		return s, nil
	}
	return blk.m.SiteByNum(blk.b, num)
}

// SiteByNum returns the committed site with number num, read through r.
func (m *Machine) SiteByNum(r store.Reader, num uint32) (*Site, error) {
	m.mu.RLock()
	s := m.byNum[num]
	m.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	id, ok, err := r.Get(store.SiteNumKey(num))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: site number %d has no site", store.ErrCorrupt, num)
	}
	s, err = m.committedSite(r, string(id))
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: site %q has no record", store.ErrCorrupt, id)
	}
	return s, nil
}

// signingSite loads the site that must have signed and checks the key.
func (blk *Block) signingSite(field, id string, key [32]byte) (*Site, error) {
	s, err := blk.site(id)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, reject(CodeUnknownSite, field, "site %q is not registered", id)
	}
	if s.Key != key {
		return nil, reject(CodeWrongSigner, field, "signed by a key that is not the registered key of site %q", id)
	}
	return s, nil
}

func (blk *Block) person(field string, ref ledger.PersonRef) (ledger.Pseudonym, error) {
	if !ref.Alias {
		return ref.Ref, nil
	}
	if p, ok := blk.m.cachedAlias(ref.Ref); ok {
		return p, nil
	}
	v, ok, err := blk.b.Get(store.AliasKey(ref.Ref))
	if err != nil {
		return ledger.Pseudonym{}, err
	}
	if !ok {
		return ledger.Pseudonym{}, reject(CodeUnknownAlias, field, "alias is not bound to any identity")
	}
	var p ledger.Pseudonym
	if len(v) != 64 {
		return p, fmt.Errorf("%w: alias record", store.ErrCorrupt)
	}
	copy(p[:], v[:32])
	if _, mine := blk.boundHere[ref.Ref]; !mine {
		blk.m.cacheAlias(ref.Ref, p)
	}
	return p, nil
}

// checkTimes checks a presence's times, both within ledger.MinTime and
// ledger.MaxTime (ledger.Validate checked them): out not before in, at
// most MaxPresence long, starting no later than the future skew allows.
func (blk *Block) checkTimes(inField, outField string, in, out int64) error {
	if out < in {
		return reject(CodeInvalid, outField, "is before %s", inField)
	}
	// Differences as uint64 seconds: exact once out >= in, and no
	// multiplication into a Duration that could overflow.
	if uint64(out)-uint64(in) > uint64(blk.m.params.MaxPresence/time.Second) {
		return reject(CodeInvalid, outField, "presence longer than %s", blk.m.params.MaxPresence)
	}
	return blk.checkNotFuture(inField, in)
}

// checkNotFuture refuses a time more than MaxFutureSkew after the block.
func (blk *Block) checkNotFuture(field string, t int64) error {
	if t > blk.now && uint64(t)-uint64(blk.now) > uint64(blk.m.params.MaxFutureSkew/time.Second) {
		return reject(CodeInvalid, field, "is more than %s after the block time", blk.m.params.MaxFutureSkew)
	}
	return nil
}

func (blk *Block) reportCase(tx *ledger.Tx, id ledger.Hash, b *ledger.Case) error {
	s, err := blk.signingSite("by", b.By, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if s.Kind != "hospital" && s.Kind != "clinic" {
		return reject(CodeWrongSigner, "by", "site %q is a %s; only a hospital or clinic reports cases", b.By, s.Kind)
	}
	if voc := &blk.m.params.Vocabulary; !voc.KnownStatus(b.Status) {
		return reject(CodeInvalid, "status", "unknown status %q (the genesis knows: %s)", b.Status, strings.Join(voc.CaseStatuses, ", "))
	}
	if err := blk.checkNotFuture("reported", b.Reported); err != nil {
		return err
	}
	p, err := blk.person("person", b.Person)
	if err != nil {
		return err
	}
	blk.advanceClock(b.Reported)
	c := &Case{Person: p, Status: b.Status, Onset: b.Onset, Reported: b.Reported, By: b.By, TxID: id}
	if err := blk.set(store.CaseKey(p, b.Reported, id), encodeCase(c)); err != nil {
		return err
	}
	return blk.set(store.CaseListKey(b.Reported, id), p[:])
}

// IsRejection reports whether err is a refusal (as opposed to a failure).
func IsRejection(err error) (*Rejection, bool) {
	var r *Rejection
	ok := errors.As(err, &r)
	return r, ok
}

func validTopic(field, t string) error {
	if t == "" || strings.IndexByte(t, 0) >= 0 {
		return reject(CodeInvalid, field, "must be non-empty and contain no NUL byte")
	}
	return nil
}

// publish stores public information under its topic, in block order;
// the privacy protocols' topics are checked first (privacy.go).
func (blk *Block) publish(tx *ledger.Tx, id ledger.Hash, b *ledger.Publish) error {
	if err := blk.requireAuthority(tx); err != nil {
		return err
	}
	if err := validTopic("topic", b.Topic); err != nil {
		return err
	}
	if err := blk.checkPublication(b); err != nil {
		return err
	}
	return blk.set(store.PublishKey(b.Topic, blk.now, id), b.Payload)
}

// commitRoot anchors a period's commitment root, once per scheme and
// period (privacy.go).
func (blk *Block) commitRoot(tx *ledger.Tx, id ledger.Hash, b *ledger.CommitRoot) error {
	if err := blk.requireAuthority(tx); err != nil {
		return err
	}
	if err := validTopic("scheme", b.Scheme); err != nil {
		return err
	}
	if err := blk.checkCommitRoot(b); err != nil {
		return err
	}
	v := make([]byte, 0, 36)
	v = append(v, b.Root[:]...)
	v = binary.BigEndian.AppendUint32(v, b.Count)
	return blk.set(store.CommitKey(b.Scheme, b.Period, id), v)
}
