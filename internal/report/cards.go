package report

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/detect"
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
	Place          string   `json:"place,omitempty"` // "30.59,114.30": a cell of 0.01 degree, if the card gives one
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
	v := &CardView{ID: c.ID.String(), Disease: c.Disease, Classification: c.Class, Onset: c.Onset,
		Patient: node.PseudonymRef + ledger.Hash(c.Patient).String(), AgeBand: AgeBandText(c.AgeBand), Sex: c.Sex, Home: c.Home,
		Unit: c.Unit, Doctor: ledger.Hash(c.Doctor).String(), Reported: b.ts(c.Reported), Status: c.Status, Versions: []string{}}
	if c.Placed {
		v.Place = c.Place.String()
	}
	return v
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

// RuleView is a warning rule as GET /v1/rules lists it.
type RuleView struct {
	Name     string `json:"name"`
	Disease  string `json:"disease"`
	Method   string `json:"method"`
	Cases    uint32 `json:"cases,omitempty"`
	Days     uint16 `json:"days,omitempty"`
	Baseline uint16 `json:"baseline,omitempty"`
	Alpha    string `json:"alpha,omitempty"`
	MinSigma string `json:"min_sigma,omitempty"`
	// Years, Weeks and Percentile are a percentile rule's, defaults
	// filled in (Days its window, Cases its least alarming count).
	Years      int    `json:"years,omitempty"`
	Weeks      int    `json:"weeks,omitempty"`
	Percentile int    `json:"percentile,omitempty"`
	Meters     uint32 `json:"meters,omitempty"` // a space-time rule's distance
	Over       string `json:"over,omitempty"`   // the region whose total it runs on ("": each district's)
	Response   string `json:"response"`
	Active     bool   `json:"active"`
	Tx         string `json:"tx"`
}

// Rules lists the warning rules, retired ones too.
func (b *Builder) Rules() ([]RuleView, error) {
	rs, err := state.Rules(b.N.DB)
	if err != nil {
		return nil, err
	}
	out := []RuleView{}
	for _, r := range rs {
		v := RuleView{Name: r.Name, Disease: r.Disease, Method: r.Method, Cases: r.Cases, Days: r.Days, Baseline: r.Baseline, Meters: r.Meters, Over: r.Over,
			Response: responseLevels[min(r.Level, 4)], Active: r.Active, Tx: r.Tx.String()}
		if r.Alpha != 0 {
			v.Alpha = detect.Fixed(r.Alpha).String()
		}
		if r.Method == ledger.RulePercentile {
			v.Years, v.Weeks, v.Percentile = cmp.Or(int(r.Years), 3), cmp.Or(int(r.Weeks), 2), cmp.Or(int(r.WarningRule.Percentile), 80)
			v.Days, v.Cases = cmp.Or(r.Days, 7), cmp.Or(r.Cases, 1)
		}
		if r.MinSigma != 0 {
			v.MinSigma = detect.Fixed(r.MinSigma).String()
		}
		out = append(out, v)
	}
	return out, nil
}

// AlertView is an alert as GET /v1/alerts lists it: nothing personal (the
// cards by id, counts).
type AlertView struct {
	ID       string   `json:"id"`
	Rule     string   `json:"rule"`
	Method   string   `json:"method"`
	Disease  string   `json:"disease"`
	Region   string   `json:"region"`
	Site     string   `json:"site,omitempty"`
	Date     string   `json:"date"`
	Response string   `json:"response"`
	Observed uint32   `json:"observed"`
	Upper    string   `json:"upper"`
	Raised   string   `json:"raised"`
	Height   uint64   `json:"height"`
	Records  []string `json:"records"`
	Status   string   `json:"status"`
	Assignee string   `json:"assignee,omitempty"`
	// ResponseSeconds is the time from the signal to its first action
	// (absent while none).
	ResponseSeconds *int64 `json:"response_seconds,omitempty"`
	Updated         string `json:"updated,omitempty"`
}

// RegionResponse sums up how fast one region's alerts were answered.
type RegionResponse struct {
	Region    string `json:"region"`
	Alerts    int    `json:"alerts"`
	Responded int    `json:"responded"`
	// MedianSeconds is the median time to the first response of those
	// answered (absent when none is).
	MedianSeconds *int64 `json:"median_seconds,omitempty"`
}

// Alerts is GET /v1/alerts's answer.
type Alerts struct {
	Alerts  []AlertView      `json:"alerts"`
	Regions []RegionResponse `json:"regions"`
}

// Alerts lists the alerts raised on this chain, the latest first, with
// the response times per region.
func (b *Builder) Alerts() (*Alerts, error) {
	as, err := state.Alerts(b.N.DB)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(as, func(x, y state.Alert) int {
		if x.Height != y.Height {
			return cmp.Compare(y.Height, x.Height)
		}
		return bytes.Compare(x.ID[:], y.ID[:])
	})
	out := &Alerts{Alerts: []AlertView{}, Regions: []RegionResponse{}}
	times := map[string][]int64{}
	counts := map[string]int{}
	for _, a := range as {
		v := AlertView{ID: a.ID.String(), Rule: a.Rule, Method: a.Method, Disease: a.Disease, Region: a.Region, Site: a.Site,
			Date: time.Unix(int64(a.Day)*86400, 0).UTC().Format(ledger.OnsetLayout), Response: responseLevels[min(a.Level, 4)],
			Observed: a.Observed, Upper: detect.Fixed(a.Upper).String(), Raised: b.ts(a.Raised), Height: a.Height, Records: []string{}, Status: a.Status}
		for _, r := range a.Records {
			v.Records = append(v.Records, r.String())
		}
		if a.Assignee != ([32]byte{}) {
			v.Assignee = ledger.Hash(a.Assignee).String()
		}
		counts[a.Region]++
		if a.FirstResponse != 0 {
			s := a.FirstResponse - a.Raised
			v.ResponseSeconds, v.Updated = &s, b.ts(a.Updated)
			times[a.Region] = append(times[a.Region], s)
		}
		out.Alerts = append(out.Alerts, v)
	}
	for _, r := range slices.Sorted(maps.Keys(counts)) {
		rr := RegionResponse{Region: r, Alerts: counts[r], Responded: len(times[r])}
		if ts := times[r]; len(ts) > 0 {
			slices.Sort(ts)
			m := ts[(len(ts)-1)/2]
			rr.MedianSeconds = &m
		}
		out.Regions = append(out.Regions, rr)
	}
	return out, nil
}
