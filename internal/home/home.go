// Package home manages a node's home directory: the genesis, the
// authority's key and secret, the keystore of site keys, the config file and
// the data directory.
//
//	DIR/config.toml          settings, every default written out and commented
//	DIR/genesis.json         chain id, region, authority public key, time, rules, pseudonym key
//	DIR/keys/authority.key   the authority's Ed25519 seed (hex, mode 0600)
//	DIR/keys/secret.key      the authority's secret: pseudonym, vault and API keys
//	DIR/keys/pseudonym.key   the pseudonym key shared by the regions of one
//	                         country (InitOptions.PseudonymSecret), in place
//	                         of secret.key for pseudonyms only; optional
//	DIR/keys/node.key        an organisation's node key (Ed25519 seed), in
//	                         place of the two above on a consortium member's
//	                         node (epiledger consortium keygen)
//	DIR/keystore/            one file per site key (mode 0600)
//	DIR/data/                the Pebble store
//	DIR/node.json            the running node: pid, listen address, start time
package home

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/oprf"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/state"
)

// Home is a loaded node home.
type Home struct {
	Dir       string
	Config    Config
	Genesis   state.Genesis
	authority ed25519.PrivateKey
	secret    []byte
	pseud     *identity.Pseudonymizer
	// nodeKey signs what a member's node writes (audit records) when the
	// home holds no authority key.
	nodeKey ed25519.PrivateKey
	Keys    *Keystore
}

// NodeKeyFile is where a consortium member's node key lives in its home.
const NodeKeyFile = "node.key"

// PseudonymKeyFile is where a home's pseudonym secret lives (keys/), when
// its chain shares one with the other regions' chains: 64 hex digits.
const PseudonymKeyFile = "pseudonym.key"

// ErrNotAuthority is returned for what only a home holding the chain
// authority's key and secret can do (sign as the authority, derive
// pseudonyms, open the vault, the operator's token) on a member's home.
var ErrNotAuthority = errors.New("this node is a consortium member's (keys/node.key): it holds neither the chain authority's key nor the chain's secret")

// InitOptions configure Init.
type InitOptions struct {
	ChainID string
	Region  string
	Time    time.Time // genesis time; zero means now
	// Authorities are the regional authorities whose approvals corrections
	// need (region -> Ed25519 public key); the chain's own authority is
	// added for the chain's region unless given.
	Authorities map[string][32]byte
	// Administrator is the system administrator's key; zero means the
	// chain authority's.
	Administrator [32]byte
	// Quorum is how many of a correction's required parties must approve
	// (0: all).
	Quorum int
	// Rules are the chain's consensus rules; nil means the defaults
	// (state.DefaultParams). They are written into genesis.json.
	Rules *state.Params
	// HMACPseudonyms writes a genesis that names no VOPRF pseudonym key:
	// the chain's pseudonyms are HMAC pseudonyms, as every chain's were
	// before the VOPRF scheme, and no site can obtain them obliviously.
	// For tests of such chains; a new chain should not.
	HMACPseudonyms bool
	// PseudonymSecret is the pseudonym secret (32 bytes) shared by the
	// chains of one country's regions, so that a person has the same
	// pseudonym on each; nil means none (the home's secret.key derives
	// its pseudonyms). Init writes it to keys/pseudonym.key and derives
	// the genesis's pseudonym key from it; the identity vault and the API
	// token stay keyed by the home's own secret.key.
	PseudonymSecret []byte
}

// ErrExists is returned by Init when the directory already holds a home.
var ErrExists = errors.New("home: already initialised")

// ErrNoHome is returned by Load when the directory holds no home (no
// genesis.json).
var ErrNoHome = errors.New("home: no home")

// ErrNotEmpty is returned by Init when the directory holds files but no
// home: init writes only into a new or empty directory.
var ErrNotEmpty = errors.New("home: directory is not empty")

type genesisFile struct {
	ChainID     string         `json:"chain_id"`
	Region      string         `json:"region"`
	Authority   string         `json:"authority_public_key"`
	Time        string         `json:"genesis_time"`
	Corrections correctionFile `json:"corrections"`
	// Rules are the chain's consensus rules (state.Params); a genesis
	// written before they moved here has none and runs on the defaults.
	Rules *state.Params `json:"rules,omitempty"`
	// Pseudonyms names the chain's VOPRF pseudonym key; a genesis
	// written before the VOPRF scheme has none and its pseudonyms are
	// HMAC pseudonyms.
	Pseudonyms *pseudonymsFile `json:"pseudonyms,omitempty"`
	// Validators name the consortium's organisations, their validators'
	// consensus keys and powers (validators.go); a genesis written before
	// them, or of a solo chain, has none.
	Validators []validatorFile `json:"validators,omitempty"`
}

// pseudonymsFile is genesis.json "pseudonyms": the scheme
// (identity.OPRFScheme) and the public key (64 hex digits) that sites
// check the nodes' proofs against.
type pseudonymsFile struct {
	Scheme    string `json:"scheme"`
	PublicKey string `json:"public_key"`
}

type correctionFile struct {
	Administrator string            `json:"administrator_public_key"`
	Authorities   map[string]string `json:"region_authorities"` // region -> public key (hex)
	Quorum        int               `json:"quorum"`
}

// Init creates a new home in dir, which must not exist or be empty. A
// directory that already holds a home is ErrExists; one that holds
// anything else is ErrNotEmpty; in either case nothing is written.
func Init(dir string, o InitOptions) (*Home, error) {
	if _, err := os.Stat(filepath.Join(dir, "genesis.json")); err == nil {
		return nil, fmt.Errorf("%w: %s (remove it or choose another --home)", ErrExists, dir)
	}
	if err := checkEmpty(dir); err != nil {
		return nil, err
	}
	if o.ChainID == "" {
		var b [4]byte
		rand.Read(b[:])
		o.ChainID = "epiledger-" + hex.EncodeToString(b[:])
	}
	if o.Region == "" {
		o.Region = "000000"
	}
	if c, err := region.Parse(o.Region); err == nil {
		// A GB/T 2260 code in its six-digit form ("3201" is 320100), as
		// parents register it and anchors must match.
		o.Region = string(c)
	}
	// Every header carries the chain id and every site the region: the
	// ledger's limits apply, or the chain's own blocks would not decode.
	if len(o.ChainID) > ledger.MaxChainIDLen {
		return nil, fmt.Errorf("home: chain id: at most %d bytes", ledger.MaxChainIDLen)
	}
	if len(o.Region) > ledger.MaxTagLen {
		return nil, fmt.Errorf("home: region: at most %d bytes", ledger.MaxTagLen)
	}
	if err := ledger.CheckText("chain id", o.ChainID); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	if err := ledger.CheckText("region", o.Region); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	if o.PseudonymSecret != nil && len(o.PseudonymSecret) != 32 {
		return nil, fmt.Errorf("home: pseudonym secret: %d bytes, want 32", len(o.PseudonymSecret))
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	for _, d := range []string{dir, filepath.Join(dir, "keys"), filepath.Join(dir, "keystore"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("home: %w", err)
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if err := writeSecret(filepath.Join(dir, "keys", "authority.key"), hex.EncodeToString(priv.Seed())); err != nil {
		return nil, err
	}
	if err := writeSecret(filepath.Join(dir, "keys", "secret.key"), hex.EncodeToString(secret)); err != nil {
		return nil, err
	}
	pseudonymSecret := secret
	if o.PseudonymSecret != nil {
		pseudonymSecret = o.PseudonymSecret
		if err := writeSecret(filepath.Join(dir, "keys", PseudonymKeyFile), hex.EncodeToString(pseudonymSecret)); err != nil {
			return nil, err
		}
	}
	rules := state.DefaultParams()
	if o.Rules != nil {
		rules = *o.Rules
	}
	if err := rules.Check(); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	g := genesisFile{ChainID: o.ChainID, Region: o.Region, Authority: hex.EncodeToString(pub), Time: o.Time.UTC().Truncate(time.Second).Format(time.RFC3339), Rules: &rules,
		Corrections: correctionFile{Administrator: hex.EncodeToString(pub), Authorities: map[string]string{o.Region: hex.EncodeToString(pub)}, Quorum: o.Quorum}}
	if !o.HMACPseudonyms {
		p, err := identity.NewOPRFPseudonymizer(pseudonymSecret)
		if err != nil {
			return nil, fmt.Errorf("home: %w", err)
		}
		g.Pseudonyms = &pseudonymsFile{Scheme: identity.OPRFScheme, PublicKey: hex.EncodeToString(p.PublicKey().Bytes())}
	}
	if o.Administrator != ([32]byte{}) {
		g.Corrections.Administrator = hex.EncodeToString(o.Administrator[:])
	}
	for region, k := range o.Authorities {
		g.Corrections.Authorities[region] = hex.EncodeToString(k[:])
	}
	gb, _ := json.MarshalIndent(g, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "genesis.json"), append(gb, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(DefaultConfigText), 0o644); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	return Load(dir)
}

// checkEmpty returns nil if dir does not exist or is an empty directory,
// else ErrNotEmpty naming dir and one of its entries.
func checkEmpty(dir string) error {
	es, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("home: %w", err)
	}
	if len(es) > 0 {
		return fmt.Errorf("%w: %s holds %d entries (%s...) and is not a node home; init writes only into a new or empty directory (choose another --home)",
			ErrNotEmpty, dir, len(es), es[0].Name())
	}
	return nil
}

func writeSecret(path, s string) error {
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return fmt.Errorf("home: %w", err)
	}
	return nil
}

func readHex(path string, n int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	v, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(v) != n {
		return nil, fmt.Errorf("home: %s: want %d hex-encoded bytes", path, n)
	}
	return v, nil
}

// Load reads an existing home. A directory without a genesis.json is
// ErrNoHome; a home that does not read is an error naming the file.
func Load(dir string) (*Home, error) {
	gb, err := os.ReadFile(filepath.Join(dir, "genesis.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoHome, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	g, gen, err := parseGenesis(gb)
	if err != nil {
		return nil, err
	}
	h := &Home{Dir: dir}
	h.Genesis = gen
	if member, err := loadNodeKey(dir); err != nil {
		return nil, err
	} else if member != nil {
		// A member's node: its own key, no authority key, no secret.
		for _, f := range []string{"authority.key", "secret.key", PseudonymKeyFile} {
			if _, err := os.Stat(filepath.Join(dir, "keys", f)); err == nil {
				return nil, fmt.Errorf("home: keys/ holds both %s and node.key: a home is the chain authority's or a member's, not both", f)
			}
		}
		h.nodeKey = member
		if h.Genesis.PseudonymKey, err = pseudonymKeyOf(g.Pseudonyms); err != nil {
			return nil, err
		}
	} else {
		seed, err := readHex(filepath.Join(dir, "keys", "authority.key"), ed25519.SeedSize)
		if err != nil {
			return nil, err
		}
		h.authority = ed25519.NewKeyFromSeed(seed)
		if !h.authority.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(gen.Authority[:])) {
			return nil, errors.New("home: keys/authority.key does not match the genesis authority key")
		}
		if h.secret, err = readHex(filepath.Join(dir, "keys", "secret.key"), 32); err != nil {
			return nil, err
		}
		pseudonymSecret, file := h.secret, "secret.key"
		if s, err := readHex(filepath.Join(dir, "keys", PseudonymKeyFile), 32); err == nil {
			pseudonymSecret, file = s, PseudonymKeyFile
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w (the pseudonym secret shared by the regions' chains)", err)
		}
		if h.Genesis.PseudonymKey, h.pseud, err = pseudonymsOf(g.Pseudonyms, pseudonymSecret, file); err != nil {
			return nil, err
		}
	}
	if h.Config, err = LoadConfig(filepath.Join(dir, "config.toml")); err != nil {
		return nil, err
	}
	h.Keys = &Keystore{dir: filepath.Join(dir, "keystore"), keys: map[string]ed25519.PrivateKey{}}
	return h, nil
}

// ReadGenesis reads a chain's genesis.json (another chain's, say: a
// parent registers a child from the child's genesis file) into the
// genesis its state machine runs with, whose Hash is block 1's PrevHash.
func ReadGenesis(path string) (state.Genesis, error) {
	gb, err := os.ReadFile(path)
	if err != nil {
		return state.Genesis{}, fmt.Errorf("home: %w", err)
	}
	_, gen, err := parseGenesis(gb)
	return gen, err
}

// parseGenesis checks and reads genesis.json's public content: chain id,
// region, authority, time, correction rule, rules, the pseudonym scheme's
// public key, validators.
func parseGenesis(gb []byte) (*genesisFile, state.Genesis, error) {
	var g genesisFile
	if err := json.Unmarshal(gb, &g); err != nil {
		return nil, state.Genesis{}, fmt.Errorf("home: genesis.json: %w", err)
	}
	pub, err := hex.DecodeString(g.Authority)
	if err != nil || len(pub) != 32 {
		return nil, state.Genesis{}, errors.New("home: genesis.json: authority_public_key must be 64 hex digits")
	}
	gt, err := time.Parse(time.RFC3339, g.Time)
	if err != nil {
		return nil, state.Genesis{}, errors.New("home: genesis.json: genesis_time must be RFC 3339")
	}
	gen := state.Genesis{ChainID: g.ChainID, Region: g.Region, Time: gt.Unix()}
	copy(gen.Authority[:], pub)
	if gen.Corrections, err = g.Corrections.rule(gen.Authority); err != nil {
		return nil, state.Genesis{}, fmt.Errorf("home: genesis.json: %w", err)
	}
	if g.Rules == nil {
		gen.Params, gen.LegacyRules = state.DefaultParams(), true
	} else if err := g.Rules.Check(); err != nil {
		return nil, state.Genesis{}, fmt.Errorf("home: genesis.json: %w", err)
	} else {
		gen.Params = *g.Rules
	}
	if gen.PseudonymKey, err = pseudonymKeyOf(g.Pseudonyms); err != nil {
		return nil, state.Genesis{}, err
	}
	if gen.Validators, err = validatorsOf(g.Validators); err != nil {
		return nil, state.Genesis{}, fmt.Errorf("home: genesis.json: %w", err)
	}
	return &g, gen, nil
}

// DataDir is where the store lives.
func (h *Home) DataDir() string { return filepath.Join(h.Dir, "data") }

// Authority returns the authority's signing key; nil on a member's home
// (Member), which must refuse what needs it (ErrNotAuthority).
func (h *Home) Authority() ed25519.PrivateKey { return h.authority }

// Member says the home is a consortium member's node: it holds its own
// node key (keys/node.key) and neither the chain authority's key nor the
// chain's secret.
func (h *Home) Member() bool { return h.nodeKey != nil }

// Signer is the key this home's node signs its own records with: the
// chain authority's, or on a member's home its node key (which the
// administrator grants the role node).
func (h *Home) Signer() ed25519.PrivateKey {
	if h.nodeKey != nil {
		return h.nodeKey
	}
	return h.authority
}

// loadNodeKey reads keys/node.key, or returns nil if there is none.
func loadNodeKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, "keys", NodeKeyFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	seed, err := readHex(path, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// NodeKey returns the node key of the home at dir (keys/node.key),
// writing a new one if there is none: an organisation's node signs its
// audit records with it (epiledger consortium keygen).
func NodeKey(dir string) (ed25519.PublicKey, error) {
	k, err := loadNodeKey(dir)
	if err != nil || k != nil {
		if err != nil {
			return nil, err
		}
		return k.Public().(ed25519.PublicKey), nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writeSecret(filepath.Join(dir, "keys", NodeKeyFile), hex.EncodeToString(priv.Seed())); err != nil {
		return nil, err
	}
	return pub, nil
}

// Pseudonymizer returns the home's pseudonymizer, of the scheme its
// genesis names: VOPRF pseudonyms under the genesis's key, or HMAC
// pseudonyms for a genesis that names none. It is the same value on every
// call (safe for concurrent use).
func (h *Home) Pseudonymizer() *identity.Pseudonymizer { return h.pseud }

// pseudonymKeyOf reads genesis.json "pseudonyms" on a home with no
// secret: the public key only (nil for none).
func pseudonymKeyOf(f *pseudonymsFile) ([]byte, error) {
	if f == nil {
		return nil, nil
	}
	if f.Scheme != identity.OPRFScheme {
		return nil, fmt.Errorf("home: genesis.json: pseudonyms.scheme %q: this node knows only %q", f.Scheme, identity.OPRFScheme)
	}
	key, err := hex.DecodeString(f.PublicKey)
	if err != nil || len(key) != oprf.ElementSize {
		return nil, errors.New("home: genesis.json: pseudonyms.public_key must be 64 hex digits")
	}
	if _, err := oprf.ParsePublicKey(key); err != nil {
		return nil, fmt.Errorf("home: genesis.json: pseudonyms.public_key: %w", err)
	}
	return key, nil
}

// pseudonymsOf checks genesis.json "pseudonyms" against the home's
// pseudonym secret, read from keys/file (pseudonym.key, or secret.key on
// a home without one), and returns the genesis's pseudonym key (nil for
// none) and the home's pseudonymizer. A key that the secret does not
// derive stops the load (fail closed): this node's pseudonyms would not be
// the chain's, and a site would refuse every proof it made.
func pseudonymsOf(f *pseudonymsFile, secret []byte, file string) ([]byte, *identity.Pseudonymizer, error) {
	if f == nil {
		p, err := identity.NewPseudonymizer(secret)
		return nil, p, err
	}
	key, err := pseudonymKeyOf(f)
	if err != nil {
		return nil, nil, err
	}
	p, err := identity.NewOPRFPseudonymizer(secret)
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(p.PublicKey().Bytes(), key) {
		return nil, nil, fmt.Errorf("home: keys/%s does not derive the genesis's pseudonym key (genesis.json pseudonyms.public_key): this home's pseudonym secret is not the chain's", file)
	}
	return key, p, nil
}

// Vault returns the home's identity vault cipher; nil on a member's home.
func (h *Home) Vault() *identity.Vault {
	if h.secret == nil {
		return nil
	}
	v, err := identity.NewVault(h.secret)
	if err != nil {
		panic(err)
	}
	return v
}

// APIToken is the bearer token that authenticates the authority to its
// node's HTTP API. It is derived, never stored on its own. A member's
// home has none (""): its node accepts signed requests only.
func (h *Home) APIToken() string {
	if h.secret == nil {
		return ""
	}
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte("epiledger/v1/api-token"))
	return hex.EncodeToString(m.Sum(nil))
}

// Keystore holds the signing keys of the sites this home registered. It is
// safe for concurrent use.
type Keystore struct {
	dir  string
	mu   sync.Mutex
	keys map[string]ed25519.PrivateKey
}

type keyFile struct {
	Site string `json:"site"`
	Seed string `json:"seed"`
}

func (k *Keystore) path(site string) string {
	sum := sha256.Sum256([]byte(site))
	return filepath.Join(k.dir, hex.EncodeToString(sum[:12])+".json")
}

// Get returns the key of site, or nil if the keystore has none.
func (k *Keystore) Get(site string) (ed25519.PrivateKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[site]; ok {
		return key, nil
	}
	b, err := os.ReadFile(k.path(site))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil || f.Site != site {
		return nil, fmt.Errorf("keystore: %s is damaged", k.path(site))
	}
	seed, err := hex.DecodeString(f.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("keystore: %s is damaged", k.path(site))
	}
	key := ed25519.NewKeyFromSeed(seed)
	k.keys[site] = key
	return key, nil
}

// GetOrCreate returns the key of site, creating and saving one if needed.
func (k *Keystore) GetOrCreate(site string) (ed25519.PrivateKey, error) {
	if key, err := k.Get(site); err != nil || key != nil {
		return key, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(keyFile{Site: site, Seed: hex.EncodeToString(key.Seed())})
	if err := os.WriteFile(k.path(site), b, 0o600); err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	k.keys[site] = key
	return key, nil
}

// rule converts the corrections section; missing fields default to the
// chain authority as administrator and no regional authorities.
func (c correctionFile) rule(authority [32]byte) (state.CorrectionRule, error) {
	r := state.CorrectionRule{Administrator: authority, Quorum: c.Quorum}
	if c.Administrator != "" {
		k, err := parseKey(c.Administrator)
		if err != nil {
			return r, fmt.Errorf("corrections.administrator_public_key: %w", err)
		}
		r.Administrator = k
	}
	regions := make([]string, 0, len(c.Authorities))
	for region := range c.Authorities {
		regions = append(regions, region)
	}
	sort.Strings(regions)
	for _, region := range regions {
		k, err := parseKey(c.Authorities[region])
		if err != nil {
			return r, fmt.Errorf("corrections.region_authorities[%q]: %w", region, err)
		}
		r.Authorities = append(r.Authorities, state.RegionAuthority{Region: region, Key: k})
	}
	if r.Quorum < 0 || r.Quorum > 3 {
		return r, errors.New("corrections.quorum must be 0 (all) to 3")
	}
	return r, nil
}

// parseKey parses a hex Ed25519 public key.
func parseKey(s string) ([32]byte, error) {
	var k [32]byte
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return k, errors.New("want 64 hex digits (an Ed25519 public key)")
	}
	copy(k[:], b)
	return k, nil
}

// ParseKey parses a hex Ed25519 public key (for CLI flags).
func ParseKey(s string) ([32]byte, error) { return parseKey(s) }

// KeyFile is a standalone signing key (an authority's or the
// administrator's), as written by "epiledger keygen".
type KeyFile struct {
	Public string `json:"public_key"`
	Seed   string `json:"seed"`
}

// GenerateKeyFile writes a new key pair to a new file at path (mode 0600)
// and returns the public key. A file already at path is an error that
// wraps fs.ErrExist, unless replace: a key may be fixed in a genesis,
// and a lost one cannot be replaced. With replace, the key is written to
// a temporary file beside path and renamed over it, so that path holds
// the old key or the new one, never part of either.
func GenerateKeyFile(path string, replace bool) ([32]byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return [32]byte{}, err
	}
	b, _ := json.MarshalIndent(KeyFile{Public: hex.EncodeToString(pub), Seed: hex.EncodeToString(priv.Seed())}, "", "  ")
	var f *os.File
	if replace {
		f, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*") // mode 0600
	} else {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return [32]byte{}, err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && replace {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return [32]byte{}, err
	}
	var k [32]byte
	copy(k[:], pub)
	return k, nil
}

// LoadKeyFile reads a key written by GenerateKeyFile.
func LoadKeyFile(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f KeyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a key file", path)
	}
	seed, err := hex.DecodeString(f.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: damaged seed", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ReadPseudonymSecret reads a pseudonym secret to give to
// InitOptions.PseudonymSecret from a file holding 32 bytes: 64 hex digits
// (surrounding whitespace ignored), as keys/pseudonym.key holds them, or
// a key file written by GenerateKeyFile ("epiledger keygen"), whose seed
// is 32 random bytes. Anything else is an error naming path.
func ReadPseudonymSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSpace(string(b))
	if strings.HasPrefix(text, "{") {
		var f KeyFile
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%s: not a key file", path)
		}
		text = f.Seed
	}
	v, err := hex.DecodeString(text)
	if err != nil || len(v) != 32 {
		return nil, fmt.Errorf("%s: want 64 hex digits (32 bytes) or a key file of epiledger keygen", path)
	}
	return v, nil
}

// CheckEmpty returns nil if dir does not exist or is an empty directory,
// else an error wrapping ErrNotEmpty.
func CheckEmpty(dir string) error { return checkEmpty(dir) }

// Clone writes a new home in dir (new or empty) for another node of src's
// chain: the same genesis, the same keys (keys/), the same config, an
// empty keystore and store. It is for nodes on one machine run by the
// holder of src's keys (epiledger testnet).
func Clone(src *Home, dir string) (*Home, error) {
	if err := checkEmpty(dir); err != nil {
		return nil, err
	}
	return cloneInto(src, dir)
}

func cloneInto(src *Home, dir string) (*Home, error) {
	for _, d := range []string{dir, filepath.Join(dir, "keys"), filepath.Join(dir, "keystore"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("home: %w", err)
		}
	}
	for _, f := range []struct {
		name     string
		mode     os.FileMode
		optional bool
	}{{"genesis.json", 0o644, false}, {"config.toml", 0o644, false}, {filepath.Join("keys", "authority.key"), 0o600, false}, {filepath.Join("keys", "secret.key"), 0o600, false},
		{filepath.Join("keys", PseudonymKeyFile), 0o600, true}} {
		b, err := os.ReadFile(filepath.Join(src.Dir, f.name))
		if f.optional && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("home: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), b, f.mode); err != nil {
			return nil, fmt.Errorf("home: %w", err)
		}
	}
	return Load(dir)
}

// SetConfig sets settings of the home's config.toml, each named by its
// key (unique in the file, e.g. "listen", "kind") to a TOML value, keeping
// the file's comments, and reloads the config.
func (h *Home) SetConfig(values map[string]string) error {
	path := filepath.Join(h.Dir, "config.toml")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("home: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	for key, v := range values {
		found := false
		for i, l := range lines {
			if k, _, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == key && !strings.HasPrefix(strings.TrimSpace(l), "#") {
				lines[i] = key + " = " + v
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("home: config.toml has no setting %q", key)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		return fmt.Errorf("home: %w", err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		return err
	}
	h.Config = c
	return nil
}
