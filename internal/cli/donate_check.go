package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/supply"
)

// checkDonation checks a donation with nothing but the answer: every
// transaction proven in its block; the pledge, the steps in order and
// the shipments they name, replayed, give the answer's figures.
func (e *env) checkDonation(dp *api.DonationProof, g *consortium.Genesis) (*supply.Donation, error) {
	if len(dp.Proofs) != len(dp.Txs) || len(dp.Txs) == 0 || dp.Txs[0] != dp.ID {
		return nil, e.invalid(fmt.Errorf("%d transactions, %d proofs, the pledge first", len(dp.Txs), len(dp.Proofs)))
	}
	byID := map[string]*ledger.Tx{}
	height := map[string]uint64{}
	for i := range dp.Proofs {
		raw, err := json.Marshal(dp.Proofs[i])
		if err != nil {
			return nil, err
		}
		p, r, err := checkTxProof(raw, g)
		if err != nil {
			return nil, e.invalid(fmt.Errorf("transaction %d: %w", i+1, err))
		}
		tx, err := ledger.DecodeTx(p.Tx)
		if err != nil {
			return nil, e.invalid(fmt.Errorf("transaction %d: %w", i+1, err))
		}
		if p.TxID.String() != dp.Txs[i] {
			return nil, e.invalid(fmt.Errorf("transaction %d: the proof is of %s, the answer names %s", i+1, p.TxID, dp.Txs[i]))
		}
		byID[dp.Txs[i]], height[dp.Txs[i]] = tx, p.Header.Height
		if r != nil {
			fmt.Fprintf(e.stdout, "ok: consortium %s signed block %d (%d of %d voting power)\n", r.ChainID, r.Height+1, r.Signed, r.Total)
		}
	}
	if len(dp.Path) == 0 || dp.Path[0].Tx != dp.ID || dp.Path[0].Step != "pledge" {
		return nil, e.invalid(fmt.Errorf("the path does not begin with the pledge"))
	}
	var steps []*ledger.Tx
	for i, s := range dp.Path {
		tx, ok := byID[s.Tx]
		switch {
		case !ok:
			return nil, e.invalid(fmt.Errorf("step %d (%s): its transaction is not proven", i+1, s.Step))
		case height[s.Tx] != s.Height:
			return nil, e.invalid(fmt.Errorf("step %d: the proof puts it in block %d, the answer in %d", i+1, height[s.Tx], s.Height))
		case i > 0 && s.Height < dp.Path[i-1].Height:
			return nil, e.invalid(fmt.Errorf("step %d: out of chain order", i+1))
		}
		if i == 0 {
			continue
		}
		label := "delivered"
		if b, ok := tx.Body.(*ledger.DonationStep); ok {
			label = b.Step
		}
		if label != s.Step {
			return nil, e.invalid(fmt.Errorf("step %d: the answer says %s, its transaction %s", i+1, s.Step, label))
		}
		steps = append(steps, tx)
	}
	ships := map[ledger.Hash]supply.Shipment{}
	for _, sv := range dp.Shipments {
		tx, ok := byID[sv.Tx]
		if !ok || height[sv.Tx] != sv.Height {
			return nil, e.invalid(fmt.Errorf("shipment %.16s: not proven in the block the answer names", sv.Tx))
		}
		s := supply.Shipment{Ship: tx}
		for i, r := range sv.Receipts {
			rtx, ok := byID[r.Tx]
			if !ok || height[r.Tx] != r.Height || i > 0 && r.Height < sv.Receipts[i-1].Height {
				return nil, e.invalid(fmt.Errorf("shipment %.16s: its receipt %d is not proven in the block the answer names, in order", sv.Tx, i+1))
			}
			s.Receipts = append(s.Receipts, rtx)
		}
		// The last receipt took the last of it, or none did.
		if _, final, err := s.Received(); err != nil {
			return nil, e.invalid(fmt.Errorf("shipment %.16s: %w", sv.Tx, err))
		} else if (final == nil) != (sv.Receipt == "") || final != nil && (final.ID().String() != sv.Receipt || height[sv.Receipt] != sv.ReceiptHeight) {
			return nil, e.invalid(fmt.Errorf("shipment %.16s: the answer's last receipt is not what its receipts say", sv.Tx))
		}
		ev, ok := tx.Body.(*ledger.SupplyEvent)
		if !ok || ev.Step != ledger.StepShip || len(ev.Items) != len(sv.Items) || sv.From.Key != hex.EncodeToString(tx.Sigs[0].Key[:]) ||
			sv.To.Key != hex.EncodeToString(ev.To[:]) {
			return nil, e.invalid(fmt.Errorf("shipment %.16s: the answer's giver, receiver or items are not its transaction's", sv.Tx))
		}
		for i, it := range ev.Items {
			if sv.Items[i].Code != it.Code() || sv.Items[i].Units != it.Qty {
				return nil, e.invalid(fmt.Errorf("shipment %.16s: the answer's items are not its transaction's", sv.Tx))
			}
		}
		ships[tx.ID()] = s
	}
	d, err := supply.ReplayDonation(byID[dp.ID], steps, ships)
	if err != nil {
		return nil, e.invalid(err)
	}
	donor := d.Name
	if donor == "" {
		donor = report.DonorPseudonym(d.Donor)
	}
	var goods []report.GoodsView
	for _, g := range d.Goods {
		goods = append(goods, report.GoodsView{GTIN: g.GTIN, Pledged: g.Pledged, Received: g.Received, Bought: g.Bought, Allocated: g.Allocated, Delivered: g.Delivered})
	}
	switch {
	case dp.DonorKey != hex.EncodeToString(d.Donor[:]) || dp.Donor != donor || dp.Named != (d.Name != ""):
		return nil, e.invalid(fmt.Errorf("the answer's donor is not the pledge's"))
	case dp.Charity.Key != hex.EncodeToString(d.Charity[:]) || dp.Purpose != d.Purpose:
		return nil, e.invalid(fmt.Errorf("the answer's charity or purpose is not the pledge's"))
	case dp.Pledged != d.Pledged || dp.Received != d.Received || dp.Spent != d.Spent || dp.Balance != d.Received-d.Spent:
		return nil, e.invalid(fmt.Errorf("the answer says %d pledged, %d received, %d spent; its transactions, %d, %d, %d",
			dp.Pledged, dp.Received, dp.Spent, d.Pledged, d.Received, d.Spent))
	case dp.InTransit != d.Pending:
		return nil, e.invalid(fmt.Errorf("the answer says %d allocation(s) in transit; its transactions, %d", dp.InTransit, d.Pending))
	case !slices.Equal(dp.Goods, goods) && (len(dp.Goods) != 0 || len(goods) != 0):
		return nil, e.invalid(fmt.Errorf("the answer's goods are not what its transactions count"))
	}
	return d, nil
}

// printDonation prints a checked donation's path, as people read it.
func (e *env) printDonation(dp *api.DonationProof) {
	fmt.Fprintf(e.stdout, "donation %s: from %s to %s", dp.ID[:16], dp.Donor, partyText(dp.Charity))
	if dp.Purpose != "" {
		fmt.Fprintf(e.stdout, ", for %q", dp.Purpose)
	}
	fmt.Fprintln(e.stdout)
	if dp.Pledged > 0 {
		fmt.Fprintf(e.stdout, "money: %s yuan pledged, %s received, %s spent, %s left\n", yuan(dp.Pledged), yuan(dp.Received), yuan(dp.Spent), yuan(dp.Balance))
	}
	printGoods(e, dp.Goods)
	ships := map[string]report.ShipmentView{}
	for _, s := range dp.Shipments {
		ships[s.Tx] = s
	}
	for i, s := range dp.Path {
		line := fmt.Sprintf("  %d. %s  %-9s by %s", i+1, s.Time, s.Step, partyText(s.By))
		if s.Amount > 0 {
			line += ", " + yuan(s.Amount) + " yuan"
		}
		if sv, ok := ships[s.Shipment]; ok {
			units := uint64(0)
			for _, it := range sv.Items {
				units += uint64(it.Units)
			}
			line += fmt.Sprintf(", shipment %s: %d unit(s) from %s to %s", s.Shipment[:16], units, partyText(sv.From), partyText(sv.To))
			if sv.Receipt == "" {
				line += " (in transit)"
			}
		}
		fmt.Fprintf(e.stdout, "%s  (tx %s, block %d)\n", line, s.Tx[:16], s.Height)
	}
	fmt.Fprintf(e.stdout, "ok: %d transaction(s) proven in their blocks; the figures follow from them; compare each block with a header you trust\n", len(dp.Txs))
}

// checkTotals follows each donation the totals count, proven, and adds
// them up: the totals must be their sum.
func (e *env) checkTotals(ctx context.Context, cl *client.Client, t *report.Totals) error {
	if t.Truncated {
		return e.invalid(fmt.Errorf("%w: more donations count than the answer lists (%d)", errNotChecked, len(t.IDs)))
	}
	var sum report.Totals
	goods := map[string]*report.GoodsView{}
	line := func(gtin string) *report.GoodsView {
		if goods[gtin] == nil {
			goods[gtin] = &report.GoodsView{GTIN: gtin}
		}
		return goods[gtin]
	}
	for _, s := range t.IDs {
		id, err := ledger.ParseHash(s)
		if err != nil {
			return e.invalid(fmt.Errorf("donation %q: %w", s, err))
		}
		dp, err := cl.Donation(ctx, id)
		if err != nil {
			return err
		}
		if dp.Donation == nil || dp.ID != s {
			return e.invalid(fmt.Errorf("donation %.16s: the node answered another", s))
		}
		d, err := e.checkDonation(dp, nil)
		if err != nil {
			return err
		}
		switch t.Scope {
		case "charity":
			if dp.Charity.Key != t.Of {
				return e.invalid(fmt.Errorf("donation %.16s is another charity's", s))
			}
			sum.Donations++
			sum.Pledged, sum.Received, sum.Spent = sum.Pledged+d.Pledged, sum.Received+d.Received, sum.Spent+d.Spent
			for _, g := range d.Goods {
				addGoods(line(g.GTIN), g)
			}
		case "product":
			for _, g := range d.Goods {
				if g.GTIN == t.Of {
					sum.Donations++
					addGoods(line(g.GTIN), g)
				}
			}
		case "hospital":
			for _, st := range dp.Path {
				for _, sv := range dp.Shipments {
					if st.Step != ledger.DonationAllocate || sv.Tx != st.Shipment || sv.To.Key != t.Of {
						continue
					}
					sum.Donations++
					for _, it := range sv.Items {
						code, _ := ledger.ParseCode(it.Code)
						l := line(code.GTIN)
						l.Allocated += uint64(it.Units)
						if sv.Receipt != "" {
							l.Delivered += uint64(it.Units)
						}
					}
				}
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(goods)) {
		sum.Goods = append(sum.Goods, *goods[k])
	}
	if sum.Donations != t.Donations || sum.Pledged != t.Pledged || sum.Received != t.Received || sum.Spent != t.Spent ||
		!slices.Equal(sum.Goods, t.Goods) && (len(sum.Goods) != 0 || len(t.Goods) != 0) {
		return e.invalid(fmt.Errorf("the totals are not the sum of the %d donation(s) they count", len(t.IDs)))
	}
	fmt.Fprintf(e.stdout, "ok: the totals are the sum of %d donation(s), each proven in its blocks\n", len(t.IDs))
	return nil
}

func addGoods(l *report.GoodsView, g supply.GoodsCount) {
	l.Pledged += g.Pledged
	l.Received += g.Received
	l.Bought += g.Bought
	l.Allocated += g.Allocated
	l.Delivered += g.Delivered
}
