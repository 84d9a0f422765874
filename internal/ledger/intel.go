package ledger

import "slices"

// Outbreak intelligence (issue 15, docs/REGIONS.md step 6; seed 002): the
// message δ = {a, i, t, s, c} in one of five dimensions, submitted by an
// ordinary node (N3: transport, customs, an airport's epidemic team) and
// endorsed by the administrative nodes (N2: the health commission) that
// check and co-sign it. Only an endorsed record is admitted, so a record
// carries its submitter's signature and then Endorsements N2 signatures;
// the chain's policy (IntelPolicy) says how many it needs.

// The dimensions of seed 002.
var IntelDimensions = []string{"epidemic", "medical", "government", "public", "opinion"}

// The secrecy levels, from the most open: who reads a record's details.
var IntelSecrecy = []string{"public", "internal", "confidential", "secret"}

// Bounds of an intelligence record.
const (
	MaxIntelFacts       = 2048
	MaxIntelSpread      = 512
	MaxIntelTopics      = 8
	MaxIntelAttachments = 16
	// MaxEndorsements bounds the N2 signatures a record (and a policy)
	// asks for.
	MaxEndorsements = 8
)

// Intel is one intelligence record.
type Intel struct {
	// Dimension: epidemic, medical, government, public or opinion.
	Dimension string
	// Level is the response level, 1 (I, the gravest) to 4 (IV).
	Level uint8
	// Secrecy: public, internal, confidential or secret.
	Secrecy string
	// Time (t, timeliness) is the moment the record describes, Unix
	// seconds.
	Time int64
	// a, the event: where (a GB/T 2260 code within the chain's region,
	// and a place name), the people involved as counts (never persons),
	// how it spreads and the main facts.
	Region                         string
	Place                          string
	Involved, Confirmed, Suspected uint32
	Spread                         string
	Facts                          string
	// i, public opinion: topics, sentiment (-100 to 100) and its
	// strength (0 to 100).
	Topics    []string
	Sentiment int32
	Strength  uint32
	// Attachments are documents kept elsewhere, by their SHA-256.
	Attachments []Hash
	// Endorsements is how many N2 signatures follow the submitter's.
	Endorsements uint8
}

func (*Intel) Kind() Kind     { return KindIntel }
func (b *Intel) Signers() int { return 1 + int(b.Endorsements) }
func (b *Intel) fields(c *codec) {
	c.str(&b.Dimension, "dimension", MaxTagLen)
	if c.mode == checking && !slices.Contains(IntelDimensions, b.Dimension) {
		c.fail("dimension", "one of epidemic, medical, government, public, opinion")
	}
	c.u8(&b.Level, "level")
	if b.Level < 1 || b.Level > 4 {
		c.fail("level", "a response level from 1 (I) to 4 (IV)")
	}
	c.str(&b.Secrecy, "secrecy", MaxTagLen)
	if c.mode == checking && !slices.Contains(IntelSecrecy, b.Secrecy) {
		c.fail("secrecy", "one of public, internal, confidential, secret")
	}
	c.time(&b.Time, "time")
	c.str(&b.Region, "region", MaxTagLen)
	c.str(&b.Place, "place", MaxNameLen)
	c.u32(&b.Involved, "involved")
	c.u32(&b.Confirmed, "confirmed")
	c.u32(&b.Suspected, "suspected")
	c.str(&b.Spread, "spread", MaxIntelSpread)
	c.str(&b.Facts, "facts", MaxIntelFacts)
	n := len(b.Topics)
	c.count(&n, "topics", MaxIntelTopics)
	if !c.ok() {
		return
	}
	if c.reading() {
		b.Topics = make([]string, n)
	}
	for i := range b.Topics {
		c.str(&b.Topics[i], "topics", MaxTagLen)
	}
	c.i32(&b.Sentiment, "sentiment")
	if b.Sentiment < -100 || b.Sentiment > 100 {
		c.fail("sentiment", "from -100 to 100")
	}
	c.u32(&b.Strength, "strength")
	if b.Strength > 100 {
		c.fail("strength", "from 0 to 100")
	}
	n = len(b.Attachments)
	c.count(&n, "attachments", MaxIntelAttachments)
	if !c.ok() {
		return
	}
	if c.reading() {
		b.Attachments = make([]Hash, n)
	}
	for i := range b.Attachments {
		c.bytes32((*[32]byte)(&b.Attachments[i]), "attachments")
	}
	c.u8(&b.Endorsements, "endorsements")
	if b.Endorsements < 1 || b.Endorsements > MaxEndorsements {
		c.fail("endorsements", "from 1 to %d N2 signatures", MaxEndorsements)
	}
}

// IntelPolicy sets how many of the chain's N2s must endorse an
// intelligence record before it is admitted (1 without a policy). The
// chain authority signs it.
type IntelPolicy struct {
	Endorsements uint8
}

func (*IntelPolicy) Kind() Kind   { return KindIntelPolicy }
func (*IntelPolicy) Signers() int { return 1 }
func (b *IntelPolicy) fields(c *codec) {
	c.u8(&b.Endorsements, "endorsements")
	if b.Endorsements < 1 || b.Endorsements > MaxEndorsements {
		c.fail("endorsements", "from 1 to %d N2 signatures", MaxEndorsements)
	}
}
