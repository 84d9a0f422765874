package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/store"
)

// t0 is the tests' clock: they drive now explicitly, never sleep.
var t0 = time.Unix(1_600_000_000, 0)

func openStore(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newGuard(t testing.TB, db *store.DB, now time.Time) *replayGuard {
	t.Helper()
	g, err := newReplayGuard(db, now)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func randomSig() (sig [64]byte) {
	rand.Read(sig[:])
	return sig
}

func fresh(t testing.TB, g *replayGuard, sig [64]byte, signedAt int64, now time.Time) bool {
	t.Helper()
	ok, err := g.Fresh(sig, signedAt, now)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// stored counts the signatures in the store's replay table.
func stored(t testing.TB, db *store.DB) int {
	t.Helper()
	n := 0
	lo, hi := store.TablePrefix(store.TabReplay)
	if err := db.Scan(lo, hi, func(k, v []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReplayGuardFreshOnce: a signature is fresh once, then not, at any
// signed time and clock inside the window; another is fresh.
func TestReplayGuardFreshOnce(t *testing.T) {
	t.Parallel()
	db := openStore(t, t.TempDir())
	defer db.Close()
	g := newGuard(t, db, t0)
	for _, at := range []int64{t0.Unix() - 301, t0.Unix() + 301} {
		if fresh(t, g, randomSig(), at, t0) {
			t.Errorf("signed %ds from now: fresh", at-t0.Unix())
		}
	}
	sig := randomSig()
	signed := t0.Unix() - 30
	if !fresh(t, g, sig, signed, t0) {
		t.Fatal("a new signature is not fresh")
	}
	for _, now := range []time.Time{t0, t0.Add(time.Second), t0.Add(MaxSkew - 31*time.Second)} {
		if fresh(t, g, sig, signed, now) {
			t.Errorf("replayed at %v: fresh", now.Sub(t0))
		}
	}
	// The same signature under another signed time is refused too: the
	// time is signed, so it cannot change without a new signature, but
	// the guard does not depend on that.
	if fresh(t, g, sig, signed, t0) || !fresh(t, g, randomSig(), signed, t0) {
		t.Error("second signature")
	}
}

// TestReplayGuardRestart: a signature stays refused by a new guard on the
// same store (the node restarted within the window): the old cache
// forgot everything at restart, and a replayed request was served again.
func TestReplayGuardRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openStore(t, dir)
	g := newGuard(t, db, t0)
	sigs := make([][64]byte, 100)
	for i := range sigs {
		sigs[i] = randomSig()
		if !fresh(t, g, sigs[i], t0.Unix()-int64(i*3), t0) {
			t.Fatal("new signature not fresh")
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openStore(t, dir)
	defer db.Close()
	later := t0.Add(2 * time.Minute)
	g = newGuard(t, db, later)
	for i, sig := range sigs {
		signed := t0.Unix() - int64(i*3)
		if signed < later.Unix()-300 {
			continue // outside the window at later: refused by the skew check
		}
		if fresh(t, g, sig, signed, later) {
			t.Fatalf("signature %d served again after a restart", i)
		}
	}
	if !fresh(t, g, randomSig(), later.Unix(), later) {
		t.Error("a new signature after the restart is not fresh")
	}
}

// TestReplayGuardForgets: once every signed time of a bucket is more than
// MaxSkew old, the bucket is dropped from memory and the store, and a
// restart then loads only what is still inside the window.
func TestReplayGuardForgets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openStore(t, dir)
	g := newGuard(t, db, t0)
	sig := randomSig()
	for i := range 1000 {
		fresh(t, g, randomSig(), t0.Unix()-int64(i%600)+300, t0)
	}
	fresh(t, g, sig, t0.Unix(), t0)
	if g.size() != 1001 || stored(t, db) != 1001 {
		t.Fatalf("%d in memory, %d stored, want 1001", g.size(), stored(t, db))
	}
	now := t0.Add(2 * MaxSkew)
	if fresh(t, g, sig, t0.Unix(), now) {
		t.Error("a signature 2 MaxSkew old is fresh")
	}
	if !fresh(t, g, sig, now.Unix(), now) { // the same bytes, now as a new request
		t.Error("a forgotten signature is not fresh")
	}
	// Left: those signed in the last MaxSkew before now, whole buckets,
	// and sig.
	left := 0
	for i := range 1000 {
		if floorDiv(t0.Unix()-int64(i%600)+300, replayWidth) >= g.lowest(now.Unix()) {
			left++
		}
	}
	if g.size() != left+1 || stored(t, db) != left+1 {
		t.Errorf("%d in memory, %d stored, want %d", g.size(), stored(t, db), left+1)
	}
	db.Close()
	db = openStore(t, dir)
	defer db.Close()
	g = newGuard(t, db, now.Add(2*MaxSkew))
	if g.size() != 0 || stored(t, db) != 0 {
		t.Errorf("after a restart 2 MaxSkew later: %d in memory, %d stored", g.size(), stored(t, db))
	}
}

// TestReplayGuardClockBack: a clock that steps back does not bring a
// forgotten signature back: the guard keeps its latest now.
func TestReplayGuardClockBack(t *testing.T) {
	t.Parallel()
	db := openStore(t, t.TempDir())
	defer db.Close()
	g := newGuard(t, db, t0)
	sig := randomSig()
	fresh(t, g, sig, t0.Unix()-290, t0)
	fresh(t, g, randomSig(), t0.Unix(), t0.Add(2*time.Minute)) // forgets the bucket of sig
	if fresh(t, g, sig, t0.Unix()-290, t0) {
		t.Error("after the clock stepped back, a forgotten signature is fresh")
	}
}

// TestReplayGuardHalted: on a halted store (damage found) the guard writes
// nothing and still refuses replays from memory.
func TestReplayGuardHalted(t *testing.T) {
	t.Parallel()
	db := openStore(t, t.TempDir())
	defer db.Close()
	g := newGuard(t, db, t0)
	db.Halt(errors.New("test: damaged"))
	sig := randomSig()
	if !fresh(t, g, sig, t0.Unix(), t0) || fresh(t, g, sig, t0.Unix(), t0) {
		t.Error("a halted store's guard does not refuse a replay")
	}
	if n := stored(t, db); n != 0 {
		t.Errorf("%d written to a halted store", n)
	}
}

// TestReplayGuardConcurrent: one signature sent by many goroutines at
// once, at slightly different clocks, is fresh for exactly one.
func TestReplayGuardConcurrent(t *testing.T) {
	t.Parallel()
	db := openStore(t, t.TempDir())
	defer db.Close()
	g := newGuard(t, db, t0)
	for round := range 20 {
		sig := randomSig()
		var wg sync.WaitGroup
		var mu sync.Mutex
		n := 0
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := g.Fresh(sig, t0.Unix()+int64(round), t0.Add(time.Duration(round+i)*time.Second))
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					n++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if n != 1 {
			t.Fatalf("round %d: fresh %d times", round, n)
		}
	}
}

// BenchmarkReplayGuard checks new signatures with 0 and 200,000 earlier
// ones held: the cost of a check does not grow with them (the old cache
// scanned every entry on every request once it held 100,000). "moving"
// advances the clock a second every 1,000 checks, signing at the clock,
// so that buckets expire as they do in service.
func BenchmarkReplayGuard(b *testing.B) {
	for _, c := range []struct {
		prior  int
		moving bool
	}{{0, false}, {200_000, false}, {200_000, true}} {
		b.Run(fmt.Sprintf("prior=%d/moving=%v", c.prior, c.moving), func(b *testing.B) {
			db := openStore(b, b.TempDir())
			defer db.Close()
			g := newGuard(b, db, t0)
			for i := range c.prior {
				fresh(b, g, randomSig(), t0.Unix()-int64(i%600)+300, t0)
			}
			sigs := make([][64]byte, b.N)
			for i := range sigs {
				sigs[i] = randomSig()
			}
			b.ResetTimer()
			for i := range b.N {
				now := t0
				if c.moving {
					now = t0.Add(time.Duration(i/1000) * time.Second)
				}
				if ok, err := g.Fresh(sigs[i], now.Unix(), now); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(g.size()), "held")
		})
	}
}
