package api

import (
	"fmt"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/store"
)

// replayWidth is the width of a replay guard bucket, in seconds of the
// requests' signed time.
const replayWidth = 60

// replayGuard remembers the signatures of the signed requests a node
// served, so that a captured request is not served twice: not within
// the window in which its signed time passes the skew check, and not
// after a restart. The caller refuses requests signed more than MaxSkew
// from its clock before asking, so the guard keeps only signatures whose
// signed time is within MaxSkew of now: it files them in buckets by
// signed time, one a minute, and forgets a whole bucket at once (one map
// deletion, one range deletion in the store) when every time in it is
// more than MaxSkew in the past. A check costs the same with 10 entries
// or 10 million.
//
// Each fresh signature is written to the store's node-local table
// store.TabReplay, not synced (see store.SetLocalNoSync): killing the
// process loses nothing, while a power loss can lose the signatures
// received since the write-ahead log was last synced, which the node's
// next block does. Reads of personal data commit an audit record before
// they run, so their signatures are durable before any answer leaves. A
// request whose signature was lost could be replayed once within its
// window after the power returns.
//
// In memory, a bucket keeps the first 16 bytes of each signature, the
// start of an Ed25519 signature's R, which a hash of the signer's secret
// and the message determines: two different requests share them with
// probability 2^-128, and a caller can make only its own requests
// collide, which refuses them, never serves one twice. The store keeps
// whole signatures.
//
// The guard never moves its clock backwards: after a step back, it keeps
// refusing what it already forgot (and, after a step forward and back,
// refuses requests until the clock catches up). It is safe for
// concurrent use.
type replayGuard struct {
	db *store.DB

	mu      sync.Mutex
	now     int64 // the latest now seen, Unix seconds
	low     int64 // the lowest bucket still kept; all below are forgotten
	buckets map[int64]map[[16]byte]struct{}
}

// newReplayGuard loads the signatures in db that are still inside the
// window at now and deletes the rest.
func newReplayGuard(db *store.DB, now time.Time) (*replayGuard, error) {
	g := &replayGuard{db: db, now: now.Unix(), buckets: map[int64]map[[16]byte]struct{}{}}
	g.low = g.lowest(g.now)
	lo, hi := store.ReplayFrom(g.low)
	var bad []byte
	err := db.Scan(lo, hi, func(k, _ []byte) bool {
		b, sig, ok := store.ParseReplayKey(k)
		if !ok {
			bad = append([]byte(nil), k...)
			return false
		}
		g.add(b, sig)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("replay guard: %w", err)
	}
	if bad != nil {
		return nil, fmt.Errorf("replay guard: key %x: %w", bad, store.ErrCorrupt)
	}
	if err := db.DeleteLocalRange(store.ReplayBefore(g.low)); err != nil {
		return nil, fmt.Errorf("replay guard: %w", err)
	}
	return g, nil
}

// lowest is the lowest bucket that holds a signed time a request may
// still carry at now (Unix seconds): one within MaxSkew of now.
func (g *replayGuard) lowest(now int64) int64 {
	return floorDiv(now-int64(MaxSkew/time.Second), replayWidth)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// add files sig in bucket b and reports whether it was new there. The
// caller holds mu (or owns g).
func (g *replayGuard) add(b int64, sig [64]byte) bool {
	set := g.buckets[b]
	if set == nil {
		set = map[[16]byte]struct{}{}
		g.buckets[b] = set
	}
	k := [16]byte(sig[:16])
	if _, seen := set[k]; seen {
		return false
	}
	set[k] = struct{}{}
	return true
}

// Fresh reports whether sig, of a request signed at signedAt (Unix
// seconds), is new, and if so remembers it, in memory and in the store,
// before it returns. It reports false for a signature seen within the
// window, and for a signedAt that is not within MaxSkew of now (the
// caller refuses those first, with a clearer error). An error is the
// store's: the request must then be refused too.
func (g *replayGuard) Fresh(sig [64]byte, signedAt int64, now time.Time) (bool, error) {
	g.mu.Lock()
	g.now = max(g.now, now.Unix())
	skew := int64(MaxSkew / time.Second)
	if signedAt < g.now-skew || signedAt > g.now+skew {
		g.mu.Unlock()
		return false, nil
	}
	low := g.lowest(g.now)
	expire := low > g.low
	if expire {
		for b := range g.buckets { // at most 2 MaxSkew / replayWidth + 2
			if b < low {
				delete(g.buckets, b)
			}
		}
		g.low = low
	}
	b := floorDiv(signedAt, replayWidth)
	fresh := g.add(b, sig)
	g.mu.Unlock()

	// A halted store takes no writes (see store.DB.Halt): the guard then
	// refuses replays from memory alone, so that a halted node still
	// serves its reads (an auditor's, to look at the damage).
	if g.db.Halted() != nil {
		return fresh, nil
	}
	// Outside the lock: a write that lands after a later range deletion
	// of its bucket only leaves a dead entry, which the next range
	// deletion (from the table's start) or the next start removes.
	if expire {
		if err := g.db.DeleteLocalRange(store.ReplayBefore(low)); err != nil {
			return false, fmt.Errorf("replay guard: %w", err)
		}
	}
	if !fresh {
		return false, nil
	}
	if err := g.db.SetLocalNoSync(store.ReplayKey(b, sig), nil); err != nil {
		return false, fmt.Errorf("replay guard: %w", err)
	}
	return true, nil
}

// size is the number of signatures held in memory (for tests).
func (g *replayGuard) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, set := range g.buckets {
		n += len(set)
	}
	return n
}
