// Package region names the regions of the hierarchy of chains (issue 15):
// a chain per region, named by its GB/T 2260 administrative division code,
// district 320115 -> city 3201 -> province 32 -> national. A code is kept
// in its six-digit form (320115, 320100, 320000; 000000 for the nation),
// the form genesis files already use, and written short where people read
// it (320115, 3201, 32, national).
//
// The package knows the shape of the codes, not the list of China's
// divisions (which changes every year): it checks digits and levels and
// finds a code's parent, so that a parent chain can refuse a child that
// is not one of its regions.
package region

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a region's six-digit GB/T 2260 code, as Parse returns it.
type Code string

// National is the nation's code: the root of the hierarchy.
const National Code = "000000"

// Level is where a region stands in the hierarchy.
type Level int

// The levels, from the root.
const (
	LevelNational Level = iota
	LevelProvince
	LevelCity
	LevelDistrict
)

func (l Level) String() string {
	return [...]string{"national", "province", "city", "district"}[l]
}

// ErrCode is wrapped by every error Parse returns.
var ErrCode = errors.New("not a GB/T 2260 region code")

// directly is the city part of codes of county-level divisions that a
// province administers directly (for instance 429004, Xiantao in Hubei):
// their parent is the province.
const directly = "90"

// Parse reads a region code: "national" (or 000000, or 0), two digits for a
// province (32 or 320000), four for a city (3201 or 320100), six for a
// district (320115). A province's digits are 11 to 99; a two-digit part
// of 00 ends the code (320015 is refused: a district needs its city).
func Parse(s string) (Code, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "national") || s == "0" || s == string(National) {
		return National, nil
	}
	switch len(s) {
	case 2, 4, 6:
	default:
		return "", fmt.Errorf("%w: want 2, 4 or 6 digits (province 32, city 3201, district 320115) or \"national\"", ErrCode)
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("%w: digits only", ErrCode)
		}
	}
	full := s + strings.Repeat("0", 6-len(s))
	if full[:2] < "11" {
		return "", fmt.Errorf("%w: a province's code runs from 11 to 99", ErrCode)
	}
	if full[2:4] == "00" && full[4:] != "00" {
		return "", fmt.Errorf("%w: a district's code needs its city's digits (the middle two are 00)", ErrCode)
	}
	return Code(full), nil
}

// MustParse is Parse for codes known to be valid (tests, constants).
func MustParse(s string) Code {
	c, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return c
}

// Level is c's level.
func (c Code) Level() Level {
	switch {
	case c == National:
		return LevelNational
	case c[2:] == "0000":
		return LevelProvince
	case c[4:] == "00":
		return LevelCity
	default:
		return LevelDistrict
	}
}

// Parent is the region c belongs to; ok is false for the nation. A
// county-level division that its province administers directly (city
// digits 90) belongs to the province.
func (c Code) Parent() (p Code, ok bool) {
	switch c.Level() {
	case LevelNational:
		return "", false
	case LevelProvince:
		return National, true
	case LevelCity:
		return c[:2] + "0000", true
	default:
		if c[2:4] == directly {
			return c[:2] + "0000", true
		}
		return c[:4] + "00", true
	}
}

// Ancestors are c's parent, its parent's, and so on to the nation.
func (c Code) Ancestors() []Code {
	var out []Code
	for p, ok := c.Parent(); ok; p, ok = p.Parent() {
		out = append(out, p)
	}
	return out
}

// Within reports whether c is a or lies below it.
func (c Code) Within(a Code) bool {
	if c == a {
		return true
	}
	for _, p := range c.Ancestors() {
		if p == a {
			return true
		}
	}
	return false
}

// Short is c as people write it: national, 32, 3201, 320115.
func (c Code) Short() string {
	switch c.Level() {
	case LevelNational:
		return "national"
	case LevelProvince:
		return string(c[:2])
	case LevelCity:
		return string(c[:4])
	default:
		return string(c)
	}
}
