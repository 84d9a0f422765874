package comet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
)

// The ceremony that makes a consortium (README, "A consortium of
// organisations"): each organisation generates its keys on its own
// machine (Keygen) and sends its card; the chain authority names every
// card's validator in the genesis (WriteConsortiumGenesis) and hands each
// organisation the kit (WriteKit); each organisation makes its node's
// home from the kit beside its keys (Setup).

// KeyCard is what an organisation sends the others: its name, its
// validator's consensus public key (Ed25519, 64 hex digits), the power
// it asks for, its CometBFT node id and p2p address, and its node key
// (keys/node.key's public half: the key its node signs audit records
// with, once the administrator grants it the role node). Nothing secret.
type KeyCard struct {
	Org       string `json:"organisation"`
	PublicKey string `json:"public_key"`
	Power     int64  `json:"power"`
	NodeID    string `json:"node_id"`
	P2P       string `json:"p2p"`
	NodeKey   string `json:"node_key,omitempty"`
}

// Peer is the card's persistent-peer address, "id@host:port".
func (c KeyCard) Peer() string { return c.NodeID + "@" + c.P2P }

// Keygen writes, under dir (a node home to be, new or holding only its
// cometbft/), the CometBFT config of an organisation's node and
// generates its node and validator keys on this machine; the keys never
// leave it. Run again, it keeps the keys and prints the same card.
func Keygen(dir string, o NodeOptions) (KeyCard, error) {
	if _, err := os.Stat(filepath.Join(dir, "genesis.json")); err == nil {
		return authorityKeygen(dir, o)
	}
	if err := home.CheckEmpty(dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "cometbft")); serr != nil {
			return KeyCard{}, err
		}
	}
	v, err := InitNode(&home.Home{Dir: dir}, o)
	if err != nil {
		return KeyCard{}, err
	}
	nk, err := home.NodeKey(dir)
	if err != nil {
		return KeyCard{}, err
	}
	return KeyCard{Org: o.Moniker, PublicKey: hex.EncodeToString(v.PubKey.Bytes()), Power: v.Power, NodeID: v.NodeID, P2P: o.P2P,
		NodeKey: hex.EncodeToString(nk)}, nil
}

// authorityKeygen is Keygen on the chain authority's own home: the
// organisation that holds the chain's keys (the health commission) runs
// its node on that home, so that one node of the consortium holds the
// secret (raw identifiers, the vault, oblivious pseudonyms). Its card
// names no node key: that node signs with the chain authority's key.
func authorityKeygen(dir string, o NodeOptions) (KeyCard, error) {
	h, err := home.Load(dir)
	if err != nil {
		return KeyCard{}, err
	}
	if h.Member() {
		return KeyCard{}, fmt.Errorf("comet: %s is already a member's node home (consortium setup): its card is the one keygen printed", dir)
	}
	var v Validator
	if cfg, err := LoadConfig(h); err == nil && keysPresent(cfg) == nil {
		// Run again: the same keys, the same card.
		if v, err = validatorOf(cfg); err != nil {
			return KeyCard{}, err
		}
		o.P2P = strings.TrimPrefix(cfg.P2P.ListenAddress, "tcp://")
		o.Moniker = cfg.Moniker
	} else if Configured(h) {
		return KeyCard{}, fmt.Errorf("comet: %s already has a CometBFT genesis: its node is configured", dir)
	} else if v, err = InitNode(h, o); err != nil {
		return KeyCard{}, err
	}
	return KeyCard{Org: o.Moniker, PublicKey: hex.EncodeToString(v.PubKey.Bytes()), Power: v.Power, NodeID: v.NodeID, P2P: o.P2P}, nil
}

// ReadCard reads a card (JSON, as keygen prints it) from a file.
func ReadCard(path string) (KeyCard, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return KeyCard{}, fmt.Errorf("comet: %w", err)
	}
	c, err := ParseCard(b)
	if err != nil {
		return KeyCard{}, fmt.Errorf("card %s: %w", path, err)
	}
	return c, nil
}

// ErrBadCard is returned by ParseCard for a card that does not read.
var ErrBadCard = errors.New("comet: bad card")

// ParseCard parses a card: one JSON object with no other field, an
// organisation name the ledger accepts, a 64-hex-digit Ed25519 key, a
// power from 1 to ledger.MaxValidatorPower (10 if absent), a node id of
// 40 hex digits and a HOST:PORT address. A card that does not is
// ErrBadCard, naming the field, and no card.
func ParseCard(b []byte) (KeyCard, error) {
	var c KeyCard
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return KeyCard{}, fmt.Errorf("%w: %v", ErrBadCard, err)
	}
	if d.More() {
		return KeyCard{}, fmt.Errorf("%w: more than one JSON value", ErrBadCard)
	}
	if c.Power == 0 {
		c.Power = 10
	}
	bad := func(field, msg string) (KeyCard, error) {
		return KeyCard{}, fmt.Errorf("%w: %s: %s", ErrBadCard, field, msg)
	}
	if c.Org == "" || len(c.Org) > ledger.MaxNameLen || ledger.CheckText("organisation", c.Org) != nil {
		return bad("organisation", fmt.Sprintf("1 to %d bytes of text", ledger.MaxNameLen))
	}
	if k, err := hex.DecodeString(c.PublicKey); err != nil || len(k) != ed25519.PubKeySize {
		return bad("public_key", "64 hex digits")
	}
	if c.Power < 1 || c.Power > ledger.MaxValidatorPower {
		return bad("power", fmt.Sprintf("1 to %d", int64(ledger.MaxValidatorPower)))
	}
	if id, err := hex.DecodeString(c.NodeID); err != nil || len(id) != 20 {
		return bad("node_id", "40 hex digits")
	}
	if host, port, err := net.SplitHostPort(c.P2P); err != nil || host == "" || port == "" {
		return bad("p2p", "HOST:PORT")
	}
	if k, err := hex.DecodeString(c.NodeKey); c.NodeKey != "" && (err != nil || len(k) != ed25519.PubKeySize) {
		return bad("node_key", "64 hex digits")
	}
	return c, nil
}

// validator is the card's validator.
func (c KeyCard) validator() (Validator, error) {
	k, err := hex.DecodeString(c.PublicKey)
	if err != nil || len(k) != ed25519.PubKeySize {
		return Validator{}, fmt.Errorf("comet: card of %q: public_key must be 64 hex digits", c.Org)
	}
	return Validator{PubKey: ed25519.PubKey(k), Power: c.Power, Name: c.Org, NodeID: c.NodeID}, nil
}

// WriteConsortiumGenesis names the cards' organisations and validators
// in the genesis of home h (before its first block) and writes the
// CometBFT genesis beside it (h's cometbft/config/genesis.json).
func WriteConsortiumGenesis(h *home.Home, cards []KeyCard) error {
	if len(cards) == 0 {
		return errors.New("comet: no cards: the genesis needs at least one validator")
	}
	vals := make([]Validator, len(cards))
	for i, c := range cards {
		v, err := c.validator()
		if err != nil {
			return err
		}
		vals[i] = v
	}
	gv, err := GenesisValidators(vals)
	if err != nil {
		return err
	}
	if err := h.SetValidators(gv); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(Dir(h), "config"), 0o700); err != nil {
		return fmt.Errorf("comet: %w", err)
	}
	if err := WriteGenesis(h, vals); err != nil {
		return err
	}
	return ownNode(h, cards)
}

// ownNode makes the chain authority's home, when keygen gave it its own
// node keys, the home of that node: its peers are the other cards'
// nodes, its engine CometBFT.
func ownNode(h *home.Home, cards []KeyCard) error {
	cfg, err := LoadConfig(h)
	if err != nil || keysPresent(cfg) != nil {
		return nil // the genesis maker runs no node of its own
	}
	self, err := validatorOf(cfg)
	if err != nil {
		return err
	}
	var peers []string
	for _, c := range cards {
		if c.NodeID != self.NodeID {
			peers = append(peers, c.Peer())
		}
	}
	cfg.P2P.PersistentPeers = strings.Join(peers, ",")
	cmtcfg.WriteConfigFile(filepath.Join(Dir(h), "config", "config.toml"), cfg)
	return h.SetConfig(map[string]string{"kind": strconv.Quote("cometbft")})
}

// Kit files: what the chain authority hands an organisation.
const (
	KitCometGenesis = "cometbft-genesis.json"
	KitPeers        = "peers"
)

// WriteKit writes into out (new or empty) what a new node of h's chain
// needs: genesis.json and config.toml, the CometBFT genesis and peers
// (one "id@host:port" per line). Nothing in it is secret: the chain
// authority's key and the chain's secret stay on the authority's
// machine; the organisation's node signs with its own node key.
func WriteKit(h *home.Home, out string, peers []string) error {
	if !Configured(h) {
		return ErrNotConfigured
	}
	if err := home.WriteKitFiles(h, out); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(Dir(h), "config", "genesis.json"))
	if err != nil {
		return fmt.Errorf("comet: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, KitCometGenesis), b, 0o644); err != nil {
		return fmt.Errorf("comet: %w", err)
	}
	return os.WriteFile(filepath.Join(out, KitPeers), []byte(strings.Join(peers, "\n")+"\n"), 0o644)
}

// NodePeers are the peers a node of home h knows: itself and its
// persistent peers (for a kit written from a running node's home).
func NodePeers(h *home.Home) ([]string, error) {
	cfg, err := LoadConfig(h)
	if err != nil {
		return nil, err
	}
	v, err := validatorOf(cfg)
	if err != nil {
		return nil, err
	}
	peers := []string{v.NodeID + "@" + strings.TrimPrefix(cfg.P2P.ListenAddress, "tcp://")}
	for _, p := range strings.Split(cfg.P2P.PersistentPeers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			peers = append(peers, p)
		}
	}
	return peers, nil
}

// SetupOptions say how Setup makes a node's home.
type SetupOptions struct {
	// Peers replace the kit's peers when given.
	Peers []string
	// API is the address the node's API listens on ("127.0.0.1:7070").
	API string
}

// Setup makes dir, which holds the keys Keygen generated, the home of a
// node of the kit's chain: the kit's genesis, config and keys, the
// CometBFT genesis (refused unless it is this genesis's), the peers,
// engine.kind = "cometbft". The node starts as a non-validator unless the
// genesis names its key; it syncs the chain from its peers.
func Setup(dir, kit string, o SetupOptions) (*home.Home, error) {
	cardHome := &home.Home{Dir: dir}
	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(Dir(cardHome))
	if err := keysPresent(cfg); err != nil {
		return nil, fmt.Errorf("%w (run epiledger consortium keygen --home %s first)", err, dir)
	}
	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(kit, KitCometGenesis))
	if err != nil {
		return nil, fmt.Errorf("comet: kit: %w", err)
	}
	peers := o.Peers
	if len(peers) == 0 {
		b, err := os.ReadFile(filepath.Join(kit, KitPeers))
		if err != nil {
			return nil, fmt.Errorf("comet: kit: %w", err)
		}
		peers = strings.Fields(string(b))
	}
	h, err := home.FromKit(kit, dir, "cometbft")
	if err != nil {
		return nil, err
	}
	var st AppState
	if err := json.Unmarshal(doc.AppState, &st); err != nil || st.GenesisHash != h.Genesis.Hash().String() || doc.ChainID != ChainID(&h.Genesis) {
		return nil, errors.New("comet: kit: the CometBFT genesis is not the kit genesis.json's (its app_state or chain id differs)")
	}
	if err := doc.SaveAs(filepath.Join(Dir(h), "config", "genesis.json")); err != nil {
		return nil, fmt.Errorf("comet: %w", err)
	}
	c, err := LoadConfig(h)
	if err != nil {
		return nil, err
	}
	c.P2P.PersistentPeers = strings.Join(peers, ",")
	cmtcfg.WriteConfigFile(filepath.Join(Dir(h), "config", "config.toml"), c)
	set := map[string]string{"kind": strconv.Quote("cometbft")}
	if o.API != "" {
		set["listen"] = strconv.Quote(o.API)
	}
	if err := h.SetConfig(set); err != nil {
		return nil, err
	}
	return h, nil
}
