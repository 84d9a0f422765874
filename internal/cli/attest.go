package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/attest"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
)

// Attestations (issue 17, docs/SUPPLY.md "Attestations"): a key holder's
// signed statement that it had a content, by its hash, and anyone's
// check of who attested a content first.

func (e *env) attestCmd() *cobra.Command {
	var nodeURL, keyFile, kind, source, at string
	c := &cobra.Command{
		Use:   "attest --node URL --key KEY --kind KIND [--source WHERE] FILE",
		Short: "Attest a content by its hash (any key holding a role); check who attested a content first (anyone)",
		Long: `attest signs and submits an attestation: that the key's holder had the
content of FILE, by its SHA-256 (the file never leaves this machine; only
its hash enters the ledger), of a kind, from a source, at a time. Kinds:
  news                a piece of news as published (the first to attest
                      it is its first publisher: a rumour traced to its source)
  insurance-evidence  a document a patient released for an insurance claim:
                      the patient hands the document over (that is the
                      consent); the ledger holds its hash, never the document
  remote-work         a record of work done remotely
  other
--source says where the content was published (a URI or a name, at most
256 bytes); outside news it must name no person (an identifier in it is
refused). Any key holding a role may attest ("epiledger role grant"; an
auditor's key only reads), once per content; a grant takes effect from
the next block. It prints the transaction and the content's hash.

"attest check" reads a content's attestations (no login) and checks them
with nothing but the answer: who attested it first, and when.`,
		Example: `  epiledger attest --node http://127.0.0.1:7070 --key newsroom.key --kind news \
    --source https://weibo.com/1234567890/4462468883439456 rumour.txt
  epiledger attest --node http://127.0.0.1:7070 --key union.key --kind insurance-evidence \
    --source "Union Hospital, discharge office" discharge-summary.pdf
  epiledger attest check --node http://127.0.0.1:7070 rumour.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			content, err := hashFile(args[0])
			if err != nil {
				return err
			}
			k, err := home.LoadKeyFile(keyFile)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			b := &ledger.Attestation{Content: content, Kind_: kind, Source: source, Time: time.Now().Unix(), By: [32]byte(k.Public().(ed25519.PublicKey))}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("--time %q: RFC 3339, e.g. 2019-12-30T17:43:00+08:00", at)
				}
				b.Time = t.Unix()
			}
			res, err := e.signAndSubmit(nodeURL, keyFile, b)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s attestation of content %s: tx %s at height %d\n", kind, content, res.Tx, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the attester's key file, holding a role (required)")
	c.Flags().StringVar(&kind, "kind", "", "news, insurance-evidence, remote-work or other (required)")
	c.Flags().StringVar(&source, "source", "", "where the content was published: a URI or a name")
	c.Flags().StringVar(&at, "time", "", "when, RFC 3339 (default: now)")
	for _, n := range []string{"node", "key", "kind"} {
		c.MarkFlagRequired(n)
	}
	c.AddCommand(e.attestCheckCmd())
	return c
}

// hashFile is the SHA-256 of the file at path, read as a stream.
func hashFile(path string) (ledger.Hash, error) {
	f, err := os.Open(path)
	if err != nil {
		return ledger.Hash{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ledger.Hash{}, fmt.Errorf("%s: %w", path, err)
	}
	return ledger.Hash(h.Sum(nil)), nil
}

func (e *env) attestCheckCmd() *cobra.Command {
	var nodeURL, hash, file, save, genesis string
	c := &cobra.Command{
		Use:   "check --node URL FILE|--hash H [--save F] | check --file F [FILE|--hash H]",
		Short: "Who attested a content first, and since (anyone): its attestations, proven",
		Long: `check reads a content's attestations from a node (GET
/v1/public/attestations/{hash}; no login), the content given as FILE
(hashed here with SHA-256) or as --hash, or from --file (what --save
wrote; with FILE or --hash, the answer must be about that content). It
checks them with nothing but the answer: each is a leaf of its block
(with --genesis, signed by the consortium, as "tx check"), decodes to an
attestation of the content signed by the key it names, no key twice, and
they are in chain order (by block, then by place in the block), so that
the first is the content's first publisher. It prints who attested it
first and when, then the others. Then compare each block it names with a
header of that chain you trust: the answer proves what it lists, not
that nothing was left out. Exit status 0: valid (attested or not); 1:
INVALID.`,
		Example: `  epiledger attest check --node http://127.0.0.1:7070 rumour.txt
  epiledger attest check --node http://127.0.0.1:7070 --hash 3f2a...c9 --save rumour.json
  epiledger attest check --file rumour.json rumour.txt`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var want *ledger.Hash
			switch {
			case len(args) == 1 && hash != "":
				return fmt.Errorf("give FILE or --hash, not both")
			case len(args) == 1:
				h, err := hashFile(args[0])
				if err != nil {
					return err
				}
				want = &h
			case hash != "":
				h, err := ledger.ParseHash(hash)
				if err != nil {
					return fmt.Errorf("--hash: the content's SHA-256, 64 hex digits")
				}
				want = &h
			}
			var raw []byte
			switch {
			case file != "" && nodeURL == "":
				b, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				raw = b
			case file == "" && nodeURL != "" && want != nil:
				var err error
				if raw, err = e.fetchAnswer(nodeURL, save, func(ctx context.Context, c *client.Client) (any, error) { return c.Attestations(ctx, *want) }); err != nil {
					return err
				}
			default:
				return fmt.Errorf("give --node and FILE or --hash, or --file")
			}
			g, err := readConsortiumGenesis(genesis)
			if err != nil {
				return err
			}
			var a api.AttestationProof
			if err := decodeAnswer(raw, &a); err != nil || a.ContentAttestations == nil {
				return e.invalid(fmt.Errorf("not a content's attestations: %v", err))
			}
			return e.checkAttestations(&a, want, g)
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "ask the node at this URL")
	c.Flags().StringVar(&hash, "hash", "", "the content's SHA-256, hex (instead of FILE)")
	c.Flags().StringVar(&file, "file", "", "check a saved answer instead")
	c.Flags().StringVar(&save, "save", "", "also write the node's answer to this file")
	c.Flags().StringVar(&genesis, "genesis", "", "the consortium's CometBFT genesis.json, for a consortium chain's proofs")
	return c
}

// checkAttestations checks a content's attestations with nothing but the
// answer (and want, the content asked about, if any): every one proven
// in its block, an attestation of the content by the key it names, in
// chain order; then prints who attested it first.
func (e *env) checkAttestations(a *api.AttestationProof, want *ledger.Hash, g *consortium.Genesis) error {
	content, err := ledger.ParseHash(a.Content)
	if err != nil {
		return e.invalid(fmt.Errorf("content: %v", err))
	}
	if want != nil && content != *want {
		return e.invalid(fmt.Errorf("the answer is about content %s, not %s", a.Content[:16], want.String()[:16]))
	}
	if len(a.Proofs) != len(a.Attestations) {
		return e.invalid(fmt.Errorf("%d attestations, %d proofs", len(a.Attestations), len(a.Proofs)))
	}
	var entries []attest.Entry
	for i, v := range a.Attestations {
		p, tx, err := e.provenTx("attestation", i+1, a.Proofs[i], v.Tx, v.Height, g)
		if err != nil {
			return err
		}
		if b, ok := tx.Body.(*ledger.Attestation); ok {
			t, err := time.Parse(time.RFC3339, v.Time)
			if err != nil || b.Kind_ != v.Kind || b.Source != v.Source || t.Unix() != b.Time || v.By.Key != hex.EncodeToString(b.By[:]) {
				return e.invalid(fmt.Errorf("attestation %d: the answer's kind, source, time or key are not its transaction's", i+1))
			}
		}
		entries = append(entries, attest.Entry{Tx: tx, Height: p.Header.Height, Index: p.Index})
	}
	if _, err := attest.Check(content, entries); err != nil {
		return e.invalid(err)
	}
	switch {
	case len(a.Attestations) == 0 && a.First != nil:
		return e.invalid(fmt.Errorf("the answer names a first attestation and lists none"))
	case len(a.Attestations) > 0 && (a.First == nil || *a.First != a.Attestations[0]):
		return e.invalid(fmt.Errorf("the answer's first is not the first it lists"))
	case len(a.Attestations) == 0 && a.Truncated:
		return e.invalid(fmt.Errorf("the answer says it left attestations out and lists none"))
	}
	// Valid: who attested it first, and since, as people read it.
	if a.First == nil {
		fmt.Fprintf(e.stdout, "content %s: NO ONE ATTESTED IT on this chain\n", a.Content)
		fmt.Fprintln(e.stdout, "ok: no attestation listed; compare with another node's answer")
		return nil
	}
	fmt.Fprintf(e.stdout, "content %s: first attested by %s (%s, %s), %s, in block %d (tx %s)\n",
		a.Content, partyText(a.First.By), a.First.By.Key[:16], a.First.By.Role, a.First.Time, a.First.Height, a.First.Tx[:16])
	for i, v := range a.Attestations {
		line := fmt.Sprintf("  %d. %s  %-18s by %s", i+1, v.Time, v.Kind, partyText(v.By))
		if v.Source != "" {
			line += ", from " + v.Source
		}
		fmt.Fprintf(e.stdout, "%s  (tx %s, block %d)\n", line, v.Tx[:16], v.Height)
	}
	more := ""
	if a.Truncated {
		more = ", the first of more"
	}
	fmt.Fprintf(e.stdout, "ok: %d attestation(s)%s proven in their blocks, in chain order; compare each block with a header you trust (the answer cannot show that none was left out)\n",
		len(a.Attestations), more)
	return nil
}
