package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
)

// TestVerifyOneAtATimeStopsWhenCancelled (issue 12, adversarial pass):
// GET /v1/verify takes seconds on a city; six aborted requests once kept
// a node busy for 18 CPU-seconds. Now one runs at a time: a second request
// while one runs gets 429 busy with Retry-After, at once; the run gets
// its request's context and stops when the caller goes away, which frees
// the slot for the next request, which verifies.
func TestVerifyOneAtATimeStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	started, stopped := make(chan struct{}, 1), make(chan error, 1)
	var hold atomic.Bool
	hold.Store(true)
	h, err := api.NewWithVerify(f.n, slog.New(slog.NewTextHandler(io.Discard, nil)), func(ctx context.Context) (*blocks.VerifyReport, error) {
		if hold.Load() {
			// A long verify: it runs until its request is cancelled.
			started <- struct{}{}
			<-ctx.Done()
			stopped <- ctx.Err()
			return nil, ctx.Err()
		}
		g := f.h.Genesis
		return blocks.VerifyContext(ctx, f.n.DB, &g, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(contract(t, h))
	t.Cleanup(f.srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/v1/verify", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	first := make(chan error, 1)
	go func() {
		resp, err := f.srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		first <- err
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first verify did not start")
	}

	r := f.call(t, "GET", "/v1/verify", f.token, "")
	if r.status != 429 {
		t.Fatalf("a second verify while one runs: %d %s", r.status, r.body)
	}
	if e := apiError(t, r); e.Code != "busy" {
		t.Errorf("a second verify: %+v", e)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}

	cancel()
	select {
	case err := <-stopped:
		if err == nil {
			t.Error("the verify stopped without its context being done")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the verify did not stop when its request was cancelled")
	}
	<-first

	hold.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = f.call(t, "GET", "/v1/verify", f.token, "")
		if r.status != 429 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var v api.VerifyReply
	decodeOK(t, r, &v)
	if !v.OK || v.Blocks != f.n.Engine.Head().Height {
		t.Errorf("verify after the cancelled one: %+v", v)
	}
}
