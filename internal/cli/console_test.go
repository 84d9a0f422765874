package cli_test

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConsoleCommand: epiledger console proves the key to the node and
// prints a one-time URL that opens a session once; without --as, or with
// a key that holds no role, it stops with a clear message.
func TestConsoleCommand(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "home")
	mustRun(t, "init", "--home", dir)
	key := filepath.Join(root, "inv.key")
	pub := strings.TrimSpace(mustRun(t, "keygen", "--out", key))
	mustRun(t, "role", "grant", "--home", dir, "--key", pub, "--role", "investigator", "--name", "test investigator")
	stranger := filepath.Join(root, "stranger.key")
	mustRun(t, "keygen", "--out", stranger)
	url, stop := startNode(t, dir)
	defer stop()

	out := mustRun(t, "console", "--node", url, "--as", key)
	link := regexp.MustCompile(`http://\S+/console/open\?token=\S+`).FindString(out)
	if link == "" || !strings.Contains(out, "investigator") {
		t.Fatalf("console printed %q", out)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i, want := range []int{http.StatusSeeOther, http.StatusUnauthorized} {
		resp, err := hc.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("opening the link, time %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"console", "--node", url}, "--as KEY is required"},
		{[]string{"console", "--node", url, "--as", stranger}, "holds no role"},
		{[]string{"console", "--as", key}, `"node" not set`},
	} {
		if _, errs, code := run(t, c.args...); code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, errs, c.want)
		}
	}
}
