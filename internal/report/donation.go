package report

import (
	"encoding/hex"
	"fmt"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// Donations in the open (issue 17, docs/SUPPLY.md): a donation's whole
// path, which its donor (and anyone) follows by its receipt id, and the
// public totals per charity, hospital and product. Donors appear under a
// pseudonym unless they gave a name; nothing else personal is recorded.

// GoodsView is what a donation (or a total) counts of one product, in
// units.
type GoodsView struct {
	GTIN      string `json:"gtin"`
	Pledged   uint64 `json:"pledged"`
	Received  uint64 `json:"received"`  // given as goods, received by the charity
	Bought    uint64 `json:"bought"`    // bought with the money
	Allocated uint64 `json:"allocated"` // shipped to hospitals
	Delivered uint64 `json:"delivered"` // received by the hospitals
}

// ItemUnits is units of one item code.
type ItemUnits struct {
	Code  string `json:"code"`
	Units uint32 `json:"units"`
}

// DonationStepView is one step of a donation's path.
type DonationStepView struct {
	Tx       string `json:"tx"`
	Step     string `json:"step"` // pledge, receive, purchase, allocate, delivered
	Height   uint64 `json:"height"`
	Time     string `json:"time"` // the step's own
	By       Party  `json:"by"`
	Amount   uint64 `json:"amount,omitempty"` // fen
	Shipment string `json:"shipment,omitempty"`
}

// ShipmentView is a shipment a donation's steps name: who shipped what to
// whom, and its receipt.
type ShipmentView struct {
	Tx      string      `json:"tx"`
	Height  uint64      `json:"height"`
	From    Party       `json:"from"`
	To      Party       `json:"to"`
	Items   []ItemUnits `json:"items"`
	Receipt string      `json:"receipt,omitempty"` // the receipt that took the last of it (empty: in transit)
	// ReceiptHeight is the receipt's block.
	ReceiptHeight uint64 `json:"receipt_height,omitempty"`
	// Receipts are all its receipts, in order (a short delivery, then the
	// rest), the last the Receipt.
	Receipts []TxAt `json:"receipts"`
}

// TxAt is a transaction and its block.
type TxAt struct {
	Tx     string `json:"tx"`
	Height uint64 `json:"height"`
}

// Donation is GET /v1/public/donations/{id}'s answer: a donation's
// path from pledge to delivery, its figures, and (the API attaches them)
// each transaction's proof: Txs lists them, the pledge first, then the
// steps in order, then each shipment and its receipts.
type Donation struct {
	ID       string `json:"id"`
	Donor    string `json:"donor"` // the name the donor gave, or their pseudonym
	Named    bool   `json:"named"`
	DonorKey string `json:"donor_key"`
	Charity  Party  `json:"charity"`
	Purpose  string `json:"purpose,omitempty"`
	Time     string `json:"time"`
	Height   uint64 `json:"height"`
	// Money, in fen (0.01 yuan).
	Pledged   uint64             `json:"pledged"`
	Received  uint64             `json:"received"`
	Spent     uint64             `json:"spent"`
	Balance   uint64             `json:"balance"`
	Goods     []GoodsView        `json:"goods"`
	InTransit int                `json:"in_transit"` // allocations not yet received
	Path      []DonationStepView `json:"path"`
	Shipments []ShipmentView     `json:"shipments"`
	Txs       []string           `json:"txs"`
	Proofs    []*blocks.Proof    `json:"-"`
}

// DonorPseudonym is how a donor who gave no name appears: their key's
// first eight bytes, the same on every gift made with that key.
func DonorPseudonym(key [32]byte) string { return "donor-" + hex.EncodeToString(key[:8]) }

func goodsView(gs []state.DonatedGoods) []GoodsView {
	out := []GoodsView{}
	for _, g := range gs {
		out = append(out, GoodsView{GTIN: g.GTIN, Pledged: g.Pledged, Received: g.Received, Bought: g.Bought, Allocated: g.Allocated, Delivered: g.Delivered})
	}
	return out
}

// Donation returns donation id's path, or nil if no chain holds it.
func (b *Builder) Donation(id ledger.Hash) (*Donation, error) {
	d, ok, err := state.DonationOf(b.N.DB, id)
	if err != nil || !ok {
		return nil, err
	}
	out := &Donation{ID: id.String(), Donor: d.Name, Named: d.Name != "", DonorKey: hex.EncodeToString(d.Donor[:]), Charity: b.party(d.Charity),
		Purpose: d.Purpose, Height: d.Height, Pledged: d.Pledged, Received: d.Received, Spent: d.Spent, Balance: d.Received - d.Spent,
		Goods: goodsView(d.Goods), InTransit: int(d.Pending), Path: []DonationStepView{}, Shipments: []ShipmentView{}, Txs: []string{}}
	if !out.Named {
		out.Donor = DonorPseudonym(d.Donor)
	}
	pr := b.prover()
	prove := func(id ledger.Hash) (*ledger.Tx, *blocks.Proof, error) {
		p, err := pr.Prove(id)
		if err != nil {
			return nil, nil, err
		}
		tx, err := ledger.DecodeTx(p.Tx)
		if err != nil {
			return nil, nil, err
		}
		out.Txs, out.Proofs = append(out.Txs, id.String()), append(out.Proofs, p)
		return tx, p, nil
	}
	tx, p, err := prove(id)
	if err != nil {
		return nil, err
	}
	pl := tx.Body.(*ledger.DonationPledge)
	out.Time = b.ts(pl.Time)
	out.Path = append(out.Path, DonationStepView{Tx: id.String(), Step: "pledge", Height: p.Header.Height, Time: out.Time, By: b.party(d.Charity), Amount: pl.Amount})
	var ships []ledger.Hash
	for _, s := range d.Steps {
		tx, p, err := prove(s)
		if err != nil {
			return nil, err
		}
		v := DonationStepView{Tx: s.String(), Height: p.Header.Height, By: b.party(tx.Sigs[0].Key)}
		switch st := tx.Body.(type) {
		case *ledger.DonationStep:
			v.Step, v.Time, v.Amount = st.Step, b.ts(st.Time), st.Amount
			if st.Shipment != (ledger.Hash{}) {
				v.Shipment = st.Shipment.String()
				ships = append(ships, st.Shipment)
			}
		case *ledger.SupplyEvent:
			v.Step, v.Time = "delivered", b.ts(st.Time)
		}
		out.Path = append(out.Path, v)
	}
	for _, s := range ships {
		o, ok, err := state.OfferOf(b.N.DB, s)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: donation %s names a shipment the store does not hold", store.ErrCorrupt, id.String()[:16])
		}
		_, p, err := prove(s)
		if err != nil {
			return nil, err
		}
		v := ShipmentView{Tx: s.String(), Height: p.Header.Height, From: b.party(o.From), To: b.party(o.To), Items: []ItemUnits{}, Receipts: []TxAt{}}
		for _, it := range o.Items {
			v.Items = append(v.Items, ItemUnits{Code: it.Code(), Units: it.Qty})
		}
		for _, r := range o.Receipts {
			_, rp, err := prove(r)
			if err != nil {
				return nil, err
			}
			v.Receipts = append(v.Receipts, TxAt{Tx: r.String(), Height: rp.Header.Height})
			if r == o.Receipt {
				v.Receipt, v.ReceiptHeight = r.String(), rp.Header.Height
			}
		}
		out.Shipments = append(out.Shipments, v)
	}
	return out, nil
}

// MaxListedDonations bounds the donations a totals answer lists.
const MaxListedDonations = 256

// Totals is GET /v1/public/donations's answer: a charity's, a hospital's
// or a product's totals, and the donations they count (each followed,
// with its proofs, at /v1/public/donations/{id}).
type Totals struct {
	Scope     string      `json:"scope"` // charity, hospital or product
	Of        string      `json:"of"`    // the key, or the GTIN
	Party     *Party      `json:"party,omitempty"`
	Donations uint64      `json:"donations"` // a hospital's: its allocations
	Pledged   uint64      `json:"pledged"`   // fen, a charity's
	Received  uint64      `json:"received"`
	Spent     uint64      `json:"spent"`
	Goods     []GoodsView `json:"goods"`
	IDs       []string    `json:"ids"`
	// Truncated says more donations count than IDs lists.
	Truncated bool `json:"truncated,omitempty"`
}

// Totals returns the totals of who in scope (store.ScopeCharity,
// ScopeHospital or ScopeProduct).
func (b *Builder) Totals(scope byte, who []byte) (*Totals, error) {
	t, err := state.TotalsOf(b.N.DB, scope, who)
	if err != nil {
		return nil, err
	}
	out := &Totals{Donations: t.Donations, Pledged: t.Pledged, Received: t.Received, Spent: t.Spent, Goods: goodsView(t.Goods), IDs: []string{}}
	switch scope {
	case store.ScopeProduct:
		out.Scope, out.Of = "product", string(who)
	default:
		out.Scope, out.Of = "charity", hex.EncodeToString(who)
		if scope == store.ScopeHospital {
			out.Scope = "hospital"
		}
		p := b.party([32]byte(who))
		out.Party = &p
	}
	ids, more, err := state.DonationsUnder(b.N.DB, scope, who, MaxListedDonations)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		out.IDs = append(out.IDs, id.String())
	}
	out.Truncated = more
	return out, nil
}
