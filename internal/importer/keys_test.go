package importer_test

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/testnode"
)

// TestOperatorKeyBatchesReferences: an importer holding only a site
// operator's key (a KeySigner) and a resolver that stands for a node's
// POST /v1/pseudonyms asks the resolver once per chunk of lines, each
// distinct reference once, and gets the same pseudonyms a home makes: its
// 5000 visits are accepted, and a site record is refused per line as
// authority_only.
func TestOperatorKeyBatchesReferences(t *testing.T) {
	t.Parallel()
	h, n := testnode.New(t, testnode.NoValidation)
	pub, key, _ := ed25519.GenerateKey(nil)
	registry := fmt.Sprintf(`{"type":"site","site":"shop-9","kind":"shop","lat":30.6,"lon":114.3,"key":"%x"}`+"\n", pub)
	for k := 1; k < 100; k += 2 {
		registry += fmt.Sprintf(`{"type":"identity","id":"1101012000010100%02d","aliases":["phone:1380000%04d"]}`+"\n", k, k)
	}
	if res := testnode.Import(t, h, n, registry); res.Rejected != 0 {
		t.Fatalf("registry: %v", res.Rejections)
	}
	var calls [][]string
	resolve := importer.ResolverFunc(func(refs []string) ([]ledger.PersonRef, error) {
		calls = append(calls, refs)
		return n.Pseudonyms("refs", refs)
	})
	im := importer.NewWith(importer.KeySigner{Chain: h.Genesis.ChainID, Key: key}, resolve, importer.EngineSink{Node: n})
	const lines = 5000
	var text strings.Builder
	text.WriteString(`{"type":"site","site":"shop-10","kind":"shop","lat":30.6,"lon":114.3}` + "\n")
	in := time.Date(2020, 1, 20, 8, 0, 0, 0, time.UTC)
	for i := range lines {
		// 100 persons, each in many chunks; ids and aliases alike.
		ref := fmt.Sprintf("id:1101012000010100%02d", i%100)
		if i%2 == 1 {
			ref = fmt.Sprintf("phone:1380000%04d", i%100)
		}
		at := in.Add(time.Duration(i) * time.Minute)
		fmt.Fprintf(&text, `{"type":"visit","site":"shop-9","person":%q,"in":%q,"out":%q}`+"\n", ref, at.Format(time.RFC3339), at.Add(time.Minute).Format(time.RFC3339))
	}
	res, err := im.Import(strings.NewReader(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != lines {
		t.Fatalf("accepted %d of %d: %v", res.Accepted, lines, res.Rejections[:min(3, len(res.Rejections))])
	}
	if res.Rejected != 1 || res.Rejections[0].Line != 1 || res.Rejections[0].Code != importer.CodeAuthorityOnly {
		t.Errorf("want only the site record refused as authority_only: %v", res.Rejections[:min(3, len(res.Rejections))])
	}
	if want := (lines + 1 + 2047) / 2048; len(calls) != want {
		t.Errorf("%d calls of the resolver for %d lines, want one per chunk: %d", len(calls), lines+1, want)
	}
	pseud := h.Pseudonymizer()
	for i, refs := range calls {
		seen := map[string]bool{}
		for _, r := range refs {
			if seen[r] {
				t.Errorf("call %d asks for a reference twice", i)
			}
			seen[r] = true
			if _, err := pseud.Ref("person", r); err != nil {
				t.Errorf("call %d: a reference the importer did not check: %v", i, err)
			}
		}
		if len(refs) != 100 {
			t.Errorf("call %d: %d references, want the 100 distinct ones of its chunk", i, len(refs))
		}
	}
}
