package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
)

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func (e *env) txCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "tx",
		Short: "Inclusion proofs: fetch one for a transaction, check one offline",
	}
	var dir, nodeURL string
	var up []string
	prove := &cobra.Command{
		Use:   "proof --home DIR [--node URL] [--up PARENT_URL ...] HASH",
		Short: "Print the inclusion proof of a transaction as JSON (the API's format)",
		Long: `proof prints the inclusion proof of an accepted transaction. From a node of
a CometBFT consortium it also holds the consortium section: what ties the
block to the chain the validators signed (see "epiledger tx check"). The
block after the transaction's signs its result and the state after it:
until it is committed (a moment after), the node answers "too early", and
proof asks again for up to 30 seconds. On the home of a stopped consortium
node, proof reads the stores it left (ours and CometBFT's) and gives the
same answer as the node would.

With --up, the proof goes up the hierarchy of regions (docs/REGIONS.md):
for each parent given, lowest first, the chain's headers from the record's
block to the one the parent anchored, the parent's proof of that anchor,
and its proof of the register_child that named the key the anchor is
signed with. "epiledger tx check --root TOP/genesis.json" checks it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ledger.ParseHash(args[0])
			if err != nil {
				return err
			}
			p, err := whenSigned(e.ctx, func() (*consortium.TxProof, error) {
				return askWith(e, dir, nodeURL, nodeOptionsQuery(), func(cl *client.Client) (*consortium.TxProof, error) { return cl.Proof(e.ctx, id.String()) })
			})
			if err != nil {
				return err
			}
			if len(up) > 0 {
				return e.proveUp(dir, nodeURL, p, up)
			}
			return e.printJSON(p)
		},
	}
	homeFlag(prove, &dir)
	prove.Flags().StringVar(&nodeURL, "node", "", "ask the running node at this URL")
	prove.Flags().StringSliceVar(&up, "up", nil, "carry the proof up the hierarchy of regions: the parent's node, then the grandparent's... (repeat, lowest first; with --as, a key holding a reader's role on each)")
	var genesis, root string
	check := &cobra.Command{
		Use:   "check FILE [--genesis COMETBFT_GENESIS] [--root TOP/genesis.json]",
		Short: "Check an inclusion proof offline (no node, no store)",
		Long: `check reads a proof (from "epiledger tx proof" or GET /v1/tx/{hash}/proof) and
checks, with nothing but the file: the transaction bytes decode canonically
and hash to the claimed id, the header fields hash to the stated block hash,
and the RFC 6962 audit path leads from the transaction to the header's
Merkle root. To tie the block to a chain, compare the block hash with a
header you trust (GET /v1/blocks/{height}).

A proof from a node of a CometBFT consortium has a consortium section, and
check ties it to the consortium with --genesis, the consortium's CometBFT
genesis (HOME/cometbft/config/genesis.json of any of its nodes): from the
genesis validators, each signed header in the proof follows from the one
before by CometBFT's light-client rules, down to block H+1 (H the
transaction's block), signed by more than 2/3 of its validators' voting
power; header H is the one H+1 follows; the transaction is in CometBFT's
block H and its result there is "accepted" (code 0, under H+1's results
hash); and our block H has CometBFT's height and time, and the state hash
H+1 signs. Without --genesis, a consortium proof is not checked (the
signatures mean nothing until tied to the consortium's validators) and
check exits 1. With --genesis, a proof without a consortium section is
refused. Exit status 0: valid; 1: INVALID (or not checked).

A proof of an intel_summary (a digest, a national broadcast or an access
grant that came to this chain from a linked one) is checked through what
it carries, level by level: each carried transaction is a leaf of the
block whose header the summary holds, followed by its linking headers, and
the transaction at the bottom (the national N1's broadcast, say) has valid
signatures for its chain. This is how a region proves a broadcast it
received: compare the national block check names with a national header
you trust.

A proof up the hierarchy of regions ("tx proof --up") needs --root, the
genesis.json of the chain at its top: check verifies every level (the
record's inclusion, the headers linking it to the anchored one, the
anchor's and the registration's inclusion and signatures) and that the
registrations' signers lead to the root's authority; then compare the top
block it names with a header of that chain you trust.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if isUpProof(b) {
				return e.checkUp(b, root)
			}
			g, err := readConsortiumGenesis(genesis)
			if err != nil {
				return err
			}
			invalid := e.invalid
			p, r, err := checkTxProof(b, g)
			if err != nil {
				return invalid(err)
			}
			fmt.Fprintf(e.stdout, "ok: transaction %s is leaf %d of %d in block %d (hash %s)\n", p.TxID, p.Index, p.Size, p.Header.Height, p.Header.Hash())
			if t, err := ledger.DecodeTx(p.Tx); err == nil {
				lines, err := checkCarried(t)
				if err != nil {
					return invalid(err)
				}
				for _, l := range lines {
					fmt.Fprintln(e.stdout, l)
				}
			}
			if r == nil {
				return nil
			}
			sets := "the genesis validators"
			if r.Sets > 1 {
				sets = fmt.Sprintf("%d validator sets from the genesis's", r.Sets)
			}
			fmt.Fprintf(e.stdout, "ok: consortium %s: block %d signed by %d of %d voting power (%d of %d validators, more than 2/3), reached from %s\n",
				r.ChainID, r.Height+1, r.Signed, r.Total, r.Signers, r.Validators, sets)
			fmt.Fprintf(e.stdout, "ok: CometBFT block %d holds the transaction at position %d, accepted (result code 0, under block %d's results hash); our block %d has its height, its time and the state hash block %d signs\n",
				r.Height, r.Index, r.Height+1, r.Height, r.Height+1)
			return nil
		},
	}
	check.Flags().StringVar(&genesis, "genesis", "", "the consortium's CometBFT genesis.json: check the proof's consortium section against its validators")
	check.Flags().StringVar(&root, "root", "", "for a proof up the hierarchy of regions: the genesis.json of the chain at its top")
	c.AddCommand(prove, check)
	return c
}

func parseHash(s string) (ledger.Hash, error) { return ledger.ParseHash(s) }

// whenSigned asks for a proof until the node can give it: a consortium
// node answers 425 too_early until the block after the transaction's,
// which signs its results, is committed (a second or so). It gives up
// after 30 seconds.
func whenSigned(ctx context.Context, ask func() (*consortium.TxProof, error)) (*consortium.TxProof, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := ask()
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusTooEarly || !time.Now().Before(deadline) {
			return p, err
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// readConsortiumGenesis reads --genesis, if given.
func readConsortiumGenesis(file string) (*consortium.Genesis, error) {
	if file == "" {
		return nil, nil
	}
	gb, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	g, err := consortium.ParseGenesis(gb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return g, nil
}

// errNotChecked: a consortium proof checked without the consortium's
// genesis proves nothing. A *notChecked wraps it and says why.
var errNotChecked = errors.New("not checked")

type notChecked struct{ why error }

func (n *notChecked) Error() string        { return n.why.Error() }
func (n *notChecked) Unwrap() error        { return n.why }
func (n *notChecked) Is(target error) bool { return target == errNotChecked }

// checkTxProof checks an inclusion proof (GET /v1/tx/{hash}/proof's
// answer) offline: the leaf in its block and, with g, the consortium
// section against the consortium's validators (then required). An error
// wrapping errNotChecked is a consortium proof without g.
func checkTxProof(b []byte, g *consortium.Genesis) (*blocks.Proof, *consortium.Report, error) {
	p, c, err := consortium.ParseTxProof(b)
	if err != nil {
		return nil, nil, err
	}
	if err := p.Check(); err != nil {
		return nil, nil, err
	}
	switch {
	case c == nil && g != nil:
		return nil, nil, fmt.Errorf("the proof has no consortium section, and --genesis asks for one: it proves inclusion in a block, not that the consortium %q signed it", g.ChainID)
	case c != nil && g == nil:
		return nil, nil, &notChecked{fmt.Errorf("the proof has a consortium section (CometBFT chain %q): its signatures prove nothing until tied to the consortium's validators; pass --genesis with the consortium's CometBFT genesis (HOME/cometbft/config/genesis.json)", c.ChainID)}
	case c == nil:
		return p, nil, nil
	}
	r, err := consortium.Verify(g, p, c)
	return p, r, err
}

// invalid reports a proof that does not hold (INVALID, exit 1), or one
// that cannot be checked without the consortium's genesis (NOT CHECKED,
// exit 1).
func (e *env) invalid(err error) error {
	if errors.Is(err, errNotChecked) {
		fmt.Fprintf(e.stdout, "NOT CHECKED: %v\n", errors.Unwrap(err))
	} else {
		fmt.Fprintf(e.stdout, "INVALID: %v\n", err)
	}
	return &exitError{code: 1}
}
