package cli

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
)

func (e *env) keygenCmd() *cobra.Command {
	var out string
	var force bool
	c := &cobra.Command{
		Use:   "keygen --out FILE [--force]",
		Short: "Create a signing key pair for a regional authority or the administrator",
		Long: `keygen writes a new Ed25519 key pair to FILE (mode 0600) and prints its
public key, to give to "epiledger init --authority REGION=KEY" or
"--administrator KEY". The file signs corrections and approvals
("epiledger correct ... --key FILE").

keygen never overwrites a file: a key fixed in a genesis cannot be
replaced, and its file may be the only copy. --force replaces FILE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			k, err := home.GenerateKeyFile(out, force)
			if errors.Is(err, fs.ErrExist) {
				return withHint(fmt.Errorf("--out %s: the file exists; keygen does not overwrite a key (one fixed in a genesis cannot be replaced)", out),
					"choose another --out, or add --force to replace the key in %s", out)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%x\n", k)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "file to write the key pair to (required; never overwritten without --force)")
	c.Flags().BoolVar(&force, "force", false, "replace FILE if it exists (its old key is lost)")
	return c
}

func (e *env) correctCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "correct",
		Short: "Annul or amend a record with the approval of its regions' authorities and the administrator",
		Long: `A record is never erased. It can be annulled or amended only by a correction
that the authorities of the record's origin and destination regions and the
system administrator approve (a k-of-n rule fixed in genesis.json). A
proposal counts as its proposer's approval; until enough approvals are on
the ledger it has no effect; approvals from anyone else are refused. The
original stays visible ("trace trajectory --all") with its history.`,
	}
	var dir, nodeURL, keyFile string
	flags := func(c *cobra.Command) {
		homeFlag(c, &dir)
		c.Flags().StringVar(&keyFile, "key", "", "key file of the signing party (default: with --node --as, that key; else the home's chain authority)")
		c.Flags().StringVar(&nodeURL, "node", "", "submit through the running node at this URL")
	}
	var target, in, out, site, reason string
	var annul bool
	propose := &cobra.Command{
		Use:   "propose --home DIR --tx HASH (--annul | --in T --out T [--site S]) --reason TEXT",
		Short: "Propose a correction (counts as the proposer's approval); prints its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := ledger.ParseHash(target)
			if err != nil {
				return fmt.Errorf("--tx: %w", err)
			}
			if reason == "" {
				return fmt.Errorf("--reason is required: say why the record is wrong")
			}
			b := &ledger.Correction{Target: t, Reason: reason, Site: site}
			switch {
			case annul && (in != "" || out != "" || site != ""):
				return fmt.Errorf("--annul takes no --in, --out or --site")
			case annul:
				b.Action = ledger.ActionAnnul
			default:
				ti, err1 := time.Parse(time.RFC3339, in)
				to, err2 := time.Parse(time.RFC3339, out)
				if err1 != nil || err2 != nil {
					return withHint(fmt.Errorf("an amendment needs --in and --out (RFC 3339)"), "or pass --annul to void the record")
				}
				b.Action, b.In, b.Out = ledger.ActionAmend, ti.Unix(), to.Unix()
			}
			return e.submitSigned(dir, nodeURL, keyFile, b, "correction")
		},
	}
	flags(propose)
	propose.Flags().StringVar(&target, "tx", "", "the record to correct (transaction hash)")
	propose.Flags().BoolVar(&annul, "annul", false, "void the record")
	propose.Flags().StringVar(&in, "in", "", "amended start (RFC 3339)")
	propose.Flags().StringVar(&out, "out", "", "amended end (RFC 3339)")
	propose.Flags().StringVar(&site, "site", "", "amended site of a visit")
	propose.Flags().StringVar(&reason, "reason", "", "why the record is wrong (required; goes on the ledger: no personal data)")
	propose.MarkFlagRequired("tx")

	var corr string
	approve := &cobra.Command{
		Use:   "approve --home DIR --correction ID [--key FILE]",
		Short: "Approve a correction",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ledger.ParseHash(corr)
			if err != nil {
				return fmt.Errorf("--correction: %w", err)
			}
			return e.submitSigned(dir, nodeURL, keyFile, &ledger.Approval{Correction: id}, "approval")
		},
	}
	flags(approve)
	approve.Flags().StringVar(&corr, "correction", "", "the correction's id (required)")
	approve.MarkFlagRequired("correction")

	show := &cobra.Command{
		Use:   "show --home DIR --tx HASH",
		Short: "Show the corrections of a record and their approvals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := ledger.ParseHash(target)
			if err != nil {
				return fmt.Errorf("--tx: %w", err)
			}
			cs, err := ask(e, dir, nodeURL, func(cl *client.Client) ([]report.CorrectionView, error) { return cl.Corrections(e.ctx, t.String()) })
			if err != nil {
				return err
			}
			if len(cs) == 0 {
				fmt.Fprintln(e.stdout, "no corrections")
			}
			for _, c := range cs {
				writeCorrection(e.stdout, &c)
			}
			return nil
		},
	}
	homeFlag(show, &dir)
	show.Flags().StringVar(&nodeURL, "node", "", "ask the running node at this URL")
	show.Flags().StringVar(&target, "tx", "", "the record (transaction hash)")
	show.MarkFlagRequired("tx")
	c.AddCommand(propose, approve, show)
	return c
}

// writeCorrection prints a correction once: its action and state, its
// reason, then each party whose approval counts (named by the regions it
// is the authority of, or as the administrator, with its key's prefix) and
// whether it has approved.
func writeCorrection(w io.Writer, c *report.CorrectionView) {
	st := fmt.Sprintf("pending, %d more approval(s) needed", c.Quorum-c.Approvals)
	if c.Applied != 0 {
		st = fmt.Sprintf("in effect since height %d", c.Applied)
	}
	what := "annul"
	if c.Action == "amend" {
		what = fmt.Sprintf("amend to %s – %s", c.In, c.Out)
		if c.Site != "" {
			what += " at " + c.Site
		}
		if c.Applied != 0 {
			what += "; the corrected record is " + c.ID
		}
	}
	fmt.Fprintf(w, "correction %s (%s), proposed at height %d: %d approval(s), %d needed of %d required parties; %s\n", c.ID, what, c.Proposed, c.Approvals, c.Quorum, len(c.Parties), st)
	fmt.Fprintf(w, "  reason: %s\n", c.Reason)
	for _, p := range c.Parties {
		mark := "not approved"
		if p.Approved {
			mark = "approved"
		}
		fmt.Fprintf(w, "  %-12s  %s (key %s…)\n", mark, p.Name, p.Key[:16])
	}
}

// submitSigned signs body with the key file (or, on the home, its chain
// authority's key) and submits it through the ledger at dir or nodeURL
// (see env.ledger), printing the transaction id.
func (e *env) submitSigned(dir, nodeURL, keyFile string, body ledger.Body, what string) error {
	var key ed25519.PrivateKey
	if keyFile == "" && nodeURL != "" {
		// Through a node, the caller's own key signs unless --key names
		// another: a party works from a desk holding only its key.
		keyFile = e.as
	}
	if keyFile != "" {
		k, err := home.LoadKeyFile(keyFile)
		if err != nil {
			return fmt.Errorf("--key: %w", err)
		}
		key = k
	}
	cl, done, err := e.ledger(dir, nodeURL)
	if err != nil {
		return err
	}
	defer done()
	if key == nil {
		h, err := loadHome(dir)
		if err != nil {
			return withHint(err, "without a home, sign with --key FILE")
		}
		if key = h.Authority(); key == nil {
			return withHint(home.ErrNotAuthority, "sign with --key FILE (the key of an authority the correction rule names)")
		}
	}
	chainID := cl.ChainID
	if chainID == "" {
		st, err := cl.Health(e.ctx)
		if err != nil {
			return err
		}
		chainID = st.ChainID
	}
	if a, ok := body.(*ledger.Approval); ok {
		copy(a.Approver[:], key.Public().(ed25519.PublicKey))
	}
	tx, err := ledger.Build(body)
	if err != nil {
		return err
	}
	tx.Sign(chainID, key)
	res, err := cl.SubmitOne(e.ctx, tx.Bytes())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s %s committed at height %d\n", what, res.Tx, res.Height)
	return nil
}
