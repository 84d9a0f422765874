package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/epiledger/epiledger/internal/home"
)

// TestRunningNode: while a node serves a home, a command that the node
// serves, run on the home without --node, goes through the node and says
// so; one that needs the store says which node holds it and the --node
// flag that reaches it; with a stale record (its process gone) it says only that
// another process holds the store; a node that stops cleanly removes its
// record.
func TestRunningNode(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", dir)
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", world))
	url, stop := startNode(t, dir)
	addr := strings.TrimPrefix(url, "http://")
	q := []string{"trace", "contacts", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20"}

	// A command the node serves goes through it, and says so.
	want := fmt.Sprintf("epiledger: through the node running on this home (pid %d, http://%s)\n", os.Getpid(), addr)
	out, errs, code := run(t, q...)
	if code != 0 || errs != want {
		t.Errorf("without --node: exit %d\n%s\nwant\n%s", code, errs, want)
	}
	if viaNode := mustRun(t, append(q, "--node", url)...); out != viaNode {
		t.Errorf("without --node:\n%s\nwith --node:\n%s", out, viaNode)
	}
	// One that needs the store says which node holds it.
	want = fmt.Sprintf("epiledger: error: a node is running on this home (pid %d, listening on %s): add --node http://%s\n", os.Getpid(), addr, addr)
	if _, errs, code := run(t, "import", "--home", dir, "-q", writeFile(t, "empty.ndjson", "")); code != 1 || errs != want {
		t.Errorf("import without --node: exit %d\n%s\nwant\n%s", code, errs, want)
	}

	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no process to outlive:", err)
	}
	b, _ := json.Marshal(home.Running{PID: dead.Process.Pid, Listen: "127.0.0.1:1", Started: "2020-01-01T00:00:00Z"})
	if err := os.WriteFile(filepath.Join(dir, home.RunningFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := run(t, q...); code != 1 || !strings.Contains(errs, "the store of the home "+dir+" is locked by another process") || strings.Contains(errs, "127.0.0.1:1") {
		t.Errorf("stale record: exit %d\n%s", code, errs)
	}

	stop()
	os.Remove(filepath.Join(dir, home.RunningFile))
	url, stop = startNode(t, dir)
	if r, err := home.ReadRunning(dir); err != nil || r == nil || "http://"+r.Listen != url {
		t.Fatalf("record of the running node: %+v %v", r, err)
	}
	stop()
	if _, err := os.Stat(filepath.Join(dir, home.RunningFile)); !os.IsNotExist(err) {
		t.Errorf("the node left its record: %v", err)
	}
	mustRun(t, q...)

	// A node.json that names a server which answers for the chain, while
	// no node holds the store (left behind, its pid and port taken by
	// others): never trusted. The commands run on the store; the server
	// is sent nothing but health checks, if that.
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var asked []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Method+" "+r.URL.Path)
		mu.Unlock()
		fmt.Fprintf(w, `{"status":"ok","chain_id":%q,"height":987654321}`, h.Genesis.ChainID)
	}))
	defer fake.Close()
	b, _ = json.Marshal(home.Running{PID: os.Getpid(), Listen: strings.TrimPrefix(fake.URL, "http://"), Started: "2020-01-01T00:00:00Z"})
	if err := os.WriteFile(filepath.Join(dir, home.RunningFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{q, {"verify", "--home", dir}, {"role", "list", "--home", dir}} {
		out, errs, code := run(t, args...)
		if code != 0 || strings.Contains(errs, "through the node") || strings.Contains(out, "987654321") {
			t.Errorf("%s with a forged node.json: exit %d\n%s%s", args[0], code, out, errs)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 0 {
		t.Errorf("the server a forged node.json names was asked %v", asked)
	}
}
