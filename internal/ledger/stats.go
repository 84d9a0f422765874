package ledger

import "slices"

// PublishStats publishes one bucket of the open statistics (issue 16,
// docs/WARNING.md): the cases of Disease reported on Day (days since
// 1970-01-01 at +08:00) with a home in Region (a district), by
// classification. The state machine accepts it only when the figures are
// its own counts, Version is the bucket's next publication and Last the
// transaction that last changed the bucket: so an accepted publication is
// a signed, provable statement every node checked, and a revision is a
// new version that names its cause, never a silent rewrite. The node
// signs it (its key, or the chain authority's).
type PublishStats struct {
	Disease, Region                string
	Day                            uint32
	Suspected, Clinical, Confirmed uint32
	Version                        uint32
	Last                           Hash
}

func (*PublishStats) Kind() Kind   { return KindPublishStats }
func (*PublishStats) Signers() int { return 1 }
func (b *PublishStats) fields(c *codec) {
	c.str(&b.Disease, "disease", MaxTagLen)
	c.str(&b.Region, "region", MaxTagLen)
	c.u32(&b.Day, "day")
	c.u32(&b.Suspected, "suspected")
	c.u32(&b.Clinical, "clinical")
	c.u32(&b.Confirmed, "confirmed")
	c.u32(&b.Version, "version")
	c.bytes32((*[32]byte)(&b.Last), "last")
	if c.mode == checking && c.err == nil {
		switch {
		case !slices.Contains(Diseases, b.Disease):
			c.fail("disease", "not a disease code (%v)", Diseases)
		case b.Version == 0:
			c.fail("version", "from 1")
		}
	}
}
