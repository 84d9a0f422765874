package home

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// TestGenesisHoldsTheRules: init writes every consensus rule into
// genesis.json, Load reads back what was written, and the genesis hash
// commits to each rule: two homes that differ in one rule differ in
// block 1's PrevHash, so their chains cannot be taken for one.
func TestGenesisHoldsTheRules(t *testing.T) {
	t.Parallel()
	at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	h, err := Init(filepath.Join(t.TempDir(), "a"), InitOptions{ChainID: "c", Region: "420100", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h.Genesis.Params, state.DefaultParams()) || h.Genesis.LegacyRules {
		t.Fatalf("rules %+v, legacy %v; want the defaults", h.Genesis.Params, h.Genesis.LegacyRules)
	}
	var file map[string]json.RawMessage
	b, _ := os.ReadFile(filepath.Join(h.Dir, "genesis.json"))
	if err := json.Unmarshal(b, &file); err != nil || file["rules"] == nil {
		t.Fatalf("genesis.json has no rules: %s", b)
	}
	base := h.Genesis.Hash()
	for _, c := range []struct {
		name   string
		change func(p *state.Params)
	}{
		{"grace", func(p *state.Params) { p.Validation.Grace += time.Minute }},
		{"window", func(p *state.Params) { p.Validation.Window = 12 * time.Hour }},
		{"speed", func(p *state.Params) { p.Validation.Speed++ }},
		{"vehicle speed", func(p *state.Params) { p.Validation.VehicleSpeeds = map[string]int64{"train": 300} }},
		{"weight", func(p *state.Params) { p.Validation.Weights = map[string]int64{"face": 91} }},
		{"q", func(p *state.Params) { p.Validation.Q = 0.2 }},
		{"enabled", func(p *state.Params) { p.Validation.Enabled = false }},
		{"max presence", func(p *state.Params) { p.MaxPresence = time.Hour }},
		{"site kinds", func(p *state.Params) { p.Vocabulary.SiteKinds = append(p.Vocabulary.SiteKinds, "ferry") }},
		{"case statuses", func(p *state.Params) { p.Vocabulary.CaseStatuses = []string{"confirmed"} }},
		{"site id length", func(p *state.Params) { p.Vocabulary.MaxSiteIDLen = 32 }},
		{"transport kinds", func(p *state.Params) {
			p.Vocabulary.SiteKinds = append(p.Vocabulary.SiteKinds, "ferris_wheel_cabin")
			p.Vocabulary.TransportKinds = append(slices.Clone(ledger.DefaultTransportKinds), "ferris_wheel_cabin")
		}},
	} {
		rules := state.DefaultParams()
		c.change(&rules)
		o, err := Init(filepath.Join(t.TempDir(), "b"), InitOptions{ChainID: "c", Region: "420100", Time: at, Rules: &rules})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// The other home has its own keys: compare like with like.
		g := o.Genesis
		g.Authority, g.Corrections = h.Genesis.Authority, h.Genesis.Corrections
		if !reflect.DeepEqual(g.Params, rules) {
			t.Errorf("%s: read back %+v, wrote %+v", c.name, g.Params, rules)
		}
		if g.Hash() == base {
			t.Errorf("%s: the genesis hash does not commit to it", c.name)
		}
	}
}

// TestGenesisRulesRefused: a rule genesis.json does not know, or one out
// of range, stops the home from loading with a message naming it; a
// config.toml that still sets a consensus rule is refused and told where
// the rule lives now.
func TestGenesisRulesRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		edit func(rules, validation, vocabulary map[string]any)
		want string
	}{
		{"unknown rule", func(r, v, w map[string]any) { v["gracee"] = "1h" }, `unknown field "gracee"`},
		{"bad duration", func(r, v, w map[string]any) { v["grace"] = "six hours" }, "not a duration"},
		{"negative grace", func(r, v, w map[string]any) { v["grace"] = "-1h" }, "rules.validation.grace"},
		{"short window", func(r, v, w map[string]any) { v["window"] = "30m" }, "rules.validation.window"},
		{"q out of range", func(r, v, w map[string]any) { v["q"] = 0.7 }, "rules.validation.q"},
		{"zero speed", func(r, v, w map[string]any) { v["vehicle_speeds_kmh"] = map[string]any{"train": 0} }, "rules.validation.vehicle_speeds_kmh.train"},
		{"no kinds", func(r, v, w map[string]any) { w["site_kinds"] = []any{} }, "rules.vocabulary.site_kinds"},
		{"repeated status", func(r, v, w map[string]any) { w["case_statuses"] = []any{"confirmed", "confirmed"} }, "rules.vocabulary.case_statuses: a word is repeated"},
		{"long site ids", func(r, v, w map[string]any) { w["max_site_id_bytes"] = 129 }, "rules.vocabulary.max_site_id_bytes"},
		{"unknown transport kind", func(r, v, w map[string]any) { w["transport_kinds"] = []any{"taxi", "ferris_wheel_cabin"} }, `rules.vocabulary.transport_kinds: "ferris_wheel_cabin" is not one of the site kinds`},
		{"no transport kinds", func(r, v, w map[string]any) { w["transport_kinds"] = []any{} }, "rules.vocabulary.transport_kinds: name at least one"},
		{"repeated transport kind", func(r, v, w map[string]any) { w["transport_kinds"] = []any{"taxi", "taxi"} }, "rules.vocabulary.transport_kinds: a word is repeated"},
		{"max presence", func(r, v, w map[string]any) { r["max_presence"] = "0s" }, "rules.max_presence"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h, err := Init(filepath.Join(t.TempDir(), "h"), InitOptions{ChainID: "c"})
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(h.Dir, "genesis.json")
			var g map[string]any
			b, _ := os.ReadFile(p)
			if err := json.Unmarshal(b, &g); err != nil {
				t.Fatal(err)
			}
			rules := g["rules"].(map[string]any)
			c.edit(rules, rules["validation"].(map[string]any), rules["vocabulary"].(map[string]any))
			b, _ = json.Marshal(g)
			os.WriteFile(p, b, 0o644)
			if _, err := Load(h.Dir); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error with %q", err, c.want)
			}
		})
	}
	t.Run("config sets a rule", func(t *testing.T) {
		t.Parallel()
		h, err := Init(filepath.Join(t.TempDir(), "h"), InitOptions{ChainID: "c"})
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(h.Dir, "config.toml"), []byte(DefaultConfigText+"\n[validation]\ngrace = \"1h\"\n"), 0o644)
		_, err = Load(h.Dir)
		if err == nil || !strings.Contains(err.Error(), `[validation] is a consensus rule and now lives in genesis.json "rules"`) {
			t.Fatalf("Load: %v", err)
		}
	})
}

// TestLegacyGenesis: a genesis.json written before the rules moved into
// it (no "rules") still loads, on the default rules, with the hash it had
// then, so that its chain's blocks still verify.
func TestLegacyGenesis(t *testing.T) {
	t.Parallel()
	h, err := Init(filepath.Join(t.TempDir(), "h"), InitOptions{ChainID: "c", Region: "420100"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(h.Dir, "genesis.json")
	var g map[string]any
	b, _ := os.ReadFile(p)
	json.Unmarshal(b, &g)
	delete(g, "rules")
	b, _ = json.Marshal(g)
	os.WriteFile(p, b, 0o644)
	l, err := Load(h.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Genesis.LegacyRules || !reflect.DeepEqual(l.Genesis.Params, state.DefaultParams()) {
		t.Fatalf("legacy %v, rules %+v", l.Genesis.LegacyRules, l.Genesis.Params)
	}
	if l.Genesis.Hash() == h.Genesis.Hash() {
		t.Fatal("a legacy genesis hashes like one with rules")
	}
	// The hash of a legacy genesis is what it was before the rules moved
	// in (the value pinned was computed by that code).
	lg := state.Genesis{ChainID: "legacy-chain", Region: "420100", Time: 1546300800, LegacyRules: true, Params: state.DefaultParams(),
		Corrections: state.CorrectionRule{Quorum: 2, Authorities: []state.RegionAuthority{{Region: "420100"}}}}
	lg.Authority[0], lg.Corrections.Administrator[1] = 7, 9
	if got := lg.Hash().String(); got != "55ee97a83cf04adc7960cdb6b6d078333f4af67bf70a4153269951618d948cd7" {
		t.Fatalf("legacy hash %s: changed", got)
	}
}

// loadText loads a config.toml of text, written in dir.
func loadText(t *testing.T, dir, text string) (Config, error) {
	t.Helper()
	p := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return LoadConfig(p)
}

// TestResidentIDsSetting: trace.resident_ids is "memory" by default and
// takes "store"; anything else is refused, naming the setting.
func TestResidentIDsSetting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ text, want, err string }{
		{"", "memory", ""},
		{"[trace]\nresident_ids = \"store\"\n", "store", ""},
		{"[trace]\nresident_ids = \"disk\"\n", "", "trace.resident_ids"},
		{"[trace]\nresident_ids = 1\n", "", "resident_ids"},
	} {
		c, err := loadText(t, dir, tc.text)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: %v, want an error naming %s", tc.text, err, tc.err)
		case tc.err == "" && (err != nil || c.Trace.ResidentIDs != tc.want):
			t.Errorf("%q: %q, %v; want %q", tc.text, c.Trace.ResidentIDs, err, tc.want)
		}
	}
}

// TestRetainBlocksSetting: engine.retain_blocks is 0 (every block) by
// default and takes 0 or at least MinRetainBlocks; anything else is
// refused, naming the setting.
func TestRetainBlocksSetting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		text string
		want int64
		err  string
	}{
		{"", 0, ""},
		{"[engine]\nretain_blocks = 0\n", 0, ""},
		{"[engine]\nretain_blocks = 10\n", 10, ""},
		{"[engine]\nretain_blocks = 1000000\n", 1000000, ""},
		{"[engine]\nretain_blocks = 9\n", 0, "engine.retain_blocks"},
		{"[engine]\nretain_blocks = 1\n", 0, "engine.retain_blocks"},
		{"[engine]\nretain_blocks = -5\n", 0, "engine.retain_blocks"},
		{"[engine]\nretain_blocks = \"all\"\n", 0, "retain_blocks"},
	} {
		c, err := loadText(t, dir, tc.text)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: %v, want an error naming %s", tc.text, err, tc.err)
		case tc.err == "" && (err != nil || c.Engine.RetainBlocks != tc.want):
			t.Errorf("%q: %d, %v; want %d", tc.text, c.Engine.RetainBlocks, err, tc.want)
		}
	}
}
