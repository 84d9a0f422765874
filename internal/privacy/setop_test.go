package privacy

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// session runs every role of one set-operation session in memory.
type session struct {
	sk      *SecretKey
	p       *Params
	parts   []*Participant
	peers   []PeerKeys
	shares  [][]SealedShare // by recipient
	uploads []Upload
}

func newSession(t testing.TB, op Op, visits [][]bool, m, s int) *session {
	t.Helper()
	sk, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &Params{Session: "test-session-1", Op: op, Universe: sha256.Sum256([]byte("u")), Places: m, Participants: len(visits), Shares: s}
	if err := sk.NewRequest(p, nil); err != nil {
		t.Fatal(err)
	}
	ss := &session{sk: sk, p: p, shares: make([][]SealedShare, len(visits))}
	for i, v := range visits {
		pp, err := NewParticipant(p, i, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		ss.parts = append(ss.parts, pp)
		ss.peers = append(ss.peers, pp.Keys())
	}
	for _, pp := range ss.parts {
		sh, err := pp.Shares(ss.peers)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range sh {
			ss.shares[x.To] = append(ss.shares[x.To], x)
		}
	}
	return ss
}

func (ss *session) upload(t testing.TB) {
	t.Helper()
	for i, pp := range ss.parts {
		u, err := pp.Upload(ss.peers, ss.shares[i])
		if err != nil {
			t.Fatal(err)
		}
		ss.uploads = append(ss.uploads, *u)
	}
}

func (ss *session) result(t testing.TB) []bool {
	t.Helper()
	prod, err := Combine(ss.p, ss.peers, ss.uploads)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Audit(ss.p, ss.peers, ss.uploads, prod.Bytes(), 0)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ss.sk.Members(ss.p, got)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// plain is the brute-force twin: the set operation on plain flags.
func plain(op Op, visits [][]bool, m int) []bool {
	out := make([]bool, m)
	for l := range out {
		any, all := false, true
		for _, v := range visits {
			any = any || v[l]
			all = all && v[l]
		}
		out[l] = (op == Union && any) || (op == Intersection && all)
	}
	return out
}

// TestSetOpMatchesPlain is the property test: on random inputs, and on
// the edge cases (n = 1, empty sets, all places, one place), union and
// intersection equal the plain set computation.
func TestSetOpMatchesPlain(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 5))
	type tc struct {
		name   string
		visits [][]bool
		m, s   int
	}
	flags := func(n, m int, p float64) [][]bool {
		v := make([][]bool, n)
		for i := range v {
			v[i] = make([]bool, m)
			for l := range v[i] {
				v[i][l] = rng.Float64() < p
			}
		}
		return v
	}
	all := func(n, m int, b bool) [][]bool {
		v := flags(n, m, 0)
		for i := range v {
			for l := range v[i] {
				v[i][l] = b
			}
		}
		return v
	}
	cases := []tc{
		{"n=1", flags(1, 12, 0.5), 12, 1},
		{"n=1,empty", all(1, 5, false), 5, 1},
		{"n=1,all", all(1, 5, true), 5, 1},
		{"n=2,s=2", flags(2, 16, 0.5), 16, 2},
		{"n=3,empty", all(3, 7, false), 7, 3},
		{"n=3,all", all(3, 7, true), 7, 3},
		{"m=1", flags(4, 1, 0.5), 1, 4},
		{"n=5,s=3", flags(5, 20, 0.7), 20, 3},
	}
	for k := 0; k < 6; k++ {
		n, m := 1+rng.IntN(8), 1+rng.IntN(40)
		s := n
		if n > 1 {
			s = 2 + rng.IntN(n-1)
		}
		cases = append(cases, tc{fmt.Sprintf("random-%d(n=%d,m=%d,s=%d)", k, n, m, s), flags(n, m, rng.Float64()), m, s})
	}
	for _, c := range cases {
		for _, op := range []Op{Union, Intersection} {
			t.Run(c.name+"/"+op.String(), func(t *testing.T) {
				t.Parallel()
				ss := newSession(t, op, c.visits, c.m, c.s)
				ss.upload(t)
				if got, want := ss.result(t), plain(op, c.visits, c.m); !slices.Equal(got, want) {
					t.Errorf("got %v\nwant %v", got, want)
				}
			})
		}
	}
}

// TestTamperedShareNamed: a sealed share changed in transit, swapped for
// another's, or missing is refused by its recipient, naming the sender.
func TestTamperedShareNamed(t *testing.T) {
	t.Parallel()
	visits := [][]bool{{true, false}, {false, false}, {true, true}}
	for name, alter := range map[string]func(ss *session){
		"bit flip":  func(ss *session) { ss.shares[1][0].Box[20] ^= 1 },
		"truncated": func(ss *session) { ss.shares[1][0].Box = ss.shares[1][0].Box[:10] },
		"missing":   func(ss *session) { ss.shares[1] = ss.shares[1][1:] },
		// A box sealed for recipient 2, relabelled as meant for 1.
		"rerouted": func(ss *session) {
			from := ss.shares[1][0].From
			for _, x := range ss.shares[2] {
				if x.From == from {
					ss.shares[1][0].Box = x.Box
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ss := newSession(t, Union, visits, 2, 3)
			from := ss.shares[1][0].From
			alter(ss)
			_, err := ss.parts[1].Upload(ss.peers, ss.shares[1])
			var se *ShareError
			if !errors.As(err, &se) || se.From != from || se.To != 1 {
				t.Fatalf("got %v, want a ShareError from %d to 1", err, from)
			}
		})
	}
}

// TestTamperedUploadNamed: an upload changed after signing, or carrying a
// malformed element, is refused by the cloud (and by the administrator's
// audit), naming the participant; a tampered cloud product is caught by
// the audit, naming the place.
func TestTamperedUploadNamed(t *testing.T) {
	t.Parallel()
	visits := [][]bool{{true, false, true}, {false, false, true}, {true, true, false}}
	ss := newSession(t, Intersection, visits, 3, 3)
	ss.upload(t)

	tampered := slices.Clone(ss.uploads)
	tampered[2].Vector = slices.Clone(tampered[2].Vector)
	// Replace place 1 of participant 2's upload by a valid, different
	// ciphertext: only the signature can tell.
	copy(tampered[2].Vector[CiphertextSize:], ss.uploads[0].Vector[CiphertextSize:2*CiphertextSize])
	_, err := Combine(ss.p, ss.peers, tampered)
	var ue *UploadError
	if !errors.As(err, &ue) || ue.From != 2 || !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered upload: got %v", err)
	}

	prod, err := Combine(ss.p, ss.peers, ss.uploads)
	if err != nil {
		t.Fatal(err)
	}
	bad := prod.Bytes()
	copy(bad[2*CiphertextSize:3*CiphertextSize], ss.uploads[1].Vector[:CiphertextSize])
	_, err = Audit(ss.p, ss.peers, ss.uploads, bad, 0)
	var pe *ProductError
	if !errors.As(err, &pe) || pe.Place != 2 {
		t.Fatalf("tampered product: got %v", err)
	}
	bad[0] ^= 1 // a negative field element: not canonical
	if _, err := Audit(ss.p, ss.peers, ss.uploads, bad, 0); !errors.Is(err, ErrEncoding) {
		t.Fatalf("malformed product: got %v", err)
	}
}

// TestRequestValidated: participants refuse a request whose Enc(e) is not
// an encryption of the identity, or whose proof is for other parameters.
func TestRequestValidated(t *testing.T) {
	t.Parallel()
	ss := newSession(t, Union, [][]bool{{true}, {false}}, 1, 2)
	p := *ss.p
	p.EncE = &Ciphertext{}
	p.EncE.c1 = ss.p.EncE.c1
	p.EncE.c2.Add(&ss.p.EncE.c2, &ss.p.EncE.c1) // encrypts g, not e
	if _, err := NewParticipant(&p, 0, []bool{true}, nil); err == nil {
		t.Error("Enc(g) accepted")
	}
	q := *ss.p
	q.Op = Intersection // the proof binds the operation
	if _, err := NewParticipant(&q, 0, []bool{true}, nil); err == nil {
		t.Error("proof for another operation accepted")
	}
}

// TestAuditSampled: a sampled audit catches a product altered at many
// places and names the place; a full audit catches one altered place and
// a malformed upload element (naming the participant), which the sampled
// one may miss.
func TestAuditSampled(t *testing.T) {
	t.Parallel()
	const m = 300
	ss := newSession(t, Union, [][]bool{make([]bool, m), make([]bool, m)}, m, 2)
	ss.upload(t)
	prod, err := Combine(ss.p, ss.peers, ss.uploads)
	if err != nil {
		t.Fatal(err)
	}
	good := prod.Bytes()
	if _, err := Audit(ss.p, ss.peers, ss.uploads, good, DefaultAudit); err != nil {
		t.Fatalf("honest product: %v", err)
	}
	// Swap the halves of every ciphertext: all places wrong.
	all := slices.Clone(good)
	for l := 0; l < m; l++ {
		c := all[l*CiphertextSize : (l+1)*CiphertextSize]
		tmp := slices.Clone(c[:ElementSize])
		copy(c, c[ElementSize:])
		copy(c[ElementSize:], tmp)
	}
	var pe *ProductError
	if _, err := Audit(ss.p, ss.peers, ss.uploads, all, DefaultAudit); !errors.As(err, &pe) {
		t.Fatalf("product wrong everywhere, sampled audit: %v", err)
	}
	one := slices.Clone(good)
	copy(one[200*CiphertextSize:201*CiphertextSize], good[7*CiphertextSize:8*CiphertextSize])
	if _, err := Audit(ss.p, ss.peers, ss.uploads, one, 0); !errors.As(err, &pe) || pe.Place != 200 {
		t.Fatalf("product wrong at one place, full audit: %v", err)
	}
}
