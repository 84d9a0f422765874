package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/state"
)

// intelConfirmCmd confirms an entry's digest for the parent (or, the
// national N1, broadcasts it).
func (e *env) intelConfirmCmd() *cobra.Command {
	var keyFile, nodeURL string
	var broadcast bool
	c := &cobra.Command{
		Use:   "confirm TX --key N2.key --node URL [--broadcast]",
		Short: "Confirm a record's digest for the region above (N2), or broadcast it (the national N1)",
		Long: `confirm reads entry TX on the chain of --node (a record submitted there,
or a digest that came up from a child), and signs with --key (role n2) an
intel_confirm carrying its digest as it may leave the chain: the time,
dimension, response level and secrecy, the place and the counts for a
public or internal record; no counts for a confidential or secret one,
and a secret one's place only as this chain's region. "epiledger intel
relay" then carries it up. On the national chain, --broadcast with a key
of role n1 sends it down to every region instead.`,
		Example: `  epiledger intel confirm 3f1c...e9 --key commission.key --node http://127.0.0.1:7070`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ledger.ParseHash(args[0])
			if err != nil {
				return fmt.Errorf("TX: %w", err)
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			cl, st, err := e.signedOn(ctx, nodeURL, keyFile)
			if err != nil {
				return err
			}
			v, err := cl.IntelRecord(ctx, id.String())
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			d, err := digestOf(v)
			if err != nil {
				return err
			}
			tx := ledger.NewTx(&ledger.IntelConfirm{Of: id, Digest: d.Redacted(st.Region), Broadcast: broadcast})
			tx.Sign(st.ChainID, cl.Key)
			res, err := cl.SubmitOne(ctx, tx.Bytes())
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			what := "confirmed for the region above"
			if broadcast {
				what = "broadcast to every region"
			}
			fmt.Fprintf(e.stdout, "intel %s %s: tx %s at height %d\n", args[0][:16], what, res.Tx, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "the confirming key file (role n2; n1 with --broadcast) (required)")
	c.MarkFlagRequired("key")
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain that holds the entry (required)")
	c.MarkFlagRequired("node")
	c.Flags().BoolVar(&broadcast, "broadcast", false, "the national N1's broadcast to every region")
	return c
}

// digestOf is the unredacted digest of an entry as a cleared reader sees
// it.
func digestOf(v *report.IntelView) (ledger.IntelDigest, error) {
	if v.Digest == nil {
		return ledger.IntelDigest{}, errors.New("the entry's place and counts are not for this key's role: confirm with an n2's key")
	}
	t, err := time.Parse(time.RFC3339, v.Time)
	if err != nil {
		return ledger.IntelDigest{}, fmt.Errorf("the entry's time: %w", err)
	}
	rec, err := ledger.ParseHash(v.Record)
	if err != nil {
		return ledger.IntelDigest{}, fmt.Errorf("the entry's record: %w", err)
	}
	return ledger.IntelDigest{Origin: v.Origin, Record: rec, Time: t.Unix(), Region: v.Digest.Region, Dimension: v.Dimension,
		Level: uint8(v.Level), Secrecy: v.Secrecy, Involved: v.Digest.Involved, Confirmed: v.Digest.Confirmed, Suspected: v.Digest.Suspected}, nil
}

// intelRelayCmd carries confirmations to the parent, and broadcasts to a
// child.
func (e *env) intelRelayCmd() *cobra.Command {
	var nodeURL, toURL, keyFile string
	c := &cobra.Command{
		Use:   "relay --node URL --to URL --relay-key FILE",
		Short: "Carry this chain's confirmations up to its parent, or broadcasts and grants down to a child",
		Long: `relay lists the confirmations made on the chain of --node and carries
them into the chain of --to as intel_summary transactions, each proven
under a header --to has anchored ("epiledger anchor relay" first; from a
CometBFT chain, intel_summary_bft: the transaction, its accepting result
in the next block, and CometBFT's headers up to one --to verified): to the
parent, the N2s' confirmations; to a child (--to a chain that registered
this one as its parent), the national N1's broadcasts and the broadcasts
this chain received from its own parent, and the national access grants
this chain holds that name the child or a chain below it (for a revoked
grant, its revocation). Going up, it first has the node publish what
changed of today's and yesterday's statistics (publish_stats), which go
up with the next anchor: the parent counts its children's districts as
its own. --relay-key
signs on both chains:
a key both administrators granted the role relay. A digest the other
chain holds already is skipped.`,
		Example: `  epiledger intel relay --node http://127.0.0.1:7071 --to http://127.0.0.1:7070 --relay-key relay.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := home.LoadKeyFile(keyFile)
			if err != nil {
				return fmt.Errorf("--relay-key: %w", err)
			}
			ctx, cancel := context.WithTimeout(e.ctx, 5*time.Minute)
			defer cancel()
			here, err := client.New(nodeURL, "").Health(ctx)
			if err != nil {
				return withHint(fmt.Errorf("--node %s: %w", nodeURL, err), "is the node running?")
			}
			there, err := client.New(toURL, "").Health(ctx)
			if err != nil {
				return withHint(fmt.Errorf("--to %s: %w", toURL, err), "is the node running?")
			}
			src, dst := e.signedClient(nodeURL, k, here.ChainID), e.signedClient(toURL, k, there.ChainID)
			return e.relayIntel(ctx, src, dst, here.ChainID, there.ChainID, k)
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "this chain's node (required)")
	c.MarkFlagRequired("node")
	c.Flags().StringVar(&toURL, "to", "", "the parent's node, or a child's for broadcasts (required)")
	c.MarkFlagRequired("to")
	c.Flags().StringVar(&keyFile, "relay-key", "", "a key file granted the role relay on both chains (required)")
	c.MarkFlagRequired("relay-key")
	return c
}

func (e *env) relayIntel(ctx context.Context, src, dst *client.Client, chain, target string, k ed25519.PrivateKey) error {
	// Up to the parent, or down to a child?
	_, up, err := dst.Child(ctx, chain)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if !up {
		p, ok, err := dst.Parent(ctx)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		if !ok || p.ChainID != chain {
			return fmt.Errorf("--to: chain %q has registered %q neither as a child nor as its parent", target, chain)
		}
	}
	if up {
		// The day's statistics go up too: publish what changed of
		// today's and yesterday's buckets first (every home district, a
		// publication per change), so that they are among what is
		// carried; the parent counts them as its level's.
		if err := publishRecent(ctx, src); err != nil {
			return fmt.Errorf("--node: publishing the statistics: %w", err)
		}
	}
	var txs []string
	cs, err := src.IntelConfirmations(ctx, 1)
	if err != nil {
		return fmt.Errorf("--node: %w", err)
	}
	stats := map[string]bool{}
	for _, c := range cs {
		if c.Broadcast != up {
			txs = append(txs, c.Tx)
		}
		stats[c.Tx] = c.Statistics
	}
	if !up {
		// Broadcasts that came down from this chain's parent go on down.
		all, err := src.Intel(ctx, "1970-01-01T00:00:00Z", "", "", 0)
		if err != nil {
			return fmt.Errorf("--node: %w", err)
		}
		for _, v := range all.Intel {
			if v.Broadcast && v.From != "" {
				txs = append(txs, v.Tx)
			}
		}
		grants, err := grantsFor(ctx, src, dst, target)
		if err != nil {
			return err
		}
		txs = append(txs, grants...)
	}
	carried, held, waiting, later := 0, 0, 0, 0
	for _, id := range txs {
		b, err := e.intelSummaryOf(ctx, src, dst, chain, id)
		if errors.Is(err, errNotAnchored) && stats[id] {
			later++ // just published: it goes with the next anchor
			continue
		}
		if errors.Is(err, errNotAnchored) {
			waiting++
			fmt.Fprintf(e.stderr, "%s: %v\n", id[:16], err)
			continue
		}
		if err != nil {
			return err
		}
		tx := ledger.NewTx(b)
		tx.Sign(target, k)
		res, err := dst.SubmitOne(ctx, tx.Bytes())
		var ae *client.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusConflict {
			held++
			continue
		}
		if errors.As(err, &ae) && ae.Body.Code == "replay" {
			held++
			continue
		}
		if err != nil {
			return fmt.Errorf("carrying %s: %w", id[:16], err)
		}
		carried++
		fmt.Fprintf(e.stdout, "%s: carried into %s at height %d (tx %s)\n", id[:16], target, res.Height, res.Tx)
	}
	fmt.Fprintf(e.stdout, "%d carried, %d held there already, %d waiting for an anchor\n", carried, held, waiting)
	if later > 0 {
		fmt.Fprintf(e.stdout, "%d publication(s) of the statistics go up after the next anchor\n", later)
	}
	if waiting > 0 {
		return withHint(fmt.Errorf("%d digest(s) are in blocks %q has not anchored yet", waiting, target), "run epiledger anchor relay first, then this again")
	}
	return nil
}

// grantsFor lists the grants held on src's chain that go down to target:
// not expired, naming target or one of its children; by the transactions
// that hold them on src's chain (for a revoked grant, its revocation's).
func grantsFor(ctx context.Context, src, dst *client.Client, target string) ([]string, error) {
	gs, err := src.Grants(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("--node: %w", err)
	}
	kids, err := dst.Children(ctx)
	if err != nil {
		return nil, fmt.Errorf("--to: %w", err)
	}
	below := map[string]bool{target: true}
	for _, k := range kids {
		below[k.ChainID] = true
	}
	var txs []string
	for _, g := range gs.Grants {
		if g.Expired || !slices.ContainsFunc(g.Chains, func(c string) bool { return below[c] }) {
			continue
		}
		if g.Revoked != "" {
			txs = append(txs, g.Revoked) // the revocation goes down, not the grant
		} else {
			txs = append(txs, g.Carrier)
		}
	}
	return txs, nil
}

var errNotAnchored = errors.New("its block is not anchored there yet")

// intelSummaryOf is the intel_summary that carries transaction id of
// chain (on src) into dst: its inclusion proof, and this chain's headers
// from its block to the first one dst anchored. From a CometBFT chain it
// is an intel_summary_bft (intelSummaryBFT).
func (e *env) intelSummaryOf(ctx context.Context, src, dst *client.Client, chain, id string) (ledger.Body, error) {
	pv, err := whenSigned(ctx, func() (*consortium.TxProof, error) { return src.Proof(ctx, id) })
	if err != nil {
		return nil, fmt.Errorf("the proof of %s: %w", id[:16], err)
	}
	p, err := pv.ProofView.Proof()
	if err != nil {
		return nil, err
	}
	if pv.Consortium != nil {
		return intelSummaryBFT(ctx, src, dst, chain, p.Tx, pv.Consortium)
	}
	as, err := firstAnchored(ctx, dst, chain, p.Header.Height, ledger.MaxIntelLinks)
	if err != nil {
		return nil, err
	}
	b := &ledger.IntelSummary{From: chain, Header: p.Header.Bytes(), Tx: p.Tx, Index: p.Index, Size: p.Size, Path: p.Path}
	for h := p.Header.Height + 1; h <= as; h++ {
		hdr, err := src.Block(ctx, h)
		if err != nil {
			return nil, err
		}
		b.Links = append(b.Links, hdr.Bytes())
	}
	return b, nil
}

// firstAnchored is the first height from h on that dst holds of chain,
// at most max above h.
func firstAnchored(ctx context.Context, dst *client.Client, chain string, h, max uint64) (uint64, error) {
	as, err := dst.ChildAnchors(ctx, chain, h)
	if err != nil {
		return 0, err
	}
	if len(as) == 0 {
		return 0, fmt.Errorf("block %d: %w", h, errNotAnchored)
	}
	if as[0].Height-h > max {
		return 0, fmt.Errorf("block %d is %d blocks below the first anchored one: more than a digest links (%d); anchor more often",
			h, as[0].Height-h, max)
	}
	return as[0].Height, nil
}

// intelSummaryBFT carries tx of CometBFT chain: its consortium proof
// (CometBFT's header H, the transaction under its data hash, the result
// under header H+1's) and the headers from H+1 to the first one dst
// verified, read from src's light blocks.
func intelSummaryBFT(ctx context.Context, src, dst *client.Client, chain string, tx []byte, v *consortium.View) (ledger.Body, error) {
	cp, err := v.Proof()
	if err != nil {
		return nil, fmt.Errorf("the consortium proof: %w", err)
	}
	if len(cp.Chain) == 0 {
		return nil, errors.New("the consortium proof has no signed header")
	}
	// The result is under header H+1's: the links start there.
	as, err := firstAnchored(ctx, dst, chain, uint64(cp.Height+1), lightclient.MaxCarriedLinks-1)
	if err != nil {
		return nil, err
	}
	lc, err := lightclient.CarriedOf(cp.Header, cp.Chain[len(cp.Chain)-1].Signed.Header, cp.TxProof, cp.ResultProof, cp.Bundle, cp.Member, cp.Result.Data)
	if err != nil {
		return nil, err
	}
	for h := cp.Height + 2; h <= int64(as); h++ {
		lb, err := src.LightBlock(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("--node: light block %d: %w", h, err)
		}
		sh, err := lightclient.DecodeSignedHeader(lb.SignedHeader)
		if err != nil {
			return nil, fmt.Errorf("--node: light block %d: %w", h, err)
		}
		if err := lc.Link(sh.Header); err != nil {
			return nil, err
		}
	}
	return state.IntelSummaryBFTOf(chain, tx, lc)
}

// publishRecent has src's node publish the buckets of today and yesterday
// (reporting days at +08:00) that changed since their last publication.
func publishRecent(ctx context.Context, src *client.Client) error {
	now := time.Now().In(time.FixedZone("CST", state.DayOffset))
	for _, day := range []time.Time{now.AddDate(0, 0, -1), now} {
		for _, d := range ledger.Diseases {
			if _, err := whenSigned(ctx, func() (*consortium.TxProof, error) {
				_, err := src.StatsProof(ctx, string(region.National), d, day.Format(ledger.OnsetLayout))
				return nil, err
			}); err != nil {
				return err
			}
		}
	}
	return nil
}
