package identity

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
)

// Identity is what the vault holds of a person: the canonical id and the
// aliases bound to it (normalized references such as "phone:138...",
// "plate:鄂A12345"), raw. It leaves the vault only to the authority, for
// an audited read (node.RealID, node.Aliases).
type Identity struct {
	ID      string
	Aliases []string
}

// identityLabel starts the plaintext of a sealed Identity. A sealed bare
// canonical id (Vault.Seal, the vault's first format) never starts with
// a NUL byte: ids and aliases are text (ledger.CheckText), which holds no
// control character. So the two formats cannot be mistaken for each
// other, and NUL separates the fields.
const identityLabel = "\x00epiledger/v1/identity\x00"

// ErrIdentity is returned by SealIdentity for an id or alias that is not
// text (a control character, such as the NUL the format separates with,
// invalid UTF-8) or an alias that is not a reference.
var ErrIdentity = errors.New("identity: an id or alias that is not text cannot be sealed")

// SealIdentity encrypts id for person: the canonical id and its aliases,
// normalized, each once, sorted. The error (wrapping ErrIdentity) never
// repeats a value.
func (v *Vault) SealIdentity(person ledger.Pseudonym, id Identity) ([]byte, error) {
	id, err := id.clean()
	if err != nil {
		return nil, err
	}
	pt := identityLabel + id.ID
	for _, a := range id.Aliases {
		pt += "\x00" + a
	}
	return v.Seal(person, pt), nil
}

// OpenIdentity decrypts what the vault holds of person, in either format:
// an Identity sealed by SealIdentity, or a bare canonical id sealed by
// Seal (no aliases). The error is ErrSealed for a wrong key, a wrong
// person or tampered bytes.
func (v *Vault) OpenIdentity(person ledger.Pseudonym, sealed []byte) (Identity, error) {
	pt, err := v.Open(person, sealed)
	if err != nil {
		return Identity{}, err
	}
	rest, ok := strings.CutPrefix(pt, identityLabel)
	if !ok {
		return Identity{ID: pt}, nil
	}
	fs := strings.Split(rest, "\x00")
	return Identity{ID: fs[0], Aliases: fs[1:]}, nil
}

// Merge returns id with the aliases of o that it lacks, sorted: what the
// vault holds of a person after two imports bound different aliases.
func (id Identity) Merge(o Identity) Identity {
	out := Identity{ID: id.ID, Aliases: append(append([]string(nil), id.Aliases...), o.Aliases...)}
	slices.Sort(out.Aliases)
	out.Aliases = slices.Compact(out.Aliases)
	return out
}

// Equal reports whether id and o hold the same id and aliases.
func (id Identity) Equal(o Identity) bool {
	return id.ID == o.ID && slices.Equal(id.Aliases, o.Aliases)
}

// clean checks id and returns it with its aliases normalized, sorted and
// each once.
func (id Identity) clean() (Identity, error) {
	// CheckText refuses every control character, NUL included.
	if err := ledger.CheckText("id", id.ID); err != nil {
		return Identity{}, fmt.Errorf("%w: the id", ErrIdentity)
	}
	out := Identity{ID: id.ID, Aliases: make([]string, 0, len(id.Aliases))}
	for i, a := range id.Aliases {
		n := Normalize(a)
		if err := ndjson.CheckRef("alias", n); err != nil {
			return Identity{}, fmt.Errorf("%w: aliases[%d]", ErrIdentity, i)
		}
		out.Aliases = append(out.Aliases, n)
	}
	slices.Sort(out.Aliases)
	out.Aliases = slices.Compact(out.Aliases)
	return out, nil
}
