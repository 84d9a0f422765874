package detect

import (
	"errors"
	"math"
	"testing"
)

// TestThresholdHand checks the last day of short series by hand.
func TestThresholdHand(t *testing.T) {
	t.Parallel()
	const M = math.MaxUint32
	for _, c := range []struct {
		name   string
		th     Threshold
		counts []uint32
		want   Day // Index is filled in
	}{
		{"1 in 1 day, 0", Threshold{Cases: 1, Days: 1}, []uint32{5, 0}, Day{Observed: 0, Stat: fin(0), Upper: fin(0)}},
		{"1 in 1 day, 1", Threshold{Cases: 1, Days: 1}, []uint32{0, 1}, Day{Observed: 1, Stat: fin(1e6), Upper: fin(0), Alarm: true}},
		{"3 in 2 days, 9 1 1", Threshold{Cases: 3, Days: 2}, []uint32{9, 1, 1}, Day{Observed: 2, Stat: fin(2e6), Upper: fin(2e6)}},
		{"3 in 2 days, 0 1 2", Threshold{Cases: 3, Days: 2}, []uint32{0, 1, 2}, Day{Observed: 3, Stat: fin(3e6), Upper: fin(2e6), Alarm: true}},
		// The count is capped at 2^32−1 in Observed, not in Stat.
		{"2^32-1 in 2 days, 2^32-1 twice", Threshold{Cases: M, Days: 2}, []uint32{M, M}, Day{Observed: M, Stat: fin(2 * M * 1e6), Upper: fin((M - 1) * 1e6), Alarm: true}},
		{"2^32-1 in 2 days, 2^32-2", Threshold{Cases: M, Days: 2}, []uint32{0, M - 2}, Day{Observed: M - 2, Stat: fin((M - 2) * 1e6), Upper: fin((M - 1) * 1e6)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := c.want
			want.Index = len(c.counts) - 1
			got, err := c.th.At(c.counts, want.Index)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("At = %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestThresholdCheck names each refused parameter set after its fault,
// and At refuses days without a full window.
func TestThresholdCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		th   Threshold
		want error
	}{
		{"zero", Threshold{}, ErrCases},
		{"no days", Threshold{Cases: 3}, ErrDays},
		{"cases 2^32", Threshold{Cases: math.MaxUint32 + 1, Days: 1}, ErrCases},
		{"days 367", Threshold{Cases: 1, Days: MaxThresholdDays + 1}, ErrDays},
		{"days -1", Threshold{Cases: 1, Days: -1}, ErrDays},
		{"the largest", Threshold{Cases: math.MaxUint32, Days: MaxThresholdDays}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.th.Check(); !errors.Is(err, c.want) {
				t.Fatalf("Check = %v, want %v", err, c.want)
			}
			counts := make([]uint32, MaxThresholdDays)
			if _, err := c.th.At(counts, len(counts)-1); !errors.Is(err, c.want) {
				t.Errorf("At = %v, want %v", err, c.want)
			}
			if first := c.th.First(); (first < 0) != (c.want != nil) || (c.want == nil && first != c.th.Days-1) {
				t.Errorf("First = %d with Check %v", first, c.want)
			}
		})
	}
	th := Threshold{Cases: 2, Days: 3}
	for _, day := range []int{-1, 1, 3} {
		if _, err := th.At([]uint32{1, 1, 1}, day); !errors.Is(err, ErrTooShort) {
			t.Errorf("At(3 counts, %d) = %v, want ErrTooShort", day, err)
		}
	}
}
