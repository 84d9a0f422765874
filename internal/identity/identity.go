// Package identity turns raw personal identifiers into the pseudonyms the
// ledger uses, and seals the raw canonical ids into the authority's vault.
// Raw identifiers enter here and leave only through Vault.OpenIdentity
// (or Open), to the authority.
package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/oprf"
)

// Pseudonymizer computes keyed pseudonyms. Without its key nobody can link a
// pseudonym to an identifier, not even by trying every phone number. It
// holds one of two schemes, the one the chain's genesis names: HMAC-SHA256
// (NewPseudonymizer; a genesis that names no pseudonym key) or the VOPRF
// scheme (NewOPRFPseudonymizer; see oblivious.go), whose pseudonyms a
// site can obtain without showing the node the reference. Safe for
// concurrent use.
type Pseudonymizer struct {
	key []byte // HMAC scheme
	// VOPRF scheme: the key, and a cache of recent pseudonyms.
	sk    *oprf.PrivateKey
	cache *outputCache
}

// NewPseudonymizer keeps a copy of a secret of at least 32 bytes.
func NewPseudonymizer(secret []byte) (*Pseudonymizer, error) {
	if len(secret) < 32 {
		return nil, errors.New("identity: pseudonym key must be at least 32 bytes")
	}
	return &Pseudonymizer{key: derive(secret, "epiledger/v1/pseudonym-key")}, nil
}

func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Normalize puts a reference "scheme:value" into canonical form: scheme
// lower-cased, surrounding spaces removed.
func Normalize(ref string) string {
	ref = strings.TrimSpace(ref)
	i := strings.IndexByte(ref, ':')
	if i < 0 {
		return ref
	}
	return strings.ToLower(ref[:i]) + ":" + strings.TrimSpace(ref[i+1:])
}

// Of returns the pseudonym of a normalized reference.
func (p *Pseudonymizer) Of(ref string) ledger.Pseudonym {
	if p.sk != nil {
		return p.ofOPRF(ref)
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte("epiledger/v1/person\x00"))
	m.Write([]byte(ref))
	var out ledger.Pseudonym
	m.Sum(out[:0])
	return out
}

// Person returns the pseudonym of a canonical id (without "id:").
func (p *Pseudonymizer) Person(canonicalID string) ledger.Pseudonym {
	return p.Of("id:" + canonicalID)
}

// Ref turns a person reference from a record ("id:..." or an alias such as
// "phone:...") into its ledger form. It validates the reference first: it
// must be text as it arrives (ledger.CheckText: a control character, even
// one Normalize would trim, invalid UTF-8 or U+FFFD is refused, never
// dropped or replaced), then its normalized form must pass
// record.CheckRef. The error is a *record.FieldError on field that never
// repeats the reference.
func (p *Pseudonymizer) Ref(field, ref string) (ledger.PersonRef, error) {
	ref, err := CheckRef(field, ref)
	if err != nil {
		return ledger.PersonRef{}, err
	}
	return p.Checked(ref), nil
}

// CheckRef checks a person reference as Pseudonymizer.Ref does and returns
// its normalized form; it needs no key, so a site can check references
// before asking a node for their pseudonyms. The error is a
// *record.FieldError on field that never repeats the reference.
func CheckRef(field, ref string) (string, error) {
	if err := ledger.CheckText(field, ref); err != nil {
		return "", err
	}
	ref = Normalize(ref)
	if err := ndjson.CheckRef(field, ref); err != nil {
		return "", err
	}
	if msg := lookAlike(ref); msg != "" {
		return "", &ledger.FieldError{Field: field, Msg: msg}
	}
	return ref, nil
}

// lookAlike names what makes ref print like another reference it is not:
// an invisible or direction-changing character (Unicode format
// characters: zero-width spaces, right-to-left overrides), anywhere; a
// character outside ASCII in a canonical id or a phone number (full-width
// digits). Such a reference would be a person of its own whose rows read
// as someone else's.
func lookAlike(ref string) string {
	scheme, _, _ := strings.Cut(ref, ":")
	for _, r := range ref {
		if unicode.Is(unicode.Cf, r) {
			return "holds an invisible or direction-changing character"
		}
		if r >= utf8.RuneSelf && (scheme == "id" || scheme == "phone") {
			return "a canonical id or phone number is ASCII letters and digits"
		}
	}
	return ""
}

// Checked returns the ledger form of a reference that CheckRef returned.
func (p *Pseudonymizer) Checked(ref string) ledger.PersonRef {
	return ledger.PersonRef{Ref: p.Of(ref), Alias: !isCanonical(ref)}
}

// isCanonical reports whether a checked reference is a canonical id
// ("id:...") rather than an alias.
func isCanonical(ref string) bool { return strings.HasPrefix(ref, "id:") }

// CanonicalID returns the canonical id an "id:" reference (as CheckRef
// returned it) names, and false for an alias.
func CanonicalID(ref string) (string, bool) {
	return strings.CutPrefix(ref, "id:")
}

// Vault seals raw canonical ids (and, with SealIdentity, the aliases bound
// to them) with AES-256-GCM under a key derived from the authority's
// secret; the person pseudonym is the associated data, so a sealed id
// cannot be moved to another person.
type Vault struct {
	aead cipher.AEAD
}

// NewVault derives the vault key from the secret.
func NewVault(secret []byte) (*Vault, error) {
	if len(secret) < 32 {
		return nil, errors.New("identity: vault key must be at least 32 bytes")
	}
	blk, err := aes.NewCipher(derive(secret, "epiledger/v1/vault-key"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, err
	}
	return &Vault{aead: aead}, nil
}

// Seal encrypts a canonical id for person.
func (v *Vault) Seal(person ledger.Pseudonym, canonicalID string) []byte {
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("identity: no randomness: %v", err))
	}
	return v.aead.Seal(nonce, nonce, []byte(canonicalID), person[:])
}

// ErrSealed is returned when a sealed id does not open: wrong key, wrong
// person or tampered bytes.
var ErrSealed = errors.New("identity: sealed id does not open")

// Open decrypts what was sealed for person, as it was sealed: a bare id
// from Seal, the encoded Identity from SealIdentity. Readers of the vault
// use OpenIdentity, which reads both.
func (v *Vault) Open(person ledger.Pseudonym, sealed []byte) (string, error) {
	n := v.aead.NonceSize()
	if len(sealed) < n {
		return "", ErrSealed
	}
	pt, err := v.aead.Open(nil, sealed[:n], sealed[n:], person[:])
	if err != nil {
		return "", ErrSealed
	}
	return string(pt), nil
}
