package state

import (
	"math/rand/v2"
	"testing"

	"github.com/epiledger/epiledger/internal/detect"
)

// TestEARSBoundIgnoresTheDay: the state machine computes C1's and C2's
// bound once per district and day, with the day's count set to 0, and
// judges every count of the day against it (earsBound, earsAlarm); for
// C3, the verdict on a count of 1 for every positive count. That holds
// only if neither reads the day's count otherwise: checked here against
// detect's own At on random series, every parameter set.
func TestEARSBoundIgnoresTheDay(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, e := range []detect.EARS{{Method: detect.C1}, {Method: detect.C2}, {Method: detect.C1, MinSigma: detect.One},
		{Method: detect.C2, Baseline: 10, Alpha: 10_000, MinSigma: detect.One / 2}, {Method: detect.C1, Baseline: 3, Alpha: 50_000},
		{Method: detect.C3}, {Method: detect.C3, MinSigma: detect.One}, {Method: detect.C3, Baseline: 10, Alpha: 50_000}} {
		n := e.First() + 1
		for i := 0; i < 2000; i++ {
			s := make([]uint32, n)
			hi := 1 + rng.IntN(50)
			for j := range s {
				if rng.IntN(4) > 0 {
					s[j] = uint32(rng.IntN(hi))
				}
			}
			want, err := e.At(s, n-1)
			if err != nil {
				t.Fatal(err)
			}
			zero := append([]uint32(nil), s...)
			zero[n-1] = 0
			got, err := e.At(zero, n-1)
			if err != nil {
				t.Fatal(err)
			}
			if e.Method == detect.C3 {
				// The verdict on a count of 1 stands for every positive one.
				one := append([]uint32(nil), s...)
				one[n-1] = 1
				v, err := e.At(one, n-1)
				if err != nil {
					t.Fatal(err)
				}
				if (s[n-1] > 0 && v.Alarm) != want.Alarm {
					t.Fatalf("%+v on %v: alarm %v, but %v on a count of 1", e, s, want.Alarm, v.Alarm)
				}
				continue
			}
			if got.Upper != want.Upper || earsAlarm(got.Upper, s[n-1]) != want.Alarm {
				t.Fatalf("%+v on %v: the bound with the day's count %+v (alarm %v), without it %+v (alarm %v)", e, s, want.Upper, want.Alarm,
					got.Upper, earsAlarm(got.Upper, s[n-1]))
			}
		}
	}
}
