package state

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/epiledger/epiledger/internal/geo"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// Site is a registered site as the state holds it.
type Site struct {
	ID     string
	Num    uint32 // dense number used in index keys
	Kind   string
	Name   string
	LatE6  int32
	LonE6  int32
	Region string
	Parent string
	Key    [32]byte
	// ParentNum is the parent's number (0 for none): a presence at a
	// site and one at its parent are at the same place.
	ParentNum uint32
	// Route is the vehicle's origin and destination, its own or its
	// parent's; nil when unknown.
	Route *ledger.Route

	// at and route are the site's point and route as validation's
	// segments, computed once (see withGeometry): validation asks for
	// them for every record.
	at, route *geo.Segment
}

// withGeometry fills the site's segments from its fields and returns it.
func (s *Site) withGeometry() *Site {
	p := geo.At(geo.Point{LatE6: int64(s.LatE6), LonE6: int64(s.LonE6)})
	s.at = &p
	if rt := s.Route; rt != nil {
		s.route = &geo.Segment{A: geo.Point{LatE6: int64(rt.FromLatE6), LonE6: int64(rt.FromLonE6)},
			B: geo.Point{LatE6: int64(rt.ToLatE6), LonE6: int64(rt.ToLonE6)}}
	}
	return s
}

// Lat and Lon in degrees.
func (s *Site) Lat() float64 { return float64(s.LatE6) / 1e6 }
func (s *Site) Lon() float64 { return float64(s.LonE6) / 1e6 }

// PresenceKind says whether a presence came from a visit or a movement.
type PresenceKind uint8

const (
	PresenceVisit PresenceKind = 1
	PresenceMove  PresenceKind = 2
)

// Status of a record in the indexes. A record with StatusRecorded is
// pending while its validation window is open and accepted once it closed.
type Status uint8

const (
	StatusRecorded Status = 0
	StatusRejected Status = 1 // off the winning chain of its window
	StatusAnnulled Status = 2 // annulled by an approved correction
	StatusAmended  Status = 3 // replaced by an approved correction
)

func (s Status) String() string {
	switch s {
	case StatusRecorded:
		return "recorded"
	case StatusRejected:
		return "rejected"
	case StatusAnnulled:
		return "annulled"
	case StatusAmended:
		return "amended"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Presence is one entry of the person and site indexes: a visit (at Site
// from In to Out) or a movement (from Site at In to Site2 at Out).
type Presence struct {
	Kind   PresenceKind
	Site   uint32
	Site2  uint32
	Person ledger.Pseudonym
	In     int64
	Out    int64
	Via    string
	Role   string
	TxID   ledger.Hash
	Status Status
}

// Visible reports whether the record counts in trajectories and contacts.
func (p *Presence) Visible() bool { return p.Status == StatusRecorded }

// Case is a reported case.
type Case struct {
	Person   ledger.Pseudonym
	Status   string
	Onset    string
	Reported int64
	By       string
	TxID     ledger.Hash
}

// w is a tiny appender for state values. State values are not consensus
// bytes on the wire, but they are hashed into the state hash, so their
// encoding is fixed too.
type w struct{ b []byte }

func (x *w) u8(v uint8)   { x.b = append(x.b, v) }
func (x *w) u32(v uint32) { x.b = binary.BigEndian.AppendUint32(x.b, v) }
func (x *w) i64(v int64)  { x.b = binary.BigEndian.AppendUint64(x.b, uint64(v)) }
func (x *w) raw(p []byte) { x.b = append(x.b, p...) }

// blob is a byte string of at most 255 bytes (a hash).
func (x *w) blob(p []byte) {
	if len(p) > 255 {
		panic("state: blob over 255 bytes")
	}
	x.b = append(x.b, uint8(len(p)))
	x.b = append(x.b, p...)
}
func (x *w) str(s string) {
	if len(s) > 255 {
		panic("state: string over 255 bytes") // the ledger decoder caps strings at 128
	}
	x.b = append(x.b, uint8(len(s)))
	x.b = append(x.b, s...)
}

type r struct {
	b   []byte
	bad bool
}

func (x *r) take(n int) []byte {
	if x.bad || len(x.b) < n {
		x.bad = true
		return make([]byte, n)
	}
	p := x.b[:n]
	x.b = x.b[n:]
	return p
}
func (x *r) u8() uint8    { return x.take(1)[0] }
func (x *r) u32() uint32  { return binary.BigEndian.Uint32(x.take(4)) }
func (x *r) i64() int64   { return int64(binary.BigEndian.Uint64(x.take(8))) }
func (x *r) blob() []byte { return x.take(int(x.u8())) }
func (x *r) str() string {
	n := int(x.u8())
	p := x.take(n)
	if !utf8.Valid(p) {
		x.bad = true
	}
	return string(p)
}
func (x *r) err(what string) error {
	if x.bad || len(x.b) != 0 {
		return fmt.Errorf("%w: %s record", store.ErrCorrupt, what)
	}
	return nil
}

func encodeSite(s *Site) []byte {
	var x w
	x.u32(s.Num)
	x.str(s.ID)
	x.str(s.Kind)
	x.str(s.Name)
	x.u32(uint32(s.LatE6))
	x.u32(uint32(s.LonE6))
	x.str(s.Region)
	x.str(s.Parent)
	x.raw(s.Key[:])
	x.u32(s.ParentNum)
	if s.Route == nil {
		x.u8(0)
	} else {
		x.u8(1)
		x.u32(uint32(s.Route.FromLatE6))
		x.u32(uint32(s.Route.FromLonE6))
		x.u32(uint32(s.Route.ToLatE6))
		x.u32(uint32(s.Route.ToLonE6))
	}
	return x.b
}

// DecodeSite decodes a site record.
func DecodeSite(b []byte) (*Site, error) {
	x := r{b: b}
	s := &Site{}
	s.Num = x.u32()
	s.ID = x.str()
	s.Kind = x.str()
	s.Name = x.str()
	s.LatE6 = int32(x.u32())
	s.LonE6 = int32(x.u32())
	s.Region = x.str()
	s.Parent = x.str()
	copy(s.Key[:], x.take(32))
	s.ParentNum = x.u32()
	switch x.u8() {
	case 0:
	case 1:
		s.Route = &ledger.Route{FromLatE6: int32(x.u32()), FromLonE6: int32(x.u32()), ToLatE6: int32(x.u32()), ToLonE6: int32(x.u32())}
	default:
		x.bad = true
	}
	if err := x.err("site"); err != nil {
		return nil, err
	}
	return s.withGeometry(), nil
}

// EncodePresence encodes an entry of the person or site index, as the
// state machine writes it: DecodePresence's inverse, for tools that
// write or check index entries (the timeline's tests).
func EncodePresence(p *Presence) []byte { return encodePresence(p) }

func encodePresence(p *Presence) []byte {
	var x w
	x.u8(uint8(p.Kind))
	x.u32(p.Site)
	x.u32(p.Site2)
	x.raw(p.Person[:])
	x.i64(p.In)
	x.i64(p.Out)
	x.str(p.Via)
	x.str(p.Role)
	x.raw(p.TxID[:])
	x.u8(uint8(p.Status))
	return x.b
}

// DecodePresence decodes an entry of the person or site index.
func DecodePresence(b []byte) (*Presence, error) {
	p := &Presence{}
	if err := DecodePresenceInto(b, p); err != nil {
		return nil, err
	}
	return p, nil
}

// DecodePresenceInto decodes into p, so hot loops need not allocate.
func DecodePresenceInto(b []byte, p *Presence) error {
	x := r{b: b}
	p.Kind = PresenceKind(x.u8())
	p.Site = x.u32()
	p.Site2 = x.u32()
	copy(p.Person[:], x.take(32))
	p.In = x.i64()
	p.Out = x.i64()
	p.Via = x.str()
	p.Role = x.str()
	copy(p.TxID[:], x.take(32))
	p.Status = Status(x.u8())
	if p.Status > StatusAmended {
		x.bad = true
	}
	return x.err("presence")
}

// PresenceCore is what bulk queries (contacts, chains) need of a presence
// index entry: whose, when, which record and whether it counts.
type PresenceCore struct {
	Kind    PresenceKind
	Site    uint32
	Person  ledger.Pseudonym
	In, Out int64
	TxID    ledger.Hash
	Status  Status
}

// DecodePresenceCore decodes the fields of PresenceCore from a presence
// entry without allocating (the via and role strings are skipped). A
// damaged entry is an error wrapping store.ErrCorrupt.
func DecodePresenceCore(b []byte, p *PresenceCore) error {
	_, _, err := DecodePresenceBytes(b, p)
	return err
}

// DecodePresenceBytes is DecodePresenceCore that also returns the via
// and role strings as slices of b, for callers that intern them.
func DecodePresenceBytes(b []byte, p *PresenceCore) (via, role []byte, err error) {
	x := r{b: b}
	p.Kind = PresenceKind(x.u8())
	p.Site = x.u32()
	x.u32() // second site of a move
	copy(p.Person[:], x.take(32))
	p.In = x.i64()
	p.Out = x.i64()
	via = x.take(int(x.u8()))
	role = x.take(int(x.u8()))
	copy(p.TxID[:], x.take(32))
	p.Status = Status(x.u8())
	if p.Status > StatusAmended {
		x.bad = true
	}
	return via, role, x.err("presence")
}

func encodeCase(c *Case) []byte {
	var x w
	x.raw(c.Person[:])
	x.str(c.Status)
	x.str(c.Onset)
	x.i64(c.Reported)
	x.str(c.By)
	x.raw(c.TxID[:])
	return x.b
}

// DecodeCase decodes a case record.
func DecodeCase(b []byte) (*Case, error) {
	x := r{b: b}
	c := &Case{}
	copy(c.Person[:], x.take(32))
	c.Status = x.str()
	c.Onset = x.str()
	c.Reported = x.i64()
	c.By = x.str()
	copy(c.TxID[:], x.take(32))
	if err := x.err("case"); err != nil {
		return nil, err
	}
	return c, nil
}
