package ledger

import (
	"fmt"
	"slices"

	"github.com/epiledger/epiledger/internal/geo"
)

// First reports straight from the doctor (issue 16, docs/WARNING.md): a
// hospital registers its doctors' keys; a doctor files an initial report
// card, which is on the chain at once, visible to the district CDC, with
// no review to wait for; reviews follow as signed versions of the card
// (verified, supplemented, revised, discarded) by the hospital's
// prevention doctor (its hospital key) and the CDC (investigators). The
// card's history is the chain of its versions, each naming the one
// before.

// RoleDoctor is a doctor's key, registered by a hospital (register_doctor,
// never grant_role): it files report cards for its hospital.
const RoleDoctor = "doctor"

// Diseases are the diseases a report card names, by code: the ones the
// warning rules of issue 16 and seed 001 speak of, and the notifiable
// diseases most often reported; "other" for the rest.
var Diseases = []string{
	"plague", "cholera", "sars", "novel-influenza", "covid-19", "pneumonia-unknown",
	"measles", "influenza", "hepatitis-a", "salmonellosis", "dysentery", "hfmd",
	"tuberculosis", "dengue", "other",
}

// Classifications of a case, in increasing certainty.
var Classifications = []string{"suspected", "clinical", "confirmed"}

// Sexes a card records: female, male, unknown.
var Sexes = []string{"f", "m", "u"}

// Review actions on a report card. A discarded card counts no more and
// takes no further review.
const (
	ReviewVerified     = "verified"
	ReviewSupplemented = "supplemented"
	ReviewRevised      = "revised"
	ReviewDiscarded    = "discarded"
)

// ReviewActions lists the review actions.
var ReviewActions = []string{ReviewVerified, ReviewSupplemented, ReviewRevised, ReviewDiscarded}

// AgeBands: a card gives the patient's age as a five-year band, 0 (0-4)
// to 20 (100 and over), or AgeUnknown: never a birth date.
const (
	MaxAgeBand = 20
	AgeUnknown = 255
)

// MaxUnitLen bounds a reporting unit's code.
const MaxUnitLen = 64

// RegisterDoctor is a hospital's registration of a doctor's key (or, with
// Revoke, its withdrawal): the key may then file report cards for Unit,
// the hospital's reporting unit. Signed by the hospital's key (role
// hospital).
type RegisterDoctor struct {
	Key    [32]byte
	Unit   string
	Revoke bool
}

func (*RegisterDoctor) Kind() Kind   { return KindRegisterDoctor }
func (*RegisterDoctor) Signers() int { return 1 }
func (b *RegisterDoctor) fields(c *codec) {
	c.bytes32(&b.Key, "key")
	c.str(&b.Unit, "unit", MaxUnitLen)
	c.flag(&b.Revoke, "revoke")
	if c.mode == checking && b.Unit == "" && !b.Revoke {
		c.fail("unit", "a doctor reports for a unit: the hospital's reporting unit code")
	}
}

// CardFields are what a report card says of a case: the disease, its
// classification, the onset date, the patient (by pseudonym, with an age
// band, sex and home region, never more) and nothing else personal.
type CardFields struct {
	Disease string
	Class   string
	Onset   string // YYYY-MM-DD
	Patient Pseudonym
	AgeBand uint8
	Sex     string
	// Home is the patient's home region, a GB/T 2260 district code:
	// where the case is counted.
	Home string
	// Place, when Placed, is where the case lives (or was found) to a
	// cell of 0.01 degree, about 1.1 km: enough for the space-time
	// cluster rule's distances, too coarse to find a door by. A finer
	// position is refused, never rounded here, so that no client can
	// put one on the ledger by mistake.
	Placed bool
	Place  Cell
}

// MaxCellLat bounds a cell's latitude (hundredths of a degree) to where
// people live, 80 degrees either side: nearer the poles a degree of
// longitude shrinks to nothing and the space-time rule's search around a
// place would widen without bound.
const MaxCellLat = 8000

// Cell is a place to 0.01 degree: latitude and longitude in hundredths
// of a degree.
type Cell struct{ Lat, Lon int32 }

// CellOf rounds a position in degrees to its cell, or fails outside the
// globe.
func CellOf(lat, lon float64) (Cell, error) {
	if !(lat >= -MaxCellLat/100 && lat <= MaxCellLat/100) || !(lon >= -180 && lon <= 180) {
		return Cell{}, fmt.Errorf("%g,%g is not a latitude (-%d to %d) and a longitude (-180 to 180)", lat, lon, MaxCellLat/100, MaxCellLat/100)
	}
	return Cell{int32(roundHalfAway(lat * 100)), int32(roundHalfAway(lon * 100))}, nil
}

func roundHalfAway(v float64) float64 {
	if v < 0 {
		return -float64(int64(-v + 0.5))
	}
	return float64(int64(v + 0.5))
}

// placeOK checks an optional cell (Placed says it is given), failing c
// on "place" if it is not one.
func placeOK(c *codec, placed bool, p Cell) bool {
	switch {
	case !placed && p != Cell{}:
		c.fail("place", "a place is given with placed set")
	case p.Lat < -MaxCellLat || p.Lat > MaxCellLat || p.Lon < -18000 || p.Lon > 18000:
		c.fail("place", "a cell of 0.01 degree: latitude -%d to %d and longitude -18000 to 18000 hundredths", MaxCellLat, MaxCellLat)
	default:
		return true
	}
	return false
}

// Point is the cell's centre in micro-degrees, for geo's distances.
func (c Cell) Point() geo.Point {
	return geo.Point{LatE6: int64(c.Lat) * 1e4, LonE6: int64(c.Lon) * 1e4}
}

// String is the cell as people write it: "30.59,114.30".
func (c Cell) String() string {
	f := func(v int32) string {
		sign := ""
		if v < 0 {
			sign, v = "-", -v
		}
		return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
	}
	return f(c.Lat) + "," + f(c.Lon)
}

func (f *CardFields) fields(c *codec) {
	c.str(&f.Disease, "disease", MaxTagLen)
	c.str(&f.Class, "classification", MaxTagLen)
	c.str(&f.Onset, "onset", len(OnsetLayout))
	c.bytes32((*[32]byte)(&f.Patient), "patient")
	c.u8(&f.AgeBand, "age_band")
	c.str(&f.Sex, "sex", 1)
	c.str(&f.Home, "home", MaxTagLen)
	c.flag(&f.Placed, "placed")
	c.i32(&f.Place.Lat, "place")
	c.i32(&f.Place.Lon, "place")
	if c.mode != checking || c.err != nil {
		return
	}
	switch {
	case !placeOK(c, f.Placed, f.Place):
	case !slices.Contains(Diseases, f.Disease):
		c.fail("disease", "not a disease code (%v)", Diseases)
	case !slices.Contains(Classifications, f.Class):
		c.fail("classification", "suspected, clinical or confirmed")
	case f.AgeBand > MaxAgeBand && f.AgeBand != AgeUnknown:
		c.fail("age_band", "0 (0-4 years) to %d (100 and over), or %d (unknown)", MaxAgeBand, AgeUnknown)
	case !slices.Contains(Sexes, f.Sex):
		c.fail("sex", "f, m or u")
	case f.Patient == Pseudonym{}:
		c.fail("patient", "the patient's pseudonym")
	}
	if c.err == nil {
		if err := CheckDate("onset", f.Onset); err != nil {
			c.err = err.(*FieldError)
		}
	}
}

// ReportCard is a doctor's initial report of a case. Its id (the
// transaction's) is the card's id. Signed by a key with the role doctor.
type ReportCard struct {
	CardFields
}

func (*ReportCard) Kind() Kind        { return KindReportCard }
func (*ReportCard) Signers() int      { return 1 }
func (b *ReportCard) fields(c *codec) { b.CardFields.fields(c) }

// CardReview is a signed version of a report card: Card is the card's id,
// Prev the version it follows (the card's id for the first review), so
// that the versions are a chain and a review of a version that is not
// the latest is refused. A supplement or revision carries the card's
// fields as they now stand; a verification or discard carries none.
// Signed by the hospital that reported it or an investigator (the CDC).
type CardReview struct {
	Card, Prev Hash
	Action     string
	Reason     string
	Fields     CardFields // supplemented and revised only
}

// Changes reports whether the review carries the card's new fields.
func (b *CardReview) Changes() bool {
	return b.Action == ReviewSupplemented || b.Action == ReviewRevised
}

func (*CardReview) Kind() Kind   { return KindCardReview }
func (*CardReview) Signers() int { return 1 }
func (b *CardReview) fields(c *codec) {
	c.bytes32((*[32]byte)(&b.Card), "card")
	c.bytes32((*[32]byte)(&b.Prev), "prev")
	c.str(&b.Action, "action", MaxTagLen)
	c.str(&b.Reason, "reason", MaxReasonLen)
	if c.mode == checking && c.err == nil {
		switch {
		case !slices.Contains(ReviewActions, b.Action):
			c.fail("action", "verified, supplemented, revised or discarded")
		case b.Reason == "" && b.Action != ReviewVerified:
			c.fail("reason", "a review that changes or discards a card says why")
		default:
			if k := IdentifierIn(b.Reason); k != "" {
				c.fail("reason", "seems to hold %s: a reason names no person", k)
			}
		}
	}
	if b.Changes() {
		b.Fields.fields(c)
	}
}
