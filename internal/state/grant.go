package state

import (
	"slices"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/store"
)

// Cross-region reads by grant (issue 15, docs/REGIONS.md step 8). On the
// national chain an N2 asks (access_request) and an N1 grants
// (access_grant); relays carry the grant down, each level in an
// intel_summary proven under a header the level below anchored, to the
// chains its scope names. Each chain keeps the grants it holds; its node
// serves a grantee's reads within the scope until the expiry, and audits
// each read and each refusal.

// AccessGrantHeld is an access grant this chain holds.
type AccessGrantHeld struct {
	// Revoked, if not zero, is the transaction here that holds its
	// revocation (access_revoke, or the intel_summary that carried one),
	// made at block time RevokedAt (Unix seconds).
	Revoked   ledger.Hash
	RevokedAt int64
	// ID is the access_grant's transaction id on the national chain,
	// Origin that chain; From is the chain it came from ("" when made
	// here). Carrier is the transaction of this chain that holds it (the
	// access_grant itself, or the intel_summary that carried it here): a
	// relay proves it to the chains below.
	ID      ledger.Hash
	Origin  string
	From    string
	Carrier ledger.Hash
	ledger.AccessGrant
}

// Expired reports whether g has expired at t (Unix seconds).
func (g *AccessGrantHeld) Expired(t int64) bool { return t >= g.Expires }

// requireNational refuses what only the national chain takes.
func (blk *Block) requireNational(what string) error {
	if c, err := region.Parse(blk.m.gen.Region); err != nil || c != region.National {
		return reject(CodeInvalid, "tx", "%s the national chain only", what)
	}
	return nil
}

// accessRequest keeps a region's request: on the national chain, by a key
// with the role n2 there.
func (blk *Block) accessRequest(tx *ledger.Tx, id ledger.Hash, b *ledger.AccessRequest) error {
	if err := blk.requireNational("access is asked on"); err != nil {
		return err
	}
	role, _, err := RoleOf(blk.b, &blk.m.gen, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if role != ledger.RoleN2 {
		return reject(CodeWrongSigner, "signature", "access is asked by a key with the role n2 on the national chain")
	}
	if k := ledger.IdentifierIn(b.Reason); k != "" {
		return reject(CodeInvalid, "reason", "seems to hold %s: name persons in the scope, by pseudonym", k)
	}
	return blk.set(store.AccessRequestKey(id), tx.Bytes())
}

// AccessRequestOf returns access request id made on this chain and its
// signer.
func AccessRequestOf(rd store.Reader, id ledger.Hash) (req *ledger.AccessRequest, signer [32]byte, ok bool, err error) {
	v, ok, err := rd.Get(store.AccessRequestKey(id))
	if err != nil || !ok {
		return nil, signer, false, err
	}
	tx, err := ledger.DecodeTx(v)
	if err != nil {
		return nil, signer, false, store.ErrCorrupt
	}
	req, isReq := tx.Body.(*ledger.AccessRequest)
	if !isReq {
		return nil, signer, false, store.ErrCorrupt
	}
	return req, tx.Sigs[0].Key, true, nil
}

// AccessRequestKept is an access request made on this chain.
type AccessRequestKept struct {
	ID     ledger.Hash
	Signer [32]byte
	ledger.AccessRequest
}

// AccessRequests returns the access requests made on this chain, by id.
func AccessRequests(rd store.Reader) ([]AccessRequestKept, error) {
	var out []AccessRequestKept
	lo, hi := store.AccessRequestRange()
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		tx, err := ledger.DecodeTx(v)
		req, ok := tx.Body.(*ledger.AccessRequest)
		if err != nil || !ok {
			derr = store.ErrCorrupt
			return false
		}
		out = append(out, AccessRequestKept{ID: ledger.Hash(k[1:]), Signer: tx.Sigs[0].Key, AccessRequest: *req})
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// accessGrant grants a request: on the national chain, by a key with the
// role n1, to the request's signer, within the request's scope, expiring
// after this block. A request may be granted again (a renewal, a
// narrower scope): each grant stands on its own.
func (blk *Block) accessGrant(tx *ledger.Tx, id ledger.Hash, b *ledger.AccessGrant) error {
	if err := blk.requireNational("access is granted on"); err != nil {
		return err
	}
	role, _, err := RoleOf(blk.b, &blk.m.gen, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if role != ledger.RoleN1 {
		return reject(CodeWrongSigner, "signature", "access is granted by a key with the role n1")
	}
	req, signer, ok, err := AccessRequestOf(blk.b, b.Request)
	if err != nil {
		return err
	}
	if !ok {
		return reject(CodeInvalid, "request", "no access request %s on this chain", b.Request)
	}
	if b.Grantee != signer {
		return reject(CodeInvalid, "grantee", "the grantee is the key that asked")
	}
	if f := b.Scope.Within(&req.Scope); f != "" {
		return reject(CodeInvalid, f, "wider than the request: a grant may narrow a request, never widen it")
	}
	if b.Expires <= blk.now {
		return reject(CodeInvalid, "expires", "in the past: a grant expires after the block that makes it")
	}
	return blk.putGrant(id, id, blk.m.gen.ChainID, "", tx)
}

// carriedGrant takes in a grant carried down from the parent (the
// national chain's access_grant, or the parent's own intel_summary of
// one): it must name this chain or one of its children, and not have
// expired; once per grant.
func (blk *Block) carriedGrant(carrier ledger.Hash, from, origin string, inner *ledger.Tx, g *ledger.AccessGrant, fromParent bool) error {
	if !fromParent {
		return reject(CodeInvalid, "tx", "grants come down from the parent")
	}
	named := slices.Contains(g.Scope.Chains, blk.m.gen.ChainID)
	for _, ch := range g.Scope.Chains {
		if named {
			break
		}
		c, ok, err := ChildOf(blk.b, ch)
		if err != nil {
			return err
		}
		named = ok && !c.Parent
	}
	if !named {
		return reject(CodeInvalid, "tx", "the grant names neither this chain nor one of its children")
	}
	if g.Expires <= blk.now {
		return reject(CodeInvalid, "tx", "the grant has expired")
	}
	id := inner.ID()
	if _, revoked, err := blk.b.Get(store.RevokedKey(id)); err != nil {
		return err
	} else if revoked {
		return reject(CodeConflict, "tx", "this grant is revoked")
	}
	if _, dup, err := blk.b.Get(store.GrantKey(id)); err != nil {
		return err
	} else if dup {
		return reject(CodeConflict, "tx", "this grant is here already")
	}
	return blk.putGrant(id, carrier, origin, from, inner)
}

func (blk *Block) putGrant(id, carrier ledger.Hash, origin, from string, grant *ledger.Tx) error {
	var x w
	x.str(origin)
	x.str(from)
	x.raw(carrier[:])
	x.raw(grant.Bytes())
	if err := blk.set(store.GrantKey(id), x.b); err != nil {
		return err
	}
	g := grant.Body.(*ledger.AccessGrant)
	return blk.set(store.GranteeKey(g.Grantee, id), nil)
}

func decodeGrant(id ledger.Hash, v []byte) (AccessGrantHeld, error) {
	x := r2(v)
	g := AccessGrantHeld{ID: id, Origin: x.str(), From: x.str()}
	copy(g.Carrier[:], x.take(32))
	raw := x.b
	x.b = nil
	if err := x.err("grant"); err != nil {
		return g, err
	}
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		return g, store.ErrCorrupt
	}
	b, ok := tx.Body.(*ledger.AccessGrant)
	if !ok {
		return g, store.ErrCorrupt
	}
	g.AccessGrant = *b
	return g, nil
}

// revocation reads grant id's revocation into g, if it has one.
func revocation(rd store.Reader, g *AccessGrantHeld) error {
	v, ok, err := rd.Get(store.RevokedKey(g.ID))
	if err != nil || !ok {
		return err
	}
	x := r2(v)
	copy(g.Revoked[:], x.take(32))
	g.RevokedAt = x.i64()
	return x.err("revocation")
}

// GrantOf returns grant id if this chain holds it, with its revocation.
func GrantOf(rd store.Reader, id ledger.Hash) (AccessGrantHeld, bool, error) {
	v, ok, err := rd.Get(store.GrantKey(id))
	if err != nil || !ok {
		return AccessGrantHeld{}, false, err
	}
	g, err := decodeGrant(id, v)
	if err == nil {
		err = revocation(rd, &g)
	}
	return g, err == nil, err
}

// accessRevoke withdraws a grant made on this chain (the national one),
// by a key with the role n1, once.
func (blk *Block) accessRevoke(tx *ledger.Tx, id ledger.Hash, b *ledger.AccessRevoke) error {
	if err := blk.requireNational("access is revoked on"); err != nil {
		return err
	}
	role, _, err := RoleOf(blk.b, &blk.m.gen, tx.Sigs[0].Key)
	if err != nil {
		return err
	}
	if role != ledger.RoleN1 {
		return reject(CodeWrongSigner, "signature", "access is revoked by a key with the role n1")
	}
	g, ok, err := GrantOf(blk.b, b.Grant)
	if err != nil {
		return err
	}
	if !ok || g.Origin != blk.m.gen.ChainID {
		return reject(CodeInvalid, "grant", "no access grant %s was made on this chain", b.Grant)
	}
	return blk.revoke(id, b.Grant)
}

// carriedRevoke takes in a revocation carried down from the parent. It is
// kept even for a grant not held here (yet): the grant is then refused
// when it comes. A grant held here must have been made on the chain the
// revocation was.
func (blk *Block) carriedRevoke(carrier ledger.Hash, origin string, b *ledger.AccessRevoke, fromParent bool) error {
	if !fromParent {
		return reject(CodeInvalid, "tx", "revocations come down from the parent")
	}
	g, ok, err := GrantOf(blk.b, b.Grant)
	if err != nil {
		return err
	}
	if ok && g.Origin != origin {
		return reject(CodeInvalid, "tx", "the grant was made on chain %q, the revocation on %q", g.Origin, origin)
	}
	return blk.revoke(carrier, b.Grant)
}

// revoke records grant's revocation, held by transaction carrier; once.
func (blk *Block) revoke(carrier, grant ledger.Hash) error {
	k := store.RevokedKey(grant)
	if _, dup, err := blk.b.Get(k); err != nil {
		return err
	} else if dup {
		return reject(CodeConflict, "grant", "grant %s is revoked already", grant)
	}
	var x w
	x.raw(carrier[:])
	x.i64(blk.now)
	return blk.set(k, x.b)
}

// Grants returns the grants this chain holds, by id; grantee, if not
// zero, keeps that key's only.
func Grants(rd store.Reader, grantee [32]byte) ([]AccessGrantHeld, error) {
	var out []AccessGrantHeld
	var derr error
	if grantee != ([32]byte{}) {
		lo, hi := store.GranteeRange(grantee)
		var ids []ledger.Hash
		err := rd.Scan(lo, hi, func(k, _ []byte) bool {
			ids = append(ids, ledger.Hash(k[len(k)-32:]))
			return true
		})
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			g, ok, err := GrantOf(rd, id) // with its revocation
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, g)
			}
		}
		return out, nil
	}
	lo, hi := store.GrantRange()
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		var g AccessGrantHeld
		if g, derr = decodeGrant(ledger.Hash(k[1:]), v); derr != nil {
			return false
		}
		out = append(out, g)
		return true
	})
	if err == nil {
		err = derr
	}
	for i := range out {
		if err == nil {
			err = revocation(rd, &out[i])
		}
	}
	return out, err
}
