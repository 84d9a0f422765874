package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/report"
)

// socioPatternsOptions checks import's --format and --start; it returns
// nil for NDJSON.
func socioPatternsOptions(format, start, path string) (*importer.SocioPatterns, error) {
	switch format {
	case "", "ndjson":
		if start != "" {
			return nil, withHint(fmt.Errorf("--start applies only to --format sociopatterns"), "NDJSON records carry their own times")
		}
		return nil, nil
	case "sociopatterns":
	default:
		return nil, withHint(fmt.Errorf("--format %q: want ndjson, sociopatterns or epcis", format), "run \"epiledger import --help\"")
	}
	if start == "" {
		return nil, withHint(fmt.Errorf("--format sociopatterns needs --start"), "SocioPatterns times are seconds from the start of the study: give that start, e.g. --start 2010-12-06T13:00:00+01:00")
	}
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return nil, fmt.Errorf("--start: want an RFC 3339 time such as 2010-12-06T13:00:00+01:00")
	}
	return &importer.SocioPatterns{Start: t, Device: importer.SocioPatternsDevice(path)}, nil
}

// investigateCmds are trace's investigation subcommands (issue 4).
func (e *env) investigateCmds() []*cobra.Command {
	return []*cobra.Command{e.chainCmd(), e.sourcesCmd(), e.clustersCmd(), e.riskSitesCmd(), e.followUpCmd()}
}

// investigation runs one query on the home in this process or through
// the node at nodeURL (see env.ledger) and prints it.
func (e *env) investigation(dir, nodeURL string, query func(*client.Client) (any, error), print func(any) error) error {
	v, err := ask(e, dir, nodeURL, query)
	if err != nil {
		return err
	}
	return print(v)
}

// commonFlags adds --home, --node and --json.
func commonFlags(c *cobra.Command, dir, nodeURL *string, asJSON *bool) {
	homeFlag(c, dir)
	c.Flags().StringVar(nodeURL, "node", "", "query the running node at this URL instead of opening the store")
	c.Flags().BoolVar(asJSON, "json", false, "print JSON (the API's format)")
}

func windowFlags(c *cobra.Command, from, to *string) {
	c.Flags().StringVar(from, "from", "", "start of the window (RFC 3339 or YYYY-MM-DD)")
	c.Flags().StringVar(to, "to", "", "end of the window (RFC 3339 or YYYY-MM-DD; default: a reported case's own window, else the day of the ledger's latest record)")
}

func minOverlapFlag(c *cobra.Command, dst *string) {
	c.Flags().StringVar(dst, "min-overlap", "", "least time together off transport (default trace.min_overlap, 15m); encounters and transport count with any overlap")
}

func (e *env) chainCmd() *cobra.Command {
	var dir, nodeURL, format string
	var asJSON bool
	var q report.ChainRequest
	c := &cobra.Command{
		Use:   "chain --home DIR --person REF [--depth N] [--from T] [--to T] [--format table|json|dot]",
		Short: "Chains of transmission from a case, several layers deep, time-respecting",
		Long: `chain follows a case's contacts (co-presence at sites and proximity encounters)
--depth layers deep. It is time-respecting: a contact passes the infection on
only in meetings after their own exposure (the earliest over all chains),
from --latent after it and for --infectious (default: until --to); the case
itself over the whole window. A meeting counts if its part in that window is
still a contact (--min-overlap off transport) and exposes the other person
at the start of that part.

Output: every person with their layer (fewest meetings from the case) and
earliest exposure, and a tree of edges: into each person, the meeting that
gave them that earliest exposure (of several, the longest together), with
the site (or device, for an encounter) and time; --all-edges lists every
meeting through which one person of the chain can have exposed another.
--format dot prints a Graphviz digraph: epiledger trace chain ... --format dot | dot -Tsvg > chain.svg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				format = "json"
			}
			switch format {
			case "table", "json", "dot":
			default:
				return fmt.Errorf("--format %q: want table, json or dot", format)
			}
			return e.investigation(dir, nodeURL,
				func(cl *client.Client) (any, error) { return cl.Chain(e.ctx, q) },
				func(v any) error {
					r := v.(*report.ChainReport)
					switch format {
					case "json":
						return e.printJSON(r)
					case "dot":
						return report.WriteChainDOT(e.stdout, r)
					}
					return report.WriteChainTable(e.stdout, r)
				})
		},
	}
	commonFlags(c, &dir, &nodeURL, &asJSON)
	c.Flags().StringVar(&q.Person, "person", "", "the case: id:<canonical id> or a bound alias (required)")
	windowFlags(c, &q.From, &q.To)
	c.Flags().IntVar(&q.Depth, "depth", report.DefaultDepth, fmt.Sprintf("layers of contacts to follow (1 to %d)", investigate.MaxDepth))
	minOverlapFlag(c, &q.MinOverlap)
	c.Flags().StringVar(&q.Latent, "latent", "", "time after exposure before a contact passes it on (e.g. 24h or 2d; default 0)")
	c.Flags().StringVar(&q.Infectious, "infectious", "", "how long a contact then stays infectious (e.g. 5d; default until --to)")
	c.Flags().BoolVar(&q.AllEdges, "all-edges", false, "list every meeting through which one person can have exposed another (default: one into each person, the longest of those that give their earliest exposure)")
	c.Flags().StringVar(&format, "format", "table", "table, json or dot")
	c.MarkFlagRequired("person")
	return c
}

func (e *env) sourcesCmd() *cobra.Command {
	var dir, nodeURL string
	var asJSON bool
	var q report.SourcesRequest
	var lo, hi int
	c := &cobra.Command{
		Use:   "sources --home DIR --person REF [--person REF ...] [--onset YYYY-MM-DD]",
		Short: "Where a case was infected: persons and sites in its incubation window; what several cases share",
		Long: `sources lists, for each case, the persons it met (contacts and encounters) and
the sites it visited during its incubation window, from the start of the day
--incubation-max days before the onset to the end of the day --incubation-min
days before it (default 14 and 2). Persons who are cases come first, then by
first meeting; sites where another case was present during the visit come
first, then by time. The onset is the one the case's reports give, or
--onset (one person only).

With several --person, it also lists the common exposures: the sites two or
more of them visited and the persons two or more of them met, each in its own
window, most shared first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q.IncubationMinDays, q.IncubationMaxDays = &lo, &hi
			return e.investigation(dir, nodeURL,
				func(cl *client.Client) (any, error) { return cl.Sources(e.ctx, q) },
				func(v any) error {
					if asJSON {
						return e.printJSON(v)
					}
					return report.WriteSources(e.stdout, v.(*report.SourcesReport))
				})
		},
	}
	commonFlags(c, &dir, &nodeURL, &asJSON)
	c.Flags().StringArrayVar(&q.Persons, "person", nil, "a case (repeat for the common exposures of several cases; required)")
	c.Flags().StringVar(&q.Onset, "onset", "", "the onset date YYYY-MM-DD, instead of the reported one (one person only)")
	c.Flags().IntVar(&lo, "incubation-min", report.DefaultIncubationMin, "shortest incubation, days")
	c.Flags().IntVar(&hi, "incubation-max", report.DefaultIncubationMax, "longest incubation, days")
	minOverlapFlag(c, &q.MinOverlap)
	c.MarkFlagRequired("person")
	return c
}

func (e *env) clustersCmd() *cobra.Command {
	var dir, nodeURL string
	var asJSON bool
	var q report.ClustersRequest
	c := &cobra.Command{
		Use:   "clusters --home DIR [--from T] [--to T] [--within DURATION] [--min-cases N]",
		Short: "Sites where two or more cases were present, with everyone exposed there",
		Long: `clusters finds the sites where --min-cases (default 2) or more cases were
present in the window, with the cases, their times, and everyone exposed there
(a contact of one of those cases at that site). With --within, a site's case
presences more than that apart form separate episodes. Clusters that share a
case are merged into one. Cases are persons whose latest report is not
"cleared" (or, with --status, has that status).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.investigation(dir, nodeURL,
				func(cl *client.Client) (any, error) { return cl.Clusters(e.ctx, q) },
				func(v any) error {
					if asJSON {
						return e.printJSON(v)
					}
					return report.WriteClusters(e.stdout, v.(*report.ClustersReport))
				})
		},
	}
	commonFlags(c, &dir, &nodeURL, &asJSON)
	windowFlags(c, &q.From, &q.To)
	c.Flags().StringVar(&q.Status, "status", "", "only cases whose latest status is this (default: all but cleared)")
	c.Flags().StringVar(&q.Within, "within", "", "split a site's case presences more than this apart into episodes (e.g. 72h or 3d; default: the whole window)")
	c.Flags().IntVar(&q.MinCases, "min-cases", 2, "distinct cases that make a cluster site")
	minOverlapFlag(c, &q.MinOverlap)
	return c
}

func (e *env) riskSitesCmd() *cobra.Command {
	var dir, nodeURL, format string
	var asJSON bool
	var exclude []string
	var q report.RiskRequest
	c := &cobra.Command{
		Use:   "risk-sites --home DIR [--from T] [--to T] [--format table|json|geojson]",
		Short: "The sites cases visited and when, with no personal data, to publish",
		Long: `risk-sites lists the sites visited by cases in the window and the periods a
case was there (their visits merged), with no personal data: not who, not
how many. Homes and devices are always left out; --exclude-kinds leaves
out more kinds. --format geojson prints a GeoJSON FeatureCollection of points
(coordinates [lon, lat]) with the site, name, kind, region and periods as
properties, ready for a map.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				format = "json"
			}
			switch format {
			case "table", "json", "geojson":
			default:
				return fmt.Errorf("--format %q: want table, json or geojson", format)
			}
			if cmd.Flags().Changed("exclude-kinds") {
				q.ExcludeKinds = []string{}
				for _, k := range exclude {
					if k = strings.TrimSpace(k); k != "" {
						q.ExcludeKinds = append(q.ExcludeKinds, k)
					}
				}
			}
			return e.investigation(dir, nodeURL,
				func(cl *client.Client) (any, error) { return cl.RiskSites(e.ctx, q) },
				func(v any) error {
					r := v.(*report.RiskReport)
					switch format {
					case "json":
						return e.printJSON(r)
					case "geojson":
						return e.printJSON(r.GeoJSON())
					}
					return report.WriteRiskSites(e.stdout, r)
				})
		},
	}
	commonFlags(c, &dir, &nodeURL, &asJSON)
	windowFlags(c, &q.From, &q.To)
	c.Flags().StringVar(&q.Status, "status", "", "only cases whose latest status is this (default: all but cleared)")
	c.Flags().StringSliceVar(&exclude, "exclude-kinds", nil, "more site kinds to leave out (homes and devices always are)")
	c.Flags().StringVar(&format, "format", "table", "table, json or geojson")
	return c
}

func (e *env) followUpCmd() *cobra.Command {
	var dir, nodeURL string
	var asJSON bool
	var q report.FollowUpRequest
	c := &cobra.Command{
		Use:   "follow-up --home DIR --person REF [--from T] [--to T] [--days N]",
		Short: "A case's contacts to call: last exposure and end of their quarantine or observation",
		Long: `follow-up lists the case's contacts in the window (co-presence and
encounters), one row per person, most recently exposed first: first and last
exposure, meetings, sites, the end of their quarantine or observation
period, --days (default 14) after the last exposure, and how to reach them:
their phone and other aliases from the vault (ALIASES; "aliases" in JSON).
Its audit record says the aliases were read (its route ends
" + vault aliases").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.investigation(dir, nodeURL,
				func(cl *client.Client) (any, error) { return cl.FollowUp(e.ctx, q) },
				func(v any) error {
					if asJSON {
						return e.printJSON(v)
					}
					return report.WriteFollowUp(e.stdout, v.(*report.FollowUpReport))
				})
		},
	}
	commonFlags(c, &dir, &nodeURL, &asJSON)
	c.Flags().StringVar(&q.Person, "person", "", "the case: id:<canonical id> or a bound alias (required)")
	windowFlags(c, &q.From, &q.To)
	c.Flags().IntVar(&q.Days, "days", report.DefaultFollowUpDays, "quarantine or observation period after the last exposure, days")
	minOverlapFlag(c, &q.MinOverlap)
	c.MarkFlagRequired("person")
	return c
}
