package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/testnode"
)

// TestSessionExpiry: a session past its hour is refused (401 naming
// session) and swept from memory; one within it is admitted.
func TestSessionExpiry(t *testing.T) {
	_, n := testnode.New(t)
	s, err := newServer(n, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	add := func(expires time.Time) string {
		id, h := secret()
		s.console.sessions[h] = &session{role: "investigator", csrf: "c", expires: expires}
		return id
	}
	live, dead := add(time.Now().Add(time.Minute)), add(time.Now().Add(-time.Second))
	ask := func(id string) (*session, error) {
		r := httptest.NewRequest("GET", "/v1/console/session", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: id})
		return s.sessionOf(r)
	}
	if sess, err := ask(live); err != nil || sess == nil {
		t.Errorf("a live session: %v %v", sess, err)
	}
	if _, err := ask(dead); err == nil {
		t.Errorf("an expired session was admitted")
	} else if e, ok := err.(*Error); !ok || e.Status != 401 || e.Field != "session" {
		t.Errorf("an expired session: %v", err)
	}
	s.console.mu.Lock()
	s.console.sweep(time.Now())
	left := len(s.console.sessions)
	s.console.mu.Unlock()
	if left != 1 {
		t.Errorf("%d sessions after the sweep, want the live one", left)
	}
}
