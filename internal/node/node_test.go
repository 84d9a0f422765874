package node_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/testnode"
	"github.com/epiledger/epiledger/internal/timeline"
)

// TestTimelineLifecycle: a node without Resident says "off"; with it, the
// timeline loads in the background, says "ready", follows new blocks, and
// Close stops it before the store closes.
// Both ways of keeping record ids: in memory, and in the store.
func TestTimelineLifecycle(t *testing.T) {
	t.Parallel()
	for _, inStore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ids in store %v", inStore), func(t *testing.T) {
			t.Parallel()
			timelineLifecycle(t, inStore)
		})
	}
}

func timelineLifecycle(t *testing.T, inStore bool) {
	h, n := testnode.New(t, testnode.StoreOnly)
	if got := n.TimelineStatus(); got != "off" || n.Timeline != nil {
		t.Fatalf("without resident: %q", got)
	}
	testnode.Import(t, h, n, `{"type":"site","site":"shop-1","kind":"shop","lat":30.5,"lon":114.3}
{"type":"visit","site":"shop-1","person":"id:P1","in":"2020-01-20T09:00:00+08:00","out":"2020-01-20T10:00:00+08:00"}
`)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	cfg := engine.DefaultSoloConfig()
	n2, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{Solo: &cfg, Resident: true, ResidentIDsInStore: inStore})
	if err != nil {
		t.Fatal(err)
	}
	if err := n2.WaitTimeline(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := n2.TimelineStatus(); got != "ready" {
		t.Fatalf("after the load: %q", got)
	}
	testnode.Import(t, h, n2, `{"type":"visit","site":"shop-1","person":"id:P2","in":"2020-01-20T09:30:00+08:00","out":"2020-01-20T10:30:00+08:00"}
`)
	var persons int
	if err := n2.Timeline.Read(func(v *timeline.View) error { persons = v.Persons(); return nil }); err != nil {
		t.Fatal(err)
	}
	if persons != 2 {
		t.Fatalf("the timeline knows %d persons after the second import, want 2", persons)
	}
	cs, err := n2.Query.Contacts(n2.Pseud.Person("P1"), 0, 1<<40, -1)
	if err != nil || len(cs) != 1 || cs[0].Person != n2.Pseud.Person("P2") {
		t.Fatalf("contacts from the timeline: %+v %v", cs, err)
	}
	// The record ids, from memory or the store, are the records'.
	p1, _ := n2.Query.Trajectory(n2.Pseud.Person("P1"), 0, 1<<40, false)
	p2, _ := n2.Query.Trajectory(n2.Pseud.Person("P2"), 0, 1<<40, false)
	if len(p1) != 1 || len(p2) != 1 || cs[0].TxID != p2[0].TxID || cs[0].CaseTxID != p1[0].TxID {
		t.Fatalf("contact names records %x, %x; the trajectories hold %+v, %+v", cs[0].TxID[:4], cs[0].CaseTxID[:4], p1, p2)
	}
	if err := n2.Close(); err != nil {
		t.Fatal(err)
	}
	if got := n2.TimelineStatus(); got == "ready" {
		t.Fatal("still ready after Close")
	}
}

// TestCloseWhileLoading: closing a node whose timeline is still loading
// cancels the load and returns.
func TestCloseWhileLoading(t *testing.T) {
	t.Parallel()
	h, err := home.Init(t.TempDir()+"/home", home.InitOptions{ChainID: "test-chain", Region: "420100"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.DefaultSoloConfig()
	n, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{Solo: &cfg, Resident: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitTimeline(context.Background()); err != nil && n.TimelineStatus() != "failed" {
		t.Fatalf("after Close: %v, %q", err, n.TimelineStatus())
	}
}
