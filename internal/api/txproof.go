package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
)

// relayable says whether a relay may read the proof of raw: an anchor,
// a register_child or register_parent, an intelligence confirmation or
// digest, or an access grant: what relays carry between chains.
func relayable(raw []byte) bool {
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		return false
	}
	switch tx.Body.Kind() {
	case ledger.KindAnchor, ledger.KindLightAnchor, ledger.KindRegisterChild, ledger.KindRegisterParent, ledger.KindIntelConfirm, ledger.KindIntelSummary, ledger.KindIntelSummaryBFT,
		ledger.KindAccessGrant, ledger.KindAccessRevoke, ledger.KindPublishStats:
		return true
	}
	return false
}

// proof serves GET /v1/tx/{hash}/proof: the inclusion proof of an
// accepted transaction and, on a consortium node, the consortium section
// (docs/API.md). While the block after the transaction's is not committed
// (its header signs the transaction's result and the state after it), the
// answer is 425 too_early, field "consortium", with a Retry-After.
func (s *Server) proof(r *http.Request) (any, error) {
	id, err := hashParam(r)
	if err != nil {
		return nil, err
	}
	p, err := blocks.Prove(s.n.DB, id)
	if err != nil {
		return nil, err
	}
	if principalOf(r).Role == ledger.RoleRelay && !relayable(p.Tx) {
		// A relay proves what it carries to another chain, nothing else:
		// other transactions may name persons.
		return nil, errf(http.StatusForbidden, "forbidden", "", "a relay reads the proofs of anchors and intelligence confirmations and digests only")
	}
	return s.withConsortium(p)
}

// txProof is the inclusion proof of transaction id, with its consortium
// section on a consortium node.
func (s *Server) txProof(id ledger.Hash) (*consortium.TxProof, error) {
	p, err := blocks.Prove(s.n.DB, id)
	if err != nil {
		return nil, err
	}
	return s.withConsortium(p)
}

// withConsortiumAll is ps as the API answers them (withConsortium), in
// their order: never nil, so that no proofs is an empty list.
func (s *Server) withConsortiumAll(ps []*blocks.Proof) ([]consortium.TxProof, error) {
	out := []consortium.TxProof{}
	for _, p := range ps {
		tp, err := s.withConsortium(p)
		if err != nil {
			return nil, err
		}
		out = append(out, *tp)
	}
	return out, nil
}

// withConsortium is p as the API answers it: on a consortium node, with
// the consortium section (425 until the next block signs it).
func (s *Server) withConsortium(p *blocks.Proof) (*consortium.TxProof, error) {
	out := &consortium.TxProof{ProofView: blocks.ProofJSON(p)}
	cp, err := s.n.Prover()
	if err != nil {
		return nil, err
	}
	if cp != nil {
		c, err := cp.ConsortiumProof(p.Header.Height, p.Tx)
		if errors.Is(err, consortium.ErrPending) {
			return nil, &Error{Status: http.StatusTooEarly, Code: "too_early", Field: "consortium", RetryAfter: time.Second,
				Msg: "block " + strconv.FormatUint(p.Header.Height+1, 10) + ", whose signed header commits to this transaction's result and to the state after it, is not committed yet: ask again in a moment"}
		}
		if errors.Is(err, consortium.ErrPruned) {
			return nil, &Error{Status: http.StatusGone, Code: "pruned", Field: "consortium", Msg: strings.TrimPrefix(err.Error(), "consortium: ")}
		}
		if err != nil {
			return nil, err
		}
		if out.Consortium, err = consortium.ViewOf(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}
