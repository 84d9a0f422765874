package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
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
	Authority string `json:"authority"`
}

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
	k, err := ledger.ParseHash(req.Authority)
	if err != nil {
		return ledger.RegisterChild{}, errf(http.StatusBadRequest, "invalid", "authority", "want the %s authority's public key, 64 hex digits", relation)
	}
	code, err := region.Parse(req.Region)
	if err != nil {
		return ledger.RegisterChild{}, errf(http.StatusBadRequest, "invalid", "region", "%v", err)
	}
	if req.Engine == "" {
		req.Engine = ledger.EngineSolo
	}
	return ledger.RegisterChild{ChainID: req.ChainID, Region: string(code), Genesis: g, Engine: req.Engine, Authority: k}, nil
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
}

func (s *Server) childView(c *state.Child) ChildView {
	v := ChildView{ChainID: c.ChainID, Region: c.Region, Engine: c.Engine, Genesis: c.Genesis.String(),
		Authority: ledger.Hash(c.Authority).String(), Height: c.Height, Hash: c.Hash.String(),
		RegisteredTx: c.Registered.String()}
	if code, err := region.Parse(c.Region); err == nil {
		v.Level = code.Level().String()
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
		out = append(out, AnchorView{Height: a.Height, Hash: a.Hash.String(), StateHash: a.StateHash.String(),
			Time: time.Unix(0, a.Time).In(loc).Format(time.RFC3339Nano), Tx: a.Tx.String()})
	}
	return map[string]any{"child": s.childView(c), "anchors": out, "truncated": truncated}, nil
}
