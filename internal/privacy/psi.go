package privacy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// A citizen's own exposure check: private set intersection with blinded
// tokens (a Diffie-Hellman PSI / verifiable OPRF, as in RFC 9497's
// ristretto255 suite in spirit, with our own labels).
//
// A visit is (site, slot), slot the start of an hour (Unix seconds). Its
// point is H(site, slot) (hash to the group). The server holds a secret
// key k, publishes K = g^k and the risk tokens H(site, slot)^k of the risk
// visits (sorted, so their order says nothing). The device draws a fresh
// blinding scalar b per visit, sends H(v)^b, the server answers (H(v)^b)^k
// with one proof that every answer used the k of K, and the device
// unblinds with 1/b, getting H(v)^k, and looks it up among the risk
// tokens. The server sees uniformly random elements (how many, not which
// visits); the device learns which of its own visits are risk visits and
// how many risk tokens there are, nothing about the others. Without k,
// nobody can tell which (site, slot) a risk token stands for except by
// asking the server, which is why evaluation is rate-limited.

// Slot is the length of a visit slot.
const Slot = 3600

// Visit is a visit at the granularity of the exposure check.
type Visit struct {
	Site string
	Slot int64 // Unix seconds, a multiple of Slot
}

// Slots returns the visits of a presence at site from in to out (Unix
// seconds, out >= in): one per hour slot it overlaps.
func Slots(site string, in, out int64) []Visit {
	var vs []Visit
	for s := floorSlot(in); s <= out && s <= floorSlot(out); s += Slot {
		vs = append(vs, Visit{Site: site, Slot: s})
	}
	return vs
}

func floorSlot(t int64) int64 {
	s := t - t%Slot
	if t < 0 && t%Slot != 0 {
		s -= Slot
	}
	return s
}

func (v Visit) point() *curve.RistrettoPoint {
	var slot [8]byte
	binary.BigEndian.PutUint64(slot[:], uint64(v.Slot))
	return hashToGroup(label("psi-visit"), []byte(v.Site), slot[:])
}

// RiskKey is the exposure-check server's key. It is safe for concurrent
// use.
type RiskKey struct {
	k scalar.Scalar
	K curve.RistrettoPoint
}

// NewRiskKey draws a key from rng (crypto/rand if nil).
func NewRiskKey(rng io.Reader) (*RiskKey, error) {
	k, err := randomScalar(rng)
	if err != nil {
		return nil, err
	}
	return riskKey(k), nil
}

func riskKey(k *scalar.Scalar) *RiskKey {
	rk := &RiskKey{k: *k}
	rk.K.MulBasepoint(curve.RISTRETTO_BASEPOINT_TABLE, k)
	return rk
}

// ParseRiskKey decodes a key saved with Bytes.
func ParseRiskKey(b []byte) (*RiskKey, error) {
	k, err := parseScalar(b)
	if err != nil {
		return nil, err
	}
	if k.Equal(scalar.New()) == 1 {
		return nil, ErrScalar
	}
	return riskKey(k), nil
}

// Bytes returns the secret key's encoding. Keep it secret.
func (rk *RiskKey) Bytes() []byte { return encodeScalar(&rk.k) }

// Public returns K = g^k.
func (rk *RiskKey) Public() []byte { return encodeElement(&rk.K) }

// Tokens returns the sorted, de-duplicated risk tokens H(v)^k of visits,
// concatenated (ElementSize bytes each). It uses all CPUs.
func (rk *RiskKey) Tokens(visits []Visit) []byte {
	toks := make([][]byte, len(visits))
	parallel(len(visits), func(lo, hi int) {
		var t curve.RistrettoPoint
		for i := lo; i < hi; i++ {
			t.Mul(visits[i].point(), &rk.k)
			toks[i] = encodeElement(&t)
		}
	})
	slices.SortFunc(toks, bytes.Compare)
	toks = slices.CompactFunc(toks, bytes.Equal)
	return bytes.Join(toks, nil)
}

// Evaluate raises each blinded element (ElementSize bytes each,
// concatenated) to k and proves, in one batched proof, that every answer
// used the k of K. A malformed element is an *ElementError naming it.
func (rk *RiskKey) Evaluate(blinded []byte, rng io.Reader) (evaluated []byte, proof *Proof, err error) {
	bs, err := parseElements(blinded)
	if err != nil {
		return nil, nil, err
	}
	zs := make([]curve.RistrettoPoint, len(bs))
	parallel(len(bs), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			zs[i].Mul(&bs[i], &rk.k)
		}
	})
	m, z := composites(&rk.K, bs, zs)
	// z = m^k for an honest server; prove log_g K = log_m z.
	proof, err = proveDLEQ(label("psi-evaluate"), nil, &rk.k, curve.RISTRETTO_BASEPOINT_POINT, &rk.K, m, z, rng)
	if err != nil {
		return nil, nil, err
	}
	out := make([]byte, 0, len(zs)*ElementSize)
	for i := range zs {
		out = appendElement(out, &zs[i])
	}
	return out, proof, nil
}

// composites folds the pairs (b_i, z_i) into one pair with weights
// hashed from all of them (RFC 9497's ComputeComposites), so that one
// equal-log proof covers every pair.
func composites(K *curve.RistrettoPoint, bs, zs []curve.RistrettoPoint) (m, z *curve.RistrettoPoint) {
	seedParts := [][]byte{encodeElement(K)}
	for i := range bs {
		seedParts = append(seedParts, encodeElement(&bs[i]), encodeElement(&zs[i]))
	}
	seed := hashParts(label("psi-composite-seed"), seedParts...)
	ws := make([]*scalar.Scalar, len(bs))
	bp := make([]*curve.RistrettoPoint, len(bs))
	zp := make([]*curve.RistrettoPoint, len(bs))
	var idx [4]byte
	for i := range bs {
		binary.BigEndian.PutUint32(idx[:], uint32(i))
		ws[i] = hashToScalar(label("psi-composite"), seed[:], idx[:])
		bp[i], zp[i] = &bs[i], &zs[i]
	}
	m, z = curve.NewRistrettoPoint(), curve.NewRistrettoPoint()
	m.MultiscalarMulVartime(ws, bp)
	z.MultiscalarMulVartime(ws, zp)
	return m, z
}

// parseElements decodes concatenated non-identity elements.
func parseElements(b []byte) ([]curve.RistrettoPoint, error) {
	if len(b)%ElementSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte elements", ErrLength, len(b), ElementSize)
	}
	ps := make([]curve.RistrettoPoint, len(b)/ElementSize)
	for i := range ps {
		p, err := parseElement(b[i*ElementSize:(i+1)*ElementSize], false)
		if err != nil {
			return nil, &ElementError{Index: i, Err: err}
		}
		ps[i] = *p
	}
	return ps, nil
}

// Blinding is a device's state during one check: its visits and blinding
// scalars. Not safe for concurrent use; use it once.
type Blinding struct {
	visits []Visit
	b      []scalar.Scalar
	sent   []curve.RistrettoPoint
}

// Blind blinds visits with fresh scalars from rng (crypto/rand if nil)
// and returns the elements to send, concatenated.
func Blind(visits []Visit, rng io.Reader) (*Blinding, []byte, error) {
	bl := &Blinding{visits: visits, b: make([]scalar.Scalar, len(visits)), sent: make([]curve.RistrettoPoint, len(visits))}
	out := make([]byte, 0, len(visits)*ElementSize)
	for i, v := range visits {
		b, err := randomScalar(rng)
		if err != nil {
			return nil, nil, err
		}
		bl.b[i] = *b
		bl.sent[i].Mul(v.point(), b)
		out = appendElement(out, &bl.sent[i])
	}
	return bl, out, nil
}

// ErrRiskKey is returned when the server's answers were not all made with
// the key it published (a server that tags devices with per-device keys is
// caught here).
var ErrRiskKey = errors.New("privacy: the server's answers were not made with its published key")

// Finish checks the server's answers against its public key K and proof,
// unblinds them and returns, for each visit, whether its token is among
// tokens (sorted concatenated risk tokens, as from RiskKey.Tokens).
func (bl *Blinding) Finish(K, evaluated []byte, proof *Proof, tokens []byte) ([]bool, error) {
	pk, err := parseElement(K, false)
	if err != nil {
		return nil, fmt.Errorf("server key: %w", err)
	}
	zs, err := parseElements(evaluated)
	if err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	if len(zs) != len(bl.visits) {
		return nil, fmt.Errorf("%w: %d answers for %d visits", ErrLength, len(zs), len(bl.visits))
	}
	if len(tokens)%ElementSize != 0 {
		return nil, fmt.Errorf("%w: risk tokens", ErrLength)
	}
	m, z := composites(pk, bl.sent, zs)
	if err := verifyDLEQ(label("psi-evaluate"), nil, proof, curve.RISTRETTO_BASEPOINT_POINT, pk, m, z); err != nil {
		return nil, ErrRiskKey
	}
	inv := make([]*scalar.Scalar, len(bl.b))
	for i := range bl.b {
		inv[i] = new(scalar.Scalar).Set(&bl.b[i])
	}
	if len(inv) > 0 {
		scalar.New().BatchInvert(inv) // b != 0: randomScalar never returns 0
	}
	hit := make([]bool, len(zs))
	var t curve.RistrettoPoint
	for i := range zs {
		t.Mul(&zs[i], inv[i])
		hit[i] = contains(tokens, encodeElement(&t))
	}
	clear(bl.b)
	return hit, nil
}

// contains reports whether the sorted concatenation of tokens holds tok.
func contains(tokens, tok []byte) bool {
	lo, hi := 0, len(tokens)/ElementSize
	for lo < hi {
		mid := (lo + hi) / 2
		switch c := bytes.Compare(tokens[mid*ElementSize:(mid+1)*ElementSize], tok); {
		case c == 0:
			return true
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// CheckTokens checks that a token list is sorted, unique and made of
// valid elements, as published.
func CheckTokens(tokens []byte) error {
	ps, err := parseElements(tokens)
	if err != nil {
		return err
	}
	for i := 1; i < len(ps); i++ {
		if bytes.Compare(tokens[(i-1)*ElementSize:i*ElementSize], tokens[i*ElementSize:(i+1)*ElementSize]) >= 0 {
			return fmt.Errorf("risk tokens: element %d is out of order or repeated", i)
		}
	}
	return nil
}
