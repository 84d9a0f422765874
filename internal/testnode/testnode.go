// Package testnode builds throwaway nodes for tests: a fresh home in a
// temporary directory, a node with a fast engine, and helpers to import
// NDJSON text.
package testnode

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/state"
)

// Setup is what an Option may change: the genesis rules the home is
// written with, and its config (in memory, after init).
type Setup struct {
	Rules  *state.Params
	Config *home.Config
	// Region is the chain's region (420100, Wuhan, unless an option
	// changes it).
	Region string
}

// Option changes a test home.
type Option func(*Setup)

// New returns an initialised home and an open node on it, closed at the
// end of the test. Options, if given, change the home's genesis rules and
// config first.
func New(t testing.TB, opts ...Option) (*home.Home, *node.Node) {
	t.Helper()
	rules, cfg := state.DefaultParams(), home.DefaultConfig()
	s := Setup{Rules: &rules, Config: &cfg, Region: "420100"}
	for _, o := range opts {
		o(&s)
	}
	h, err := home.Init(filepath.Join(t.TempDir(), "home"), home.InitOptions{ChainID: "test-chain", Region: s.Region,
		Time: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), Rules: &rules})
	if err != nil {
		t.Fatal(err)
	}
	h.Config = cfg // init wrote the default config: the options change it in memory
	return h, Open(t, h)
}

// StoreOnly makes the node read the store for every query: no resident
// timeline (tests that build their own, or test the store's path).
func StoreOnly(s *Setup) { s.Config.Trace.Resident = false }

// IDsInStore makes the node's resident timeline keep its record ids in
// the store (trace.resident_ids = "store").
func IDsInStore(s *Setup) { s.Config.Trace.ResidentIDs = "store" }

// National makes the chain the nation's (region 000000).
func National(s *Setup) { s.Region = "000000" }

// NoValidation turns trajectory validation off in the genesis (for tests
// of the plain indexes on worlds that are not physically consistent).
func NoValidation(s *Setup) { s.Rules.Validation.Enabled = false }

// Open opens a node on h with a short block interval.
func Open(t testing.TB, h *home.Home) *node.Node {
	t.Helper()
	cfg := engine.DefaultSoloConfig()
	cfg.Interval = 5 * time.Millisecond
	n, err := node.Open(h, slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{Solo: &cfg, Resident: h.Config.Trace.Resident, ResidentIDsInStore: h.Config.Trace.ResidentIDs == "store"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	// Queries read the resident timeline from the start, as on a node
	// that has loaded it.
	if err := n.WaitTimeline(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

// Import imports NDJSON text through the node's engine.
func Import(t testing.TB, h *home.Home, n *node.Node, text string) *importer.Result {
	t.Helper()
	res, err := importer.New(h, importer.EngineSink{Node: n}).Import(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Caller is the chain authority reading for the tests' case and purpose.
func Caller(n *node.Node) node.Caller {
	return n.AuthorityCaller("test-case", "test", time.Now().Unix())
}

// Perform audits a builder's read as the chain authority and runs it, as
// the CLI's local path does; err is the builder's (returned as is).
func Perform[T any](t testing.TB, n *node.Node, rd *node.Read[T], err error) (T, error) {
	t.Helper()
	if err != nil {
		var zero T
		return zero, err
	}
	return node.Perform(context.Background(), n, Caller(n), rd)
}

// Receipt commits an audit record of a test's read of every person and
// returns its receipt, for tests that open the vault themselves.
func Receipt(t testing.TB, n *node.Node) *node.Receipt {
	t.Helper()
	rc, err := n.AuditRead(context.Background(), Caller(n), []node.Subject{{Route: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}
