package privacy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// RiskStore keeps the exposure-check server's key and its current risk
// tokens under a directory (key in psi.key, tokens in psi-tokens.bin,
// both replaced atomically). The key is made on first use and kept, so
// a device's earlier answers stay comparable. Safe for concurrent use.
type RiskStore struct {
	dir string

	mu      sync.Mutex
	key     *RiskKey
	tokens  []byte
	version uint64
	loaded  bool
}

// NewRiskStore returns the store under dir.
func NewRiskStore(dir string) *RiskStore { return &RiskStore{dir: dir} }

func (rs *RiskStore) load() error {
	if rs.loaded {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(rs.dir, "psi.key"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if rs.key, err = NewRiskKey(nil); err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(rs.dir, "psi.key"), []byte(hex.EncodeToString(rs.key.Bytes())+"\n")); err != nil {
			return err
		}
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
	t, err := os.ReadFile(filepath.Join(rs.dir, "psi-tokens.bin"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(t) >= 8 {
		for _, c := range t[:8] {
			rs.version = rs.version<<8 | uint64(c)
		}
		rs.tokens = t[8:]
		if err := CheckTokens(rs.tokens); err != nil {
			return fmt.Errorf("privacy: psi-tokens.bin: %w", err)
		}
	}
	rs.loaded = true
	return nil
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

// Key returns the server's key (made on first use).
func (rs *RiskStore) Key() (*RiskKey, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := rs.load(); err != nil {
		return nil, err
	}
	return rs.key, nil
}

// Current returns the risk tokens, their version (0: none published) and
// the key.
func (rs *RiskStore) Current() (tokens []byte, version uint64, key *RiskKey, err error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := rs.load(); err != nil {
		return nil, 0, nil, err
	}
	return rs.tokens, rs.version, rs.key, nil
}

// Replace computes and stores the tokens of visits as the next version,
// returning it with the tokens' digest. publish runs before the store is
// changed (it records the version on the ledger); if it fails, nothing
// changes.
func (rs *RiskStore) Replace(visits []Visit, publish func(version uint64, count int, digest [32]byte, key []byte) error) (uint64, []byte, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := rs.load(); err != nil {
		return 0, nil, err
	}
	tokens := rs.key.Tokens(visits)
	v := rs.version + 1
	if err := publish(v, len(tokens)/ElementSize, sha256.Sum256(tokens), rs.key.Public()); err != nil {
		return 0, nil, err
	}
	b := make([]byte, 8, 8+len(tokens))
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (56 - 8*i))
	}
	if err := writeAtomic(filepath.Join(rs.dir, "psi-tokens.bin"), append(b, tokens...)); err != nil {
		return 0, nil, err
	}
	rs.tokens, rs.version = tokens, v
	return v, tokens, nil
}
