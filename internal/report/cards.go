package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/state"
)

// Report cards and the open statistics they make (issue 16,
// docs/WARNING.md).

// CardView is a report card as it now stands, with its versions: what the
// district CDC reads (personal data: the patient's pseudonym, age band,
// sex and home district; audited).
type CardView struct {
	ID             string   `json:"id"`
	Disease        string   `json:"disease"`
	Classification string   `json:"classification"`
	Onset          string   `json:"onset"`
	Patient        string   `json:"patient"` // pn:<pseudonym>
	AgeBand        string   `json:"age_band"`
	Sex            string   `json:"sex"`
	Home           string   `json:"home"`
	Unit           string   `json:"unit"`
	Doctor         string   `json:"doctor"`
	Reported       string   `json:"reported"`
	Status         string   `json:"status"`
	Versions       []string `json:"versions"`
}

// AgeBandText is band as people read it: "45-49", "100+", "unknown".
func AgeBandText(band uint8) string {
	switch {
	case band == ledger.AgeUnknown:
		return "unknown"
	case band >= ledger.MaxAgeBand:
		return "100+"
	}
	return fmt.Sprintf("%d-%d", 5*int(band), 5*int(band)+4)
}

// Card checks a request for card id and returns its read, audited as a
// read of the card's patient at the time of the report. hospital, if not
// nil, is the key of the hospital asking: it reads its own cards only.
func (b *Builder) Card(id ledger.Hash, hospital *[32]byte) (*node.Read[*CardView], error) {
	c, ok, err := state.CardOf(b.N.DB, id)
	if err != nil {
		return nil, err
	}
	if !ok || hospital != nil && *hospital != c.Hospital {
		// Another hospital's card is answered as no card: a hospital
		// learns nothing of the others' patients.
		return nil, fmt.Errorf("%w: no report card %s of yours", blocks.ErrNotFound, id.String()[:16])
	}
	subject := []node.Subject{{Route: "card " + id.String()[:16], Person: c.Patient, From: c.Reported, To: c.Reported}}
	return node.NewRead(b.N, subject, func(*node.Receipt) (*CardView, error) {
		vs, err := state.CardVersions(b.N.DB, id)
		if err != nil {
			return nil, err
		}
		v := b.cardView(&c)
		for _, h := range vs {
			v.Versions = append(v.Versions, h.String())
		}
		return v, nil
	}), nil
}

func (b *Builder) cardView(c *state.Card) *CardView {
	return &CardView{ID: c.ID.String(), Disease: c.Disease, Classification: c.Class, Onset: c.Onset,
		Patient: node.PseudonymRef + ledger.Hash(c.Patient).String(), AgeBand: AgeBandText(c.AgeBand), Sex: c.Sex, Home: c.Home,
		Unit: c.Unit, Doctor: ledger.Hash(c.Doctor).String(), Reported: b.ts(c.Reported), Status: c.Status, Versions: []string{}}
}

// StatsDay is one day's figures of the open statistics.
type StatsDay struct {
	Date       string `json:"date"`
	Suspected  uint32 `json:"suspected"`
	Clinical   uint32 `json:"clinical"`
	Confirmed  uint32 `json:"confirmed"`
	New        uint32 `json:"new"`
	Cumulative uint64 `json:"cumulative"`
}

// Stats is GET /v1/public/stats's answer: a disease's cases reported per
// day in a region (summed over its districts), by classification, with
// the running total since the first report.
type Stats struct {
	Region  string     `json:"region"`
	Disease string     `json:"disease"`
	From    string     `json:"from"`
	To      string     `json:"to"`
	Days    []StatsDay `json:"days"`
}

// MaxStatsDays bounds one answer's window.
const MaxStatsDays = 3660

// Stats returns disease's daily counts in region from from to to (dates,
// YYYY-MM-DD, reporting days at +08:00; days without a report are left
// out). Nothing personal: counts only.
func (b *Builder) Stats(regionCode, disease, from, to string) (*Stats, error) {
	code, err := region.Parse(regionCode)
	if err != nil {
		return nil, fieldErr("region", "%v", err)
	}
	if !slices.Contains(ledger.Diseases, disease) {
		return nil, fieldErr("disease", "one of %v", ledger.Diseases)
	}
	lo, err := statsDay("from", from)
	if err != nil {
		return nil, err
	}
	hi, err := statsDay("to", to)
	if err != nil {
		return nil, err
	}
	if hi < lo {
		return nil, fieldErr("to", "before from")
	}
	if hi-lo >= MaxStatsDays {
		return nil, fieldErr("to", "at most %d days from from", MaxStatsDays)
	}
	all, err := state.CountsWithin(b.N.DB, disease, code, 0, hi)
	if err != nil {
		return nil, err
	}
	out := &Stats{Region: string(code), Disease: disease, From: from, To: to, Days: []StatsDay{}}
	var cum uint64
	for _, d := range all {
		cum += uint64(d.Total())
		if d.Day < lo {
			continue
		}
		out.Days = append(out.Days, StatsDay{Date: time.Unix(int64(d.Day)*86400, 0).UTC().Format(ledger.OnsetLayout),
			Suspected: d.Suspected, Clinical: d.Clinical, Confirmed: d.Confirmed, New: d.Total(), Cumulative: cum})
	}
	return out, nil
}

// statsDay reads a YYYY-MM-DD date as a reporting day.
func statsDay(field, s string) (uint32, error) {
	if err := ledger.CheckDate(field, s); err != nil {
		return 0, fieldErr(field, "a date, YYYY-MM-DD")
	}
	t, _ := time.Parse(ledger.OnsetLayout, s)
	return uint32(t.Unix() / 86400), nil
}

// CSV is s as comma-separated values, one line per day after a header.
func (s *Stats) CSV() []byte {
	out := []byte("region,disease,date,suspected,clinical,confirmed,new,cumulative\n")
	for _, d := range s.Days {
		out = fmt.Appendf(out, "%s,%s,%s,%d,%d,%d,%d,%d\n", s.Region, s.Disease, d.Date, d.Suspected, d.Clinical, d.Confirmed, d.New, d.Cumulative)
	}
	return out
}

// AgeBandOf reads AgeBandText's text back; unknown for anything else.
func AgeBandOf(s string) uint8 {
	for b := uint8(0); b <= ledger.MaxAgeBand; b++ {
		if AgeBandText(b) == s {
			return b
		}
	}
	return ledger.AgeUnknown
}
