package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/comet"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
)

// consortiumCmd: the organisations and validators of a CometBFT
// consortium (issue 13, point 6), from the key ceremony to joins and
// leaves approved by the authorities.
func (e *env) consortiumCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "consortium",
		Short: "Organisations and validators: key ceremony, joins and leaves approved by the authorities",
		Long: `The organisations of a consortium each run a validator. Each generates its
validator and node keys on its own machine (keygen) and sends the card it
prints; the chain authority names every card in the genesis (genesis) and
hands each organisation a kit (kit: the genesis, the CometBFT genesis, the
chain's keys, the peers); each organisation makes its node's home from the
kit beside its keys (setup) and starts it (epiledger node).

Later, an organisation joins, changes its power or leaves (power 0) by a
validator change that the chain's authorities (the administrator and each
region's authority in genesis.json) approve, k of n as corrections
(propose, approve); once decided, CometBFT applies it two blocks later.
"validators" lists the set and the changes from the ledger. The README's
"A consortium of organisations" walks through it.`,
	}
	c.AddCommand(e.consortiumKeygenCmd(), e.consortiumGenesisCmd(), e.consortiumKitCmd(), e.consortiumSetupCmd(),
		e.consortiumProposeCmd(), e.consortiumApproveCmd(), e.consortiumValidatorsCmd())
	return c
}

func (e *env) consortiumKeygenCmd() *cobra.Command {
	var dir, org, p2p, rpc string
	var loopback bool
	c := &cobra.Command{
		Use:   "keygen --home DIR --org NAME --p2p HOST:PORT",
		Short: "Generate this organisation's validator and node keys here; print the card to send",
		Long: `keygen writes DIR/cometbft (CometBFT's config, node key and validator key)
and DIR/keys/node.key (the key this organisation's node signs the audit
records of its reads with) for a node home to be, on the machine that will
run it; the keys never leave it. It prints the organisation's card (JSON):
its name, its validator's public key, the power it asks for (10), its node
id and p2p address, and its node key. Send the card to the chain authority
(and, to join a running chain, to the authorities who approve it). Run
again, it prints the same card.

Run on the chain authority's own home (made by epiledger init), it gives
that home a CometBFT node of its own and no node key: the organisation
holding the chain's keys runs its node there, the one node that holds the
chain's secret; consortium genesis then makes the home that node's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return errors.New("--home: required (the directory of the node home to be)")
			}
			if err := checkOrg(org); err != nil {
				return err
			}
			if !strings.Contains(p2p, ":") {
				return errors.New("--p2p: HOST:PORT where the other nodes reach this one")
			}
			card, err := comet.Keygen(dir, comet.NodeOptions{Moniker: org, P2P: p2p, RPC: rpc, Loopback: loopback, TimeoutCommit: 300 * time.Millisecond})
			if err != nil {
				return err
			}
			b, _ := json.Marshal(card)
			fmt.Fprintf(e.stdout, "%s\n", b)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "home", "", "the node home to be (new, or holding only its cometbft/ and keys/), or the chain authority's home")
	c.Flags().StringVar(&org, "org", "", "the organisation's name (required)")
	c.Flags().StringVar(&p2p, "p2p", "", "CometBFT p2p address the other nodes reach (required)")
	c.Flags().StringVar(&rpc, "rpc", "127.0.0.1:26657", "CometBFT RPC address (keep it local)")
	c.Flags().BoolVar(&loopback, "loopback", false, "allow peers on loopback addresses (several nodes on one machine)")
	return c
}

func checkOrg(org string) error {
	if org == "" || len(org) > ledger.MaxNameLen {
		return fmt.Errorf("--org: 1 to %d bytes", ledger.MaxNameLen)
	}
	if err := ledger.CheckText("--org", org); err != nil {
		return err
	}
	return nil
}

func (e *env) consortiumGenesisCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "genesis --home DIR CARD...",
		Short: "Name the organisations' validators (their cards) in the chain's genesis",
		Long: `genesis writes the validators of the cards (files, as keygen prints them)
into DIR/genesis.json (the chain authority's home, made by epiledger init,
before its first block) and the CometBFT genesis beside it
(DIR/cometbft/config/genesis.json). Then write each organisation's kit
(epiledger consortium kit).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := loadHome(dir)
			if err != nil {
				return err
			}
			var cards []comet.KeyCard
			for _, a := range args {
				card, err := comet.ReadCard(a)
				if err != nil {
					return err
				}
				cards = append(cards, card)
			}
			if err := comet.WriteConsortiumGenesis(h, cards); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "genesis %s names %d validators; CometBFT chain %s\n", h.Genesis.Hash().String()[:16], len(cards), comet.ChainID(&h.Genesis))
			return nil
		},
	}
	homeFlag(c, &dir)
	return c
}

func (e *env) consortiumKitCmd() *cobra.Command {
	var dir, out, peers string
	c := &cobra.Command{
		Use:   "kit --home DIR --out KIT [--peers ID@HOST:PORT,...]",
		Short: "Write what a new node of the chain needs: genesis, CometBFT genesis, peers",
		Long: `kit writes into KIT (new or empty) genesis.json and config.toml of the home
DIR, its CometBFT genesis (cometbft-genesis.json) and the peers to dial
(peers: --peers, else DIR's node and its persistent peers). Nothing in it
is secret: the chain authority's key and the chain's secret (pseudonyms,
vault, operator token) stay in DIR. The organisation's node signs the
audit records of the reads it serves with its own node key (its card's
node_key), once the administrator grants that key the role node:
  epiledger role grant --home DIR --key NODE_KEY --role node --name ORG
Its node answers signed requests only (no operator token), and refuses
what needs the secret (raw identifiers, the vault, oblivious pseudonyms)
with 403 not_authority: ask the chain authority's node for those.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out: required (a new or empty directory)")
			}
			h, err := loadHome(dir)
			if err != nil {
				return err
			}
			ps := splitList(peers)
			if len(ps) == 0 {
				if ps, err = comet.NodePeers(h); err != nil {
					return withHint(err, "name the peers with --peers ID@HOST:PORT,...")
				}
			}
			if err := comet.WriteKit(h, out, ps); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "kit written to %s (%d peers); it holds no secret\n", out, len(ps))
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&out, "out", "", "directory to write the kit to (new or empty)")
	c.Flags().StringVar(&peers, "peers", "", "comma-separated ID@HOST:PORT of nodes to dial")
	return c
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (e *env) consortiumSetupCmd() *cobra.Command {
	var dir, kit, peers, listen string
	c := &cobra.Command{
		Use:   "setup --home DIR --kit KIT --listen HOST:PORT [--peers ...]",
		Short: "Make the node home DIR (keys from keygen) from the chain's kit",
		Long: `setup makes DIR, where keygen generated this organisation's keys, the home
of a node of the kit's chain: the kit's genesis and config beside the
organisation's own keys (no chain authority key, no chain secret), its
CometBFT genesis (refused unless it is this genesis's), the peers, the
API on --listen and engine.kind = "cometbft". Start it with
"epiledger node --home DIR": it syncs the chain from its peers, and
validates once the genesis or a decided validator change names its key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" || kit == "" {
				return errors.New("--home and --kit: required")
			}
			h, err := comet.Setup(dir, kit, comet.SetupOptions{Peers: splitList(peers), API: listen})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "node home %s of chain %s ready: epiledger node --home %s\n", h.Dir, h.Genesis.ChainID, h.Dir)
			fmt.Fprintf(e.stdout, "its node key, for the administrator to grant the role node (until then it serves no personal data):\n  epiledger role grant --home AUTHORITY_HOME --node URL --key %x --role node --name NAME\n", h.Signer().Public())
			return nil
		},
	}
	c.Flags().StringVar(&dir, "home", "", "the node home (holding the keys keygen generated)")
	c.Flags().StringVar(&kit, "kit", "", "the kit the chain authority wrote (epiledger consortium kit)")
	c.Flags().StringVar(&peers, "peers", "", "comma-separated ID@HOST:PORT to dial instead of the kit's")
	c.Flags().StringVar(&listen, "listen", "", "address of the node's API (default: the kit's config)")
	return c
}

// signedFlags are the flags of a transaction signed by a party: the
// home, --key, --node.
func signedFlags(c *cobra.Command, dir, nodeURL, keyFile *string) {
	homeFlag(c, dir)
	c.Flags().StringVar(keyFile, "key", "", "key file of the signing authority (default: with --node --as, that key; else the home's chain authority)")
	c.Flags().StringVar(nodeURL, "node", "", "submit through the running node at this URL")
}

func (e *env) consortiumProposeCmd() *cobra.Command {
	var dir, nodeURL, keyFile, org, key, card, reason string
	var power int64
	c := &cobra.Command{
		Use:   "propose (--org NAME --validator-key HEX | --card FILE) --power N --reason TEXT",
		Short: "Propose that an organisation join the validators, change its power or leave (--power 0)",
		Long: `propose submits a validator change signed by one of the chain's authorities
(the administrator or a region's authority of genesis.json); it counts as
its approval, and takes effect once the genesis's quorum of them approved
(epiledger consortium approve). A join names the organisation's validator
key (--validator-key, or its card), a leave names its current key with --power 0.
Refused: a key that is not Ed25519 or is another organisation's, a leave
of the last validator, a change of a third of the voting power or more at
once (change it in steps), a signer who is not an authority.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if card != "" {
				kc, err := comet.ReadCard(card)
				if err != nil {
					return fmt.Errorf("--card: %w", err)
				}
				if org == "" {
					org = kc.Org
				}
				if key == "" {
					key = kc.PublicKey
				}
			}
			if err := checkOrg(org); err != nil {
				return err
			}
			k, err := hex.DecodeString(key)
			if err != nil || len(k) != 32 {
				return errors.New("--validator-key: the validator's public key, 64 hex digits (or --card FILE)")
			}
			if power < 0 || power > ledger.MaxValidatorPower {
				return fmt.Errorf("--power: 0 (leave) to %d", int64(ledger.MaxValidatorPower))
			}
			if reason == "" {
				return errors.New("--reason: required: say why (it goes on the ledger)")
			}
			b := &ledger.ValidatorChange{Org: org, Power: power, Reason: reason}
			copy(b.Key[:], k)
			return e.submitSigned(dir, nodeURL, keyFile, b, "validator change")
		},
	}
	signedFlags(c, &dir, &nodeURL, &keyFile)
	c.Flags().StringVar(&org, "org", "", "the organisation")
	c.Flags().StringVar(&key, "validator-key", "", "its validator's public key (64 hex digits)")
	c.Flags().StringVar(&card, "card", "", "its card (keygen's output) instead of --org and --validator-key")
	c.Flags().Int64Var(&power, "power", 10, "its voting power; 0 is its leave")
	c.Flags().StringVar(&reason, "reason", "", "why (required; on the ledger)")
	return c
}

func (e *env) consortiumApproveCmd() *cobra.Command {
	var dir, nodeURL, keyFile, change string
	c := &cobra.Command{
		Use:   "approve --change ID",
		Short: "Approve a proposed validator change",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ledger.ParseHash(change)
			if err != nil {
				return fmt.Errorf("--change: %w", err)
			}
			return e.submitSigned(dir, nodeURL, keyFile, &ledger.Approval{Correction: id}, "approval")
		},
	}
	signedFlags(c, &dir, &nodeURL, &keyFile)
	c.Flags().StringVar(&change, "change", "", "the validator change's id (required)")
	c.MarkFlagRequired("change")
	return c
}

func (e *env) consortiumValidatorsCmd() *cobra.Command {
	var dir, nodeURL string
	var asJSON bool
	c := &cobra.Command{
		Use:   "validators [--node URL]",
		Short: "List the validators (organisation, key, power) and the proposed changes, from the ledger",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := ask(e, dir, nodeURL, func(cl *client.Client) (*report.ValidatorsView, error) { return cl.Validators(e.ctx) })
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(v)
			}
			writeValidators(e, v)
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&nodeURL, "node", "", "ask the running node at this URL")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (GET /v1/consortium/validators)")
	return c
}

func writeValidators(e *env, v *report.ValidatorsView) {
	if len(v.Validators) == 0 {
		fmt.Fprintln(e.stdout, "the genesis names no validators")
		return
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ORGANISATION\tPOWER\tVALIDATOR KEY\tSINCE")
	for _, x := range v.Validators {
		since := "genesis"
		if x.Decided != 0 {
			since = fmt.Sprintf("height %d", x.Decided)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", x.Org, x.Power, x.Key, since)
	}
	tw.Flush()
	for _, c := range v.Changes {
		st := fmt.Sprintf("pending, %d more approval(s) needed", c.Quorum-c.Approvals)
		if c.Decided != 0 {
			st = fmt.Sprintf("decided at height %d (CometBFT applies it at %d)", c.Decided, c.Decided+2)
		}
		fmt.Fprintf(e.stdout, "change %s: %s power %d, proposed at height %d: %d of %d approvals; %s\n  reason: %s\n",
			c.ID, c.Org, c.Power, c.Proposed, c.Approvals, c.Quorum, st, c.Reason)
	}
}
