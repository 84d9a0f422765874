package privacy

import (
	"errors"
	"fmt"
	"testing"
)

func TestExposureCheck(t *testing.T) {
	t.Parallel()
	rk, err := NewRiskKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var risk []Visit
	for i := 0; i < 200; i++ {
		risk = append(risk, Visit{Site: fmt.Sprintf("site-%d", i%20), Slot: int64(i/20) * Slot})
	}
	risk = append(risk, risk[0]) // a duplicate collapses
	tokens := rk.Tokens(risk)
	if len(tokens) != 200*ElementSize {
		t.Fatalf("%d tokens", len(tokens)/ElementSize)
	}
	if err := CheckTokens(tokens); err != nil {
		t.Fatal(err)
	}
	mine := []Visit{
		{Site: "site-3", Slot: 0},         // a risk visit
		{Site: "site-3", Slot: 10 * Slot}, // same site, another hour
		{Site: "site-99", Slot: 0},        // another site
		{Site: "site-19", Slot: 9 * Slot}, // the last risk visit
		{Site: "site-1", Slot: 0 * Slot},  // risk
		{Site: "site-1", Slot: -1 * Slot}, // before
	}
	want := []bool{true, false, false, true, true, false}
	bl, blinded, err := Blind(mine, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, proof, err := rk.Evaluate(blinded, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bl.Finish(rk.Public(), ev, proof, tokens)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("visit %d: got %v, want %v", i, got[i], want[i])
		}
	}

	// A server answering with another key (to tag this device) is caught.
	other, _ := NewRiskKey(nil)
	bl, blinded, _ = Blind(mine, nil)
	ev2, proof2, _ := other.Evaluate(blinded, nil)
	if _, err := bl.Finish(rk.Public(), ev2, proof2, tokens); !errors.Is(err, ErrRiskKey) {
		t.Errorf("other key: got %v", err)
	}
	// One answer swapped is caught too.
	bl, blinded, _ = Blind(mine, nil)
	ev, proof, _ = rk.Evaluate(blinded, nil)
	copy(ev[:ElementSize], ev[ElementSize:2*ElementSize])
	if _, err := bl.Finish(rk.Public(), ev, proof, tokens); !errors.Is(err, ErrRiskKey) {
		t.Errorf("swapped answer: got %v", err)
	}
}

// TestBlindedUnlinkable: the same visit blinded twice gives unrelated
// elements, so the server cannot tell a repeated query.
func TestBlindedUnlinkable(t *testing.T) {
	t.Parallel()
	v := []Visit{{Site: "s", Slot: 0}, {Site: "s", Slot: 0}}
	_, b, err := Blind(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:ElementSize]) == string(b[ElementSize:]) {
		t.Fatal("a visit blinded twice gave the same element")
	}
}

func TestSlots(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, out int64
		want    int
	}{{0, 0, 1}, {0, 3599, 1}, {0, 3600, 2}, {1800, 9000, 3}, {-1, 1, 2}} {
		if got := Slots("s", c.in, c.out); len(got) != c.want {
			t.Errorf("Slots(%d, %d) = %v, want %d slots", c.in, c.out, got, c.want)
		}
	}
}

func TestEvaluateRejectsMalformed(t *testing.T) {
	t.Parallel()
	rk, _ := NewRiskKey(nil)
	_, good, _ := Blind([]Visit{{Site: "a"}, {Site: "b"}}, nil)
	bad := append([]byte(nil), good...)
	bad[ElementSize] |= 1 // element 1: negative field element, not canonical
	_, _, err := rk.Evaluate(bad, nil)
	var ee *ElementError
	if !errors.As(err, &ee) || ee.Index != 1 || !errors.Is(err, ErrEncoding) {
		t.Errorf("got %v", err)
	}
	if _, _, err := rk.Evaluate(good[:40], nil); !errors.Is(err, ErrLength) {
		t.Errorf("short: got %v", err)
	}
	zero := make([]byte, ElementSize) // the identity
	if _, _, err := rk.Evaluate(zero, nil); !errors.Is(err, ErrIdentity) {
		t.Errorf("identity: got %v", err)
	}
}
