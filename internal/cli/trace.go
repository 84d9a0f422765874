package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
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
	var dir, grant string
	var nodes []string
	var q report.Query
	var asJSON bool
	c := &cobra.Command{
		Use:   what + " --home DIR --person REF [--from T] [--to T]",
		Short: short,
		Long: short + `.

Under a national grant (--grant ID, a key from another region given by
--as), the read goes to each --node named (repeat --node: the chains the
grant names), is audited on each, and the answers merge into one, each row
naming its chain: a national investigation of a person whose 30 days span
several regions' chains. --person is then a pseudonym (pn:<64 hex>), the
same in every region.`,
		Example: `  epiledger trace ` + what + ` --home ./wuhan --person id:420106199001011234 --case C-17 --purpose "index case"
  epiledger trace ` + what + ` --as jiangsu-n2.key --grant 7c0e...b4 --node http://nanjing:7070 --node http://suzhou:7070 \
    --person pn:5f0c...e1 --from 2021-07-01 --to 2021-07-31 --case C-2021-0720 --purpose "national investigation"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var v any
			var err error
			switch {
			case grant != "":
				v, err = e.traceGranted(what, q, nodes, grant)
			case len(nodes) > 1:
				return withHint(errors.New("--node: one node, or several under a grant"), "several chains answer one investigation only under a national grant: add --grant ID and --as KEY")
			default:
				url := ""
				if len(nodes) == 1 {
					url = nodes[0]
				}
				v, err = ask(e, dir, url, func(cl *client.Client) (any, error) {
					if what == "trajectory" {
						return cl.Trajectory(e.ctx, q)
					}
					return cl.Contacts(e.ctx, q)
				})
			}
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
	c.Flags().StringVar(&q.Person, "person", "", "the person: id:<canonical id> or a bound alias such as phone:<number>, or pn:<pseudonym> (required)")
	c.Flags().StringVar(&q.From, "from", "", "start of the window (RFC 3339 or YYYY-MM-DD)")
	c.Flags().StringVar(&q.To, "to", "", "end of the window (RFC 3339 or YYYY-MM-DD; default: a reported case's own window, else the day of the ledger's latest record)")
	c.Flags().StringArrayVar(&nodes, "node", nil, "query the running node at this URL instead of opening the store; repeat under --grant for each chain")
	c.Flags().StringVar(&grant, "grant", "", "read under this national grant (its id; with --as, the grantee's key, and --node)")
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

// traceGranted runs a trace read under a national grant on each of nodes
// and merges the answers. A chain that has never seen the person (404)
// adds nothing; any other refusal stops the investigation.
func (e *env) traceGranted(what string, q report.Query, nodes []string, grant string) (any, error) {
	if e.as == "" {
		return nil, withHint(errors.New("--grant: reads under a grant are signed by the grantee's key"), "add --as GRANTEE.key (the N2 key that asked)")
	}
	if len(nodes) == 0 {
		return nil, withHint(errors.New("--grant: name the chains' nodes"), "add --node URL for each chain the grant names")
	}
	if _, err := ledger.ParseHash(grant); err != nil {
		return nil, fmt.Errorf("--grant: %w", err)
	}
	k, err := home.LoadKeyFile(e.as)
	if err != nil {
		return nil, fmt.Errorf("--as: %w", err)
	}
	var trs []report.ChainTrajectory
	var cts []report.ChainContacts
	for _, url := range nodes {
		st, err := client.New(url, "").Health(e.ctx)
		if err != nil {
			return nil, withHint(fmt.Errorf("--node %s: %w", url, err), "is the node running?")
		}
		cl := e.signedClient(url, k, st.ChainID)
		cl.Grant = grant
		var n int
		if what == "trajectory" {
			t, err := cl.Trajectory(e.ctx, q)
			if err == nil {
				trs, n = append(trs, report.ChainTrajectory{Chain: st.ChainID, Trajectory: t}), len(t.Entries)
			} else if !unseen(err) {
				return nil, fmt.Errorf("chain %s: %w", st.ChainID, nodeErr(err, url))
			}
		} else {
			c, err := cl.Contacts(e.ctx, q)
			if err == nil {
				cts, n = append(cts, report.ChainContacts{Chain: st.ChainID, Contacts: c}), len(c.Contacts)
			} else if !unseen(err) {
				return nil, fmt.Errorf("chain %s: %w", st.ChainID, nodeErr(err, url))
			}
		}
		fmt.Fprintf(e.stderr, "chain %s: %d %s rows, read under grant %s (audited there)\n", st.ChainID, n, what, grant[:16])
	}
	const none = "none of the chains asked has seen this person"
	pseudonym := strings.TrimPrefix(q.Person, node.PseudonymRef)
	if what == "trajectory" {
		t := report.MergeTrajectories(trs)
		if len(trs) == 0 {
			t.Pseudonym, t.Note = pseudonym, none
		}
		return t, nil
	}
	c := report.MergeContacts(cts)
	if len(cts) == 0 {
		c.Pseudonym, c.Note = pseudonym, none
	}
	return c, nil
}

// unseen reports whether err is a chain's 404 for a person it has never
// seen: under a grant that names them, that chain holds nothing of
// theirs.
func unseen(err error) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}
