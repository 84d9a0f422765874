package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// CloseRequest advances the validation clock.
type CloseRequest struct {
	Until string `json:"until"` // RFC 3339; windows ending before until - grace close
}

// CloseReply is the committed close_windows transaction and what its
// block decided.
type CloseReply struct {
	TxResult
	// WindowsDecided counts the person windows the block closed (each
	// sealed one person block); RecordsRejected the records the
	// longest-chain rule rejected in them.
	WindowsDecided  int `json:"windows_decided"`
	RecordsRejected int `json:"records_rejected"`
}

// closeWindows signs a close_windows transaction with the authority's key,
// commits it and says what its block decided.
func (s *Server) closeWindows(r *http.Request) (any, error) {
	var req CloseRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	until, err := time.Parse(time.RFC3339, req.Until)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "until", "want an RFC 3339 time, e.g. 2020-01-22T06:00:00+08:00")
	}
	rc, err := s.commitAsAuthority(r, &ledger.CloseWindows{Until: until.Unix()})
	if err != nil {
		return nil, err
	}
	windows, rejected, err := decidedAt(s.n.DB, rc.Height)
	if err != nil {
		return nil, err
	}
	return CloseReply{TxResult: s.result(rc), WindowsDecided: windows, RecordsRejected: rejected}, nil
}

// decidedAt counts what the block at height decided: the person windows it
// closed (each sealed one person block) and the records the longest-chain
// rule rejected in them (from the decisions stored for windows with
// conflicts). It reads every person block and decision: a close is rare.
func decidedAt(r store.Reader, height uint64) (windows, rejected int, err error) {
	err = scanDecoded(r, store.TabPBlock, "person block", ledger.DecodePersonBlock, func(pb *ledger.PersonBlock) {
		if pb.Height == height {
			windows++
		}
	})
	if err != nil {
		return 0, 0, err
	}
	err = scanDecoded(r, store.TabDecision, "decision", state.DecodeDecision, func(d *state.Decision) {
		if d.Height == height {
			rejected += len(d.Rejected)
		}
	})
	if err != nil {
		return 0, 0, err
	}
	return windows, rejected, nil
}

// scanDecoded decodes every value of table tab and passes it to fn; a
// value that does not decode is corruption.
func scanDecoded[T any](r store.Reader, tab byte, what string, decode func([]byte) (T, error), fn func(T)) error {
	var bad error
	lo, hi := store.TablePrefix(tab)
	if err := r.Scan(lo, hi, func(_, v []byte) bool {
		x, err := decode(v)
		if err != nil {
			bad = fmt.Errorf("%w: %s: %v", store.ErrCorrupt, what, err)
			return false
		}
		fn(x)
		return true
	}); err != nil {
		return err
	}
	return bad
}
