package api

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/state"
)

// A parent chain's children (issue 15, docs/REGIONS.md): register a child
// region's chain, list the children and their anchored headers. Anchors
// themselves arrive as ordinary transactions (POST /v1/txs), signed by the
// child's authority and relayed by any key with a role that may submit.

// ChildRequest registers a child chain: POST /v1/children (administrator;
// the node signs the register_child transaction as the chain authority).
type ChildRequest struct {
	ChainID   string `json:"chain_id"`
	Region    string `json:"region"`
	Genesis   string `json:"genesis"`
	Engine    string `json:"engine"`
	Authority string `json:"authority,omitempty"`
	// A CometBFT chain (engine "cometbft"): its genesis validators and
	// time (Unix seconds, the genesis file's "time"), and its light
	// client's trusting period and maximum clock drift, in seconds
	// (default 14 days and 10 seconds).
	Validators     []ChildValidator `json:"validators,omitempty"`
	GenesisTime    int64            `json:"genesis_time,omitempty"`
	TrustingPeriod int64            `json:"trusting_period,omitempty"`
	MaxClockDrift  int64            `json:"max_clock_drift,omitempty"`
}

// ChildValidator is a CometBFT chain's genesis validator: its consensus
// key (Ed25519, hex) and power.
type ChildValidator struct {
	Key   string `json:"key"`
	Power int64  `json:"power"`
}

// Defaults of a CometBFT child's light client.
const (
	DefaultTrustingPeriod = 14 * 24 * 3600
	DefaultMaxClockDrift  = 10
)

func (s *Server) registerChild(r *http.Request) (any, error) {
	b, err := chainRequest(r, "child")
	if err != nil {
		return nil, err
	}
	rc, err := s.commitAsAuthority(r, &b)
	if err != nil {
		return nil, err
	}
	return s.result(rc), nil
}

// chainRequest reads the body of POST /v1/children or /v1/parent: the
// other chain, of relation ("child", "parent"), as a register_child's
// fields.
func chainRequest(r *http.Request, relation string) (ledger.RegisterChild, error) {
	var req ChildRequest
	if err := decode(r, &req); err != nil {
		return ledger.RegisterChild{}, err
	}
	g, err := ledger.ParseHash(req.Genesis)
	if err != nil {
		return ledger.RegisterChild{}, errf(http.StatusBadRequest, "invalid", "genesis", "want the %s's genesis hash, 64 hex digits", relation)
	}
	code, err := region.Parse(req.Region)
	if err != nil {
		return ledger.RegisterChild{}, errf(http.StatusBadRequest, "invalid", "region", "%v", err)
	}
	if req.Engine == "" {
		req.Engine = ledger.EngineSolo
	}
	b := ledger.RegisterChild{ChainID: req.ChainID, Region: string(code), Genesis: g, Engine: req.Engine}
	if req.Engine != ledger.EngineCometBFT || req.Authority != "" {
		k, err := ledger.ParseHash(req.Authority)
		if err != nil {
			return ledger.RegisterChild{}, errf(http.StatusBadRequest, "invalid", "authority", "want the %s authority's public key, 64 hex digits", relation)
		}
		b.Authority = k
	}
	if req.Engine != ledger.EngineCometBFT {
		if len(req.Validators) != 0 || req.GenesisTime != 0 || req.TrustingPeriod != 0 || req.MaxClockDrift != 0 {
			return ledger.RegisterChild{}, errf(http.StatusBadRequest, "invalid", "validators", "only a CometBFT %s names validators, a genesis time and light-client parameters", relation)
		}
		return b, nil
	}
	if len(req.Validators) == 0 || len(req.Validators) > ledger.MaxChildValidators {
		return ledger.RegisterChild{}, errf(http.StatusBadRequest, "invalid", "validators", "a CometBFT %s names its 1 to %d genesis validators", relation, ledger.MaxChildValidators)
	}
	for i, v := range req.Validators {
		k, err := ledger.ParseHash(v.Key)
		if err != nil {
			return ledger.RegisterChild{}, errf(http.StatusBadRequest, "invalid", "validators", "validator %d: want its consensus key, 64 hex digits", i)
		}
		b.Validators = append(b.Validators, ledger.ChildValidator{Key: k, Power: v.Power})
	}
	b.GenesisTime, b.TrustingPeriod, b.MaxClockDrift = req.GenesisTime, req.TrustingPeriod, req.MaxClockDrift
	if b.TrustingPeriod == 0 {
		b.TrustingPeriod = DefaultTrustingPeriod
	}
	if b.MaxClockDrift == 0 {
		b.MaxClockDrift = DefaultMaxClockDrift
	}
	return b, nil
}

// registerParent registers this chain's parent: POST /v1/parent
// (administrator; a register_parent signed by the chain authority). The
// same body as POST /v1/children.
func (s *Server) registerParent(r *http.Request) (any, error) {
	b, err := chainRequest(r, "parent")
	if err != nil {
		return nil, err
	}
	rc, err := s.commitAsAuthority(r, &ledger.RegisterParent{RegisterChild: b})
	if err != nil {
		return nil, err
	}
	return s.result(rc), nil
}

// parent shows this chain's parent and its latest anchored header: GET
// /v1/parent (404 when none is registered).
func (s *Server) parent(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	p, ok, err := state.ParentOf(s.n.DB)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(http.StatusNotFound, "not_found", "", "this chain has registered no parent (POST /v1/parent)")
	}
	return s.childView(p), nil
}

// ChildView is a child chain as GET /v1/children lists it.
type ChildView struct {
	ChainID   string `json:"chain_id"`
	Region    string `json:"region"`
	Level     string `json:"level"`
	Engine    string `json:"engine"`
	Genesis   string `json:"genesis"`
	Authority string `json:"authority"`
	// Height, Hash and Time are the latest anchored header's (0 and the
	// genesis hash before the first).
	Height uint64 `json:"height"`
	Hash   string `json:"hash"`
	Time   string `json:"time,omitempty"`
	// RegisteredTx is the register_child transaction's id.
	RegisteredTx string `json:"registered_tx"`
	// CometBFT is a CometBFT chain's light client (absent for a solo one).
	CometBFT *LightView `json:"cometbft,omitempty"`
}

// LightView is what the parent keeps to verify a CometBFT child's headers.
type LightView struct {
	ChainID        string `json:"chain_id"`
	TrustingPeriod int64  `json:"trusting_period"`
	MaxClockDrift  int64  `json:"max_clock_drift"`
	// FrozenAt is this chain's height at which two contradicting verified
	// headers froze the child; EvidenceTx the anchor that brought the
	// second (both absent while it is not frozen).
	FrozenAt   uint64 `json:"frozen_at,omitempty"`
	EvidenceTx string `json:"evidence_tx,omitempty"`
}

func (s *Server) childView(c *state.Child) ChildView {
	v := ChildView{ChainID: c.ChainID, Region: c.Region, Engine: c.Engine, Genesis: c.Genesis.String(),
		Authority: ledger.Hash(c.Authority).String(), Height: c.Height, Hash: c.Hash.String(),
		RegisteredTx: c.Registered.String()}
	if code, err := region.Parse(c.Region); err == nil {
		v.Level = code.Level().String()
	}
	if l := c.Light; l != nil {
		v.CometBFT = &LightView{ChainID: l.CometChainID, TrustingPeriod: l.TrustingPeriod, MaxClockDrift: l.MaxClockDrift, FrozenAt: l.Frozen}
		if l.Frozen != 0 {
			v.CometBFT.EvidenceTx = l.Evidence.String()
		}
	}
	if c.Height > 0 {
		v.Time = time.Unix(0, c.Time).In(s.n.Home.Config.Location()).Format(time.RFC3339Nano)
	}
	return v
}

// listChildren lists the child chains: GET /v1/children.
func (s *Server) listChildren(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	cs, err := state.Children(s.n.DB)
	if err != nil {
		return nil, err
	}
	out := []ChildView{}
	for _, c := range cs {
		out = append(out, s.childView(c))
	}
	return map[string]any{"children": out}, nil
}

// AnchorView is one anchored header of a child.
type AnchorView struct {
	Height    uint64 `json:"height"`
	Hash      string `json:"hash"`
	StateHash string `json:"state_hash"`
	Time      string `json:"time"`
	Tx        string `json:"tx"`
	// A CometBFT child's header: the hashes it commits to, hex (its hash
	// is the CometBFT block hash, its state hash the application hash:
	// the child's state after the block before).
	ValidatorsHash     string `json:"validators_hash,omitempty"`
	NextValidatorsHash string `json:"next_validators_hash,omitempty"`
	LastBlockHash      string `json:"last_block_hash,omitempty"`
	LastResultsHash    string `json:"last_results_hash,omitempty"`
	DataHash           string `json:"data_hash,omitempty"`
}

// MaxAnchorsListed bounds one listing of a child's anchors.
const MaxAnchorsListed = 10000

// childAnchors lists a child's anchored headers: GET
// /v1/children/{chain}/anchors?from=&to= (heights; at most 10,000).
func (s *Server) childAnchors(r *http.Request) (any, error) {
	if err := onlyParams(r, "from", "to"); err != nil {
		return nil, err
	}
	chain := r.PathValue("chain")
	c, ok, err := state.ChildOf(s.n.DB, chain)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(http.StatusNotFound, "not_found", "chain", "no child chain of that id is registered here")
	}
	from, to := uint64(1), ^uint64(0)
	for _, p := range []struct {
		name string
		dst  *uint64
	}{{"from", &from}, {"to", &to}} {
		if v := r.URL.Query().Get(p.name); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n < 1 {
				return nil, errf(http.StatusBadRequest, "invalid", p.name, "want a height, a whole number from 1")
			}
			*p.dst = n
		}
	}
	if to < from {
		return nil, errf(http.StatusBadRequest, "invalid", "to", "below from")
	}
	as, err := state.Anchors(s.n.DB, chain, from, to, MaxAnchorsListed+1)
	if err != nil {
		return nil, err
	}
	truncated := len(as) > MaxAnchorsListed
	if truncated {
		as = as[:MaxAnchorsListed]
	}
	out := []AnchorView{}
	loc := s.n.Home.Config.Location()
	for _, a := range as {
		v := AnchorView{Height: a.Height, Hash: a.Hash.String(), StateHash: a.StateHash.String(),
			Time: time.Unix(0, a.Time).In(loc).Format(time.RFC3339Nano), Tx: a.Tx.String()}
		if l := a.Light; l != nil {
			v.ValidatorsHash, v.NextValidatorsHash, v.LastBlockHash = hex.EncodeToString(l.ValidatorsHash), hex.EncodeToString(l.NextValidatorsHash), hex.EncodeToString(l.LastBlockHash)
			v.LastResultsHash, v.DataHash = hex.EncodeToString(l.LastResultsHash), hex.EncodeToString(l.DataHash)
		}
		out = append(out, v)
	}
	return map[string]any{"child": s.childView(c), "anchors": out, "truncated": truncated}, nil
}

// LightBlockView is a CometBFT chain's signed header with the validator
// set that signed it, in CometBFT's protobuf encoding (base64 in JSON):
// what a relay carries into a parent chain as a light anchor.
type LightBlockView struct {
	Height       int64  `json:"height"`
	SignedHeader []byte `json:"signed_header"`
	Validators   []byte `json:"validators"`
}

// lightBlock serves GET /v1/light-blocks/{height} on a CometBFT node (404
// on a solo one, and for a height it has not committed with a commit).
func (s *Server) lightBlock(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	h, err := strconv.ParseInt(r.PathValue("height"), 10, 64)
	if err != nil || h < 1 {
		return nil, errf(http.StatusBadRequest, "invalid", "height", "want a height, a whole number from 1")
	}
	p, err := s.n.Prover()
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errf(http.StatusNotFound, "not_found", "", "this chain runs on the solo engine: its headers are anchored as signed by its authority (epiledger anchor relay)")
	}
	sh, vals, err := p.LightBlock(h)
	if err != nil {
		return nil, errf(http.StatusNotFound, "not_found", "height", "no signed header at that height yet")
	}
	a, err := lightclient.Encode(sh, vals, nil)
	if err != nil {
		return nil, err
	}
	return LightBlockView{Height: h, SignedHeader: a.SignedHeader, Validators: a.Validators}, nil
}
