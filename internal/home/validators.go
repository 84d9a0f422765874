package home

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/epiledger/epiledger/internal/state"
)

// validatorFile is one entry of genesis.json "validators": an
// organisation, its validator's CometBFT consensus key (64 hex digits)
// and its voting power.
type validatorFile struct {
	Org       string `json:"organisation"`
	PublicKey string `json:"public_key"`
	Power     int64  `json:"power"`
}

func validatorsOf(fs []validatorFile) ([]state.GenesisValidator, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	out := make([]state.GenesisValidator, len(fs))
	for i, f := range fs {
		k, err := parseKey(f.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("validators[%d].public_key: 64 hex digits", i)
		}
		out[i] = state.GenesisValidator{Org: f.Org, Key: k, Power: f.Power}
	}
	if err := state.CheckValidators(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ErrHasBlocks is returned by SetValidators for a home whose store holds
// blocks: the genesis of a running chain cannot change.
var ErrHasBlocks = errors.New("home: the store holds blocks: a running chain's genesis cannot change")

// SetValidators writes the consortium's validators into the genesis.json
// of home h (keeping every other field as it is) and reloads it. The
// genesis hash changes, so it is for a chain before its first block: a
// home whose data directory holds anything is ErrHasBlocks.
func (h *Home) SetValidators(vals []state.GenesisValidator) error {
	if err := state.CheckValidators(vals); err != nil {
		return fmt.Errorf("home: %w", err)
	}
	if es, _ := os.ReadDir(h.DataDir()); len(es) > 0 {
		return ErrHasBlocks
	}
	path := filepath.Join(h.Dir, "genesis.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("home: %w", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("home: genesis.json: %w", err)
	}
	fs := make([]validatorFile, len(vals))
	for i, v := range vals {
		fs[i] = validatorFile{Org: v.Org, PublicKey: hex.EncodeToString(v.Key[:]), Power: v.Power}
	}
	doc["validators"], _ = json.Marshal(fs)
	// Keep the field order of the file: decode into the typed form,
	// which encoding/json writes in declaration order.
	nb, _ := json.Marshal(doc)
	var g genesisFile
	if err := json.Unmarshal(nb, &g); err != nil {
		return fmt.Errorf("home: genesis.json: %w", err)
	}
	out, _ := json.MarshalIndent(g, "", "  ")
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		return fmt.Errorf("home: %w", err)
	}
	nh, err := Load(h.Dir)
	if err != nil {
		return err
	}
	*h = *nh
	return nil
}

// CloneBeside is Clone into a directory that may already hold the
// entries named in keep (a consortium node's cometbft/, whose keys were
// generated there before the genesis existed) and nothing else.
func CloneBeside(src *Home, dir string, keep ...string) (*Home, error) {
	es, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("home: %w", err)
	}
	for _, e := range es {
		ok := false
		for _, k := range keep {
			ok = ok || e.Name() == k
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s holds %s", ErrNotEmpty, dir, e.Name())
		}
	}
	return cloneInto(src, dir)
}

// WriteKitFiles writes into out (new or empty) the files of h that a
// consortium member's node needs and no secret: genesis.json and
// config.toml.
func WriteKitFiles(h *Home, out string) error {
	if err := checkEmpty(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return fmt.Errorf("home: %w", err)
	}
	for _, f := range []string{"genesis.json", "config.toml"} {
		b, err := os.ReadFile(filepath.Join(h.Dir, f))
		if err != nil {
			return fmt.Errorf("home: %w", err)
		}
		if err := os.WriteFile(filepath.Join(out, f), b, 0o644); err != nil {
			return fmt.Errorf("home: %w", err)
		}
	}
	return nil
}

// FromKit makes dir a consortium member's home from a kit (WriteKitFiles):
// the kit's genesis.json and config.toml beside the keys already in dir
// (keys/, which must hold node.key, and the entries named in keep),
// an empty keystore and store. The home holds no authority key and no
// secret (Member).
func FromKit(kit, dir string, keep ...string) (*Home, error) {
	if _, err := os.Stat(filepath.Join(dir, "keys", NodeKeyFile)); err != nil {
		return nil, fmt.Errorf("home: %s has no keys/%s (run epiledger consortium keygen --home %s first): %w", dir, NodeKeyFile, dir, err)
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	for _, e := range es {
		if e.Name() != "keys" && !slices.Contains(keep, e.Name()) {
			return nil, fmt.Errorf("%w: %s holds %s", ErrNotEmpty, dir, e.Name())
		}
	}
	for _, d := range []string{filepath.Join(dir, "keystore"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("home: %w", err)
		}
	}
	for _, f := range []string{"genesis.json", "config.toml"} {
		b, err := os.ReadFile(filepath.Join(kit, f))
		if err != nil {
			return nil, fmt.Errorf("home: kit: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return nil, fmt.Errorf("home: %w", err)
		}
	}
	h, err := Load(dir)
	if err != nil {
		return nil, fmt.Errorf("home: kit: %w", err)
	}
	if !h.Member() {
		return nil, errors.New("home: kit: the home is not a member's")
	}
	return h, nil
}
