package privacy

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func randomVisits(n, m int, p float64, seed uint64) [][]bool {
	rng := rand.New(rand.NewPCG(seed, 1))
	v := make([][]bool, n)
	for i := range v {
		v[i] = make([]bool, m)
		for l := range v[i] {
			v[i][l] = rng.Float64() < p
		}
	}
	return v
}

// BenchmarkParticipant is one participant's own work (prepare, seal
// shares, open received shares, build and sign the upload), n = 20.
func BenchmarkParticipant(b *testing.B) {
	for _, m := range []int{50, 1000} {
		b.Run(fmt.Sprintf("n=20/m=%d", m), func(b *testing.B) {
			ss := newSession(b, Union, randomVisits(20, m, 0.2, 1), m, 20)
			visits := randomVisits(1, m, 0.2, 2)[0]
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pp, err := NewParticipant(ss.p, 0, visits, nil)
				if err != nil {
					b.Fatal(err)
				}
				pp.keys = ss.parts[0].keys // the keys the others sealed to
				if _, err := pp.Shares(ss.peers); err != nil {
					b.Fatal(err)
				}
				if _, err := pp.Upload(ss.peers, ss.shares[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCombine is the cloud's product of n = 20 uploads.
func BenchmarkCombine(b *testing.B) {
	for _, m := range []int{50, 1000} {
		b.Run(fmt.Sprintf("n=20/m=%d", m), func(b *testing.B) {
			ss := newSession(b, Union, randomVisits(20, m, 0.2, 1), m, 20)
			ss.upload(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Combine(ss.p, ss.peers, ss.uploads); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMembers is the administrator's decryption of m places.
func BenchmarkMembers(b *testing.B) {
	m := 1000
	ss := newSession(b, Union, randomVisits(2, m, 0.2, 1), m, 2)
	ss.upload(b)
	prod, _ := Combine(ss.p, ss.peers, ss.uploads)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ss.sk.Members(ss.p, prod)
	}
}

// BenchmarkRiskTokens is the server's preparation of 10,000 risk tokens.
func BenchmarkRiskTokens(b *testing.B) {
	rk, _ := NewRiskKey(nil)
	vs := make([]Visit, 10000)
	for i := range vs {
		vs[i] = Visit{Site: fmt.Sprint("site-", i%500), Slot: int64(i/500) * Slot}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rk.Tokens(vs)
	}
}

// BenchmarkExposureCheck is a device checking 336 hours (two weeks)
// against 10,000 risk tokens: blind, evaluate (server), finish.
func BenchmarkExposureCheck(b *testing.B) {
	rk, _ := NewRiskKey(nil)
	risk := make([]Visit, 10000)
	for i := range risk {
		risk[i] = Visit{Site: fmt.Sprint("site-", i%500), Slot: int64(i/500) * Slot}
	}
	tokens := rk.Tokens(risk)
	mine := make([]Visit, 336)
	for i := range mine {
		mine[i] = Visit{Site: fmt.Sprint("site-", i*7%900), Slot: int64(i%24) * Slot}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bl, blinded, _ := Blind(mine, nil)
		ev, proof, err := rk.Evaluate(blinded, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bl.Finish(rk.Public(), ev, proof, tokens); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommit is one period's Pedersen commitment over 1,000 places.
func BenchmarkCommit(b *testing.B) {
	gs := NewGenerators([32]byte{1}, 1000)
	v := randomVisits(1, 1000, 0.01, 4)[0]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		gs.Commit(v, nil)
	}
}
