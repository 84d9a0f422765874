package ledger

import "slices"

// Attestations (issue 17, docs/SUPPLY.md "Attestations"): one generic
// signed, timestamped statement that a key holder had a content, from a
// source: the first publisher of a piece of news (a rumour traced to its
// source), evidence for an insurance claim, a record of remote work.

// Attestation kinds.
const (
	AttestNews              = "news"
	AttestInsuranceEvidence = "insurance-evidence"
	AttestRemoteWork        = "remote-work"
	AttestOther             = "other"
)

// AttestationKinds lists the attestation kinds.
var AttestationKinds = []string{AttestNews, AttestInsuranceEvidence, AttestRemoteWork, AttestOther}

// Attestation says that its signer, By, had Content (its SHA-256: only
// the hash enters the ledger, never the content), of Kind, from Source (a
// URI or a name of where the content was published; may be empty), at
// Time (Unix seconds). Any key holding a granted role signs it, once per
// content; the first attestation of a content, in block order, names its
// first publisher. For insurance evidence the hash is of a document the
// patient chose to release: the patient's consent is the handing over of
// the document, which the ledger never holds; the insurer hashes what it
// was given and finds the attestation. No field names a person: a source
// that seems to hold a personal identifier is refused, but a news source,
// a public place of publication whose addresses carry long numbers (a
// post's 19 digits are no bank card).
//
// By is the signer's key: transaction ids leave signatures out, so
// without it two organisations attesting the same content from the same
// source in the same second would be one transaction, the second refused
// as its replay (Approval names its approver for the same reason).
type Attestation struct {
	Content Hash
	Kind_   string
	Source  string
	Time    int64
	By      [32]byte
}

func (*Attestation) Kind() Kind   { return KindAttestation }
func (*Attestation) Signers() int { return 1 }
func (b *Attestation) fields(c *codec) {
	c.bytes32((*[32]byte)(&b.Content), "content")
	c.str(&b.Kind_, "kind", MaxTagLen)
	c.str(&b.Source, "source", MaxRefLen)
	c.time(&b.Time, "time")
	c.bytes32(&b.By, "by")
	if c.mode != checking || c.err != nil {
		return
	}
	switch {
	case b.Content == Hash{}:
		c.fail("content", "the content's SHA-256 (not all zeros)")
	case !slices.Contains(AttestationKinds, b.Kind_):
		c.fail("kind", "news, insurance-evidence, remote-work or other")
	case b.By == [32]byte{}:
		c.fail("by", "the attester's key, the signer's")
	case b.Kind_ != AttestNews:
		if k := IdentifierIn(b.Source); k != "" {
			c.fail("source", "seems to hold %s: a source names no person", k)
		}
	}
}
