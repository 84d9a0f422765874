package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/chain"
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
			h, err := loadHome(dir)
			if err != nil {
				return err
			}
			if nodeURL != "" {
				if replay {
					return fmt.Errorf("--replay needs the store: stop the node and run verify without --node")
				}
				cl, err := e.remote(h, nodeURL)
				if err != nil {
					return err
				}
				v, err := cl.Verify(e.ctx)
				if err != nil {
					return err
				}
				if asJSON {
					e.printJSON(v)
				} else if v.OK {
					fmt.Fprintf(e.stdout, "ok: %d blocks, %d transactions, %d signatures verified\ndouble chain: %d site chains, %d person chains with %d person blocks\nhead %s\nstate %s\n",
						v.Blocks, v.Txs, v.Signatures, v.SiteChains, v.Persons, v.PersonBlocks, v.Head, v.StateHash)
				} else if v.View != "" {
					fmt.Fprintf(e.stdout, "FAILED: %s of %s, %s\n", v.View, v.Where, v.Reason)
				} else {
					fmt.Fprintf(e.stdout, "FAILED at height %d: %s\n", v.BadHeight, v.Reason)
				}
				if !v.OK {
					return &exitError{code: 1}
				}
				return nil
			}
			n, err := e.openNode(h, node.Options{ReadOnly: true})
			if err != nil {
				return e.verifyFailed(err, asJSON)
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
			rep, err := chain.Verify(n.DB, &g, prog)
			if err == nil && replay {
				err = replayInto(n, &g)
			}
			if err != nil {
				return e.verifyFailed(err, asJSON)
			}
			if asJSON {
				return e.printJSON(map[string]any{"ok": true, "blocks": rep.Blocks, "txs": rep.Txs, "signatures": rep.Signatures,
					"site_chains": rep.SiteChains, "persons": rep.Persons, "person_blocks": rep.PersonBlocks,
					"head": rep.Head.Hash.String(), "state_hash": rep.Head.StateHash.String()})
			}
			fmt.Fprintf(e.stdout, "ok: %d blocks, %d transactions, %d signatures verified\ndouble chain: %d site chains, %d person chains with %d person blocks\nhead %s\nstate %s\n",
				rep.Blocks, rep.Txs, rep.Signatures, rep.SiteChains, rep.Persons, rep.PersonBlocks, rep.Head.Hash, rep.Head.StateHash)
			if replay {
				fmt.Fprintf(e.stdout, "replay: every block re-applied; every state hash matches\n")
			}
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	c.Flags().StringVar(&nodeURL, "node", "", "have the running node at this URL verify its chain")
	c.Flags().BoolVar(&replay, "replay", false, "also re-apply every block and compare state hashes (slower)")
	return c
}

// verifyFailed prints why the store failed verification (FAILED, exit 1):
// a bad block or chain, blocks acknowledged but missing, or a damaged
// file. Any other error is returned as it is.
func (e *env) verifyFailed(err error, asJSON bool) error {
	fail := func(line string, fields map[string]any) error {
		if asJSON {
			fields["ok"] = false
			if fields["file"] == "" {
				delete(fields, "file")
			}
			e.printJSON(fields)
		} else {
			fmt.Fprintln(e.stdout, line)
		}
		return &exitError{code: 1}
	}
	var file string
	var ce *store.CorruptionError
	if errors.As(err, &ce) {
		file = ce.Path
	}
	var bad *chain.BadBlockError
	var badChain *chain.BadChainError
	var lost *chain.LostBlocksError
	switch {
	case errors.As(err, &bad):
		return fail(fmt.Sprintf("FAILED at height %d: %s", bad.Height, bad.Reason),
			map[string]any{"bad_height": bad.Height, "reason": bad.Reason, "file": file})
	case errors.As(err, &badChain):
		return fail(fmt.Sprintf("FAILED: %s", badChain),
			map[string]any{"view": badChain.View, "where": badChain.Where, "entry": badChain.Seq, "reason": badChain.Reason})
	case errors.As(err, &lost):
		return fail(fmt.Sprintf("FAILED: %s", lost),
			map[string]any{"bad_height": lost.Have + 1, "acked": lost.Acked, "have": lost.Have, "reason": lost.Error()})
	case errors.Is(err, store.ErrCorrupt):
		return fail(fmt.Sprintf("FAILED: %v", err), map[string]any{"reason": err.Error(), "file": file})
	}
	return err
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
	if _, err := chain.Replay(n.DB, dst, g, n.Machine.Params(), nil); err != nil {
		return err
	}
	return chain.CompareState(n.DB, dst)
}
