package state

import "time"

// Params are the deployment's rules. They are part of consensus: every node
// of a chain must use the same values (config.toml [rules] and
// [validation]).
type Params struct {
	// MaxPresence is the longest presence a visit may record.
	MaxPresence time.Duration
	// MaxFutureSkew is how far past the block time a record may start.
	MaxFutureSkew time.Duration
	// Validation holds the trajectory-validation rules.
	Validation Validation
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
}

// DefaultParams are the defaults written in config.toml.
func DefaultParams() Params {
	return Params{
		MaxPresence:   30 * 24 * time.Hour,
		MaxFutureSkew: 10 * time.Minute,
		Validation:    DefaultValidation(),
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
