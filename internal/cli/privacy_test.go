package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/cli"
)

type runOut struct {
	Op           string   `json:"op"`
	Result       []string `json:"result"`
	Places       int      `json:"places"`
	Participants int      `json:"participants"`
	ResultTx     string   `json:"result_tx"`
}

func plainOp(op string, places []string, visits [][]string) []string {
	out := []string{}
	for _, p := range places {
		k := 0
		for _, v := range visits {
			if slices.Contains(v, p) {
				k++
			}
		}
		if (op == "union" && k > 0) || (op == "intersection" && k == len(visits)) {
			out = append(out, p)
		}
	}
	return out
}

// TestPrivacyRun runs "epiledger privacy run" as typed, on the issue's
// example and on random itineraries, against the plain set computation.
func TestPrivacyRun(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	type input struct {
		Places       []string   `json:"places"`
		Participants [][]string `json:"participants"`
	}
	inputs := []input{{Places: []string{"u1", "u2", "u3", "u4"}, Participants: [][]string{{"u1", "u3"}, {"u2"}, {"u3", "u3"}}}}
	for k := 0; k < 2; k++ {
		in := input{}
		for i := 0; i < 12; i++ {
			in.Places = append(in.Places, fmt.Sprintf("site-%d", i))
		}
		for i := 0; i < 1+rng.IntN(5); i++ {
			var v []string
			for _, p := range in.Places {
				if rng.IntN(2) == 0 {
					v = append(v, p)
				}
			}
			in.Participants = append(in.Participants, v)
		}
		inputs = append(inputs, in)
	}
	for i, in := range inputs {
		b, _ := json.Marshal(in)
		file := writeFile(t, "in.json", string(b))
		for _, op := range []string{"union", "intersection"} {
			var got runOut
			if err := json.Unmarshal([]byte(mustRun(t, "privacy", "run", "--op", op, "--input", file, "--json")), &got); err != nil {
				t.Fatal(err)
			}
			if want := plainOp(op, in.Places, in.Participants); !slices.Equal(got.Result, want) || got.Op != op || got.ResultTx == "" {
				t.Errorf("input %d %s: got %+v, want %v", i, op, got, want)
			}
		}
	}
	out := mustRun(t, "privacy", "run", "--op", "union", "--input", writeFile(t, "in.json", `{"places":["u1","u2","u3","u4"],"participants":[["u1","u3"],["u2"],["u3"]]}`))
	if !strings.Contains(out, "union of 3 participants over 4 places: 3 places\n  u1\n  u2\n  u3\n") {
		t.Errorf("text output:\n%s", out)
	}
}

func TestPrivacyRunErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, input string
		args        []string
		want        []string
		not         string
	}{
		{"bad op", `{"places":["a"],"participants":[["a"]]}`, []string{"--op", "both"}, []string{"epiledger: error: --op: want \"union\" or \"intersection\""}, ""},
		{"no participants", `{"places":["a"],"participants":[]}`, []string{"--op", "union"}, []string{"want at least one participant"}, ""},
		{"not json", `{"places":`, []string{"--op", "union"}, []string{"--input: "}, ""},
		{"unknown field", `{"places":["a"],"people":[]}`, []string{"--op", "union"}, []string{`unknown field "people"`}, ""},
		{"place outside the universe", `{"places":["a"],"participants":[["a"],["home-of-x"]]}`, []string{"--op", "union"}, []string{"participant 1", "visits[0]: not a place of the universe"}, "home-of-x"},
		{"repeated place", `{"places":["clinic-7","clinic-7"],"participants":[["clinic-7"]]}`, []string{"--op", "union"}, []string{"places[1]: repeats an earlier place"}, "clinic-7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"privacy", "run", "--input", writeFile(t, "in.json", c.input)}, c.args...)
			_, errs, code := run(t, args...)
			if code == 0 {
				t.Fatalf("exit 0")
			}
			for _, w := range c.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if c.not != "" && strings.Contains(errs, c.not) {
				t.Errorf("stderr repeats the input %q:\n%s", c.not, errs)
			}
		})
	}
}

// startNode runs "epiledger node" in this process and returns its URL and
// a function that stops it.
func startNode(t *testing.T, dir string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- cli.Main(ctx, []string{"node", "--home", dir, "--listen", "127.0.0.1:0"}, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	return strings.TrimSpace(strings.TrimPrefix(line, "listening on ")), func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("node exited %d", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("node did not stop")
		}
	}
}

// TestPrivacyRolesCLI plays every role as a separate command against a
// running node: the administrator, three participant devices and the
// cloud; then committed visits and the exposure check.
func TestPrivacyRolesCLI(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", dir)
	url, stop := startNode(t, dir)
	defer stop()
	places := writeFile(t, "places.json", `["u1","u2","u3","u4","u5"]`)
	if out := mustRun(t, "privacy", "universe", "publish", "--home", dir, "--node", url, "--name", "city", "--places", places); !strings.Contains(out, "universe city: 5 places, period 1h0m0s") {
		t.Errorf("publish: %s", out)
	}
	if _, errs, code := run(t, "privacy", "universe", "publish", "--home", dir, "--node", url, "--name", "city", "--places", places); code != 1 || !strings.Contains(errs, "already published") {
		t.Errorf("publish twice: %d %s", code, errs)
	}
	key := filepath.Join(t.TempDir(), "admin.key")
	var created struct {
		Session           string   `json:"session"`
		ParticipantTokens []string `json:"participant_tokens"`
		CloudToken        string   `json:"cloud_token"`
	}
	out := mustRun(t, "privacy", "session", "start", "--home", dir, "--node", url, "--universe", "city", "--op", "union", "--participants", "3", "--key", key)
	if err := json.Unmarshal([]byte(out), &created); err != nil || len(created.ParticipantTokens) != 3 {
		t.Fatalf("session start: %v\n%s", err, out)
	}
	visits := [][]string{{"u1", "u4"}, {"u4"}, {}}
	var wg sync.WaitGroup
	for i, v := range visits {
		b, _ := json.Marshal(v)
		f := writeFile(t, fmt.Sprintf("v%d.json", i), string(b))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out := mustRun(t, "privacy", "participant", "--node", url, "--session", created.Session, "--token", created.ParticipantTokens[i], "--visits", f); !strings.Contains(out, fmt.Sprintf("participant %d: uploaded", i)) {
				t.Errorf("participant %d: %s", i, out)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		mustRun(t, "privacy", "cloud", "--node", url, "--session", created.Session, "--token", created.CloudToken)
	}()
	var res runOut
	if err := json.Unmarshal([]byte(mustRun(t, "privacy", "session", "finish", "--home", dir, "--node", url, "--session", created.Session, "--key", key, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !slices.Equal(res.Result, []string{"u1", "u4"}) {
		t.Errorf("union: %v", res.Result)
	}
	// A participant's token used for the wrong step, or a wrong token.
	if _, errs, code := run(t, "privacy", "cloud", "--node", url, "--session", created.Session, "--token", created.ParticipantTokens[0]); code != 1 || !strings.Contains(errs, "forbidden") {
		t.Errorf("participant as cloud: %d %s", code, errs)
	}

	// Committed visits: three past hours (one idle), anchored, opened.
	state := filepath.Join(t.TempDir(), "dev.json")
	for h, v := range []string{`["u2"]`, "", `["u2","u5"]`} {
		args := []string{"privacy", "device", "commit", "--node", url, "--state", state, "--universe", "city", "--period", fmt.Sprintf("2020-01-20T0%d:00:00Z", h)}
		if v != "" {
			args = append(args, "--visits", writeFile(t, "hour.json", v))
		}
		mustRun(t, args...)
		if out := mustRun(t, "privacy", "anchor", "--home", dir, "--node", url, "--universe", "city", "--period", fmt.Sprintf("2020-01-20T0%d:00:00Z", h)); !strings.Contains(out, "1 commitments") {
			t.Errorf("anchor: %s", out)
		}
	}
	opening := mustRun(t, "privacy", "device", "open", "--node", url, "--state", state, "--from", "2020-01-20T00:00:00Z", "--to", "2020-01-20T03:00:00Z")
	if !strings.Contains(opening, `"u2": 2`) || !strings.Contains(opening, `"u5": 1`) {
		t.Errorf("opening: %s", opening)
	}
	if out := mustRun(t, "privacy", "verify-opening", "--home", dir, "--node", url, "--opening", writeFile(t, "o.json", opening)); !strings.HasPrefix(out, "match: 3 periods") {
		t.Errorf("verify-opening: %s", out)
	}
	lie := strings.Replace(opening, `"u2": 2`, `"u2": 1`, 1)
	if out, _, code := run(t, "privacy", "verify-opening", "--home", dir, "--node", url, "--opening", writeFile(t, "lie.json", lie)); code != 2 || !strings.Contains(out, "dishonest") {
		t.Errorf("false opening: exit %d %s", code, out)
	}

	// The exposure check. Before any risk visit is published it says so.
	mine := writeFile(t, "mine.json",
		`[{"site":"shop-1","in":"2020-01-20T14:05:00+08:00","out":"2020-01-20T14:40:00+08:00"},{"site":"office-1","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T09:00:00+08:00"}]`)
	if out := mustRun(t, "privacy", "check", "--node", url, "--visits", mine); out != "no risk visits have been published yet: nothing to check your 3 hours against\n" {
		t.Errorf("check before any publication: %q", out)
	}
	mustRun(t, "privacy", "risk", "--home", dir, "--node", url, "--input", writeFile(t, "risk.json",
		`[{"site":"shop-1","in":"2020-01-20T13:00:00+08:00","out":"2020-01-20T14:30:00+08:00"}]`))
	// With a home, the matching hour is in its display zone (+08:00).
	out = mustRun(t, "privacy", "check", "--home", dir, "--node", url, "--visits", mine)
	if out != "checked 3 hours against 2 risk tokens (version 1): 1 match\n  shop-1 @ 2020-01-20T14:00:00+08:00\n" {
		t.Errorf("check with a home: %q", out)
	}
	// Without one, in this machine's zone, which it names.
	out = mustRun(t, "privacy", "check", "--home", filepath.Join(t.TempDir(), "none"), "--node", url, "--visits", mine)
	slot := time.Date(2020, 1, 20, 6, 0, 0, 0, time.UTC).Local()
	zone, _ := time.Now().Zone()
	want := fmt.Sprintf("checked 3 hours against 2 risk tokens (version 1): 1 match (times in this machine's zone, %s %s)\n  shop-1 @ %s\n", zone, time.Now().Format("-07:00"), slot.Format(time.RFC3339))
	if out != want {
		t.Errorf("check without a home:\n got %q\nwant %q", out, want)
	}
	if _, errs, code := run(t, "privacy", "check", "--node", "http://127.0.0.1:1", "--visits", writeFile(t, "m.json", `[]`)); code != 1 || !strings.Contains(errs, "hint: is the node running") {
		t.Errorf("node down: %d %s", code, errs)
	}
}

// TestPrivacyHelp: every privacy command explains itself.
func TestPrivacyHelp(t *testing.T) {
	t.Parallel()
	for _, cmd := range [][]string{{"privacy"}, {"privacy", "run"}, {"privacy", "universe", "publish"}, {"privacy", "session", "start"}, {"privacy", "session", "finish"},
		{"privacy", "participant"}, {"privacy", "cloud"}, {"privacy", "device", "commit"}, {"privacy", "device", "open"}, {"privacy", "anchor"},
		{"privacy", "verify-opening"}, {"privacy", "risk"}, {"privacy", "check"}, {"bench", "privacy"}} {
		out := mustRun(t, append(cmd, "--help")...)
		if !strings.Contains(out, "Usage:") || len(out) < 400 {
			t.Errorf("%v --help is thin:\n%s", cmd, out)
		}
	}
}
