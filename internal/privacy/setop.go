package privacy

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"regexp"
	"runtime"
	"slices"
	"sync"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// The multi-party set union / intersection of seed 003, sec. 2 (steps 3-6).
//
// Notation (multiplicative, as in the seed): g the generator, y = g^x the
// administrator's key, E = Enc(e; a) = (E1, E2) = (g^a, y^a) the
// administrator's encryption of the identity e. For each place l,
// participant i draws t and answers
//
//	R_il = E^t * (e, E2^k) = (E1^t, E2^(t+k))
//
// with k = 0 (a re-randomised Enc(e)) or k uniform (then R_il is a
// uniformly random ciphertext): the union encoding takes k uniform when i
// visited l, the intersection encoding when i did not. The choice is a
// constant-time scalar select, so the work does not depend on the visits.
//
// Splitting: R_il is split into s multiplicative shares. The s-1 shares
// sent to the next s-1 participants (in session order) are (e, E2^beta)
// with beta uniform; the share i keeps is R_il divided by them. Each sent
// share is uniformly random and independent of the visits; since every
// sent share of a vector is pseudo-random, it travels as a 32-byte seed
// (sealed to its recipient) that expands to beta for every place. Each
// participant multiplies its kept share with the shares it received and
// uploads that one vector; the cloud multiplies the n uploads into
// prod_i R_il (the sent and received betas cancel); the administrator
// decrypts it: e means "nobody visited l" (union: l is not in the union)
// or "everybody visited l" (intersection: l is in it).

// Op is a set operation.
type Op uint8

// The operations.
const (
	Union        Op = 1
	Intersection Op = 2
)

func (o Op) String() string {
	switch o {
	case Union:
		return "union"
	case Intersection:
		return "intersection"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// ParseOp parses "union" or "intersection".
func ParseOp(s string) (Op, error) {
	switch s {
	case "union":
		return Union, nil
	case "intersection":
		return Intersection, nil
	}
	return 0, errors.New(`want "union" or "intersection"`)
}

// Limits of one session.
const (
	MaxPlaces       = 4096 // m
	MaxParticipants = 256  // n
)

var sessionRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{7,63}$`)

// Params are a session's public parameters: what the administrator
// publishes (on the ledger) when it asks a group for a union or an
// intersection.
type Params struct {
	Session      string   // 8-64 of [a-z0-9-], unique on the node
	Op           Op       // union or intersection
	Universe     [32]byte // digest of the universe of places (its order is the vectors' order)
	Places       int      // m, the universe's size
	Participants int      // n
	Shares       int      // s: each component is split into s shares (1 <= s <= n); s = n is the seed's bound
	Key          *PublicKey
	EncE         *Ciphertext // the administrator's Enc(e)
	Proof        *Proof      // that EncE encrypts e under Key, bound to the rest
}

// ParamsError names the parameter that is wrong.
type ParamsError struct {
	Field string
	Msg   string
}

func (e *ParamsError) Error() string { return e.Field + ": " + e.Msg }

// context binds a proof or a signature to the session's parameters.
func (p *Params) context() []byte {
	b := []byte(p.Session)
	b = append(b, 0, byte(p.Op))
	b = append(b, p.Universe[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(p.Places))
	b = binary.BigEndian.AppendUint32(b, uint32(p.Participants))
	b = binary.BigEndian.AppendUint32(b, uint32(p.Shares))
	return b
}

// checkShape checks everything but the proof.
func (p *Params) checkShape() error {
	switch {
	case !sessionRE.MatchString(p.Session):
		return &ParamsError{"session", "want 8-64 characters of a-z, 0-9 and '-'"}
	case p.Op != Union && p.Op != Intersection:
		return &ParamsError{"op", `want "union" or "intersection"`}
	case p.Places < 1 || p.Places > MaxPlaces:
		return &ParamsError{"places", fmt.Sprintf("want 1 to %d places", MaxPlaces)}
	case p.Participants < 1 || p.Participants > MaxParticipants:
		return &ParamsError{"participants", fmt.Sprintf("want 1 to %d participants", MaxParticipants)}
	case p.Shares < 1 || p.Shares > p.Participants:
		return &ParamsError{"shares", "want 1 <= shares <= participants"}
	case p.Participants > 1 && p.Shares < 2:
		return &ParamsError{"shares", "with more than one participant, each vector must be split into at least 2 shares"}
	case p.Key == nil:
		return &ParamsError{"key", "missing"}
	case p.EncE == nil:
		return &ParamsError{"enc_e", "missing"}
	case p.Proof == nil:
		return &ParamsError{"proof", "missing"}
	}
	return nil
}

// Validate checks the parameters and the proof that EncE encrypts the
// identity under Key (the participants' "verify the request" of step 4).
func (p *Params) Validate() error {
	if err := p.checkShape(); err != nil {
		return err
	}
	if err := verifyDLEQ(label("psu-enc-identity"), p.context(), p.Proof, curve.RISTRETTO_BASEPOINT_POINT, &p.EncE.c1, &p.Key.p, &p.EncE.c2); err != nil {
		return &ParamsError{"proof", "does not show that enc_e encrypts the identity under key"}
	}
	return nil
}

// Recipients returns the participants participant i sends shares to: the
// next s-1 in session order.
func (p *Params) Recipients(i int) []int {
	out := make([]int, 0, p.Shares-1)
	for d := 1; d < p.Shares; d++ {
		out = append(out, (i+d)%p.Participants)
	}
	return out
}

// Senders returns the participants that send shares to participant i.
func (p *Params) Senders(i int) []int {
	out := make([]int, 0, p.Shares-1)
	for d := 1; d < p.Shares; d++ {
		out = append(out, (i-d+p.Participants)%p.Participants)
	}
	return out
}

// NewRequest is the administrator's step 3: with the session's other
// parameters filled in, it encrypts the identity afresh, proves it and
// sets Key, EncE and Proof.
func (sk *SecretKey) NewRequest(p *Params, rng io.Reader) error {
	p.Key = &sk.pk
	p.EncE, p.Proof = &Ciphertext{}, &Proof{}
	if err := p.checkShape(); err != nil {
		return err
	}
	c, a, err := sk.pk.encryptIdentity(rng)
	if err != nil {
		return err
	}
	proof, err := proveDLEQ(label("psu-enc-identity"), p.context(), a, curve.RISTRETTO_BASEPOINT_POINT, &c.c1, &sk.pk.p, &c.c2, rng)
	if err != nil {
		return err
	}
	p.EncE, p.Proof = c, proof
	return nil
}

// Members decrypts the cloud's product (step 6): for each place, whether
// it is in the result (union: the plaintext is not e; intersection: it
// is e). It uses all CPUs.
func (sk *SecretKey) Members(p *Params, product Vector) ([]bool, error) {
	if len(product) != p.Places {
		return nil, fmt.Errorf("%w: product has %d places, want %d", ErrLength, len(product), p.Places)
	}
	out := make([]bool, len(product))
	parallel(len(product), func(lo, hi int) {
		for l := lo; l < hi; l++ {
			isE := sk.isIdentity(&product[l])
			out[l] = isE == (p.Op == Intersection)
		}
	})
	return out, nil
}

// PeerKeys are a participant's public keys, registered when it joins: an
// X25519 key that shares are sealed to, and an Ed25519 key that signs its
// upload.
type PeerKeys struct {
	DH   []byte // 32 bytes
	Sign []byte // 32 bytes
}

// SealedShare is one share of a participant's vector, sealed to its
// recipient: nonce | AES-256-GCM(seed) (see share.go).
type SealedShare struct {
	From, To int
	Box      []byte
}

// Upload is a participant's product of its kept share and the shares it
// received, signed.
type Upload struct {
	From   int
	Vector []byte // ParseVector's encoding, m ciphertexts
	Sig    []byte // Ed25519 over label | session context | from | vector
}

// ShareError names a share that does not open: tampered with, not sealed
// by its sender, or missing.
type ShareError struct {
	From, To int
	Msg      string
}

func (e *ShareError) Error() string {
	return fmt.Sprintf("share from participant %d to participant %d: %s", e.From, e.To, e.Msg)
}

// UploadError names an upload that is refused: a bad signature (tampered
// with, or not from its participant) or a malformed vector.
type UploadError struct {
	From int
	Err  error
}

func (e *UploadError) Error() string {
	return fmt.Sprintf("upload of participant %d: %v", e.From, e.Err)
}
func (e *UploadError) Unwrap() error { return e.Err }

// ErrSignature is an UploadError's cause when the signature is wrong.
var ErrSignature = errors.New("privacy: bad signature (tampered with, or not signed by the participant's registered key)")

// ProductError says that the cloud's product is not the product of the
// uploads, naming the first place that differs.
type ProductError struct {
	Place int
}

func (e *ProductError) Error() string {
	return fmt.Sprintf("the cloud's product differs from the product of the uploads at place %d", e.Place)
}

// Participant is one device's side of a session. It holds the device's
// secrets (its response randomness and share seeds); it is not safe for
// concurrent use.
type Participant struct {
	p     *Params
	index int
	t, k  []scalar.Scalar // per place: re-randomisation and plaintext exponent
	keys  *shareKeys
	seeds [][32]byte // to Recipients(index), in order
}

// NewParticipant validates the request and prepares participant index's
// answer for the visited places (visited[l] for place l of the universe).
// rng is crypto/rand if nil.
func NewParticipant(p *Params, index int, visited []bool, rng io.Reader) (*Participant, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if index < 0 || index >= p.Participants {
		return nil, &ParamsError{"index", fmt.Sprintf("participant %d is not in [0, %d)", index, p.Participants)}
	}
	if len(visited) != p.Places {
		return nil, &ParamsError{"visits", fmt.Sprintf("%d flags for %d places", len(visited), p.Places)}
	}
	pp := &Participant{p: p, index: index}
	var err error
	if pp.t, err = randomScalars(rng, p.Places); err != nil {
		return nil, err
	}
	if pp.k, err = randomScalars(rng, p.Places); err != nil {
		return nil, err
	}
	zero := scalar.New()
	for l := range pp.k {
		// Union: k uniform where visited; intersection: where not visited.
		random := visited[l] == (p.Op == Union)
		pp.k[l].ConditionalSelect(zero, &pp.k[l], b2i(random))
	}
	if pp.keys, err = newShareKeys(rng); err != nil {
		return nil, err
	}
	pp.seeds = make([][32]byte, p.Shares-1)
	for j := range pp.seeds {
		if _, err := io.ReadFull(orRand(rng), pp.seeds[j][:]); err != nil {
			return nil, fmt.Errorf("privacy: randomness: %w", err)
		}
	}
	return pp, nil
}

func has[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Keys returns the public keys to register for this participant.
func (pp *Participant) Keys() PeerKeys { return pp.keys.public() }

// Shares seals the participant's s-1 sent shares to their recipients;
// peers are every participant's registered keys, in session order.
func (pp *Participant) Shares(peers []PeerKeys) ([]SealedShare, error) {
	if len(peers) != pp.p.Participants {
		return nil, &ParamsError{"peers", fmt.Sprintf("%d keys for %d participants", len(peers), pp.p.Participants)}
	}
	var out []SealedShare
	for j, to := range pp.p.Recipients(pp.index) {
		box, err := pp.keys.seal(pp.p, pp.index, to, peers[to].DH, pp.seeds[j][:])
		if err != nil {
			return nil, err
		}
		out = append(out, SealedShare{From: pp.index, To: to, Box: box})
	}
	return out, nil
}

// Upload opens the shares sent to this participant (one from each of
// Senders(index), any order), multiplies them with the kept share and
// returns the signed upload. A share that does not open is a
// *ShareError naming its sender.
func (pp *Participant) Upload(peers []PeerKeys, received []SealedShare) (*Upload, error) {
	p := pp.p
	if len(peers) != p.Participants {
		return nil, &ParamsError{"peers", fmt.Sprintf("%d keys for %d participants", len(peers), p.Participants)}
	}
	byFrom := map[int][]byte{}
	senders := p.Senders(pp.index)
	for _, s := range received {
		switch {
		case s.To != pp.index:
			return nil, &ShareError{From: s.From, To: s.To, Msg: "addressed to another participant"}
		case !slices.Contains(senders, s.From):
			return nil, &ShareError{From: s.From, To: s.To, Msg: "the sender does not share with this participant"}
		case has(byFrom, s.From):
			return nil, &ShareError{From: s.From, To: s.To, Msg: "sent twice"}
		}
		byFrom[s.From] = s.Box
	}
	// u = k - sum(sent betas) + sum(received betas), place by place.
	u := make([]scalar.Scalar, p.Places)
	copy(u, pp.k)
	beta := make([]scalar.Scalar, p.Places)
	for j, to := range p.Recipients(pp.index) {
		expandMask(p, pp.index, to, pp.seeds[j][:], beta)
		for l := range u {
			u[l].Sub(&u[l], &beta[l])
		}
	}
	for _, from := range senders {
		box, ok := byFrom[from]
		if !ok {
			return nil, &ShareError{From: from, To: pp.index, Msg: "missing"}
		}
		seed, err := pp.keys.open(p, from, pp.index, peers[from].DH, box)
		if err != nil {
			return nil, err
		}
		expandMask(p, from, pp.index, seed, beta)
		for l := range u {
			u[l].Add(&u[l], &beta[l])
		}
	}
	// Upload component: (E1^t, E2^(t+u)), with fixed-base tables for E1
	// and E2 (constant time).
	t1 := curve.NewRistrettoBasepointTable(&p.EncE.c1)
	t2 := curve.NewRistrettoBasepointTable(&p.EncE.c2)
	vec := make([]byte, 0, p.Places*CiphertextSize)
	var c1, c2 curve.RistrettoPoint
	var e scalar.Scalar
	for l := range u {
		c1.MulBasepoint(t1, &pp.t[l])
		e.Add(&pp.t[l], &u[l])
		c2.MulBasepoint(t2, &e)
		vec = appendElement(appendElement(vec, &c1), &c2)
	}
	clear(u)
	clear(beta)
	return &Upload{From: pp.index, Vector: vec, Sig: ed25519.Sign(pp.keys.sign, uploadMessage(p, pp.index, vec))}, nil
}

func uploadMessage(p *Params, from int, vec []byte) []byte {
	ctx := p.context()
	msg := make([]byte, 0, len(label("psu-upload"))+4+len(ctx)+4+len(vec))
	msg = append(msg, label("psu-upload")...)
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(ctx)))
	msg = append(msg, ctx...)
	msg = binary.BigEndian.AppendUint32(msg, uint32(from))
	return append(msg, vec...)
}

// CheckUpload verifies an upload's signature against the participant's
// registered key and decodes its vector.
func CheckUpload(p *Params, peers []PeerKeys, u *Upload) (Vector, error) {
	if err := checkUploadSig(p, peers, u); err != nil {
		return nil, err
	}
	v, err := ParseVector(u.Vector, p.Places)
	if err != nil {
		return nil, &UploadError{From: u.From, Err: err}
	}
	return v, nil
}

// checkUploadSet checks that uploads hold one upload per participant.
func checkUploadSet(p *Params, uploads []Upload) error {
	if len(uploads) != p.Participants {
		return fmt.Errorf("privacy: %d uploads for %d participants", len(uploads), p.Participants)
	}
	seen := make([]bool, p.Participants)
	for _, u := range uploads {
		if u.From < 0 || u.From >= p.Participants || seen[u.From] {
			return &UploadError{From: u.From, Err: errors.New("duplicate or unknown participant")}
		}
		seen[u.From] = true
	}
	return nil
}

func checkUploadSig(p *Params, peers []PeerKeys, u *Upload) error {
	if u.From < 0 || u.From >= p.Participants || len(peers) != p.Participants {
		return &UploadError{From: u.From, Err: errors.New("no such participant")}
	}
	if len(u.Vector) != p.Places*CiphertextSize {
		return &UploadError{From: u.From, Err: fmt.Errorf("%w: %d bytes, want %d ciphertexts", ErrLength, len(u.Vector), p.Places)}
	}
	if len(peers[u.From].Sign) != ed25519.PublicKeySize || !ed25519.Verify(peers[u.From].Sign, uploadMessage(p, u.From, u.Vector), u.Sig) {
		return &UploadError{From: u.From, Err: ErrSignature}
	}
	return nil
}

// Combine is the cloud's step 5: it checks every upload (signature and
// encoding; a bad one is an *UploadError naming its participant) and
// multiplies them place by place. uploads must hold one upload per
// participant. It uses all CPUs.
func Combine(p *Params, peers []PeerKeys, uploads []Upload) (Vector, error) {
	if err := checkUploadSet(p, uploads); err != nil {
		return nil, err
	}
	vecs := make([]Vector, len(uploads))
	errs := make([]error, len(uploads))
	parallel(len(uploads), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			vecs[i], errs[i] = CheckUpload(p, peers, &uploads[i])
		}
	})
	if err := errors.Join(errs...); err != nil {
		for _, e := range errs {
			if e != nil {
				return nil, e // the first, in upload order
			}
		}
	}
	out := make(Vector, p.Places)
	parallel(p.Places, func(lo, hi int) {
		for l := lo; l < hi; l++ {
			out[l] = vecs[0][l]
			for i := 1; i < len(vecs); i++ {
				out[l].mul(&out[l], &vecs[i][l])
			}
		}
	})
	return out, nil
}

// DefaultAudit is how many places the administrator recomputes by
// default when it audits the cloud.
const DefaultAudit = 64

// Audit is the administrator's check of the cloud before it decrypts: it
// decodes the cloud's product, checks every upload's signature, and
// recomputes the product of the uploads at sample places drawn at random
// after the product arrived (every place if sample <= 0 or >= m),
// naming a malformed upload element (*UploadError) or the first place
// where the cloud's product differs (*ProductError). A cloud that alters
// a fraction f of the places escapes with probability (1-f)^sample; the
// digests of the uploads and the product go on the ledger with the
// result, so anyone holding the uploads can audit every place later.
func Audit(p *Params, peers []PeerKeys, uploads []Upload, product []byte, sample int) (Vector, error) {
	got, err := ParseVector(product, p.Places)
	if err != nil {
		return nil, fmt.Errorf("the cloud's product: %w", err)
	}
	if err := checkUploadSet(p, uploads); err != nil {
		return nil, err
	}
	for i := range uploads {
		if err := checkUploadSig(p, peers, &uploads[i]); err != nil {
			return nil, err
		}
	}
	places := make([]int, p.Places)
	for l := range places {
		places[l] = l
	}
	if sample > 0 && sample < p.Places {
		var seed [32]byte
		if _, err := rand.Read(seed[:]); err != nil {
			return nil, err
		}
		r := mrand.New(mrand.NewChaCha8(seed))
		r.Shuffle(len(places), func(i, j int) { places[i], places[j] = places[j], places[i] })
		places = places[:sample]
		slices.Sort(places)
	}
	bad := make([]error, len(places))
	parallel(len(places), func(lo, hi int) {
		var want, c Ciphertext
		for k := lo; k < hi; k++ {
			l := places[k]
			for i := range uploads {
				if err := c.set(uploads[i].Vector[l*CiphertextSize:(l+1)*CiphertextSize], l); err != nil {
					bad[k] = &UploadError{From: uploads[i].From, Err: err}
					break
				}
				if i == 0 {
					want = c
				} else {
					want.mul(&want, &c)
				}
			}
			if bad[k] == nil && (want.c1.Equal(&got[l].c1) != 1 || want.c2.Equal(&got[l].c2) != 1) {
				bad[k] = &ProductError{Place: l}
			}
		}
	})
	for _, err := range bad {
		if err != nil {
			return nil, err
		}
	}
	return got, nil
}

// parallel runs f over [0, n) split into one range per CPU.
func parallel(n int, f func(lo, hi int)) {
	w := runtime.GOMAXPROCS(0)
	if w > n {
		w = n
	}
	if w <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}
