package investigate

import "sort"

// DefaultPrivateKinds are the site kinds RiskSites leaves out unless told
// otherwise: a case's home is personal data, and a device is no place.
var DefaultPrivateKinds = []string{"home", "device"}

// RiskQuery asks for the sites to publish.
type RiskQuery struct {
	From, To int64
	// Status selects the cases as in ClusterQuery.
	Status string
	// Exclude lists site kinds never published; nil means
	// DefaultPrivateKinds.
	Exclude []string
}

// Period is a time range, Unix seconds.
type Period struct {
	From, To int64
}

// RiskSite is a site that cases visited in the window, and when: the
// union of their visits (clipped to the window), as disjoint periods in
// time order. It holds no personal data: not who, not how many.
type RiskSite struct {
	Site    string
	Name    string
	Kind    string
	Region  string
	Parent  string
	LatE6   int32
	LonE6   int32
	Periods []Period
}

// RiskSites lists the sites visited by cases in the window, with the
// periods when a case was there and nothing about who, ordered by first
// period, then site. Sites of the excluded kinds (homes and devices by
// default) are left out.
func (iv *Investigator) RiskSites(rq RiskQuery) ([]RiskSite, error) {
	exclude := rq.Exclude
	if exclude == nil {
		exclude = DefaultPrivateKinds
	}
	bySite, err := iv.caseVisits(rq.Status, rq.From, rq.To)
	if err != nil {
		return nil, err
	}
	out := []RiskSite{}
	for num, cs := range bySite {
		s, err := iv.q.Site(num)
		if err != nil {
			return nil, err
		}
		if contains(exclude, s.Kind) {
			continue
		}
		ps := make([]Period, len(cs))
		for i, c := range cs {
			ps[i] = Period{c.In, c.Out}
		}
		out = append(out, RiskSite{Site: s.ID, Name: s.Name, Kind: s.Kind, Region: s.Region, Parent: s.Parent,
			LatE6: s.LatE6, LonE6: s.LonE6, Periods: union(ps)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Periods[0].From != b.Periods[0].From {
			return a.Periods[0].From < b.Periods[0].From
		}
		return a.Site < b.Site
	})
	return out, nil
}

// union merges periods that overlap or touch.
func union(ps []Period) []Period {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].From != ps[j].From {
			return ps[i].From < ps[j].From
		}
		return ps[i].To < ps[j].To
	})
	out := []Period{ps[0]}
	for _, p := range ps[1:] {
		if last := &out[len(out)-1]; p.From <= last.To {
			last.To = max(last.To, p.To)
		} else {
			out = append(out, p)
		}
	}
	return out
}
