package comet

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/epiledger/epiledger/internal/home"
)

// What a validator keeps of CometBFT's history besides its blocks.
//
// CometBFT's consensus WAL logs every consensus message a validator
// receives, before it handles it: a block's parts once from each peer that
// sends them, every vote. Its files rotate at about 10 MiB and CometBFT
// 0.38 deletes the oldest only past 1 GiB, a limit a node cannot
// configure. Only the messages since the last committed height are ever
// read again (the catch-up replay at a start: older heights are in the
// block store and in ours; a validator's double-sign guard is its
// priv_validator_state.json, not the WAL), so that past a few files the
// WAL is dead weight: 415 bytes a record in a run of `epiledger bench
// consortium --people 10000` (four validators), three times the block
// store's 138. Every validator's engine trims it to its newest files.
const (
	// walBudget bounds the bytes of the rotated WAL files a validator
	// keeps, unless its newest walKeepFiles alone hold more.
	walBudget = 32 << 20
	// walKeepFiles rotated files are always kept, whatever their size
	// (each about 10 MiB or more): a height in progress, whose start the
	// replay looks for, is in the newest ones and the head.
	walKeepFiles = 2
	// walTrimEvery is how often the WAL is trimmed: CometBFT itself checks
	// its files every 5 s.
	walTrimEvery = 10 * time.Second
)

// rotated matches the index of a rotated file of CometBFT's autofile group:
// the head's name, a dot and at least three digits ("wal.000", "wal.001",
// ...; the head is "wal").
var rotated = regexp.MustCompile(`^\.([0-9]{3,})$`)

// trimWAL deletes the oldest rotated files of the consensus WAL whose
// head is the file head, while the rotated files hold more than budget
// bytes, keeping at least the newest keep of them and never the head:
// what CometBFT's own group does past its total size limit, with a
// smaller limit. It returns the bytes it deleted.
func trimWAL(head string, budget int64, keep int) (int64, error) {
	dir, base := filepath.Split(head)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("comet: consensus WAL: %w", err)
	}
	type file struct {
		index int
		name  string
		size  int64
	}
	var files []file
	var total int64
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), base)
		m := rotated.FindStringSubmatch(rest)
		if !ok || m == nil || !e.Type().IsRegular() {
			continue
		}
		i, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // deleted meanwhile (CometBFT's own limit)
		}
		files = append(files, file{i, e.Name(), info.Size()})
		total += info.Size()
	}
	sort.Slice(files, func(a, b int) bool { return files[a].index < files[b].index })
	var freed int64
	for _, f := range files[:max(0, len(files)-keep)] {
		if total <= budget {
			break
		}
		if err := os.Remove(filepath.Join(dir, f.name)); err != nil && !os.IsNotExist(err) {
			return freed, fmt.Errorf("comet: consensus WAL: %w", err)
		}
		total -= f.size
		freed += f.size
	}
	return freed, nil
}

// trimWALs trims the consensus WAL whose head is the file head every
// walTrimEvery until stop is closed.
func (e *Engine) trimWALs(head string, stop <-chan struct{}) {
	t := time.NewTicker(walTrimEvery)
	defer t.Stop()
	for {
		if freed, err := trimWAL(head, walBudget, walKeepFiles); err != nil {
			e.log.Warn("comet: trimming the consensus WAL", "err", err)
		} else if freed > 0 {
			e.log.Debug("comet: trimmed the consensus WAL", "bytes", freed)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// CompactStores compacts the CometBFT databases of home h (its block
// store, state and evidence) in full, so that what a validator that keeps
// only its latest blocks deleted leaves the disk: `epiledger bench consortium` measures a
// validator's bytes after compaction as `epiledger bench` does ours. The
// node must be stopped.
func CompactStores(h *home.Home) error {
	cfg, err := LoadConfig(h)
	if err != nil {
		return err
	}
	for _, id := range []string{"blockstore", "state", "evidence"} {
		// goleveldb deletes the tables a compaction replaced when it next
		// opens the database: hence the second open.
		for _, compact := range []bool{true, false} {
			db, err := cmtcfg.DefaultDBProvider(&cmtcfg.DBContext{ID: id, Config: cfg})
			if err != nil {
				return fmt.Errorf("comet: open the %s: %w", id, err)
			}
			if compact {
				err = db.Compact(nil, nil)
			}
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("comet: compact the %s: %w", id, err)
			}
		}
	}
	return nil
}
