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
# operator_token lets the node's operator call the API with the bearer token
# derived from the authority key (the CLI's --node commands do, unless
# --as gives a key). Set it to false to accept signed requests only: every
# caller then holds a key the administrator granted a role (see docs/API.md).
operator_token = true

[engine]
# kind is "solo" (one process decides the blocks: the embedded default) or
# "cometbft" (a consortium of validators, each organisation running one,
# agree on every block: the home then has a cometbft/ directory, written by
# epiledger testnet; see the README). "epiledger node --engine" overrides it.
kind = "solo"
# The solo engine cuts a block as soon as the previous one is durable (group
# commit), when it holds max_block_txs transactions or max_block_bytes
# bytes, and at the latest block_interval after the last block.
block_interval = "200ms"
max_block_txs = 4096
max_block_bytes = 4194304
# On a cometbft engine, how many of CometBFT's latest blocks this validator
# keeps. 0 keeps every block (an archive node). N > 0 (at least 10) lets
# CometBFT delete the bodies of older blocks, a second copy of records our
# store keeps anyway: a validator's disk then grows with our store alone.
# What it costs: the consortium proof of a record in a deleted block (tx
# proof) and a peer catching up from before the kept blocks must come from
# a node that keeps them: keep at least one archive node in a consortium.
# Headers and commits stay for the evidence age (light blocks for relays).
# (CometBFT's consensus WAL is trimmed to its newest files on every
# validator: see docs/OPERATIONS.md.)
retain_blocks = 0

# The chain's consensus rules (presence limits, trajectory validation, the
# vocabulary of site kinds and case statuses) are not set here: they are in
# genesis.json "rules", under the genesis hash, the same on every node.

[trace]
# A contact needs at least min_overlap together at the same site; on
# transport (train_carriage, flight, bus, metro, taxi) any overlap counts.
min_overlap = "15m"
# Window used when --from/--to are not given: the last lookback before --to.
lookback = "720h"
# UTC offset used to print times.
display_offset = "+08:00"
# A running node (epiledger node) keeps a resident timeline: every visit
# and encounter in memory (about 61 bytes a visit: 0.8 GB for a city of
# 100,000 people over 30 days), loaded from the store in the background at
# start and kept current with each block (it costs ingest 1-2%). Contacts
# and chains then read memory, not the store: on that city a contact query
# takes under 1 ms (p50) instead of 4-8 ms and a depth-3 chain 0.3 s
# instead of 5 s. Until it is loaded, and with resident = false, queries
# read the store; one-shot CLI queries without --node always do.
resident = true
# Where the timeline keeps each visit's record id: "memory" (24 bytes a
# visit beside the 8 every entry holds), or "store": the 8 bytes only, the
# rest read from the store for what an answer shows (about 38 bytes a
# visit in all, 40% less memory, but contacts read thousands of ids a
# query: on that city a contact query p50 4.2 ms instead of 0.5, a chain
# 0.7 s instead of 0.3).
resident_ids = "memory"
`

// Config is the parsed config file.
type Config struct {
	Node struct {
		Listen        string `toml:"listen"`
		OperatorToken bool   `toml:"operator_token"`
	} `toml:"node"`
	Engine struct {
		Kind          string   `toml:"kind"`
		BlockInterval Duration `toml:"block_interval"`
		MaxBlockTxs   int      `toml:"max_block_txs"`
		MaxBlockBytes int      `toml:"max_block_bytes"`
		RetainBlocks  int64    `toml:"retain_blocks"`
	} `toml:"engine"`
	Trace struct {
		MinOverlap    Duration `toml:"min_overlap"`
		Lookback      Duration `toml:"lookback"`
		DisplayOffset string   `toml:"display_offset"`
		Resident      bool     `toml:"resident"`
		ResidentIDs   string   `toml:"resident_ids"`
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
		if k := und[0]; k[0] == "rules" || k[0] == "validation" {
			return c, fmt.Errorf("config: %s: [%s] is a consensus rule and now lives in genesis.json \"rules\" (every node of a chain holds the same): remove it from config.toml", path, k[0])
		}
		return c, fmt.Errorf("config: %s: unknown setting %q", path, und[0].String())
	}
	if _, err := time.Parse("-07:00", c.Trace.DisplayOffset); err != nil {
		return c, fmt.Errorf("config: %s: trace.display_offset must look like +08:00", path)
	}
	if c.Trace.ResidentIDs != "memory" && c.Trace.ResidentIDs != "store" {
		return c, fmt.Errorf("config: %s: trace.resident_ids must be \"memory\" or \"store\"", path)
	}
	if c.Engine.Kind != "solo" && c.Engine.Kind != "cometbft" {
		return c, fmt.Errorf("config: %s: engine.kind must be \"solo\" or \"cometbft\"", path)
	}
	if c.Engine.MaxBlockTxs <= 0 || c.Engine.BlockInterval.Duration <= 0 {
		return c, fmt.Errorf("config: %s: engine.block_interval and engine.max_block_txs must be positive", path)
	}
	if r := c.Engine.RetainBlocks; r != 0 && r < MinRetainBlocks {
		return c, fmt.Errorf("config: %s: engine.retain_blocks must be 0 (keep every block) or at least %d", path, MinRetainBlocks)
	}
	return c, nil
}

// MinRetainBlocks is the fewest blocks a pruning validator keeps
// (engine.retain_blocks): a record's consortium proof needs its block and
// the next, and a peer that paused for a moment catches up from the blocks
// kept.
const MinRetainBlocks = 10
