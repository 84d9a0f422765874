package comet

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/viper"

	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/state"
)

// Dir is where a home keeps its CometBFT node: config/ (config.toml,
// genesis.json, node_key.json, priv_validator_key.json) and data/.
func Dir(h *home.Home) string { return filepath.Join(h.Dir, "cometbft") }

// Configured reports whether home h has a CometBFT node.
func Configured(h *home.Home) bool {
	_, err := os.Stat(filepath.Join(Dir(h), "config", "genesis.json"))
	return err == nil
}

// ErrNotConfigured is returned for a home without a CometBFT node.
var ErrNotConfigured = errors.New("comet: this home has no CometBFT node (no cometbft/config/genesis.json): create the consortium's homes with epiledger testnet, or run the solo engine")

// ChainID is the CometBFT chain id of a chain: its own id and the first
// bytes of its genesis hash, so that a node whose genesis differs in
// anything (its rules, its authority) is on another network, and its
// peers refuse it at the handshake. CometBFT allows 50 bytes.
func ChainID(g *state.Genesis) string { return consortium.ChainID(g.ChainID, g.Hash()) }

// AppState is the app_state of the CometBFT genesis: the hash of the
// epiledger genesis every node of the consortium must hold.
type AppState = consortium.AppState

// LoadConfig reads the CometBFT config of home h.
func LoadConfig(h *home.Home) (*cmtcfg.Config, error) {
	if !Configured(h) {
		return nil, ErrNotConfigured
	}
	dir := Dir(h)
	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(dir)
	v := viper.New()
	v.SetConfigFile(filepath.Join(dir, "config", "config.toml"))
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("comet: %s: %w", v.ConfigFileUsed(), err)
	}
	if err := v.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("comet: %s: %w", v.ConfigFileUsed(), err)
	}
	cfg.SetRoot(dir)
	if err := cfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("comet: %s: %w", v.ConfigFileUsed(), err)
	}
	return cfg, nil
}

// NodeOptions are the network settings of one node.
type NodeOptions struct {
	Moniker string
	// P2P and RPC are the listen addresses ("127.0.0.1:26656").
	P2P, RPC string
	// Peers are the persistent peers, "id@host:port" each.
	Peers []string
	// TimeoutCommit is how long a validator waits after a commit before
	// the next height (CometBFT's timeout_commit; 0 keeps its default).
	TimeoutCommit time.Duration
	// Loopback allows several nodes on one host (CometBFT refuses peers
	// on non-routable addresses and duplicate IPs by default).
	Loopback bool
}

// Validator is a validator of the genesis: its consensus public key, its
// voting power and the organisation that runs it.
type Validator struct {
	PubKey crypto.PubKey
	Power  int64
	Name   string
	NodeID string
}

// InitNode writes the CometBFT config of home h and generates, on this
// machine, its node key and its validator key (which never leave it). It
// returns the validator (power 10) and its node id; the genesis follows,
// once every organisation has given its validator (WriteGenesis).
func InitNode(h *home.Home, o NodeOptions) (Validator, error) {
	dir := Dir(h)
	for _, d := range []string{filepath.Join(dir, "config"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return Validator{}, fmt.Errorf("comet: %w", err)
		}
	}
	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(dir)
	cfg.Moniker = o.Moniker
	cfg.P2P.ListenAddress = "tcp://" + o.P2P
	cfg.RPC.ListenAddress = "tcp://" + o.RPC
	for i, p := range o.Peers {
		if i > 0 {
			cfg.P2P.PersistentPeers += ","
		}
		cfg.P2P.PersistentPeers += p
	}
	if o.Loopback {
		cfg.P2P.AddrBookStrict = false
		cfg.P2P.AllowDuplicateIP = true
		// On one machine a message crosses in microseconds: CometBFT's
		// default 100 ms flush throttle and gossip sleeps (made for the
		// open internet) would be most of every height.
		cfg.P2P.FlushThrottleTimeout = 10 * time.Millisecond
		cfg.Consensus.PeerGossipSleepDuration = 10 * time.Millisecond
		cfg.Consensus.PeerQueryMaj23SleepDuration = 200 * time.Millisecond
	}
	// A consortium's validators are a few known organisations on good
	// links: 5 MB/s per peer (the default) would cap a block of a few
	// thousand records at several hundred milliseconds of transfer.
	cfg.P2P.SendRate, cfg.P2P.RecvRate = 50<<20, 50<<20
	// Room for a burst of imports from several sites at once: 5,000 (the
	// default) is one large import batch.
	cfg.Mempool.Size = 100000
	if o.TimeoutCommit > 0 {
		cfg.Consensus.TimeoutCommit = o.TimeoutCommit
	}
	// A block when transactions wait, and otherwise one a minute: the
	// block time moves on (windows close by it) without a block every
	// timeout_commit.
	cfg.Consensus.CreateEmptyBlocks = true
	cfg.Consensus.CreateEmptyBlocksInterval = time.Minute
	cfg.Instrumentation.Prometheus = false
	// Our API serves the ledger; CometBFT's transaction index would be a
	// second copy of every record.
	cfg.TxIndex.Indexer = "null"
	cmtcfg.WriteConfigFile(filepath.Join(dir, "config", "config.toml"), cfg)
	if _, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile()); err != nil {
		return Validator{}, fmt.Errorf("comet: node key: %w", err)
	}
	privval.LoadOrGenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	return validatorOf(cfg)
}

// WriteGenesis writes the CometBFT genesis of home h: the chain's
// validators and its epiledger genesis hash. Every node of the consortium
// writes the same one.
func WriteGenesis(h *home.Home, vals []Validator) error {
	st, _ := json.Marshal(AppState{GenesisHash: h.Genesis.Hash().String()})
	doc := &cmttypes.GenesisDoc{
		ChainID:         ChainID(&h.Genesis),
		GenesisTime:     time.Unix(h.Genesis.Time, 0).UTC(),
		InitialHeight:   1,
		ConsensusParams: cmttypes.DefaultConsensusParams(),
		AppState:        st,
	}
	for _, v := range vals {
		doc.Validators = append(doc.Validators, cmttypes.GenesisValidator{Address: v.PubKey.Address(), PubKey: v.PubKey, Power: v.Power, Name: v.Name})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return fmt.Errorf("comet: genesis: %w", err)
	}
	return doc.SaveAs(filepath.Join(Dir(h), "config", "genesis.json"))
}

// logger writes CometBFT's logs to slog: its errors as errors, the rest
// (a line per vote and block) at debug level.
type logger struct{ l *slog.Logger }

func newLogger(l *slog.Logger) cmtlog.Logger { return logger{l.With("module", "cometbft")} }

func (g logger) Debug(msg string, kv ...any) { g.l.Debug(msg, kv...) }
func (g logger) Info(msg string, kv ...any)  { g.l.Debug(msg, kv...) }
func (g logger) Error(msg string, kv ...any) { g.l.Error(msg, kv...) }
func (g logger) With(kv ...any) cmtlog.Logger {
	return logger{g.l.With(kv...)}
}

// ReadValidator reads the validator and node id of home h's CometBFT node
// (written by InitNode), for a genesis that names it.
func ReadValidator(h *home.Home) (Validator, error) {
	cfg, err := LoadConfig(h)
	if err != nil && !errors.Is(err, ErrNotConfigured) {
		return Validator{}, err
	}
	if cfg == nil {
		cfg = cmtcfg.DefaultConfig()
		cfg.SetRoot(Dir(h))
	}
	return validatorOf(cfg)
}

// validatorOf reads the node's keys: its validator (power 10) and node id.
func validatorOf(cfg *cmtcfg.Config) (Validator, error) {
	if err := keysPresent(cfg); err != nil {
		return Validator{}, err
	}
	nk, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return Validator{}, fmt.Errorf("comet: node key: %w", err)
	}
	pv := privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	pub, err := pv.GetPubKey()
	if err != nil {
		return Validator{}, fmt.Errorf("comet: validator key: %w", err)
	}
	return Validator{PubKey: pub, Power: 10, Name: cfg.Moniker, NodeID: string(nk.ID())}, nil
}

// keysPresent checks that the node's validator key and state are there:
// CometBFT's loader exits the process when they are not.
func keysPresent(cfg *cmtcfg.Config) error {
	for _, f := range []string{cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("comet: the validator's key files are not all there: %w", err)
		}
	}
	return nil
}
