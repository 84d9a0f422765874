package home

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/BurntSushi/toml"
)

// DefaultConfigText is written by init: every setting with its default and
// what it does.
const DefaultConfigText = `# epiledger node configuration.
# Every setting is shown with its default value. Durations use Go syntax
# ("200ms", "15m", "720h").

[node]
# Address the HTTP API listens on (overridden by "epiledger node --listen").
listen = "127.0.0.1:7070"

[engine]
# The solo engine cuts a block at most every block_interval, or sooner when
# it holds max_block_txs transactions or max_block_bytes bytes.
block_interval = "200ms"
max_block_txs = 4096
max_block_bytes = 4194304

[rules]
# Consensus rules: every node of a chain must use the same values.
# Longest presence a single visit may record.
max_presence = "720h"
# How far past the block time a record may start (clock skew of sites).
max_future_skew = "10m"

[trace]
# A contact needs at least min_overlap together at the same site; on
# transport (train_carriage, flight, bus, metro, taxi) any overlap counts.
min_overlap = "15m"
# Window used when --from/--to are not given: the last lookback before --to.
lookback = "720h"
# UTC offset used to print times.
display_offset = "+08:00"
`

// Config is the parsed config file.
type Config struct {
	Node struct {
		Listen string `toml:"listen"`
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
	Trace struct {
		MinOverlap    Duration `toml:"min_overlap"`
		Lookback      Duration `toml:"lookback"`
		DisplayOffset string   `toml:"display_offset"`
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
	if c.Engine.MaxBlockTxs <= 0 || c.Engine.BlockInterval.Duration <= 0 {
		return c, fmt.Errorf("config: %s: engine.block_interval and engine.max_block_txs must be positive", path)
	}
	return c, nil
}
