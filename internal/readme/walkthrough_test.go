//go:build unix

package readme_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/readme"
)

// address is where the README's node listens; the test puts a free port
// in its place.
const address = "127.0.0.1:7070"

// budget is how long the whole walkthrough may take.
const budget = 6 * time.Minute

// TestWalkthrough runs the README's walkthrough blocks, in order, with bash
// (set -euo pipefail) in a fresh directory holding nothing but an epiledger
// built from this checkout, as a new user would: every command must
// succeed, every "# expect:" must be met, and the node the README starts
// is stopped at the end whatever happens. It fails naming the README line
// of the first command that failed, with its standard error.
// WALKTHROUGH_TRANSCRIPT=FILE keeps what the commands printed, and
// SOCIOPATTERNS=DIR says where the SocioPatterns data is.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("the README walkthrough takes a minute or more")
	}
	for _, tool := range []string{"bash", "curl", "grep", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README walkthrough needs %s on PATH (apt-get install %s)", tool, tool)
		}
	}
	root := repoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := readme.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	text := map[int]string{}
	started := false
	for i, c := range cmds {
		if strings.Contains(c.Text, "epiledger node ") && strings.Contains(c.Text, address) {
			started = true
		}
		cmds[i].Text = strings.ReplaceAll(c.Text, address, "ADDR")
		text[c.Line] = c.Text
	}
	if len(cmds) < 20 || !started {
		t.Fatalf("README.md has %d walkthrough commands (node started on %s: %v): mark its walkthrough blocks with %s", len(cmds), address, started, readme.Marker)
	}

	work, state := t.TempDir(), t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(work, "epiledger"), "./cmd/epiledger")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddress(t)
	for i := range cmds {
		cmds[i].Text = strings.ReplaceAll(cmds[i].Text, "ADDR", addr)
	}
	script := filepath.Join(state, "walkthrough.sh")
	if err := os.WriteFile(script, []byte(readme.Script(cmds, state)), 0o600); err != nil {
		t.Fatal(err)
	}

	// The data the README reads from outside the repository: where the
	// caller says, else where the README's default points from this clone.
	socio := os.Getenv("SOCIOPATTERNS")
	if socio == "" {
		socio = filepath.Join(root, "..", "shared", "data", "sociopatterns")
	}
	if _, err := os.Stat(socio); err != nil {
		t.Logf("no SocioPatterns data at %s: the walkthrough skips its import", socio)
	}
	home := filepath.Join(state, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "SOCIOPATTERNS=" + socio}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" || k == "SOCIOPATTERNS" || strings.HasPrefix(k, "EPILEDGER_") {
			continue
		}
		env = append(env, kv)
	}

	var stdout bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Dir = work
	cmd.Env = env
	cmd.Stdout = &stdout
	cmd.Stderr = &stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever happens, nothing the walkthrough started outlives the test.
	t.Cleanup(func() { stopGroup(t, cmd.Process.Pid) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	limit := budget
	if d, ok := t.Deadline(); ok && time.Until(d)-30*time.Second < limit {
		limit = time.Until(d) - 30*time.Second
	}
	var runErr error
	timedOut := false
	select {
	case runErr = <-done:
	case <-time.After(limit):
		timedOut = true
		stopGroup(t, cmd.Process.Pid)
		runErr = <-done
	}
	took := time.Since(start).Round(time.Second)
	if f := os.Getenv("WALKTHROUGH_TRANSCRIPT"); f != "" {
		if err := os.WriteFile(f, stdout.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}

	if runErr == nil {
		t.Logf("the README walkthrough ran %d commands in %s (node on %s)", len(cmds), took, addr)
		return
	}
	line, _ := os.ReadFile(filepath.Join(state, "line"))
	n, _ := strconv.Atoi(strings.TrimSpace(string(line)))
	stderr, _ := os.ReadFile(filepath.Join(state, fmt.Sprintf("stderr.%d", n)))
	what := fmt.Sprintf("failed (%v)", runErr)
	if timedOut {
		what = fmt.Sprintf("did not finish: the walkthrough was stopped after %s", limit)
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) && !timedOut {
		what = fmt.Sprintf("failed (exit %d)", ee.ExitCode())
	}
	// What ran beside it: the background commands' errors (a participant
	// that failed leaves the next command waiting) and the logs.
	var more strings.Builder
	for _, c := range cmds {
		if b, _ := os.ReadFile(filepath.Join(state, fmt.Sprintf("stderr.%d", c.Line))); c.Background() && c.Line != n && len(bytes.TrimSpace(b)) > 0 {
			fmt.Fprintf(&more, "the standard error of README.md:%d (in the background):\n%s\n", c.Line, indent(tail(string(b), 10)))
		}
	}
	logs, _ := filepath.Glob(filepath.Join(work, "*.log"))
	for _, l := range logs {
		if b, _ := os.ReadFile(l); len(b) > 0 {
			fmt.Fprintf(&more, "%s ends with:\n%s\n", filepath.Base(l), indent(tail(string(b), 10)))
		}
	}
	t.Fatalf("README.md:%d: %s\n%s\n%s after %s; its standard error:\n%s\nthe walkthrough's output ended with:\n%s\n%s",
		n, text[n], strings.Repeat("-", 40), what, took, indent(string(stderr)), indent(tail(stdout.String(), 25)), more.String())
}

// repoRoot is the directory of go.mod above the test's.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = up
	}
}

// freeAddress is a loopback address with a port nothing listens on.
func freeAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// stopGroup ends the process group of the walkthrough's shell (the node
// and anything else it started in the background): SIGTERM, then SIGKILL
// if some of it is still there after ten seconds.
func stopGroup(t *testing.T, pgid int) {
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return // nothing left
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the walkthrough's processes ignored SIGTERM for 10s: killed")
	syscall.Kill(-pgid, syscall.SIGKILL)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	if strings.TrimSpace(s) == "" {
		return "    (nothing)"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
