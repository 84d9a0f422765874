package report

import (
	"cmp"
	"encoding/hex"
	"maps"
	"slices"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/supply"
)

// Medical supplies in the open (issue 17, docs/SUPPLY.md): an item's
// provenance, which anyone may read. Custodians are organisations, named
// as the administrator granted their keys; nothing personal.

// Party is a custodian: its key and the name its role was granted under.
type Party struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
}

// SupplyEventView is one step that named the item.
type SupplyEventView struct {
	Tx     string `json:"tx"`
	Step   string `json:"step"`
	Height uint64 `json:"height"`
	Time   string `json:"time"` // the event's
	By     Party  `json:"by"`
	To     *Party `json:"to,omitempty"`    // a shipment's receiver
	Offer  string `json:"offer,omitempty"` // the shipment a receipt takes, or a void takes back from
	Units  uint32 `json:"units"`
	// Carried says the step was of a container the item was in, not of
	// the item: it went where the container went.
	Carried bool   `json:"carried,omitempty"`
	Place   string `json:"place,omitempty"` // where, "LAT,LON" to 0.01 degree
	// Inputs are what a transformation that made the item used up, or
	// what a packing put into it, a container.
	Inputs []ItemUnits `json:"inputs,omitempty"`
}

// SignalView is a counterfeit signal raised on the item.
type SignalView struct {
	Kind   string `json:"kind"`
	Tx     string `json:"tx"`
	Height uint64 `json:"height"`
	By     Party  `json:"by"`
	Detail string `json:"detail"`
}

// Holding is the units of the item one custodian holds.
type Holding struct {
	Party Party  `json:"party"`
	Units uint64 `json:"units"`
}

// Provenance is an item as GET /v1/public/supply/{code} shows it: what
// commissioning said, where it is now, every step that named it, and
// the signals against it.
type Provenance struct {
	Code         string    `json:"code"`
	Commissioned bool      `json:"commissioned"`
	GTIN         string    `json:"gtin"`
	Serial       string    `json:"serial,omitempty"`
	Lot          string    `json:"lot,omitempty"`
	Expiry       string    `json:"expiry,omitempty"`
	Standard     string    `json:"standard,omitempty"`
	Certificate  string    `json:"certificate,omitempty"`
	Maker        *Party    `json:"maker,omitempty"`
	Units        uint64    `json:"units"`            // commissioned
	Status       string    `json:"status,omitempty"` // an instance's
	InTransit    string    `json:"in_transit,omitempty"`
	Held         []Holding `json:"held"`
	// Inside is the container an instance is packed in: it is where the
	// container is; Within are the containers that one is in, innermost
	// first (a box in a case on a pallet). Packed are the units of a lot
	// in containers, by the container that holds them. Contents is what a
	// container holds directly, ContentUnits how many units of each.
	Inside       string            `json:"inside,omitempty"`
	Within       []string          `json:"within,omitempty"`
	Packed       []ItemUnits       `json:"packed,omitempty"`
	Contents     []string          `json:"contents,omitempty"`
	ContentUnits []ItemUnits       `json:"content_units,omitempty"`
	Events       []SupplyEventView `json:"events"`
	// Truncated says the item was named by more steps than Events lists
	// (MaxProvenance): where it is now is then not derivable from them.
	Truncated bool         `json:"truncated,omitempty"`
	Signals   []SignalView `json:"signals"`
	// Proofs are the events' inclusion proofs, for the API to attach.
	Proofs []*blocks.Proof `json:"-"`
}

// MaxProvenance bounds the steps one answer lists (each with a proof that
// reads its block): an item named more often is answered with its first
// ones and Truncated.
const MaxProvenance = 256

func (b *Builder) party(k [32]byte) Party {
	g := b.N.Home.Genesis
	p := Party{Key: hex.EncodeToString(k[:])}
	if role, name, err := state.RoleOf(b.N.DB, &g, k); err == nil {
		p.Role, p.Name = role, name
	}
	return p
}

// prover returns a Prover of the node's blocks that reads and keeps
// their trees' upper levels in the node's Trees.
func (b *Builder) prover() *blocks.Prover { return blocks.NewProver(b.N.DB).WithTrees(b.N.Trees) }

// Supply returns item code's provenance (an item never commissioned and
// never named is answered with no events, not an error: that is the
// answer a buyer of a fake needs).
func (b *Builder) Supply(code ledger.SupplyItem) (*Provenance, error) {
	c := code.Code()
	out := &Provenance{Code: c, GTIN: code.GTIN, Serial: code.Serial, Lot: code.Lot, Held: []Holding{}, Events: []SupplyEventView{}, Signals: []SignalView{}}
	it, ok, err := state.ItemOf(b.N.DB, c)
	if err != nil {
		return nil, err
	}
	if ok {
		out.Commissioned, out.Lot, out.Expiry, out.Standard, out.Certificate, out.Units = true, it.Lot, it.Expiry, it.Standard, it.Cert, it.Units
		m := b.party(it.Maker)
		out.Maker = &m
		if it.Instance {
			out.Status = it.Status
			if it.Transit != (ledger.Hash{}) {
				out.InTransit = it.Transit.String()
			}
		}
	}
	ids, err := state.SupplyHistory(b.N.DB, c)
	if err != nil {
		return nil, err
	}
	if len(ids) > MaxProvenance {
		ids, out.Truncated = ids[:MaxProvenance], true
	}
	pr := b.prover()
	var txs []*ledger.Tx
	shipped := map[ledger.Hash]uint32{} // the units of the item each shipment offered
	type refKey struct {
		to  [32]byte
		ref string
	}
	byRef := map[refKey]ledger.Hash{} // the shipments under a business transaction
	for _, id := range ids {
		p, err := pr.Prove(id)
		if err != nil {
			return nil, err
		}
		tx, err := ledger.DecodeTx(p.Tx)
		if err != nil {
			return nil, err
		}
		ev, ok := tx.Body.(*ledger.SupplyEvent)
		if !ok {
			continue // the history names supply events only
		}
		v := SupplyEventView{Tx: id.String(), Step: ev.Step, Height: p.Header.Height, Time: b.ts(ev.Time), By: b.party(tx.Sigs[0].Key)}
		if ev.Placed {
			v.Place = ev.Place.String()
		}
		for _, n := range ev.Items {
			if n.Code() == c {
				v.Units = n.Qty
			}
		}
		for _, n := range ev.Outputs {
			if n.Code() == c {
				v.Units = n.Qty
				for _, in := range ev.Items {
					v.Inputs = append(v.Inputs, ItemUnits{Code: in.Code(), Units: in.Qty})
				}
			}
		}
		if ev.Step == ledger.StepShip {
			to := b.party(ev.To)
			v.To, shipped[id] = &to, v.Units
			if ev.Ref != "" {
				byRef[refKey{ev.To, ev.Ref}] = id
			}
		}
		if ev.Step == ledger.StepVoid {
			v.Offer = ev.Offer.String()
		}
		if ev.Step == ledger.StepReceive {
			offer := ev.Offer
			if ev.Ref != "" {
				offer = byRef[refKey{tx.Sigs[0].Key, ev.Ref}]
			}
			// The units it took: those it lists (a short delivery), or
			// all of the item still in transit.
			v.Offer = offer.String()
			if v.Units == 0 {
				v.Units = shipped[offer]
			}
			shipped[offer] -= min(v.Units, shipped[offer])
		}
		out.Events = append(out.Events, v)
		out.Proofs = append(out.Proofs, p)
		txs = append(txs, tx)
	}
	// Who holds how many, from the steps themselves (the state keeps the
	// same per custodian; the tests hold the two to each other).
	if d, err := supply.Replay(c, txs); err == nil {
		for i, st := range d.Steps {
			out.Events[i].Units, out.Events[i].Carried = uint32(st.Units), st.Carried
		}
		out.Inside = d.In
		if d.In != "" {
			out.Within = d.Packed[d.In].Above
		}
		for _, code := range slices.Sorted(maps.Keys(d.Contents)) {
			out.Contents = append(out.Contents, code)
			out.ContentUnits = append(out.ContentUnits, ItemUnits{Code: code, Units: uint32(d.Contents[code])})
		}
		if !d.Instance {
			units := d.PackedUnits()
			for _, code := range slices.Sorted(maps.Keys(units)) {
				out.Packed = append(out.Packed, ItemUnits{Code: code, Units: uint32(units[code])})
			}
		}
		for k, n := range d.Loose() {
			out.Held = append(out.Held, Holding{Party: b.party(k), Units: n})
		}
		slices.SortFunc(out.Held, func(x, y Holding) int { return cmp.Compare(x.Party.Key, y.Party.Key) })
	}
	ss, err := state.Signals(b.N.DB, c)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		out.Signals = append(out.Signals, SignalView{Kind: s.Kind, Tx: s.Tx.String(), Height: s.Height, By: b.party(s.Custodian), Detail: s.Detail})
	}
	return out, nil
}

// NeedView is a hospital's declared need of a product beside what
// charities allocated it.
type NeedView struct {
	Hospital    Party  `json:"hospital"`
	Units       uint32 `json:"units"` // declared (0: none)
	Urgency     string `json:"urgency,omitempty"`
	FeverClinic bool   `json:"fever_clinic"`
	Declared    string `json:"declared,omitempty"` // the declaration's transaction
	Allocated   uint64 `json:"allocated"`
}

// FlagView is a flag on a charity's allocation.
type FlagView struct {
	Shipment string `json:"shipment"`
	Height   uint64 `json:"height"`
	Kind     string `json:"kind"`
	Detail   string `json:"detail"`
}

// Needs is GET /v1/public/needs's answer: a product's needs against its
// allocations, and the flags on allocations that went against them.
type Needs struct {
	GTIN  string     `json:"gtin"`
	Needs []NeedView `json:"needs"`
	Flags []FlagView `json:"flags"`
}

// Needs returns gtin's needs and allocations.
func (b *Builder) Needs(gtin string) (*Needs, error) {
	ns, err := state.Needs(b.N.DB, gtin)
	if err != nil {
		return nil, err
	}
	out := &Needs{GTIN: gtin, Needs: []NeedView{}, Flags: []FlagView{}}
	for _, n := range ns {
		v := NeedView{Hospital: b.party(n.Hospital), Units: n.Units, Urgency: n.Urgency, FeverClinic: n.FeverClinic, Allocated: n.Allocated}
		if n.Declared != (ledger.Hash{}) {
			v.Declared = n.Declared.String()
		}
		out.Needs = append(out.Needs, v)
	}
	fs, err := state.AllocFlags(b.N.DB, gtin)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		out.Flags = append(out.Flags, FlagView{Shipment: f.Shipment.String(), Height: f.Height, Kind: f.Kind, Detail: f.Detail})
	}
	return out, nil
}
