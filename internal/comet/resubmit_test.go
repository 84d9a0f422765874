package comet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/state"
)

// TestResubmitted: a record sent again, to another validator or the same,
// once its fate is decided, is answered at once and alike: the accepted
// one is a replay, the refused one gets its refusal again. (A transaction
// a block refused leaves CometBFT's cache of seen transactions, with
// keep-invalid-txs-in-cache off as it is, so it meets CheckTx again.)
func TestResubmitted(t *testing.T) {
	c := newCluster(t, 4)
	all := []int{0, 1, 2, 3}
	for _, i := range all {
		c.start(i)
	}
	c.agree(all, 1)
	// Two registrations of one site id, sent to two validators at once:
	// one is accepted, the other refused, at its door or in the block.
	racers, race := c.raceRegistrations()
	if accepted(race[0])+accepted(race[1]) != 1 {
		t.Fatalf("two registrations of one site: %v / %v", race[0][0].Err, race[1][0].Err)
	}
	var top uint64
	for k := range race {
		top = max(top, race[k][0].Height)
	}
	c.agree(all, top)
	for k, raw := range racers {
		for _, node := range []int{2, k} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_, err := c.client(node).SubmitOne(ctx, raw)
			cancel()
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("registration %d sent again to node%d: %v, want a refusal", k, node, err)
			}
			if race[k][0].Err == nil && ae.Body.Code != state.CodeReplay {
				t.Errorf("the accepted registration sent again to node%d: %v, want replay", node, err)
			}
			if r, ok := state.IsRejection(race[k][0].Err); ok && ae.Body.Code != r.Code {
				t.Errorf("the refused registration (%s) sent again to node%d: %v", r.Code, node, err)
			}
		}
	}
}
