package ledger

import (
	"fmt"
	"slices"
)

// Vocabulary is what the words of a record may be: the kinds of site and
// the statuses of a case a chain knows, and how long a site id may be. It
// changes verdicts (an unknown kind is refused), so it is a consensus rule
// and each chain's genesis fixes it (state.Params); the import format
// checks lines against it only to report errors early.
type Vocabulary struct {
	// SiteKinds are the kinds of site that may be registered.
	SiteKinds []string `json:"site_kinds"`
	// CaseStatuses are the statuses a hospital may report.
	CaseStatuses []string `json:"case_statuses"`
	// MaxSiteIDLen is the longest site id, in bytes (at most MaxIDLen,
	// which the encoding allows).
	MaxSiteIDLen int `json:"max_site_id_bytes"`
	// TransportKinds are the site kinds where any time together is a
	// contact (a carriage, a taxi, a Ferris-wheel cabin), where elsewhere
	// it takes the minimum overlap. Nil (left out of the genesis, and so
	// of its hash, as in every genesis written before it existed) means
	// DefaultTransportKinds.
	TransportKinds []string `json:"transport_kinds,omitempty"`
}

// DefaultTransportKinds are the transport kinds of a genesis that names none.
var DefaultTransportKinds = []string{"train_carriage", "flight", "bus", "metro", "taxi"}

// Transport reports whether any time together at a site of kind k is a
// contact.
func (v *Vocabulary) Transport(k string) bool {
	if v.TransportKinds == nil {
		return slices.Contains(DefaultTransportKinds, k)
	}
	return slices.Contains(v.TransportKinds, k)
}

// DefaultMaxSiteIDLen is the default longest site id.
const DefaultMaxSiteIDLen = 64

// DefaultVocabulary is the vocabulary a new genesis is written with.
func DefaultVocabulary() Vocabulary {
	return Vocabulary{
		SiteKinds: []string{
			"home", "hotel", "office", "school", "shop", "restaurant", "mall", "venue",
			"hospital", "train", "train_carriage", "flight", "bus", "metro", "taxi",
			"toll_gate", "ride", "station", "airport", "clinic", "device",
		},
		CaseStatuses: []string{"suspected", "confirmed", "recovered", "deceased", "cleared"},
		MaxSiteIDLen: DefaultMaxSiteIDLen,
	}
}

// KnownKind reports whether k is one of the site kinds.
func (v *Vocabulary) KnownKind(k string) bool { return slices.Contains(v.SiteKinds, k) }

// KnownStatus reports whether s is one of the case statuses.
func (v *Vocabulary) KnownStatus(s string) bool { return slices.Contains(v.CaseStatuses, s) }

// Check says what is wrong with a vocabulary a genesis gives: a word that
// is not a tag, a repeated word, a site id limit out of range.
func (v *Vocabulary) Check() error {
	for _, l := range []struct {
		field string
		words []string
		max   int
	}{{"site_kinds", v.SiteKinds, MaxTagLen}, {"case_statuses", v.CaseStatuses, MaxStatusLen}} {
		if len(l.words) == 0 {
			return &FieldError{Field: l.field, Msg: "needs at least one word"}
		}
		for i, w := range l.words {
			if w == "" || len(w) > l.max || CheckText(l.field, w) != nil {
				return &FieldError{Field: l.field, Msg: fmt.Sprintf("each word must be 1 to %d bytes of text", l.max)}
			}
			if slices.Contains(l.words[:i], w) {
				return &FieldError{Field: l.field, Msg: "a word is repeated"}
			}
		}
	}
	if v.TransportKinds != nil && len(v.TransportKinds) == 0 {
		return &FieldError{Field: "transport_kinds", Msg: "name at least one site kind, or leave it out for the defaults"}
	}
	for i, w := range v.TransportKinds {
		if !v.KnownKind(w) {
			return &FieldError{Field: "transport_kinds", Msg: fmt.Sprintf("%q is not one of the site kinds", w)}
		}
		if slices.Contains(v.TransportKinds[:i], w) {
			return &FieldError{Field: "transport_kinds", Msg: "a word is repeated"}
		}
	}
	if v.MaxSiteIDLen < 1 || v.MaxSiteIDLen > MaxIDLen {
		return &FieldError{Field: "max_site_id_bytes", Msg: fmt.Sprintf("must be 1 to %d", MaxIDLen)}
	}
	return nil
}
