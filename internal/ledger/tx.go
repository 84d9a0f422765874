package ledger

import (
	"crypto/ed25519"

	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Kind says what a transaction does. The numbers are part of the encoding
// and never reused.
type Kind uint8

// Transaction kinds.
const (
	KindRegisterSite Kind = 1  // the authority registers a site and its key
	KindBindIdentity Kind = 2  // the authority binds alias pseudonyms to a person
	KindVisit        Kind = 3  // a site records a presence
	KindMove         Kind = 4  // two sites record a movement between them
	KindCase         Kind = 5  // a hospital reports a case
	KindPublish      Kind = 6  // the authority publishes public information
	KindCommitRoot   Kind = 7  // the authority anchors a period's visit commitments
	KindCloseWindows Kind = 8  // the authority advances the validation clock
	KindCorrection   Kind = 9  // an authority proposes to annul or amend a record
	KindApproval     Kind = 10 // an authority approves a correction
	KindEncounter    Kind = 11 // a reporting device records two persons meeting
	KindGrantRole    Kind = 12 // the administrator grants (or revokes) a role to a key
	KindAudit        Kind = 13 // a node records a read of personal data before it runs
	// KindValidatorChange: an authority proposes that an organisation
	// join the validators, change its power or leave (validator.go).
	KindValidatorChange Kind = 14
	// KindRegisterChild and KindAnchor: a parent chain registers a child
	// region's chain, and the child's headers are anchored into it
	// (issue 15; anchor.go).
	KindRegisterChild Kind = 15
	KindAnchor        Kind = 16
	// KindRegisterParent: a child registers its parent's chain, whose
	// headers it then follows through anchors (issue 15, step 5).
	KindRegisterParent Kind = 17
	// KindLightAnchor: a CometBFT child's signed header, verified by the
	// parent with CometBFT's light-client rules.
	KindLightAnchor Kind = 18
	// KindIntel and KindIntelPolicy: an outbreak intelligence record,
	// endorsed by the chain's N2s, and how many endorsements it needs.
	KindIntel       Kind = 19
	KindIntelPolicy Kind = 20
	// KindIntelConfirm and KindIntelSummary: an N2's (or the national
	// N1's) confirmation of a record's digest, and that confirmation
	// carried into the parent (or, a broadcast, into a child).
	KindIntelConfirm Kind = 21
	KindIntelSummary Kind = 22
	// KindAccessRequest and KindAccessGrant: a region's N2 asks, on the
	// national chain, to read other regions' records, and the national
	// N1 grants it with a scope and an expiry (docs/REGIONS.md step 8).
	KindAccessRequest Kind = 23
	KindAccessGrant   Kind = 24
	// KindIntelSummaryBFT: an intel_summary from a CometBFT chain, proven
	// under its headers (docs/REGIONS.md step 6).
	KindIntelSummaryBFT Kind = 25
	// KindAccessRevoke: the national N1 withdraws a grant before its
	// expiry.
	KindAccessRevoke Kind = 26
	// KindRegisterDoctor, KindReportCard and KindCardReview: a hospital
	// registers a doctor's key, the doctor files a report card, and
	// reviews make its later versions (issue 16, card.go).
	KindRegisterDoctor Kind = 27
	KindReportCard     Kind = 28
	KindCardReview     Kind = 29
	// KindWarningRule and KindAlertAction: the authorities set a warning
	// rule; an investigator takes an alert a step further (warning.go).
	KindWarningRule Kind = 30
	KindAlertAction Kind = 31
	// KindPublishStats: a node publishes a bucket of the open statistics,
	// checked against the state's counts (stats.go).
	KindPublishStats Kind = 32
	// KindSupplyEvent: a custodian's step in a supply chain, after GS1
	// EPCIS (issue 17, supply.go).
	KindSupplyEvent Kind = 33
	// KindSupplyNeed: a hospital declares its need of a product.
	KindSupplyNeed Kind = 34
	// KindDonationPledge and KindDonationStep: a donor's gift, signed by
	// the donor and the charity, and the charity's steps with it
	// (donation.go).
	KindDonationPledge Kind = 35
	KindDonationStep   Kind = 36
	// KindAttestation: a key holder attests a content's hash, its kind
	// and source (issue 17, attest.go). 35 and 36 are the donations'.
	KindAttestation Kind = 37
)

func (k Kind) String() string {
	switch k {
	case KindRegisterSite:
		return "register_site"
	case KindBindIdentity:
		return "bind_identity"
	case KindVisit:
		return "visit"
	case KindMove:
		return "move"
	case KindCase:
		return "case"
	case KindPublish:
		return "publish"
	case KindCommitRoot:
		return "commit_root"
	case KindCloseWindows:
		return "close_windows"
	case KindCorrection:
		return "correction"
	case KindApproval:
		return "approval"
	case KindEncounter:
		return "encounter"
	case KindGrantRole:
		return "grant_role"
	case KindAudit:
		return "audit"
	case KindValidatorChange:
		return "validator_change"
	case KindRegisterChild:
		return "register_child"
	case KindAnchor:
		return "anchor"
	case KindRegisterParent:
		return "register_parent"
	case KindLightAnchor:
		return "light_anchor"
	case KindIntel:
		return "intel"
	case KindIntelPolicy:
		return "intel_policy"
	case KindIntelConfirm:
		return "intel_confirm"
	case KindIntelSummary:
		return "intel_summary"
	case KindAccessRequest:
		return "access_request"
	case KindAccessGrant:
		return "access_grant"
	case KindIntelSummaryBFT:
		return "intel_summary_bft"
	case KindAccessRevoke:
		return "access_revoke"
	case KindRegisterDoctor:
		return "register_doctor"
	case KindReportCard:
		return "report_card"
	case KindCardReview:
		return "card_review"
	case KindWarningRule:
		return "warning_rule"
	case KindAlertAction:
		return "alert_action"
	case KindPublishStats:
		return "publish_stats"
	case KindSupplyEvent:
		return "supply_event"
	case KindSupplyNeed:
		return "supply_need"
	case KindDonationPledge:
		return "donation_pledge"
	case KindDonationStep:
		return "donation_step"
	case KindAttestation:
		return "attestation"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Version is the envelope format version, the first byte of every tx.
const Version = 1

// Domain-separation labels: every hash and signature says what it is for,
// so that bytes signed for one purpose can never be replayed for another.
const (
	labelTxSign  = "epiledger/v1/tx-sign\x00"
	labelTxID    = "epiledger/v1/tx-id\x00"
	labelBlock   = "epiledger/v1/block\x00"
	MaxBodyBytes = 1 << 16
)

// Pseudonym is a person or alias as the ledger knows it: a keyed hash of
// the identifier, never the identifier itself.
type Pseudonym [32]byte

func (p Pseudonym) String() string { return hex.EncodeToString(p[:]) }

// Short is the first 8 bytes in hex, for tables.
func (p Pseudonym) Short() string { return hex.EncodeToString(p[:8]) }

// Hash is a SHA-256 digest: tx ids, block hashes, Merkle nodes.
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash decodes 64 hex digits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return h, errors.New("ledger: hash must be 64 hex digits")
	}
	copy(h[:], b)
	return h, nil
}

// Body is the kind-specific content of a transaction.
type Body interface {
	Kind() Kind
	// Signers is how many signatures the body needs.
	Signers() int
	// fields walks the body's fields in encoding order (see codec).
	fields(c *codec)
}

// RegisterSite registers a site, its place and the key it signs with.
// Coordinates are micro-degrees so that the encoding stays integral. A
// vehicle (train, flight, bus...) may give its route: where it starts and
// where it ends, which is where a passenger is at the start and end of a
// ride.
type RegisterSite struct {
	Site   string
	Kind_  string
	Name   string
	LatE6  int32
	LonE6  int32
	Region string
	Parent string
	Key    [32]byte
	Route  *Route
}

// Route is a vehicle's origin and destination in micro-degrees.
type Route struct {
	FromLatE6, FromLonE6, ToLatE6, ToLonE6 int32
}

func (*RegisterSite) Kind() Kind   { return KindRegisterSite }
func (*RegisterSite) Signers() int { return 1 }
func (b *RegisterSite) fields(c *codec) {
	c.str(&b.Site, "site", MaxIDLen)
	c.str(&b.Kind_, "kind", MaxTagLen)
	c.str(&b.Name, "name", MaxNameLen)
	c.i32(&b.LatE6, "lat")
	c.i32(&b.LonE6, "lon")
	c.str(&b.Region, "region", MaxTagLen)
	c.str(&b.Parent, "parent", MaxIDLen)
	c.bytes32(&b.Key, "key")
	route := b.Route != nil
	c.flag(&route, "route flag")
	if !route || !c.ok() {
		return
	}
	if b.Route == nil {
		b.Route = new(Route)
	}
	c.i32(&b.Route.FromLatE6, "route")
	c.i32(&b.Route.FromLonE6, "route")
	c.i32(&b.Route.ToLatE6, "route")
	c.i32(&b.Route.ToLonE6, "route")
}

// BindIdentity binds alias pseudonyms to a person pseudonym. Aliases must be
// strictly increasing, so the encoding of a set is unique.
type BindIdentity struct {
	Person  Pseudonym
	Aliases []Pseudonym
}

func (*BindIdentity) Kind() Kind   { return KindBindIdentity }
func (*BindIdentity) Signers() int { return 1 }
func (b *BindIdentity) fields(c *codec) {
	c.bytes32((*[32]byte)(&b.Person), "person")
	n := len(b.Aliases)
	c.count(&n, "aliases", MaxBindAliases)
	if !c.ok() {
		return
	}
	if c.reading() {
		b.Aliases = make([]Pseudonym, n)
	}
	for i := range b.Aliases {
		c.bytes32((*[32]byte)(&b.Aliases[i]), "alias")
		if i > 0 && !less(b.Aliases[i-1], b.Aliases[i]) {
			c.fail("aliases", "not strictly increasing")
		}
	}
}

func less(a, b Pseudonym) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// PersonRef names a person on the ledger: either the pseudonym of the
// canonical id (Alias false) or of a bound alias (Alias true), which the
// state machine resolves.
type PersonRef struct {
	Ref   Pseudonym
	Alias bool
}

func (r *PersonRef) fields(c *codec, field string) {
	c.bytes32((*[32]byte)(&r.Ref), field)
	c.flag(&r.Alias, "alias flag")
}

// Visit is a presence recorded and signed by the site. Times are Unix
// seconds.
type Visit struct {
	Site   string
	Person PersonRef
	In     int64
	Out    int64
	Via    string
	Role   string
}

func (*Visit) Kind() Kind   { return KindVisit }
func (*Visit) Signers() int { return 1 }
func (b *Visit) fields(c *codec) {
	c.str(&b.Site, "site", MaxIDLen)
	b.Person.fields(c, "person")
	c.time(&b.In, "in")
	c.time(&b.Out, "out")
	c.str(&b.Via, "via", MaxTagLen)
	c.str(&b.Role, "role", MaxTagLen)
}

// Move is a movement between two sites; the From site signs first, the To
// site second, over the same bytes.
type Move struct {
	Person PersonRef
	From   string
	To     string
	Depart int64
	Arrive int64
	Via    string
}

func (*Move) Kind() Kind   { return KindMove }
func (*Move) Signers() int { return 2 }
func (b *Move) fields(c *codec) {
	b.Person.fields(c, "person")
	c.str(&b.From, "from", MaxIDLen)
	c.str(&b.To, "to", MaxIDLen)
	c.time(&b.Depart, "depart")
	c.time(&b.Arrive, "arrive")
	c.str(&b.Via, "via", MaxTagLen)
}

// OnsetLayout is the layout of a case's onset date.
const OnsetLayout = "2006-01-02"

// Case is a hospital's report. Onset is a date "YYYY-MM-DD" (UTC, within
// MinTime and MaxTime) or empty.
type Case struct {
	Person   PersonRef
	Status   string
	Onset    string
	Reported int64
	By       string
}

func (*Case) Kind() Kind   { return KindCase }
func (*Case) Signers() int { return 1 }
func (b *Case) fields(c *codec) {
	b.Person.fields(c, "person")
	c.str(&b.Status, "status", MaxStatusLen)
	c.str(&b.Onset, "onset", len(OnsetLayout))
	if c.mode == checking && b.Onset != "" {
		if err := CheckDate("onset", b.Onset); err != nil {
			c.fail("onset", "%s", err.(*FieldError).Msg)
		}
	}
	c.time(&b.Reported, "reported")
	c.str(&b.By, "by", MaxIDLen)
}

// MaxTopic bounds a publication topic.
const MaxTopic = 64

// MaxPayload bounds a publication's payload, leaving room in the body.
const MaxPayload = MaxBodyBytes - 1024

// Publish is public information the authority puts on the ledger: the
// requests and published results of the privacy protocols (seed 003's
// "public information" records), under a topic such as
// "privacy/request". The payload is opaque to the ledger.
type Publish struct {
	Topic   string
	Payload []byte
}

func (*Publish) Kind() Kind   { return KindPublish }
func (*Publish) Signers() int { return 1 }
func (b *Publish) fields(c *codec) {
	c.str(&b.Topic, "topic", MaxTopic)
	c.blob(&b.Payload, "payload", MaxPayload)
}

// CommitRoot anchors the Merkle root of one period's visit commitments
// (seed 003's "commitment" records): Count commitments uploaded for the
// period starting at Period (Unix seconds) under Scheme (e.g. the universe
// of places they commit over).
type CommitRoot struct {
	Scheme string
	Period int64
	Count  uint32
	Root   Hash
}

func (*CommitRoot) Kind() Kind   { return KindCommitRoot }
func (*CommitRoot) Signers() int { return 1 }
func (b *CommitRoot) fields(c *codec) {
	c.str(&b.Scheme, "scheme", MaxTopic)
	c.time(&b.Period, "period")
	c.u32(&b.Count, "count")
	c.bytes32((*[32]byte)(&b.Root), "root")
}

// CloseWindows advances the validation clock to Until (Unix seconds):
// windows ending before Until minus the grace period may close even if no
// record that late has arrived. The authority sends it after importing
// historical data, so that the last days are decided too.
type CloseWindows struct {
	Until int64
}

func (*CloseWindows) Kind() Kind        { return KindCloseWindows }
func (*CloseWindows) Signers() int      { return 1 }
func (b *CloseWindows) fields(c *codec) { c.time(&b.Until, "until") }

// Correction actions.
const (
	ActionAnnul uint8 = 1 // the record is void
	ActionAmend uint8 = 2 // the record is replaced by the amended one
)

// Correction proposes to annul or amend a recorded visit or movement. It
// takes effect only when enough of the record's required parties approved
// (the proposal is its proposer's approval). For an amendment, In, Out and
// (when not empty) Site give the corrected record; an annulment carries
// none of them (zero times, no site).
type Correction struct {
	Target Hash
	Action uint8
	In     int64
	Out    int64
	Site   string
	Reason string
}

func (*Correction) Kind() Kind   { return KindCorrection }
func (*Correction) Signers() int { return 1 }
func (b *Correction) fields(c *codec) {
	c.bytes32((*[32]byte)(&b.Target), "target")
	c.u8(&b.Action, "action")
	if b.Action != ActionAnnul && b.Action != ActionAmend {
		c.fail("action", "must be 1 (annul) or 2 (amend)")
	}
	if b.Action == ActionAmend {
		c.time(&b.In, "in")
		c.time(&b.Out, "out")
	} else {
		c.i64(&b.In, "in")
		c.i64(&b.Out, "out")
		if c.mode == checking && (b.In != 0 || b.Out != 0 || b.Site != "") {
			c.fail("in", "an annulment carries no times or site")
		}
	}
	c.str(&b.Site, "site", MaxIDLen)
	c.str(&b.Reason, "reason", MaxReasonLen)
}

// Approval approves a correction. It names the approver's key, which must
// be the signer's: transaction ids leave signatures out, so without it two
// parties' approvals would be the same transaction.
type Approval struct {
	Correction Hash
	Approver   [32]byte
}

func (*Approval) Kind() Kind   { return KindApproval }
func (*Approval) Signers() int { return 1 }
func (b *Approval) fields(c *codec) {
	c.bytes32((*[32]byte)(&b.Correction), "correction")
	c.bytes32(&b.Approver, "approver")
}

// Encounter is a direct meeting of two persons reported by a proximity
// device (two wearable tags or phones within range), signed by the
// device's registered key: the device is a site of kind "device". Start is
// Unix seconds and Duration seconds. DistanceCM is the device's estimate
// of the distance in centimetres, 0 when it gave none. The persons are in
// canonical order (A before B by reference, then by alias flag), so one
// meeting has one encoding and one transaction id.
type Encounter struct {
	Device     string
	A, B       PersonRef
	Start      int64
	Duration   uint32
	DistanceCM uint32
}

func (*Encounter) Kind() Kind   { return KindEncounter }
func (*Encounter) Signers() int { return 1 }
func (b *Encounter) fields(c *codec) {
	c.str(&b.Device, "device", MaxIDLen)
	b.A.fields(c, "a")
	b.B.fields(c, "b")
	if c.ok() && !RefLess(b.A, b.B) {
		c.fail("b", "encounter persons not in canonical order")
	}
	c.time(&b.Start, "start")
	c.u32(&b.Duration, "duration")
	c.u32(&b.DistanceCM, "distance")
}

// RefLess orders person references: by reference bytes, then a canonical
// id before an alias. An encounter's A must be RefLess than its B.
func RefLess(a, b PersonRef) bool {
	if a.Ref != b.Ref {
		return less(a.Ref, b.Ref)
	}
	return !a.Alias && b.Alias
}

// Roles a key may hold. The chain authority of the genesis holds all.
const (
	RoleSite         = "site"         // records presences (its own site's key signs them)
	RoleHospital     = "hospital"     // reports cases
	RoleInvestigator = "investigator" // CDC, police: reads personal data, every read audited
	RoleAuditor      = "auditor"      // reads the audit trail and the chain
	RoleAdmin        = "administrator"
	// RoleNode is an organisation's node in a consortium: it signs the
	// audit records of the reads it serves, with its own key (keys/node.key),
	// since it holds neither the chain authority's key nor its secret.
	RoleNode = "node"
	// RoleRelay submits transactions that others signed: a child chain's
	// node relaying its anchors to this, its parent (issue 15).
	RoleRelay = "relay"
	// The intelligence roles of seed 002 (docs/REGIONS.md): N3 submits
	// records, N2 endorses them (co-signs), N1, on the national chain,
	// verifies and authorises.
	RoleN3   = "n3"
	RoleN2   = "n2"
	RoleN1   = "n1"
	RoleNone = "none" // revokes
)

// GrantRole gives a key a role for the API (or, with RoleNone, takes it
// away). Only the administrator signs it. Name says who holds the key
// ("CDC Wuhan, investigator 17"); it is public.
type GrantRole struct {
	Key  [32]byte
	Role string
	Name string
}

func (*GrantRole) Kind() Kind   { return KindGrantRole }
func (*GrantRole) Signers() int { return 1 }
func (b *GrantRole) fields(c *codec) {
	c.bytes32(&b.Key, "key")
	c.str(&b.Role, "role", MaxTagLen)
	c.str(&b.Name, "name", MaxNameLen)
}

// Audit records a read of personal data, written and committed before the
// read runs: who asked (the key that signed the request), for which case
// and purpose, and what was asked (the API route, the pseudonym of the
// person if any, the window, a hash of the whole request). Never a raw
// identifier. The node signs it with the chain authority's key; RequestSig
// is the caller's signature over the request, as evidence. From and To are
// the window asked, which may be open-ended (within ±MaxWindow); Time is a
// record time.
type Audit struct {
	Caller     [32]byte
	Role       string
	Case       string
	Purpose    string
	Route      string
	Person     Pseudonym // zero when the query names no person
	From, To   int64
	Request    Hash // SHA-256 of the signed request (method, path, time, case, purpose, body hash)
	RequestSig [64]byte
	Time       int64 // the request's time (Unix seconds)
}

func (*Audit) Kind() Kind   { return KindAudit }
func (*Audit) Signers() int { return 1 }
func (b *Audit) fields(c *codec) {
	c.bytes32(&b.Caller, "caller")
	c.str(&b.Role, "role", MaxTagLen)
	c.str(&b.Case, "case", MaxAuditLen)
	c.str(&b.Purpose, "purpose", MaxAuditLen)
	c.str(&b.Route, "route", MaxAuditLen)
	c.bytes32((*[32]byte)(&b.Person), "person")
	c.i64(&b.From, "from")
	c.i64(&b.To, "to")
	if c.mode == checking && (b.From < -MaxWindow || b.To > MaxWindow || b.To < b.From) {
		c.fail("to", "the window asked must run forward within ±2^62 s")
	}
	c.bytes32((*[32]byte)(&b.Request), "request")
	c.bytes64(&b.RequestSig, "request signature")
	c.time(&b.Time, "time")
}

func newBody(k Kind) Body {
	switch k {
	case KindRegisterSite:
		return new(RegisterSite)
	case KindBindIdentity:
		return new(BindIdentity)
	case KindVisit:
		return new(Visit)
	case KindMove:
		return new(Move)
	case KindCase:
		return new(Case)
	case KindPublish:
		return new(Publish)
	case KindCommitRoot:
		return new(CommitRoot)
	case KindCloseWindows:
		return new(CloseWindows)
	case KindCorrection:
		return new(Correction)
	case KindApproval:
		return new(Approval)
	case KindEncounter:
		return new(Encounter)
	case KindGrantRole:
		return new(GrantRole)
	case KindAudit:
		return new(Audit)
	case KindValidatorChange:
		return new(ValidatorChange)
	case KindRegisterChild:
		return &RegisterChild{}
	case KindAnchor:
		return &Anchor{}
	case KindRegisterParent:
		return &RegisterParent{}
	case KindLightAnchor:
		return &LightAnchor{}
	case KindIntel:
		return &Intel{}
	case KindIntelPolicy:
		return &IntelPolicy{}
	case KindIntelConfirm:
		return &IntelConfirm{}
	case KindIntelSummary:
		return &IntelSummary{}
	case KindAccessRequest:
		return &AccessRequest{}
	case KindAccessGrant:
		return &AccessGrant{}
	case KindIntelSummaryBFT:
		return &IntelSummaryBFT{}
	case KindAccessRevoke:
		return &AccessRevoke{}
	case KindRegisterDoctor:
		return &RegisterDoctor{}
	case KindReportCard:
		return &ReportCard{}
	case KindCardReview:
		return &CardReview{}
	case KindWarningRule:
		return &WarningRule{}
	case KindAlertAction:
		return &AlertAction{}
	case KindPublishStats:
		return &PublishStats{}
	case KindSupplyEvent:
		return &SupplyEvent{}
	case KindSupplyNeed:
		return &SupplyNeed{}
	case KindDonationPledge:
		return &DonationPledge{}
	case KindDonationStep:
		return &DonationStep{}
	case KindAttestation:
		return &Attestation{}
	}
	return nil
}

// Sig is one Ed25519 signature with the key that made it.
type Sig struct {
	Key [32]byte
	Sig [64]byte
}

// Tx is a signed transaction. It keeps the exact bytes it was decoded from
// (or encoded to), which are what is stored, hashed and proven.
type Tx struct {
	Body Body
	Sigs []Sig

	body []byte // canonical body encoding
	raw  []byte // whole envelope
	id   *Hash  // cached ID
}

// NewTx wraps a body for signing. It checks nothing: a body that breaks a
// limit gives a transaction DecodeTx (and so every node) refuses, and one
// that cannot be encoded at all (a string over 64 KiB, a list over 255
// items, a body over MaxBodyBytes) panics. Use it for bodies built from
// values already checked; build from anything a caller sent with Build.
func NewTx(b Body) *Tx {
	e := encoder{}
	b.fields(&codec{mode: writing, e: &e})
	if len(e.b) > MaxBodyBytes {
		panic("ledger: body too large")
	}
	return &Tx{Body: b, body: e.b}
}

// Validate checks every field of b against the limits DecodeTx enforces
// (so that what validates encodes to bytes that decode) and against the
// ledger's rules on values: every string is text (CheckText), every record
// time within MinTime and MaxTime (CheckTime), an onset a date, an
// annulment without times. It returns the first *FieldError, naming the
// field and never its value. The state machine refuses a body that does
// not validate; whether sites, persons and signers fit is its business.
func Validate(b Body) error {
	c := codec{mode: checking}
	b.fields(&c)
	if c.err != nil {
		return c.err
	}
	return nil
}

// Build is the checked NewTx: it returns Validate's *FieldError instead of
// a transaction when b breaks a rule, and never panics. Build transactions
// from API requests and other input with it.
func Build(b Body) (*Tx, error) {
	if err := Validate(b); err != nil {
		return nil, err
	}
	return NewTx(b), nil
}

// SignBytes is the message every signer signs: a label, the chain id, the
// kind and the body. Binding the chain id stops replay on another chain.
func (t *Tx) SignBytes(chainID string) []byte {
	var e encoder
	e.raw([]byte(labelTxSign))
	e.str(chainID)
	e.u8(uint8(t.Body.Kind()))
	e.raw(t.body)
	return e.b
}

// Sign appends a signature by key. Signers sign in the order the kind
// requires (a move: the From site, then the To site).
func (t *Tx) Sign(chainID string, key ed25519.PrivateKey) {
	var s Sig
	copy(s.Key[:], key.Public().(ed25519.PublicKey))
	copy(s.Sig[:], ed25519.Sign(key, t.SignBytes(chainID)))
	t.Sigs = append(t.Sigs, s)
	t.raw = nil
}

// Bytes returns the canonical envelope: version, kind, body length, body,
// signature count, signatures. The caller must not modify it.
func (t *Tx) Bytes() []byte {
	if t.raw == nil {
		var e encoder
		e.u8(Version)
		e.u8(uint8(t.Body.Kind()))
		e.u32(uint32(len(t.body)))
		e.raw(t.body)
		e.u8(uint8(len(t.Sigs)))
		for _, s := range t.Sigs {
			e.raw(s.Key[:])
			e.raw(s.Sig[:])
		}
		t.raw = e.b
	}
	return t.raw
}

// ID identifies the transaction by its content, not its signatures: the
// same record re-signed or re-wrapped is the same transaction, which is what
// replay protection needs.
func (t *Tx) ID() Hash {
	if t.id != nil {
		return *t.id
	}
	h := sha256.New()
	h.Write([]byte(labelTxID))
	h.Write([]byte{uint8(t.Body.Kind())})
	h.Write(t.body)
	var id Hash
	h.Sum(id[:0])
	t.id = &id
	return id
}

// DecodeTx parses an envelope. It accepts only the canonical encoding (so
// that Decode(b).Bytes() == b) and only the number of signatures the kind
// requires; it does not verify signatures.
func DecodeTx(b []byte) (*Tx, error) { return decodeTx(b, false) }

// DecodePartial is DecodeTx for a transaction still being signed: it
// accepts fewer signatures than the kind requires (at least one), as a
// donor's pledge has before its charity signs it. What it returns is not
// yet a transaction any chain accepts.
func DecodePartial(b []byte) (*Tx, error) { return decodeTx(b, true) }

func decodeTx(b []byte, partial bool) (*Tx, error) {
	d := decoder{b: b}
	if v := d.u8("version"); d.err == nil && v != Version {
		return nil, fmt.Errorf("%w: unknown version %d", ErrNonCanonical, v)
	}
	k := Kind(d.u8("kind"))
	body := newBody(k)
	if d.err == nil && body == nil {
		return nil, fmt.Errorf("%w: unknown kind %d", ErrNonCanonical, uint8(k))
	}
	n := int(d.u32("body length"))
	if d.err == nil && n > MaxBodyBytes {
		return nil, fmt.Errorf("%w: body longer than %d bytes", ErrNonCanonical, MaxBodyBytes)
	}
	bb := d.take(n, "body")
	if d.err != nil {
		return nil, d.err
	}
	bd := decoder{b: bb}
	body.fields(&codec{mode: reading, d: &bd})
	if err := bd.done(); err != nil {
		return nil, fmt.Errorf("%s body: %w", k, err)
	}
	ns := int(d.u8("signature count"))
	if d.err == nil && ns != body.Signers() && !(partial && ns >= 1 && ns < body.Signers()) {
		return nil, fmt.Errorf("%w: %s needs %d signatures, has %d", ErrNonCanonical, k, body.Signers(), ns)
	}
	t := &Tx{Body: body, body: bb}
	for i := 0; i < ns && d.err == nil; i++ {
		var s Sig
		copy(s.Key[:], d.take(32, "signature key"))
		copy(s.Sig[:], d.take(64, "signature"))
		t.Sigs = append(t.Sigs, s)
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	t.raw = b
	return t, nil
}

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = errors.New("ledger: bad signature")

// VerifySigs checks every signature over SignBytes. It only proves that the
// keys in the envelope signed; whether those keys may sign is the state
// machine's check.
func (t *Tx) VerifySigs(chainID string) error {
	msg := t.SignBytes(chainID)
	for i, s := range t.Sigs {
		if !voi.VerifyWithOptions(s.Key[:], msg, s.Sig[:], verifyOpts) {
			return fmt.Errorf("%w (signature %d of %s)", ErrBadSignature, i+1, t.Body.Kind())
		}
	}
	return nil
}
