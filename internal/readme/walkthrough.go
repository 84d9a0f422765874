// Package readme turns the README's walkthrough into a script that a test
// runs (TestWalkthrough), so that every command the README shows works as
// written, in order, from a fresh directory.
//
// A walkthrough block is a fenced ```sh block preceded by the line
// <!-- walkthrough -->; other blocks (set-up commands, format examples) are
// not run. Within a block, a command is one line, or several joined by a
// trailing backslash; multi-line if/for bodies work (their keyword lines
// run as they are). A command whose last line ends with "# expect: TEXT"
// must print a line containing TEXT, where the word N stands for a whole
// number of at least 1 ("# expect: N persons" fails on "0 persons"). Every
// read of results (trace, audit list, role list, verify...) that prints to
// the terminal must carry one. A command that sets NAME=$(...) or NAME=(...)
// must set something, and one that ends with "> FILE" must write something.
package readme

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Marker is the line that marks the next fenced shell block as part of the
// walkthrough.
const Marker = "<!-- walkthrough -->"

// Command is one command of the walkthrough.
type Command struct {
	Line   int    // README line of its first physical line (1-based)
	Block  int    // which walkthrough block (0-based)
	Text   string // its physical lines joined with "\n", "# expect:" removed
	Expect string // the text after "# expect:", or ""
}

// keywords open no command of their own: they continue or close a compound
// command, so no bookkeeping may go in front of them.
var keywords = map[string]bool{"then": true, "else": true, "elif": true, "fi": true, "do": true, "done": true, "esac": true, "}": true, ";;": true, ")": true}

// Keyword reports whether the command is a keyword line (then, fi, done...).
func (c Command) Keyword() bool {
	f := strings.Fields(c.Text)
	return len(f) > 0 && keywords[f[0]]
}

// Parse returns the commands of the walkthrough blocks of a README, in order.
func Parse(src []byte) ([]Command, error) {
	var out []Command
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line, block := 0, -1
	marked, inBlock := false, false
	var cur *Command
	for sc.Scan() {
		line++
		s := sc.Text()
		t := strings.TrimSpace(s)
		switch {
		case !inBlock && t == Marker:
			marked = true
		case !inBlock && marked && t == "":
		case !inBlock && marked:
			if t != "```sh" && t != "```bash" {
				return nil, fmt.Errorf("README.md:%d: %s must be followed by a ```sh block, not %q", line, Marker, t)
			}
			inBlock, marked = true, false
			block++
		case inBlock && t == "```":
			if cur != nil {
				return nil, fmt.Errorf("README.md:%d: the block ends inside the command of line %d (a trailing backslash)", line, cur.Line)
			}
			inBlock = false
		case inBlock:
			if cur == nil {
				if t == "" || strings.HasPrefix(t, "#") {
					continue
				}
				cur = &Command{Line: line, Block: block}
			} else {
				cur.Text += "\n"
			}
			cur.Text += s
			if strings.HasSuffix(t, "\\") && !strings.HasPrefix(strings.TrimSpace(comment(s)), "#") {
				continue
			}
			if err := cur.finish(); err != nil {
				return nil, err
			}
			out = append(out, *cur)
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if inBlock {
		return nil, fmt.Errorf("README.md: the walkthrough block %d is never closed", block)
	}
	if marked {
		return nil, fmt.Errorf("README.md: %s at the end, with no block after it", Marker)
	}
	return out, nil
}

var expectRE = regexp.MustCompile(`^#\s*expect:\s*(.*?)\s*$`)

// finish takes "# expect: TEXT" off the command's last line.
func (c *Command) finish() error {
	lines := strings.Split(c.Text, "\n")
	last := lines[len(lines)-1]
	cm := comment(last)
	if m := expectRE.FindStringSubmatch(cm); m != nil {
		if m[1] == "" {
			return fmt.Errorf("README.md:%d: \"# expect:\" with nothing to expect", c.Line)
		}
		c.Expect = m[1]
		lines[len(lines)-1] = strings.TrimRight(strings.TrimSuffix(last, cm), " \t")
		c.Text = strings.Join(lines, "\n")
		if c.Keyword() || c.background() {
			return fmt.Errorf("README.md:%d: \"# expect:\" on a command with no output of its own", c.Line)
		}
	} else if strings.Contains(cm, "expect:") {
		return fmt.Errorf("README.md:%d: write \"# expect: TEXT\" as the line's only comment", c.Line)
	}
	if c.Expect == "" && c.showsResults() {
		return fmt.Errorf("README.md:%d: %q shows results: end it with \"# expect: TEXT\" (the word N matches a number from 1)", c.Line, c.code())
	}
	if m := placeholderRE.FindString(c.code()); m != "" {
		return fmt.Errorf("README.md:%d: placeholder %s in the walkthrough: take the value from an earlier command", c.Line, m)
	}
	return nil
}

var placeholderRE = regexp.MustCompile(`<[A-Za-z][A-Za-z0-9 _-]*>`)

// comment returns the comment that ends the line ("# ..."), or "": a #
// that starts a word outside quotes.
func comment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case q != 0:
			if ch == q {
				q = 0
			} else if ch == '\\' && q == '"' {
				i++
			}
		case ch == '\\':
			i++
		case ch == '\'' || ch == '"':
			q = ch
		case ch == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[i:]
		}
	}
	return ""
}

// code is the command without comments, its lines joined.
func (c Command) code() string {
	var b strings.Builder
	for _, l := range strings.Split(c.Text, "\n") {
		l = strings.TrimSuffix(l, comment(l))
		l = strings.TrimSuffix(strings.TrimSpace(l), "\\")
		b.WriteString(strings.TrimSpace(l))
		b.WriteString(" ")
	}
	return strings.TrimSpace(b.String())
}

var ampersandRE = regexp.MustCompile(`(^|[^&>])&([^&>]|$)`)

// Background reports whether the command starts something in the
// background (a & that is not && or a redirection), e.g. "cmd &" or
// "for ...; do cmd & done".
func (c Command) Background() bool { return ampersandRE.MatchString(c.code()) }

func (c Command) background() bool {
	s := c.code()
	return strings.HasSuffix(s, "&") && !strings.HasSuffix(s, "&&")
}

var assignRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(\$\(|\()`)

// Assigns returns the variable the command sets from a command's output
// (NAME=$(...)) or as an array (NAME=(...)), and whether it is an array.
func (c Command) Assigns() (name string, array bool) {
	m := assignRE.FindStringSubmatch(c.code())
	if m == nil {
		return "", false
	}
	return m[1], m[2] == "("
}

var outFileRE = regexp.MustCompile(`(?:^|[^0-9&])>\s*([^\s;&|<>]+)$`)

// WritesFile returns the file a command's output goes to ("cmd > FILE"),
// or "".
func (c Command) WritesFile() string {
	if c.Keyword() || c.background() {
		return ""
	}
	m := outFileRE.FindStringSubmatch(c.code())
	if m == nil || strings.HasPrefix(m[1], "/dev/") {
		return ""
	}
	return m[1]
}

// reads are the epiledger commands that show results: in the walkthrough,
// each must say what it should print.
var reads = []string{"trace", "audit list", "role list", "verify", "validate decisions", "validate probability",
	"validate check-person-chain", "correct show", "tx check", "privacy check", "privacy run", "privacy session finish", "import"}

// showsResults reports whether the command is an epiledger read whose
// output goes to the terminal.
func (c Command) showsResults() bool {
	s := c.code()
	if !strings.HasPrefix(s, "./epiledger ") || c.background() || strings.ContainsAny(s, ">") {
		return false
	}
	f := strings.Fields(strings.TrimPrefix(s, "./epiledger "))
	for _, r := range reads {
		w := strings.Fields(r)
		if len(f) >= len(w) && strings.Join(f[:len(w)], " ") == r {
			return true
		}
	}
	return false
}

// Pattern is the extended regular expression (grep -E) of an expectation:
// the text as it is, but the word N matches a number from 1 on.
func Pattern(expect string) string {
	var b strings.Builder
	words := regexp.MustCompile(`\bN\b`).Split(expect, -1)
	for i, w := range words {
		switch {
		case i == 1 && words[0] == "":
			b.WriteString(`(^|[^0-9])[1-9][0-9]*`) // not the end of 10
		case i > 0:
			b.WriteString(`[1-9][0-9]*`) // the text before it is not a digit
		}
		for _, r := range w {
			if strings.ContainsRune(`\.[]()*+?{}|^$`, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Script returns the bash script that runs the commands in order. state is
// a directory outside the walkthrough's own where the script records the
// README line of the command it runs (state/line) and each command's
// standard error (state/stderr.LINE); expectations are checked on
// state/out.
func Script(cmds []Command, state string) string {
	var b strings.Builder
	st := quote(state)
	fmt.Fprintf(&b, `set -euo pipefail
__state=%s
__at() { printf '%%s\n' "$1" > "$__state/line"; exec 2>"$__state/stderr.$1"; }
__expect() {
  cat "$__state/out"
  if ! grep -Eq -- "$2" "$__state/out"; then echo "README.md:$1: no line of the output matches: $3" >&2; return 1; fi
}
__set() { if [ -z "${!2-}" ]; then echo "README.md:$1: \$$2 is empty" >&2; return 1; fi; }
__setarray() { local -n __a=$2; if [ "${#__a[@]}" -eq 0 ]; then echo "README.md:$1: \$$2 is empty" >&2; return 1; fi; }
__wrote() { if [ ! -s "$2" ]; then echo "README.md:$1: $2 is empty" >&2; return 1; fi; }
trap 'j=$(jobs -p); if [ -n "$j" ]; then kill $j 2>/dev/null || true; fi' EXIT
`, st)
	for _, c := range cmds {
		if c.Keyword() {
			b.WriteString(c.Text + "\n")
			continue
		}
		fmt.Fprintf(&b, "__at %d; ", c.Line)
		if c.Expect != "" {
			fmt.Fprintf(&b, "{ %s\n} > \"$__state/out\"; __expect %d %s %s\n", c.Text, c.Line, quote(Pattern(c.Expect)), quote(c.Expect))
			continue
		}
		b.WriteString(c.Text + "\n")
		if name, array := c.Assigns(); name != "" {
			fn := "__set"
			if array {
				fn = "__setarray"
			}
			fmt.Fprintf(&b, "%s %d %s\n", fn, c.Line, name)
		}
		if f := c.WritesFile(); f != "" {
			fmt.Fprintf(&b, "__wrote %d \"%s\"\n", c.Line, f)
		}
	}
	return b.String()
}

// quote quotes s for bash, in single quotes.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
