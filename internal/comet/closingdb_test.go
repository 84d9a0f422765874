package comet

import (
	"testing"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// TestClosingDBReadsAfterClose: a read of a CometBFT database after its
// close (a consensus routine outliving node.Stop) finds nothing instead
// of panicking on the closed leveldb; before the close it reads as the
// database does.
func TestClosingDBReadsAfterClose(t *testing.T) {
	t.Parallel()
	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(t.TempDir())
	db, err := closingDBProvider(&cmtcfg.DBContext{ID: "blockstore", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSync([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("before close: %q %v", v, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("k")); err != nil || v != nil {
		t.Fatalf("after close: %q %v, want nothing", v, err)
	}
	if ok, err := db.Has([]byte("k")); err != nil || ok {
		t.Fatalf("after close: has %v %v", ok, err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("a second close: %v", err)
	}
}
