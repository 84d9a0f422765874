package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/report"
)

func (e *env) validateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "validate",
		Short: "Trajectory validation: decisions, person chains, the catch-up probability",
		Long: `Trajectory validation keeps impossible records off trajectories (seed 000
sec. 2.4-2.6). At the door, a record that contradicts the person's settled
records (too far to travel in the time between, at the same time somewhere
else, during a confirmed movement elsewhere) is refused with the
conflicting record named. Per person and window (24 h by default), once the
window has closed, the longest-chain rule keeps the heaviest feasible
chain, weighting each record by how it identified the person; the others
are rejected but stay on the ledger as evidence. Accepted records are
sealed into hash-linked person blocks (the person chain).`,
	}
	c.AddCommand(e.probabilityCmd(), e.decisionsCmd(), e.personChainCmd(), e.checkPersonChainCmd(), e.closeCmd())
	return c
}

func (e *env) probabilityCmd() *cobra.Command {
	var qs, zs string
	var asJSON bool
	c := &cobra.Command{
		Use:   "probability [--q 0.1] [--z 1..10]",
		Short: "Print the probability that a rival chain z records behind is true (seed eq. (1)-(4), Table 2)",
		Long: fmt.Sprintf(`probability prints Nakamoto's catch-up probability as the seed uses it: with
q the probability that a record is wrong and p = 1 - q, a rival chain z
records behind the winner is the true one with probability
  f(z) = 1 - sum_{k=0..z} (lambda^k e^-lambda / k!) (1 - (q/p)^(z-k)),  lambda = z q / p.
With the defaults it prints the seed's Table 2. q is in (0, 1) (from 0.5 on,
every row is 1: the rule is no better than a coin); z is at most %d and
one table at most %d rows.`, report.MaxProbabilityZ, report.MaxProbabilityRows),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q, from, to, err := report.ParseProbability(qs, zs)
			var fe *ndjson.FieldError
			if errors.As(err, &fe) {
				return withHint(fmt.Errorf("--%s: %s", fe.Field, fe.Msg), "e.g. --q 0.1 --z 1..10")
			}
			if err != nil {
				return err
			}
			rows, err := report.ProbabilityTable(e.ctx, q, from, to)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(map[string]any{"q": q, "rows": rows})
			}
			fmt.Fprintf(e.stdout, "q = %g\n z  P(rival is true)\n", q)
			for _, r := range rows {
				fmt.Fprintf(e.stdout, "%2d  %.7f\n", r.Z, r.P)
			}
			return nil
		},
	}
	c.Flags().StringVar(&qs, "q", "0.1", "probability that a record is wrong")
	c.Flags().StringVar(&zs, "z", "1..10", "lead of the winner in records: N or N..M")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// personQuery wires the flags shared by per-person validate commands.
func personQuery(c *cobra.Command, dir, nodeURL *string, q *report.Query) {
	homeFlag(c, dir)
	c.Flags().StringVar(&q.Person, "person", "", "the person: id:<canonical id>, a bound alias, or a pseudonym (required)")
	c.Flags().StringVar(&q.From, "from", "", "start of the window (RFC 3339 or YYYY-MM-DD)")
	c.Flags().StringVar(&q.To, "to", "", "end of the window (default: a reported case's own window, else the day of the ledger's latest record)")
	c.Flags().StringVar(nodeURL, "node", "", "ask the running node at this URL instead of opening the store")
	c.MarkFlagRequired("person")
}

func (e *env) decisionsCmd() *cobra.Command {
	var dir, nodeURL string
	var q report.Query
	var asJSON bool
	c := &cobra.Command{
		Use:   "decisions --home DIR --person REF [--from T] [--to T]",
		Short: "The longest-chain decisions for a person: winner, rejected records, rival, z and probability",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := ask(e, dir, nodeURL, func(cl *client.Client) (*report.Decisions, error) { return cl.Decisions(e.ctx, q) })
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(d)
			}
			report.WriteDecisions(e.stdout, d)
			return nil
		},
	}
	personQuery(c, &dir, &nodeURL, &q)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	return c
}

func (e *env) personChainCmd() *cobra.Command {
	var dir, nodeURL string
	var q report.Query
	c := &cobra.Command{
		Use:   "person-chain --home DIR --person REF [--from T] [--to T]",
		Short: "Print a person's chain with every proof needed to verify it offline (JSON)",
		Long: `person-chain prints the person blocks whose windows overlap the period: each
block's exact bytes, and for every entry the inclusion proof of its
transaction in its ledger block, with the block header; for records that
name the person by an alias, the proof of the binding transaction too.
Check it anywhere with "epiledger validate check-person-chain FILE".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := ask(e, dir, nodeURL, func(cl *client.Client) (*blocks.PersonChainView, error) { return cl.PersonChain(e.ctx, q) })
			if err != nil {
				return err
			}
			if v.Note != "" {
				fmt.Fprintf(e.stderr, "epiledger: note: %s\n", v.Note)
			}
			return e.printJSON(v)
		},
	}
	personQuery(c, &dir, &nodeURL, &q)
	return c
}

func (e *env) checkPersonChainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check-person-chain FILE",
		Short: "Check a person chain offline (no node, no store)",
		Long: `check-person-chain verifies a file from "validate person-chain" or
GET /v1/persons/{ref}/chain with nothing else: its blocks are consecutive
blocks of the person's chain, in order, each linking to the one before;
the first and the last overlap the period (from, to: RFC 3339); every
block of the period decodes, hashes to its stated hash, has its stated seq
and window and matches its entries' Merkle root; every entry's inclusion
proof checks against its ledger header and names the person directly or
through a proven alias binding. At the start, the block before them (by
its header) must lie outside the period, unless the first is the chain's
first; at the end, the block after them must too, or the file must say
the chain had no block after them when it was read: that last is the
file's word, which nothing offline can prove. A late record gets its own
block when it arrives, whatever its window, so blocks of the period can
lie beyond a block outside it: a file cut at such a block, which then
shows it as the block before or after, still checks (without late
records the windows run in seq order, and the two ends are proven). The
ok line says which blocks of the chain were checked and what holds at
each end. Compare the ledger header hashes with headers you trust to tie
the chain to the ledger. A file without a person block proves nothing: it
prints NOTHING CHECKED and exits 1, as an invalid one does.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var v blocks.PersonChainView
			if err := json.Unmarshal(b, &v); err != nil {
				return fmt.Errorf("%s: not a person chain: %w", args[0], err)
			}
			nblocks, entries, err := v.Check()
			if err != nil {
				fmt.Fprintf(e.stdout, "INVALID: %v\n", err)
				return &exitError{code: 1}
			}
			if nblocks == 0 {
				// Nothing checked proves nothing: never "ok" (issue 12, point 4).
				fmt.Fprintf(e.stdout, "NOTHING CHECKED: no person block of pseudonym %s… from %s to %s, so this file proves nothing about that period (ask validate person-chain for a window with records)\n",
					v.Pseudonym[:16], v.From, v.To)
				return &exitError{code: 1}
			}
			first, last := v.Blocks[0].Seq, v.Blocks[len(v.Blocks)-1].Seq
			fmt.Fprintf(e.stdout, "ok: %d person blocks, %d entries, %d alias bindings verified for pseudonym %s… from %s to %s: blocks %d..%d of its person chain\n",
				nblocks, entries, len(v.Bindings), v.Pseudonym[:16], v.From, v.To, first, last)
			if n := len(v.Blocks) - nblocks; n > 0 {
				fmt.Fprintf(e.stdout, "  between them, %d late record blocks outside the period, checked by their headers\n", n)
			}
			if v.Before != nil {
				fmt.Fprintf(e.stdout, "  start: block %d, just before them, lies outside the period\n", v.Before.Seq)
			} else {
				fmt.Fprintf(e.stdout, "  start: block 0 is the chain's first\n")
			}
			if v.After != nil {
				fmt.Fprintf(e.stdout, "  end: block %d, just after them, lies outside the period\n", v.After.Seq)
			} else {
				fmt.Fprintf(e.stdout, "  end: NOT PROVEN: the file says block %d was the chain's last when it was read; nothing offline can prove that (ask the node again)\n", last)
			}
			fmt.Fprintf(e.stdout, "  not proven: that the ledger headers are the chain's (compare their hashes with headers you trust), nor that no block of the period lies beyond a late record's block (see --help)\n")
			return nil
		},
	}
}

func (e *env) closeCmd() *cobra.Command {
	var dir, nodeURL, until string
	c := &cobra.Command{
		Use:   "close --home DIR --until T",
		Short: "Advance the validation clock so that windows ending before T - grace are decided",
		Long: `Windows close when the block time and the latest record time on the ledger
are both past their end plus the grace period (rules.validation.grace in genesis.json). After
importing historical data, nothing later arrives to move the record time
on; close signs a close_windows transaction with the authority's key that
moves it to T, so the last days are decided too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := time.Parse(time.RFC3339, until); err != nil {
				return withHint(fmt.Errorf("--until: want an RFC 3339 time"), "e.g. --until 2020-01-22T06:00:00+08:00")
			}
			res, err := ask(e, dir, nodeURL, func(cl *client.Client) (*api.CloseReply, error) { return cl.Close(e.ctx, until) })
			var ae *client.APIError
			if errors.As(err, &ae) && ae.Body.Code == "replay" {
				return withHint(err, "the ledger was already closed up to %s: give a later --until", until)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "closed up to %s: transaction %s at height %d decided %d validation window(s), %d record(s) rejected\n", until, res.Tx, res.Height, res.WindowsDecided, res.RecordsRejected)
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&until, "until", "", "the time to advance the validation clock to (RFC 3339, required)")
	c.Flags().StringVar(&nodeURL, "node", "", "submit through the running node at this URL")
	c.MarkFlagRequired("until")
	return c
}
