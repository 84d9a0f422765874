package backup

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExtract: Extract never panics and never writes outside its
// directory, whatever the stream.
func FuzzExtract(f *testing.F) {
	store := f.TempDir()
	os.WriteFile(filepath.Join(store, "000001.sst"), []byte("table"), 0o600)
	os.WriteFile(filepath.Join(store, "MANIFEST-000001"), []byte("manifest"), 0o600)
	var good bytes.Buffer
	man := &Manifest{Format: Format, ChainID: "c", GenesisHash: "g", Height: 1, Head: "h", StateHash: "s", Files: 2, Bytes: 13}
	if err := Write(&good, store, man); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	b := []byte(`{"format":"epiledger-backup/v1","genesis_hash":"g","head":"h","files":1,"bytes":1}`)
	tw.WriteHeader(&tar.Header{Name: ManifestName, Size: int64(len(b)), Mode: 0o600})
	tw.Write(b)
	tw.WriteHeader(&tar.Header{Name: "data/../x", Size: 1, Mode: 0o600})
	tw.Write([]byte{1})
	tw.Close()
	f.Add(evil.Bytes())
	f.Fuzz(func(t *testing.T, stream []byte) {
		root := t.TempDir()
		dir := filepath.Join(root, "b")
		Extract(bytes.NewReader(stream), dir)
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if e.Name() != "b" {
				t.Fatalf("wrote %s outside the backup's directory", e.Name())
			}
		}
	})
}
