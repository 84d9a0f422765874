package blocks_test

import (
	"context"
	"errors"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
)

// TestVerifyContextStops (issue 12, adversarial pass): VerifyContext
// stops once its context is done, at the next block, and says so; with a
// live context it verifies as Verify does.
func TestVerifyContextStops(t *testing.T) {
	t.Parallel()
	h, n, _ := world(t)
	g := h.Genesis
	ctx, cancel := context.WithCancel(context.Background())
	var stoppedAt uint64
	rep, err := blocks.VerifyContext(ctx, n.DB, &g, func(height, head uint64) {
		if height == 2 {
			cancel()
		}
		stoppedAt = height
	})
	if rep != nil || !errors.Is(err, context.Canceled) || stoppedAt != 2 {
		t.Fatalf("cancelled after block 2: report %v, error %v, last block %d", rep, err, stoppedAt)
	}
	want, err := blocks.Verify(n.DB, &g, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := blocks.VerifyContext(context.Background(), n.DB, &g, nil)
	if err != nil || *got != *want {
		t.Fatalf("VerifyContext %+v %v, Verify %+v", got, err, want)
	}
}
