package node_test

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/testnode"
)

// TestOpenChecksAckedHead: Open compares the store with the acked-head
// file the engine wrote, whatever the file says.
func TestOpenChecksAckedHead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		file func(head blocks.Head) []byte // nil: no file
		ok   bool
		is   func(error) bool
	}{
		{name: "no file", ok: true},
		{name: "the store's head", ok: true, file: func(h blocks.Head) []byte {
			return store.MarshalAckedHead(store.AckedHead{Height: h.Height, Hash: h.Hash})
		}},
		{name: "behind the store", ok: true, file: func(h blocks.Head) []byte {
			return store.MarshalAckedHead(store.AckedHead{Height: 0})
		}},
		{name: "ahead of the store", file: func(h blocks.Head) []byte {
			return store.MarshalAckedHead(store.AckedHead{Height: h.Height + 3, Hash: h.Hash})
		}, is: func(err error) bool {
			var lost *blocks.LostBlocksError
			return errors.As(err, &lost) && lost.Acked == lost.Have+3 && errors.Is(err, store.ErrCorrupt)
		}},
		{name: "another block at that height", file: func(h blocks.Head) []byte {
			return store.MarshalAckedHead(store.AckedHead{Height: h.Height, Hash: [32]byte{1}})
		}, is: func(err error) bool {
			var bad *blocks.BadBlockError
			return errors.As(err, &bad)
		}},
		{name: "damaged file", file: func(h blocks.Head) []byte {
			b := store.MarshalAckedHead(store.AckedHead{Height: h.Height, Hash: h.Hash})
			b[30] ^= 1
			return b
		}, is: func(err error) bool { return errors.Is(err, store.ErrCorrupt) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, n := testnode.New(t, testnode.StoreOnly)
			testnode.Import(t, h, n, `{"type":"site","site":"shop-1","kind":"shop","lat":30.5,"lon":114.3}
`)
			head := n.Engine.Head()
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(h.Dir, node.AckedHeadFile)
			if ah, ok, err := store.NewHeadFile(nil, path).Read(); err != nil || !ok || ah.Height != head.Height || ah.Hash != head.Hash {
				t.Fatalf("the engine recorded %+v %v %v, want head %d %s", ah, ok, err, head.Height, head.Hash)
			}
			os.Remove(path)
			if tc.file != nil {
				if err := os.WriteFile(path, tc.file(head), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, o := range []node.Options{{Solo: &engine.SoloConfig{}}, {NoEngine: true}, {ReadOnly: true}} {
				n2, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), o)
				if err == nil {
					n2.Close()
				}
				if tc.ok != (err == nil) || err != nil && !tc.is(err) {
					t.Fatalf("Open(%+v): %v, want ok=%v", o, err, tc.ok)
				}
			}
		})
	}
}
