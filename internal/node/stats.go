package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// ErrNoEngine: the node was opened without an engine and cannot write.
var ErrNoEngine = errors.New("node: opened without an engine")

// PublishBucket makes sure the open statistics' bucket (disease, a home
// district, a reporting day) is published as it now stands: if it has
// changed since its latest publication (or was never published), the
// node signs and commits the next version (publish_stats), which the
// state machine checks against its own counts. It returns the bucket's
// publications, the latest last; none if nothing was reported there.
// Publications follow real changes only (reports and reviews), so asking
// again writes nothing.
func (n *Node) PublishBucket(ctx context.Context, disease, home string, day uint32) ([]state.Publication, error) {
	for attempt := 0; attempt < 3; attempt++ {
		d, err := state.BucketOf(n.DB, disease, home, day)
		if err != nil {
			return nil, err
		}
		pubs, err := state.Publications(n.DB, disease, home, day)
		if err != nil {
			return nil, err
		}
		if d.Last == (ledger.Hash{}) || len(pubs) > 0 && pubs[len(pubs)-1].Last == d.Last {
			return pubs, nil
		}
		if n.Engine == nil {
			return nil, ErrNoEngine
		}
		tx, err := ledger.Build(&ledger.PublishStats{Disease: disease, Region: home, Day: day, Suspected: d.Suspected, Clinical: d.Clinical,
			Confirmed: d.Confirmed, Version: uint32(len(pubs)) + 1, Last: d.Last})
		if err != nil {
			return nil, err
		}
		tx.Sign(n.Home.Genesis.ChainID, n.Home.Signer())
		r := n.Engine.Submit(ctx, tx.Bytes())
		if r.Err == nil {
			continue // read it back as committed
		}
		// Another node published it, or a card changed the bucket in
		// between: read again.
		if rej, ok := state.IsRejection(r.Err); !ok || rej.Code != state.CodeConflict && rej.Code != state.CodeInvalid {
			return nil, fmt.Errorf("node: publishing %s %s day %d: %w", disease, home, day, r.Err)
		}
	}
	return nil, fmt.Errorf("node: the bucket %s %s day %d keeps changing: ask again", disease, home, day)
}
