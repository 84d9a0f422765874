package home_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/epiledger/epiledger/internal/home"
)

// TestRunning: a node's record reads back as written; it is removed only
// by the process it names; a directory without one reads as nil; a
// damaged one is an error.
func TestRunning(t *testing.T) {
	t.Parallel()
	h, err := home.Init(filepath.Join(t.TempDir(), "home"), home.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := home.ReadRunning(h.Dir); r != nil || err != nil {
		t.Fatalf("no node yet: %+v %v", r, err)
	}
	want := home.Running{PID: os.Getpid(), Listen: "127.0.0.1:7070", Started: "2020-01-20T08:00:00+08:00"}
	if err := h.WriteRunning(want); err != nil {
		t.Fatal(err)
	}
	r, err := home.ReadRunning(h.Dir)
	if err != nil || r == nil || *r != want || !r.Alive() {
		t.Fatalf("read back %+v %v, want %+v, alive", r, err, want)
	}
	if err := h.RemoveRunning(os.Getpid() + 1); err != nil {
		t.Fatal(err)
	}
	if r, _ := home.ReadRunning(h.Dir); r == nil {
		t.Fatal("another process removed the record")
	}
	if err := h.RemoveRunning(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if r, err := home.ReadRunning(h.Dir); r != nil || err != nil {
		t.Fatalf("after removal: %+v %v", r, err)
	}
	os.WriteFile(filepath.Join(h.Dir, home.RunningFile), []byte("{"), 0o644)
	if _, err := home.ReadRunning(h.Dir); err == nil {
		t.Error("a damaged record reads")
	}
}
