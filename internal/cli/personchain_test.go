package cli_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
)

// nineDays is one person's visits on nine days, 2020-01-11 to 19, one a
// day (the 15th's by an alias, so that the chain carries a binding): once
// the windows close, person blocks 0 to 8, one a day.
func nineDays() string {
	var b strings.Builder
	b.WriteString(`{"type":"site","site":"shop-a","kind":"shop","lat":30.58,"lon":114.27,"region":"420100"}
{"type":"identity","id":"420100199001015678","aliases":["phone:13900000000"]}
`)
	for d := 11; d <= 19; d++ {
		who := "id:420100199001015678"
		if d == 15 {
			who = "phone:13900000000"
		}
		fmt.Fprintf(&b, `{"type":"visit","site":"shop-a","person":%q,"in":"2020-01-%dT10:00:00+08:00","out":"2020-01-%dT11:00:00+08:00","via":"face"}`+"\n", who, d, d)
	}
	return b.String()
}

// headerOf is the header alone of a block of a view, as the view gives
// the blocks outside its period.
func headerOf(t *testing.T, bv blocks.PersonBlockView) *blocks.PersonBlockView {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(bv.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := ledger.DecodePersonBlock(raw)
	if err != nil {
		t.Fatal(err)
	}
	bv.Bytes, bv.Entries = base64.StdEncoding.EncodeToString(pb.HeaderBytes()), []blocks.ProofView{}
	return &bv
}

// cloneView deep-copies a view through JSON.
func cloneView(t *testing.T, v *blocks.PersonChainView) *blocks.PersonChainView {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out blocks.PersonChainView
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func checkView(t *testing.T, v *blocks.PersonChainView) (string, int) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, errs, code := run(t, "validate", "check-person-chain", writeFile(t, "chain.json", string(b)))
	return out + errs, code
}

// tamper is a change to a person chain file and what its INVALID line
// must say.
type tamper struct {
	name   string
	change func(v *blocks.PersonChainView)
	want   string
}

// checkTampered checks each tampering of v, as a subtest: INVALID naming
// its want, exit 1.
func checkTampered(t *testing.T, v *blocks.PersonChainView, prefix string, ts []tamper) {
	t.Helper()
	for _, tc := range ts {
		t.Run(prefix+tc.name, func(t *testing.T) {
			tv := cloneView(t, v)
			tc.change(tv)
			out, code := checkView(t, tv)
			if code != 1 || !strings.HasPrefix(out, "INVALID: ") || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want 1 and INVALID: …%s…\n%s", code, tc.want, out)
			}
		})
	}
}

// TestCheckPersonChainTampered (issue 12): a person chain of seven blocks
// of a nine-block chain checks, saying which blocks and what holds at each
// end; every tampering the adversarial pass tried (a block dropped from
// the middle, the start or the end, blocks reversed or repeated, a window
// or the period changed or garbled) is INVALID with exit 1. A late
// record's block, sealed after them with an old window, is checked by its
// header between the period's blocks. What cannot be proven offline (a
// cut at the chain's end with its length lowered, a cut at a block outside
// the period) checks, and the ok lines say what was covered.
func TestCheckPersonChainTampered(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", dir, "--region", "420100")
	mustRun(t, "import", "--home", dir, "-q", writeFile(t, "days.ndjson", nineDays()))
	mustRun(t, "validate", "close", "--home", dir, "--until", "2020-01-21T07:00:00+08:00")
	chainOf := func() *blocks.PersonChainView {
		out := mustRun(t, "validate", "person-chain", "--home", dir, "--person", "id:420100199001015678", "--from", "2020-01-12", "--to", "2020-01-18")
		var v blocks.PersonChainView
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("person-chain: %v\n%s", err, out)
		}
		return &v
	}
	v := chainOf()
	var seqs []uint64
	for _, bv := range v.Blocks {
		seqs = append(seqs, bv.Seq)
	}
	if !slices.Equal(seqs, []uint64{1, 2, 3, 4, 5, 6, 7}) || v.Before == nil || v.Before.Seq != 0 || v.After == nil || v.After.Seq != 8 ||
		v.ChainLength != 9 || len(v.Bindings) != 1 || len(v.Before.Entries) != 0 {
		t.Fatalf("person-chain of the 12th to the 18th: blocks %v, before %+v, after %+v, length %d, %d bindings", seqs, v.Before, v.After, v.ChainLength, len(v.Bindings))
	}
	out, code := checkView(t, v)
	if code != 0 || !strings.HasPrefix(out, "ok: 7 person blocks, 7 entries, 1 alias bindings verified for pseudonym "+v.Pseudonym[:16]) ||
		!strings.Contains(out, "from 2020-01-12T00:00:00+08:00 to 2020-01-18T23:59:59+08:00: blocks 1..7 of its person chain\n") ||
		!strings.Contains(out, "start: block 0, just before them, lies outside the period") ||
		!strings.Contains(out, "end: block 8, just after them, lies outside the period") {
		t.Fatalf("the chain as read: exit %d\n%s", code, out)
	}

	checkTampered(t, v, "", []tamper{
		{"a block dropped from the middle", func(v *blocks.PersonChainView) { v.Blocks = slices.Delete(v.Blocks, 3, 4) }, "block 5 follows block 3"},
		{"the first block dropped", func(v *blocks.PersonChainView) { v.Blocks = v.Blocks[1:] }, "before: not the block that block 2 links to"},
		{"the first block and the one before dropped", func(v *blocks.PersonChainView) { v.Blocks, v.Before = v.Blocks[1:], nil }, "the block before it is missing"},
		{"the first block dropped, its header as the one before", func(v *blocks.PersonChainView) {
			v.Before, v.Blocks = headerOf(t, v.Blocks[0]), v.Blocks[1:]
		}, "before: block 1's window"},
		{"the block before dropped", func(v *blocks.PersonChainView) { v.Before = nil }, "the block before it is missing"},
		{"the last block dropped", func(v *blocks.PersonChainView) { v.Blocks = v.Blocks[:len(v.Blocks)-1] }, "after: not the block that links to block 6"},
		{"the last block and the one after dropped", func(v *blocks.PersonChainView) { v.Blocks, v.After = v.Blocks[:len(v.Blocks)-1], nil }, "shows none after block 6"},
		{"the last block dropped, its header as the one after", func(v *blocks.PersonChainView) {
			v.After, v.Blocks = headerOf(t, v.Blocks[len(v.Blocks)-1]), v.Blocks[:len(v.Blocks)-1]
		}, "after: block 7's window"},
		{"the block after dropped", func(v *blocks.PersonChainView) { v.After = nil }, "the file says the chain had 9 blocks"},
		{"the blocks reversed", func(v *blocks.PersonChainView) { slices.Reverse(v.Blocks) }, "before: not the block that block 7 links to"},
		{"two blocks swapped", func(v *blocks.PersonChainView) { v.Blocks[2], v.Blocks[3] = v.Blocks[3], v.Blocks[2] }, "block 4 follows block 2"},
		{"a block repeated", func(v *blocks.PersonChainView) { v.Blocks = slices.Insert(v.Blocks, 3, v.Blocks[2]) }, "block 3 follows block 3"},
		{"the last block repeated", func(v *blocks.PersonChainView) { v.Blocks = append(v.Blocks, v.Blocks[len(v.Blocks)-1]) }, "block 7 follows block 7"},
		{"window_start altered", func(v *blocks.PersonChainView) { v.Blocks[2].WindowStart -= 86400 }, "window_start/window_end are not those of its bytes"},
		{"window_end altered", func(v *blocks.PersonChainView) { v.Blocks[2].WindowEnd++ }, "window_start/window_end are not those of its bytes"},
		{"the window of the block before altered", func(v *blocks.PersonChainView) { v.Before.WindowEnd += 86400 }, "before: window_start/window_end"},
		{"seq altered", func(v *blocks.PersonChainView) { v.Blocks[2].Seq = 9 }, "does not hash to its stated hash"},
		{"from widened", func(v *blocks.PersonChainView) { v.From = "2020-01-11T00:00:00+08:00" }, "before: block 0's window"},
		{"to widened", func(v *blocks.PersonChainView) { v.To = "2020-01-19T23:59:59+08:00" }, "after: block 8's window"},
		{"from narrowed past the first block", func(v *blocks.PersonChainView) { v.From = "2020-01-13T00:00:00+08:00" }, "block 1's window"},
		{"to narrowed past the last block", func(v *blocks.PersonChainView) { v.To = "2020-01-17T23:59:59+08:00" }, "block 7's window"},
		{"from garbage", func(v *blocks.PersonChainView) { v.From = "last week" }, "from: not an RFC 3339 time"},
		{"to garbage", func(v *blocks.PersonChainView) { v.To = "2020-01-18" }, "to: not an RFC 3339 time"},
		{"to before from", func(v *blocks.PersonChainView) { v.From, v.To = v.To, v.From }, "is before from"},
		{"a block of the period by its header", func(v *blocks.PersonChainView) { v.Blocks[2] = *headerOf(t, v.Blocks[2]) }, "block 3 of the period without its entries"},
		{"the block before whole", func(v *blocks.PersonChainView) {
			v.Before.Entries = v.Blocks[0].Entries
		}, "before: give the header only"},
		{"an entry proof added", func(v *blocks.PersonChainView) {
			v.Blocks[1].Entries = append(v.Blocks[1].Entries, v.Blocks[2].Entries...)
		}, "1 entries, 2 proofs"},
		{"another block's entry proof", func(v *blocks.PersonChainView) { v.Blocks[1].Entries[0] = v.Blocks[2].Entries[0] }, "proof of another transaction"},
		{"the alias binding dropped", func(v *blocks.PersonChainView) { v.Bindings = nil }, "does not name this person"},
		{"another pseudonym", func(v *blocks.PersonChainView) { v.Pseudonym = strings.Repeat("ab", 32) }, "bindings[0]: not a binding to this person"},
	})

	// The end of a chain cannot be proven offline: the last block and the
	// one after dropped, with the chain's length lowered to match, checks;
	// the ok line says that the end is the file's word.
	tv := cloneView(t, v)
	tv.Blocks, tv.After, tv.ChainLength = tv.Blocks[:len(tv.Blocks)-1], nil, 7
	if out, code := checkView(t, tv); code != 0 || !strings.Contains(out, "blocks 1..6 of its person chain\n") ||
		!strings.Contains(out, "end: NOT PROVEN: the file says block 6 was the chain's last when it was read") {
		t.Errorf("a chain cut at its end, its length lowered: exit %d\n%s", code, out)
	}

	// A late record for the 14th, a closed window, gets its own block 9
	// when it arrives. The period's blocks are then 1 to 9: block 8 (the
	// 19th) lies outside the period between them and comes by its header.
	late := `{"type":"visit","site":"shop-a","person":"id:420100199001015678","in":"2020-01-14T15:00:00+08:00","out":"2020-01-14T16:00:00+08:00","via":"face"}` + "\n"
	if out := mustRun(t, "import", "--home", dir, "-q", writeFile(t, "late.ndjson", late)); !strings.Contains(out, "1 accepted") {
		t.Fatalf("late record: %s", out)
	}
	lv := chainOf()
	if n := len(lv.Blocks); n != 9 || lv.Blocks[7].Seq != 8 || len(lv.Blocks[7].Entries) != 0 || lv.After != nil || lv.ChainLength != 10 {
		t.Fatalf("person-chain with a late record's block: %d blocks, after %+v, length %d", n, lv.After, lv.ChainLength)
	}
	out, code = checkView(t, lv)
	if code != 0 || !strings.HasPrefix(out, "ok: 8 person blocks, 8 entries") || !strings.Contains(out, "blocks 1..9 of its person chain\n") ||
		!strings.Contains(out, "between them, 1 late record blocks outside the period, checked by their headers") ||
		!strings.Contains(out, "end: NOT PROVEN: the file says block 9 was the chain's last") {
		t.Fatalf("the chain with a late record's block: exit %d\n%s", code, out)
	}
	checkTampered(t, lv, "late record: ", []tamper{
		{"the block outside the period dropped", func(v *blocks.PersonChainView) { v.Blocks = slices.Delete(v.Blocks, 7, 8) }, "block 9 follows block 7"},
		{"the late block dropped", func(v *blocks.PersonChainView) { v.Blocks = v.Blocks[:8] }, "blocks[7]: block 8's window"},
	})
	// A file cut at the block outside the period checks (the documented
	// limit): it then shows block 9 alone, after block 8.
	tv = cloneView(t, lv)
	tv.Before, tv.Blocks = &tv.Blocks[7], tv.Blocks[8:]
	if out, code := checkView(t, tv); code != 0 || !strings.Contains(out, "blocks 9..9 of its person chain\n") ||
		!strings.Contains(out, "start: block 8, just before them, lies outside the period") {
		t.Errorf("a chain cut at a block outside the period: exit %d\n%s", code, out)
	}
}
