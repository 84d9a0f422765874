package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/cli"
	"github.com/epiledger/epiledger/internal/report"
)

// run runs the CLI in this process as a user would type it, naming a case
// and purpose as an investigator must for reads of personal data.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runBare(t, append(args, "--case", "case-test", "--purpose", "testing")...)
}

// runBare runs the CLI with exactly args.
func runBare(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := run(t, args...)
	if code != 0 {
		t.Fatalf("epiledger %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

const world = `{"type":"site","site":"G1234","kind":"train","lat":30.59,"lon":114.30}
{"type":"site","site":"G1234/05","kind":"train_carriage","lat":30.59,"lon":114.30,"parent":"G1234"}
{"type":"site","site":"shop-1","kind":"shop","lat":31.2,"lon":121.4}
{"type":"site","site":"hospital-1","kind":"hospital","lat":31.2,"lon":121.5}
{"type":"identity","id":"420100199001011234","aliases":["phone:13800000000","plate:鄂A12345"]}
{"type":"identity","id":"310101198001010011"}
{"type":"visit","site":"G1234/05","person":"id:420100199001011234","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T12:00:00+08:00","via":"id_card"}
{"type":"visit","site":"G1234/05","person":"id:310101198001010011","in":"2020-01-20T11:50:00+08:00","out":"2020-01-20T13:00:00+08:00","via":"id_card"}
{"type":"visit","site":"shop-1","person":"phone:13800000000","in":"2020-01-20T14:00:00+08:00","out":"2020-01-20T14:10:00+08:00","via":"payment"}
{"type":"visit","site":"shop-1","person":"id:310101198001010011","in":"2020-01-20T14:00:00+08:00","out":"2020-01-20T15:00:00+08:00","via":"face"}
{"type":"case","person":"id:420100199001011234","status":"confirmed","onset":"2020-01-20","reported":"2020-01-21T10:00:00+08:00","by":"hospital-1"}
{"type":"visit","site":"nowhere","person":"id:420100199001011234","in":"2020-01-20T14:00:00+08:00","out":"2020-01-20T15:00:00+08:00"}
not json
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWorkflow walks init, import, trace, verify and proofs as a user
// would, checking outputs and exit codes.
func TestWorkflow(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	out := mustRun(t, "init", "--home", dir, "--chain-id", "test-1", "--region", "420100")
	if !strings.Contains(out, "chain id   test-1") {
		t.Errorf("init output: %s", out)
	}
	if _, errs, code := run(t, "init", "--home", dir); code != 1 || !strings.Contains(errs, "already initialised") {
		t.Errorf("second init: exit %d, %s", code, errs)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.toml"))
	if !strings.Contains(string(cfg), `min_overlap = "15m"`) || !strings.Contains(string(cfg), "# ") {
		t.Errorf("config lacks commented defaults:\n%s", cfg)
	}

	file := writeFile(t, "world.ndjson", world)
	out = mustRun(t, "import", "--home", dir, "-q", file)
	if !strings.Contains(out, "13 lines: 11 accepted, 2 rejected") ||
		!strings.Contains(out, `line 12: unknown_site: site: site "nowhere" is not registered`) ||
		!strings.Contains(out, "line 13: invalid: malformed JSON") {
		t.Errorf("import output:\n%s", out)
	}

	// Trajectory through an alias; the table shows the real id.
	out = mustRun(t, "trace", "trajectory", "--home", dir, "--person", "plate:鄂A12345", "--from", "2020-01-20", "--to", "2020-01-20")
	if !strings.Contains(out, "Trajectory of id:420100199001011234") || !strings.Contains(out, "G1234/05") || !strings.Contains(out, "shop-1") {
		t.Errorf("trajectory:\n%s", out)
	}
	// Contacts: the carriage overlap (10 min, transport) counts; the shop
	// overlap (10 min < 15 min) does not, unless --min-overlap 5m.
	var cs report.Contacts
	out = mustRun(t, "trace", "contacts", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20", "--json")
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs.Contacts) != 1 || cs.Contacts[0].Site != "G1234/05" || cs.Contacts[0].Person != "id:310101198001010011" || cs.Contacts[0].Overlap != "10m0s" {
		t.Errorf("contacts: %+v", cs.Contacts)
	}
	out = mustRun(t, "trace", "contacts", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20", "--min-overlap", "5m", "--json")
	json.Unmarshal([]byte(out), &cs)
	if len(cs.Contacts) != 2 {
		t.Errorf("contacts with --min-overlap 5m: %+v", cs.Contacts)
	}

	out = mustRun(t, "verify", "--home", dir, "--replay")
	if !strings.HasPrefix(out, "ok: ") || !strings.Contains(out, "replay: every block re-applied") {
		t.Errorf("verify:\n%s", out)
	}

	// A proof, checked offline; altered, it fails.
	var tr report.Trajectory
	json.Unmarshal([]byte(mustRun(t, "trace", "trajectory", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20", "--json")), &tr)
	proof := mustRun(t, "tx", "proof", "--home", dir, tr.Entries[0].Tx)
	pf := writeFile(t, "proof.json", proof)
	if out := mustRun(t, "tx", "check", pf); !strings.HasPrefix(out, "ok: transaction "+tr.Entries[0].Tx) {
		t.Errorf("tx check: %s", out)
	}
	for name, alter := range map[string]func(*blocks.ProofView){
		"leaf index":  func(v *blocks.ProofView) { v.Index ^= 1 },
		"header time": func(v *blocks.ProofView) { v.Header.Time++ },
		"tree size":   func(v *blocks.ProofView) { v.Size++ },
	} {
		var pv blocks.ProofView
		json.Unmarshal([]byte(proof), &pv)
		alter(&pv)
		bad, _ := json.Marshal(pv)
		if out, _, code := run(t, "tx", "check", writeFile(t, "bad.json", string(bad))); code != 1 || !strings.HasPrefix(out, "INVALID") {
			t.Errorf("altered %s: exit %d %s", name, code, out)
		}
	}
}

// TestErrors: bad invocations exit 1 with an error line, a hint where one
// helps, and never an identifier in the message.
func TestErrors(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", dir)
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", world))
	cases := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"no home", []string{"trace", "contacts", "--home", filepath.Join(dir, "nope"), "--person", "id:1"}, []string{"epiledger: error: no home at " + filepath.Join(dir, "nope") + ": pass --home DIR (or set EPILEDGER_HOME)", "epiledger: hint: to start a new chain there instead: epiledger init --home"}},
		{"unknown alias", []string{"trace", "contacts", "--home", dir, "--person", "phone:19999999999"}, []string{"unknown_person: person: the reference is not bound to any identity"}},
		{"bad ref", []string{"trace", "trajectory", "--home", dir, "--person", "19999999999"}, []string{"person: must be scheme:value"}},
		// A mistyped canonical id is not "0 contacts" (issue 12, point 5).
		{"mistyped id", []string{"trace", "contacts", "--home", dir, "--person", "id:19999999999"}, []string{"unknown_person: person: the ledger holds no record of this person"}},
		{"bad from", []string{"trace", "trajectory", "--home", dir, "--person", "id:420100199001011234", "--from", "yesterday"}, []string{"from: not an RFC 3339 time"}},
		{"to before from", []string{"trace", "trajectory", "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-21", "--to", "2020-01-20"}, []string{"to: is before from"}},
		{"missing person", []string{"trace", "contacts", "--home", dir}, []string{`required flag(s) "person" not set`, "hint: run \"epiledger trace contacts --help\""}},
		{"missing file", []string{"import", "--home", dir, "/nonexistent.ndjson"}, []string{"no such file"}},
		{"node down", []string{"import", "--home", dir, "--node", "http://127.0.0.1:1", writeFile(t, "x.ndjson", "")}, []string{"hint: is the node running?"}},
		{"unknown command", []string{"frobnicate"}, []string{"unknown command"}},
		{"log format", []string{"node", "--home", dir, "--log-format", "xml"}, []string{`--log-format "xml": text or json`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs, code := run(t, c.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, w := range c.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if strings.Contains(errs, "19999999999") {
				t.Errorf("stderr echoes the identifier:\n%s", errs)
			}
		})
	}
}

// TestHelp: every command explains itself.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, cmd := range [][]string{{}, {"init"}, {"node"}, {"import"}, {"trace"}, {"trace", "contacts"}, {"trace", "trajectory"}, {"verify"}, {"sim"}, {"demo"}, {"bench"}, {"tx", "proof"}, {"tx", "check"}} {
		out, errs, code := runBare(t, append(cmd, "--help")...)
		if code != 0 {
			t.Fatalf("epiledger %v --help: exit %d %s", cmd, code, errs)
		}
		if len(out) < 200 || !strings.Contains(out, "Usage:") {
			t.Errorf("epiledger %v --help is too thin:\n%s", cmd, out)
		}
	}
}

// TestCompletion: the shells' completion scripts are there (epiledger
// completion bash|zsh|fish) and complete the commands.
func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out, errs, code := runBare(t, "completion", sh)
		if code != 0 || !strings.Contains(out, "epiledger") || len(out) < 1000 {
			t.Errorf("completion %s: exit %d, %d bytes %s", sh, code, len(out), errs)
		}
	}
	out, _, code := runBare(t, "__complete", "tr")
	if code != 0 || !strings.Contains(out, "trace") {
		t.Errorf("completing \"tr\": exit %d\n%s", code, out)
	}
}

// TestSim: the simulator writes the records and the truth beside them,
// the same bytes for the same seed.
func TestSim(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	a, b := filepath.Join(d, "a.ndjson"), filepath.Join(d, "b.ndjson")
	mustRun(t, "sim", "--people", "200", "--days", "2", "--seed", "7", "--out", a)
	mustRun(t, "sim", "--people", "200", "--days", "2", "--seed", "7", "--out", b)
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if len(x) == 0 || !bytes.Equal(x, y) {
		t.Fatal("same seed, different output")
	}
	if _, err := os.Stat(filepath.Join(d, "a.truth.json")); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := run(t, "sim", "--people", "10"); code != 1 || !strings.Contains(errs, "--out is required") {
		t.Errorf("sim without --out: %d %s", code, errs)
	}
}

// TestDemo runs the demo on a small city: the worked case yields exactly
// its 52 contacts and everything matches the ground truth.
func TestDemo(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "demo", "--people", "300", "--days", "3")
	for _, want := range []string{
		"52 persons, 52 contacts",
		"ground truth, worked case: 1 cases, 52 contacts expected, 52 found: MATCH",
		"toll_gate       plate    -     rejected",
		"z = 1, P(rival is true) = 0.2045873",
		"taxi-沪F54321",
		"mall-joycity-sh/ferris-wheel-cabin-12",
		"verify: ok",
		": ok\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if !strings.Contains(out, "ground truth, city: ") || strings.Contains(out, "MISMATCH") {
		t.Errorf("demo city check:\n%s", out)
	}
}

// TestNodeRemote runs a node in this process, imports and traces through
// it with --node, and compares with the local path after it stops.
func TestNodeRemote(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", dir)
	url, stop := startNode(t, dir)
	if _, errs, code := run(t, "import", "--home", dir, "-q"); code != 1 || !strings.Contains(errs, "accepts 1 arg") {
		t.Errorf("import without file: %d %s", code, errs)
	}
	// The store is locked while the node runs: a command that needs it
	// gets a clear error with a hint.
	if _, errs, code := run(t, "import", "--home", dir, writeFile(t, "empty.ndjson", "")); code != 1 || !strings.Contains(errs, "--node") {
		t.Errorf("local import while the node runs: %d %s", code, errs)
	}
	out := mustRun(t, "import", "--home", dir, "--node", url, "-q", writeFile(t, "w.ndjson", world))
	if !strings.Contains(out, "11 accepted, 2 rejected") {
		t.Errorf("remote import: %s", out)
	}
	q := []string{"--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20", "--json"}
	remote := mustRun(t, append([]string{"trace", "contacts", "--node", url}, q...)...)
	remoteTr := mustRun(t, append([]string{"trace", "trajectory", "--node", url}, q...)...)
	if out := mustRun(t, "verify", "--home", dir, "--node", url); !strings.HasPrefix(out, "ok: ") {
		t.Errorf("verify --node: %s", out)
	}
	stop()
	local := mustRun(t, append([]string{"trace", "contacts"}, q...)...)
	localTr := mustRun(t, append([]string{"trace", "trajectory"}, q...)...)
	if remote != local || remoteTr != localTr {
		t.Errorf("remote and local differ:\n%s\n%s", remote, local)
	}
}

// TestEmptyAnswerSaysWhy: an answer that is empty for the window says so
// and says when the person's records run (issue 12, point 4), so that an
// investigator widens the window rather than reading "no contacts".
func TestEmptyAnswerSaysWhy(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", dir)
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "w.ndjson", world))
	for _, what := range []string{"contacts", "trajectory"} {
		out := mustRun(t, "trace", what, "--home", dir, "--person", "id:420100199001011234", "--from", "2020-02-01", "--to", "2020-02-02")
		if !strings.Contains(out, "from 2020-02-01 00:00 to 2020-02-02 23:59: this person's records run from 2020-01-20") {
			t.Errorf("%s in an empty window:\n%s", what, out)
		}
		out = mustRun(t, "trace", what, "--home", dir, "--person", "id:420100199001011234", "--from", "2020-01-20", "--to", "2020-01-20")
		if strings.Contains(out, "records run") {
			t.Errorf("%s with an answer carries the empty note:\n%s", what, out)
		}
	}
}
