package report

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// ValidatorView is one organisation of the consortium as the ledger
// records it: its validator's consensus key, its power (0 once it left)
// and the height that decided it (0: the genesis).
type ValidatorView struct {
	Org     string `json:"organisation"`
	Key     string `json:"public_key"`
	Power   int64  `json:"power"`
	Decided uint64 `json:"decided"`
}

// ValidatorChangeView is a proposed validator change with its approvals.
type ValidatorChangeView struct {
	ID        string      `json:"id"`
	Org       string      `json:"organisation"`
	Key       string      `json:"public_key"`
	Power     int64       `json:"power"`
	Reason    string      `json:"reason"`
	Proposed  uint64      `json:"proposed"`
	Decided   uint64      `json:"decided"` // 0 while pending
	Quorum    int         `json:"quorum"`
	Approvals int         `json:"approvals"`
	Parties   []PartyView `json:"parties"`
}

// ValidatorsView is the consortium's validator set and its changes.
type ValidatorsView struct {
	Validators []ValidatorView       `json:"validators"`
	Changes    []ValidatorChangeView `json:"changes"`
}

// Validators reads the validator set and every proposed change from one
// snapshot of the ledger, changes in the order they were proposed.
func (b *Builder) Validators() (*ValidatorsView, error) {
	snap := b.N.DB.Snapshot()
	defer snap.Close()
	g := &b.N.Home.Genesis
	vs, err := state.ReadValidators(snap, g)
	if err != nil {
		return nil, err
	}
	out := &ValidatorsView{Validators: []ValidatorView{}, Changes: []ValidatorChangeView{}}
	for _, v := range vs {
		out.Validators = append(out.Validators, ValidatorView{Org: v.Org, Key: hex.EncodeToString(v.Key[:]), Power: v.Power, Decided: v.Decided})
	}
	lo, hi := store.ValidatorChangeRange()
	var serr error
	err = snap.Scan(lo, hi, func(_, v []byte) bool {
		p, err := state.DecodeValidatorProposal(v)
		if err != nil {
			serr = err
			return false
		}
		c := ValidatorChangeView{ID: p.ID.String(), Org: p.Change.Org, Key: hex.EncodeToString(p.Change.Key[:]), Power: p.Change.Power,
			Reason: p.Change.Reason, Proposed: p.Proposed, Decided: p.Decided, Quorum: p.Quorum, Approvals: len(p.Approvals)}
		for _, k := range p.Required {
			pv := PartyView{Key: hex.EncodeToString(k[:]), Name: authorityName(k, &g.Corrections)}
			for _, a := range p.Approvals {
				pv.Approved = pv.Approved || a == k
			}
			c.Parties = append(c.Parties, pv)
		}
		out.Changes = append(out.Changes, c)
		return true
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out.Changes, func(i, j int) bool { return out.Changes[i].Proposed < out.Changes[j].Proposed })
	return out, nil
}

// authorityName names an authority of the genesis: the regions it is
// the authority of, the administrator, or both.
func authorityName(k [32]byte, rule *state.CorrectionRule) string {
	var names []string
	for _, a := range rule.Authorities {
		if a.Key == k {
			names = append(names, fmt.Sprintf("the authority of region %q", a.Region))
		}
	}
	if k == rule.Administrator {
		names = append(names, "the administrator")
	}
	if len(names) == 0 {
		return "a party of the genesis"
	}
	return strings.Join(names, " and ")
}
