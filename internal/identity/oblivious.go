package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/oprf"
)

// The VOPRF pseudonym scheme (issue 13, point 7). The pseudonym of a
// normalized reference ref is
//
//	SHA-256("epiledger/v1/pseudonym/voprf\x00" || F(k, "epiledger/v1/person\x00" || ref))
//
// where F is RFC 9497's VOPRF (ristretto255-SHA512, mode 0x01) under the
// key k that oprf.DeriveKeyPair derives from a seed taken from the home's
// secret, with the info OPRFKeyInfo. Its public key is in the genesis
// (genesis.json "pseudonyms"), under the genesis hash. The node computes
// a pseudonym directly (Pseudonymizer.Of, oprf's Evaluate) when it holds
// the reference; a site that must not show it the reference blinds it
// (Blind), has the node evaluate the blinded element
// (Pseudonymizer.BlindEvaluate) and checks the node's proof against the
// genesis key (Blinding.Finalize). Both routes give the same pseudonym.

// OPRFScheme names the VOPRF scheme in genesis.json.
const OPRFScheme = "voprf-ristretto255-sha512/v1"

// OPRFKeyInfo is the info string of the key's derivation (RFC 9497 sec.
// 3.2.1), which binds the key to this use of the secret.
const OPRFKeyInfo = "epiledger/v1/pseudonym-voprf-key"

const (
	oprfSeedLabel   = "epiledger/v1/pseudonym-voprf-seed"
	oprfInputLabel  = "epiledger/v1/person\x00"
	oprfOutputLabel = "epiledger/v1/pseudonym/voprf\x00"
)

// ErrNotOblivious is returned by Pseudonymizer.BlindEvaluate on a
// pseudonymizer of the HMAC scheme, which has nothing a site could
// evaluate obliviously.
var ErrNotOblivious = errors.New("identity: the chain's pseudonyms are HMAC pseudonyms, which no site can obtain obliviously")

// NewOPRFPseudonymizer returns the VOPRF pseudonymizer of a secret of at
// least 32 bytes (the home's). Its pseudonyms are unrelated to those of
// NewPseudonymizer with the same secret: a chain uses one scheme, the one
// its genesis names.
func NewOPRFPseudonymizer(secret []byte) (*Pseudonymizer, error) {
	if len(secret) < 32 {
		return nil, errors.New("identity: pseudonym key must be at least 32 bytes")
	}
	var seed [oprf.SeedSize]byte
	copy(seed[:], derive(secret, oprfSeedLabel))
	sk, err := oprf.DeriveKeyPair(seed, []byte(OPRFKeyInfo), oprf.ModeVOPRF)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	p := &Pseudonymizer{sk: sk, cache: newOutputCache(oprfCacheSize)}
	if _, err := rand.Read(p.cache.key[:]); err != nil {
		return nil, fmt.Errorf("identity: no randomness: %w", err)
	}
	return p, nil
}

// PublicKey returns the VOPRF public key of the pseudonymizer (the one
// its genesis names), or nil for one of the HMAC scheme.
func (p *Pseudonymizer) PublicKey() *oprf.PublicKey {
	if p.sk == nil {
		return nil
	}
	return p.sk.Public()
}

// BlindEvaluate evaluates blinded elements a site made with Blind (RFC
// 9497 BlindEvaluate in VOPRF mode): the evaluated elements, in order,
// and one proof that each was made with the key of PublicKey. It learns
// nothing about the references behind the elements. An element that is
// not a canonical, non-identity ristretto255 encoding is an error naming
// its position (wrapping oprf.ErrEncoding, oprf.ErrIdentity or
// oprf.ErrLength); callers check each element first (oprf.CheckElement)
// to name it. ErrNotOblivious on an HMAC pseudonymizer. Safe for
// concurrent use.
func (p *Pseudonymizer) BlindEvaluate(blinded [][]byte) (evaluated [][]byte, proof []byte, err error) {
	if p.sk == nil {
		return nil, nil, ErrNotOblivious
	}
	return p.sk.BlindEvaluate(nil, blinded)
}

// oprfInput is the OPRF input of a normalized reference.
func oprfInput(ref string) []byte { return append([]byte(oprfInputLabel), ref...) }

// pseudonymOf turns an OPRF output into a pseudonym.
func pseudonymOf(out []byte) ledger.Pseudonym {
	h := sha256.New()
	h.Write([]byte(oprfOutputLabel))
	h.Write(out)
	var p ledger.Pseudonym
	h.Sum(p[:0])
	return p
}

// maxOPRFRef is the longest reference the VOPRF scheme takes: the input
// with its label must fit RFC 9497's two-byte length. Person references
// are far shorter (record.MaxRefLen).
const maxOPRFRef = oprf.MaxInputSize - len(oprfInputLabel)

// ofOPRF is Of for the VOPRF scheme: from the cache, or one evaluation.
func (p *Pseudonymizer) ofOPRF(ref string) ledger.Pseudonym {
	ck := p.cache.keyOf(ref)
	if ps, ok := p.cache.get(ck); ok {
		return ps
	}
	if len(ref) > maxOPRFRef {
		// A broken invariant: every caller checks references first.
		panic(fmt.Sprintf("identity: a person reference of %d bytes (at most %d)", len(ref), maxOPRFRef))
	}
	out, err := p.sk.Evaluate(oprfInput(ref))
	if err != nil {
		// Only an input that hashes to the identity is left: probability
		// 2^-252.
		panic(fmt.Sprintf("identity: VOPRF evaluation failed: %v", err))
	}
	ps := pseudonymOf(out)
	p.cache.put(ck, ps)
	return ps
}

// oprfCacheSize bounds the VOPRF pseudonymizer's cache: at most this many
// pseudonyms in each of its two generations (about 6 MB in all).
const oprfCacheSize = 1 << 15

// outputCache remembers the pseudonyms of recent references, so that the
// scalar multiplication of a VOPRF evaluation is paid once per person an
// import names rather than once per record. It never holds a reference:
// its keys are SHA-256 under a random per-process key, truncated to 128
// bits. Two generations of at most size entries: when the current one is
// full it becomes the old one and the old one is dropped; a hit in the
// old one moves to the current one. Safe for concurrent use.
type outputCache struct {
	key      [32]byte
	size     int
	mu       sync.Mutex
	cur, old map[[16]byte]ledger.Pseudonym
}

func newOutputCache(size int) *outputCache {
	return &outputCache{size: size, cur: make(map[[16]byte]ledger.Pseudonym)}
}

func (c *outputCache) keyOf(ref string) [16]byte {
	h := sha256.New()
	h.Write(c.key[:])
	h.Write([]byte(ref))
	var sum [32]byte
	h.Sum(sum[:0])
	return [16]byte(sum[:16])
}

func (c *outputCache) get(k [16]byte) (ledger.Pseudonym, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.cur[k]; ok {
		return p, true
	}
	p, ok := c.old[k]
	if ok {
		c.putLocked(k, p)
	}
	return p, ok
}

func (c *outputCache) put(k [16]byte, p ledger.Pseudonym) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, p)
}

func (c *outputCache) putLocked(k [16]byte, p ledger.Pseudonym) {
	if len(c.cur) >= c.size {
		c.old, c.cur = c.cur, make(map[[16]byte]ledger.Pseudonym, c.size)
	}
	c.cur[k] = p
}

// Blinding is a site's side of one oblivious request: the references it
// blinded, their blinds (secrets, kept only in this value) and the
// blinded elements to send. It is used once: Finalize with the node's
// answer, then dropped.
type Blinding struct {
	refs     []string
	blinds   []*oprf.Blind
	elements [][]byte
}

// MaxBlind is the most references one Blinding holds (RFC 9497's batch
// bound; the node's route takes fewer).
const MaxBlind = oprf.MaxBatchSize

// Blind blinds references as CheckRef returned them (1 to MaxBlind),
// with fresh blinds from crypto/rand. Each blinded element is a uniformly
// random group element, whatever the reference: the node learns nothing
// from it, and two blindings of one reference are unlinkable. An error
// names the reference's position, never the reference.
func Blind(refs []string) (*Blinding, error) {
	if len(refs) < 1 || len(refs) > MaxBlind {
		return nil, fmt.Errorf("identity: %d references to blind, want 1 to %d", len(refs), MaxBlind)
	}
	b := &Blinding{refs: append([]string(nil), refs...), blinds: make([]*oprf.Blind, len(refs)), elements: make([][]byte, len(refs))}
	for i, ref := range refs {
		if len(ref) > maxOPRFRef {
			return nil, fmt.Errorf("identity: reference %d: over %d bytes", i, maxOPRFRef)
		}
		bl, el, err := oprf.BlindInput(nil, oprfInput(ref), oprf.ModeVOPRF)
		if err != nil {
			return nil, fmt.Errorf("identity: reference %d: %w", i, err)
		}
		b.blinds[i], b.elements[i] = bl, el
	}
	return b, nil
}

// Elements returns the blinded elements to send, in order (32 bytes
// each; the caller must not change them).
func (b *Blinding) Elements() [][]byte { return b.elements }

// ErrProof is returned by Blinding.Finalize when the node's answer does
// not prove that it used the chain's key: the node evaluated with another
// key (which would give this site pseudonyms nobody else's records name,
// marking its records), or the answer was altered. Nothing is returned
// with it.
var ErrProof = errors.New("identity: the node's pseudonyms are not proven to be made with the chain's key")

// Finalize checks the node's answer (the evaluated elements, in order,
// and its proof) against pub, the VOPRF key the genesis names, and only
// then returns the ledger form of each reference, in order. A proof that
// does not verify, or an answer of the wrong shape, is an error wrapping
// ErrProof.
func (b *Blinding) Finalize(pub *oprf.PublicKey, evaluated [][]byte, proof []byte) ([]ledger.PersonRef, error) {
	if pub == nil {
		return nil, fmt.Errorf("%w: no key to check against", ErrProof)
	}
	if len(evaluated) != len(b.refs) {
		return nil, fmt.Errorf("%w: %d evaluated elements for %d blinded", ErrProof, len(evaluated), len(b.refs))
	}
	inputs := make([][]byte, len(b.refs))
	for i, r := range b.refs {
		inputs[i] = oprfInput(r)
	}
	outs, err := oprf.FinalizeVerify(pub, inputs, b.blinds, b.elements, evaluated, proof)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProof, err)
	}
	ps := make([]ledger.PersonRef, len(outs))
	for i, o := range outs {
		ps[i] = ledger.PersonRef{Ref: pseudonymOf(o), Alias: !isCanonical(b.refs[i])}
	}
	return ps, nil
}
