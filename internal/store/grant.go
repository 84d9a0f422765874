package store

// Cross-region reads by grant (issue 15, docs/REGIONS.md step 8), written
// by the state machine:
//
//	y txid             -> an access request made here (the national chain): its transaction (state)
//	G txid             -> a grant held here: made here (national) or carried down; its origin and transaction (state)
//	K grantee txid     -> the grants a key holds (state)
//	N txid             -> a grant revoked: the transaction here that holds the revocation, and its block's time (state)
//
// A grant's id is its access_grant transaction's id on the national
// chain, wherever it is held.
const (
	TabAccessRequest = 'y'
	TabGrant         = 'G'
	TabGrantee       = 'K'
	TabRevoked       = 'N'
)

// RevokedKey is the key of grant txid's revocation.
func RevokedKey(txid [32]byte) []byte { return key(TabRevoked, txid[:]) }

// AccessRequestKey is the key of access request txid.
func AccessRequestKey(txid [32]byte) []byte { return key(TabAccessRequest, txid[:]) }

// AccessRequestRange bounds every access request kept.
func AccessRequestRange() (lo, hi []byte) {
	return []byte{TabAccessRequest}, []byte{TabAccessRequest + 1}
}

// GrantKey is the key of grant txid.
func GrantKey(txid [32]byte) []byte { return key(TabGrant, txid[:]) }

// GrantRange bounds every grant held.
func GrantRange() (lo, hi []byte) { return []byte{TabGrant}, []byte{TabGrant + 1} }

// GranteeKey indexes grant txid under the key it opens reads to.
func GranteeKey(grantee, txid [32]byte) []byte { return key(TabGrantee, grantee[:], txid[:]) }

// GranteeRange bounds the grants of grantee.
func GranteeRange(grantee [32]byte) (lo, hi []byte) {
	lo = key(TabGrantee, grantee[:])
	return lo, PrefixEnd(lo)
}

func init() {
	StateTables = append(StateTables, TabAccessRequest, TabGrant, TabGrantee, TabRevoked)
	// A grant may follow its request in the same block, a revocation its
	// grant.
	readBack[TabAccessRequest], readBack[TabGrant], readBack[TabRevoked] = true, true, true
}
