package report

import (
	"fmt"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// Attestations in the open (issue 17, docs/SUPPLY.md "Attestations"): who
// attested a content, by its hash, first and since, which anyone may
// read. Attesters are keys the administrator granted a role, named as
// the grant names them; the ledger holds the content's hash only.

// AttestationView is one attestation of a content.
type AttestationView struct {
	Tx     string `json:"tx"`
	Height uint64 `json:"height"`
	Kind   string `json:"kind"`
	Source string `json:"source,omitempty"`
	Time   string `json:"time"` // the attestation's
	By     Party  `json:"by"`
}

// ContentAttestations is GET /v1/public/attestations/{hash}'s answer: a
// content's attestations in block order, the first its first publisher.
type ContentAttestations struct {
	Content string `json:"content"`
	// First is Attestations[0], the content's first publisher (absent
	// when no one attested it).
	First        *AttestationView  `json:"first,omitempty"`
	Attestations []AttestationView `json:"attestations"`
	// Truncated says the content has more attestations than the answer
	// lists (MaxAttestations): the later ones are left out.
	Truncated bool `json:"truncated,omitempty"`
	// Proofs are the attestations' inclusion proofs, for the API to
	// attach.
	Proofs []*blocks.Proof `json:"-"`
}

// MaxAttestations bounds the attestations one answer lists (each with a
// proof that reads its block): a content attested more often is
// answered with its first ones and Truncated, its first publisher
// always among them.
const MaxAttestations = MaxProvenance

// Attestations returns content's attestations (a content no one attested
// is answered with none, not an error: that it has no publisher on the
// ledger is the answer).
func (b *Builder) Attestations(content ledger.Hash) (*ContentAttestations, error) {
	as, more, err := state.Attestations(b.N.DB, content, MaxAttestations)
	if err != nil {
		return nil, err
	}
	out := &ContentAttestations{Content: content.String(), Attestations: []AttestationView{}, Truncated: more}
	pr := b.prover()
	for _, a := range as {
		p, err := pr.Prove(a.Tx)
		if err != nil {
			return nil, err
		}
		tx, err := ledger.DecodeTx(p.Tx)
		if err != nil {
			return nil, err
		}
		at, ok := tx.Body.(*ledger.Attestation)
		if !ok || at.Content != content || tx.Sigs[0].Key != a.Signer {
			return nil, fmt.Errorf("%w: the attestation index names transaction %s, which is no attestation of the content by its signer", store.ErrCorrupt, a.Tx.String()[:16])
		}
		out.Attestations = append(out.Attestations, AttestationView{Tx: a.Tx.String(), Height: p.Header.Height, Kind: at.Kind_, Source: at.Source,
			Time: b.ts(at.Time), By: b.party(a.Signer)})
		out.Proofs = append(out.Proofs, p)
	}
	if len(out.Attestations) > 0 {
		first := out.Attestations[0]
		out.First = &first
	}
	return out, nil
}
