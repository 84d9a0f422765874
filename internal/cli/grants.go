package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/report"
)

// accessCmd asks for, grants and lists cross-region reads on the national
// chain (issue 15, docs/REGIONS.md step 8).
func (e *env) accessCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "access",
		Short: "Reads across regions: ask the national chain (N2), grant (N1), list grants",
		Long: `A region reads another region's intelligence details or trajectories only
under a grant of the national chain:
  1. the asking region's N2 (a key with the role n2 on the national chain)
     asks, naming a scope: the chains that are to serve it, the reads
     (intel, trace), the records, dimensions and persons (by pseudonym)
     and the time window;                          epiledger access request
  2. a national N1 grants it, with an expiry (it may narrow the scope,
     never widen it);                              epiledger access grant
  3. relays carry the grant down to the chains it names ("epiledger intel
     relay --to CHILD", which carries broadcasts too);
     an N1 may revoke it before its expiry (epiledger access revoke),
     and relays carry the revocation down the same way;
  4. the grantee reads there with its key, naming the grant: "epiledger
     trace trajectory --as N2.key --grant ID --node URL [--node URL ...]"
     (several nodes: one investigation merged), or GET /v1/intel/{tx}
     ?grant=ID. Each read, and each refusal, is audited on the serving
     chain; answers carry pseudonyms only.`,
	}
	c.AddCommand(e.accessRequestCmd(), e.accessGrantCmd(), e.accessRevokeCmd(), e.accessListCmd())
	return c
}

// scopeFlags are the flags that name an access scope.
type scopeFlags struct {
	chains, reads, records, dimensions, persons []string
	from, to, offset                            string
}

func (f *scopeFlags) add(c *cobra.Command) {
	c.Flags().StringSliceVar(&f.chains, "chain", nil, "a chain (its chain id) that is to serve the reads; repeat for more (required)")
	c.Flags().StringSliceVar(&f.reads, "reads", []string{"intel"}, "what the grant opens: intel (records' details), trace (trajectories and contacts), or intel,trace")
	c.Flags().StringSliceVar(&f.records, "record", nil, "an intelligence record (its tx id) to read; repeat for more (default: any in the window)")
	c.Flags().StringSliceVar(&f.dimensions, "dimension", nil, "epidemic, medical, government, public or opinion; repeat for more (default: any)")
	c.Flags().StringSliceVar(&f.persons, "person", nil, "a person to trace, by pseudonym (pn:<64 hex digits>); repeat for more (trace reads need at least one)")
	c.Flags().StringVar(&f.from, "from", "", "start of the window (RFC 3339, or YYYY-MM-DD: that day's start at --offset) (required)")
	c.Flags().StringVar(&f.to, "to", "", "end of the window (RFC 3339, or YYYY-MM-DD: that day's end at --offset) (required)")
	c.Flags().StringVar(&f.offset, "offset", "+08:00", "the UTC offset of dates in --from and --to: the serving nodes' trace.display_offset, so that a trace's dates mean the same days")
	c.MarkFlagRequired("chain")
	c.MarkFlagRequired("from")
	c.MarkFlagRequired("to")
}

func (f *scopeFlags) scope() (ledger.AccessScope, error) {
	s := ledger.AccessScope{Chains: f.chains, Reads: f.reads, Dimensions: f.dimensions}
	off, err := time.Parse("-07:00", f.offset)
	if err != nil {
		return s, fmt.Errorf("--offset %q: want a UTC offset such as +08:00", f.offset)
	}
	_, secs := off.Zone()
	w, err := report.ParseWindow(f.from, f.to, time.Now(), 0, time.FixedZone(f.offset, secs))
	if err != nil {
		return s, flagErr(err)
	}
	s.From, s.To = w.From.Unix(), w.To.Unix()
	for _, r := range f.records {
		h, err := ledger.ParseHash(r)
		if err != nil {
			return s, fmt.Errorf("--record %q: %w", r, err)
		}
		s.Records = append(s.Records, h)
	}
	for _, p := range f.persons {
		h, ok := strings.CutPrefix(p, node.PseudonymRef)
		ps, err := ledger.ParseHash(h)
		if !ok || err != nil {
			return s, withHint(fmt.Errorf("--person: want pn:<64 hex digits>, a pseudonym"), "a grant names persons by pseudonym only: a report shows it (\"pseudonym\" in --json)")
		}
		s.Persons = append(s.Persons, ledger.Pseudonym(ps))
	}
	return s, nil
}

// flagErr names a window field as its flag.
func flagErr(err error) error {
	var fe *ledger.FieldError
	if errors.As(err, &fe) {
		return fmt.Errorf("--%s: %s", fe.Field, fe.Msg)
	}
	return err
}

// signedOn is a client of nodeURL signing with the key file keyFile, and
// the node's status.
func (e *env) signedOn(ctx context.Context, nodeURL, keyFile string) (*client.Client, *api.Status, error) {
	k, err := home.LoadKeyFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--key: %w", err)
	}
	st, err := client.New(nodeURL, "").Health(ctx)
	if err != nil {
		return nil, nil, withHint(fmt.Errorf("--node %s: %w", nodeURL, err), "is the node running?")
	}
	return e.signedClient(nodeURL, k, st.ChainID), st, nil
}

func (e *env) accessRequestCmd() *cobra.Command {
	var nodeURL, keyFile, reason string
	var sf scopeFlags
	c := &cobra.Command{
		Use:   "request --node NATIONAL_URL --key N2.key --chain CHAIN --from T --to T --reason TEXT",
		Short: "Ask the national chain for reads in other regions (an N2)",
		Long: `request submits an access_request to the national chain of --node, signed
by --key (a key with the role n2 there). It names the scope of the reads
it asks for; an N1 then grants it ("epiledger access grant"), and the
grant opens reads to this same key. --reason says why, in words: it is on
the national chain for every N1 and auditor to read, so it names no
person (an identifier in it is refused).`,
		Example: `  epiledger access request --node http://127.0.0.1:7070 --key jiangsu-n2.key \
    --chain nanjing --chain suzhou --reads intel,trace --dimension epidemic \
    --person pn:5f0c...e1 --from 2021-07-01 --to 2021-07-31 \
    --reason "Lukou airport cluster: contacts in both cities"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := sf.scope()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			cl, st, err := e.signedOn(ctx, nodeURL, keyFile)
			if err != nil {
				return err
			}
			tx := ledger.NewTx(&ledger.AccessRequest{Scope: s, Reason: reason})
			tx.Sign(st.ChainID, cl.Key)
			res, err := cl.SubmitOne(ctx, tx.Bytes())
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "access request %s committed at height %d\n", res.Tx, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the national chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the asking key file (role n2 on the national chain) (required)")
	c.Flags().StringVar(&reason, "reason", "", "why, in words, naming no person (required)")
	sf.add(c)
	for _, f := range []string{"node", "key", "reason"} {
		c.MarkFlagRequired(f)
	}
	return c
}

func (e *env) accessGrantCmd() *cobra.Command {
	var nodeURL, keyFile string
	var expires time.Duration
	var reads []string
	c := &cobra.Command{
		Use:   "grant REQUEST --node NATIONAL_URL --key N1.key [--expires 72h]",
		Short: "Grant an access request (the national N1)",
		Long: `grant reads access request REQUEST on the national chain of --node and
signs with --key (a key with the role n1) an access_grant of its scope to
the key that asked, expiring --expires from now. --reads narrows what it
opens (a grant never opens more than was asked). Relays then carry it
down to the chains it names ("epiledger intel relay --to CHILD").`,
		Example: `  epiledger access grant 9a1f...c2 --node http://127.0.0.1:7070 --key n1.key --expires 72h`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := ledger.ParseHash(args[0]); err != nil {
				return fmt.Errorf("REQUEST: %w", err)
			}
			if expires <= 0 {
				return fmt.Errorf("--expires %s: want a positive duration, e.g. 72h", expires)
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			cl, st, err := e.signedOn(ctx, nodeURL, keyFile)
			if err != nil {
				return err
			}
			gs, err := cl.Grants(ctx, "")
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			var req *api.AccessRequestView
			for i := range gs.Requests {
				if strings.EqualFold(gs.Requests[i].ID, args[0]) {
					req = &gs.Requests[i]
				}
			}
			if req == nil {
				return withHint(fmt.Errorf("REQUEST: no access request %s on chain %q", args[0], st.ChainID), "list them with: epiledger access list --node NATIONAL_URL --key N1.key")
			}
			b, err := grantOfRequest(req)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("reads") {
				b.Scope.Reads = reads
			}
			b.Expires = time.Now().Add(expires).Unix()
			tx := ledger.NewTx(b)
			tx.Sign(st.ChainID, cl.Key)
			res, err := cl.SubmitOne(ctx, tx.Bytes())
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "access grant %s committed at height %d, expires %s\n", res.Tx, res.Height, time.Unix(b.Expires, 0).UTC().Format(time.RFC3339))
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the national chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the granting key file (role n1) (required)")
	c.Flags().DurationVar(&expires, "expires", 72*time.Hour, "how long the grant lasts")
	c.Flags().StringSliceVar(&reads, "reads", nil, "open only these reads of the request's (intel, trace)")
	c.MarkFlagRequired("node")
	c.MarkFlagRequired("key")
	return c
}

// grantOfRequest is the grant of req's whole scope to its signer.
func grantOfRequest(req *api.AccessRequestView) (*ledger.AccessGrant, error) {
	id, err := ledger.ParseHash(req.ID)
	if err != nil {
		return nil, err
	}
	signer, err := ledger.ParseHash(req.Signer)
	if err != nil {
		return nil, err
	}
	s := ledger.AccessScope{Chains: req.Chains, Reads: req.Reads}
	if len(req.Dimensions) > 0 {
		s.Dimensions = req.Dimensions
	}
	for _, r := range req.Records {
		h, err := ledger.ParseHash(r)
		if err != nil {
			return nil, err
		}
		s.Records = append(s.Records, h)
	}
	for _, p := range req.Persons {
		h, err := ledger.ParseHash(p)
		if err != nil {
			return nil, err
		}
		s.Persons = append(s.Persons, ledger.Pseudonym(h))
	}
	for _, t := range []struct {
		v   string
		dst *int64
	}{{req.WindowFrom, &s.From}, {req.WindowTo, &s.To}} {
		tm, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			return nil, fmt.Errorf("the request's window: %w", err)
		}
		*t.dst = tm.Unix()
	}
	return &ledger.AccessGrant{Request: id, Grantee: signer, Scope: s}, nil
}

func (e *env) accessRevokeCmd() *cobra.Command {
	var nodeURL, keyFile, reason string
	c := &cobra.Command{
		Use:   "revoke GRANT --node NATIONAL_URL --key N1.key --reason TEXT",
		Short: "Revoke a grant before its expiry (the national N1)",
		Long: `revoke signs with --key (a key with the role n1) an access_revoke of
grant GRANT, made on the national chain of --node, with --reason (naming
no person). From its block on the national node refuses reads under the
grant; relays carry the revocation down as they carried the grant
("epiledger intel relay --to CHILD"), and each chain refuses the grant's
reads once it holds the revocation (403 naming grant, audited), or the
grant itself if the revocation came first.`,
		Example: `  epiledger access revoke 5d0e...a7 --node http://127.0.0.1:7070 --key n1.key --reason "the investigation is closed"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ledger.ParseHash(args[0])
			if err != nil {
				return fmt.Errorf("GRANT: %w", err)
			}
			res, err := e.signAndSubmit(nodeURL, keyFile, &ledger.AccessRevoke{Grant: id, Reason: reason})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "access grant %s revoked at height %d (tx %s); carry it down with: epiledger intel relay --to CHILD\n", args[0], res.Height, res.Tx)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the national chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the revoking key file (role n1) (required)")
	c.Flags().StringVar(&reason, "reason", "", "why, naming no person (required)")
	c.MarkFlagRequired("node")
	c.MarkFlagRequired("key")
	c.MarkFlagRequired("reason")
	return c
}

func (e *env) accessListCmd() *cobra.Command {
	var nodeURL, keyFile, grantee string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list --node URL --key FILE [--grantee PUBLIC_KEY]",
		Short: "List the grants a chain holds and the access requests made on it",
		Long: `list shows the national grants the chain of --node holds (made there, on
the national chain, or carried down to it) and, on the national chain, the
access requests made there. --key signs the request: an investigator,
auditor, administrator, node, n2, n1 or relay of that chain.`,
		Example: `  epiledger access list --node http://127.0.0.1:7070 --key n1.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			cl, _, err := e.signedOn(ctx, nodeURL, keyFile)
			if err != nil {
				return err
			}
			gs, err := cl.Grants(ctx, grantee)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			if asJSON {
				return e.printJSON(gs)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GRANT\tGRANTEE\tCHAINS\tREADS\tWINDOW\tEXPIRES\tFROM")
			for _, g := range gs.Grants {
				exp := g.Expires
				switch {
				case g.Revoked != "":
					exp += " (revoked " + g.RevokedAt + ")"
				case g.Expired:
					exp += " (expired)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s..%s\t%s\t%s\n", g.ID, g.Grantee[:16], strings.Join(g.Chains, ","), strings.Join(g.Reads, ","),
					g.WindowFrom, g.WindowTo, exp, orDash(g.From))
			}
			tw.Flush()
			if len(gs.Requests) > 0 {
				fmt.Fprintln(e.stdout)
				tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "REQUEST\tSIGNER\tCHAINS\tREADS\tWINDOW\tREASON")
				for _, r := range gs.Requests {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s..%s\t%s\n", r.ID, r.Signer[:16], strings.Join(r.Chains, ","), strings.Join(r.Reads, ","),
						r.WindowFrom, r.WindowTo, r.Reason)
				}
				tw.Flush()
			}
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "a key file with a role on that chain (required)")
	c.Flags().StringVar(&grantee, "grantee", "", "only this key's grants and requests (public key, hex)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	c.MarkFlagRequired("node")
	c.MarkFlagRequired("key")
	return c
}
