package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serving is an API handler served on a listener. Every server of the API
// (the node command, the privacy protocols' local run) starts and stops
// through it, so that header timeouts and shutdown are set in one place.
type Serving struct {
	srv  *http.Server
	done chan error
	// Addr is the address served.
	Addr net.Addr
}

// Serve serves h on ln until Shutdown. A request's headers must arrive
// within 10 s (its body has its route's own deadline, see bodyDeadline).
func Serve(ln net.Listener, h http.Handler) *Serving {
	s := &Serving{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan error, 1), Addr: ln.Addr()}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s
}

// Done delivers why serving stopped on its own (nil after Shutdown).
func (s *Serving) Done() <-chan error { return s.done }

// Shutdown stops accepting, lets the requests in flight finish for up to
// grace, then closes what is left.
func (s *Serving) Shutdown(grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return errors.Join(err, s.srv.Close())
	}
	return nil
}
