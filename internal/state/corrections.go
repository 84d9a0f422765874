package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// Correction is a proposed or applied correction of a record.
type Correction struct {
	ID        ledger.Hash
	Target    ledger.Hash
	Action    uint8
	In, Out   int64
	Site      string
	Reason    string
	Regions   [2]string  // the record's origin and destination regions
	Required  [][32]byte // the distinct parties whose approvals count, sorted
	Quorum    int        // how many of them must approve
	Approvals [][32]byte // in the order they arrived
	Proposed  uint64     // height
	Applied   uint64     // height at which it took effect; 0 while pending
}

func encodeCorrection(c *Correction) []byte {
	var x w
	x.raw(c.ID[:])
	x.raw(c.Target[:])
	x.u8(c.Action)
	x.i64(c.In)
	x.i64(c.Out)
	x.str(c.Site)
	x.u32(uint32(len(c.Reason)))
	x.raw([]byte(c.Reason))
	x.str(c.Regions[0])
	x.str(c.Regions[1])
	x.u8(uint8(c.Quorum))
	x.keyLists(c.Required, c.Approvals)
	x.i64(int64(c.Proposed))
	x.i64(int64(c.Applied))
	return x.b
}

// DecodeCorrection decodes a stored correction.
func DecodeCorrection(b []byte) (*Correction, error) {
	x := r{b: b}
	c := &Correction{}
	copy(c.ID[:], x.take(32))
	copy(c.Target[:], x.take(32))
	c.Action = x.u8()
	c.In, c.Out = x.i64(), x.i64()
	c.Site = x.str()
	n := int(x.u32())
	if n > len(x.b) {
		x.bad = true
	} else {
		c.Reason = string(x.take(n))
	}
	c.Regions = [2]string{x.str(), x.str()}
	c.Quorum = int(x.u8())
	x.keyLists(&c.Required, &c.Approvals)
	c.Proposed, c.Applied = uint64(x.i64()), uint64(x.i64())
	if err := x.err("correction"); err != nil {
		return nil, err
	}
	return c, nil
}

// target loads the record a correction names: its index entry and sites.
func (blk *Block) target(id ledger.Hash) (*Presence, error) {
	v, ok, err := blk.b.Get(store.TxIndexKey(id))
	if err != nil {
		return nil, err
	}
	if !ok || len(v) != 12 {
		return nil, reject(CodeInvalid, "target", "no transaction %s… on the ledger", id.String()[:16])
	}
	raw, ok, err := store.ReadTx(blk.b, beU64(v[:8]), beU32(v[8:]))
	if err != nil {
		return nil, err
	}
	if !ok {
		// Applied earlier in this very block: not yet stored as a block.
		return nil, reject(CodeInvalid, "target", "the record must be in an earlier block")
	}
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: stored transaction: %v", store.ErrCorrupt, err)
	}
	var ref ledger.PersonRef
	var in int64
	switch b := tx.Body.(type) {
	case *ledger.Visit:
		ref, in = b.Person, b.In
	case *ledger.Move:
		ref, in = b.Person, b.Depart
	default:
		return nil, reject(CodeInvalid, "target", "only visits and movements can be corrected, not a %s", tx.Body.Kind())
	}
	p, err := blk.person("target", ref)
	if err != nil {
		return nil, err
	}
	pv, ok, err := blk.b.Get(store.PersonKey(p, in, id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: a stored record has no index entry", store.ErrCorrupt)
	}
	return DecodePresence(pv)
}

// requiredParties are the keys whose approvals count for a record: the
// authorities of its origin and destination regions and the administrator.
func (blk *Block) requiredParties(pr *Presence) ([2]string, [][32]byte, error) {
	rule := &blk.m.gen.Corrections
	s, err := blk.siteAt(pr.Site)
	if err != nil {
		return [2]string{}, nil, err
	}
	regions := [2]string{s.Region, s.Region}
	if pr.Kind == PresenceMove {
		s2, err := blk.siteAt(pr.Site2)
		if err != nil {
			return regions, nil, err
		}
		regions[1] = s2.Region
	}
	keys := [][32]byte{rule.Administrator}
	for _, region := range regions {
		k, ok := rule.AuthorityOf(region)
		if !ok {
			return regions, nil, reject(CodeInvalid, "target", "no authority is registered for region %q, so no correction can be approved", region)
		}
		keys = append(keys, k)
	}
	return regions, distinctKeys(keys), nil
}

// distinctKeys sorts keys (at least one) and drops repeats: one party
// holding two roles approves once.
func distinctKeys(keys [][32]byte) [][32]byte {
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i][:], keys[j][:]) < 0 })
	out := keys[:1]
	for _, k := range keys[1:] {
		if k != out[len(out)-1] {
			out = append(out, k)
		}
	}
	return out
}

// keyLists writes lists of keys, each after its one-byte count.
func (x *w) keyLists(ls ...[][32]byte) {
	for _, l := range ls {
		x.u8(uint8(len(l)))
		for _, k := range l {
			x.raw(k[:])
		}
	}
}

// keyLists reads lists of keys written by w.keyLists.
func (x *r) keyLists(ls ...*[][32]byte) {
	for _, l := range ls {
		m := int(x.u8())
		for i := 0; i < m && !x.bad; i++ {
			var k [32]byte
			copy(k[:], x.take(32))
			*l = append(*l, k)
		}
	}
}

func contains(keys [][32]byte, k [32]byte) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

func partiesText(regions [2]string) string {
	if regions[0] == regions[1] {
		return fmt.Sprintf("the authority of region %q and the administrator", regions[0])
	}
	return fmt.Sprintf("the authorities of regions %q and %q and the administrator", regions[0], regions[1])
}

func (blk *Block) propose(tx *ledger.Tx, id ledger.Hash, b *ledger.Correction) error {
	pr, err := blk.target(b.Target)
	if err != nil {
		return err
	}
	if pr.Status == StatusAnnulled || pr.Status == StatusAmended {
		return reject(CodeConflict, "target", "the record was already corrected")
	}
	regions, req, err := blk.requiredParties(pr)
	if err != nil {
		return err
	}
	signer := tx.Sigs[0].Key
	if !contains(req, signer) {
		return reject(CodeWrongSigner, "signature", "a correction of this record is proposed and approved only by %s", partiesText(regions))
	}
	if b.Action == ledger.ActionAmend {
		// The corrected record obeys the rules of a record.
		if err := blk.checkTimes("in", "out", b.In, b.Out); err != nil {
			return err
		}
		if b.Site != "" {
			if pr.Kind != PresenceVisit {
				return reject(CodeInvalid, "site", "only a visit's site can be amended")
			}
			s, err := blk.site(b.Site)
			if err != nil {
				return err
			}
			if s == nil {
				return reject(CodeUnknownSite, "site", "site %q is not registered", b.Site)
			}
		}
	}
	quorum := blk.m.gen.Corrections.Quorum
	if quorum <= 0 || quorum > len(req) {
		quorum = len(req)
	}
	c := &Correction{ID: id, Target: b.Target, Action: b.Action, In: b.In, Out: b.Out, Site: b.Site, Reason: b.Reason,
		Regions: regions, Required: req, Quorum: quorum, Approvals: [][32]byte{signer}, Proposed: blk.height}
	if err := blk.set(store.CorrectionHistKey(b.Target, id), nil); err != nil {
		return err
	}
	return blk.settle(c, pr)
}

func (blk *Block) approve(tx *ledger.Tx, b *ledger.Approval) error {
	if b.Approver != tx.Sigs[0].Key {
		return reject(CodeWrongSigner, "approver", "an approval must be signed by the approver it names")
	}
	v, ok, err := blk.b.Get(store.CorrectionKey(b.Correction))
	if err != nil {
		return err
	}
	if !ok {
		// An approval names a correction or a validator change.
		p, err := ReadValidatorProposal(blk.b, b.Correction)
		if err != nil {
			return err
		}
		if p != nil {
			return blk.approveValidator(tx, p)
		}
		return reject(CodeInvalid, "correction", "no correction or validator change %s… on the ledger", b.Correction.String()[:16])
	}
	c, err := DecodeCorrection(v)
	if err != nil {
		return err
	}
	if c.Applied != 0 {
		return reject(CodeConflict, "correction", "already in effect since height %d", c.Applied)
	}
	signer := tx.Sigs[0].Key
	if !contains(c.Required, signer) {
		return reject(CodeWrongSigner, "signature", "this correction is approved only by %s", partiesText(c.Regions))
	}
	if contains(c.Approvals, signer) {
		return reject(CodeConflict, "signature", "this party has already approved the correction")
	}
	pr, err := blk.target(c.Target)
	if err != nil {
		return err
	}
	c.Approvals = append(c.Approvals, signer)
	return blk.settle(c, pr)
}

// settle stores the correction and, once the quorum approved, applies it:
// the original stays, marked annulled or amended; an amendment adds the
// corrected record under the correction's id.
func (blk *Block) settle(c *Correction, pr *Presence) error {
	if len(c.Approvals) >= c.Quorum {
		if pr.Status == StatusAnnulled || pr.Status == StatusAmended {
			return reject(CodeConflict, "target", "the record was already corrected by another correction")
		}
		c.Applied = blk.height
		st := StatusAnnulled
		if c.Action == ledger.ActionAmend {
			st = StatusAmended
		}
		orig := *pr
		if err := blk.setStatus(pr, st); err != nil {
			return err
		}
		// Records changed in place: the person's windows are read from
		// the store from now on, never from the window cache.
		blk.noWin[pr.Person] = true
		// The settled chain changed under the person's cached tail.
		var val personVal
		if blk.m.params.Validation.Enabled {
			var err error
			if val, err = blk.personVal(pr.Person); err != nil {
				return err
			}
			val.Stale = true
			if err := blk.setVal(pr.Person, val); err != nil {
				return err
			}
		}
		if c.Action == ledger.ActionAmend {
			nw := orig
			nw.Status, nw.In, nw.Out, nw.TxID = StatusRecorded, c.In, c.Out, c.ID
			if c.Site != "" {
				s, err := blk.site(c.Site)
				if err != nil {
					return err
				}
				nw.Site = s.Num
			}
			enc := encodePresence(&nw)
			if err := blk.set(store.PersonKey(nw.Person, nw.In, nw.TxID), enc); err != nil {
				return err
			}
			if nw.Kind == PresenceVisit {
				if err := blk.set(store.SiteIdxKey(nw.Site, nw.In, nw.TxID), enc); err != nil {
					return err
				}
				if err := blk.growSiteDur(nw.Site, nw.Out-nw.In); err != nil {
					return err
				}
			}
			// An amended record in a window still open is decided with
			// it when it closes, like any record of the window.
			if v := &blk.m.params.Validation; v.Enabled {
				if _, end := v.WindowOf(nw.In); end > val.ClosedEnd {
					rec, err := blk.recOf(&nw, blk.siteAt)
					if err != nil {
						return err
					}
					if err := blk.pendingWindow(&nw, &rec, end); err != nil {
						return err
					}
				}
			}
		}
	}
	return blk.set(store.CorrectionKey(c.ID), encodeCorrection(c))
}

func beU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
func beU32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
