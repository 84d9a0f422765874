package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/epcis"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/supply"
)

// Medical supplies from factory to ward (issue 17, docs/SUPPLY.md): a
// custodian's steps, and anyone's check of a code.

func (e *env) supplyCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "supply",
		Short: "Medical supplies: a custodian's steps (commission, ship, receive, void, consume, destroy, observe, transform, pack, unpack), anyone's check of a code",
		Long: `Items are identified as GS1 does: a GTIN with a serial (one box), or with a
lot and a number of units. A code is written as its GS1 Digital Link path
(01/10614141073464/21/A1, 01/10614141073464/10/L7), a Digital Link URL
(https://id.gs1.org/01/10614141073464/21/A1) or an EPC URN
(urn:epc:id:sgtin:0614141.107346.A1, urn:epc:class:lgtin:0614141.107346.L7);
units of a lot are written N*CODE (600*01/10614141073464/10/L7).

Custodians hold a key the administrator granted a role: manufacturer,
distributor, warehouse, hospital or charity ("epiledger role grant"). A manufacturer
commissions items, and transforms some into others (test kits of reagent
and swabs); custody passes on two signatures, the giver's shipment and
the receiver's receipt (a short delivery takes what arrived, the rest
stays in transit until received, or taken back by its giver: "void");
items packed into a container (a pallet's SSCC:
00/106141412345678908, urn:epc:id:sscc:...) go where it goes until
unpacked; a hospital consumes what it uses; anyone holding a custodian's
key may scan (observe) what is in front of it. A step that breaks
conservation (more out than in) is refused; one that shows a
counterfeit's marks raises a signal on the item. Hospitals declare their
needs ("need"); a charity's shipments to hospitals are its allocations,
weighed against them ("needs"). Donations: "epiledger donate".`,
	}
	for _, s := range []string{ledger.StepCommission, ledger.StepShip, ledger.StepConsume, ledger.StepDestroy, ledger.StepObserve, ledger.StepTransform, ledger.StepPack, ledger.StepUnpack} {
		c.AddCommand(e.supplyStepCmd(s))
	}
	c.AddCommand(e.supplySettleCmd(ledger.StepReceive), e.supplySettleCmd(ledger.StepVoid), e.supplyCheckCmd(), e.supplyNeedCmd(), e.supplyNeedsCmd())
	return c
}

var supplyStepShort = map[string]string{
	ledger.StepCommission: "Commission items (a manufacturer): they exist, held by it, from this step on",
	ledger.StepShip:       "Offer items to another custodian: in transit until it receives them",
	ledger.StepConsume:    "Record items used (on a ward): they leave the holder's stock for good",
	ledger.StepDestroy:    "Record items destroyed: they leave the holder's stock for good",
	ledger.StepObserve:    "Record a scan of items: custody is unchanged; a counterfeit's marks raise signals",
	ledger.StepTransform:  "Make new items of held ones (a manufacturer): the inputs (--item) are used up, the outputs (--output) commissioned",
	ledger.StepPack:       "Pack items, units of lots (N*CODE) or other containers into a container (--into: a pallet's SSCC, made by its first packing, or a case): they go where it goes",
	ledger.StepUnpack:     "Take items (--item; none: all) out of a container you hold (--from)",
}

// supplyUse is a step's usage line after its name.
func supplyUse(step string) string {
	switch step {
	case ledger.StepPack:
		return " --node URL --key KEY --into CONTAINER --item CODE [--item CODE...]"
	case ledger.StepUnpack:
		return " --node URL --key KEY --from CONTAINER [--item CODE...]"
	case ledger.StepTransform:
		return " --node URL --key KEY --item N*CODE... --output N*CODE... --expiry YYYY-MM-DD"
	}
	return " --node URL --key KEY --item CODE [--item N*CODE...]"
}

func (e *env) supplyStepCmd(step string) *cobra.Command {
	var nodeURL, keyFile, to, expiry, standard, cert, at, place, container string
	var items, outputs []string
	c := &cobra.Command{
		Use:   step + supplyUse(step),
		Short: supplyStepShort[step],
		Example: map[string]string{
			ledger.StepCommission: `  epiledger supply commission --node http://127.0.0.1:7070 --key factory.key --expiry 2025-01-31 \
    --standard "GB 19083-2010" --certificate 国械注准20203140001 --item 01/10614141073464/21/A1 --item 5000*01/10614141073464/10/L7`,
			ledger.StepShip: `  epiledger supply ship --node http://127.0.0.1:7070 --key factory.key --to 9b2e...41 --item 600*01/10614141073464/10/L7`,
			ledger.StepPack: `  # 200 masks of lot L7 and a box into a case, then the case onto a pallet
  epiledger supply pack --node http://127.0.0.1:7070 --key factory.key --into 01/10614141073464/21/CASE1 \
    --item 200*01/10614141073464/10/L7 --item 01/10614141073464/21/A1
  epiledger supply pack --node http://127.0.0.1:7070 --key factory.key --into urn:epc:id:sscc:0614141.1234567890 \
    --item 01/10614141073464/21/CASE1 --item 01/10614141073464/21/A2`,
			ledger.StepUnpack: `  # the case off the pallet (with what it holds), then everything else
  epiledger supply unpack --node http://127.0.0.1:7070 --key distributor.key --from 00/106141412345678908 --item 01/10614141073464/21/CASE1
  epiledger supply unpack --node http://127.0.0.1:7070 --key distributor.key --from 00/106141412345678908`,
			ledger.StepTransform: `  epiledger supply transform --node http://127.0.0.1:7070 --key kits.key --item 100*01/10614141099990/10/R7 \
    --item 100*01/10614141099983/10/S2 --output 100*01/10614141099976/10/KIT1 --expiry 2021-06-30`,
		}[step],
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b := &ledger.SupplyEvent{Step: step, Expiry: expiry, Standard: standard, Certificate: cert, Time: time.Now().Unix(), Nonce: rand.Uint64()}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("--time %q: RFC 3339, e.g. 2020-01-23T10:00:00+08:00", at)
				}
				b.Time = t.Unix()
			}
			if place != "" {
				c, err := parseCell(place)
				if err != nil {
					return fmt.Errorf("--place %q: %w", place, err)
				}
				b.Placed, b.Place = true, c
			}
			for _, s := range items {
				it, err := parseSupplyItem(s)
				if err != nil {
					return fmt.Errorf("--item %q: %w", s, err)
				}
				b.Items = append(b.Items, it)
			}
			for _, s := range outputs {
				it, err := parseSupplyItem(s)
				if err != nil {
					return fmt.Errorf("--output %q: %w", s, err)
				}
				b.Outputs = append(b.Outputs, it)
			}
			if container != "" {
				flag := map[bool]string{true: "--into", false: "--from"}[step == ledger.StepPack]
				it, err := parseCode(container)
				if err != nil {
					return fmt.Errorf("%s %q: %w", flag, container, err)
				}
				if step == ledger.StepPack {
					b.Outputs = []ledger.SupplyItem{it}
				} else {
					// Unpacked: the container is the item, what comes
					// out the outputs.
					b.Items, b.Outputs = []ledger.SupplyItem{it}, b.Items
				}
			}
			if step == ledger.StepShip {
				k, err := parseKeyHex("--to", to)
				if err != nil {
					return err
				}
				b.To = k
			}
			if err := ledger.Validate(b); err != nil {
				return supplyFlagErr(step, err)
			}
			res, err := e.signAndSubmit(nodeURL, keyFile, b)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s of %d item(s): tx %s at height %d\n", step, len(b.Items)+len(b.Outputs), res.Tx, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the custodian's key file (required)")
	c.Flags().StringArrayVar(&items, "item", nil, "an item: CODE for one, N*CODE for N units of a lot; repeat for each (required)")
	c.Flags().StringVar(&at, "time", "", "when it happened, RFC 3339 (default: now)")
	c.Flags().StringVar(&place, "place", "", "where it happened, LAT,LON in degrees, kept to 0.01 degree (public: the premises on a code's journey)")
	c.MarkFlagRequired("node")
	c.MarkFlagRequired("key")
	if step != ledger.StepUnpack {
		c.MarkFlagRequired("item")
	}
	switch step {
	case ledger.StepPack:
		c.Flags().StringVar(&container, "into", "", "the container: an SSCC (00/..., urn:epc:id:sscc:...) or a serialised item (required)")
		c.MarkFlagRequired("into")
	case ledger.StepUnpack:
		c.Flags().StringVar(&container, "from", "", "the container (required); --item: what to take out (none: all)")
		c.MarkFlagRequired("from")
	case ledger.StepTransform:
		c.Flags().StringArrayVar(&outputs, "output", nil, "an item made: CODE or N*CODE; repeat for each (required)")
		c.MarkFlagRequired("output")
		fallthrough
	case ledger.StepCommission:
		c.Flags().StringVar(&expiry, "expiry", "", "the items' expiry date, YYYY-MM-DD (required)")
		c.Flags().StringVar(&standard, "standard", "", `the standard they meet, e.g. "GB 19083-2010"`)
		c.Flags().StringVar(&cert, "certificate", "", "their registration certificate's number")
		c.MarkFlagRequired("expiry")
	case ledger.StepShip:
		c.Flags().StringVar(&to, "to", "", "the receiving custodian's public key, hex (required)")
		c.MarkFlagRequired("to")
	default:
		c.Flags().StringVar(&expiry, "expiry", "", "the expiry printed on the items, YYYY-MM-DD, if read (compared with the commissioning's)")
	}
	return c
}

// supplySettleCmd is "supply receive" (the receiver accepts a shipment,
// all of it or what arrived) or "supply void" (its giver takes back what
// never arrived).
func (e *env) supplySettleCmd(step string) *cobra.Command {
	var nodeURL, keyFile, place string
	var items []string
	void := step == ledger.StepVoid
	c := &cobra.Command{
		Use:   step + " SHIPMENT --node URL --key KEY [--item N*CODE...]",
		Short: "Accept a shipment (its receiver): custody of its items (or of those that arrived, --item) passes to you",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ledger.ParseHash(args[0])
			if err != nil {
				return fmt.Errorf("SHIPMENT: %w", err)
			}
			b := &ledger.SupplyEvent{Step: step, Offer: id, Time: time.Now().Unix(), Nonce: rand.Uint64()}
			for _, s := range items {
				it, err := parseSupplyItem(s)
				if err != nil {
					return fmt.Errorf("--item %q: %w", s, err)
				}
				b.Items = append(b.Items, it)
			}
			if place != "" {
				if b.Place, err = parseCell(place); err != nil {
					return fmt.Errorf("--place %q: %w", place, err)
				}
				b.Placed = true
			}
			if err := ledger.Validate(b); err != nil {
				return supplyFlagErr(step, err)
			}
			res, err := e.signAndSubmit(nodeURL, keyFile, b)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "shipment %s %s: tx %s at height %d\n", args[0][:16], map[bool]string{true: "voided", false: "received"}[void], res.Tx, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the receiving custodian's key file (required)")
	c.Flags().StringVar(&place, "place", "", "where it was received, LAT,LON in degrees, kept to 0.01 degree (public)")
	c.Flags().StringArrayVar(&items, "item", nil, "what arrived, CODE or N*CODE, when not all did (a short delivery: the rest stays in transit); repeat for each")
	if void {
		c.Short = "Take back what of your shipment never arrived (its giver; EPCIS void_shipping): all still in transit, or --item; the shipment is closed when nothing is left"
		c.Example = `  # 3,000 masks shipped, 2,800 received: the factory takes back the 200 lost
  epiledger supply void 5f3c...e1 --node http://127.0.0.1:7070 --key factory.key`
		c.Flag("key").Usage = "the key file of the custodian that shipped it (required)"
		c.Flag("place").Usage = "where, LAT,LON in degrees, kept to 0.01 degree (public)"
		c.Flag("item").Usage = "what to take back, CODE or N*CODE, when not all that is in transit; repeat for each"
	}
	c.MarkFlagRequired("node")
	c.MarkFlagRequired("key")
	return c
}

// supplyFlagErr names a refused field of a step as the flag (or
// argument) of its command that gave it.
func supplyFlagErr(step string, err error) error {
	var fe *ledger.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	name := map[string]string{"items": "--item", "outputs": "--output", "offer": "SHIPMENT", "time": "--time", "place": "--place"}[fe.Field]
	switch {
	case step == ledger.StepPack && fe.Field == "outputs", step == ledger.StepUnpack && fe.Field == "items":
		name = map[bool]string{true: "--into", false: "--from"}[step == ledger.StepPack]
	case step == ledger.StepUnpack && fe.Field == "outputs":
		name = "--item"
	case name == "":
		name = "--" + fe.Field
	}
	return fmt.Errorf("%s: %s", name, fe.Msg)
}

// parseSupplyItem reads N*CODE or CODE (one unit).
func parseSupplyItem(s string) (ledger.SupplyItem, error) {
	qty := uint64(1)
	if n, rest, ok := strings.Cut(s, "*"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
		q, err := strconv.ParseUint(n, 10, 32)
		if err != nil || q == 0 || q > ledger.MaxSupplyQty {
			return ledger.SupplyItem{}, fmt.Errorf("units: 1 to %d", ledger.MaxSupplyQty)
		}
		qty, s = q, rest
	}
	it, err := parseCode(s)
	if err != nil {
		return it, err
	}
	if it.Instance() && qty != 1 {
		return it, fmt.Errorf("a serial is one item; units are a lot's")
	}
	it.Qty = uint32(qty)
	return it, nil
}

// parseCode reads a code as a path, a Digital Link URL or an EPC URN.
func parseCode(s string) (ledger.SupplyItem, error) {
	if strings.HasPrefix(s, "urn:") || strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		id, err := epcis.ParseID(s)
		if err != nil {
			return ledger.SupplyItem{}, err
		}
		return supply.ItemOf(id)
	}
	return ledger.ParseCode(s)
}

func (e *env) supplyCheckCmd() *cobra.Command {
	var af answerFlags
	c := &cobra.Command{
		Use:   "check CODE --node URL | check --file FILE",
		Short: "Check a code (anyone): who made it, every hand it passed through, where it is, the signals against it, proven",
		Long: `check reads the item's provenance from a node (GET /v1/public/supply/...;
no login), or from --file (what --save wrote), and checks it with nothing
but the answer: each step is a leaf of its block (with --genesis, signed
by the consortium, as "tx check"), names the item, and the steps, replayed
in order, give what the answer says: commissioned or not, the maker, the
units, the status, who holds it and the signals. Then compare each block
it names with a header of that chain you trust. Exit status 0: valid
(signals or not: they are printed); 1: INVALID.`,
		Example: `  epiledger supply check 01/10614141073464/21/A1 --node http://127.0.0.1:7070
  epiledger supply check urn:epc:id:sgtin:0614141.107346.A1 --node http://127.0.0.1:7070 --save a1.json
  epiledger supply check --file a1.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, g, err := af.read(e, args, "CODE", func(ctx context.Context, cl *client.Client, arg string) (any, error) {
				it, err := parseCode(arg)
				if err != nil {
					return nil, fmt.Errorf("CODE: %w", err)
				}
				return cl.Supply(ctx, it) // fetchAnswer adds the hint a node error needs
			})
			if err != nil {
				return err
			}
			var sp api.SupplyProof
			if err := decodeAnswer(raw, &sp); err != nil || sp.Provenance == nil {
				return e.invalid(fmt.Errorf("not a supply provenance: %v", err))
			}
			return e.checkSupply(&sp, g)
		},
	}
	af.add(c)
	return c
}

func (e *env) supplyNeedCmd() *cobra.Command {
	var nodeURL, keyFile, gtin, urgency string
	var units int
	var fever bool
	c := &cobra.Command{
		Use:   "need --node URL --key HOSPITAL.key --gtin GTIN --units N --urgency critical|urgent|normal [--fever-clinic]",
		Short: "Declare a hospital's need of a product (a later one replaces it; --units 0 withdraws it)",
		Long: `need signs the hospital's declared need of a product: its GTIN, the units
needed, how urgent, and whether the hospital is a designated fever clinic.
Charities' allocations (their shipments to hospitals) are weighed against
the needs: "epiledger supply needs" shows both, and the flags on
allocations that go against them.`,
		Example: `  epiledger supply need --node http://127.0.0.1:7070 --key union.key --gtin 10614141073464 --units 100000 --urgency critical --fever-clinic`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if units < 0 || units > ledger.MaxSupplyQty {
				return fmt.Errorf("--units: 0 to %d", ledger.MaxSupplyQty)
			}
			b := &ledger.SupplyNeed{GTIN: gtin, Units: uint32(units), Urgency: urgency, FeverClinic: fever, Time: time.Now().Unix()}
			res, err := e.signAndSubmit(nodeURL, keyFile, b)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "need of %d unit(s) of %s (%s) declared: tx %s at height %d\n", units, gtin, urgency, res.Tx, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the hospital's key file (required)")
	c.Flags().StringVar(&gtin, "gtin", "", "the product's GTIN-14 (required)")
	c.Flags().IntVar(&units, "units", 0, "the units needed (0 withdraws the need)")
	c.Flags().StringVar(&urgency, "urgency", "urgent", "critical, urgent or normal")
	c.Flags().BoolVar(&fever, "fever-clinic", false, "the hospital is a designated fever clinic")
	for _, n := range []string{"node", "key", "gtin"} {
		c.MarkFlagRequired(n)
	}
	return c
}

func (e *env) supplyNeedsCmd() *cobra.Command {
	var nodeURL, gtin string
	var asJSON bool
	c := &cobra.Command{
		Use:   "needs --node URL --gtin GTIN",
		Short: "A product's needs against charities' allocations, and the flags on allocations that go against them (anyone)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !ledger.ValidGTIN(gtin) {
				return fmt.Errorf("--gtin %q: a GTIN-14: 14 digits, the last the GS1 check digit", gtin)
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			ns, err := client.New(nodeURL, "").Needs(ctx, gtin)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			if asJSON {
				return e.printJSON(ns)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "HOSPITAL\tFEVER CLINIC\tURGENCY\tNEEDED\tALLOCATED")
			for _, n := range ns.Needs {
				fc, urg := "no", n.Urgency
				if n.FeverClinic {
					fc = "yes"
				}
				if n.Units == 0 {
					urg = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", partyText(n.Hospital), fc, urg, n.Units, n.Allocated)
			}
			tw.Flush()
			for _, f := range ns.Flags {
				fmt.Fprintf(e.stdout, "FLAG %s: %s (shipment %s, block %d)\n", f.Kind, f.Detail, f.Shipment[:16], f.Height)
			}
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "ask the node at this URL (required)")
	c.Flags().StringVar(&gtin, "gtin", "", "the product's GTIN-14 (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	c.MarkFlagRequired("node")
	c.MarkFlagRequired("gtin")
	return c
}
