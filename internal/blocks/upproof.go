package blocks

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
)

// UpProof proves a record of a child region's chain to an auditor of an
// ancestor's chain, offline (issue 15, docs/REGIONS.md step 3): the
// record's inclusion proof under its chain's header, then, level by level
// up, the child's headers from that one to the one its parent anchored,
// the parent's inclusion proof of the anchor, and the parent's inclusion
// proof of the register_child that named the key the anchor is signed
// with.
type UpProof struct {
	Record *Proof
	Links  []UpLink
}

// UpLink carries a proof one level up.
type UpLink struct {
	// Headers are the child's headers after the one proven below, up to
	// the anchored one, each linked to the one before (none when the
	// proven header itself was anchored).
	Headers  []*ledger.Header
	Anchor   *Proof
	Register *Proof
	// Comet, when the lower chain runs on CometBFT (the anchor is a
	// light anchor), proves the transaction proven below in that chain's
	// signed blocks and links them to the anchored header (Headers is then
	// empty). Its format is the consortium package's (consortium.Anchored):
	// CheckUp hands it to a CometCheck.
	Comet json.RawMessage
}

// CometCheck checks link, a CometBFT level of an up proof: that below,
// the proof of a transaction on the CometBFT chain reg registered, is in
// that chain's signed blocks up to the header the light anchor carries.
type CometCheck func(below *Proof, link json.RawMessage, anchor *ledger.LightAnchor, reg *ledger.RegisterChild) error

// CheckUp verifies p and returns the top header: the block of the
// highest chain, which the auditor compares with a header of that chain
// they trust. root is the top chain's authority key (its genesis's): the
// top register_child must be signed with it, and each lower one with the
// key its parent's own registration names. comet checks the levels whose
// lower chain runs on CometBFT (nil: such a level is refused).
func (p *UpProof) CheckUp(root [32]byte, comet CometCheck) (*ledger.Header, error) {
	if p.Record == nil || p.Record.Header == nil {
		return nil, fmt.Errorf("up proof: no record proof")
	}
	if err := p.Record.Check(); err != nil {
		return nil, fmt.Errorf("up proof: the record: %w", err)
	}
	if len(p.Links) == 0 {
		return nil, fmt.Errorf("up proof: no link up the hierarchy")
	}
	cur := p.Record.Header
	signers := make([][32]byte, len(p.Links))     // who signed each level's register_child
	authorities := make([][32]byte, len(p.Links)) // the child authority each names
	for i, l := range p.Links {
		at := fmt.Sprintf("up proof: level %d", i+1)
		for j, h := range l.Headers {
			if h == nil || h.ChainID != cur.ChainID || h.Height != cur.Height+1 || h.PrevHash != cur.Hash() {
				return nil, fmt.Errorf("%s: header %d does not follow block %d of %q", at, j+1, cur.Height, cur.ChainID)
			}
			cur = h
		}
		if l.Anchor == nil || l.Anchor.Header == nil || l.Register == nil || l.Register.Header == nil {
			return nil, fmt.Errorf("%s: the anchor's or the registration's proof is missing", at)
		}
		if err := l.Anchor.Check(); err != nil {
			return nil, fmt.Errorf("%s: the anchor: %w", at, err)
		}
		if err := l.Register.Check(); err != nil {
			return nil, fmt.Errorf("%s: the registration: %w", at, err)
		}
		parent := l.Anchor.Header.ChainID
		if l.Register.Header.ChainID != parent {
			return nil, fmt.Errorf("%s: the anchor is on %q, the registration on %q", at, parent, l.Register.Header.ChainID)
		}
		atx, err := ledger.DecodeTx(l.Anchor.Tx)
		if err != nil {
			return nil, fmt.Errorf("%s: the anchor: %w", at, err)
		}
		light, isLight := atx.Body.(*ledger.LightAnchor)
		if !isLight {
			a, ok := atx.Body.(*ledger.Anchor)
			if !ok {
				return nil, fmt.Errorf("%s: the anchor's transaction is a %s", at, atx.Body.Kind())
			}
			if ah := a.Header(); !bytes.Equal(ah.Bytes(), cur.Bytes()) {
				return nil, fmt.Errorf("%s: the anchor carries block %d of %q, not the header proven below", at, ah.Height, ah.ChainID)
			}
		}
		rtx, err := ledger.DecodeTx(l.Register.Tx)
		if err != nil {
			return nil, fmt.Errorf("%s: the registration: %w", at, err)
		}
		rb, ok := rtx.Body.(*ledger.RegisterChild)
		if !ok {
			return nil, fmt.Errorf("%s: the registration's transaction is a %s", at, rtx.Body.Kind())
		}
		if rb.ChainID != cur.ChainID || rb.Region != cur.Region {
			return nil, fmt.Errorf("%s: the registration is of %q (region %s), the anchor of %q (region %s)", at, rb.ChainID, rb.Region, cur.ChainID, cur.Region)
		}
		if isLight {
			below := p.Record
			if i > 0 {
				below = p.Links[i-1].Anchor
			}
			switch {
			case rb.Engine != ledger.EngineCometBFT || light.ChainID != rb.ChainID:
				return nil, fmt.Errorf("%s: a light anchor of %q under the registration of a %s chain %q", at, light.ChainID, rb.Engine, rb.ChainID)
			case len(l.Headers) != 0:
				return nil, fmt.Errorf("%s: a CometBFT level links its blocks by CometBFT's headers, not ours", at)
			case comet == nil:
				return nil, fmt.Errorf("%s: a CometBFT level is not checked here", at)
			}
			if err := comet(below, l.Comet, light, rb); err != nil {
				return nil, fmt.Errorf("%s: %w", at, err)
			}
		} else if atx.Sigs[0].Key != rb.Authority {
			return nil, fmt.Errorf("%s: the anchor is not signed by the key the registration names", at)
		}
		if err := atx.VerifySigs(parent); err != nil {
			return nil, fmt.Errorf("%s: the anchor: %w", at, err)
		}
		if err := rtx.VerifySigs(parent); err != nil {
			return nil, fmt.Errorf("%s: the registration: %w", at, err)
		}
		signers[i], authorities[i] = rtx.Sigs[0].Key, rb.Authority
		cur = l.Anchor.Header
	}
	// Top down: the top registration is signed by the root's authority;
	// each lower one by the authority the one above registered.
	want := root
	for i := len(p.Links) - 1; i >= 0; i-- {
		if signers[i] != want {
			return nil, fmt.Errorf("up proof: level %d: the registration is not signed by the authority of %q", i+1, p.Links[i].Register.Header.ChainID)
		}
		want = authorities[i]
	}
	return cur, nil
}

// UpProofView is an UpProof in JSON.
type UpProofView struct {
	Record ProofView    `json:"record"`
	Links  []UpLinkView `json:"links"`
}

// UpLinkView is an UpLink in JSON.
type UpLinkView struct {
	Headers  []HeaderView    `json:"headers"`
	Anchor   ProofView       `json:"anchor"`
	Register ProofView       `json:"register"`
	Comet    json.RawMessage `json:"cometbft,omitempty"`
}

// UpProofJSON converts p for JSON.
func UpProofJSON(p *UpProof) UpProofView {
	v := UpProofView{Record: ProofJSON(p.Record), Links: []UpLinkView{}}
	for _, l := range p.Links {
		lv := UpLinkView{Headers: []HeaderView{}, Anchor: ProofJSON(l.Anchor), Register: ProofJSON(l.Register), Comet: l.Comet}
		for _, h := range l.Headers {
			lv.Headers = append(lv.Headers, HeaderJSON(h))
		}
		v.Links = append(v.Links, lv)
	}
	return v
}

// UpProof converts back; CheckUp then verifies it.
func (v UpProofView) UpProof() (*UpProof, error) {
	rec, err := v.Record.Proof()
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	p := &UpProof{Record: rec}
	for i, lv := range v.Links {
		l := UpLink{Comet: lv.Comet}
		for j, hv := range lv.Headers {
			h, err := hv.Header()
			if err != nil {
				return nil, fmt.Errorf("links[%d].headers[%d]: %w", i, j, err)
			}
			l.Headers = append(l.Headers, h)
		}
		if l.Anchor, err = lv.Anchor.Proof(); err != nil {
			return nil, fmt.Errorf("links[%d].anchor: %w", i, err)
		}
		if l.Register, err = lv.Register.Proof(); err != nil {
			return nil, fmt.Errorf("links[%d].register: %w", i, err)
		}
		p.Links = append(p.Links, l)
	}
	return p, nil
}
