package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrNonCanonical is returned (wrapped) by every decoder in this package when
// the input is not the one canonical encoding of a value: trailing bytes, a
// length that runs past the end, invalid UTF-8, an unknown enum, or fields out
// of order.
var ErrNonCanonical = errors.New("ledger: non-canonical encoding")

// encoder appends the canonical encoding of fixed-width big-endian integers
// and length-prefixed strings. Fixed widths make the encoding canonical by
// construction: there is exactly one way to write each value.
type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) i64(v int64)  { e.u64(uint64(v)) }
func (e *encoder) i32(v int32)  { e.u32(uint32(v)) }
func (e *encoder) raw(p []byte) { e.b = append(e.b, p...) }

// str writes a string of at most 65535 bytes with a 2-byte length. A
// longer string cannot be encoded at all. Build checks every field's limit
// (at most MaxReasonLen) before it encodes, so input from callers never
// gets here; NewTx, which does not check, is for bodies the node built
// itself (the importer's parsed records are checked by the same limits).
func (e *encoder) str(s string) {
	if len(s) > 0xffff {
		panic("ledger: string too long to encode") // callers validate lengths first
	}
	e.u16(uint16(len(s)))
	e.b = append(e.b, s...)
}

// blob writes a byte string of at most MaxBodyBytes with a 4-byte length.
func (e *encoder) blob(p []byte) {
	e.u32(uint32(len(p)))
	e.b = append(e.b, p...)
}

// decoder reads what encoder writes. The first error sticks; later reads
// return zero values, so a decode function checks err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrNonCanonical, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b) < n {
		d.fail("%s: truncated", what)
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) u8(what string) uint8 {
	p := d.take(1, what)
	if p == nil {
		return 0
	}
	return p[0]
}

func (d *decoder) u16(what string) uint16 {
	p := d.take(2, what)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint16(p)
}

func (d *decoder) u32(what string) uint32 {
	p := d.take(4, what)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func (d *decoder) u64(what string) uint64 {
	p := d.take(8, what)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint64(p)
}

func (d *decoder) i64(what string) int64 { return int64(d.u64(what)) }
func (d *decoder) i32(what string) int32 { return int32(d.u32(what)) }

func (d *decoder) hash(what string) (h [32]byte) {
	copy(h[:], d.take(32, what))
	return h
}

// str reads a length-prefixed string of at most max bytes that must be
// valid UTF-8.
func (d *decoder) str(what string, max int) string {
	n := int(d.u16(what))
	if d.err == nil && n > max {
		d.fail("%s: longer than %d bytes", what, max)
		return ""
	}
	p := d.take(n, what)
	if d.err != nil {
		return ""
	}
	if !utf8.Valid(p) {
		d.fail("%s: invalid UTF-8", what)
		return ""
	}
	return string(p)
}

// blob reads a byte string of at most max bytes.
func (d *decoder) blob(what string, max int) []byte {
	n := int(d.u32(what))
	if d.err == nil && n > max {
		d.fail("%s: longer than %d bytes", what, max)
		return nil
	}
	p := d.take(n, what)
	if d.err != nil {
		return nil
	}
	return append([]byte{}, p...)
}

// done reports the sticky error, or an error if bytes remain.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}

// codec walks a body's fields in encoding order in one of three modes:
// writing them (encode), reading them (decode) or checking them against
// every rule of Validate. Each body lists its fields once, in its fields
// method, each with its limit, so that the limit a decoder enforces is the
// limit Validate checks: a body that validates encodes to bytes that
// decode.
//
// Reading enforces what makes an encoding canonical (lengths, UTF-8,
// enums, order); checking enforces that too and the ledger's acceptance
// rules on values (CheckText on every string, CheckTime on every record
// time). Writing checks nothing but what cannot be written at all.
type codec struct {
	mode codecMode
	e    *encoder
	d    *decoder
	err  *FieldError // checking: the first rule broken
}

type codecMode uint8

const (
	writing codecMode = iota
	reading
	checking
)

func (c *codec) reading() bool { return c.mode == reading }

// fail records a broken rule on field: in reading a non-canonical
// encoding, in checking a field error; writing ignores it.
func (c *codec) fail(field, format string, args ...any) {
	switch c.mode {
	case reading:
		c.d.fail("%s: %s", field, fmt.Sprintf(format, args...))
	case checking:
		if c.err == nil {
			c.err = &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
		}
	}
}

// str is a text field of at most max bytes.
func (c *codec) str(p *string, field string, max int) {
	switch c.mode {
	case writing:
		c.e.str(*p)
	case reading:
		*p = c.d.str(field, max)
	case checking:
		if len(*p) > max {
			c.fail(field, "longer than %d bytes", max)
		} else if msg := textProblem(*p); msg != "" {
			c.fail(field, "%s", msg)
		}
	}
}

// blob is a byte string of at most max bytes.
func (c *codec) blob(p *[]byte, field string, max int) {
	switch c.mode {
	case writing:
		c.e.blob(*p)
	case reading:
		*p = c.d.blob(field, max)
	case checking:
		if len(*p) > max {
			c.fail(field, "longer than %d bytes", max)
		}
	}
}

// time is a record time in Unix seconds: checking refuses one outside
// [MinTime, MaxTime]. Reading takes any value, so that a chain written
// before the bound existed still decodes (the state machine refuses it).
func (c *codec) time(p *int64, field string) {
	c.i64(p, field)
	if c.mode == checking && c.err == nil {
		if err := CheckTime(field, *p); err != nil {
			c.err = err.(*FieldError)
		}
	}
}

// fixed is a fixed-width field: written with put, read with get, checked
// by nothing but its type.
func fixed[T any](c *codec, p *T, field string, put func(*encoder, T), get func(*decoder, string) T) {
	switch c.mode {
	case writing:
		put(c.e, *p)
	case reading:
		*p = get(c.d, field)
	}
}

func (c *codec) i64(p *int64, field string)  { fixed(c, p, field, (*encoder).i64, (*decoder).i64) }
func (c *codec) i32(p *int32, field string)  { fixed(c, p, field, (*encoder).i32, (*decoder).i32) }
func (c *codec) u16(p *uint16, field string) { fixed(c, p, field, (*encoder).u16, (*decoder).u16) }
func (c *codec) u32(p *uint32, field string) { fixed(c, p, field, (*encoder).u32, (*decoder).u32) }
func (c *codec) u64(p *uint64, field string) { fixed(c, p, field, (*encoder).u64, (*decoder).u64) }
func (c *codec) u8(p *uint8, field string)   { fixed(c, p, field, (*encoder).u8, (*decoder).u8) }

// count is the one-byte length of a list of at most max (<= 255) items.
func (c *codec) count(n *int, field string, max int) {
	switch c.mode {
	case writing:
		if *n > 0xff {
			panic("ledger: list too long to encode") // callers validate lengths first
		}
		c.e.u8(uint8(*n))
	case reading:
		*n = int(c.d.u8(field))
	}
	if *n > max {
		c.fail(field, "more than %d", max)
	}
}

// flag is a boolean written as one byte, 0 or 1.
func (c *codec) flag(p *bool, field string) {
	var v uint8
	if *p {
		v = 1
	}
	c.u8(&v, field)
	if v > 1 {
		c.fail(field, "must be 0 or 1")
	}
	*p = v == 1
}

// bytes32 is a fixed 32-byte field (a key, hash or pseudonym).
func (c *codec) bytes32(p *[32]byte, field string) {
	fixed(c, p, field, func(e *encoder, v [32]byte) { e.raw(v[:]) }, (*decoder).hash)
}

// bytes64 is a fixed 64-byte field (a signature).
func (c *codec) bytes64(p *[64]byte, field string) {
	fixed(c, p, field, func(e *encoder, v [64]byte) { e.raw(v[:]) }, func(d *decoder, field string) (v [64]byte) {
		copy(v[:], d.take(64, field))
		return v
	})
}

// ok reports whether no rule is broken so far (reading: no error yet).
func (c *codec) ok() bool {
	if c.mode == reading {
		return c.d.err == nil
	}
	return c.err == nil
}
