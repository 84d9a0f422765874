package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
)

// Params are the chain's rules: everything that changes a verdict. They
// are consensus inputs, so they live in the genesis (genesis.json
// "rules") under the genesis hash, never in a node's config: two nodes
// of one chain cannot disagree on them without disagreeing on block 1.
type Params struct {
	// MaxPresence is the longest presence a visit may record.
	MaxPresence time.Duration
	// MaxFutureSkew is how far past the block time a record may start.
	MaxFutureSkew time.Duration
	// Validation holds the trajectory-validation rules.
	Validation Validation
	// Vocabulary is the site kinds and case statuses the chain knows.
	Vocabulary ledger.Vocabulary
}

// Validation are the rules of issue 3: physical feasibility at the door
// and the longest-chain rule per window.
type Validation struct {
	// Enabled turns admission checks, windows, the longest-chain rule and
	// person blocks on. Off, records are only checked as in issue 2 (used
	// by the benchmark to measure the cost of validation).
	Enabled bool
	// Window is the validation window (24 h): records are decided per
	// person and window.
	Window time.Duration
	// WindowOffset places window boundaries at local midnight: windows
	// start at Offset before a UTC multiple of Window (8 h: China).
	WindowOffset time.Duration
	// Grace is how long after a window ends records may still arrive
	// before it closes.
	Grace time.Duration
	// Speed is the fastest travel no record covers (km/h): a car on a
	// highway.
	Speed int64
	// VehicleSpeeds bound travel inside vehicles of each kind (km/h), for
	// routes and for vehicles whose position nobody gave.
	VehicleSpeeds map[string]int64
	// Radius is how far apart (metres) two records may be placed and
	// still count as the same place: site coordinates are approximate.
	Radius int64
	// Slack is how much consecutive presences may overlap (clock skew of
	// sites) and still count as one after the other.
	Slack time.Duration
	// Horizon is how far around a new record admission looks for
	// settled records of the same person.
	Horizon time.Duration
	// Weights is the reliability of each way of identifying a person
	// (the record's "via"), in hundredths; DefaultWeight for others and
	// MoveWeight for movements, which two sites confirm.
	Weights       map[string]int64
	DefaultWeight int64
	MoveWeight    int64
	// Q is the probability that a record is wrong, for the catch-up
	// probability of a rejected chain (seed eq. (1)-(4)). Reports use it,
	// verdicts do not; it is in the genesis so that every node reports
	// alike.
	Q float64
}

// DefaultParams are the rules a new genesis is written with.
func DefaultParams() Params {
	return Params{
		MaxPresence:   30 * 24 * time.Hour,
		MaxFutureSkew: 10 * time.Minute,
		Validation:    DefaultValidation(),
		Vocabulary:    ledger.DefaultVocabulary(),
	}
}

// DefaultValidation are the validation defaults.
func DefaultValidation() Validation {
	return Validation{
		Enabled:      true,
		Window:       24 * time.Hour,
		WindowOffset: 8 * time.Hour,
		Grace:        6 * time.Hour,
		Speed:        150,
		VehicleSpeeds: map[string]int64{
			"train": 400, "train_carriage": 400, "flight": 1000, "bus": 120,
			"metro": 120, "taxi": 150, "ride": 150,
		},
		Radius:  2000,
		Slack:   5 * time.Minute,
		Horizon: 48 * time.Hour,
		Weights: map[string]int64{
			"id_card": 100, "passport": 100, "face": 90, "payment": 80, "alipay": 80,
			"wechat": 70, "phone": 60, "plate": 50, "staff_card": 40, "access_card": 40,
		},
		DefaultWeight: 50,
		MoveWeight:    100,
		Q:             0.1,
	}
}

// IsVehicle reports whether a site kind moves.
func (v *Validation) IsVehicle(kind string) bool {
	_, ok := v.VehicleSpeeds[kind]
	return ok
}

// Weight is the reliability of a record identified by via.
func (v *Validation) Weight(via string) int64 {
	if w, ok := v.Weights[via]; ok {
		return w
	}
	return v.DefaultWeight
}

// WindowOf returns the validation window [start, end) holding time t.
func (v *Validation) WindowOf(t int64) (start, end int64) {
	w := int64(v.Window / time.Second)
	off := int64(v.WindowOffset / time.Second)
	s := t + off
	q := s / w
	if s < 0 && s%w != 0 {
		q--
	}
	start = q*w - off
	return start, start + w
}

// Check says what is wrong with rules a genesis gives, naming the field
// as genesis.json writes it.
func (p *Params) Check() error {
	v := &p.Validation
	bad := func(field, msg string) error { return &ledger.FieldError{Field: "rules." + field, Msg: msg} }
	switch {
	case p.MaxPresence < time.Minute:
		return bad("max_presence", "at least 1m")
	case p.MaxFutureSkew < 0:
		return bad("max_future_skew", "must not be negative")
	case v.Window < time.Hour || v.Window%time.Second != 0:
		return bad("validation.window", "at least 1h, in whole seconds")
	case v.WindowOffset < 0 || v.WindowOffset >= v.Window || v.WindowOffset%time.Second != 0:
		return bad("validation.window_offset", "from 0 to less than the window, in whole seconds")
	case v.Grace < 0:
		return bad("validation.grace", "must not be negative")
	case v.Horizon < v.Window:
		return bad("validation.horizon", "at least the window")
	case v.Speed <= 0:
		return bad("validation.speed_kmh", "must be positive")
	case v.Radius < 0:
		return bad("validation.radius_m", "must not be negative")
	case v.Slack < 0:
		return bad("validation.slack", "must not be negative")
	case v.Q <= 0 || v.Q >= 0.5:
		return bad("validation.q", "must be in (0, 0.5)")
	case v.DefaultWeight <= 0 || v.MoveWeight <= 0:
		return bad("validation.default_weight", "default_weight and move_weight must be positive")
	}
	for k, s := range v.VehicleSpeeds {
		if s <= 0 {
			return bad("validation.vehicle_speeds_kmh."+k, "must be positive")
		}
	}
	for k, w := range v.Weights {
		if w <= 0 {
			return bad("validation.weights."+k, "must be positive")
		}
	}
	if err := p.Vocabulary.Check(); err != nil {
		var fe *ledger.FieldError
		if errors.As(err, &fe) {
			return bad("vocabulary."+fe.Field, fe.Msg)
		}
		return err
	}
	return nil
}

// paramsJSON is how genesis.json writes the rules: durations as Go
// durations ("24h"), speeds in km/h, distances in metres.
type paramsJSON struct {
	MaxPresence   duration       `json:"max_presence"`
	MaxFutureSkew duration       `json:"max_future_skew"`
	Validation    validationJSON `json:"validation"`
	Vocabulary    vocabularyJSON `json:"vocabulary"`
}

type validationJSON struct {
	Enabled       bool             `json:"enabled"`
	Window        duration         `json:"window"`
	WindowOffset  duration         `json:"window_offset"`
	Grace         duration         `json:"grace"`
	SpeedKmh      int64            `json:"speed_kmh"`
	RadiusM       int64            `json:"radius_m"`
	Slack         duration         `json:"slack"`
	Horizon       duration         `json:"horizon"`
	Q             float64          `json:"q"`
	MoveWeight    int64            `json:"move_weight"`
	DefaultWeight int64            `json:"default_weight"`
	VehicleSpeeds map[string]int64 `json:"vehicle_speeds_kmh"`
	Weights       map[string]int64 `json:"weights"`
}

type vocabularyJSON = ledger.Vocabulary

// duration is a time.Duration written as Go writes it, shortest first
// ("24h", "10m", "1h30m").
type duration time.Duration

func (d duration) MarshalText() ([]byte, error) {
	t := time.Duration(d)
	switch {
	case t != 0 && t%time.Hour == 0:
		return fmt.Appendf(nil, "%dh", t/time.Hour), nil
	case t != 0 && t%time.Minute == 0:
		return fmt.Appendf(nil, "%dm", t/time.Minute), nil
	case t%time.Second == 0:
		return fmt.Appendf(nil, "%ds", t/time.Second), nil
	}
	return []byte(t.String()), nil
}

func (d *duration) UnmarshalText(b []byte) error {
	t, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (e.g. 10m, 24h, 720h)")
	}
	*d = duration(t)
	return nil
}

// MarshalJSON writes the rules as genesis.json holds them. The encoding is
// canonical (fields in a fixed order, map keys sorted, durations in their
// shortest form): the genesis hash is taken over it.
func (p Params) MarshalJSON() ([]byte, error) {
	v := p.Validation
	return json.Marshal(paramsJSON{
		MaxPresence: duration(p.MaxPresence), MaxFutureSkew: duration(p.MaxFutureSkew),
		Validation: validationJSON{
			Enabled: v.Enabled, Window: duration(v.Window), WindowOffset: duration(v.WindowOffset), Grace: duration(v.Grace),
			SpeedKmh: v.Speed, RadiusM: v.Radius, Slack: duration(v.Slack), Horizon: duration(v.Horizon), Q: v.Q,
			MoveWeight: v.MoveWeight, DefaultWeight: v.DefaultWeight, VehicleSpeeds: orEmpty(v.VehicleSpeeds), Weights: orEmpty(v.Weights),
		},
		Vocabulary: p.Vocabulary,
	})
}

func orEmpty(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

// UnmarshalJSON reads rules over the defaults (a field left out takes its
// default, which the genesis hash then commits to), refusing a field it
// does not know: a misspelt rule must not silently be the default. It
// does not Check them.
func (p *Params) UnmarshalJSON(b []byte) error {
	d := DefaultParams()
	dv := d.Validation
	j := paramsJSON{
		MaxPresence: duration(d.MaxPresence), MaxFutureSkew: duration(d.MaxFutureSkew),
		Validation: validationJSON{
			Enabled: dv.Enabled, Window: duration(dv.Window), WindowOffset: duration(dv.WindowOffset), Grace: duration(dv.Grace),
			SpeedKmh: dv.Speed, RadiusM: dv.Radius, Slack: duration(dv.Slack), Horizon: duration(dv.Horizon), Q: dv.Q,
			MoveWeight: dv.MoveWeight, DefaultWeight: dv.DefaultWeight,
		},
		Vocabulary: d.Vocabulary,
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	// A map given replaces the default map as a whole.
	if j.Validation.VehicleSpeeds == nil {
		j.Validation.VehicleSpeeds = dv.VehicleSpeeds
	}
	if j.Validation.Weights == nil {
		j.Validation.Weights = dv.Weights
	}
	v := j.Validation
	*p = Params{
		MaxPresence: time.Duration(j.MaxPresence), MaxFutureSkew: time.Duration(j.MaxFutureSkew),
		Validation: Validation{
			Enabled: v.Enabled, Window: time.Duration(v.Window), WindowOffset: time.Duration(v.WindowOffset), Grace: time.Duration(v.Grace),
			Speed: v.SpeedKmh, VehicleSpeeds: v.VehicleSpeeds, Radius: v.RadiusM, Slack: time.Duration(v.Slack), Horizon: time.Duration(v.Horizon),
			Weights: v.Weights, DefaultWeight: v.DefaultWeight, MoveWeight: v.MoveWeight, Q: v.Q,
		},
		Vocabulary: j.Vocabulary,
	}
	return nil
}
