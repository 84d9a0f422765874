package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

func nodeOptionsQuery() node.Options { return node.Options{NoEngine: true} }

func (e *env) verifyCmd() *cobra.Command {
	var dir, nodeURL string
	var asJSON, replay bool
	c := &cobra.Command{
		Use:   "verify --home DIR [--replay]",
		Short: "Re-check every block: hash links, Merkle roots, every signature",
		Long: `verify re-reads the whole store and checks, block by block: the header decodes
and links to the previous block's hash (block 1 to the genesis), times never
go backwards, every transaction decodes canonically, the count, size and
RFC 6962 Merkle root match the header, every signature verifies, every
transaction is findable by its hash, and the head record matches the last
block. Then the double chain: every visit and move is the next entry of its
sites' hash-linked chains, and every person chain's blocks link, match
their Merkle roots and name only transactions on the chain. With --replay it then re-applies every block through a fresh state
machine in a scratch store and checks each header's state hash, then
compares every state table (indexes, site and person chains, decisions,
corrections) of the store with the replay's, byte for byte, which proves
the recorded state follows from the blocks. It exits 0 when all holds and 1
naming the first bad height otherwise. A store that holds fewer blocks than
the node acknowledged (home/acked-head), or a file of the store that fails
its checksum, is FAILED too, naming the missing heights or the file (and
the block being read). verify opens the store read-only: it changes no file
of it. Stop the node first (verify opens the store itself), or pass --node
URL to have a running node verify its chain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if nodeURL != "" && replay {
				return fmt.Errorf("--replay needs the store: stop the node and run verify without --node")
			}
			var cl *client.Client
			if nodeURL != "" {
				c, err := e.nodeClient(dir, nodeURL)
				if err != nil {
					return err
				}
				cl = c
			}
			var v api.VerifyReply
			if cl == nil {
				h, err := loadHome(dir)
				if err != nil {
					return err
				}
				v, err = e.verifyStore(h, replay)
				var le *lockedError
				if errors.As(err, &le) && !replay {
					// The store is held: by the node node.json names, ask it.
					cl = e.runningNode(h)
				}
				if cl == nil && err != nil {
					if errors.As(err, &le) && replay {
						return withHint(err, "--replay reads the store itself: stop the node first")
					}
					return err
				}
			}
			if cl != nil {
				r, err := cl.Verify(e.ctx)
				if err != nil {
					return err
				}
				v = *r
			}
			return e.printVerify(v, asJSON)
		},
	}
	homeFlag(c, &dir)
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	c.Flags().StringVar(&nodeURL, "node", "", "have the running node at this URL verify its chain")
	c.Flags().BoolVar(&replay, "replay", false, "also re-apply every block and compare state hashes (slower)")
	return c
}

// verifyStore verifies the home's store, read-only, and with replay
// re-applies every block: damage is a reply that says where (see
// api.VerifyResult), anything else an error.
func (e *env) verifyStore(h *home.Home, replay bool) (api.VerifyReply, error) {
	n, err := e.openNode(h, node.Options{ReadOnly: true})
	if err != nil {
		return api.VerifyResult(nil, err)
	}
	defer n.Close()
	g := h.Genesis
	var prog func(uint64, uint64)
	if f, ok := e.stderr.(*os.File); ok && isTerminal(f) {
		prog = func(h, head uint64) {
			if h%100 == 0 || h == head {
				fmt.Fprintf(f, "\rverifying block %d/%d", h, head)
			}
			if h == head {
				fmt.Fprintln(f)
			}
		}
	}
	rep, err := blocks.Verify(n.DB, &g, prog)
	if err == nil && replay {
		err = replayInto(n, &g)
	}
	v, err := api.VerifyResult(rep, err)
	v.Replayed = v.OK && replay
	return v, err
}

// printVerify prints a verification, locally or by a node, the same way;
// a failed one exits 1.
func (e *env) printVerify(v api.VerifyReply, asJSON bool) error {
	switch {
	case asJSON:
		e.printJSON(v)
	case v.OK:
		fmt.Fprintf(e.stdout, "ok: %d blocks, %d transactions, %d signatures verified\ndouble chain: %d site chains, %d person chains with %d person blocks\nhead %s\nstate %s\n",
			v.Blocks, v.Txs, v.Signatures, v.SiteChains, v.Persons, v.PersonBlocks, v.Head, v.StateHash)
		if v.Replayed {
			fmt.Fprintf(e.stdout, "replay: every block re-applied; every state hash matches\n")
		}
	case v.View != "":
		fmt.Fprintf(e.stdout, "FAILED: %s of %s, %s\n", v.View, v.Where, v.Reason)
	case v.BadHeight != 0 && v.Acked == 0:
		fmt.Fprintf(e.stdout, "FAILED at height %d: %s\n", v.BadHeight, v.Reason)
	default:
		fmt.Fprintf(e.stdout, "FAILED: %s\n", v.Reason)
	}
	if !v.OK {
		return &exitError{code: 1}
	}
	return nil
}

// replayInto replays the node's chain into a scratch store.
func replayInto(n *node.Node, g *state.Genesis) error {
	dir, err := os.MkdirTemp("", "epiledger-replay-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dst, err := store.Open(dir, store.Options{})
	if err != nil {
		return err
	}
	defer dst.Close()
	if _, err := blocks.Replay(n.DB, dst, g, nil); err != nil {
		return err
	}
	return blocks.CompareState(n.DB, dst)
}
