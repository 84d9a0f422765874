package ledger

import "slices"

// Donations, the whole path (issue 17, docs/SUPPLY.md): in January 2020
// the donation platforms put only pledges on chain, never what the money
// bought, where the goods went or whether they arrived. Here a pledge is
// signed by the donor and by the charity that takes it; the charity then
// signs each step (money received, a purchase, an allocation to a
// hospital), each naming the pledge and, where goods move, the supply
// shipment (supply.go) that moves them; the hospital's receipt of that
// shipment is the delivery, and its supply steps the use. The pledge's
// transaction id is the donor's receipt id, known to the donor before
// the charity signs (ids do not cover signatures), to follow the
// donation with.

// Donation steps after the pledge, each signed by the pledge's charity.
const (
	DonationReceive  = "receive"  // the money (Amount) or the goods (Shipment, received by the charity) arrived
	DonationPurchase = "purchase" // Amount of the money bought what Shipment brings the charity
	DonationAllocate = "allocate" // Shipment, the charity's to a hospital, carries the donation's goods
)

// DonationSteps lists the steps after a pledge.
var DonationSteps = []string{DonationReceive, DonationPurchase, DonationAllocate}

// Bounds of a donation.
const (
	// MaxDonationFen bounds an amount, in fen (0.01 yuan): ten trillion
	// yuan, far beyond any gift, far below overflow of any sum the state
	// keeps.
	MaxDonationFen = 1_000_000_000_000_000
	MaxPledgeGoods = 64
)

// Goods are units of a product (a GTIN), as a donor pledges them: the
// lots and serials are the shipment's.
type Goods struct {
	GTIN  string
	Units uint32
}

// DonationPledge is a donor's gift to a charity: money (Amount, in fen),
// goods, or both, with what it is for (Purpose, as the donor wrote it).
// The donor appears under a pseudonym (their key) unless they give a Name.
// Signed first by the donor, with any key of their own, then by the
// charity (a key holding the charity role), which is Charity: the donor's
// signature says to whom they gave. Nonce tells two equal gifts apart.
type DonationPledge struct {
	Charity [32]byte
	Name    string
	Amount  uint64
	Goods   []Goods
	Purpose string
	Time    int64
	Nonce   uint64
}

func (*DonationPledge) Kind() Kind   { return KindDonationPledge }
func (*DonationPledge) Signers() int { return 2 }
func (b *DonationPledge) fields(c *codec) {
	c.bytes32(&b.Charity, "charity")
	c.str(&b.Name, "name", MaxNameLen)
	c.u64(&b.Amount, "amount")
	n := len(b.Goods)
	c.count(&n, "goods", MaxPledgeGoods)
	if c.reading() && c.err == nil {
		b.Goods = make([]Goods, n)
	}
	for i := 0; i < n && c.err == nil; i++ {
		c.str(&b.Goods[i].GTIN, "gtin", 14)
		c.u32(&b.Goods[i].Units, "units")
	}
	c.str(&b.Purpose, "purpose", MaxNameLen)
	c.time(&b.Time, "time")
	c.u64(&b.Nonce, "nonce")
	if c.mode != checking || c.err != nil {
		return
	}
	switch {
	case b.Charity == [32]byte{}:
		c.fail("charity", "the charity's key")
	case b.Amount > MaxDonationFen:
		c.fail("amount", "at most %d fen", uint64(MaxDonationFen))
	case b.Amount == 0 && len(b.Goods) == 0:
		c.fail("amount", "money (an amount in fen) or goods, or both")
	case IdentifierIn(b.Name) != "":
		// Public on the chain: a donor's chosen name, never an
		// identifier that would find them.
		c.fail("name", "a name, not %s", IdentifierIn(b.Name))
	case IdentifierIn(b.Purpose) != "":
		c.fail("purpose", "what the gift is for, not %s", IdentifierIn(b.Purpose))
	}
	seen := map[string]bool{}
	for _, g := range b.Goods {
		switch {
		case c.err != nil:
			return
		case !ValidGTIN(g.GTIN):
			c.fail("gtin", "a GTIN-14: 14 digits, the last the GS1 check digit")
		case g.Units == 0 || g.Units > MaxSupplyQty:
			c.fail("units", "1 to %d units", MaxSupplyQty)
		case seen[g.GTIN]:
			c.fail("goods", "a product named twice")
		}
		seen[g.GTIN] = true
	}
}

// DonationStep is a step of a donation after its pledge, signed by its
// charity: Pledge is the donation (its receipt id). A receipt gives the
// money received (Amount) or the shipment that brought the goods
// (Shipment); a purchase the money spent and the shipment that brings what
// it bought; an allocation the charity's shipment to a hospital.
type DonationStep struct {
	Step     string
	Pledge   Hash
	Amount   uint64
	Shipment Hash
	Time     int64
	Nonce    uint64
}

func (*DonationStep) Kind() Kind   { return KindDonationStep }
func (*DonationStep) Signers() int { return 1 }
func (b *DonationStep) fields(c *codec) {
	c.str(&b.Step, "step", MaxTagLen)
	c.bytes32((*[32]byte)(&b.Pledge), "pledge")
	c.u64(&b.Amount, "amount")
	c.bytes32((*[32]byte)(&b.Shipment), "shipment")
	c.time(&b.Time, "time")
	c.u64(&b.Nonce, "nonce")
	if c.mode != checking || c.err != nil {
		return
	}
	ship := b.Shipment != Hash{}
	switch {
	case !slices.Contains(DonationSteps, b.Step):
		c.fail("step", "receive, purchase or allocate")
	case b.Pledge == Hash{}:
		c.fail("pledge", "the donation's receipt id (its pledge's transaction)")
	case b.Amount > MaxDonationFen:
		c.fail("amount", "at most %d fen", uint64(MaxDonationFen))
	case b.Step == DonationReceive && (b.Amount != 0) == ship:
		c.fail("amount", "a receipt gives the money received or the shipment that brought the goods (one of them)")
	case b.Step == DonationPurchase && (b.Amount == 0 || !ship):
		c.fail("amount", "a purchase gives the money spent and the shipment that brings what it bought")
	case b.Step == DonationAllocate && (b.Amount != 0 || !ship):
		c.fail("shipment", "an allocation gives the charity's shipment to a hospital (and no amount)")
	}
}
