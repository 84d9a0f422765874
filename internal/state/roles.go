package state

import (
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// Grant is a role the state holds for a key: the last grant_role for it.
type Grant struct {
	Key  [32]byte
	Role string
	Name string
}

// TxID is the id of the grant_role transaction that gave the grant: a
// transaction's id is the hash of its body, and the state keeps the
// body's fields, so the grant names its transaction without storing it.
func (g *Grant) TxID() ledger.Hash {
	return ledger.NewTx(&ledger.GrantRole{Key: g.Key, Role: g.Role, Name: g.Name}).ID()
}

// Roles returns every key that holds a role, in key order; revoked keys
// (role none) are left out, as is the chain authority, which holds every
// role without a grant (see RoleOf). A record that does not decode is an
// error.
func Roles(rd store.Reader) ([]Grant, error) {
	lo, hi := store.TablePrefix(store.TabRole)
	var out []Grant
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		var g Grant
		if len(k) != 1+len(g.Key) {
			derr = fmt.Errorf("%w: role key", store.ErrCorrupt)
			return false
		}
		copy(g.Key[:], k[1:])
		x := r2(v)
		g.Role, g.Name = x.str(), x.str()
		if derr = x.err("role"); derr != nil {
			return false
		}
		if g.Role != ledger.RoleNone {
			out = append(out, g)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, derr
}
