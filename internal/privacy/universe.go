package privacy

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Universe is the universe of places U = {u_1..u_m} the administrators
// agree on (seed 003, step 1): the order of every response vector and
// the generators of every visit commitment. It is published on the ledger
// once and never changes; Period is how often devices commit their visits.
type Universe struct {
	Name   string
	Period int64 // seconds per commitment period
	Places []string
	index  map[string]int
}

var universeNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,47}$`)

// Bounds of a universe.
const (
	MaxPlaceName = 128
	MinPeriod    = 60
	MaxPeriod    = 7 * 24 * 3600
)

// NewUniverse validates and indexes a universe. Errors are *ParamsError
// naming the field (and the place's position, never its name).
func NewUniverse(name string, period time.Duration, places []string) (*Universe, error) {
	u := &Universe{Name: name, Period: int64(period / time.Second), Places: append([]string(nil), places...), index: map[string]int{}}
	switch {
	case !universeNameRE.MatchString(name):
		return nil, &ParamsError{"name", "want 1-48 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"}
	case period%time.Minute != 0 || u.Period < MinPeriod || u.Period > MaxPeriod:
		return nil, &ParamsError{"period", "want whole minutes from 1m to 168h"}
	case len(places) == 0 || len(places) > MaxPlaces:
		return nil, &ParamsError{"places", fmt.Sprintf("want 1 to %d places", MaxPlaces)}
	}
	for i, p := range places {
		if p == "" || len(p) > MaxPlaceName || !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
			return nil, &ParamsError{fmt.Sprintf("places[%d]", i), fmt.Sprintf("want 1-%d bytes of UTF-8 without NUL", MaxPlaceName)}
		}
		if _, dup := u.index[p]; dup {
			return nil, &ParamsError{fmt.Sprintf("places[%d]", i), "repeats an earlier place"}
		}
		u.index[p] = i
	}
	return u, nil
}

// Digest is SHA-256 of the universe's canonical encoding (a label, the
// name, the period and the length-prefixed places). Commitment generators
// and session parameters are bound to it.
func (u *Universe) Digest() [32]byte {
	h := sha256.New()
	h.Write(label("universe"))
	var n [8]byte
	binary.BigEndian.PutUint32(n[:4], uint32(len(u.Name)))
	h.Write(n[:4])
	h.Write([]byte(u.Name))
	binary.BigEndian.PutUint64(n[:], uint64(u.Period))
	h.Write(n[:])
	binary.BigEndian.PutUint32(n[:4], uint32(len(u.Places)))
	h.Write(n[:4])
	for _, p := range u.Places {
		binary.BigEndian.PutUint32(n[:4], uint32(len(p)))
		h.Write(n[:4])
		h.Write([]byte(p))
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// Index returns a place's position.
func (u *Universe) Index(place string) (int, bool) {
	i, ok := u.index[place]
	return i, ok
}

// Flags turns a list of visited places into one flag per place. A place
// outside the universe is an error naming its position in the list;
// duplicates are fine (a place visited twice is visited).
func (u *Universe) Flags(field string, visited []string) ([]bool, error) {
	out := make([]bool, len(u.Places))
	for k, p := range visited {
		i, ok := u.index[p]
		if !ok {
			return nil, &ParamsError{fmt.Sprintf("%s[%d]", field, k), "not a place of the universe"}
		}
		out[i] = true
	}
	return out, nil
}

// Names returns the places whose flag is set, in universe order.
func (u *Universe) Names(flags []bool) []string {
	out := []string{}
	for i, b := range flags {
		if b {
			out = append(out, u.Places[i])
		}
	}
	return out
}

// Scheme is the CommitRoot scheme of the universe's commitments.
func (u *Universe) Scheme() string { return "pedersen/v1/" + u.Name }

// CheckPeriod checks that a period start is aligned to the universe's
// period.
func (u *Universe) CheckPeriod(period int64) error {
	if period%u.Period != 0 {
		return &ParamsError{"period", fmt.Sprintf("want a multiple of %d seconds (the universe's period) since 1970-01-01 UTC", u.Period)}
	}
	return nil
}
