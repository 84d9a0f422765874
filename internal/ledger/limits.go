package ledger

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// The limits of every field of a transaction, in one place: a body's
// fields method names each field once with its limit, and that one call
// is what the decoder enforces, what Validate checks and what Build
// refuses, so that whatever Build encodes, DecodeTx decodes.
const (
	MaxIDLen      = 128 // a site, parent, device or reporting site id
	MaxNameLen    = 128 // a site's or a key holder's name
	MaxTagLen     = 32  // a site kind, region, via or role
	MaxStatusLen  = 16  // a case status
	MaxReasonLen  = 512 // why a record is corrected
	MaxAuditLen   = 128 // an audit record's case, purpose and route
	MaxChainIDLen = 64  // a chain id, in every header
	// MaxBindAliases is the most aliases one binding carries: the count
	// is one byte.
	MaxBindAliases = 255
)

// MinTime and MaxTime bound every record time the ledger accepts (visits,
// movements, cases, encounters, corrections, commitment periods, the
// validation clock), in Unix seconds: 1970-01-01T00:00:00Z to
// 9999-12-31T23:59:59Z. The importer refuses the same times with the same
// check (CheckTime). Keys order times as unsigned numbers and window
// arithmetic adds days and grace periods to them, so a time outside these
// bounds would sort wrongly or overflow: it must never reach the state.
const (
	MinTime int64 = 0
	MaxTime int64 = 253402300799
)

// MaxWindow bounds the window an audit record says was asked: from
// -MaxWindow to MaxWindow seconds, so that a read of "everything" can say
// so (±2^62) and the window's length never overflows.
const MaxWindow int64 = 1 << 62

// FieldError says which field of a value breaks which rule. Its message
// never repeats the field's value: values may be personal identifiers.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// CheckTime reports, as a *FieldError on field, a time (Unix seconds)
// outside [MinTime, MaxTime].
func CheckTime(field string, t int64) error {
	if t < MinTime || t > MaxTime {
		return &FieldError{Field: field, Msg: fmt.Sprintf("out of range: a time must be from %s to %s",
			time.Unix(MinTime, 0).UTC().Format(time.RFC3339), time.Unix(MaxTime, 0).UTC().Format(time.RFC3339))}
	}
	return nil
}

// CheckText reports, as a *FieldError on field, a string that is not
// plain text: invalid UTF-8, a control character (C0, DEL or C1: U+0000 to
// U+001F, U+007F to U+009F) or U+FFFD. Every text field the ledger, the
// importer and the API take goes through it: references, ids, aliases,
// names, site ids, tags, reasons.
//
// U+FFFD is refused because encoding/json decodes invalid UTF-8 into it:
// a JSON string holding it came from bytes that were not text (or names
// the replacement character itself, which no identifier does), and
// accepting it would let two different byte strings name the same person.
// Refusing it here catches invalid UTF-8 in any JSON field without reading
// the raw body.
//
// The message never repeats the value.
func CheckText(field, s string) error {
	if msg := textProblem(s); msg != "" {
		return &FieldError{Field: field, Msg: msg}
	}
	return nil
}

// CheckDate reports, as a *FieldError on field, a date that is not
// "YYYY-MM-DD" (OnsetLayout) or whose midnight UTC is outside [MinTime,
// MaxTime].
func CheckDate(field, s string) error {
	d, err := time.Parse(OnsetLayout, s)
	if err != nil {
		return &FieldError{Field: field, Msg: "must be a date YYYY-MM-DD"}
	}
	return CheckTime(field, d.Unix())
}

func textProblem(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return "holds a control character"
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return "is not valid UTF-8"
		case r == utf8.RuneError:
			return "holds U+FFFD, the mark of bytes that were not UTF-8 text"
		case r >= 0x80 && r <= 0x9f:
			return "holds a control character"
		}
		i += n
	}
	return ""
}
