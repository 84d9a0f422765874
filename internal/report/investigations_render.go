package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteChainTable prints a chain as a list of persons by layer and the
// edges that reach them.
func WriteChainTable(w io.Writer, r *ChainReport) error {
	inf := "until the end of the window"
	if r.Infectious != "" {
		inf = "for " + r.Infectious
	}
	encounters := false
	for _, e := range r.Edges {
		encounters = encounters || e.SiteKind == EncounterKind
	}
	fmt.Fprintf(w, "Chains of transmission from %s, %s to %s, %d layers (latent %s, then infectious %s; contacts: %s)\n",
		name(r.Person, r.Pseudonym), short(r.From), short(r.To), r.Depth, r.Latent, inf, ContactRule(r.MinOverlap, encounters))
	fmt.Fprintf(w, "%spersons per layer: %v; %d edges\n\n", r.WindowBasis.Line(), r.Layers, len(r.Edges))
	names := map[string]string{}
	for _, n := range r.Nodes {
		names[n.Pseudonym] = name(n.Person, n.Pseudonym)
	}
	// The earliest edge into each person says how they were reached.
	first := map[string]*ChainEdge{}
	for i := range r.Edges {
		e := &r.Edges[i]
		if f := first[e.To]; f == nil || e.Start < f.Start {
			first[e.To] = e
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// TX is the reached person's record of that meeting, whole, for tx
	// proof and correct.
	fmt.Fprintln(tw, "LAYER\tPERSON\tEXPOSED\tCASE\tEARLIEST VIA\tAT\tTX")
	for _, n := range r.Nodes {
		via, at, tx := "-", "-", "-"
		if e := first[n.Pseudonym]; e != nil {
			via, at, tx = names[e.From], e.Site, e.Tx
			if e.SiteKind == "encounter" {
				at += " (encounter)"
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Layer, names[n.Pseudonym], short(n.Exposure), dash(n.Case), via, at, tx)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Note != "" {
		fmt.Fprintf(w, "\n%s\n", r.Note)
	}
	return nil
}

// WriteChainDOT prints a chain as a Graphviz digraph: nodes labelled with
// person, layer and exposure (cases filled), edges with site and time.
func WriteChainDOT(w io.Writer, r *ChainReport) error {
	q := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
	}
	fmt.Fprintf(w, "digraph chain {\n  rankdir=LR;\n  node [shape=box, fontsize=10];\n  edge [fontsize=9];\n")
	for _, n := range r.Nodes {
		style := ""
		if n.Case != "" || n.Layer == 0 {
			style = ", style=filled, fillcolor=\"#f4cccc\""
		}
		fmt.Fprintf(w, "  %s [label=%s%s];\n", q(n.Pseudonym), q(fmt.Sprintf("%s\nlayer %d, exposed %s", name(n.Person, n.Pseudonym), n.Layer, short(n.Exposure))), style)
	}
	for _, e := range r.Edges {
		style := ""
		if e.SiteKind == "encounter" {
			style = ", style=dashed"
		}
		fmt.Fprintf(w, "  %s -> %s [label=%s%s];\n", q(e.From), q(e.To), q(e.Site+"\n"+short(e.Start)), style)
	}
	_, err := fmt.Fprintln(w, "}")
	return err
}

// WriteSources prints a source search.
func WriteSources(w io.Writer, r *SourcesReport) error {
	for _, c := range r.Cases {
		fmt.Fprintf(w, "Possible sources of %s (onset %s): exposures %s to %s (incubation %d-%d days)\n\n",
			name(c.Person, c.Pseudonym), c.Onset, short(c.From), short(c.To), r.IncubationMinDays, r.IncubationMaxDays)
		fmt.Fprintf(w, "Persons met (%d), cases first:\n", len(c.Persons))
		if err := writeMet(w, c.Persons); err != nil {
			return err
		}
		fmt.Fprintf(w, "\nSites visited (%d), those with other cases present first:\n", len(c.Sites))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tSITE\tKIND\tIN\tOUT\tOTHER CASES PRESENT\tTX")
		for i, s := range c.Sites {
			var cs []string
			for _, p := range s.Cases {
				cs = append(cs, name(p.Person, p.Pseudonym))
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, s.Site, s.SiteKind, short(s.In), short(s.Out), dash(strings.Join(cs, ", ")), s.Tx)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if len(r.Cases) < 2 {
		return nil
	}
	fmt.Fprintf(w, "Common exposures of the %d cases: %d sites, %d persons\n", len(r.Cases), len(r.CommonSites), len(r.CommonPersons))
	if len(r.CommonSites) == 0 && len(r.CommonPersons) == 0 {
		_, err := fmt.Fprintln(w, "No site or person is common to two or more of them, each in its own window.")
		return err
	}
	// One row a visit, so that each names its record; a site's name and
	// count head its first visit. A table with no row is left out.
	if len(r.CommonSites) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SITE\tKIND\tCASES\tVISIT BY\tIN\tTX")
		for _, s := range r.CommonSites {
			site, kind, n := s.Site, s.SiteKind, fmt.Sprint(s.Cases)
			for _, v := range s.Visits {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", site, kind, n, name(v.Person, v.Pseudonym), short(v.In), v.Tx)
				site, kind, n = "", "", ""
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(r.CommonPersons) == 0 {
			return nil
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PERSON\tCASE\tCASES\tFIRST MET BY")
	for _, p := range r.CommonPersons {
		var ms []string
		for _, m := range p.Met {
			ms = append(ms, fmt.Sprintf("%s %s", name(m.Case, m.CasePseudonym), short(m.First)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", name(p.Person, p.Pseudonym), dash(p.Case), p.Cases, strings.Join(ms, "; "))
	}
	return tw.Flush()
}

func writeMet(w io.Writer, ms []MetRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tPERSON\tCASE\tFIRST\tLAST\tTOGETHER\tMEETINGS\tSITES")
	for i, m := range ms {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", i+1, name(m.Person, m.Pseudonym), dash(m.Case), short(m.First), short(m.Last),
			m.Together, m.Meetings, strings.Join(m.Sites, ", "))
	}
	return tw.Flush()
}

// WriteClusters prints clusters.
func WriteClusters(w io.Writer, r *ClustersReport) error {
	fmt.Fprintf(w, "Clusters of %d or more cases at a site, %s to %s: %d\n", r.MinCases, short(r.From), short(r.To), len(r.Clusters))
	for _, c := range r.Clusters {
		var cs []string
		for _, p := range c.Cases {
			cs = append(cs, name(p.Person, p.Pseudonym))
		}
		fmt.Fprintf(w, "\nCluster %d, %s to %s: %d cases (%s), %d persons exposed\n", c.ID, short(c.From), short(c.To), len(c.Cases), strings.Join(cs, ", "), len(c.Exposed))
		// One row a case's presence, in time order across the sites, so
		// that each names its record.
		type presence struct {
			site *ClusterSiteRow
			p    *CaseVisitRow
		}
		var ps []presence
		for i := range c.Sites {
			for j := range c.Sites[i].Presences {
				ps = append(ps, presence{&c.Sites[i], &c.Sites[i].Presences[j]})
			}
		}
		// RFC 3339 strings in one offset sort as times.
		sort.SliceStable(ps, func(i, j int) bool {
			a, b := ps[i], ps[j]
			if a.p.In != b.p.In {
				return a.p.In < b.p.In
			}
			return a.site.Site < b.site.Site
		})
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  SITE\tKIND\tCASE PRESENT\tIN\tOUT\tTX")
		for _, x := range ps {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", x.site.Site, x.site.SiteKind, name(x.p.Person, x.p.Pseudonym), short(x.p.In), short(x.p.Out), x.p.Tx)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		exposed := append([]ExposedRow(nil), c.Exposed...)
		sort.SliceStable(exposed, func(i, j int) bool { return exposed[i].First < exposed[j].First })
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  EXPOSED\tFIRST\tLAST\tSITES")
		for _, x := range exposed {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", name(x.Person, x.Pseudonym), short(x.First), short(x.Last), strings.Join(x.Sites, ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// WriteRiskSites prints the risk sites.
func WriteRiskSites(w io.Writer, r *RiskReport) error {
	fmt.Fprintf(w, "Sites visited by cases, %s to %s (kinds left out: %s): %d\n\n", short(r.From), short(r.To), strings.Join(r.ExcludeKinds, ", "), len(r.Sites))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tNAME\tKIND\tLAT\tLON\tWHEN")
	for _, s := range r.Sites {
		var ps []string
		for _, p := range s.Periods {
			ps = append(ps, short(p.From)+" - "+short(p.To))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.5f\t%.5f\t%s\n", s.Site, dash(s.Name), s.Kind, s.Lat, s.Lon, strings.Join(ps, "; "))
	}
	return tw.Flush()
}

// WriteFollowUp prints the follow-up list.
func WriteFollowUp(w io.Writer, r *FollowUpReport) error {
	fmt.Fprintf(w, "Follow-up of the contacts of %s, %s to %s (%d days after the last exposure; contacts: %s): %d persons, most recently exposed first\n%s\n",
		name(r.Person, r.Pseudonym), short(r.From), short(r.To), r.Days, ContactRule(r.MinOverlap, r.Encounters > 0), len(r.Contacts), r.WindowBasis.Line())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// ALIASES (phone numbers first) say how to reach each contact.
	fmt.Fprintln(tw, "#\tPERSON\tCASE\tLAST EXPOSURE\tUNTIL\tFIRST EXPOSURE\tMEETINGS\tSITES\tALIASES")
	for i, c := range r.Contacts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", i+1, name(c.Person, c.Pseudonym), dash(c.Case), short(c.Last), c.UntilDate,
			short(c.First), c.Meetings, strings.Join(c.Sites, ", "), dash(strings.Join(c.Aliases, ", ")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Note != "" {
		fmt.Fprintf(w, "\n%s\n", r.Note)
	}
	return nil
}
