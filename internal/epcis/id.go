package epcis

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Kind says what a GS1 identifier names. The ledger needs to tell an
// instance (one box of masks, SGTIN) from a class (a lot of them, LGTIN, or
// any of a product, GTIN), a logistic unit (a pallet, SSCC) and a place
// (SGLN); everything else is KindOther and kept as written.
type Kind uint8

// The kinds of identifier ParseID understands.
const (
	// KindOther is a URI this package does not interpret (a GIAI, a PGLN,
	// a private URI): kept as written so a document that holds one still
	// decodes. ParseID never returns it; the decoder does.
	KindOther Kind = iota
	// KindSGTIN is one trade item instance: GTIN and serial (and a lot
	// too when a Digital Link carries both).
	KindSGTIN
	// KindLGTIN is a class: every instance of a GTIN in one lot.
	KindLGTIN
	// KindGTIN is a class: every instance of a GTIN, whatever its lot
	// (urn:epc:idpat:sgtin:...* or a Digital Link /01/{gtin} alone).
	KindGTIN
	// KindSSCC is a logistic unit such as a pallet or a case.
	KindSSCC
	// KindSGLN is a location: a GLN and an optional extension.
	KindSGLN
)

var kindNames = [...]string{"other", "sgtin", "lgtin", "gtin", "sscc", "sgln"}

// String returns the kind's short name ("sgtin", "other", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// ID is a parsed GS1 identifier. URI is always the text as written; the
// other fields are the identifier's GS1 keys, the same whether it was
// written as an EPC URN or a Digital Link, so callers compare those, not
// URIs.
type ID struct {
	URI  string
	Kind Kind
	// GTIN is 14 digits, check digit included (SGTIN, LGTIN, GTIN).
	GTIN string
	// Serial is an SGTIN's serial, percent-decoding undone.
	Serial string
	// Lot is an LGTIN's lot (or a Digital Link SGTIN's, when it has one).
	Lot string
	// SSCC is 18 digits, check digit included.
	SSCC string
	// GLN is 13 digits, check digit included.
	GLN string
	// Extension is an SGLN's GLN extension; "" when there is none (the
	// URN writes that as "0", which the Tag Data Standard reserves for
	// "the GLN itself").
	Extension string
}

// Errors from ParseID. A caller tells them apart with errors.Is.
var (
	// ErrUnknownIDType is an identifier of a type this package does not
	// interpret; the message names the type, never the whole value.
	ErrUnknownIDType = errors.New("epcis: identifier type not understood")
	// ErrCheckDigit is a GTIN, SSCC or GLN whose last digit is not the
	// GS1 check digit of the others: a typing or transmission error.
	ErrCheckDigit = errors.New("epcis: wrong check digit")
	// ErrInvalid is a value that breaks the syntax of its type.
	ErrInvalid = errors.New("epcis: invalid value")
)

// Longest serial, lot or GLN extension GS1 allows (AIs 21, 10, 254).
const maxSerialLen = 20

// ParseID parses an EPC URI (urn:epc:id:sgtin, urn:epc:class:lgtin,
// urn:epc:idpat:sgtin with "*", urn:epc:id:sscc, urn:epc:id:sgln) or a GS1
// Digital Link URI (/01/{gtin}[/10/{lot}][/21/{serial}], /00/{sscc},
// /414/{gln}[/254/{ext}], on id.gs1.org or, when the key is well formed, on
// any host). GTINs are given their check digit; Digital Link keys have
// theirs verified. Any other type returns an error wrapping
// ErrUnknownIDType that names the type.
func ParseID(s string) (ID, error) {
	switch {
	case strings.HasPrefix(s, "urn:epc:"):
		return parseEPCURN(s)
	case strings.HasPrefix(s, "https://"), strings.HasPrefix(s, "http://"):
		return parseDigitalLink(s)
	}
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || !isScheme(scheme) {
		return ID{}, fmt.Errorf("%w: not a URI", ErrInvalid)
	}
	if strings.EqualFold(scheme, "urn") {
		// Name the namespace (urn:uuid, urn:epcglobal), not the value.
		if nid, _, ok := strings.Cut(s[4:], ":"); ok {
			return ID{}, fmt.Errorf("%w: urn:%s", ErrUnknownIDType, nid)
		}
	}
	return ID{}, fmt.Errorf("%w: %s: URI", ErrUnknownIDType, scheme)
}

// isScheme reports whether s is a URI scheme (RFC 3986 section 3.1).
func isScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// parseEPCURN parses the EPC pure identity, class and pattern URNs (GS1
// Tag Data Standard sections 6 and 8): the company prefix and the
// reference are split by dots, and the GS1 key is rebuilt from them with
// its check digit.
func parseEPCURN(s string) (ID, error) {
	rest := s[len("urn:epc:"):]
	space, rest, _ := strings.Cut(rest, ":")
	typ, body, ok := strings.Cut(rest, ":")
	name := "urn:epc:" + space + ":" + typ
	if !ok {
		return ID{}, fmt.Errorf("%w: %s: no value", ErrInvalid, name)
	}
	switch name {
	case "urn:epc:id:sgtin", "urn:epc:class:lgtin", "urn:epc:idpat:sgtin":
		parts := strings.SplitN(body, ".", 3)
		if len(parts) != 3 {
			return ID{}, fmt.Errorf("%w: %s: want companyPrefix.itemRef.serial", ErrInvalid, name)
		}
		if name == "urn:epc:idpat:sgtin" && parts[1] == "*" {
			return ID{}, fmt.Errorf("%w: %s with any item reference", ErrUnknownIDType, name)
		}
		gtin, err := gtinFromURN(name, parts[0], parts[1])
		if err != nil {
			return ID{}, err
		}
		id := ID{URI: s, GTIN: gtin}
		switch name {
		case "urn:epc:idpat:sgtin":
			if parts[2] != "*" {
				return ID{}, fmt.Errorf("%w: %s: pattern serial must be *", ErrInvalid, name)
			}
			id.Kind = KindGTIN
		case "urn:epc:class:lgtin":
			id.Kind = KindLGTIN
			id.Lot, err = decodeAI(name, "lot", parts[2])
		default:
			id.Kind = KindSGTIN
			id.Serial, err = decodeAI(name, "serial", parts[2])
		}
		if err != nil {
			return ID{}, err
		}
		return id, nil
	case "urn:epc:id:sscc":
		cp, ref, ok := strings.Cut(body, ".")
		if !ok || !validPrefix(cp) || !allDigits(ref) || len(cp)+len(ref) != 17 {
			return ID{}, fmt.Errorf("%w: %s: want companyPrefix.serialRef of 17 digits", ErrInvalid, name)
		}
		// The serial reference's first digit is the extension digit,
		// which leads the SSCC.
		key := ref[:1] + cp + ref[1:]
		return ID{URI: s, Kind: KindSSCC, SSCC: key + string(checkDigit(key))}, nil
	case "urn:epc:id:sgln":
		parts := strings.SplitN(body, ".", 3)
		if len(parts) != 3 || !validPrefix(parts[0]) || !allDigits(parts[1]) || len(parts[0])+len(parts[1]) != 12 {
			return ID{}, fmt.Errorf("%w: %s: want companyPrefix.locationRef (12 digits).extension", ErrInvalid, name)
		}
		ext, err := decodeAI(name, "extension", parts[2])
		if err != nil {
			return ID{}, err
		}
		if ext == "0" {
			ext = ""
		}
		key := parts[0] + parts[1]
		return ID{URI: s, Kind: KindSGLN, GLN: key + string(checkDigit(key)), Extension: ext}, nil
	}
	return ID{}, fmt.Errorf("%w: %s", ErrUnknownIDType, name)
}

// validPrefix reports whether cp can be a GS1 company prefix (6 to 12
// digits).
func validPrefix(cp string) bool {
	return len(cp) >= 6 && len(cp) <= 12 && allDigits(cp)
}

// gtinFromURN rebuilds a GTIN-14 from an SGTIN's company prefix and
// indicator/item reference: the indicator digit moves to the front and the
// check digit is appended (TDS section 7.1).
func gtinFromURN(name, cp, itemRef string) (string, error) {
	if !validPrefix(cp) || itemRef == "" || !allDigits(itemRef) || len(cp)+len(itemRef) != 13 {
		return "", fmt.Errorf("%w: %s: company prefix and indicator/item reference must be 13 digits", ErrInvalid, name)
	}
	key := itemRef[:1] + cp + itemRef[1:]
	return key + string(checkDigit(key)), nil
}

// decodeAI undoes percent-encoding in a serial, lot or extension and checks
// the result against GS1 AI encodable character set 82 and the 20
// character limit.
func decodeAI(name, what, v string) (string, error) {
	d, err := url.PathUnescape(v)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %s: bad percent-encoding", ErrInvalid, name, what)
	}
	if d == "" || len(d) > maxSerialLen {
		return "", fmt.Errorf("%w: %s: %s must be 1 to %d characters", ErrInvalid, name, what, maxSerialLen)
	}
	for i := 0; i < len(d); i++ {
		if !inCSet82(d[i]) {
			return "", fmt.Errorf("%w: %s: %s has a character outside GS1 character set 82", ErrInvalid, name, what)
		}
	}
	return d, nil
}

// inCSet82 reports whether c is in GS1 AI encodable character set 82 (GS1
// General Specifications figure 7.11-1), the characters a serial or lot
// may hold.
func inCSet82(c byte) bool {
	switch {
	case isAlpha(c), isDigit(c):
		return true
	}
	return strings.IndexByte(`!"%&'()*+,-./:;<=>?_`, c) >= 0
}

// checkDigit returns the GS1 mod-10 check digit of digits (a key without
// its check digit): from the right, digits are weighted 3, 1, 3, 1, ...;
// the check digit brings the sum up to a multiple of ten (GS1 General
// Specifications section 7.9).
func checkDigit(digits string) byte {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// verifyKey checks a GS1 key of n digits that ends in its check digit.
func verifyKey(what, key string, n int) error {
	if len(key) != n || !allDigits(key) {
		return fmt.Errorf("%w: %s must be %d digits", ErrInvalid, what, n)
	}
	if want := checkDigit(key[:n-1]); key[n-1] != want {
		return fmt.Errorf("%w: %s %s ends in %c, want %c", ErrCheckDigit, what, key, key[n-1], want)
	}
	return nil
}

// Digital Link keys this package reads and the lengths their values must
// have to be taken for one on a host other than id.gs1.org.
const (
	aiGTIN   = "01"
	aiSSCC   = "00"
	aiGLN    = "414"
	aiLot    = "10"
	aiSerial = "21"
	aiGLNExt = "254"
)

// looksLikeKey reports whether ai/v is a well-formed primary key, which is
// how a Digital Link on a brand's own domain is told from any other URL.
func looksLikeKey(ai, v string) bool {
	if !allDigits(v) {
		return false
	}
	switch ai {
	case aiGTIN:
		return len(v) == 8 || len(v) == 12 || len(v) == 13 || len(v) == 14
	case aiSSCC:
		return len(v) == 18
	case aiGLN:
		return len(v) == 13
	}
	return false
}

// parseDigitalLink parses a GS1 Digital Link URI (GS1 Digital Link
// standard 1.2): an optional path prefix, a primary key and its
// qualifiers as /AI/value pairs. The query string (data attributes such
// as an expiry date) is ignored: it does not identify the object.
func parseDigitalLink(s string) (ID, error) {
	u, err := url.Parse(s)
	if err != nil {
		return ID{}, fmt.Errorf("%w: malformed URL", ErrInvalid)
	}
	gs1 := strings.EqualFold(u.Host, "id.gs1.org")
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	start := -1
	for i := 0; i+1 < len(segs); i++ {
		if gs1 && (segs[i] == aiGTIN || segs[i] == aiSSCC || segs[i] == aiGLN) || looksLikeKey(segs[i], segs[i+1]) {
			start = i
			break
		}
	}
	if start < 0 {
		if gs1 && segs[0] != "" && len(segs[0]) <= 4 && allDigits(segs[0]) {
			return ID{}, fmt.Errorf("%w: Digital Link AI %s", ErrUnknownIDType, segs[0])
		}
		return ID{}, fmt.Errorf("%w: %s URL that is not a GS1 Digital Link", ErrUnknownIDType, u.Scheme)
	}
	segs = segs[start:]
	if len(segs)%2 != 0 {
		return ID{}, fmt.Errorf("%w: Digital Link: AI %s has no value", ErrInvalid, segs[len(segs)-1])
	}
	vals := make([]string, len(segs)/2)
	for i := range vals {
		v, err := url.PathUnescape(segs[2*i+1])
		if err != nil {
			return ID{}, fmt.Errorf("%w: Digital Link: AI %s: bad percent-encoding", ErrInvalid, segs[2*i])
		}
		vals[i] = v
	}
	id := ID{URI: s}
	ai, key := segs[0], vals[0]
	// quals are the qualifier AIs a key may have, in the order the
	// standard fixes.
	var quals []string
	switch ai {
	case aiGTIN:
		if n := len(key); n == 8 || n == 12 || n == 13 {
			key = strings.Repeat("0", 14-n) + key
		}
		if err := verifyKey("GTIN", key, 14); err != nil {
			return ID{}, err
		}
		id.Kind, id.GTIN, quals = KindGTIN, key, []string{aiLot, aiSerial}
	case aiSSCC:
		if err := verifyKey("SSCC", key, 18); err != nil {
			return ID{}, err
		}
		id.Kind, id.SSCC = KindSSCC, key
	case aiGLN:
		if err := verifyKey("GLN", key, 13); err != nil {
			return ID{}, err
		}
		id.Kind, id.GLN, quals = KindSGLN, key, []string{aiGLNExt}
	}
	q := 0
	for i := 1; i < len(vals); i++ {
		ai := segs[2*i]
		for q < len(quals) && quals[q] != ai {
			q++
		}
		if q == len(quals) {
			if ai == "22" {
				return ID{}, fmt.Errorf("%w: Digital Link qualifier AI 22", ErrUnknownIDType)
			}
			return ID{}, fmt.Errorf("%w: Digital Link: AI %s cannot qualify AI %s here", ErrInvalid, ai, segs[0])
		}
		q++
		v, err := decodeAI("Digital Link", "AI "+ai, vals[i])
		if err != nil {
			return ID{}, err
		}
		switch ai {
		case aiLot:
			id.Kind, id.Lot = KindLGTIN, v
		case aiSerial:
			id.Kind, id.Serial = KindSGTIN, v
		case aiGLNExt:
			id.Extension = v
		}
	}
	return id, nil
}
