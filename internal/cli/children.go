package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/region"
)

// childCmd registers and lists a parent chain's child regions (issue 15,
// docs/REGIONS.md).
func (e *env) childCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "child",
		Short: "Register and list the chains of this chain's child regions (a hierarchy of chains)",
		Long: `A chain serves one region, named by its GB/T 2260 code: a district
(320115), a city (3201), a province (32) or the nation. Each child region's
chain is registered on its parent's (one level up), and its headers are
then anchored there ("epiledger anchor relay"), so that the parent holds,
per child, the block and state hashes it can prove records against
(docs/REGIONS.md).`,
	}
	var dir, nodeURL, genesis string
	var lf lightFlags
	reg := &cobra.Command{
		Use:   "register --home DIR [--node URL] --genesis CHILD/genesis.json",
		Short: "Register a child region's chain from its genesis file (the administrator)",
		Long: `register reads the child chain's genesis.json (its chain id, region,
authority key and genesis hash) and registers it on this chain: the node
signs a register_child transaction as the chain authority. The child's
region must be one level below this chain's.

A CometBFT child (a genesis that names validators: a consortium's) is
registered with its genesis validators and time as well: its headers are
signed by its validators, not its authority, and verified here by
CometBFT's light-client rules, trusted for --trusting-period after each verified one, and
accepted up to --max-clock-drift ahead of this chain's block time.`,
		Example: `  epiledger child register --home ./wuhan --genesis ./jiangan/genesis.json
  epiledger child register --home ./hubei --genesis ./wuhan/node0/genesis.json --trusting-period 168h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.registerChain(dir, nodeURL, genesis, "child", lf, (*client.Client).RegisterChild)
		},
	}
	lf.add(reg)
	homeFlag(reg, &dir)
	reg.Flags().StringVar(&nodeURL, "node", "", "the parent's node (default: the home's running node, or the home itself)")
	reg.Flags().StringVar(&genesis, "genesis", "", "the child chain's genesis.json (required)")
	reg.MarkFlagRequired("genesis")

	var ldir, lnode string
	list := &cobra.Command{
		Use:   "list --home DIR [--node URL]",
		Short: "List the child chains and their latest anchored headers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, done, err := e.ledger(ldir, lnode)
			if err != nil {
				return err
			}
			defer done()
			cs, err := cl.Children(e.ctx)
			if err != nil {
				return nodeErr(err, lnode)
			}
			if len(cs) == 0 {
				fmt.Fprintln(e.stdout, "no child chains registered")
				return nil
			}
			for _, ch := range cs {
				fmt.Fprintf(e.stdout, "%s\tregion %s (%s)\t%s\tanchored to height %d\t%s\n", ch.ChainID, shortRegion(ch.Region), ch.Level, ch.Engine, ch.Height, ch.Hash)
			}
			return nil
		},
	}
	homeFlag(list, &ldir)
	list.Flags().StringVar(&lnode, "node", "", "the parent's node (default: the home's running node, or the home itself)")
	c.AddCommand(reg, list)
	return c
}

// parentCmd registers this chain's parent, whose headers it follows.
func (e *env) parentCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "parent",
		Short: "Register this chain's parent region's chain, whose headers it follows",
	}
	var dir, nodeURL, genesis string
	var lf lightFlags
	reg := &cobra.Command{
		Use:   "register --home DIR [--node URL] --genesis PARENT/genesis.json",
		Short: "Register the parent region's chain from its genesis file (the administrator)",
		Long: `register reads the parent chain's genesis.json and registers it on this
chain (a register_parent transaction signed as the chain authority): its
region must be the one above this chain's. The parent's relay then
anchors the parent's headers here ("epiledger anchor relay" on the
parent's authority home, --to this chain's node).`,
		Example: `  epiledger parent register --home ./jiangan --genesis ./wuhan/genesis.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.registerChain(dir, nodeURL, genesis, "parent", lf, (*client.Client).RegisterParent)
		},
	}
	lf.add(reg)
	homeFlag(reg, &dir)
	reg.Flags().StringVar(&nodeURL, "node", "", "this chain's node (default: the home's running node, or the home itself)")
	reg.Flags().StringVar(&genesis, "genesis", "", "the parent chain's genesis.json (required)")
	reg.MarkFlagRequired("genesis")
	c.AddCommand(reg)
	return c
}

// lightFlags are a CometBFT chain's light-client parameters.
type lightFlags struct{ trusting, drift time.Duration }

func (l *lightFlags) add(c *cobra.Command) {
	c.Flags().DurationVar(&l.trusting, "trusting-period", api.DefaultTrustingPeriod*time.Second,
		"a CometBFT chain's headers are trusted this long after each verified one (whole seconds)")
	c.Flags().DurationVar(&l.drift, "max-clock-drift", api.DefaultMaxClockDrift*time.Second,
		"how far ahead of this chain's block time a CometBFT chain's header may be (whole seconds)")
}

// registerChain registers the chain whose genesis file is genesis as this
// chain's relation ("child" or "parent") through register.
func (e *env) registerChain(dir, nodeURL, genesis, relation string, lf lightFlags,
	register func(*client.Client, context.Context, api.ChildRequest) (*api.TxResult, error)) error {
	g, err := home.ReadGenesis(genesis)
	if err != nil {
		return fmt.Errorf("--genesis: %w", err)
	}
	req := api.ChildRequest{ChainID: g.ChainID, Region: g.Region, Genesis: g.Hash().String(),
		Engine: ledger.EngineSolo, Authority: ledger.Hash(g.Authority).String()}
	if len(g.Validators) > 0 {
		if lf.trusting < time.Second || lf.trusting%time.Second != 0 || lf.trusting > ledger.MaxTrustingPeriod*time.Second {
			return fmt.Errorf("--trusting-period: whole seconds, from 1s to %s", ledger.MaxTrustingPeriod*time.Second)
		}
		if lf.drift < time.Second || lf.drift%time.Second != 0 || lf.drift > ledger.MaxClockDrift*time.Second {
			return fmt.Errorf("--max-clock-drift: whole seconds, from 1s to %s", ledger.MaxClockDrift*time.Second)
		}
		// The authority stays: it signs the registrations of the
		// CometBFT chain's own children, which an up proof checks.
		req.Engine, req.GenesisTime = ledger.EngineCometBFT, g.Time
		req.TrustingPeriod, req.MaxClockDrift = int64(lf.trusting/time.Second), int64(lf.drift/time.Second)
		for _, v := range g.Validators {
			req.Validators = append(req.Validators, api.ChildValidator{Key: ledger.Hash(v.Key).String(), Power: v.Power})
		}
	}
	cl, done, err := e.ledger(dir, nodeURL)
	if err != nil {
		return err
	}
	defer done()
	res, err := register(cl, e.ctx, req)
	if err != nil {
		return nodeErr(err, nodeURL)
	}
	fmt.Fprintf(e.stdout, "registered %s chain %s (region %s) at height %d, tx %s\n", relation, g.ChainID, shortRegion(g.Region), res.Height, res.Tx)
	return nil
}

func shortRegion(s string) string {
	if c, err := region.Parse(s); err == nil {
		return c.Short()
	}
	return s
}

// anchorCmd relays a child chain's headers to its parent.
func (e *env) anchorCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "anchor",
		Short: "Anchor this chain's headers into its parent's chain",
	}
	var dir, nodeURL, parentURL, relayKey string
	var once bool
	var every time.Duration
	relay := &cobra.Command{
		Use:   "relay --home DIR --node URL --parent URL --relay-key FILE [--once]",
		Short: "Anchor the chain's latest header into its parent, once or as blocks come",
		Long: `relay reads this chain's head from its node (--node, with the home's
operator token) and anchors it into the parent's node (--parent), with
--relay-key, a key the parent's administrator granted the role relay.

A solo chain's anchor is signed with the chain authority's key (the
home's): run it on the authority's home. It anchors the latest header
only: the parent accepts gaps, each header vouched for by this chain's
authority, and a proof fills them with this chain's headers.

A CometBFT chain's header is vouched for by its validators' signatures:
relay carries the signed header and validator sets (GET
/v1/light-blocks/{height}) as a light anchor signed with --relay-key, and
runs on any node's home. The parent verifies it from the last header it
holds; where the validators changed too much for that, relay anchors a
header in between first (CometBFT's bisection).

Without --once it keeps going, every --every, until interrupted. The
parent must have registered this chain first ("epiledger child register
--genesis HOME/genesis.json" on the parent).`,
		Example: `  epiledger anchor relay --home ./jiangan --node http://127.0.0.1:7071 --parent http://127.0.0.1:7070 --relay-key relay.key --once`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if parentURL == "" {
				return errors.New("anchor relay: --parent URL (or --to URL) is required: the node that keeps the anchors")
			}
			h, err := loadHome(dir)
			if err != nil {
				return err
			}
			child, err := e.nodeClient(dir, nodeURL)
			if err != nil {
				return err
			}
			k, err := home.LoadKeyFile(relayKey)
			if err != nil {
				return fmt.Errorf("--relay-key: %w", err)
			}
			pst, err := client.New(parentURL, "").Health(e.ctx)
			if err != nil {
				return withHint(fmt.Errorf("--parent %s: %w", parentURL, err), "is the parent's node running?")
			}
			parent := client.New(parentURL, "")
			parent.Key, parent.ChainID = k, pst.ChainID
			for {
				if err := e.relayOnce(h, child, parent, pst.ChainID, k); err != nil {
					return err
				}
				if once {
					return nil
				}
				select {
				case <-e.ctx.Done():
					return nil
				case <-time.After(every):
				}
			}
		},
	}
	homeFlag(relay, &dir)
	relay.Flags().StringVar(&nodeURL, "node", "", "this chain's node (required)")
	relay.MarkFlagRequired("node")
	relay.Flags().StringVar(&parentURL, "parent", "", "the node of the chain that keeps the anchors: the parent's (required; --to is the same)")
	relay.Flags().StringVar(&parentURL, "to", "", "the same as --parent: for a parent's relay, its child's node")
	relay.Flags().StringVar(&relayKey, "relay-key", "", "a key file the parent granted the role relay (required)")
	relay.MarkFlagRequired("relay-key")
	relay.Flags().BoolVar(&once, "once", false, "anchor once and stop")
	relay.Flags().DurationVar(&every, "every", 5*time.Second, "how often to look for a new head")
	c.AddCommand(relay)
	return c
}

// relayOnce anchors the child's head into the parent, if the parent does
// not hold it yet.
func (e *env) relayOnce(h *home.Home, child, parent *client.Client, parentChain string, relayKey ed25519.PrivateKey) error {
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	st, err := child.Status(ctx)
	if err != nil {
		return fmt.Errorf("this chain's node: %w", err)
	}
	reg, ok, err := parent.Child(ctx, h.Genesis.ChainID)
	if err == nil && !ok {
		// A parent's relay: the target follows this chain as its parent.
		var p api.ChildView
		if p, ok, err = parent.Parent(ctx); ok && p.ChainID != h.Genesis.ChainID {
			ok = false
		}
		reg = p
	}
	if err != nil {
		return fmt.Errorf("the parent: %w", err)
	}
	if !ok {
		return withHint(fmt.Errorf("the parent (%s) has not registered chain %s", parentChain, h.Genesis.ChainID),
			"its administrator runs: epiledger child register --genesis %s/genesis.json", h.Dir)
	}
	if st.Height <= reg.Height {
		fmt.Fprintf(e.stdout, "%s: the parent holds block %d already\n", h.Genesis.ChainID, reg.Height)
		return nil
	}
	if reg.CometBFT != nil {
		return e.relayLight(ctx, h, child, parent, parentChain, relayKey, int64(reg.Height), int64(st.Height))
	}
	if h.Authority() == nil {
		return withHint(errors.New("a solo chain's anchors are signed by its chain authority's key, which this home does not hold"), "run it on the chain authority's home")
	}
	hdr, res, err := anchorBlock(ctx, h, child, parent, parentChain, st.Height)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: anchored block %d (%s) into %s at height %d\n", h.Genesis.ChainID, hdr.Height, hdr.Hash().String()[:16], parentChain, res.Height)
	return nil
}

// anchorBlock anchors block height of the chain of home h (its node
// child) into parent: the header, signed by h's chain authority for
// parentChain.
func anchorBlock(ctx context.Context, h *home.Home, child, parent *client.Client, parentChain string, height uint64) (*ledger.Header, *api.TxResult, error) {
	hdr, err := child.Block(ctx, height)
	if err != nil {
		return nil, nil, err
	}
	tx := ledger.NewTx(ledger.AnchorOf(hdr))
	tx.Sign(parentChain, h.Authority())
	res, err := parent.SubmitOne(ctx, tx.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("anchoring block %d: %w", hdr.Height, err)
	}
	return hdr, res, nil
}

// relayLight anchors a CometBFT chain's signed header at height latest
// into the parent, which holds it up to height held: verified from held,
// or, where the validators changed too much for that, from a header in
// between first (CometBFT's light-client bisection), each submitted as a
// light anchor signed with the relay key.
func (e *env) relayLight(ctx context.Context, h *home.Home, child, parent *client.Client, parentChain string, key ed25519.PrivateKey, held, latest int64) error {
	target := latest
	for held < latest {
		lb, err := child.LightBlock(ctx, target)
		if err != nil {
			return fmt.Errorf("this chain's node: signed header %d: %w", target, err)
		}
		b := &ledger.LightAnchor{ChainID: h.Genesis.ChainID, TrustedHeight: held, SignedHeader: lb.SignedHeader, Validators: lb.Validators}
		if target != held+1 {
			// The trusted header's next validators are those of the
			// height after it.
			next, err := child.LightBlock(ctx, held+1)
			if err != nil {
				return fmt.Errorf("this chain's node: validators of height %d: %w", held+1, err)
			}
			b.TrustedValidators = next.Validators
		}
		tx := ledger.NewTx(b)
		tx.Sign(parentChain, key)
		res, err := parent.SubmitOne(ctx, tx.Bytes())
		var ae *client.APIError
		if errors.As(err, &ae) && ae.Body.Field == "trusted_height" && target > held+1 {
			target = held + (target-held)/2
			continue
		}
		if err != nil {
			return fmt.Errorf("anchoring signed header %d: %w", target, err)
		}
		fmt.Fprintf(e.stdout, "%s: anchored block %d (signed by its validators, verified from %d) into %s at height %d\n",
			h.Genesis.ChainID, target, held, parentChain, res.Height)
		held, target = target, latest
	}
	return nil
}
