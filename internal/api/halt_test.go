package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/testnode"
)

// syncBuffer is a log that tests read while the node writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// damageTables flips a byte every 512 of every table of the store, as a
// failing disk would, while the node runs.
func damageTables(t *testing.T, data string) {
	t.Helper()
	es, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if !strings.HasSuffix(e.Name(), ".sst") {
			continue
		}
		p := filepath.Join(data, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(b); i += 512 {
			b[i] ^= 0x10
		}
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt(b, 0) // in place: the node holds the file open
		f.Close()
		n++
	}
	if n == 0 {
		t.Fatal("no table to damage")
	}
}

// TestCorruptionHaltsNode: once the node meets damage in its store, its
// log says so, /v1/health answers 503 "halted", and a transaction posted
// is refused with 503, not stored.
func TestCorruptionHaltsNode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, h *home.Home, n *node.Node, f *fixture)
		log    string // in the node's log
	}{
		{name: "a read meets a damaged table", damage: func(t *testing.T, h *home.Home, n *node.Node, f *fixture) {
			if err := n.DB.Flush(); err != nil {
				t.Fatal(err)
			}
			damageTables(t, h.DataDir())
			// Any read of the tables now meets the damage: a block's
			// header, through the API.
			if got := f.call(t, "GET", "/v1/blocks/1", f.token, ""); got.status != http.StatusServiceUnavailable || !strings.Contains(string(got.body), `"halted"`) {
				t.Fatalf("GET /v1/blocks/1 on a damaged store: %d %s", got.status, got.body)
			}
		}, log: "checksum mismatch"},
		{name: "a record does not decode", damage: func(t *testing.T, h *home.Home, n *node.Node, f *fixture) {
			n.DB.Halt(fmt.Errorf("%w: a site record of 3 bytes", store.ErrCorrupt))
		}, log: "a site record of 3 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := home.Init(filepath.Join(t.TempDir(), "home"), home.InitOptions{ChainID: "test-chain", Region: "420100",
				Time: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			var log syncBuffer
			cfg := engine.DefaultSoloConfig()
			cfg.Interval = 5 * time.Millisecond
			n, err := node.Open(h, slog.New(slog.NewTextHandler(&log, nil)), node.Options{Solo: &cfg})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { n.Close() })
			if res := testnode.Import(t, h, n, world); res.Rejected != 0 {
				t.Fatalf("setup rejected: %v", res.Rejections)
			}
			srv := httptest.NewServer(handler(t, n, slog.New(slog.NewTextHandler(&log, nil))))
			t.Cleanup(srv.Close)
			f := &fixture{h: h, n: n, srv: srv, token: h.APIToken()}
			if got := f.call(t, "GET", "/v1/health", "", ""); got.status != http.StatusOK {
				t.Fatalf("health before the damage: %d %s", got.status, got.body)
			}

			tc.damage(t, h, n, f)

			got := f.call(t, "GET", "/v1/health", "", "")
			var e struct{ Error api.Error }
			json.Unmarshal(got.body, &e)
			if got.status != http.StatusServiceUnavailable || e.Error.Code != "halted" || !strings.Contains(e.Error.Msg, "damaged") {
				t.Fatalf("health after the damage: %d %s", got.status, got.body)
			}
			tx := ledger.NewTx(&ledger.RegisterSite{Site: "site-after-damage", Kind_: "shop", LatE6: 30500000, LonE6: 114300000, Region: "420100"})
			tx.Sign(h.Genesis.ChainID, h.Authority())
			body := fmt.Sprintf(`{"tx":%q}`, base64.StdEncoding.EncodeToString(tx.Bytes()))
			if got := f.call(t, "POST", "/v1/tx", f.token, body); got.status != http.StatusServiceUnavailable {
				t.Fatalf("POST /v1/tx on a halted node: %d %s", got.status, got.body)
			}
			for _, w := range []string{"level=ERROR", "the node stops writing", tc.log} {
				if !strings.Contains(log.String(), w) {
					t.Errorf("the node's log lacks %q:\n%s", w, log.String())
				}
			}
		})
	}
}
