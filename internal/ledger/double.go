package ledger

import (
	"crypto/sha256"
	"fmt"
)

// The double chain of seed 000 sec. 2.5: besides the block chain, every
// site's records form a hash-linked sequence (the site chain) and every
// person's accepted records are sealed, per validation window, into
// hash-linked person blocks (the person chain). Both are derived
// deterministically from the blocks by the state machine.

const (
	labelSiteLink    = "epiledger/v1/site-chain\x00"
	labelPersonBlock = "epiledger/v1/person-block\x00"
	labelPersonEntry = "epiledger/v1/person-entry\x00"
)

// PersonBlockVersion is the person block format version.
const PersonBlockVersion = 1

// SiteLink is the link hash of a site chain entry: it commits to the
// previous link and the record's transaction id.
func SiteLink(prev Hash, txid Hash) Hash {
	h := sha256.New()
	h.Write([]byte(labelSiteLink))
	h.Write(prev[:])
	h.Write(txid[:])
	var out Hash
	h.Sum(out[:0])
	return out
}

// PersonBlock seals one person's accepted records of one validation
// window: its header is {version, person pseudonym, time (the window),
// previous person-block hash, Merkle root of the entries}, plus the
// sequence number, the ledger height at which it was sealed and the entry
// count; the entries (transaction ids, in time order) follow the header.
type PersonBlock struct {
	Version     uint32
	Person      Pseudonym
	Seq         uint64
	WindowStart int64 // Unix seconds
	WindowEnd   int64
	PrevHash    Hash // the previous person block's hash; zero for the first
	EntryRoot   Hash // RFC 6962 root over the entries' leaf hashes
	Count       uint32
	Height      uint64 // ledger height at which the block was sealed
	Entries     []Hash // the accepted records' transaction ids
}

// EntryLeaf is the leaf hash of an entry (a transaction id).
func EntryLeaf(txid Hash) Hash {
	return LeafHash(append([]byte(labelPersonEntry), txid[:]...))
}

// EntriesRoot is the Merkle root over the entries.
func EntriesRoot(entries []Hash) Hash {
	leaves := make([]Hash, len(entries))
	for i, e := range entries {
		leaves[i] = EntryLeaf(e)
	}
	return MerkleRoot(leaves)
}

// HeaderBytes is the canonical encoding of the header (without entries).
func (b *PersonBlock) HeaderBytes() []byte {
	var e encoder
	e.u32(b.Version)
	e.raw(b.Person[:])
	e.u64(b.Seq)
	e.i64(b.WindowStart)
	e.i64(b.WindowEnd)
	e.raw(b.PrevHash[:])
	e.raw(b.EntryRoot[:])
	e.u32(b.Count)
	e.u64(b.Height)
	return e.b
}

// Hash is the person block's hash (over its header).
func (b *PersonBlock) Hash() Hash {
	h := sha256.New()
	h.Write([]byte(labelPersonBlock))
	h.Write(b.HeaderBytes())
	var out Hash
	h.Sum(out[:0])
	return out
}

// Bytes is the header followed by the entries.
func (b *PersonBlock) Bytes() []byte {
	out := b.HeaderBytes()
	for _, e := range b.Entries {
		out = append(out, e[:]...)
	}
	return out
}

// DecodePersonBlock parses Bytes. It checks the encoding and that the
// entries match the count; whether they match the root is Check's job.
func DecodePersonBlock(raw []byte) (*PersonBlock, error) {
	d := decoder{b: raw}
	b := decodePersonHeader(&d)
	if d.err == nil && len(d.b) != int(b.Count)*32 {
		d.fail("%d entries announced, %d bytes follow", b.Count, len(d.b))
	}
	for i := 0; i < int(b.Count) && d.err == nil; i++ {
		b.Entries = append(b.Entries, d.hash("entry"))
	}
	return finishPersonBlock(b, &d)
}

// DecodePersonBlockHeader parses HeaderBytes: a person block without its
// entries (Entries is nil, Count says how many it has). The header is all
// that Hash covers, so it is enough to check a link and a window.
func DecodePersonBlockHeader(raw []byte) (*PersonBlock, error) {
	d := decoder{b: raw}
	return finishPersonBlock(decodePersonHeader(&d), &d)
}

func decodePersonHeader(d *decoder) *PersonBlock {
	b := &PersonBlock{}
	b.Version = d.u32("version")
	b.Person = Pseudonym(d.hash("person"))
	b.Seq = d.u64("seq")
	b.WindowStart = d.i64("window start")
	b.WindowEnd = d.i64("window end")
	b.PrevHash = d.hash("prev hash")
	b.EntryRoot = d.hash("entry root")
	b.Count = d.u32("count")
	b.Height = d.u64("height")
	return b
}

func finishPersonBlock(b *PersonBlock, d *decoder) (*PersonBlock, error) {
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("person block: %w", err)
	}
	if b.Version != PersonBlockVersion {
		return nil, fmt.Errorf("person block: %w: unknown version %d", ErrNonCanonical, b.Version)
	}
	return b, nil
}

// Check verifies the block's own consistency: its entries hash to its
// root and it links to prev.
func (b *PersonBlock) Check(prev Hash) error {
	if b.PrevHash != prev {
		return fmt.Errorf("person block %d: does not link to the previous person block", b.Seq)
	}
	if int(b.Count) != len(b.Entries) || EntriesRoot(b.Entries) != b.EntryRoot {
		return fmt.Errorf("person block %d: entries do not match the entry root", b.Seq)
	}
	if b.WindowEnd <= b.WindowStart {
		return fmt.Errorf("person block %d: empty window", b.Seq)
	}
	return nil
}
