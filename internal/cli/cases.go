package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/report"
)

// casesCmd lists the reported cases: where an investigation starts.
func (e *env) casesCmd() *cobra.Command {
	var dir, nodeURL, status string
	var asJSON bool
	c := &cobra.Command{
		Use:   "cases --home DIR [--status confirmed]",
		Short: "The reported cases, each by its latest report: who, status, onset, reported when and by whom",
		Long: `cases lists every person a hospital has reported, by their latest report:
the real id (from the vault), status, onset, when and by which site it was
reported, and the report's transaction. It is a read of personal data, so it
is audited first like the other trace commands (--case, --purpose). The ids
it prints are what trace trajectory, contacts, chain, sources and follow-up
take as --person.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := ask(e, dir, nodeURL, func(cl *client.Client) ([]report.CaseInfo, error) { return cl.Cases(e.ctx, status) })
			if err != nil {
				return err
			}
			if asJSON {
				if cs == nil {
					cs = []report.CaseInfo{}
				}
				return e.printJSON(map[string]any{"cases": cs})
			}
			what := "reported cases"
			if status != "" {
				what = "cases whose latest report is " + status
			}
			fmt.Fprintf(e.stdout, "%d %s\n\n", len(cs), what)
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PERSON\tSTATUS\tONSET\tREPORTED\tBY\tTX")
			for _, x := range cs {
				who := x.Person
				if who == "" {
					who = "pseudonym:" + x.Pseudonym[:16]
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", who, x.Status, orDash(x.Onset), windowEnd(x.Reported), x.By, x.Tx)
			}
			return tw.Flush()
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&status, "status", "", "only cases whose latest report has this status (suspected, confirmed, ...)")
	c.Flags().StringVar(&nodeURL, "node", "", "ask the running node at this URL")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	return c
}

// orDash is s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
