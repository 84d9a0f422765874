package cli

import (
	"encoding/hex"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/report"
)

func (e *env) roleCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "role",
		Short: "Grant API roles to keys (the administrator), list who holds them",
		Long: `Every API call but /v1/health is a signed request by a key the administrator
registered on the ledger with a role:
  site           records presences (its own site key signs each record)
  hospital       reports cases
  investigator   reads personal data (CDC, police); every read is audited
  auditor        reads the audit trail, blocks and proofs, verifies
  administrator  registers sites, grants roles, closes windows
  node           a consortium member's node (signs the audit records of its reads)
  relay          submits what others signed: a child chain's anchors (issue 15)
  n3             submits outbreak intelligence (an airport's epidemic team, customs)
  n2             endorses intelligence (the health commission): co-signs it
  n1             the national chain's: verifies intelligence (national chain only)
The chain authority of the node's home holds every role. Revoke with role "none".`,
	}
	var dir, nodeURL, keyHex, role, name string
	grant := &cobra.Command{
		Use:   "grant --home DIR --key PUBLIC_KEY --role ROLE --name TEXT",
		Short: "Grant (or with --role none revoke) a role",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := home.ParseKey(keyHex)
			if err != nil {
				return withHint(fmt.Errorf("--key: %w", err), "create a key with: epiledger keygen --out investigator.key")
			}
			res, err := ask(e, dir, nodeURL, func(cl *client.Client) (*api.TxResult, error) {
				return cl.GrantRole(e.ctx, api.RoleRequest{Key: hex.EncodeToString(k[:]), Role: role, Name: name})
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "grant %s committed at height %d\n", res.Tx, res.Height)
			return nil
		},
	}
	homeFlag(grant, &dir)
	grant.Flags().StringVar(&keyHex, "key", "", "the public key (hex) to grant the role to (required)")
	grant.Flags().StringVar(&role, "role", "", "site, hospital, investigator, auditor, administrator, node (a consortium organisation's node: signs the audit records of the reads it serves), relay (submits a child chain's anchors), n3, n2, n1 (outbreak intelligence: submits, endorses, the national chain's) or none (required)")
	grant.Flags().StringVar(&name, "name", "", "who holds the key, e.g. \"CDC Wuhan, investigator 17\" (public)")
	grant.Flags().StringVar(&nodeURL, "node", "", "submit through the running node at this URL")
	grant.MarkFlagRequired("key")
	grant.MarkFlagRequired("role")
	c.AddCommand(grant, e.roleListCmd())
	return c
}

func (e *env) roleListCmd() *cobra.Command {
	var dir, nodeURL string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list --home DIR [--node URL] [--json]",
		Short: "List who holds which role: key, role, name, and the grant's height and transaction",
		Long: `list prints every key that holds a role (revoked keys are left out): its
public key, role and name, and the height, time and transaction of the
grant_role that gave it. The chain authority holds every role from the
genesis. With --node it asks the running node (the caller needs the auditor
or administrator role: --as signs with such a key file).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			views, err := ask(e, dir, nodeURL, func(cl *client.Client) ([]report.RoleView, error) { return cl.Roles(e.ctx) })
			if err != nil {
				return err
			}
			if asJSON {
				if views == nil {
					views = []report.RoleView{}
				}
				return e.printJSON(map[string]any{"roles": views})
			}
			fmt.Fprintf(e.stdout, "%d keys hold a role\n\n", len(views))
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tROLE\tNAME\tHEIGHT\tGRANTED\tTX")
			for _, v := range views {
				tx := "-"
				if v.Tx != "" {
					tx = v.Tx
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", v.Key, v.Role, v.Name, v.Height, v.Granted, tx)
			}
			return tw.Flush()
		},
	}
	homeFlag(list, &dir)
	list.Flags().StringVar(&nodeURL, "node", "", "ask the running node at this URL")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	return list
}

func (e *env) auditCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "The audit trail: every read of personal data, recorded on the ledger before it ran",
	}
	var dir, nodeURL, from, to string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list --home DIR [--from T] [--to T]",
		Short: "List audit records: who read what, when, for which case and purpose",
		Long: `list prints the audit records: the caller's key, role and name, the case and
purpose given, the route, the pseudonym of the person read (never an
identifier), the window, and when the record was committed. The records are
ledger transactions: altering one breaks the chain, which verify finds.
With --node it asks the running node (the caller needs the auditor role:
--as signs with an auditor's key file).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			views, err := ask(e, dir, nodeURL, func(cl *client.Client) ([]report.AuditView, error) { return cl.Audits(e.ctx, from, to) })
			if err != nil {
				return err
			}
			if asJSON {
				if views == nil {
					views = []report.AuditView{}
				}
				return e.printJSON(map[string]any{"audits": views})
			}
			fmt.Fprintf(e.stdout, "%d audit records\n\n", len(views))
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RECORDED\tCALLER\tROLE\tCASE\tPURPOSE\tROUTE\tPERSON (PSEUDONYM)\tFROM\tTO\tSERVED BY")
			for _, v := range views {
				who := v.Caller[:16] + "…"
				if v.Name != "" {
					who = v.Name
				}
				p := "-"
				if v.Pseudonym != "" {
					p = v.Pseudonym[:16] + "…"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Recorded, who, v.Role, v.Case, v.Purpose, v.Route, p, windowEnd(v.From), windowEnd(v.To), v.Node)
			}
			return tw.Flush()
		},
	}
	homeFlag(list, &dir)
	list.Flags().StringVar(&from, "from", "", "records committed from (RFC 3339 or YYYY-MM-DD)")
	list.Flags().StringVar(&to, "to", "", "records committed until (default now)")
	list.Flags().StringVar(&nodeURL, "node", "", "ask the running node at this URL")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	c.AddCommand(list)
	return c
}

// windowEnd prints one end of an audited read's window, an RFC 3339 time
// in the home's zone, as the tables do: "2006-01-02 15:04", or "-" for a
// read with no window.
func windowEnd(ts string) string {
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return "-"
	}
	return t.Format("2006-01-02 15:04")
}
