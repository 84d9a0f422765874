package importer

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
)

// Signer holds the keys that sign records: a home's (HomeSigner) or one
// operator's (KeySigner).
type Signer interface {
	// ChainID is the chain the signatures are bound to.
	ChainID() string
	// Authority returns the chain authority's key, which signs site
	// registrations and identity bindings; an error wrapping
	// ErrNoAuthority when the signer does not hold it.
	Authority() (ed25519.PrivateKey, error)
	// Site returns the key that signs the records of site, or nil (and
	// no error) when the signer holds none.
	Site(site string) (ed25519.PrivateKey, error)
	// NewSite returns the key a site about to be registered will sign
	// with, creating it if need be.
	NewSite(site string) (ed25519.PrivateKey, error)
}

// ErrNoAuthority is returned by a Signer that does not hold the chain
// authority's key.
var ErrNoAuthority = errors.New("importer: the chain authority's key is not held here")

// HomeSigner signs with a home's keys: the authority's, and each site's
// from the keystore (created there when the site is registered).
type HomeSigner struct {
	H *home.Home
}

var _ Signer = HomeSigner{}

// ChainID implements Signer.
func (s HomeSigner) ChainID() string { return s.H.Genesis.ChainID }

// Authority implements Signer.
func (s HomeSigner) Authority() (ed25519.PrivateKey, error) {
	if k := s.H.Authority(); k != nil {
		return k, nil
	}
	return nil, ErrNoAuthority
}

// Site implements Signer.
func (s HomeSigner) Site(site string) (ed25519.PrivateKey, error) { return s.H.Keys.Get(site) }

// NewSite implements Signer.
func (s HomeSigner) NewSite(site string) (ed25519.PrivateKey, error) {
	return s.H.Keys.GetOrCreate(site)
}

// KeySigner signs every site's records with one key: the key of a site
// operator or a hospital (--as). A record of a site registered with
// another key is then refused by the state machine (wrong_signer), and a
// record only the authority signs by the importer (ErrNoAuthority).
type KeySigner struct {
	Chain string
	Key   ed25519.PrivateKey
}

var _ Signer = KeySigner{}

// ChainID implements Signer.
func (s KeySigner) ChainID() string { return s.Chain }

// Authority implements Signer: a KeySigner never holds it.
func (s KeySigner) Authority() (ed25519.PrivateKey, error) { return nil, ErrNoAuthority }

// Site implements Signer.
func (s KeySigner) Site(string) (ed25519.PrivateKey, error) { return s.Key, nil }

// NewSite implements Signer.
func (s KeySigner) NewSite(string) (ed25519.PrivateKey, error) { return s.Key, nil }

// Resolver turns person references into their ledger form.
type Resolver interface {
	// Resolve returns the ledger form of each reference, in order. Each
	// reference is as identity.CheckRef returned it. The canonical id of
	// each "id:" reference is in the node's vault when Resolve returns
	// (before any record naming it is submitted). An error fails the
	// whole batch and stops the import (the node is unreachable, the
	// vault cannot be written).
	Resolve(refs []string) ([]ledger.PersonRef, error)
}

// ResolverFunc is a function that is a Resolver (a node's
// POST /v1/pseudonyms, through client.Client.Pseudonyms).
type ResolverFunc func(refs []string) ([]ledger.PersonRef, error)

// Resolve implements Resolver.
func (f ResolverFunc) Resolve(refs []string) ([]ledger.PersonRef, error) { return f(refs) }

// VaultWriter stores sealed canonical ids: a node's vault, directly or
// through PUT /v1/vault.
type VaultWriter interface {
	PutVault(es []node.VaultEntry) error
}

// IdentityKeeper keeps an identity record's canonical id with its
// aliases in the vault, so that a read that may show them (the follow-up
// list's phones) finds them. A home's resolver is one: identity records
// are the authority's, imported on its home. KeepIdentity seals one;
// Flush stores those kept since the last Flush.
type IdentityKeeper interface {
	KeepIdentity(p ledger.Pseudonym, id identity.Identity) error
	Flush() error
}

// homeResolver makes pseudonyms with a home's secret and seals each
// canonical id the first time it sees it into the vault through vault.
type homeResolver struct {
	pseud   *identity.Pseudonymizer
	seal    *identity.Vault
	vault   VaultWriter
	vaulted map[ledger.Pseudonym]bool
	kept    []node.VaultEntry
}

// KeepIdentity implements IdentityKeeper.
func (r *homeResolver) KeepIdentity(p ledger.Pseudonym, id identity.Identity) error {
	sealed, err := r.seal.SealIdentity(p, id)
	if err != nil {
		return err
	}
	r.vaulted[p] = true
	r.kept = append(r.kept, node.VaultEntry{Person: p, Sealed: sealed})
	return nil
}

// Flush implements IdentityKeeper.
func (r *homeResolver) Flush() error {
	if len(r.kept) == 0 {
		return nil
	}
	err := r.vault.PutVault(r.kept)
	r.kept = nil
	return err
}

// NewHomeResolver returns a Resolver that computes pseudonyms with h's
// secret and stores each new canonical id, sealed with h's vault key,
// through vault. Not safe for concurrent use.
func NewHomeResolver(h *home.Home, vault VaultWriter) Resolver {
	return &homeResolver{pseud: h.Pseudonymizer(), seal: h.Vault(), vault: vault, vaulted: map[ledger.Pseudonym]bool{}}
}

func (r *homeResolver) Resolve(refs []string) ([]ledger.PersonRef, error) {
	if r.pseud == nil || r.seal == nil {
		return nil, fmt.Errorf("%w: it cannot derive pseudonyms; import as a site (--as KEY), which obtains them obliviously", home.ErrNotAuthority)
	}
	out := make([]ledger.PersonRef, len(refs))
	var es []node.VaultEntry
	for i, ref := range refs {
		out[i] = r.pseud.Checked(ref)
		if id, ok := identity.CanonicalID(ref); ok && !r.vaulted[out[i].Ref] {
			r.vaulted[out[i].Ref] = true
			es = append(es, node.VaultEntry{Person: out[i].Ref, Sealed: r.seal.Seal(out[i].Ref, id)})
		}
	}
	if len(es) > 0 {
		if err := r.vault.PutVault(es); err != nil {
			return nil, err
		}
	}
	return out, nil
}
