package node

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// Pseudonyms is PseudonymsBy for the chain authority (a caller in this
// process that holds the home), without a quota.
func (n *Node) Pseudonyms(field string, refs []string) ([]ledger.PersonRef, error) {
	return n.PseudonymsBy(n.Home.Genesis.Authority, field, refs, nil)
}

// PseudonymsBy returns the ledger form of each person reference ("id:..."
// or an alias such as "phone:..."), in order, for the caller holding key
// by, who signs records but holds no secret (a site, a hospital):
//
//  1. It checks every reference: a malformed one is a field error
//     naming field[i], which never repeats the reference, and nothing is
//     stored.
//  2. admit, unless nil, is told how many distinct canonical ids ("id:"
//     references) the request names, a number that depends on the
//     request alone; if it refuses (a quota), its error is returned and
//     nothing is looked up or stored.
//  3. For every distinct canonical id it looks up the vault's entry and
//     seals the id, whether or not the vault holds it.
//  4. It commits one synced write: the sealings of the ids the vault did
//     not hold (as the importer of a home would store them, so that an
//     investigator's reports show them), by's latest-call record, which
//     every call rewrites, and, when it sealed any, the log entry of which
//     pseudonyms by had sealed (store.TabVaultLog).
//
// So the answer depends only on the references and the home's secret,
// never on the ledger or the vault, and the work done and written for a
// request does not depend on whether the vault held its ids (one lookup
// and one sealing per distinct id, one synced write per call): neither
// the reply nor its timing says whether a person is known, beyond the
// few bytes a new entry adds to the same write. Safe for concurrent use
// (two callers may seal the same id; both entries open to it, and both
// calls log it).
func (n *Node) PseudonymsBy(by [32]byte, field string, refs []string, admit func(ids int) error) ([]ledger.PersonRef, error) {
	if n.Pseud == nil || n.Vault == nil {
		return nil, notHeld(field, "derive pseudonyms from raw identifiers")
	}
	checked := make([]string, len(refs))
	for i, r := range refs {
		c, err := identity.CheckRef(fmt.Sprintf("%s[%d]", field, i), r)
		if err != nil {
			return nil, err
		}
		checked[i] = c
	}
	out := make([]ledger.PersonRef, len(refs))
	type canonical struct {
		p  ledger.Pseudonym
		id string
	}
	var ids []canonical
	seen := map[ledger.Pseudonym]bool{}
	for i, c := range checked {
		out[i] = n.Pseud.Checked(c)
		if id, ok := identity.CanonicalID(c); ok && !seen[out[i].Ref] {
			seen[out[i].Ref] = true
			ids = append(ids, canonical{out[i].Ref, id})
		}
	}
	if admit != nil {
		if err := admit(len(ids)); err != nil {
			return nil, err
		}
	}
	var kvs [][2][]byte
	var logged []byte
	for _, c := range ids {
		_, held, err := n.DB.Get(store.VaultKey(c.p))
		if err != nil {
			return nil, err
		}
		sealed := n.Vault.Seal(c.p, c.id)
		if !held {
			kvs = append(kvs, [2][]byte{store.VaultKey(c.p), sealed})
			logged = append(logged, c.p[:]...)
		}
	}
	now := time.Now().UnixNano()
	call := binary.BigEndian.AppendUint64(nil, uint64(now))
	call = binary.BigEndian.AppendUint32(call, uint32(len(logged)/32))
	kvs = append(kvs, [2][]byte{store.VaultCallKey(by), call})
	if len(logged) > 0 {
		var first [32]byte
		copy(first[:], logged)
		kvs = append(kvs, [2][]byte{store.VaultLogKey(by, now, first), logged})
	}
	if err := n.DB.SetLocal(kvs); err != nil {
		return nil, err
	}
	return out, nil
}
