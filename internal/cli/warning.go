package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/detect"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	regionpkg "github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/report"
)

// Warning rules and alerts (issue 16, docs/WARNING.md).

func (e *env) ruleCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "rule",
		Short: "Warning rules on the ledger: set one (the authorities, k of n), list them",
	}
	c.AddCommand(e.ruleSetCmd(), e.ruleListCmd())
	return c
}

func (e *env) ruleSetCmd() *cobra.Command {
	var dir, nodeURL, name, disease, method, alpha, minSigma, over string
	var keys []string
	var cases, days, baseline, level, years, weeks, percentile, meters int
	var retire bool
	c := &cobra.Command{
		Use:   "set --node URL (--home DIR | --key KEY) [--key KEY...] --name N --disease D --method M [parameters] --level L",
		Short: "Set (or replace, by its name) a warning rule",
		Long: `set signs a warning_rule with each --key (the authorities of the chain's
correction rule, as many as its quorum; the chain authority, --home,
counts as one) and submits it. From its block on, every report card of --disease
runs it on the card's home district:
  --method threshold --cases N --days D   alarms at N cases within D days
                                          (one of plague: --cases 1 --days 1)
  --method ears-c1|ears-c2|ears-c3        CDC's EARS on the daily counts:
                                          [--baseline 7] [--alpha 0.001]
                                          [--min-sigma 0] (docs/WARNING.md)
  --method percentile                     CIDARS's moving percentile: the
                                          last --days (7) days' count above
                                          the --percentile (80) of the same
                                          weeks (--weeks 2 either side) of
                                          the past --years (3); at least
                                          --cases (1) cases
  --method site-cluster --cases N --days D
                                          N or more patients of the disease
                                          who were at one site (the
                                          mobility ledger's presences)
                                          within D days (at most 30)
  --method space-time --cases N --days D --meters M
                                          N or more cases of the disease
                                          whose cards' places (card report
                                          --place) lie within M metres (at
                                          most 20000) of the newest's,
                                          reported within D days (at most
                                          30), across district lines
A threshold, EARS or percentile rule runs on each home district's count,
or with --over REGION (a city, a province, or national) on that region's
total, summed over its districts: a level's own rule on its own level.
--level is the response level (1 = I to 4 = IV) its alerts propose.
--retire retires the rule of that name.`,
		Example: `  epiledger rule set --node http://127.0.0.1:7070 --home DIR --name pneumonia-3-in-7 \
    --disease pneumonia-unknown --method threshold --cases 3 --days 7 --level 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var signers []ed25519.PrivateKey
			if dir != "" {
				h, err := home.Load(dir)
				if err != nil {
					return err
				}
				signers = append(signers, h.Authority())
			}
			for _, f := range keys {
				k, err := home.LoadKeyFile(f)
				if err != nil {
					return fmt.Errorf("--key %s: %w", f, err)
				}
				signers = append(signers, k)
			}
			if len(signers) == 0 || len(signers) > 1+ledger.MaxRuleCosigners {
				return fmt.Errorf("--home and --key: 1 to %d signers", 1+ledger.MaxRuleCosigners)
			}
			b := &ledger.WarningRule{Name: name, Disease: disease, Method: method, Level: uint8(level), Active: !retire, Cosigners: uint8(len(signers) - 1)}
			if cases < 0 || days < 0 || days > ledger.MaxRuleDays || baseline < 0 || baseline > 1000 || level < 1 || level > 4 ||
				years < 0 || years > 10 || weeks < 0 || weeks > 8 || percentile < 0 || percentile > 100 || meters < 0 || meters > ledger.MaxClusterMeters {
				return fmt.Errorf("--cases, --days (at most %d), --baseline (at most 1000), --years (10), --weeks (8), --percentile (100), --meters (%d) and --level (1 to 4) are small positive numbers",
					ledger.MaxRuleDays, ledger.MaxClusterMeters)
			}
			b.Meters = uint32(meters)
			if over != "" {
				code, err := regionpkg.Parse(over)
				if err != nil {
					return fmt.Errorf("--over %q: %w", over, err)
				}
				b.Over = string(code)
			}
			b.Cases, b.Days, b.Baseline = uint32(cases), uint16(days), uint16(baseline)
			b.Years, b.Weeks, b.Percentile = uint8(years), uint8(weeks), uint8(percentile)
			var err error
			if b.Alpha, err = parseFixed("--alpha", alpha); err != nil {
				return err
			}
			if b.MinSigma, err = parseFixed("--min-sigma", minSigma); err != nil {
				return err
			}
			tx, err := ledger.Build(b)
			if err != nil {
				return flagErr(err)
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			st, err := client.New(nodeURL, "").Health(ctx)
			if err != nil {
				return withHint(fmt.Errorf("--node %s: %w", nodeURL, err), "is the node running?")
			}
			for _, k := range signers {
				tx.Sign(st.ChainID, k)
			}
			res, err := e.signedClient(nodeURL, signers[0], st.ChainID).SubmitOne(ctx, tx.Bytes())
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "rule %s set at height %d (tx %s)\n", name, res.Height, res.Tx)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&dir, "home", "", "sign as this home's chain authority")
	c.Flags().StringArrayVar(&keys, "key", nil, "a signing authority's key file; repeat for each")
	c.Flags().StringVar(&name, "name", "", "the rule's name (required)")
	c.Flags().StringVar(&disease, "disease", "", "the disease (required): "+strings.Join(ledger.Diseases, ", "))
	c.Flags().StringVar(&method, "method", "", "threshold, ears-c1, ears-c2, ears-c3, percentile, site-cluster or space-time (required)")
	c.Flags().IntVar(&cases, "cases", 0, "threshold, clusters: this many cases... (percentile: the least count that alarms)")
	c.Flags().IntVar(&days, "days", 0, "threshold, clusters: ...within this many days (percentile: the days summed)")
	c.Flags().IntVar(&meters, "meters", 0, "space-time: ...within this many metres of one another")
	c.Flags().StringVar(&over, "over", "", "run on this region's total (a city, a province or national), not each district's")
	c.Flags().IntVar(&baseline, "baseline", 0, "EARS: baseline days (default 7)")
	c.Flags().StringVar(&alpha, "alpha", "", "EARS: 0.001, 0.005, 0.01, 0.025 or 0.05 (default: earsC's)")
	c.Flags().StringVar(&minSigma, "min-sigma", "", "EARS: the least standard deviation (default 0)")
	c.Flags().IntVar(&years, "years", 0, "percentile: past years compared (default 3)")
	c.Flags().IntVar(&weeks, "weeks", 0, "percentile: weeks either side of the same week (default 2)")
	c.Flags().IntVar(&percentile, "percentile", 0, "percentile: P, a whole percent (default 80)")
	c.Flags().IntVar(&level, "level", 0, "the response level its alerts propose, 1 (I) to 4 (IV) (required)")
	c.Flags().BoolVar(&retire, "retire", false, "retire the rule of this name")
	for _, n := range []string{"node", "name", "disease", "method", "level"} {
		c.MarkFlagRequired(n)
	}
	return c
}

// parseFixed reads a decimal (at most six places) as detect's fixed
// point; "" is 0.
func parseFixed(flag, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 6 || whole == "" && frac == "" {
		return 0, fmt.Errorf("%s %q: a decimal with at most six places", flag, s)
	}
	var w, f int64
	if _, err := fmt.Sscanf(whole+" "+(frac + "000000")[:6], "%d %d", &w, &f); err != nil || w < 0 || w > 1e9 {
		return 0, fmt.Errorf("%s %q: a decimal with at most six places", flag, s)
	}
	return w*int64(detect.One) + f, nil
}

func (e *env) ruleListCmd() *cobra.Command {
	var dir, nodeURL string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list --node URL --as KEY",
		Short: "List the warning rules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := ask(e, dir, nodeURL, func(cl *client.Client) ([]report.RuleView, error) { return cl.Rules(e.ctx) })
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(map[string]any{"rules": rs})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RULE\tDISEASE\tMETHOD\tPARAMETERS\tRESPONSE\tACTIVE")
			for _, r := range rs {
				p := fmt.Sprintf("%d in %d days", r.Cases, r.Days)
				switch r.Method {
				case ledger.RuleThreshold:
				case ledger.RuleSiteCluster:
					p = fmt.Sprintf("%d patients at one site in %d days", r.Cases, r.Days)
				case ledger.RuleSpaceTime:
					p = fmt.Sprintf("%d cases within %d m in %d days", r.Cases, r.Meters, r.Days)
				case ledger.RulePercentile:
					p = fmt.Sprintf("P%d of %d years, %d weeks either side, %d days summed, at least %d", r.Percentile, r.Years, r.Weeks, r.Days, r.Cases)
				default:
					p = fmt.Sprintf("baseline %d, alpha %s, min sigma %s", r.Baseline, orDash(r.Alpha), orDash(r.MinSigma))
				}
				if r.Over != "" {
					p += " over " + r.Over
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", r.Name, r.Disease, r.Method, p, r.Response, r.Active)
			}
			return tw.Flush()
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&nodeURL, "node", "", "ask the running node at this URL")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	return c
}

func (e *env) alertCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "alert",
		Short: "Alerts the warning rules raised: list them, take one a step further (the CDC)",
	}
	c.AddCommand(e.alertListCmd(), e.alertActCmd())
	return c
}

func (e *env) alertListCmd() *cobra.Command {
	var dir, nodeURL string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list --node URL --as KEY",
		Short: "List the alerts raised on the chain, the latest first, and the response times per region",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			as, err := ask(e, dir, nodeURL, func(cl *client.Client) (*report.Alerts, error) { return cl.Alerts(e.ctx) })
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(as)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ALERT\tRULE\tREGION\tDATE\tRESPONSE\tOBSERVED\tSTATUS\tRAISED\tANSWERED IN")
			for _, a := range as.Alerts {
				in := "-"
				if a.ResponseSeconds != nil {
					in = (time.Duration(*a.ResponseSeconds) * time.Second).String()
				}
				where := a.Region
				if a.Site != "" {
					where += " (" + a.Site + ")" // a cluster's site or place
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.ID, a.Rule, where, a.Date, a.Response, a.Observed, a.Status, a.Raised, in)
			}
			tw.Flush()
			for _, r := range as.Regions {
				med := "-"
				if r.MedianSeconds != nil {
					med = (time.Duration(*r.MedianSeconds) * time.Second).String()
				}
				fmt.Fprintf(e.stdout, "region %s: %d alert(s), %d answered, median first response %s\n", r.Region, r.Alerts, r.Responded, med)
			}
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&nodeURL, "node", "", "ask the running node at this URL")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	return c
}

func (e *env) alertActCmd() *cobra.Command {
	var nodeURL, keyFile, action, assignee, note string
	c := &cobra.Command{
		Use:   "act ALERT --node URL --key INVESTIGATOR.key --action A [--assignee PUBLIC_KEY] [--note TEXT]",
		Short: "Take an alert a step further: verify (assign), discard, monitor, assess, confirm, close",
		Long: `act signs an alert_action with --key (an investigator's; once assigned,
the assignee's): verify assigns the alert to --assignee (an investigator's
public key); a verification ends in discard, monitor or assess; an
assessment in confirm or discard; a confirmed or monitored alert is
closed. The first action's time is the alert's response time.`,
		Example: `  epiledger alert act 4dc5...1a --node http://127.0.0.1:7070 --key cdc.key --action verify --assignee 9b2e...41`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ledger.ParseHash(args[0])
			if err != nil {
				return fmt.Errorf("ALERT: %w", err)
			}
			b := &ledger.AlertAction{Alert: id, Action: action, Note: note}
			if assignee != "" {
				k, err := hex.DecodeString(assignee)
				if err != nil || len(k) != 32 {
					return fmt.Errorf("--assignee: an investigator's public key, 64 hex digits")
				}
				b.Assignee = [32]byte(k)
			}
			res, err := e.signAndSubmit(nodeURL, keyFile, b)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "alert %s: %s, tx %s at height %d\n", args[0][:16], action, res.Tx, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "an investigator's key file (required)")
	c.Flags().StringVar(&action, "action", "", "verify, discard, monitor, assess, confirm or close (required)")
	c.Flags().StringVar(&assignee, "assignee", "", "verify: the investigator it is assigned to (public key, hex)")
	c.Flags().StringVar(&note, "note", "", "a note, naming no person")
	for _, n := range []string{"node", "key", "action"} {
		c.MarkFlagRequired(n)
	}
	return c
}
