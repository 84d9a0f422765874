package ledger

import (
	"strings"
	"unicode/utf8"
)

// plateProvinces are the one-character province abbreviations that begin
// a Chinese vehicle plate.
const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// IdentifierIn reports what kind of raw personal identifier free text s
// seems to hold ("an ID number", "a phone number", "an account number",
// "a vehicle plate"), or "" for none: a resident ID's 15 or 18 characters
// (17 digits and a check digit or X), a mobile number's 11 digits from 1,
// a bank card's 16 to 19 digits, a plate's province, letter and five or
// six letters and digits. Text on the ledger names persons by pseudonym
// only (seed 000); whoever writes free text (an intelligence record's
// facts, spread, place, topics) gets a refusal that names the kind, never
// the value. Digits separated by anything (dates, times, counts) are not
// runs.
func IdentifierIn(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= '0' && c <= '9' {
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n := j - i
			if j < len(s) && (s[j] == 'X' || s[j] == 'x') && n == 17 {
				return "an ID number"
			}
			// A run glued to letters is a code (a flight, a lot), not a
			// number on its own: only whole runs count.
			switch {
			case n == 15 || n == 18:
				return "an ID number"
			case n == 11 && c == '1':
				return "a phone number"
			case n >= 16 && n <= 19:
				return "an account number"
			}
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if strings.ContainsRune(plateProvinces, r) && plateAfter(s[i+size:]) {
			return "a vehicle plate"
		}
		i += size
	}
	return ""
}

// plateAfter reports whether s begins with a plate's letter, an optional
// separator, and five or six letters and digits (with at least one digit).
func plateAfter(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	s = s[1:]
	if s != "" && (s[0] == ' ' || s[0] == '-' || s[0] == '.') {
		s = s[1:]
	}
	n, digits := 0, 0
	for n < len(s) && (s[n] >= 'A' && s[n] <= 'Z' || s[n] >= '0' && s[n] <= '9') {
		if s[n] >= '0' && s[n] <= '9' {
			digits++
		}
		n++
	}
	return (n == 5 || n == 6) && digits > 0
}
