package cli

import (
	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/report"
)

func (e *env) traceCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "trace",
		Short: "Investigate: trajectory, close contacts, chains, sources, clusters, risk sites, follow-up",
		Long: `trace answers an investigator's questions for one person, named by a reference
"id:<canonical id>" or any bound alias ("phone:...", "plate:...", "wechat:...").
Output shows real identities from the authority's vault; --json prints the
same JSON the HTTP API returns. Every such read first commits an audit record
to the ledger (who, when, --case, --purpose, what was asked), locally or
through the node; without --case and --purpose it does not run.

Windows: --from and --to take RFC 3339 times or dates (YYYY-MM-DD, --to is the
end of that day); either one given sets the window. Without them, for a
reported case the window is the case's own: from 14 days (the longest
incubation) before its onset to the end of the day of its latest report;
for anyone else, the trace.lookback (30 days by default) up to the end of
the day of the ledger's latest record. Each answer says which window it
used and why ("Window:" under a table's heading, window_basis and
window_note in JSON).`,
	}
	c.AddCommand(e.traceSub("trajectory", "The person's time-ordered presences and movements in the window"),
		e.traceSub("contacts", "Everyone present at the same site as the person with overlapping time"))
	c.AddCommand(e.casesCmd())
	c.AddCommand(e.investigateCmds()...)
	return c
}

func (e *env) traceSub(what, short string) *cobra.Command {
	var dir, nodeURL string
	var q report.Query
	var asJSON bool
	c := &cobra.Command{
		Use:   what + " --home DIR --person REF [--from T] [--to T]",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := ask(e, dir, nodeURL, func(cl *client.Client) (any, error) {
				if what == "trajectory" {
					return cl.Trajectory(e.ctx, q)
				}
				return cl.Contacts(e.ctx, q)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(v)
			}
			if t, ok := v.(*report.Trajectory); ok {
				return report.WriteTrajectory(e.stdout, t)
			}
			return report.WriteContacts(e.stdout, v.(*report.Contacts))
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&q.Person, "person", "", "the person: id:<canonical id> or a bound alias such as phone:<number> (required)")
	c.Flags().StringVar(&q.From, "from", "", "start of the window (RFC 3339 or YYYY-MM-DD)")
	c.Flags().StringVar(&q.To, "to", "", "end of the window (RFC 3339 or YYYY-MM-DD; default: a reported case's own window, else the day of the ledger's latest record)")
	c.Flags().StringVar(&nodeURL, "node", "", "query the running node at this URL instead of opening the store")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	if what == "trajectory" {
		c.Flags().BoolVar(&q.All, "all", false, "also show records that do not count (rejected by validation, annulled or amended), with the reason")
	}
	if what == "contacts" {
		c.Flags().StringVar(&q.MinOverlap, "min-overlap", "", "least time together off transport (default trace.min_overlap, 15m)")
	}
	c.MarkFlagRequired("person")
	return c
}
