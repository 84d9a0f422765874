package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "epiledger-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "epiledger")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs the binary and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// mustRun runs the binary and returns stdout; a non-zero exit fails t.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := run(t, args...)
	if code != 0 {
		t.Fatalf("epiledger %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// nodeProc is a running "epiledger node".
type nodeProc struct {
	cmd *exec.Cmd
	url string
}

func startNode(t *testing.T, homeDir string) *nodeProc {
	t.Helper()
	cmd := exec.Command(binary, "node", "--home", homeDir, "--listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening on ") {
		cmd.Process.Kill()
		t.Fatalf("node did not start: %q %v", line, err)
	}
	go io.Copy(io.Discard, stdout)
	p := &nodeProc{cmd: cmd, url: strings.TrimSpace(strings.TrimPrefix(line, "listening on "))}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// TestKillDuringImport submits signed records to a node in batches,
// SIGKILLs it while a batch is in flight, and checks that the store
// verifies and that every record the node acknowledged is there after a
// restart.
func TestKillDuringImport(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	if _, stderr, code := run(t, "init", "--home", dir); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	h, err := home.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Sign the records here (the test plays the importer) and keep them.
	var lines strings.Builder
	lines.WriteString(`{"type":"site","site":"gate","kind":"office","lat":30.5,"lon":114.3}` + "\n")
	base := time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 6000; i++ {
		in := base.Add(time.Duration(i) * time.Minute)
		fmt.Fprintf(&lines, `{"type":"visit","site":"gate","person":"id:P%05d","in":"%s","out":"%s"}`+"\n", i%500, in.Format(time.RFC3339), in.Add(time.Minute).Format(time.RFC3339))
	}
	capt := &importer.Collector{}
	if _, err := importer.New(h, capt).Import(strings.NewReader(lines.String())); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, dir)
	acked := submitUntilKilled(t, n, h.APIToken(), capt.Txs, 500, 4)
	if len(acked) < 4*500 {
		t.Fatalf("only %d acknowledged before the kill", len(acked))
	}
	if out, stderr, code := run(t, "verify", "--home", dir); code != 0 {
		t.Fatalf("verify after SIGKILL: exit %d\n%s%s", code, out, stderr)
	}
	n2 := startNode(t, dir)
	for _, id := range acked {
		req, _ := http.NewRequest("GET", n2.url+"/v1/tx/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+h.APIToken())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("acknowledged tx %s is gone after the crash (status %d)", id[:16], resp.StatusCode)
		}
	}
}

// submitUntilKilled posts batches; once killAfter batches are acknowledged
// it sends the next batch and kills the node while that request is in
// flight. It returns the ids of acknowledged transactions.
func submitUntilKilled(t *testing.T, n *nodeProc, token string, txs [][]byte, batch, killAfter int) []string {
	t.Helper()
	var acked []string
	post := func(part [][]byte) (*api.SubmitReply, error) {
		req := api.SubmitRequest{}
		for _, raw := range part {
			req.Txs = append(req.Txs, base64.StdEncoding.EncodeToString(raw))
		}
		body, _ := json.Marshal(req)
		hr, _ := http.NewRequestWithContext(context.Background(), "POST", n.url+"/v1/txs", bytes.NewReader(body))
		hr.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var rep api.SubmitReply
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			return nil, err
		}
		return &rep, nil
	}
	for i := 0; i*batch < len(txs); i++ {
		part := txs[i*batch : min((i+1)*batch, len(txs))]
		if i == killAfter {
			// In flight while the node dies: none of it may be assumed.
			done := make(chan struct{})
			go func() { post(part); close(done) }()
			n.cmd.Process.Signal(syscall.SIGKILL)
			n.cmd.Wait()
			<-done
			return acked
		}
		rep, err := post(part)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		for _, r := range rep.Results {
			if r.Error != nil {
				t.Fatalf("batch %d refused a record: %v", i, r.Error)
			}
			acked = append(acked, r.Tx)
		}
	}
	t.Fatal("ran out of records before the kill")
	return nil
}
