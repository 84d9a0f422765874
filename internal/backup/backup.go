// Package backup holds the format of a node's backup, a tar stream of its
// store as of one block (GET from a running node with POST /v1/backup),
// and its restore into a home: `epiledger backup` and `epiledger restore`.
//
// The stream: MANIFEST.json first (Manifest: the chain, its genesis hash,
// the block the copy ends at, how many files and bytes follow), then the
// store's files, each as data/NAME, flat, in name order. Nothing else: a
// stream that says otherwise, holds a path that is not one flat name, or
// more or fewer files or bytes than its manifest, is refused.
package backup

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/store"
)

// Format labels a manifest.
const Format = "epiledger-backup/v1"

// ManifestName is a backup's first entry.
const ManifestName = "MANIFEST.json"

// maxManifest bounds the manifest's bytes.
const maxManifest = 64 << 10

// Manifest says what a backup holds: the store of one chain as of one
// block.
type Manifest struct {
	Format      string `json:"format"`
	ChainID     string `json:"chain_id"`
	GenesisHash string `json:"genesis_hash"`
	Height      uint64 `json:"height"`
	Head        string `json:"head"`
	StateHash   string `json:"state_hash"`
	// Created is the node's clock when the copy was taken.
	Created string `json:"created"`
	// Files and Bytes count the store's files that follow the manifest.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Count counts the files of a store directory and their bytes.
func Count(dir string) (files int, bytes int64, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files++
		bytes += fi.Size()
		return nil
	})
	return files, bytes, err
}

// Write writes man and then the files of the store directory dir (a
// checkpoint: flat), in name order, as a tar stream.
func Write(w io.Writer, dir string, man *Manifest) error {
	tw := tar.NewWriter(w)
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(b)), ModTime: time.Now()}); err != nil {
		return err
	}
	if _, err := tw.Write(b); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if e.IsDir() {
			return fmt.Errorf("backup: the store holds a directory %s", e.Name())
		}
		if err := addFile(tw, filepath.Join(dir, e.Name()), "data/"+e.Name()); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, p, name string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
		return err
	}
	// Exactly the size the header announced, even if the file grew.
	if _, err := io.CopyN(tw, f, fi.Size()); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	return nil
}

// Extract reads a backup stream into dir (new, or an empty directory):
// dir/MANIFEST.json and dir/data/. It refuses, and leaves what it wrote
// for the caller to remove, a stream that is not one.
func Extract(r io.Reader, dir string) (*Manifest, error) {
	if err := emptyDir(dir); err != nil {
		return nil, fmt.Errorf("%w: give a new directory", err)
	}
	tr := tar.NewReader(r)
	h, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("backup: no manifest: %w", err)
	}
	if h.Name != ManifestName || h.Typeflag != tar.TypeReg || h.Size > maxManifest {
		return nil, fmt.Errorf("backup: the first entry is %q, not the manifest", h.Name)
	}
	b, err := io.ReadAll(io.LimitReader(tr, maxManifest))
	if err != nil {
		return nil, fmt.Errorf("backup: manifest: %w", err)
	}
	man, err := parseManifest(b)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), b, 0o600); err != nil {
		return nil, err
	}
	files, total := 0, int64(0)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("backup: after %d of %d files: %w (the stream was cut?)", files, man.Files, err)
		}
		name, ok := strings.CutPrefix(h.Name, "data/")
		if !ok || h.Typeflag != tar.TypeReg || name == "" || name != path.Base(name) || name == "." || name == ".." || strings.ContainsAny(name, `\`) {
			return nil, fmt.Errorf("backup: an entry %q that is not a file of the store", h.Name)
		}
		files++
		total += h.Size
		if files > man.Files || total > man.Bytes || h.Size < 0 {
			return nil, fmt.Errorf("backup: more files or bytes than the manifest's %d files, %d bytes", man.Files, man.Bytes)
		}
		f, err := os.OpenFile(filepath.Join(dir, "data", name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		_, err = io.CopyN(f, tr, h.Size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("backup: %s: %w (the stream was cut?)", name, err)
		}
	}
	if files != man.Files || total != man.Bytes {
		return nil, fmt.Errorf("backup: %d files, %d bytes, where the manifest says %d files, %d bytes (the stream was cut?)", files, total, man.Files, man.Bytes)
	}
	return man, nil
}

// ReadManifest reads dir/MANIFEST.json, a backup Extract wrote.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("backup: %w (is %s a backup epiledger backup wrote?)", err, dir)
	}
	return parseManifest(b)
}

func parseManifest(b []byte) (*Manifest, error) {
	var man Manifest
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(&man); err != nil {
		return nil, fmt.Errorf("backup: manifest: %w", err)
	}
	if man.Format != Format {
		return nil, fmt.Errorf("backup: manifest format %q, want %q", man.Format, Format)
	}
	if man.Files <= 0 || man.Bytes <= 0 || man.GenesisHash == "" || man.Head == "" {
		return nil, errors.New("backup: the manifest names no store")
	}
	return &man, nil
}

// emptyDir checks that dir does not exist or is an empty directory.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// Restore puts the store of the backup in dir (Extract's) into home h,
// which must be of the same chain (the same genesis hash) and hold no
// store (its data directory absent or empty: a home rebuilt from its
// keys, config and genesis.json). It checks that the restored store ends
// at the manifest's block, and records that block as the last one the
// node acknowledged (going back to the backup is deliberate; the node
// would otherwise refuse to start without the blocks it had acknowledged
// since). Run `epiledger verify` on the home after it.
func Restore(dir string, h *home.Home) (*Manifest, error) {
	man, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if want := h.Genesis.Hash().String(); man.GenesisHash != want {
		return nil, fmt.Errorf("backup: this backup is of chain %q (genesis %.16s), the home's chain is %q (genesis %.16s)", man.ChainID, man.GenesisHash, h.Genesis.ChainID, want)
	}
	if err := emptyDir(h.DataDir()); err != nil {
		return nil, fmt.Errorf("backup: the home already has a store (%w): restore into a home without one (its keys, config and genesis.json, no data/)", err)
	}
	src := filepath.Join(dir, "data")
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(h.DataDir(), 0o700); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(h.DataDir(), e.Name())); err != nil {
			return nil, err
		}
	}
	db, err := store.Open(h.DataDir(), store.Options{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("backup: the restored store does not open: %w", err)
	}
	head, err := blocks.ReadHead(db, &h.Genesis)
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("backup: the restored store: %w", err)
	}
	if head.Height != man.Height || head.Hash.String() != man.Head {
		return nil, fmt.Errorf("backup: the restored store ends at block %d (%.16s), the manifest says %d (%.16s)", head.Height, head.Hash.String(), man.Height, man.Head)
	}
	acked := store.NewHeadFile(nil, filepath.Join(h.Dir, node.AckedHeadFile))
	if err := acked.Write(store.AckedHead{Height: head.Height, Hash: head.Hash}); err != nil {
		return nil, err
	}
	return man, nil
}

// copyFile copies a file and syncs it.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
