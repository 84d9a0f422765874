package state

import (
	"fmt"
	"sort"

	"github.com/oasisprotocol/curve25519-voi/curve"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// GenesisValidator is a validator the genesis names: the organisation
// that runs it, its CometBFT consensus key (Ed25519, generated on the
// organisation's own machine) and its voting power.
type GenesisValidator struct {
	Org   string
	Key   [32]byte
	Power int64
}

// CheckValidators checks a genesis's validators: each organisation and
// key named once, a valid Ed25519 key, a power from 1 to
// ledger.MaxValidatorPower.
func CheckValidators(vals []GenesisValidator) error {
	orgs, keys := map[string]bool{}, map[[32]byte]bool{}
	for i, v := range vals {
		if v.Org == "" || len(v.Org) > ledger.MaxNameLen {
			return fmt.Errorf("validators[%d].organisation: 1 to %d bytes", i, ledger.MaxNameLen)
		}
		if err := ledger.CheckText("organisation", v.Org); err != nil {
			return fmt.Errorf("validators[%d].%w", i, err)
		}
		if orgs[v.Org] {
			return fmt.Errorf("validators[%d].organisation: %q is named twice", i, v.Org)
		}
		if err := checkConsensusKey(v.Key); err != nil {
			return fmt.Errorf("validators[%d].public_key: %s", i, err.Msg)
		}
		if keys[v.Key] {
			return fmt.Errorf("validators[%d].public_key: named twice", i)
		}
		if v.Power < 1 || v.Power > ledger.MaxValidatorPower {
			return fmt.Errorf("validators[%d].power: 1 to %d", i, ledger.MaxValidatorPower)
		}
		orgs[v.Org], keys[v.Key] = true, true
	}
	return nil
}

// Validator is a validator of the set the ledger records: an
// organisation, its consensus key, its power (0 once it left) and the
// height of the block that decided its current entry (0: the genesis).
type Validator struct {
	Org     string
	Key     [32]byte
	Power   int64
	Decided uint64
}

// ValidatorUpdate is a change of one consensus key's power decided in a
// block; power 0 removes the key from the set.
type ValidatorUpdate struct {
	Key   [32]byte
	Power int64
}

// ValidatorProposal is a proposed validator change and its approvals.
// Required and Quorum follow the correction rule: every authority of
// the genesis (each region's and the administrator), Quorum of them.
type ValidatorProposal struct {
	ID        ledger.Hash
	Change    ledger.ValidatorChange
	Required  [][32]byte // sorted
	Quorum    int
	Approvals [][32]byte // in the order they arrived
	Proposed  uint64
	Decided   uint64 // 0 while pending
}

func encodeProposal(p *ValidatorProposal) []byte {
	var x w
	x.raw(p.ID[:])
	x.str(p.Change.Org)
	x.raw(p.Change.Key[:])
	x.i64(p.Change.Power)
	x.u32(uint32(len(p.Change.Reason)))
	x.raw([]byte(p.Change.Reason))
	x.u8(uint8(p.Quorum))
	x.keyLists(p.Required, p.Approvals)
	x.i64(int64(p.Proposed))
	x.i64(int64(p.Decided))
	return x.b
}

// DecodeValidatorProposal decodes a stored validator change; a damaged
// record is store.ErrCorrupt and returns nothing.
func DecodeValidatorProposal(b []byte) (*ValidatorProposal, error) {
	x := r{b: b}
	p := &ValidatorProposal{}
	copy(p.ID[:], x.take(32))
	p.Change.Org = x.str()
	copy(p.Change.Key[:], x.take(32))
	p.Change.Power = x.i64()
	n := int(x.u32())
	if n > len(x.b) {
		x.bad = true
	} else {
		p.Change.Reason = string(x.take(n))
	}
	p.Quorum = int(x.u8())
	x.keyLists(&p.Required, &p.Approvals)
	p.Proposed, p.Decided = uint64(x.i64()), uint64(x.i64())
	if err := x.err("validator change"); err != nil {
		return nil, err
	}
	return p, nil
}

func encodeValidators(vs []Validator) []byte {
	var x w
	x.u32(uint32(len(vs)))
	for _, v := range vs {
		x.str(v.Org)
		x.raw(v.Key[:])
		x.i64(v.Power)
		x.i64(int64(v.Decided))
	}
	return x.b
}

// DecodeValidators decodes the stored validator set.
func DecodeValidators(b []byte) ([]Validator, error) {
	x := r{b: b}
	n := int(x.u32())
	if n > len(b)/49 {
		x.bad = true
	}
	var vs []Validator
	for i := 0; i < n && !x.bad; i++ {
		var v Validator
		v.Org = x.str()
		copy(v.Key[:], x.take(32))
		v.Power = x.i64()
		v.Decided = uint64(x.i64())
		vs = append(vs, v)
	}
	if err := x.err("validator set"); err != nil {
		return nil, err
	}
	return vs, nil
}

func encodeUpdates(us []ValidatorUpdate) []byte {
	var x w
	x.u32(uint32(len(us)))
	for _, u := range us {
		x.raw(u.Key[:])
		x.i64(u.Power)
	}
	return x.b
}

// DecodeValidatorUpdates decodes a block's decided updates.
func DecodeValidatorUpdates(b []byte) ([]ValidatorUpdate, error) {
	x := r{b: b}
	n := int(x.u32())
	if n > len(b)/40 {
		x.bad = true
	}
	var us []ValidatorUpdate
	for i := 0; i < n && !x.bad; i++ {
		var u ValidatorUpdate
		copy(u.Key[:], x.take(32))
		u.Power = x.i64()
		us = append(us, u)
	}
	if err := x.err("validator updates"); err != nil {
		return nil, err
	}
	return us, nil
}

// getter reads the committed store, or a block's batch.
type getter interface {
	Get(key []byte) ([]byte, bool, error)
}

// ReadValidators returns the validator set the ledger records in r (the
// committed store or a block's batch): the genesis's until a change is
// decided, sorted by organisation, those that left with power 0.
func ReadValidators(r getter, g *Genesis) ([]Validator, error) {
	v, ok, err := r.Get(store.ValidatorSetKey())
	if err != nil {
		return nil, err
	}
	if ok {
		return DecodeValidators(v)
	}
	out := make([]Validator, len(g.Validators))
	for i, gv := range g.Validators {
		out[i] = Validator{Org: gv.Org, Key: gv.Key, Power: gv.Power}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Org < out[j].Org })
	return out, nil
}

// ReadValidatorUpdates returns the validator updates decided in the block
// at height (none for most blocks), from r: the committed store or the
// batch the block was applied to.
func ReadValidatorUpdates(r getter, height uint64) ([]ValidatorUpdate, error) {
	v, ok, err := r.Get(store.ValidatorUpdatesKey(height))
	if err != nil || !ok {
		return nil, err
	}
	return DecodeValidatorUpdates(v)
}

// ReadValidatorProposal reads a proposed validator change by id; nil if
// there is none.
func ReadValidatorProposal(r getter, id ledger.Hash) (*ValidatorProposal, error) {
	v, ok, err := r.Get(store.ValidatorChangeKey(id))
	if err != nil || !ok {
		return nil, err
	}
	return DecodeValidatorProposal(v)
}

// checkConsensusKey refuses what cannot be a CometBFT validator's
// Ed25519 key: a point that does not decode, a non-canonical encoding or
// one of small order (the zero key among them).
func checkConsensusKey(k [32]byte) *Rejection {
	c, err := curve.NewCompressedEdwardsYFromBytes(k[:])
	if err != nil || !c.IsCanonicalVartime() {
		return reject(CodeInvalid, "key", "not an Ed25519 public key")
	}
	p, err := new(curve.EdwardsPoint).SetCompressedY(c)
	if err != nil {
		return reject(CodeInvalid, "key", "not an Ed25519 public key")
	}
	if p.IsSmallOrder() {
		return reject(CodeInvalid, "key", "a key of small order cannot sign")
	}
	return nil
}

// validatorParties are the keys whose approvals count for a validator
// change: the administrator and every region's authority, distinct and
// sorted; and how many of them must approve (the corrections' quorum).
func (blk *Block) validatorParties() ([][32]byte, int) {
	rule := &blk.m.gen.Corrections
	keys := [][32]byte{rule.Administrator}
	for _, a := range rule.Authorities {
		keys = append(keys, a.Key)
	}
	out := distinctKeys(keys)
	q := rule.Quorum
	if q <= 0 || q > len(out) {
		q = len(out)
	}
	return out, q
}

// proposeValidator records a proposed validator change (the proposer's
// approval counts), deciding it at once if that is the quorum.
func (blk *Block) proposeValidator(tx *ledger.Tx, id ledger.Hash, b *ledger.ValidatorChange) error {
	if len(blk.m.gen.Validators) == 0 {
		return reject(CodeInvalid, "organisation", "this chain's genesis names no validators: its validator set is not on the ledger")
	}
	if r := checkConsensusKey(b.Key); r != nil {
		return r
	}
	req, quorum := blk.validatorParties()
	signer := tx.Sigs[0].Key
	if !contains(req, signer) {
		return reject(CodeWrongSigner, "signature", "a validator change is proposed and approved only by the chain's authorities (the administrator and each region's authority)")
	}
	p := &ValidatorProposal{ID: id, Change: *b, Required: req, Quorum: quorum, Approvals: [][32]byte{signer}, Proposed: blk.height}
	// Refused now if it could not be decided on the set as it stands.
	vs, err := ReadValidators(blk.b, &blk.m.gen)
	if err != nil {
		return err
	}
	if _, err := applyChange(vs, b, blk.height); err != nil {
		return err
	}
	return blk.settleValidator(p)
}

// approveValidator adds an approval to a pending validator change.
func (blk *Block) approveValidator(tx *ledger.Tx, p *ValidatorProposal) error {
	signer := tx.Sigs[0].Key
	if p.Decided != 0 {
		return reject(CodeConflict, "correction", "this validator change was decided at height %d", p.Decided)
	}
	if !contains(p.Required, signer) {
		return reject(CodeWrongSigner, "signature", "a validator change is approved only by the chain's authorities (the administrator and each region's authority)")
	}
	if contains(p.Approvals, signer) {
		return reject(CodeConflict, "signature", "this party has already approved the validator change")
	}
	p.Approvals = append(p.Approvals, signer)
	return blk.settleValidator(p)
}

// settleValidator stores the proposal and, once the quorum approved,
// decides it: the set record changes and the block's updates name the
// key's new power.
func (blk *Block) settleValidator(p *ValidatorProposal) error {
	if len(p.Approvals) >= p.Quorum {
		vs, err := ReadValidators(blk.b, &blk.m.gen)
		if err != nil {
			return err
		}
		next, err := applyChange(vs, &p.Change, blk.height)
		if err != nil {
			return err
		}
		us, err := ReadValidatorUpdates(blk.b, blk.height)
		if err != nil {
			return err
		}
		us = setUpdate(us, ValidatorUpdate{Key: p.Change.Key, Power: p.Change.Power})
		p.Decided = blk.height
		if err := blk.set(store.ValidatorSetKey(), encodeValidators(next)); err != nil {
			return err
		}
		if err := blk.set(store.ValidatorUpdatesKey(blk.height), encodeUpdates(us)); err != nil {
			return err
		}
	}
	return blk.set(store.ValidatorChangeKey(p.ID), encodeProposal(p))
}

func setUpdate(us []ValidatorUpdate, u ValidatorUpdate) []ValidatorUpdate {
	for i := range us {
		if us[i].Key == u.Key {
			us[i] = u
			return us
		}
	}
	return append(us, u)
}

// applyChange returns the set after change c, or the rejection that says
// why c cannot be decided on vs: a key another organisation holds; a new
// key for an organisation that is a validator (it leaves, then joins
// with the new key); a leave of an organisation that is no validator or
// that names another key; a set left empty; or a change of a third of
// the voting power or more at once (validators holding more than 2/3 of
// the new set's power then always held power before it, so a newcomer
// that never comes up, or a leave, cannot stop the chain by itself).
func applyChange(vs []Validator, c *ledger.ValidatorChange, height uint64) ([]Validator, error) {
	var total, old int64
	at := -1
	for i, v := range vs {
		total += v.Power
		if v.Org == c.Org {
			at, old = i, v.Power
		} else if v.Key == c.Key && v.Power > 0 {
			return nil, reject(CodeConflict, "key", "this key is organisation %q's validator key", v.Org)
		}
	}
	switch {
	case c.Power == 0 && old == 0:
		return nil, reject(CodeConflict, "organisation", "%q is not a validator: nothing to leave", c.Org)
	case old > 0 && vs[at].Key != c.Key:
		return nil, reject(CodeConflict, "key", "%q's validator key is another: a change of power or a leave names its current key (to change keys, leave, then join with the new one)", c.Org)
	case c.Power == old:
		return nil, reject(CodeConflict, "power", "%q already has power %d", c.Org, old)
	}
	after := total - old + c.Power
	if after == 0 {
		return nil, reject(CodeConflict, "power", "the last validator cannot leave: the chain would have none")
	}
	delta := c.Power - old
	if delta < 0 {
		delta = -delta
	}
	if 3*delta >= total {
		return nil, reject(CodeConflict, "power", "a change of %d of the %d voting power is a third or more: validators with more than 2/3 of the new set's power must be ones that already held it (change it in smaller steps)", delta, total)
	}
	next := append([]Validator(nil), vs...)
	nv := Validator{Org: c.Org, Key: c.Key, Power: c.Power, Decided: height}
	if at >= 0 {
		next[at] = nv
	} else {
		next = append(next, nv)
		sort.Slice(next, func(i, j int) bool { return next[i].Org < next[j].Org })
	}
	return next, nil
}
