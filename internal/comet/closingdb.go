package comet

import (
	"sync"

	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
)

// closingDB is a CometBFT database that a read after Close finds empty,
// rather than closed. CometBFT 0.38's node.Stop closes its databases
// while a consensus reactor's per-peer routine (queryMaj23Routine) may
// still load a commit from the block store, and a read of a closed
// leveldb panics ("leveldb: closed"): in CI it brought down a validator
// of `bench consortium` as it stopped (TestBenchConsortium; the same race
// is known in Tendermint; oasis-core defers the close instead). The
// routine returns at its next check that the reactor runs, so what it
// read no longer matters. A close waits for the reads under way.
type closingDB struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

// closingDBProvider opens CometBFT's databases as the default provider
// does, each a closingDB.
func closingDBProvider(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	db, err := cmtcfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	return &closingDB{DB: db}, nil
}

func (d *closingDB) Get(k []byte) ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, nil
	}
	return d.DB.Get(k)
}

func (d *closingDB) Has(k []byte) (bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return false, nil
	}
	return d.DB.Has(k)
}

func (d *closingDB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.DB.Close()
}
