package blocks_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/testnode"
)

// personChainSeed reads a real person chain: a person with a visit a day
// from 2020-01-11 to 14 (the 13th's by an alias), whose windows up to the
// 13th have closed; the period, the 12th and 13th, holds blocks 1 and 2,
// between block 0 and the still open 14th (no block after them).
func personChainSeed(t testing.TB) []byte {
	h, n := testnode.New(t)
	var b strings.Builder
	b.WriteString(`{"type":"site","site":"s","kind":"shop","lat":30.5,"lon":114.3}
{"type":"identity","id":"P1","aliases":["phone:1001"]}
`)
	for d := 11; d <= 14; d++ {
		who := "id:P1"
		if d == 13 {
			who = "phone:1001"
		}
		fmt.Fprintf(&b, `{"type":"visit","site":"s","person":%q,"in":"2020-01-%dT10:00:00+08:00","out":"2020-01-%dT11:00:00+08:00"}`+"\n", who, d, d)
	}
	if res := testnode.Import(t, h, n, b.String()); res.Rejected != 0 {
		t.Fatalf("rejected: %v", res.Rejections)
	}
	rb := &report.Builder{N: n}
	rd, err := rb.PersonChain(report.Query{Person: "id:P1", From: "2020-01-12", To: "2020-01-13"})
	v, err := testnode.Perform(t, n, rd, err)
	if err != nil {
		t.Fatal(err)
	}
	if nb, ne, err := v.Check(); err != nil || nb != 2 || ne != 2 || v.Before == nil || v.After != nil || v.ChainLength != 3 || len(v.Bindings) != 1 {
		t.Fatalf("seed chain: %d blocks, %d entries, %v; before %v, after %v, length %d", nb, ne, err, v.Before != nil, v.After != nil, v.ChainLength)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzPersonChainCheck decodes a fuzzed view and checks it: no panic, and
// whatever checks is what Check promises: the blocks consecutive, the
// first and the last in the period, the ends accounted for, and the count
// of the period's blocks and entries no more than the view holds. The seed
// corpus is a real chain and tamperings of it.
func FuzzPersonChainCheck(f *testing.F) {
	seed := personChainSeed(f)
	f.Add(seed)
	for _, tamper := range []func(v *blocks.PersonChainView){
		func(v *blocks.PersonChainView) { slices.Reverse(v.Blocks) },
		func(v *blocks.PersonChainView) { v.Blocks = append(v.Blocks, v.Blocks[1]) },
		func(v *blocks.PersonChainView) { v.Blocks = v.Blocks[1:] },
		func(v *blocks.PersonChainView) { v.Before = nil },
		func(v *blocks.PersonChainView) { v.After, v.Blocks = v.Before, v.Blocks[:1] },
		func(v *blocks.PersonChainView) { v.Blocks = nil },
		func(v *blocks.PersonChainView) { v.From = "2020-01-11T00:00:00Z" },
	} {
		var v blocks.PersonChainView
		if err := json.Unmarshal(seed, &v); err != nil {
			f.Fatal(err)
		}
		tamper(&v)
		b, _ := json.Marshal(&v)
		f.Add(b)
	}
	f.Add([]byte(`{"pseudonym":"` + strings.Repeat("0", 64) + `","from":"2020-01-01T00:00:00Z","to":"2020-01-02T00:00:00Z","blocks":[{"bytes":""}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v blocks.PersonChainView
		if json.Unmarshal(b, &v) != nil {
			return
		}
		nb, ne, err := v.Check()
		if err != nil {
			return
		}
		entries := 0
		for _, bv := range v.Blocks {
			entries += len(bv.Entries)
		}
		if nb > len(v.Blocks) || ne > entries {
			t.Fatalf("%d blocks and %d entries checked of %d and %d", nb, ne, len(v.Blocks), entries)
		}
		if len(v.Blocks) == 0 {
			if nb != 0 || v.Before != nil || v.After != nil {
				t.Fatal("an empty chain checked with blocks around it")
			}
			return
		}
		from, to, err := v.Period()
		if err != nil {
			t.Fatalf("checked with a bad period: %v", err)
		}
		first, last := v.Blocks[0], v.Blocks[len(v.Blocks)-1]
		for i := 1; i < len(v.Blocks); i++ {
			if v.Blocks[i].Seq != v.Blocks[i-1].Seq+1 {
				t.Fatalf("checked with block %d after block %d", v.Blocks[i].Seq, v.Blocks[i-1].Seq)
			}
		}
		if !blocks.InPeriod(first.WindowStart, first.WindowEnd, from, to) || !blocks.InPeriod(last.WindowStart, last.WindowEnd, from, to) {
			t.Fatal("checked with its first or last block outside the period")
		}
		if (first.Seq > 0) != (v.Before != nil) || v.Before != nil && v.Before.Seq+1 != first.Seq {
			t.Fatalf("checked with block %d first and before %+v", first.Seq, v.Before)
		}
		if v.After == nil && last.Seq+1 != v.ChainLength || v.After != nil && (v.After.Seq != last.Seq+1 || v.After.Seq >= v.ChainLength) {
			t.Fatalf("checked with block %d last, after %+v, length %d", last.Seq, v.After, v.ChainLength)
		}
	})
}
