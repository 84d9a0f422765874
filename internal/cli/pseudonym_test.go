package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/cli"
)

// runIn runs the CLI with stdin in and exactly args.
func runIn(t *testing.T, in string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, strings.NewReader(in), &out, &errb)
	return out.String(), errb.String(), code
}

// syncBuffer is a buffer written by one goroutine and read by another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// startLoggedNode is startNode keeping the node's log.
func startLoggedNode(t *testing.T, dir string) (string, *syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	log := &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- cli.Main(ctx, []string{"node", "--home", dir, "--listen", "127.0.0.1:0", "--verbose"}, strings.NewReader(""), pw, log)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("node: %v: %s", err, log.String())
	}
	go io.Copy(io.Discard, pr)
	return strings.TrimSpace(strings.TrimPrefix(line, "listening on ")), log, func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("node did not stop")
		}
	}
}

// genesisKey reads pseudonyms.public_key from a home's genesis.json.
func genesisKey(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Pseudonyms struct {
			Scheme    string `json:"scheme"`
			PublicKey string `json:"public_key"`
		} `json:"pseudonyms"`
	}
	if err := json.Unmarshal(b, &g); err != nil || g.Pseudonyms.Scheme == "" || len(g.Pseudonyms.PublicKey) != 64 {
		t.Fatalf("genesis.json names no pseudonym key: %v\n%s", err, b)
	}
	return g.Pseudonyms.PublicKey
}

// TestSiteObliviousImport (issue 13, point 7): a site holding only its
// key imports its records and asks for pseudonyms through the node
// without the node seeing the references: the pseudonyms it gets
// (epiledger pseudonym --as) are those the authority's home computes, and
// an investigator finds the site's records under the person the
// authority recorded; the raw ids it sent blinded are nowhere in the
// node's log, store files or vault, and each request is on the audit
// trail with how many elements. A pin the node does not name, a node that
// lies about its key (its proofs fail) or a tampered proof stops the
// import before anything is submitted. A malformed reference on stdin is
// refused naming its line, not the reference.
func TestSiteObliviousImport(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir)
	pin := genesisKey(t, dir)
	siteKey, sitePub := desk(t, d, "site")
	auditorKey, auditorPub := desk(t, d, "auditor")
	mustRun(t, "role", "grant", "--home", dir, "--key", sitePub, "--role", "site", "--name", "shop 9")
	mustRun(t, "role", "grant", "--home", dir, "--key", auditorPub, "--role", "auditor", "--name", "auditor 9")
	const idKnown, idOnlySite, phoneOnlySite = "420100199001011234", "110101200001010077", "13712345678"
	res, _ := importResult(t, "--home", dir, writeFile(t, "registry.ndjson", `{"type":"site","site":"shop-9","kind":"shop","lat":31.2,"lon":121.4,"key":"`+sitePub+`"}
{"type":"site","site":"office-9","kind":"office","lat":31.2,"lon":121.4}
{"type":"identity","id":"`+idKnown+`","aliases":["phone:13800000000"]}
{"type":"visit","site":"office-9","person":"id:`+idKnown+`","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T09:00:00+08:00"}
`))
	if res.Accepted != 4 {
		t.Fatalf("registry: %+v", res)
	}
	url, nodeLog, stop := startLoggedNode(t, dir)
	defer stop()
	siteDesk := filepath.Dir(siteKey)

	// The same pseudonyms: the authority's home computes them; the site
	// obtains them obliviously.
	refs := "id:" + idKnown + "\nphone:13800000000\n\n ID: " + idOnlySite + "\nphone:" + phoneOnlySite + "\n"
	authority, errs, code := runIn(t, refs, "pseudonym", "--home", dir)
	if code != 0 || len(strings.Split(strings.TrimSpace(authority), "\n")) != 4 {
		t.Fatalf("pseudonym --home: exit %d\n%s%s", code, authority, errs)
	}
	if !strings.HasSuffix(strings.Split(authority, "\n")[0], "  id") || !strings.HasSuffix(strings.Split(authority, "\n")[1], "  alias") {
		t.Errorf("pseudonym --home: %s", authority)
	}
	site, errs, code := runIn(t, refs, "pseudonym", "--home", siteDesk, "--node", url, "--as", siteKey, "--pseudonym-key", pin)
	if code != 0 || site != authority {
		t.Fatalf("pseudonym --as: exit %d\n%s\nwant\n%s\n%s", code, site, authority, errs)
	}
	// Without a pin the node's key is used and printed to compare.
	site, errs, code = runIn(t, refs, "pseudonym", "--home", siteDesk, "--node", url, "--as", siteKey)
	if code != 0 || site != authority || !strings.Contains(errs, pin) {
		t.Errorf("pseudonym --as without a pin: exit %d\n%s%s", code, site, errs)
	}

	// The site imports its visits; the investigator... here the auditor
	// lists the audit trail: one record per request, naming the count.
	visits := writeFile(t, "visits.ndjson", `{"type":"visit","site":"shop-9","person":"id:`+idKnown+`","in":"2020-01-20T14:00:00+08:00","out":"2020-01-20T14:30:00+08:00","via":"face"}
{"type":"visit","site":"shop-9","person":"id:`+idOnlySite+`","in":"2020-01-20T14:05:00+08:00","out":"2020-01-20T14:45:00+08:00","via":"face"}
{"type":"visit","site":"shop-9","person":"phone:13800000000","in":"2020-01-20T15:05:00+08:00","out":"2020-01-20T15:45:00+08:00","via":"payment"}
{"type":"visit","site":"shop-9","person":"id:`+idOnlySite+`","in":"2020-01-20T16:05:00+08:00","out":"2020-01-20T16:45:00+08:00","via":"face"}
`)
	res, _ = importResult(t, "--home", siteDesk, "--node", url, "--as", siteKey, "--pseudonym-key", pin, visits)
	if res.Accepted != 4 || res.Rejected != 0 {
		t.Fatalf("oblivious import: %+v", res)
	}
	// The visit of the known person is found under the authority's
	// person, with its real id (from the authority's own identity record).
	out := mustRun(t, "trace", "trajectory", "--home", dir, "--person", "id:"+idKnown, "--from", "2020-01-20", "--to", "2020-01-20", "--json")
	if !strings.Contains(out, `"site": "shop-9"`) || !strings.Contains(out, `"site": "office-9"`) {
		t.Errorf("the known person's trajectory lacks the site's visit: %s", out)
	}
	var tr struct{ Pseudonym string }
	out = mustRun(t, "trace", "trajectory", "--home", dir, "--person", "id:"+idOnlySite, "--from", "2020-01-20", "--to", "2020-01-20", "--json")
	if err := json.Unmarshal([]byte(out), &tr); err != nil || !strings.Contains(authority, tr.Pseudonym+"  id") || strings.Count(out, `"site": "shop-9"`) != 2 {
		t.Errorf("the site-only person: %v %s", err, out)
	}
	var trail struct {
		Audits []struct{ Caller, Route, Purpose string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, "audit", "list", "--home", dir, "--node", url, "--as", auditorKey, "--json")), &trail); err != nil {
		t.Fatal(err)
	}
	var purposes []string
	for _, a := range trail.Audits {
		if a.Route == api.ObliviousRoute {
			if a.Caller != sitePub {
				t.Errorf("audit record of another caller: %+v", a)
			}
			purposes = append(purposes, a.Purpose)
		}
	}
	// Two pseudonym runs of 4 references and an import of 3 distinct (the
	// trail orders records of one second by transaction id).
	slices.Sort(purposes)
	if strings.Join(purposes, ",") != "evaluate 3 blinded elements,evaluate 4 blinded elements,evaluate 4 blinded elements" {
		t.Errorf("audit records of the oblivious route: %q", purposes)
	}

	// The references sent only blinded are nowhere on the node: not in
	// its log, not in any file of its home (store, WAL, vault).
	if !strings.Contains(nodeLog.String(), "/v1/pseudonyms/oblivious") {
		t.Errorf("the node's log does not name the route (is it the node's log?):\n%s", nodeLog.String())
	}
	for _, s := range []string{idOnlySite, phoneOnlySite} {
		if strings.Contains(nodeLog.String(), s) {
			t.Errorf("the node's log holds %s", s)
		}
		filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return nil
			}
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %s", p, s)
			}
			return nil
		})
	}

	// Refusals, each before anything is submitted: a new visit that must
	// not reach the ledger.
	visits = writeFile(t, "visits2.ndjson", `{"type":"visit","site":"shop-9","person":"id:`+idKnown+`","in":"2020-01-20T19:00:00+08:00","out":"2020-01-20T19:30:00+08:00","via":"face"}
`)
	other := filepath.Join(d, "other")
	mustRun(t, "init", "--home", other)
	otherPin := genesisKey(t, other)
	if _, errs, code := run(t, "import", "-q", "--home", siteDesk, "--node", url, "--as", siteKey, "--pseudonym-key", otherPin, visits); code != 1 ||
		!strings.Contains(errs, "not the one pinned") {
		t.Errorf("another chain's pin: exit %d\n%s", code, errs)
	}
	if _, errs, code := run(t, "import", "-q", "--home", siteDesk, "--node", url, "--as", siteKey, "--pseudonym-key", "abcd", visits); code != 1 ||
		!strings.Contains(errs, "--pseudonym-key") {
		t.Errorf("a malformed pin: exit %d\n%s", code, errs)
	}
	// A node that names the pinned key but evaluates with another (a
	// proxy in front of this node claims the other chain's key), and one
	// whose proof is altered on the way: the proof fails.
	proxy := func(rewrite func(path string, body []byte) []byte) string {
		target, _ := urlParse(url)
		rp := httputil.NewSingleHostReverseProxy(target)
		rp.ModifyResponse = func(r *http.Response) error {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return err
			}
			b = rewrite(r.Request.URL.Path, b)
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
			r.Header.Del("Content-Length")
			return nil
		}
		srv := httptest.NewServer(rp)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	lying := proxy(func(path string, b []byte) []byte {
		if path == "/v1/pseudonyms/key" {
			return bytes.ReplaceAll(b, []byte(pin), []byte(otherPin))
		}
		return b
	})
	tampered := proxy(func(path string, b []byte) []byte {
		if path != "/v1/pseudonyms/oblivious" {
			return b
		}
		var rep api.ObliviousReply
		if json.Unmarshal(b, &rep) != nil || len(rep.Proof) < 4 {
			return b
		}
		c := "A"
		if rep.Proof[2] == 'A' {
			c = "B"
		}
		rep.Proof = rep.Proof[:2] + c + rep.Proof[3:]
		out, _ := json.Marshal(rep)
		return out
	})
	for name, c := range map[string]struct{ url, pin string }{"lying_node": {lying, otherPin}, "tampered_proof": {tampered, pin}} {
		out, errs, code := run(t, "import", "-q", "--home", siteDesk, "--node", c.url, "--as", siteKey, "--pseudonym-key", c.pin, visits)
		if code != 1 || !strings.Contains(errs, "not proven to be made with the chain's key") || strings.Contains(out, "accepted") {
			t.Errorf("%s: exit %d\n%s%s", name, code, out, errs)
		}
		if _, errs, code := runIn(t, "id:"+idKnown+"\n", "pseudonym", "--home", siteDesk, "--node", c.url, "--as", siteKey, "--pseudonym-key", c.pin); code != 1 ||
			!strings.Contains(errs, "not proven") {
			t.Errorf("%s, pseudonym: exit %d\n%s", name, code, errs)
		}
	}
	if out := mustRun(t, "trace", "trajectory", "--home", dir, "--person", "id:"+idKnown, "--from", "2020-01-20", "--to", "2020-01-20", "--json"); strings.Contains(out, "19:00") {
		t.Errorf("a refused import submitted its visit: %s", out)
	}

	// A malformed reference: its line, not the reference.
	_, errs, code = runIn(t, "id:"+idKnown+"\nphone:139\x00000\n", "pseudonym", "--home", siteDesk, "--node", url, "--as", siteKey)
	if code != 1 || !strings.Contains(errs, "line 2") || strings.Contains(errs, "139") {
		t.Errorf("malformed reference: exit %d\n%s", code, errs)
	}
}

func urlParse(s string) (*url.URL, error) { return url.Parse(s) }
