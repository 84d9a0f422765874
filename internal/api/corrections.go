package api

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// CorrectionView is a correction of a record, in JSON (GET
// /v1/tx/{hash}/corrections): what it does, why, and each party whose
// approval counts, named by what the genesis makes it.
type CorrectionView struct {
	ID       string `json:"id"`
	Action   string `json:"action"` // "annul" or "amend"
	In       string `json:"in,omitempty"`
	Out      string `json:"out,omitempty"`
	Site     string `json:"site,omitempty"`
	Reason   string `json:"reason"`
	Proposed uint64 `json:"proposed"`
	// Applied is the height it took effect at; 0 while pending.
	Applied   uint64      `json:"applied"`
	Quorum    int         `json:"quorum"`
	Approvals int         `json:"approvals"`
	Parties   []PartyView `json:"parties"`
}

// PartyView is a party whose approval of a correction counts.
type PartyView struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	Approved bool   `json:"approved"`
}

// corrections lists the corrections proposed for a record, applied or
// pending, oldest first. A correction names records and parties, never
// persons: it is no personal read. A hash that names no transaction on
// the ledger is a 404, as for GET /v1/tx/{hash} (the same lookup), not an
// empty list.
func (s *Server) corrections(r *http.Request) (any, error) {
	h, err := hashParam(r)
	if err != nil {
		return nil, err
	}
	if _, _, err := blocks.Locate(s.n.DB, h); err != nil {
		return nil, err
	}
	cs, err := s.n.Query.CorrectionsOf(h)
	if err != nil {
		return nil, err
	}
	rule, loc := &s.n.Home.Genesis.Corrections, s.n.Home.Config.Location()
	out := []CorrectionView{}
	for _, c := range cs {
		v := CorrectionView{ID: c.ID.String(), Action: "annul", Site: c.Site, Reason: c.Reason, Proposed: c.Proposed, Applied: c.Applied,
			Quorum: c.Quorum, Approvals: len(c.Approvals)}
		if c.Action == ledger.ActionAmend {
			v.Action = "amend"
			v.In, v.Out = time.Unix(c.In, 0).In(loc).Format(time.RFC3339), time.Unix(c.Out, 0).In(loc).Format(time.RFC3339)
		}
		for _, k := range c.Required {
			p := PartyView{Key: hex.EncodeToString(k[:]), Name: partyName(k, c.Regions, rule)}
			for _, a := range c.Approvals {
				p.Approved = p.Approved || a == k
			}
			v.Parties = append(v.Parties, p)
		}
		out = append(out, v)
	}
	return map[string]any{"corrections": out}, nil
}

// partyName names a required party of a correction of a record in regions:
// the authority of one or both regions, the administrator, or both roles
// when one key holds them.
func partyName(k [32]byte, regions [2]string, rule *state.CorrectionRule) string {
	var names []string
	var auth []string
	for i, r := range regions {
		if i == 1 && r == regions[0] {
			break
		}
		if a, ok := rule.AuthorityOf(r); ok && a == k {
			auth = append(auth, fmt.Sprintf("%q", r))
		}
	}
	switch len(auth) {
	case 1:
		names = append(names, "the authority of region "+auth[0])
	case 2:
		names = append(names, "the authority of regions "+auth[0]+" and "+auth[1])
	}
	if k == rule.Administrator {
		names = append(names, "the administrator")
	}
	if len(names) == 0 {
		return "a party of the genesis"
	}
	return strings.Join(names, " and ")
}
