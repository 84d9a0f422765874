package client

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
)

// InProcess is the base URL of a client built by NewInProcess.
const InProcess = "http://in-process"

// NewInProcess returns a client of the API handler h in this process: each
// request is served by h directly, with no socket, through the same
// routes, authentication, audit and JSON as a request over the network. The
// CLI uses it on a home without a running node, so that every command is
// written once, against the client, and answers alike locally and through
// --node (issue 12, point 2).
func NewInProcess(h http.Handler) *Client {
	c := New(InProcess, "")
	c.hc = &http.Client{Transport: handlerTransport{h}}
	return c
}

// handlerTransport serves a request with a handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// What a server hands its handler: the request as received, a body
	// that the server closes, the request line's target.
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "in-process"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	defer in.Body.Close()
	w := &responseBuffer{header: http.Header{}}
	t.h.ServeHTTP(w, in)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(&w.body),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}, nil
}

// responseBuffer is the http.ResponseWriter of an in-process request.
type responseBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseBuffer) Header() http.Header { return w.header }

func (w *responseBuffer) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseBuffer) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
