package privacy

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// RiskStore keeps the exposure-check server's secret key under a
// directory (psi.key). The key is made when this node first publishes
// risk tokens, and kept, so that a device's earlier answers stay
// comparable; everything the node publishes with it (the key's public
// half, the tokens) is on the ledger, and the state machine holds every
// publication to the first one's key. A node that never published holds
// no key. The tokens of publications made before they went on the ledger
// (record version 1) stay readable from psi-tokens.bin. Safe for
// concurrent use.
type RiskStore struct {
	dir string

	mu  sync.Mutex
	key *RiskKey
}

// NewRiskStore returns the store under dir.
func NewRiskStore(dir string) *RiskStore { return &RiskStore{dir: dir} }

// load reads psi.key; with create, a node without one makes it.
func (rs *RiskStore) load(create bool) error {
	if rs.key != nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(rs.dir, "psi.key"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !create {
			return nil
		}
		k, err := NewRiskKey(nil)
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(rs.dir, "psi.key"), []byte(hex.EncodeToString(k.Bytes())+"\n")); err != nil {
			return err
		}
		rs.key = k
	case err != nil:
		return err
	default:
		raw, err := hex.DecodeString(string(trimNL(b)))
		if err != nil {
			return fmt.Errorf("privacy: psi.key is not hex")
		}
		if rs.key, err = ParseRiskKey(raw); err != nil {
			return fmt.Errorf("privacy: psi.key: %w", err)
		}
	}
	return nil
}

// Key returns this node's key, or nil if it has none.
func (rs *RiskStore) Key() (*RiskKey, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := rs.load(false); err != nil {
		return nil, err
	}
	return rs.key, nil
}

// KeyOrNew returns this node's key, making it if it has none (to
// publish).
func (rs *RiskStore) KeyOrNew() (*RiskKey, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := rs.load(true); err != nil {
		return nil, err
	}
	return rs.key, nil
}

// LegacyTokens returns the tokens a record version 1 publication left in
// psi-tokens.bin, with their version (0: no file).
func (rs *RiskStore) LegacyTokens() (tokens []byte, version uint64, err error) {
	t, err := os.ReadFile(filepath.Join(rs.dir, "psi-tokens.bin"))
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(t) < 8) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	tokens = t[8:]
	if err := CheckTokens(tokens); err != nil {
		return nil, 0, fmt.Errorf("privacy: psi-tokens.bin: %w", err)
	}
	return tokens, binary.BigEndian.Uint64(t[:8]), nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// writeAtomic writes a file through a synced temporary and a rename.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := writeSyncClose(f, b); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeSyncClose writes b to f, syncs and closes it, returning the first
// error.
func writeSyncClose(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
