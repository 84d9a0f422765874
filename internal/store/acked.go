package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// AckedHead is the last block whose transactions a node acknowledged: its
// height and header hash. A store that holds less than its node's acked
// head has lost acknowledged blocks (Pebble reads a damaged record at the
// end of its newest write-ahead log as a torn write and drops it and
// everything after it).
type AckedHead struct {
	Height uint64
	Hash   [32]byte
}

// ackedLabel starts an acked-head file: what it is and its version.
const ackedLabel = "epiledger/v1/acked-head"

// MarshalAckedHead encodes h as one line of text: the label, the height,
// the hash and a check (the first 8 bytes of the SHA-256 of what precedes
// it, in hex), so that a damaged file is refused rather than misread.
func MarshalAckedHead(h AckedHead) []byte {
	b := fmt.Appendf(nil, "%s %d %x", ackedLabel, h.Height, h.Hash)
	sum := sha256.Sum256(b)
	return fmt.Appendf(b, " %x\n", sum[:8])
}

// ParseAckedHead decodes what MarshalAckedHead encodes, exactly: any other
// input is an error wrapping ErrCorrupt and a zero AckedHead.
func ParseAckedHead(b []byte) (AckedHead, error) {
	bad := func(why string) (AckedHead, error) {
		return AckedHead{}, fmt.Errorf("%w: acked head: %s", ErrCorrupt, why)
	}
	line, ok := bytes.CutSuffix(b, []byte("\n"))
	if !ok {
		return bad("no final newline")
	}
	f := bytes.Split(line, []byte(" "))
	if len(f) != 4 || string(f[0]) != ackedLabel {
		return bad("not an acked-head record")
	}
	height, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return bad("height")
	}
	var h AckedHead
	h.Height = height
	if len(f[2]) != 64 {
		return bad("hash")
	}
	if _, err := hex.Decode(h.Hash[:], f[2]); err != nil {
		return bad("hash")
	}
	if !bytes.Equal(MarshalAckedHead(h), b) {
		return bad("check does not match (damaged)")
	}
	return h, nil
}

// HeadFile is the file that records a node's AckedHead, beside its store
// and synced on its own: the engine writes it after a block's commit is
// synced and before the block's receipts go out, and the node compares it
// with the store when it opens. All access goes through a vfs.FS, so tests
// can crash a memory file system. It is not safe for concurrent writes
// (the engine writes from one goroutine).
type HeadFile struct {
	fs   vfs.FS
	path string
}

// NewHeadFile returns the head file at path on fs (nil: the real file
// system). Nothing is read or written until Read or Write.
func NewHeadFile(fsys vfs.FS, path string) *HeadFile {
	if fsys == nil {
		fsys = vfs.Default
	}
	return &HeadFile{fs: fsys, path: path}
}

// Path returns the file's path.
func (f *HeadFile) Path() string { return f.path }

// Read returns the recorded head; ok is false when there is no file (a new
// node, or one that has not acknowledged a block since the file was
// introduced). A file that does not parse is an error wrapping ErrCorrupt.
func (f *HeadFile) Read() (h AckedHead, ok bool, err error) {
	r, err := f.fs.Open(f.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return AckedHead{}, false, nil
		}
		return AckedHead{}, false, fmt.Errorf("store: %s: %w", f.path, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 256))
	if err != nil {
		return AckedHead{}, false, fmt.Errorf("store: %s: %w", f.path, err)
	}
	h, err = ParseAckedHead(b)
	if err != nil {
		return AckedHead{}, false, fmt.Errorf("%s: %w", f.path, err)
	}
	return h, true, nil
}

// Write records h durably and atomically: the new record goes to a
// temporary file, which is synced, renamed over the old one, and the
// directory synced. A crash leaves the old record or the new one.
func (f *HeadFile) Write(h AckedHead) error {
	dir := f.fs.PathDir(f.path)
	tmp := f.path + ".tmp"
	if err := f.write(tmp, MarshalAckedHead(h)); err != nil {
		return fmt.Errorf("store: writing %s: %w", f.path, err)
	}
	if err := f.fs.Rename(tmp, f.path); err != nil {
		return fmt.Errorf("store: writing %s: %w", f.path, err)
	}
	d, err := f.fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("store: writing %s: %w", f.path, err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("store: writing %s: syncing its directory: %w", f.path, err)
	}
	return d.Close()
}

func (f *HeadFile) write(path string, b []byte) error {
	w, err := f.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		w.Close()
		return err
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
