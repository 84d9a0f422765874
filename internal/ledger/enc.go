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

// str writes a string of at most 65535 bytes with a 2-byte length.
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
