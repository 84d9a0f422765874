package state

import (
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/store"
)

// Roles the API knows; see ledger.RoleSite and friends.
var knownRoles = map[string]bool{ledger.RoleSite: true, ledger.RoleHospital: true, ledger.RoleInvestigator: true,
	ledger.RoleAuditor: true, ledger.RoleAdmin: true, ledger.RoleNode: true, ledger.RoleRelay: true,
	ledger.RoleN3: true, ledger.RoleN2: true, ledger.RoleN1: true, ledger.RoleNone: true,
	ledger.RoleManufacturer: true, ledger.RoleDistributor: true, ledger.RoleWarehouse: true, ledger.RoleCharity: true}

// isAdministrator reports whether key administers the chain: the chain
// authority or the administrator of the correction rule.
func (blk *Block) isAdministrator(key [32]byte) bool {
	return key == blk.m.gen.Authority || key == blk.m.gen.Corrections.Administrator
}

func (blk *Block) grantRole(tx *ledger.Tx, b *ledger.GrantRole) error {
	if !blk.isAdministrator(tx.Sigs[0].Key) {
		return reject(CodeWrongSigner, "signature", "only the administrator grants roles")
	}
	if !knownRoles[b.Role] {
		return reject(CodeInvalid, "role", "unknown role %q (site, hospital, investigator, auditor, administrator, node, relay, n3, n2, n1, manufacturer, distributor, warehouse, charity, none)", b.Role)
	}
	if b.Role == ledger.RoleN1 {
		if c, err := region.Parse(blk.m.gen.Region); err != nil || c != region.National {
			return reject(CodeInvalid, "role", "the role n1 is held on the national chain only")
		}
	}
	if b.Key == blk.m.gen.Authority {
		return reject(CodeInvalid, "key", "the chain authority holds every role already")
	}
	if held, _, err := RoleOf(blk.b, &blk.m.gen, b.Key); err != nil {
		return err
	} else if held == ledger.RoleDoctor && b.Role != ledger.RoleNone {
		return reject(CodeConflict, "key", "the key is a doctor's, registered by a hospital: give another key the role")
	}
	return blk.setRole(b.Key, b.Role, b.Name)
}

// setRole gives key role, under name.
func (blk *Block) setRole(key [32]byte, role, name string) error {
	var x w
	x.str(role)
	x.str(name)
	return blk.set(store.RoleKey(key), x.b)
}

// RoleOf returns the role and name granted to key; the chain authority
// holds every role (role "authority").
func RoleOf(r store.Reader, gen *Genesis, key [32]byte) (role, name string, err error) {
	if key == gen.Authority {
		return "authority", "chain authority", nil
	}
	v, ok, err := r.Get(store.RoleKey(key))
	if err != nil || !ok {
		return ledger.RoleNone, "", err
	}
	x := r2(v)
	role, name = x.str(), x.str()
	if err := x.err("role"); err != nil {
		return "", "", err
	}
	return role, name, nil
}

func r2(v []byte) *r { return &r{b: v} }

// audit stores an audit record under its block time. Only the chain
// authority (the node) writes them.
func (blk *Block) audit(tx *ledger.Tx, id ledger.Hash, b *ledger.Audit) error {
	if k := tx.Sigs[0].Key; k != blk.m.gen.Authority {
		// A consortium organisation's node signs with its own key, which
		// the administrator granted the role node.
		role, _, err := RoleOf(blk.b, &blk.m.gen, k)
		if err != nil {
			return err
		}
		if role != ledger.RoleNode {
			return reject(CodeWrongSigner, "signature", "audit records are written by the chain authority or by a node whose key holds the role node")
		}
	}
	if b.Case == "" || b.Purpose == "" {
		return reject(CodeInvalid, "case", "an audit record names its case and purpose")
	}
	return blk.set(store.AuditKey(blk.now, id), tx.Bytes())
}
