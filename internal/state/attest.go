package state

import (
	"encoding/binary"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// Attestations (issue 17, docs/SUPPLY.md "Attestations"). The state keeps,
// per content hash, its attestations in block order (then in their order
// within the block): the first names the content's first publisher. A key
// attests a content once; what one content keeps is so bounded by the
// keys holding a role, which only the administrator grants.

// Attested is one attestation of a content as the state keeps it.
type Attested struct {
	Tx     ledger.Hash
	Height uint64
	Seq    uint32 // its place among its block's accepted transactions
	Signer [32]byte
}

// Attestations returns content's attestations in block order, at most
// max (max > 0), and whether there are more: a read costs what it
// returns, never every attestation of a much attested content.
func Attestations(rd store.Reader, content ledger.Hash, max int) ([]Attested, bool, error) {
	lo, hi := store.AttestationRange(content)
	var out []Attested
	more := false
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		if len(out) == max {
			more = true
			return false
		}
		if len(k) != len(lo)+8+4+32 || len(v) != 32 {
			derr = fmt.Errorf("%w: an attestation", store.ErrCorrupt)
			return false
		}
		rest := k[len(lo):]
		out = append(out, Attested{Height: binary.BigEndian.Uint64(rest), Seq: binary.BigEndian.Uint32(rest[8:]),
			Tx: ledger.Hash(rest[12:]), Signer: [32]byte(v)})
		return true
	})
	if err == nil {
		err = derr
	}
	return out, more, err
}

// attest keeps an attestation under its content: signed by a key that
// holds a role (grants take effect from the next block), naming that key,
// the signer's first of the content, its time not after the block's.
func (blk *Block) attest(tx *ledger.Tx, id ledger.Hash, b *ledger.Attestation) error {
	signer := tx.Sigs[0].Key
	role, err := blk.roleIn(signer)
	if err != nil {
		return err
	}
	switch {
	case role == ledger.RoleNone:
		return reject(CodeWrongSigner, "signature", "attestations are signed by a key holding a role the administrator granted")
	case b.By != signer:
		return reject(CodeWrongSigner, "by", "an attestation names its signer's key")
	}
	if err := blk.checkNotFuture("time", b.Time); err != nil {
		return err
	}
	by := store.AttestedByKey(b.Content, signer)
	if prev, ok, err := blk.b.Get(by); err != nil {
		return err
	} else if ok {
		if len(prev) != 32 {
			return fmt.Errorf("%w: an attestation's signer index", store.ErrCorrupt)
		}
		return reject(CodeConflict, "content", "the signer attested this content already (transaction %s)", ledger.Hash(prev).String()[:16])
	}
	if err := blk.set(by, id[:]); err != nil {
		return err
	}
	return blk.set(store.AttestationKey(b.Content, blk.height, uint32(len(blk.txids)), id), signer[:])
}
