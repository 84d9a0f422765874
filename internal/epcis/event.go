package epcis

import (
	"encoding/json"
	"time"
)

// Event is one decoded EPCIS event: *ObjectEvent, *AggregationEvent,
// *TransformationEvent, *AssociationEvent or *TransactionEvent. Callers
// type-switch on it; Base gives the fields all five share.
type Event interface {
	// Type returns the event's EPCIS type name, e.g. "ObjectEvent".
	Type() string
	// Base returns the fields every event has.
	Base() *Common
}

// Action is what an event does to the objects it names (EPCIS 2.0
// section 7.3.2): ADD brings them into being or into an aggregation,
// OBSERVE sees them without change, DELETE ends them or takes them out.
type Action string

// The three EPCIS actions.
const (
	ActionAdd     Action = "ADD"
	ActionObserve Action = "OBSERVE"
	ActionDelete  Action = "DELETE"
)

// Common holds the fields every event type has: when, where, why
// (bizStep, disposition, business transactions) and custody (sources and
// destinations). Vocabulary values are reduced to the bare CBV word when
// they are CBV words ("shipping"), and kept as URIs when they are not.
type Common struct {
	// EventID is the event's URI (often ni:///sha-256;...), "" when the
	// document gives none.
	EventID string
	// EventTime keeps the offset the document wrote it with.
	EventTime time.Time
	// EventTimeZoneOffset is the local offset at the place of the event,
	// "+hh:mm" or "-hh:mm".
	EventTimeZoneOffset string
	// RecordTime is when the sender's repository recorded the event; zero
	// when absent.
	RecordTime  time.Time
	BizStep     string
	Disposition string
	// ReadPoint and BizLocation are zero (URI "") when absent.
	ReadPoint       ID
	BizLocation     ID
	BizTransactions []BizTransaction
	Sources         []Party
	Destinations    []Party
	// CertificationInfo holds the URIs of certificates the event cites.
	CertificationInfo []string
	// ErrorDeclaration is non-nil when this event retracts an earlier one.
	ErrorDeclaration *ErrorDeclaration
}

// Base returns c, so that every event type satisfies Event through its
// embedded Common.
func (c *Common) Base() *Common { return c }

// BizTransaction is a business document the event belongs to, such as a
// purchase order ("po") or a despatch advice ("desadv").
type BizTransaction struct {
	Type string // CBV word or URI; "" when not given
	ID   string // the transaction's URI, kept as written
}

// Party is an entry of sourceList or destinationList: Type says what kind
// of custody ("owning_party", "possessing_party", "location") and ID who
// or where.
type Party struct {
	Type string
	ID   ID
}

// Quantity is an entry of a quantity list: an amount of a class of
// objects. Known is false when the document gives no quantity (the amount
// is unknown), in which case Quantity is 0.
type Quantity struct {
	EPCClass ID
	Quantity float64
	Known    bool
	// UOM is a UN/ECE Recommendation 20 unit code ("KGM"); "" means a
	// count of instances.
	UOM string
}

// ErrorDeclaration says the event was wrong: when that was declared, why,
// and which events correct it.
type ErrorDeclaration struct {
	DeclarationTime    time.Time
	Reason             string
	CorrectiveEventIDs []string
}

// ILMD is instance/lot master data: what is true of the objects an event
// creates. LotNumber and ItemExpirationDate are the CBV master data
// attributes the ledger reads; every other attribute is kept in Other as
// compacted JSON, keyed as written.
type ILMD struct {
	LotNumber string
	// ItemExpirationDate is as written: a date ("2026-05-31"), perhaps with
	// an offset.
	ItemExpirationDate string
	Other              map[string]json.RawMessage
}

// ObjectEvent says something happened to objects: commissioned (ADD),
// seen (OBSERVE) or decommissioned (DELETE).
type ObjectEvent struct {
	Common
	Action       Action
	EPCList      []ID
	QuantityList []Quantity
	ILMD         *ILMD
}

// AggregationEvent packs children into a parent (ADD), sees them packed
// (OBSERVE) or unpacks them (DELETE); the parent is typically an SSCC.
type AggregationEvent struct {
	Common
	Action            Action
	ParentID          ID
	ChildEPCs         []ID
	ChildQuantityList []Quantity
}

// TransformationEvent consumes inputs to make outputs (a lot of masks
// from rolls of fabric); TransformationID ties together events that are
// parts of one transformation.
type TransformationEvent struct {
	Common
	TransformationID   string
	InputEPCList       []ID
	InputQuantityList  []Quantity
	OutputEPCList      []ID
	OutputQuantityList []Quantity
	ILMD               *ILMD
}

// AssociationEvent ties children to a parent that is not a container,
// such as a sensor to a pallet.
type AssociationEvent struct {
	Common
	Action            Action
	ParentID          ID
	ChildEPCs         []ID
	ChildQuantityList []Quantity
}

// TransactionEvent links objects to business transactions.
type TransactionEvent struct {
	Common
	Action       Action
	ParentID     ID
	EPCList      []ID
	QuantityList []Quantity
}

// Type returns "ObjectEvent".
func (*ObjectEvent) Type() string { return "ObjectEvent" }

// Type returns "AggregationEvent".
func (*AggregationEvent) Type() string { return "AggregationEvent" }

// Type returns "TransformationEvent".
func (*TransformationEvent) Type() string { return "TransformationEvent" }

// Type returns "AssociationEvent".
func (*AssociationEvent) Type() string { return "AssociationEvent" }

// Type returns "TransactionEvent".
func (*TransactionEvent) Type() string { return "TransactionEvent" }

var (
	_ Event = (*ObjectEvent)(nil)
	_ Event = (*AggregationEvent)(nil)
	_ Event = (*TransformationEvent)(nil)
	_ Event = (*AssociationEvent)(nil)
	_ Event = (*TransactionEvent)(nil)
)
