package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/oprf"
)

// pseudonymFlags are how a site or a hospital without a home obtains
// pseudonyms from a node (import --as, pseudonym --as).
type pseudonymFlags struct {
	// pin is the chain's VOPRF pseudonym key as the caller was given it
	// (genesis.json pseudonyms.public_key); "" trusts the node's.
	pin string
	// sealIDs sends the references themselves (POST /v1/pseudonyms), so
	// that the node seals the canonical ids into the authority's vault.
	sealIDs bool
}

func (f *pseudonymFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.pin, "pseudonym-key", "", "with --as: the chain's VOPRF pseudonym key (genesis.json pseudonyms.public_key, 64 hex digits); the node's proofs are checked against it, and a node that names another is refused")
	c.Flags().BoolVar(&f.sealIDs, "seal-ids", false, "with --as: send the references themselves to the node (POST /v1/pseudonyms), which seals the canonical ids into the authority's vault, rather than obtaining the pseudonyms obliviously")
}

// resolver returns how the holder of an --as key turns checked
// references into their ledger form through cl. On a chain whose genesis
// names a VOPRF pseudonym key, and without --seal-ids, the references
// never leave this process: blinded elements go to the node, whose proofs
// are checked against the pinned key (--pseudonym-key), or, without a
// pin, against the key the node names, which is then printed so that the
// operator can compare it with the genesis. A pin that the node does not
// name stops the command before any reference is sent (fail closed).
func (e *env) resolver(cl *client.Client, f pseudonymFlags) (func(context.Context, []string) ([]ledger.PersonRef, error), error) {
	var pin *oprf.PublicKey
	if f.pin != "" {
		b, err := hex.DecodeString(strings.TrimSpace(f.pin))
		if err == nil {
			pin, err = oprf.ParsePublicKey(b)
		}
		if err != nil {
			return nil, withHint(fmt.Errorf("--pseudonym-key: not a pseudonym key: want 64 hex digits"), "copy pseudonyms.public_key from the chain's genesis.json")
		}
	}
	st, err := cl.PseudonymKey(e.ctx)
	if err != nil {
		return nil, err
	}
	if st.Scheme != identity.OPRFScheme && st.Scheme != api.HMACScheme {
		return nil, fmt.Errorf("the node's chain makes pseudonyms by the scheme %q, which this epiledger does not know: nothing was sent", st.Scheme)
	}
	if f.sealIDs || (st.Key == "" && pin == nil) {
		return cl.Pseudonyms, nil
	}
	if st.Key == "" {
		return nil, withHint(fmt.Errorf("--pseudonym-key: the node's chain (genesis %.16s) names no VOPRF pseudonym key: its pseudonyms are HMAC pseudonyms, which it cannot make obliviously", st.Genesis),
			"check --node; to send the references to it anyway, drop --pseudonym-key and add --seal-ids")
	}
	named, err := hex.DecodeString(st.Key)
	var nk *oprf.PublicKey
	if err == nil {
		nk, err = oprf.ParsePublicKey(named)
	}
	if err != nil {
		return nil, fmt.Errorf("the node names a malformed pseudonym key: nothing was sent")
	}
	if pin != nil && !pin.Equal(nk) {
		return nil, withHint(fmt.Errorf("the node names the pseudonym key %s, not the one pinned (--pseudonym-key %s): nothing was sent", st.Key, hex.EncodeToString(pin.Bytes())),
			"the node is on another chain, or would answer with another key; ask the chain's administrator")
	}
	if pin == nil {
		fmt.Fprintf(e.stderr, "epiledger: pseudonyms obtained obliviously under the key the node names, %s: compare it with pseudonyms.public_key in the chain's genesis.json, or pin it with --pseudonym-key\n", st.Key)
		pin = nk
	}
	ob := &client.Oblivious{C: cl, Key: pin}
	return ob.Pseudonyms, nil
}

func (e *env) pseudonymCmd() *cobra.Command {
	var dir, nodeURL string
	var pf pseudonymFlags
	c := &cobra.Command{
		Use:   "pseudonym [--home DIR | --node URL --as KEY [--pseudonym-key HEX] [--seal-ids]]",
		Short: "Print the pseudonyms of person references read from standard input",
		Long: `pseudonym reads person references, one a line ("id:420100199001011234",
"phone:13800000000"), from standard input and prints, for each, its pseudonym
(64 hex digits, as the ledger and the investigators' reports name the person)
and whether it is a canonical id or an alias:

  5a0c...e1  id
  9f31...07  alias

With --node and --as, a site or a hospital obtains them from the node
without showing it the references, when the chain's genesis names a VOPRF
pseudonym key (docs/PRIVACY.md, "Oblivious pseudonyms"): each reference is
blinded on this machine, the node evaluates the blinded elements under the
chain's key with a proof, and the proof is checked against --pseudonym-key
(or, without it, the key the node names, which is printed to compare with
the genesis). A proof that does not verify refuses every pseudonym. Every
blinded element costs the key's daily quota, repeats included (within one
run each distinct reference is sent once). --seal-ids sends the references
to the node instead, which seals the canonical ids into the authority's
vault.

With a home and no --node, the home's secret makes them here, and nothing
is written.

A malformed reference stops the command with its line number; no message
repeats a reference.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var refs []string
			sc := bufio.NewScanner(e.stdin)
			for line := 1; sc.Scan(); line++ {
				if strings.TrimSpace(sc.Text()) == "" {
					continue
				}
				r, err := identity.CheckRef(fmt.Sprintf("line %d", line), sc.Text())
				if err != nil {
					return err
				}
				refs = append(refs, r)
			}
			if err := sc.Err(); err != nil {
				return fmt.Errorf("standard input: %w", err)
			}
			if len(refs) == 0 {
				return nil
			}
			var ps []ledger.PersonRef
			if h, err := home.Load(dir); err == nil && nodeURL == "" {
				pz := h.Pseudonymizer()
				for _, r := range refs {
					ps = append(ps, pz.Checked(r))
				}
			} else {
				if nodeURL == "" {
					_, err := loadHome(dir)
					return withHint(err, "or, holding only a key: --node URL --as KEY")
				}
				cl, err := e.nodeClient(dir, nodeURL)
				if err != nil {
					return err
				}
				resolve, err := e.resolver(cl, pf)
				if err != nil {
					return err
				}
				if ps, err = resolve(e.ctx, refs); err != nil {
					return err
				}
			}
			w := bufio.NewWriter(e.stdout)
			for _, p := range ps {
				kind := "id"
				if p.Alias {
					kind = "alias"
				}
				fmt.Fprintf(w, "%s  %s\n", p.Ref, kind)
			}
			return w.Flush()
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&nodeURL, "node", "", "ask the node at this URL (with --as KEY)")
	pf.add(c)
	return c
}
