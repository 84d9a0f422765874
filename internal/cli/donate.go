package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
)

// Donations, the whole path (issue 17, docs/SUPPLY.md): a donor's
// pledge, the charity's steps, and anyone's following of a donation by
// its receipt id, and of the public totals.

func (e *env) donateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "donate",
		Short: "Donations from pledge to use: a donor's pledge, a charity's steps, anyone's following of a gift and the totals",
		Long: `A donation's path: the donor pledges money or goods to a charity
("pledge", signed with a key of the donor's own, made with "epiledger
keygen"); the charity signs it too and records it ("record"): its
transaction id is the donor's receipt id. The charity then records each
step, signed, naming the pledge: the money or goods received ("receive"),
what the money bought ("purchase", naming the supply shipment that brings
it), and each allocation to a hospital ("allocate", naming the charity's
supply shipment to it). The hospital's receipts of that shipment
("epiledger supply receive"; a short delivery counts what arrived) are
the delivery; its supply steps the use.

Anyone follows a donation ("follow RECEIPT_ID") and reads the public
totals of a charity, a hospital or a product ("totals"), every figure
derived from proven transactions. A donor appears under a pseudonym (their
key's first eight bytes) unless they give --name. Amounts are in yuan,
kept in fen.`,
	}
	c.AddCommand(e.donatePledgeCmd(), e.donateRecordCmd(), e.donateStepCmd(ledger.DonationReceive), e.donateStepCmd(ledger.DonationPurchase),
		e.donateStepCmd(ledger.DonationAllocate), e.donateFollowCmd(), e.donateTotalsCmd())
	return c
}

// parseYuan reads an amount in yuan (at most two decimals) as fen.
func parseYuan(s string) (uint64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return 0, fmt.Errorf("yuan, with at most two decimals (e.g. 500 or 12.50)")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	fen, err := strconv.ParseUint(whole+frac, 10, 64)
	if err != nil || fen == 0 || fen > ledger.MaxDonationFen {
		return 0, fmt.Errorf("0.01 to %d yuan", uint64(ledger.MaxDonationFen/100))
	}
	return fen, nil
}

func yuan(fen uint64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

// parseKeyHex reads a public key given as flag: 64 hex digits.
func parseKeyHex(flag, s string) ([32]byte, error) {
	k, err := hex.DecodeString(s)
	if err != nil || len(k) != 32 {
		return [32]byte{}, fmt.Errorf("%s: a public key, 64 hex digits", flag)
	}
	return [32]byte(k), nil
}

func (e *env) donatePledgeCmd() *cobra.Command {
	var nodeURL, keyFile, charity, amount, name, purpose, out string
	var goods []string
	c := &cobra.Command{
		Use:   "pledge --node URL --key DONOR.key --charity KEY (--amount YUAN | --goods GTIN=UNITS...) --out FILE",
		Short: "Pledge money or goods to a charity (a donor): signs the pledge and prints its receipt id",
		Long: `pledge signs a gift to a charity with the donor's key and writes it to
--out, for the charity to sign and record ("epiledger donate record"). It
prints the receipt id, the pledge's transaction id: follow the gift with
it ("epiledger donate follow ID"). Nothing is sent: --node is asked for
the chain's id only (a signature is bound to its chain). The donor
appears under a pseudonym (their key's first eight bytes) unless they
give --name. Goods are units of a product (its GTIN-14), the lots and
serials being the shipment's.`,
		Example: `  epiledger keygen --out donor.key
  epiledger donate pledge --node http://127.0.0.1:7070 --key donor.key --charity 7d1e...c4 \
    --amount 10000 --for "N95 masks for fever clinics" --out pledge.tx
  epiledger donate pledge --node http://127.0.0.1:7070 --key company.key --charity 7d1e...c4 \
    --goods 10614141073464=5000 --name "Jiuzhou Pharmaceutical" --out pledge.tx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ch, err := parseKeyHex("--charity", charity)
			if err != nil {
				return err
			}
			b := &ledger.DonationPledge{Charity: ch, Name: name, Purpose: purpose, Time: time.Now().Unix(), Nonce: rand.Uint64()}
			if amount != "" {
				if b.Amount, err = parseYuan(amount); err != nil {
					return fmt.Errorf("--amount %q: %w", amount, err)
				}
			}
			for _, g := range goods {
				gtin, n, ok := strings.Cut(g, "=")
				u, err := strconv.ParseUint(n, 10, 32)
				if !ok || err != nil {
					return fmt.Errorf("--goods %q: GTIN=UNITS, e.g. 10614141073464=5000", g)
				}
				b.Goods = append(b.Goods, ledger.Goods{GTIN: gtin, Units: uint32(u)})
			}
			tx, err := ledger.Build(b)
			if err != nil {
				return flagErr(err)
			}
			k, err := home.LoadKeyFile(keyFile)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			st, err := client.New(nodeURL, "").Health(ctx)
			if err != nil {
				return withHint(fmt.Errorf("--node %s: %w", nodeURL, err), "is the node running?")
			}
			tx.Sign(st.ChainID, k)
			if err := os.WriteFile(out, []byte(base64.StdEncoding.EncodeToString(tx.Bytes())+"\n"), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "pledge written to %s, for the charity to record (epiledger donate record)\nreceipt id: %s\n", out, tx.ID())
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain, asked for its id (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the donor's key file (epiledger keygen) (required)")
	c.Flags().StringVar(&charity, "charity", "", "the charity's public key, hex (required)")
	c.Flags().StringVar(&amount, "amount", "", "money, in yuan (e.g. 500 or 12.50)")
	c.Flags().StringArrayVar(&goods, "goods", nil, "goods: GTIN=UNITS; repeat for each product")
	c.Flags().StringVar(&name, "name", "", "the donor's name, public (default: a pseudonym)")
	c.Flags().StringVar(&purpose, "for", "", "what the gift is for, in words (public)")
	c.Flags().StringVar(&out, "out", "", "where to write the signed pledge (required)")
	for _, n := range []string{"node", "key", "charity", "out"} {
		c.MarkFlagRequired(n)
	}
	return c
}

func (e *env) donateRecordCmd() *cobra.Command {
	var nodeURL, keyFile string
	c := &cobra.Command{
		Use:   "record PLEDGE_FILE --node URL --key CHARITY.key",
		Short: "Record a donor's pledge (the charity it names): countersigns and submits it",
		Long: `record reads a pledge the donor signed ("epiledger donate pledge"), checks
that it names this charity and that the donor's signature holds on this
chain, signs it second and submits it. Its transaction id is the
donor's receipt id.`,
		Example: `  epiledger donate record pledge.tx --node http://127.0.0.1:7070 --key redcross.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
			if err != nil {
				return fmt.Errorf("%s: not a pledge (base64 of a transaction): %v", args[0], err)
			}
			tx, err := ledger.DecodePartial(b)
			if err != nil {
				return fmt.Errorf("%s: not a pledge: %w", args[0], err)
			}
			if len(tx.Sigs) != 1 {
				return fmt.Errorf("%s: signed %d times, a donor's pledge once", args[0], len(tx.Sigs))
			}
			pl, ok := tx.Body.(*ledger.DonationPledge)
			if !ok {
				return fmt.Errorf("%s: a %s, not a pledge", args[0], tx.Body.Kind())
			}
			if err := ledger.Validate(pl); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			cl, st, err := e.signedOn(ctx, nodeURL, keyFile)
			if err != nil {
				return err
			}
			if [32]byte(cl.Key.Public().(ed25519.PublicKey)) != pl.Charity {
				return fmt.Errorf("%s: the pledge names another charity (%s)", args[0], hex.EncodeToString(pl.Charity[:8]))
			}
			if !ed25519.Verify(tx.Sigs[0].Key[:], tx.SignBytes(st.ChainID), tx.Sigs[0].Sig[:]) {
				return fmt.Errorf("%s: the donor's signature does not hold on chain %s", args[0], st.ChainID)
			}
			tx.Sign(st.ChainID, cl.Key)
			res, err := cl.SubmitOne(ctx, tx.Bytes())
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "pledge of %s recorded at height %d\nreceipt id: %s\n", pledgeText(pl), res.Height, res.Tx)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the charity's key file (required)")
	c.MarkFlagRequired("node")
	c.MarkFlagRequired("key")
	return c
}

func pledgeText(pl *ledger.DonationPledge) string {
	var parts []string
	if pl.Amount > 0 {
		parts = append(parts, yuan(pl.Amount)+" yuan")
	}
	for _, g := range pl.Goods {
		parts = append(parts, fmt.Sprintf("%d unit(s) of %s", g.Units, g.GTIN))
	}
	return strings.Join(parts, " and ")
}

var donateStepShort = map[string]string{
	ledger.DonationReceive:  "Record a donation's money (--amount) or goods (--shipment, received by you) received (its charity)",
	ledger.DonationPurchase: "Record what a donation's money bought: --amount spent, --shipment that brings it (its charity)",
	ledger.DonationAllocate: "Record an allocation of a donation's goods: --shipment, yours to a hospital (its charity)",
}

func (e *env) donateStepCmd(step string) *cobra.Command {
	var nodeURL, keyFile, amount, shipment string
	c := &cobra.Command{
		Use:   step + " RECEIPT_ID --node URL --key CHARITY.key",
		Short: donateStepShort[step],
		Example: map[string]string{
			ledger.DonationReceive:  "  epiledger donate receive 3f9a...e2 --node http://127.0.0.1:7070 --key redcross.key --amount 10000",
			ledger.DonationPurchase: "  epiledger donate purchase 3f9a...e2 --node http://127.0.0.1:7070 --key redcross.key --amount 9000 --shipment 8c1d...07",
			ledger.DonationAllocate: "  epiledger donate allocate 3f9a...e2 --node http://127.0.0.1:7070 --key redcross.key --shipment 51b0...9a",
		}[step],
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ledger.ParseHash(args[0])
			if err != nil {
				return fmt.Errorf("RECEIPT_ID: %w", err)
			}
			b := &ledger.DonationStep{Step: step, Pledge: id, Time: time.Now().Unix(), Nonce: rand.Uint64()}
			if amount != "" {
				if b.Amount, err = parseYuan(amount); err != nil {
					return fmt.Errorf("--amount %q: %w", amount, err)
				}
			}
			if shipment != "" {
				if b.Shipment, err = ledger.ParseHash(shipment); err != nil {
					return fmt.Errorf("--shipment: the supply shipment's transaction, 64 hex digits")
				}
			}
			res, err := e.signAndSubmit(nodeURL, keyFile, b)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s recorded for donation %s: tx %s at height %d\n", step, args[0][:16], res.Tx, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the charity's key file (required)")
	if step != ledger.DonationAllocate {
		c.Flags().StringVar(&amount, "amount", "", "money, in yuan")
	}
	c.Flags().StringVar(&shipment, "shipment", "", "the supply shipment's transaction id")
	c.MarkFlagRequired("node")
	c.MarkFlagRequired("key")
	return c
}

func (e *env) donateFollowCmd() *cobra.Command {
	var af answerFlags
	c := &cobra.Command{
		Use:   "follow RECEIPT_ID --node URL | follow --file FILE",
		Short: "Follow a donation by its receipt id (anyone): its whole path, every step proven",
		Long: `follow reads a donation from a node (GET /v1/public/donations/{id}; no
login), or from --file (what --save wrote), and checks it with nothing but
the answer: every transaction is a leaf of its block (with --genesis,
signed by the consortium), and the pledge, the steps and the shipments
they name, replayed, give the figures the answer says (money pledged,
received and spent; units received, bought, allocated and delivered).
That the charity and the hospitals hold their roles, and that no later
step was left out, is the node's word. Exit status 0: valid; 1: INVALID.`,
		Example: `  epiledger donate follow 3f9a...e2 --node http://127.0.0.1:7070 --save gift.json
  epiledger donate follow --file gift.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, g, err := af.read(e, args, "RECEIPT_ID", func(ctx context.Context, cl *client.Client, arg string) (any, error) {
				id, err := ledger.ParseHash(arg)
				if err != nil {
					return nil, fmt.Errorf("RECEIPT_ID: %w", err)
				}
				return cl.Donation(ctx, id) // fetchAnswer adds the hint a node error needs
			})
			if err != nil {
				return err
			}
			var dp api.DonationProof
			if err := decodeAnswer(raw, &dp); err != nil || dp.Donation == nil {
				return e.invalid(fmt.Errorf("not a donation: %v", err))
			}
			if _, err := e.checkDonation(&dp, g); err != nil {
				return err
			}
			e.printDonation(&dp)
			return nil
		},
	}
	af.add(c)
	return c
}

func (e *env) donateTotalsCmd() *cobra.Command {
	var nodeURL, charity, hospital, gtin string
	var check, asJSON bool
	c := &cobra.Command{
		Use:   "totals --node URL (--charity KEY | --hospital KEY | --gtin GTIN) [--check]",
		Short: "Public totals of a charity, a hospital or a product (anyone); --check follows every donation they count",
		Long: `totals reads the public totals (GET /v1/public/donations; no login): a
charity's donations and money (pledged, received, spent) and units per
product; a hospital's allocations and the units allocated and delivered
to it; a product's donations and units. --check follows each donation the
totals count (as "donate follow", every transaction proven) and adds them
up: the totals must be their sum. Exit status 0: valid; 1: INVALID (or NOT
CHECKED, when more donations count than one answer lists).`,
		Example: `  epiledger donate totals --node http://127.0.0.1:7070 --charity 7d1e...c4 --check
  epiledger donate totals --node http://127.0.0.1:7070 --gtin 10614141073464`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var param, v string
			n := 0
			for _, p := range []struct{ name, v string }{{"charity", charity}, {"hospital", hospital}, {"gtin", gtin}} {
				if p.v != "" {
					param, v, n = p.name, p.v, n+1
				}
			}
			if n != 1 {
				return fmt.Errorf("give one of --charity, --hospital or --gtin")
			}
			if param == "gtin" && !ledger.ValidGTIN(v) {
				return fmt.Errorf("--gtin %q: a GTIN-14: 14 digits, the last the GS1 check digit", v)
			}
			if param != "gtin" {
				if _, err := parseKeyHex("--"+param, v); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithTimeout(e.ctx, 10*time.Minute)
			defer cancel()
			cl := client.New(nodeURL, "")
			t, err := cl.DonationTotals(ctx, param, v)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			if asJSON {
				if err := e.printJSON(t); err != nil {
					return err
				}
			} else {
				printTotals(e, t)
			}
			if check {
				return e.checkTotals(ctx, cl, t)
			}
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "ask the node at this URL (required)")
	c.Flags().StringVar(&charity, "charity", "", "a charity's public key, hex")
	c.Flags().StringVar(&hospital, "hospital", "", "a hospital's public key, hex")
	c.Flags().StringVar(&gtin, "gtin", "", "a product's GTIN-14")
	c.Flags().BoolVar(&check, "check", false, "follow every donation counted, proven, and add them up")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	c.MarkFlagRequired("node")
	return c
}

func printTotals(e *env, t *report.Totals) {
	who := t.Of
	if t.Party != nil {
		who = partyText(*t.Party)
	}
	switch t.Scope {
	case "charity":
		fmt.Fprintf(e.stdout, "charity %s: %d donation(s); %s yuan pledged, %s received, %s spent\n", who, t.Donations, yuan(t.Pledged), yuan(t.Received), yuan(t.Spent))
	case "hospital":
		fmt.Fprintf(e.stdout, "hospital %s: %d allocation(s) from donations\n", who, t.Donations)
	default:
		fmt.Fprintf(e.stdout, "product %s: given under %d donation(s)\n", who, t.Donations)
	}
	printGoods(e, t.Goods)
}

func printGoods(e *env, gs []report.GoodsView) {
	if len(gs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GTIN\tPLEDGED\tRECEIVED\tBOUGHT\tALLOCATED\tDELIVERED")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", g.GTIN, g.Pledged, g.Received, g.Bought, g.Allocated, g.Delivered)
	}
	tw.Flush()
}
