package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/supply"
)

// checkSupply checks an item's provenance with nothing but the answer:
// every step proven in its block, naming the item; the steps replayed
// give what the answer says of the item and its signals.
func (e *env) checkSupply(sp *api.SupplyProof, g *consortium.Genesis) error {
	it, err := ledger.ParseCode(sp.Code)
	if err != nil {
		return e.invalid(fmt.Errorf("code: %v", err))
	}
	if len(sp.Proofs) != len(sp.Events) {
		return e.invalid(fmt.Errorf("%d steps, %d proofs", len(sp.Events), len(sp.Proofs)))
	}
	var txs []*ledger.Tx
	for i, ev := range sp.Events {
		_, tx, err := e.provenTx("step", i+1, sp.Proofs[i], ev.Tx, ev.Height, g)
		if err != nil {
			return err
		}
		if err := sameStep(&ev, tx, it.Code()); err != nil {
			return e.invalid(fmt.Errorf("step %d: %w", i+1, err))
		}
		if i > 0 && ev.Height < sp.Events[i-1].Height {
			return e.invalid(fmt.Errorf("step %d: out of chain order", i+1))
		}
		txs = append(txs, tx)
	}
	d, err := supply.Replay(it.Code(), txs)
	if err != nil {
		return e.invalid(err)
	}
	for i, st := range d.Steps {
		if ev := &sp.Events[i]; uint64(ev.Units) != st.Units || ev.Carried != st.Carried {
			return e.invalid(fmt.Errorf("step %d: the answer says %d unit(s) (carried %v); its transactions, %d (%v)", i+1, ev.Units, ev.Carried, st.Units, st.Carried))
		}
	}
	if sp.Truncated {
		// The first steps only: proven, but where the item is now, and
		// the later signals, do not follow from them.
		fmt.Fprintf(e.stdout, "ok: %d step(s) proven in their blocks, the first of more\n", len(sp.Events))
		return e.invalid(fmt.Errorf("%w: the item was named by more steps than the answer lists; its state is not derived", errNotChecked))
	}
	key := func(k [32]byte) string { return hex.EncodeToString(k[:]) }
	switch {
	case d.Commissioned != sp.Commissioned:
		return e.invalid(fmt.Errorf("the answer says commissioned %v; its steps, %v", sp.Commissioned, d.Commissioned))
	case d.Commissioned && (sp.Maker == nil || sp.Maker.Key != key(d.Maker) || sp.Units != d.Units || sp.Expiry != d.Expiry):
		return e.invalid(fmt.Errorf("the answer's maker, units or expiry are not its steps'"))
	case d.Instance && sp.Status != d.Status:
		return e.invalid(fmt.Errorf("the answer says %s; its steps, %s", sp.Status, d.Status))
	case d.Instance && (sp.InTransit != "") != (d.Transit != ledger.Hash{}) || d.Transit != (ledger.Hash{}) && sp.InTransit != d.Transit.String():
		return e.invalid(fmt.Errorf("the answer's shipment in transit is not its steps'"))
	}
	held := map[string]uint64{}
	for k, n := range d.Loose() {
		held[key(k)] = n
	}
	var within []string
	if d.In != "" {
		within = d.Packed[d.In].Above
	}
	var contents, packed []report.ItemUnits
	for _, c := range slices.Sorted(maps.Keys(d.Contents)) {
		contents = append(contents, report.ItemUnits{Code: c, Units: uint32(d.Contents[c])})
	}
	if !d.Instance {
		units := d.PackedUnits()
		for _, c := range slices.Sorted(maps.Keys(units)) {
			packed = append(packed, report.ItemUnits{Code: c, Units: uint32(units[c])})
		}
	}
	switch {
	case sp.Inside != d.In || !slices.Equal(sp.Within, within):
		return e.invalid(fmt.Errorf("the answer's container is not its steps'"))
	case !slices.Equal(sp.ContentUnits, contents) || len(sp.Contents) != len(contents):
		return e.invalid(fmt.Errorf("the answer's contents are not its steps'"))
	case !slices.Equal(sp.Packed, packed):
		return e.invalid(fmt.Errorf("the answer's units in containers are not its steps'"))
	}
	for i, c := range contents {
		if sp.Contents[i] != c.Code {
			return e.invalid(fmt.Errorf("the answer's contents are not its steps'"))
		}
	}
	if len(held) != len(sp.Held) {
		return e.invalid(fmt.Errorf("the answer names %d holders; its steps, %d", len(sp.Held), len(held)))
	}
	for _, h := range sp.Held {
		if held[h.Party.Key] != h.Units {
			return e.invalid(fmt.Errorf("the answer says %s holds %d; its steps, %d", h.Party.Key[:16], h.Units, held[h.Party.Key]))
		}
	}
	if len(d.Signals) != len(sp.Signals) {
		return e.invalid(fmt.Errorf("the answer names %d signals; its steps raise %d", len(sp.Signals), len(d.Signals)))
	}
	for i, s := range d.Signals {
		if sp.Signals[i].Kind != s.Kind || sp.Signals[i].Tx != s.Tx.String() {
			return e.invalid(fmt.Errorf("signal %d: the answer says %s by %s; its steps, %s by %s", i+1, sp.Signals[i].Kind, sp.Signals[i].Tx[:16], s.Kind, s.Tx.String()[:16]))
		}
	}
	// Valid: the provenance, as people read it.
	if !sp.Commissioned {
		fmt.Fprintf(e.stdout, "%s: NO MANUFACTURER COMMISSIONED IT\n", sp.Code)
	} else {
		fmt.Fprintf(e.stdout, "%s: made by %s (%s), %d unit(s), expiry %s", sp.Code, sp.Maker.Name, sp.Maker.Key[:16], sp.Units, sp.Expiry)
		if sp.Standard != "" {
			fmt.Fprintf(e.stdout, ", %s", sp.Standard)
		}
		if sp.Certificate != "" {
			fmt.Fprintf(e.stdout, ", certificate %s", sp.Certificate)
		}
		fmt.Fprintln(e.stdout)
	}
	for i, ev := range sp.Events {
		line := fmt.Sprintf("  %d. %s  %-10s by %s", i+1, ev.Time, ev.Step, partyText(ev.By))
		if ev.Place != "" {
			line += " at " + ev.Place
		}
		if ev.To != nil {
			line += " to " + partyText(*ev.To)
		}
		with := map[bool]string{true: ", packing ", false: ", made from "}[ev.Step == ledger.StepPack]
		for j, in := range ev.Inputs {
			line += map[bool]string{true: with, false: " and "}[j == 0] + fmt.Sprintf("%d*%s", in.Units, in.Code)
		}
		what := fmt.Sprintf("%d unit(s)", ev.Units)
		if ev.Carried {
			what = "with its container"
		}
		fmt.Fprintf(e.stdout, "%s, %s  (tx %s, block %d)\n", line, what, ev.Tx[:16], ev.Height)
	}
	switch {
	case d.Instance && sp.InTransit != "":
		fmt.Fprintf(e.stdout, "now: in transit (shipment %s)\n", sp.InTransit[:16])
	case d.Instance && sp.Status != "active":
		fmt.Fprintf(e.stdout, "now: %s\n", sp.Status)
	}
	if sp.Inside != "" {
		in := sp.Inside
		for _, c := range sp.Within {
			in += ", in " + c
		}
		fmt.Fprintf(e.stdout, "now: packed in %s (it is where that is: supply check %s)\n", in, sp.Inside)
	}
	for _, p := range sp.Packed {
		fmt.Fprintf(e.stdout, "now: %d unit(s) packed in %s (supply check %s)\n", p.Units, p.Code, p.Code)
	}
	for _, h := range sp.Held {
		fmt.Fprintf(e.stdout, "now: %d unit(s) held by %s\n", h.Units, partyText(h.Party))
	}
	if len(sp.Contents) > 0 {
		var what []string
		for _, c := range sp.ContentUnits {
			if len(c.Code) > 21 && c.Code[17:21] == "/10/" { // 01/{gtin}/10/{lot}
				what = append(what, fmt.Sprintf("%d*%s", c.Units, c.Code))
			} else {
				what = append(what, c.Code)
			}
		}
		fmt.Fprintf(e.stdout, "now: holds %d item(s): %s\n", len(sp.Contents), strings.Join(what, ", "))
	}
	for _, s := range sp.Signals {
		fmt.Fprintf(e.stdout, "SIGNAL %s: %s (by %s, tx %s, block %d)\n", s.Kind, s.Detail, partyText(s.By), s.Tx[:16], s.Height)
	}
	fmt.Fprintf(e.stdout, "ok: %d step(s) proven in their blocks; the provenance and its %d signal(s) follow from them; compare each block with a header you trust\n",
		len(sp.Events), len(sp.Signals))
	return nil
}

// sameStep checks that the answer's view of a step says what its
// transaction says: the step, its signer, receiver and place, and what a
// transformation that made item code used up.
func sameStep(v *report.SupplyEventView, tx *ledger.Tx, code string) error {
	ev, ok := tx.Body.(*ledger.SupplyEvent)
	if !ok {
		return fmt.Errorf("a %s, not a supply step", tx.Body.Kind())
	}
	var inputs []report.ItemUnits
	if slices.ContainsFunc(ev.Outputs, func(o ledger.SupplyItem) bool { return o.Code() == code }) {
		for _, in := range ev.Items {
			inputs = append(inputs, report.ItemUnits{Code: in.Code(), Units: in.Qty})
		}
	}
	place := ""
	if ev.Placed {
		place = ev.Place.String()
	}
	to := ""
	if ev.Step == ledger.StepShip {
		to = hex.EncodeToString(ev.To[:])
	}
	switch {
	case v.Step != ev.Step || v.By.Key != hex.EncodeToString(tx.Sigs[0].Key[:]):
		return fmt.Errorf("the answer says %s by %.16s; its transaction, %s by %x", v.Step, v.By.Key, ev.Step, tx.Sigs[0].Key[:8])
	case (v.To == nil) != (to == "") || v.To != nil && v.To.Key != to:
		return fmt.Errorf("the answer's receiver is not its transaction's")
	case v.Place != place:
		return fmt.Errorf("the answer says at %q; its transaction, %q", v.Place, place)
	case !slices.Equal(v.Inputs, inputs):
		return fmt.Errorf("the answer's inputs are not its transaction's")
	}
	return nil
}

func partyText(p report.Party) string {
	if p.Name != "" {
		return p.Name
	}
	return p.Key[:16]
}

// answerFlags are a checking command's flags: ask a node (--node, and
// --save to keep its answer) or read a saved answer (--file), then check
// it with --genesis for a consortium's proofs.
type answerFlags struct{ node, file, save, genesis string }

func (f *answerFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.node, "node", "", "ask the node at this URL")
	c.Flags().StringVar(&f.file, "file", "", "check a saved answer instead")
	c.Flags().StringVar(&f.save, "save", "", "also write the node's answer to this file")
	c.Flags().StringVar(&f.genesis, "genesis", "", "the consortium's CometBFT genesis.json, for a consortium chain's proofs")
}

// read returns the answer, from --file, or from the node by ask (given
// the one argument, what): saved to --save; and the consortium genesis.
func (f *answerFlags) read(e *env, args []string, what string, ask func(ctx context.Context, cl *client.Client, arg string) (any, error)) ([]byte, *consortium.Genesis, error) {
	var raw []byte
	switch {
	case f.file != "" && len(args) == 0:
		b, err := os.ReadFile(f.file)
		if err != nil {
			return nil, nil, err
		}
		raw = b
	case f.file == "" && len(args) == 1 && f.node != "":
		var err error
		if raw, err = e.fetchAnswer(f.node, f.save, func(ctx context.Context, cl *client.Client) (any, error) { return ask(ctx, cl, args[0]) }); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("give %s and --node, or --file", what)
	}
	g, err := readConsortiumGenesis(f.genesis)
	return raw, g, err
}
