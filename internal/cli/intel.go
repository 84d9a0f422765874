package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
)

// IntelDraft is an intelligence record on its way to admission: the
// record, the chain it is for and the signatures so far (its N3's, then
// its N2s'), each over the record's body for that chain.
type IntelDraft struct {
	ChainID    string            `json:"chain_id"`
	Record     report.IntelInput `json:"record"`
	Signatures []DraftSig        `json:"signatures"`
}

// DraftSig is one signature of a draft, hex.
type DraftSig struct {
	Key string `json:"key"`
	Sig string `json:"sig"`
}

const intelFormat = `The record (RECORD.json):

  {"dimension": "epidemic",            epidemic, medical, government, public or opinion
   "level": 1,                          response level: 1 (I, the gravest) to 4 (IV)
   "secrecy": "internal",               public, internal, confidential or secret
   "time": "2021-07-20T10:00:00+08:00", the moment it describes
   "region": "320115", "place": "Lukou airport",
   "involved": 200, "confirmed": 9, "suspected": 0,   counts, never persons
   "spread": "...", "facts": "...",
   "topics": ["airport"], "sentiment": -40, "strength": 70,
   "attachments": ["<sha256 hex>"],
   "endorsements": 1}                    N2 signatures it will carry (the chain's policy or more)`

// intelCmd submits, endorses and reads outbreak intelligence (issue 15,
// docs/REGIONS.md step 6).
func (e *env) intelCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "intel",
		Short: "Outbreak intelligence: draft (N3), endorse (N2), list and show records",
		Long: `Intelligence records follow seed 002's flow on each region's chain: an
ordinary node (N3: transport, customs, an airport's epidemic team) drafts
and signs a record; administrative nodes (N2: the health commission)
check it and co-sign it; the record is admitted only with as many N2
signatures as the chain's policy asks ("intel policy"). Who reads a
record's details depends on its secrecy: public and internal records,
every role; confidential, N2, N1, investigators, auditors and the
administrator; secret, N2, N1 and the administrator. Others see what it
is about, when, and how grave.

` + intelFormat,
	}
	c.AddCommand(e.intelDraftCmd(), e.intelEndorseCmd(), e.intelListCmd(), e.intelShowCmd(), e.intelPolicyCmd(),
		e.intelConfirmCmd(), e.intelRelayCmd())
	return c
}

func (e *env) intelDraftCmd() *cobra.Command {
	var keyFile, nodeURL, out string
	c := &cobra.Command{
		Use:   "draft RECORD.json --key N3.key --node URL [--out DRAFT.json]",
		Short: "Sign a record as its submitter (N3) and write the draft the N2s endorse",
		Long: `draft checks the record, signs it for the chain of --node with --key
(a key the chain's administrator granted the role n3) and writes the
draft (to --out, or standard output). Hand it to an N2: "epiledger intel
endorse DRAFT.json".

` + intelFormat,
		Example: `  epiledger intel draft lukou.json --key airport.key --node http://127.0.0.1:7070 --out lukou.draft.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d IntelDraft
			if err := e.readInput("RECORD.json", args[0], &d.Record); err != nil {
				return err
			}
			k, err := home.LoadKeyFile(keyFile)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			st, err := client.New(nodeURL, "").Health(e.ctx)
			if err != nil {
				return withHint(fmt.Errorf("--node %s: %w", nodeURL, err), "is the node running?")
			}
			d.ChainID = st.ChainID
			tx, err := d.tx()
			if err != nil {
				return err
			}
			d.Signatures = []DraftSig{sign(tx, d.ChainID, k)}
			return e.writeDraft(&d, out)
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "the submitter's key file (role n3) (required)")
	c.MarkFlagRequired("key")
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain the record is for (required)")
	c.MarkFlagRequired("node")
	c.Flags().StringVar(&out, "out", "", "write the draft here (default: standard output)")
	return c
}

func (e *env) intelEndorseCmd() *cobra.Command {
	var keyFile, nodeURL, out string
	c := &cobra.Command{
		Use:   "endorse DRAFT.json --key N2.key --node URL [--out DRAFT.json]",
		Short: "Check and co-sign a draft (N2); the last endorsement submits it",
		Long: `endorse checks the draft's signatures and the record, co-signs it with
--key (a key granted the role n2) and, when the draft then carries every
endorsement the record asks for, submits it to --node, signed by that
key, and prints the committed transaction. Otherwise it writes the draft
with the new signature (to --out, or standard output) for the next N2.`,
		Example: `  epiledger intel endorse lukou.draft.json --key commission.key --node http://127.0.0.1:7070`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d IntelDraft
			if err := e.readInput("DRAFT.json", args[0], &d); err != nil {
				return err
			}
			tx, err := d.tx()
			if err != nil {
				return err
			}
			if len(d.Signatures) == 0 {
				return errors.New("DRAFT.json: no signature: the submitter signs it first (epiledger intel draft)")
			}
			for i, s := range d.Signatures {
				var sig ledger.Sig
				kb, err1 := hex.DecodeString(s.Key)
				sb, err2 := hex.DecodeString(s.Sig)
				if err1 != nil || err2 != nil || len(kb) != 32 || len(sb) != 64 {
					return fmt.Errorf("DRAFT.json: signatures[%d]: a key of 64 and a signature of 128 hex digits", i)
				}
				copy(sig.Key[:], kb)
				copy(sig.Sig[:], sb)
				if !ed25519.Verify(kb, tx.SignBytes(d.ChainID), sb) {
					return fmt.Errorf("DRAFT.json: signatures[%d] does not sign this record for chain %q", i, d.ChainID)
				}
				tx.Sigs = append(tx.Sigs, sig)
			}
			k, err := home.LoadKeyFile(keyFile)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			mine := sign(tx, d.ChainID, k)
			for _, s := range d.Signatures {
				if s.Key == mine.Key {
					return errors.New("--key: this key signed the draft already")
				}
			}
			d.Signatures = append(d.Signatures, mine)
			want := 1 + d.Record.Endorsements
			if len(d.Signatures) < want {
				fmt.Fprintf(e.stderr, "endorsed: %d of %d signatures; hand the draft to the next N2\n", len(d.Signatures), want)
				return e.writeDraft(&d, out)
			}
			if len(d.Signatures) > want {
				return fmt.Errorf("DRAFT.json: the record asks for %d endorsements and has them already", d.Record.Endorsements)
			}
			st, err := client.New(nodeURL, "").Health(e.ctx)
			if err != nil {
				return withHint(fmt.Errorf("--node %s: %w", nodeURL, err), "is the node running?")
			}
			if st.ChainID != d.ChainID {
				return fmt.Errorf("--node %s serves chain %q, the draft is for %q", nodeURL, st.ChainID, d.ChainID)
			}
			full, err := d.tx()
			if err != nil {
				return err
			}
			for _, s := range d.Signatures {
				var sig ledger.Sig
				kb, _ := hex.DecodeString(s.Key)
				sb, _ := hex.DecodeString(s.Sig)
				copy(sig.Key[:], kb)
				copy(sig.Sig[:], sb)
				full.Sigs = append(full.Sigs, sig)
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			res, err := e.signedClient(nodeURL, k, d.ChainID).SubmitOne(ctx, full.Bytes())
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "intel %s committed at height %d\n", res.Tx, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "the endorser's key file (role n2) (required)")
	c.MarkFlagRequired("key")
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the draft's chain, to submit to (required)")
	c.MarkFlagRequired("node")
	c.Flags().StringVar(&out, "out", "", "write a draft that needs more endorsements here (default: standard output)")
	return c
}

// tx is the draft's record as a transaction without signatures.
func (d *IntelDraft) tx() (*ledger.Tx, error) {
	if d.ChainID == "" {
		return nil, errors.New("DRAFT.json: chain_id: required")
	}
	b, err := d.Record.Body(time.UTC)
	if err != nil {
		return nil, fmt.Errorf("the record: %w", err)
	}
	return ledger.NewTx(b), nil
}

func sign(tx *ledger.Tx, chainID string, k ed25519.PrivateKey) DraftSig {
	return DraftSig{Key: hex.EncodeToString(k.Public().(ed25519.PublicKey)), Sig: hex.EncodeToString(ed25519.Sign(k, tx.SignBytes(chainID)))}
}

func (e *env) writeDraft(d *IntelDraft, out string) error {
	if out == "" {
		return e.printJSON(d)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	old := e.stdout
	e.stdout = f
	err = e.printJSON(d)
	e.stdout = old
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		fmt.Fprintf(e.stderr, "wrote %s\n", out)
	}
	return err
}

func (e *env) intelListCmd() *cobra.Command {
	var dir, nodeURL, from, to, dimension string
	var maxLevel int
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [--from T] [--to T] [--dimension D] [--max-level N] [--json]",
		Short: "List the intelligence records (details as their secrecy allows)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, done, err := e.ledger(dir, nodeURL)
			if err != nil {
				return err
			}
			defer done()
			v, err := cl.Intel(e.ctx, from, to, dimension, maxLevel)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			if asJSON {
				return e.printJSON(v)
			}
			if len(v.Intel) == 0 {
				fmt.Fprintln(e.stdout, "no intelligence records in the window")
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tLEVEL\tDIMENSION\tSECRECY\tREGION\tCONFIRMED\tPLACE\tTX")
			for _, r := range v.Intel {
				region, confirmed, place := "-", "-", "(not for this role)"
				if d := r.Details; d != nil {
					region, confirmed, place = shortRegion(d.Region), fmt.Sprint(d.Confirmed), d.Place
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time, r.Response, r.Dimension, r.Secrecy, region, confirmed, place, r.Tx[:16])
			}
			tw.Flush()
			if v.Truncated {
				fmt.Fprintln(e.stdout, "(more: narrow the window)")
			}
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&nodeURL, "node", "", "the chain's node (default: the home's running node, or the home itself)")
	c.Flags().StringVar(&from, "from", "", "records describing a time from (RFC 3339 or a date; default 30 days ago)")
	c.Flags().StringVar(&to, "to", "", "to (default now)")
	c.Flags().StringVar(&dimension, "dimension", "", "only this dimension: epidemic, medical, government, public, opinion")
	c.Flags().IntVar(&maxLevel, "max-level", 0, "only response levels up to this: 1 (I only) to 4")
	c.Flags().BoolVar(&asJSON, "json", false, "print the JSON of GET /v1/intel")
	return c
}

func (e *env) intelShowCmd() *cobra.Command {
	var dir, nodeURL string
	c := &cobra.Command{
		Use:   "show TX",
		Short: "Show one intelligence record (its details, if its secrecy allows)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := ledger.ParseHash(args[0]); err != nil {
				return fmt.Errorf("TX: %w", err)
			}
			cl, done, err := e.ledger(dir, nodeURL)
			if err != nil {
				return err
			}
			defer done()
			v, err := cl.IntelRecord(e.ctx, args[0])
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			return e.printJSON(v)
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&nodeURL, "node", "", "the chain's node (default: the home's running node, or the home itself)")
	return c
}

func (e *env) intelPolicyCmd() *cobra.Command {
	var dir, nodeURL string
	var n int
	c := &cobra.Command{
		Use:   "policy --endorsements N",
		Short: "Set how many N2 endorsements a record needs on this chain (the administrator)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, done, err := e.ledger(dir, nodeURL)
			if err != nil {
				return err
			}
			defer done()
			res, err := cl.IntelPolicy(e.ctx, api.IntelPolicyRequest{Endorsements: n})
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "policy: %d endorsement(s), tx %s at height %d\n", n, res.Tx, res.Height)
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&nodeURL, "node", "", "the chain's node (default: the home's running node, or the home itself)")
	c.Flags().IntVar(&n, "endorsements", 1, fmt.Sprintf("N2 signatures a record needs, 1 to %d", ledger.MaxEndorsements))
	return c
}
