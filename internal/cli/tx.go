package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/ledger"
)

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func (e *env) txCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "tx",
		Short: "Inclusion proofs: fetch one for a transaction, check one offline",
	}
	var dir, nodeURL string
	prove := &cobra.Command{
		Use:   "proof --home DIR [--node URL] HASH",
		Short: "Print the inclusion proof of a transaction as JSON (the API's format)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ledger.ParseHash(args[0])
			if err != nil {
				return err
			}
			p, err := ask(e, dir, nodeURL, func(cl *client.Client) (*blocks.ProofView, error) { return cl.Proof(e.ctx, id.String()) })
			if err != nil {
				return err
			}
			return e.printJSON(p)
		},
	}
	homeFlag(prove, &dir)
	prove.Flags().StringVar(&nodeURL, "node", "", "ask the running node at this URL")
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Check an inclusion proof offline (no node, no store)",
		Long: `check reads a proof (from "epiledger tx proof" or GET /v1/tx/{hash}/proof) and
checks, with nothing but the file: the transaction bytes decode canonically
and hash to the claimed id, the header fields hash to the stated block hash,
and the RFC 6962 audit path leads from the transaction to the header's
Merkle root. To tie the block to a chain, compare the block hash with a
header you trust (GET /v1/blocks/{height}).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var v blocks.ProofView
			if err := json.Unmarshal(b, &v); err != nil {
				return fmt.Errorf("%s: not a proof: %w", args[0], err)
			}
			p, err := v.Proof()
			if err == nil {
				err = p.Check()
			}
			if err != nil {
				fmt.Fprintf(e.stdout, "INVALID: %v\n", err)
				return &exitError{code: 1}
			}
			fmt.Fprintf(e.stdout, "ok: transaction %s is leaf %d of %d in block %d (hash %s)\n", p.TxID, p.Index, p.Size, p.Header.Height, p.Header.Hash())
			return nil
		},
	}
	c.AddCommand(prove, check)
	return c
}

func parseHash(s string) (ledger.Hash, error) { return ledger.ParseHash(s) }
