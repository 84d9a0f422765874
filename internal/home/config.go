package home

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/epiledger/epiledger/internal/state"
)

// DefaultConfigText is written by init: every setting with its default and
// what it does.
const DefaultConfigText = `# epiledger node configuration.
# Every setting is shown with its default value. Durations use Go syntax
# ("200ms", "15m", "720h").

[node]
# Address the HTTP API listens on (overridden by "epiledger node --listen").
listen = "127.0.0.1:7070"
# operator_token lets the node's operator call the API with the bearer token
# derived from the authority key (the CLI's --node commands do, unless
# --as gives a key). Set it to false to accept signed requests only: every
# caller then holds a key the administrator granted a role (see docs/API.md).
operator_token = true

[engine]
# The solo engine cuts a block as soon as the previous one is durable (group
# commit), when it holds max_block_txs transactions or max_block_bytes
# bytes, and at the latest block_interval after the last block.
block_interval = "200ms"
max_block_txs = 4096
max_block_bytes = 4194304

[rules]
# Consensus rules: every node of a chain must use the same values.
# Longest presence a single visit may record.
max_presence = "720h"
# How far past the block time a record may start (clock skew of sites).
max_future_skew = "10m"

[validation]
# Trajectory validation (consensus rules, like [rules]). A record that is
# physically impossible given the person's settled records is refused at
# the door; records of one person and window are decided by the
# longest-chain rule once the window closes.
enabled = true
# Validation window and where its boundaries fall (an offset of 8h puts
# them at midnight UTC+8). A window closes once the block time and the
# latest record time on the ledger are both past its end plus the grace.
window = "24h"
window_offset = "8h"
grace = "6h"
# Fastest travel that no record covers (a car on a highway), km/h.
speed_kmh = 150
# Places closer than this count as the same place (site coordinates are
# approximate), metres.
radius_m = 2000
# Consecutive presences may overlap this much (clocks of sites differ).
slack = "5m"
# How far around a new record admission looks for settled records.
horizon = "48h"
# Probability that a record is wrong, for the catch-up probability of a
# rejected chain (seed eq. (1)-(4)); used when reporting, not consensus.
q = 0.1
# Weight of a movement, which two sites confirm, and of an unlisted "via".
move_weight = 100
default_weight = 50

[validation.vehicle_speeds_kmh]
# Fastest travel inside each kind of vehicle, km/h. A vehicle's position is
# its route (origin at the start of a ride, destination at its end) when
# the site or a movement gives it; otherwise unknown, and then the person
# may have travelled at this speed while in it.
train = 400
train_carriage = 400
flight = 1000
bus = 120
metro = 120
taxi = 150
ride = 150

[validation.weights]
# Reliability of each way a site identifies a person (its "via"), in
# hundredths: face + ID card beats a lent access card.
id_card = 100
passport = 100
face = 90
payment = 80
alipay = 80
wechat = 70
phone = 60
plate = 50
staff_card = 40
access_card = 40

[trace]
# A contact needs at least min_overlap together at the same site; on
# transport (train_carriage, flight, bus, metro, taxi) any overlap counts.
min_overlap = "15m"
# Window used when --from/--to are not given: the last lookback before --to.
lookback = "720h"
# UTC offset used to print times.
display_offset = "+08:00"
# A running node (epiledger node) keeps a resident timeline: every visit
# and encounter in memory (about 75 bytes a visit: 1 GB for a city of
# 100,000 people over 30 days), loaded from the store in the background at
# start and kept current with each block (it costs ingest 1-2%). Contacts
# and chains then read memory, not the store: on that city a contact query
# takes 1-3 ms instead of 7-22 ms and a depth-3 chain 0.5-0.9 s instead of
# 4 s. Until it is loaded, and with resident = false, queries read the
# store; one-shot CLI queries without --node always do.
resident = true
`

// Config is the parsed config file.
type Config struct {
	Node struct {
		Listen        string `toml:"listen"`
		OperatorToken bool   `toml:"operator_token"`
	} `toml:"node"`
	Engine struct {
		BlockInterval Duration `toml:"block_interval"`
		MaxBlockTxs   int      `toml:"max_block_txs"`
		MaxBlockBytes int      `toml:"max_block_bytes"`
	} `toml:"engine"`
	Rules struct {
		MaxPresence   Duration `toml:"max_presence"`
		MaxFutureSkew Duration `toml:"max_future_skew"`
	} `toml:"rules"`
	Validation struct {
		Enabled       bool             `toml:"enabled"`
		Window        Duration         `toml:"window"`
		WindowOffset  Duration         `toml:"window_offset"`
		Grace         Duration         `toml:"grace"`
		SpeedKmh      int64            `toml:"speed_kmh"`
		RadiusM       int64            `toml:"radius_m"`
		Slack         Duration         `toml:"slack"`
		Horizon       Duration         `toml:"horizon"`
		Q             float64          `toml:"q"`
		MoveWeight    int64            `toml:"move_weight"`
		DefaultWeight int64            `toml:"default_weight"`
		VehicleSpeeds map[string]int64 `toml:"vehicle_speeds_kmh"`
		Weights       map[string]int64 `toml:"weights"`
	} `toml:"validation"`
	Trace struct {
		MinOverlap    Duration `toml:"min_overlap"`
		Lookback      Duration `toml:"lookback"`
		DisplayOffset string   `toml:"display_offset"`
		Resident      bool     `toml:"resident"`
	} `toml:"trace"`
}

// Duration is a time.Duration written as a string in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (e.g. 200ms, 15m, 720h)")
	}
	d.Duration = v
	return nil
}

// DefaultConfig is the config with every default.
func DefaultConfig() Config {
	var c Config
	if _, err := toml.Decode(DefaultConfigText, &c); err != nil {
		panic(err)
	}
	return c
}

// Location is the display zone.
func (c *Config) Location() *time.Location {
	t, err := time.Parse("-07:00", c.Trace.DisplayOffset)
	if err != nil {
		return time.UTC
	}
	_, off := t.Zone()
	return time.FixedZone(c.Trace.DisplayOffset, off)
}

// LoadConfig reads a config file over the defaults; a missing file means
// the defaults.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return c, fmt.Errorf("config: %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return c, fmt.Errorf("config: %s: unknown setting %q", path, und[0].String())
	}
	if _, err := time.Parse("-07:00", c.Trace.DisplayOffset); err != nil {
		return c, fmt.Errorf("config: %s: trace.display_offset must look like +08:00", path)
	}
	v := c.Validation
	if v.Window.Duration < time.Hour || v.Grace.Duration < 0 || v.SpeedKmh <= 0 || v.RadiusM < 0 || v.Slack.Duration < 0 || v.Horizon.Duration < v.Window.Duration {
		return c, fmt.Errorf("config: %s: [validation] needs window >= 1h, horizon >= window, positive speed_kmh, non-negative grace, radius_m and slack", path)
	}
	if v.Q <= 0 || v.Q >= 0.5 {
		return c, fmt.Errorf("config: %s: validation.q must be in (0, 0.5)", path)
	}
	if c.Engine.MaxBlockTxs <= 0 || c.Engine.BlockInterval.Duration <= 0 {
		return c, fmt.Errorf("config: %s: engine.block_interval and engine.max_block_txs must be positive", path)
	}
	return c, nil
}

// Params are the consensus parameters the config gives.
func (c *Config) Params() state.Params {
	v := c.Validation
	return state.Params{
		MaxPresence:   c.Rules.MaxPresence.Duration,
		MaxFutureSkew: c.Rules.MaxFutureSkew.Duration,
		Validation: state.Validation{
			Enabled: v.Enabled, Window: v.Window.Duration, WindowOffset: v.WindowOffset.Duration, Grace: v.Grace.Duration,
			Speed: v.SpeedKmh, VehicleSpeeds: v.VehicleSpeeds, Radius: v.RadiusM, Slack: v.Slack.Duration,
			Horizon: v.Horizon.Duration, Weights: v.Weights, DefaultWeight: v.DefaultWeight, MoveWeight: v.MoveWeight,
		},
	}
}
