package importer

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// FuzzReadLine: readLine splits any input as splitting on "\n" does (a
// trailing "\r" dropped, no empty last line after a final "\n"), and says
// tooLong exactly for lines over max, however the reader's buffer cuts
// them.
func FuzzReadLine(f *testing.F) {
	f.Add("a\nbb\r\n\nccc", 2)
	f.Add(strings.Repeat("x", 40)+"\n", 16)
	f.Add("", 1)
	f.Add("\n\n", 0)
	f.Fuzz(func(t *testing.T, in string, max int) {
		if max < 0 || max > 64 {
			return
		}
		br := bufio.NewReaderSize(strings.NewReader(in), 16)
		want := strings.Split(in, "\n")
		if strings.HasSuffix(in, "\n") || in == "" {
			want = want[:len(want)-1]
		}
		for i, w := range want {
			w = strings.TrimSuffix(w, "\r")
			b, tooLong, err := readLine(br, max)
			if err != nil && err != io.EOF {
				t.Fatalf("line %d: %v", i, err)
			}
			if tooLong != (len(w) > max) {
				t.Fatalf("line %d %q: tooLong %v with max %d", i, w, tooLong, max)
			}
			if !tooLong && !bytes.Equal(b, []byte(w)) {
				t.Fatalf("line %d: %q, want %q", i, b, w)
			}
		}
		if b, tooLong, err := readLine(br, max); err != io.EOF || b != nil || tooLong {
			t.Fatalf("after the last line: %q %v %v", b, tooLong, err)
		}
	})
}
