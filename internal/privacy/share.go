package privacy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// Shares travel through the node, which must not read them (the
// administrator runs the node and holds the decryption key: a share it
// could read, together with the others, would give it a participant's
// vector). So a share's seed is sealed to its recipient: X25519 between
// the sender's and the recipient's registered keys, HKDF-SHA256 bound to
// the session, sender and recipient, then AES-256-GCM with a random nonce.
// Only the two of them can open or forge the box, so a box that opens
// also authenticates its sender; a box changed in transit does not open.

// BoxSize is the length of a sealed share: nonce | seed | tag.
const BoxSize = 12 + 32 + 16

// shareKeys are a participant's private keys.
type shareKeys struct {
	dh   *ecdh.PrivateKey
	sign ed25519.PrivateKey
}

func orRand(rng io.Reader) io.Reader {
	if rng == nil {
		return rand.Reader
	}
	return rng
}

func newShareKeys(rng io.Reader) (*shareKeys, error) {
	rng = orRand(rng)
	var seed [32]byte
	if _, err := io.ReadFull(rng, seed[:]); err != nil {
		return nil, fmt.Errorf("privacy: randomness: %w", err)
	}
	dh, err := ecdh.X25519().NewPrivateKey(seed[:])
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rng, seed[:]); err != nil {
		return nil, fmt.Errorf("privacy: randomness: %w", err)
	}
	return &shareKeys{dh: dh, sign: ed25519.NewKeyFromSeed(seed[:])}, nil
}

func (k *shareKeys) public() PeerKeys {
	return PeerKeys{DH: k.dh.PublicKey().Bytes(), Sign: append([]byte(nil), k.sign.Public().(ed25519.PublicKey)...)}
}

// shareAD is the associated data and key-derivation info of the share
// from -> to.
func shareAD(p *Params, from, to int) []byte {
	ctx := p.context()
	b := append([]byte(nil), label("psu-share")...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ctx)))
	b = append(b, ctx...)
	b = binary.BigEndian.AppendUint32(b, uint32(from))
	return binary.BigEndian.AppendUint32(b, uint32(to))
}

func (k *shareKeys) aead(p *Params, from, to int, peerDH []byte) (cipher.AEAD, []byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(peerDH)
	if err != nil {
		return nil, nil, fmt.Errorf("bad X25519 key: %w", err)
	}
	shared, err := k.dh.ECDH(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("X25519 with the peer's key: %w", err)
	}
	ad := shareAD(p, from, to)
	key, err := hkdf.Key(sha256.New, shared, nil, string(ad), 32)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	g, err := cipher.NewGCM(block)
	return g, ad, err
}

// seal seals seed for participant to.
func (k *shareKeys) seal(p *Params, from, to int, peerDH, seed []byte) ([]byte, error) {
	g, ad, err := k.aead(p, from, to, peerDH)
	if err != nil {
		return nil, &ShareError{From: from, To: to, Msg: err.Error()}
	}
	box := make([]byte, 12, BoxSize)
	if _, err := rand.Read(box); err != nil {
		return nil, err
	}
	return g.Seal(box, box[:12], seed, ad), nil
}

// open opens the box from participant from; any failure is a *ShareError.
func (k *shareKeys) open(p *Params, from, to int, peerDH, box []byte) ([]byte, error) {
	if len(box) != BoxSize {
		return nil, &ShareError{From: from, To: to, Msg: fmt.Sprintf("%d bytes, want %d", len(box), BoxSize)}
	}
	g, ad, err := k.aead(p, from, to, peerDH)
	if err != nil {
		return nil, &ShareError{From: from, To: to, Msg: err.Error()}
	}
	seed, err := g.Open(nil, box[:12], box[12:], ad)
	if err != nil {
		return nil, &ShareError{From: from, To: to, Msg: "does not authenticate (tampered with in transit, or not sealed by the sender)"}
	}
	return seed, nil
}

// expandMask expands the share seed from -> to into one uniform scalar
// per place (AES-256-CTR keyed by a labelled hash of the session, the
// pair and the seed; 64 bytes, wide-reduced, per scalar) into out.
func expandMask(p *Params, from, to int, seed []byte, out []scalar.Scalar) {
	key := sha256.Sum256(append(shareAD(p, from, to), seed...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err)
	}
	stream := cipher.NewCTR(block, make([]byte, aes.BlockSize))
	buf := make([]byte, 64*len(out))
	stream.XORKeyStream(buf, buf)
	for l := range out {
		if _, err := out[l].SetBytesModOrderWide(buf[64*l : 64*l+64]); err != nil {
			panic(err)
		}
	}
	clear(buf)
}
