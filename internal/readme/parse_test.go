package readme_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/readme"
)

const sample = "# Title\n" +
	"\n" +
	"    go build -o epiledger ./cmd/epiledger\n" + // not marked: not run
	"\n" +
	"<!-- walkthrough -->\n" +
	"```sh\n" +
	"# a comment line\n" +
	"KEY=$(./epiledger keygen --out a.key)   # prints the public key\n" +
	"./epiledger trace contacts --home ./node \\\n" +
	"    --person id:1   # expect: N persons\n" +
	"if [ -d \"$X\" ]; then\n" +
	"  ./epiledger trace clusters --home ./node > c.txt\n" +
	"fi\n" +
	"```\n" +
	"\n" +
	"```sh\n" +
	"rm -rf /   # not marked: not run\n" +
	"```\n"

func TestParse(t *testing.T) {
	cmds, err := readme.Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, c := range cmds {
		lines = append(lines, c.Line)
	}
	if len(cmds) != 5 || lines[0] != 8 || lines[1] != 9 || lines[2] != 11 || lines[4] != 13 {
		t.Fatalf("commands at lines %v, want [8 9 11 12 13]", lines)
	}
	if name, array := cmds[0].Assigns(); name != "KEY" || array {
		t.Errorf("assigns %q %v", name, array)
	}
	if c := cmds[1]; c.Expect != "N persons" || strings.Contains(c.Text, "expect") || !strings.HasSuffix(c.Text, "--person id:1") {
		t.Errorf("expect %q, text %q", c.Expect, c.Text)
	}
	if f := cmds[3].WritesFile(); f != "c.txt" {
		t.Errorf("writes %q", f)
	}
	if !cmds[4].Keyword() {
		t.Errorf("fi is not a keyword line")
	}
	s := readme.Script(cmds, "/tmp/state")
	for _, want := range []string{"__at 8; KEY=$(", "__set 8 KEY\n", "__at 9; { ./epiledger trace contacts", "__wrote 12 \"c.txt\"", "\nfi\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "rm -rf") || strings.Contains(s, "go build") {
		t.Errorf("script runs an unmarked block:\n%s", s)
	}
}

func TestParseRefuses(t *testing.T) {
	for name, block := range map[string]string{
		"a read without expect": "./epiledger trace contacts --person id:1\n",
		"a placeholder":         "./epiledger tx check --home ./node <HASH>   # expect: ok\n",
		"expect on background":  "./epiledger node --home ./node &   # expect: listening\n",
		"open continuation":     "./epiledger init \\\n",
	} {
		if _, err := readme.Parse([]byte("<!-- walkthrough -->\n```sh\n" + block + "```\n")); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := readme.Parse([]byte("<!-- walkthrough -->\n    ./epiledger init\n")); err == nil {
		t.Errorf("a marker before an indented block: accepted")
	}
}

// TestPattern checks with grep itself that N matches a number from 1 and
// the rest matches as written.
func TestPattern(t *testing.T) {
	if _, err := exec.LookPath("grep"); err != nil {
		t.Skip("no grep")
	}
	for _, c := range []struct {
		expect, line string
		match        bool
	}{
		{"N persons", "Close contacts: 52 persons, 52 contacts", true},
		{"N persons", "Close contacts: 0 persons", false},
		{"N persons", "10 persons", true},
		{"N persons", "Close contacts: 10 persons", true},
		{"Persons met (N)", "Persons met (463), cases first:", true},
		{"Persons met (N)", "Persons met (0), cases first:", false},
		{"N accepted, 0 rejected", "227 lines: 227 accepted, 0 rejected in 99ms", true},
		{"N accepted, 0 rejected", "227 lines: 226 accepted, 1 rejected in 99ms", false},
		{`"status":"ok"`, `{"status":"ok","height":0}`, true},
		{"P(rival) = 0.2 [q]", "P(rival) = 0.2 [q]", true},
		{"P(rival) = 0.2 [q]", "P(rival) = 0x2 [q]", false},
	} {
		cmd := exec.Command("grep", "-Eq", "--", readme.Pattern(c.expect))
		cmd.Stdin = strings.NewReader(c.line + "\n")
		err := cmd.Run()
		if (err == nil) != c.match {
			t.Errorf("%q against %q (pattern %s): matched %v, want %v", c.expect, c.line, readme.Pattern(c.expect), err == nil, c.match)
		}
	}
}

func TestBackground(t *testing.T) {
	for text, want := range map[string]bool{
		"./epiledger node --home ./node > node.log 2>&1 &":              true,
		"for i in 1 2 3; do ./epiledger privacy participant & done":     true,
		"./epiledger trace clusters --home ./node > c.txt 2>&1":         false,
		"[ -d x ] && ./epiledger trace clusters --home ./node &> c.txt": false,
	} {
		if got := (readme.Command{Text: text}).Background(); got != want {
			t.Errorf("%q: background %v, want %v", text, got, want)
		}
	}
}
