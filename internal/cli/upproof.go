package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/lightclient"
)

// proveUp carries rec, a record's proof from the chain at dir/nodeURL, up
// through the parents' nodes ups, lowest first (docs/REGIONS.md step 3).
func (e *env) proveUp(dir, nodeURL string, rec *consortium.TxProof, ups []string) error {
	if e.as == "" {
		return withHint(errors.New("--up: the parents' nodes are asked with --as KEY"), "a key holding a reader's role (auditor, investigator, administrator) on each parent")
	}
	k, err := e.asKey()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
	defer cancel()
	lower, done, err := e.ledgerWith(dir, nodeURL, nodeOptionsQuery())
	if err != nil {
		return err
	}
	defer done()
	r, err := rec.ProofView.Proof()
	if err != nil {
		return err
	}
	up := &blocks.UpProof{Record: r}
	cur := r.Header
	// below is the consortium section of the transaction proven at the
	// current level, when its chain runs on CometBFT.
	below := rec.Consortium
	for _, u := range ups {
		st, err := client.New(u, "").Health(ctx)
		if err != nil {
			return withHint(fmt.Errorf("--up %s: %w", u, err), "is that parent's node running?")
		}
		parent := e.signedClient(u, k, st.ChainID)
		ch, ok, err := parent.Child(ctx, cur.ChainID)
		if err != nil {
			return nodeErr(err, u)
		}
		if !ok {
			return fmt.Errorf("--up %s: chain %q is not registered on %q", u, cur.ChainID, st.ChainID)
		}
		// A solo chain's record is under its block's header, which an
		// anchor at or above it reaches through our headers; a CometBFT
		// chain's is under CometBFT's headers from the next block on.
		from := cur.Height
		if ch.CometBFT != nil {
			if below == nil {
				return fmt.Errorf("--up %s: %q runs on CometBFT and its node gave no consortium section", u, cur.ChainID)
			}
			from = uint64(below.Height) + 1
		}
		as, err := parent.ChildAnchors(ctx, cur.ChainID, from)
		if err != nil {
			return nodeErr(err, u)
		}
		if len(as) == 0 {
			return withHint(fmt.Errorf("--up %s: %q has no anchor of block %d of %q or later yet", u, st.ChainID, from, cur.ChainID),
				"run epiledger anchor relay for %q", cur.ChainID)
		}
		var l blocks.UpLink
		if ch.CometBFT != nil {
			if l.Comet, err = cometLink(ctx, lower, below, int64(as[0].Height)); err != nil {
				return err
			}
		} else {
			for h := cur.Height + 1; h <= as[0].Height; h++ {
				hdr, err := lower.Block(ctx, h)
				if err != nil {
					return err
				}
				l.Headers = append(l.Headers, hdr)
			}
		}
		ap, err := parent.Proof(ctx, as[0].Tx)
		if err == nil {
			l.Anchor, err = ap.ProofView.Proof()
		}
		if err != nil {
			return fmt.Errorf("--up %s: the anchor: %w", u, err)
		}
		below = ap.Consortium
		if l.Register, err = proofOf(ctx, parent, ch.RegisteredTx); err != nil {
			return fmt.Errorf("--up %s: the registration: %w", u, err)
		}
		up.Links = append(up.Links, l)
		cur, lower = l.Anchor.Header, parent
	}
	return e.printJSON(blocks.UpProofJSON(up))
}

// cometLink is the CometBFT level of an up proof: the consortium section
// of the transaction proven below and the CometBFT headers from the one
// after its last signed header to the anchored one, anchored.
func cometLink(ctx context.Context, lower *client.Client, below *consortium.View, anchored int64) (json.RawMessage, error) {
	var hdrs [][]byte
	for h := below.Height + 2; h < anchored; h++ {
		lb, err := lower.LightBlock(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("CometBFT header %d: %w", h, err)
		}
		sh, err := lightclient.DecodeSignedHeader(lb.SignedHeader)
		if err != nil {
			return nil, fmt.Errorf("CometBFT header %d: %w", h, err)
		}
		b, err := sh.Header.ToProto().Marshal()
		if err != nil {
			return nil, err
		}
		hdrs = append(hdrs, b)
	}
	return json.Marshal(consortium.Anchored{Consortium: below, Headers: hdrs})
}

func proofOf(ctx context.Context, cl *client.Client, tx string) (*blocks.Proof, error) {
	p, err := cl.Proof(ctx, tx)
	if err != nil {
		return nil, err
	}
	return p.ProofView.Proof()
}

// isUpProof reports whether b is a proof up the hierarchy (it has links).
func isUpProof(b []byte) bool {
	var v struct {
		Links json.RawMessage `json:"links"`
	}
	return json.Unmarshal(b, &v) == nil && len(v.Links) > 0
}

// checkUp checks a proof up the hierarchy against the top chain's
// genesis at root.
func (e *env) checkUp(b []byte, root string) error {
	invalid := func(err error) error {
		fmt.Fprintf(e.stdout, "INVALID: %v\n", err)
		return &exitError{code: 1}
	}
	if root == "" {
		fmt.Fprintln(e.stdout, "NOT CHECKED: a proof up the hierarchy of regions is checked against the top chain's genesis: pass --root TOP/genesis.json")
		return &exitError{code: 1}
	}
	g, err := home.ReadGenesis(root)
	if err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	var v blocks.UpProofView
	if err := json.Unmarshal(b, &v); err != nil {
		return invalid(err)
	}
	p, err := v.UpProof()
	if err != nil {
		return invalid(err)
	}
	top, err := p.CheckUp(g.Authority, consortium.CheckAnchored)
	if err != nil {
		return invalid(err)
	}
	if top.ChainID != g.ChainID {
		return invalid(fmt.Errorf("the proof ends on chain %q, --root is %q's genesis", top.ChainID, g.ChainID))
	}
	fmt.Fprintf(e.stdout, "ok: transaction %s is leaf %d of %d in block %d of %q\n", p.Record.TxID, p.Record.Index, p.Record.Size, p.Record.Header.Height, p.Record.Header.ChainID)
	fmt.Fprintf(e.stdout, "ok: anchored up %d level(s), each registration signed by its parent's authority, to block %d of %q (hash %s): compare it with a header of %q you trust\n",
		len(p.Links), top.Height, top.ChainID, top.Hash(), top.ChainID)
	return nil
}
