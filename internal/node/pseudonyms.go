package node

import (
	"fmt"

	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// Pseudonyms returns the ledger form of each person reference ("id:..."
// or an alias such as "phone:..."), in order, for a caller that signs
// records but holds no secret (a site, a hospital). It first checks every
// reference: a malformed one is a *record.FieldError naming field[i],
// which never repeats the reference, and then nothing is stored. It then
// seals into the vault the canonical id of each "id:" reference that the
// vault does not hold yet, as the importer of a home does, so that an
// investigator's reports show it.
//
// The answer depends only on the references and the home's secret, never
// on the ledger: it says nothing about whether a person or an alias is
// known. Safe for concurrent use (two callers may seal the same id; both
// entries open to it).
func (n *Node) Pseudonyms(field string, refs []string) ([]ledger.PersonRef, error) {
	checked := make([]string, len(refs))
	for i, r := range refs {
		c, err := identity.CheckRef(fmt.Sprintf("%s[%d]", field, i), r)
		if err != nil {
			return nil, err
		}
		checked[i] = c
	}
	out := make([]ledger.PersonRef, len(refs))
	var kvs [][2][]byte
	sealed := map[ledger.Pseudonym]bool{}
	for i, c := range checked {
		out[i] = n.Pseud.Checked(c)
		id, ok := identity.CanonicalID(c)
		if !ok || sealed[out[i].Ref] {
			continue
		}
		sealed[out[i].Ref] = true
		_, held, err := n.DB.Get(store.VaultKey(out[i].Ref))
		if err != nil {
			return nil, err
		}
		if !held {
			kvs = append(kvs, [2][]byte{store.VaultKey(out[i].Ref), n.Vault.Seal(out[i].Ref, id)})
		}
	}
	if len(kvs) > 0 {
		if err := n.DB.SetLocal(kvs); err != nil {
			return nil, err
		}
	}
	return out, nil
}
