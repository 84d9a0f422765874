package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/store"
)

// crashHome is a home on the real disk (config, genesis, keys) whose
// store and acked-head file will live on a memory file system, and n
// signed transactions for it: one site, then visits.
func crashHome(t *testing.T, n int) (*home.Home, [][]byte) {
	t.Helper()
	h, err := home.Init(filepath.Join(t.TempDir(), "home"), home.InitOptions{ChainID: "test-chain", Region: "420100",
		Time: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	h.Config.Trace.Resident = false
	var buf bytes.Buffer
	w := ndjson.NewWriter(&buf)
	w.Write(&ndjson.Site{Site: "s", Kind: "shop", Lat: 1, Lon: 1})
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n-1; i++ {
		w.Write(&ndjson.Visit{Site: "s", Person: fmt.Sprintf("id:%d", i), In: base.Add(time.Duration(i) * time.Minute), Out: base.Add(time.Duration(i+1) * time.Minute)})
	}
	c := &importer.Collector{}
	if _, err := importer.New(h, c).Import(&buf); err != nil {
		t.Fatal(err)
	}
	return h, c.Txs
}

// openOn opens h's node on fs with small blocks (many blocks, many
// syncs).
func openOn(h *home.Home, fs vfs.FS) (*node.Node, error) {
	cfg := engine.DefaultSoloConfig()
	cfg.Interval, cfg.MaxTxs = time.Millisecond, 16
	return node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{Solo: &cfg, FS: fs})
}

// TestCrashKeepsAcknowledged commits blocks on Pebble's crashable memory
// file system, crashes it while the engine runs (the clone keeps what was
// synced, and for some cases a random part of what was not), reopens
// the clone and finds every transaction acknowledged before the crash,
// and a chain that verifies. A SIGKILL cannot show this: the page cache
// survives it.
func TestCrashKeepsAcknowledged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		crashAt   int // acknowledgements before the crash
		unsynced  int // percent of unsynced writes the crash keeps
		seed      int64
		submitted int
	}{
		{name: "after the first receipt, synced only", crashAt: 1, submitted: 400},
		{name: "mid-stream, synced only", crashAt: 200, submitted: 400},
		{name: "mid-stream, half the unsynced kept", crashAt: 200, unsynced: 50, seed: 1, submitted: 400},
		{name: "mid-stream, all the unsynced kept", crashAt: 250, unsynced: 100, seed: 2, submitted: 400},
		{name: "after the last receipt, synced only", crashAt: 400, submitted: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, txs := crashHome(t, tc.submitted)
			fs := vfs.NewCrashableMem()
			n, err := openOn(h, fs)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var acked []ledger.Hash
			reached := make(chan struct{})
			var all sync.WaitGroup
			for _, raw := range txs {
				all.Add(1)
				err := n.Engine.SubmitAsync(raw, func(r engine.Receipt) {
					defer all.Done()
					if r.Err != nil {
						t.Errorf("receipt: %v", r.Err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					acked = append(acked, r.TxID)
					if len(acked) == tc.crashAt {
						close(reached)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			<-reached
			// What was acknowledged before the crash must survive it.
			mu.Lock()
			before := slices.Clone(acked)
			mu.Unlock()
			cfg := vfs.CrashCloneCfg{UnsyncedDataPercent: tc.unsynced}
			if tc.unsynced > 0 {
				cfg.RNG = rand.New(rand.NewPCG(uint64(tc.seed), 0))
			}
			crashed := fs.CrashClone(cfg)
			all.Wait()
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}

			n2, err := openOn(h, crashed)
			if err != nil {
				t.Fatalf("reopening after the crash: %v", err)
			}
			defer n2.Close()
			// The acked head was recorded, synced, before any receipt of
			// its block went out.
			ah, ok, err := store.NewHeadFile(crashed, filepath.Join(h.Dir, node.AckedHeadFile)).Read()
			if err != nil || !ok {
				t.Fatalf("acked head after the crash: %v %v", ok, err)
			}
			for _, id := range before {
				height, _, err := blocks.Locate(n2.DB, id)
				if err != nil {
					t.Fatalf("acknowledged transaction %s lost in the crash: %v", id.String()[:16], err)
				}
				if height > ah.Height {
					t.Fatalf("transaction %s of block %d acknowledged before the acked head (%d) recorded it", id.String()[:16], height, ah.Height)
				}
			}
			if _, err := blocks.Verify(n2.DB, &h.Genesis, nil); err != nil {
				t.Fatalf("verify after the crash: %v", err)
			}
		})
	}
}

// TestDamagedWALRefused: a node commits blocks and stops; one bit of its
// newest write-ahead log is flipped. Pebble reads the damage as a torn
// write and drops the rest of the log, so the store holds fewer blocks
// than were acknowledged: the node refuses to open and names the missing
// heights.
func TestDamagedWALRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		at   func(size int) int // offset of the flipped byte in the log
		want []string           // in the refusal, %[1]d the acknowledged head
	}{
		{name: "last record", at: func(size int) int { return size - 20 },
			want: []string{"but %[1]d were acknowledged", "height %[1]d is missing", "write-ahead log was damaged"}},
		{name: "middle of the log", at: func(size int) int { return size / 2 },
			want: []string{"but %[1]d were acknowledged", "..%[1]d are missing", "write-ahead log was damaged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, txs := crashHome(t, 400) // 25 blocks of 16, or more
			fs := vfs.NewMem()
			n, err := openOn(h, fs)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(txs); i += 16 {
				var wg sync.WaitGroup
				for _, raw := range txs[i:min(i+16, len(txs))] {
					wg.Add(1)
					n.Engine.SubmitAsync(raw, func(r engine.Receipt) {
						if r.Err != nil {
							t.Errorf("receipt: %v", r.Err)
						}
						wg.Done()
					})
				}
				wg.Wait()
			}
			head := n.Engine.Head().Height
			if head < 25 {
				t.Fatalf("head %d, want 25 blocks or more", head)
			}
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			flipNewestLog(t, fs, h.DataDir(), tc.at)

			n2, err := openOn(h, fs)
			if err == nil {
				n2.Close()
				t.Fatal("opened a store that lost acknowledged blocks")
			}
			for _, w := range tc.want {
				if strings.Contains(w, "%") {
					w = fmt.Sprintf(w, head)
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q lacks %q", err, w)
				}
			}
			var lost *blocks.LostBlocksError
			if !errors.As(err, &lost) || lost.Acked != head || lost.Have >= head {
				t.Errorf("refusal is %#v, want a *chain.LostBlocksError of %d acknowledged", err, head)
			}
		})
	}
}

// flipNewestLog flips one bit of the newest write-ahead log in dir.
func flipNewestLog(t *testing.T, fs vfs.FS, dir string, at func(size int) int) {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	for _, name := range names {
		if strings.HasSuffix(name, ".log") {
			logs = append(logs, name)
		}
	}
	slices.Sort(logs)
	if len(logs) == 0 {
		t.Fatal("no write-ahead log")
	}
	path := fs.PathJoin(dir, logs[len(logs)-1])
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 1024 {
		t.Fatalf("newest log %s holds %d bytes: the blocks are not in it", path, len(b))
	}
	b[at(len(b))] ^= 0x10
	w, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.Close()
}
