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
	if c.mode == checking {
		if field, kind := b.Identifier(); kind != "" {
			c.fail(field, "seems to hold %s: intelligence names no person (counts only)", kind)
		}
	}
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

// Identifier names the first free-text field of b that seems to hold a
// raw personal identifier, and what kind (IdentifierIn); "" for none.
func (b *Intel) Identifier() (field, kind string) {
	for _, f := range []struct{ name, text string }{{"place", b.Place}, {"spread", b.Spread}, {"facts", b.Facts}} {
		if k := IdentifierIn(f.text); k != "" {
			return f.name, k
		}
	}
	for _, t := range b.Topics {
		if k := IdentifierIn(t); k != "" {
			return "topics", k
		}
	}
	return "", ""
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

// IntelDigest is what a summary of a record says, level by level up the
// hierarchy (and, once the national N1 confirms it, down to every
// region): the chain where the record was submitted and its id there,
// the moment, the place and the counts as far as its secrecy lets them
// travel (confidential and secret: no counts; secret: the place only as
// the confirming chain's region), its dimension, response level and
// secrecy. The details stay on the origin chain.
type IntelDigest struct {
	Origin                         string
	Record                         Hash
	Time                           int64
	Region                         string
	Dimension                      string
	Level                          uint8
	Secrecy                        string
	Involved, Confirmed, Suspected uint32
}

func (d *IntelDigest) fields(c *codec) {
	c.str(&d.Origin, "origin", MaxChainIDLen)
	c.bytes32((*[32]byte)(&d.Record), "record")
	c.time(&d.Time, "time")
	c.str(&d.Region, "region", MaxTagLen)
	c.str(&d.Dimension, "dimension", MaxTagLen)
	c.u8(&d.Level, "level")
	c.str(&d.Secrecy, "secrecy", MaxTagLen)
	c.u32(&d.Involved, "involved")
	c.u32(&d.Confirmed, "confirmed")
	c.u32(&d.Suspected, "suspected")
}

// IntelConfirm is an N2's confirmation of a record on its chain (its own,
// or a summary that came up from a child): the digest that goes up with
// the anchors to the parent. On the national chain an N1's confirmation
// with Broadcast set goes down instead, to every region. Of is the
// confirmed transaction on this chain (an intel or an intel_summary).
type IntelConfirm struct {
	Of        Hash
	Digest    IntelDigest
	Broadcast bool
}

func (*IntelConfirm) Kind() Kind   { return KindIntelConfirm }
func (*IntelConfirm) Signers() int { return 1 }
func (b *IntelConfirm) fields(c *codec) {
	c.bytes32((*[32]byte)(&b.Of), "of")
	b.Digest.fields(c)
	c.flag(&b.Broadcast, "broadcast")
}

// MaxIntelPath bounds an inclusion path (a block of 2^64 transactions).
const MaxIntelPath = 64

// IntelSummary carries a confirmation from a linked chain (a child, going
// up; the parent, for a broadcast going down) into this one: the header
// of the block that holds it, which this chain has anchored, and the
// transaction's inclusion proof under it. Tx is that chain's intel_confirm
// (from a child, or a broadcast from the parent) or, going further down,
// the parent's own intel_summary of a broadcast. Any key with the role
// relay submits it.
type IntelSummary struct {
	From   string
	Header []byte
	Tx     []byte
	Index  uint64
	Size   uint64
	Path   []Hash
	// Links are the headers after Header up to one this chain anchored,
	// each linked to the one before (none when Header itself was).
	Links [][]byte
}

// MaxIntelLinks bounds the headers between a confirmation's block and an
// anchored one: relays anchor far more often.
const MaxIntelLinks = 32

func (*IntelSummary) Kind() Kind   { return KindIntelSummary }
func (*IntelSummary) Signers() int { return 1 }
func (b *IntelSummary) fields(c *codec) {
	c.str(&b.From, "from", MaxChainIDLen)
	c.blob(&b.Header, "header", 1024)
	c.blob(&b.Tx, "tx", MaxBodyBytes/2)
	c.u64(&b.Index, "index")
	c.u64(&b.Size, "size")
	c.hashes(&b.Path, "path", MaxIntelPath)
	c.blobs(&b.Links, "links", MaxIntelLinks, 1024)
}

// IntelSummaryBFT is an IntelSummary from a CometBFT chain (a child going
// up, the parent coming down): the transaction, and the proof that the
// chain accepted it in a block linked to a header this chain verified
// (lightclient.Carried: CometBFT's header of the block, the transaction
// under its data hash, its accepting result under the next header's
// results hash, and the headers up to the verified one). A kind of its
// own, so that an intel_summary's encoding stays what it was.
type IntelSummaryBFT struct {
	From string
	Tx   []byte
	// Header is CometBFT header H, protobuf-encoded.
	Header       []byte
	Index, Total uint64
	TxPath       []Hash
	// Bundle is the CometBFT transaction Tx travelled in, if a bundle;
	// Member its place there.
	Bundle     []byte
	Member     uint32
	ResultData []byte
	ResultPath []Hash
	// Links are CometBFT headers H+1..A, A a height this chain verified.
	Links [][]byte
}

func (*IntelSummaryBFT) Kind() Kind   { return KindIntelSummaryBFT }
func (*IntelSummaryBFT) Signers() int { return 1 }
func (b *IntelSummaryBFT) fields(c *codec) {
	c.str(&b.From, "from", MaxChainIDLen)
	c.blob(&b.Tx, "tx", MaxBodyBytes/2)
	c.blob(&b.Header, "header", 1024)
	c.u64(&b.Index, "index")
	c.u64(&b.Total, "total")
	c.hashes(&b.TxPath, "tx_path", MaxIntelPath)
	c.blob(&b.Bundle, "bundle", MaxBodyBytes/4)
	c.u32(&b.Member, "member")
	c.blob(&b.ResultData, "result_data", 256)
	c.hashes(&b.ResultPath, "result_path", MaxIntelPath)
	c.blobs(&b.Links, "links", MaxIntelLinks, 1024)
}

// hashes is a list of at most max 32-byte hashes.
func (c *codec) hashes(p *[]Hash, field string, max int) {
	n := len(*p)
	c.count(&n, field, max)
	if !c.ok() {
		return
	}
	if c.reading() {
		*p = make([]Hash, n)
	}
	for i := range *p {
		c.bytes32((*[32]byte)(&(*p)[i]), field)
	}
}

// blobs is a list of at most max byte strings of at most size bytes each.
func (c *codec) blobs(p *[][]byte, field string, max, size int) {
	n := len(*p)
	c.count(&n, field, max)
	if !c.ok() {
		return
	}
	if c.reading() {
		*p = make([][]byte, n)
	}
	for i := range *p {
		c.blob(&(*p)[i], field, size)
	}
}

// Redacted is d as it may travel from a chain serving chainRegion: the
// counts only for a public or internal record, the place only as
// chainRegion for a secret one. A confirmation carries exactly this.
func (d IntelDigest) Redacted(chainRegion string) IntelDigest {
	if d.Secrecy != "public" && d.Secrecy != "internal" {
		d.Involved, d.Confirmed, d.Suspected = 0, 0, 0
	}
	if d.Secrecy == "secret" {
		d.Region = chainRegion
	}
	return d
}
