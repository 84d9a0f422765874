package investigate

import (
	"sort"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
)

// FollowUpQuery asks for the contacts of a case to follow up.
type FollowUpQuery struct {
	Person   ledger.Pseudonym
	From, To int64
	// Days is the quarantine or observation period after the last
	// exposure.
	Days int
	// MinOverlap is the least time together off transport (negative: the
	// rules' default).
	MinOverlap time.Duration
}

// FollowUp is a contact to call: first and last exposure, how many
// meetings and where, whether they are a case, and Until, the end of
// their period (last exposure + Days).
type FollowUp struct {
	Met
	Until int64
}

// FollowUp lists the case's contacts in the window, one per person, most
// recently exposed first (then by pseudonym), each with the end of their
// quarantine or observation period.
func (iv *Investigator) FollowUp(fq FollowUpQuery) ([]FollowUp, error) {
	cases, err := iv.Cases()
	if err != nil {
		return nil, err
	}
	ms, err := iv.q.Contacts(fq.Person, fq.From, fq.To, time.Duration(iv.minOverlap(fq.MinOverlap))*time.Second)
	if err != nil {
		return nil, err
	}
	out := []FollowUp{}
	for _, m := range aggregate(ms, cases) {
		out = append(out, FollowUp{Met: m, Until: m.Last + int64(fq.Days)*86400})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Last != out[j].Last {
			return out[i].Last > out[j].Last
		}
		return lessP(out[i].Person, out[j].Person)
	})
	return out, nil
}
