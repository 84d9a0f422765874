package consortium_test

import (
	"encoding/json"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
)

// anchoredCase is a transaction of block 2 of a six-block chain, its
// consortium section, the registration of the chain on a parent and the
// light anchor of header k.
func anchoredCase(t testing.TB, c *testChain, k int64) (*blocks.Proof, *consortium.View, *ledger.RegisterChild, *ledger.LightAnchor) {
	raw := c.content[2].txs[1]
	p, err := consortium.Build(c, c.genesisOf(t), 2, raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := consortium.ViewOf(p)
	if err != nil {
		t.Fatal(err)
	}
	reg := &ledger.RegisterChild{ChainID: c.ourChainID, Region: "420100", Genesis: genesisHash, Engine: ledger.EngineCometBFT}
	for _, x := range c.vals[1].Validators {
		var cv ledger.ChildValidator
		copy(cv.Key[:], x.PubKey.Bytes())
		cv.Power = x.VotingPower
		reg.Validators = append(reg.Validators, cv)
	}
	an, err := lightclient.Encode(c.SignedHeader(k), c.vals[k], nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.ours(t, 2, raw), v, reg, &ledger.LightAnchor{ChainID: c.ourChainID, SignedHeader: an.SignedHeader, Validators: an.Validators}
}

func headerBytes(t testing.TB, c *testChain, from, to int64) [][]byte {
	var out [][]byte
	for h := from; h <= to; h++ {
		hdr := c.blocks[h].Header
		b, err := hdr.ToProto().Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestCheckAnchored: a transaction of CometBFT block 2, proven from the
// genesis validators to header 3, linked by headers 4 and 5 to the
// anchored header 6; each broken link refused.
func TestCheckAnchored(t *testing.T) {
	t.Parallel()
	a := newVals(4, 10)
	c := newChain(t, 7, func(int64) []val { return a }, plain("test"), none)
	below, v, reg, an := anchoredCase(t, c, 6)
	link := func(hdrs [][]byte) json.RawMessage {
		b, err := json.Marshal(consortium.Anchored{Consortium: v, Headers: hdrs})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := consortium.CheckAnchored(below, link(headerBytes(t, c, 4, 5)), an, reg); err != nil {
		t.Fatalf("a good link: %v", err)
	}
	_, _, _, an3 := anchoredCase(t, c, 3)
	if err := consortium.CheckAnchored(below, link(nil), an3, reg); err != nil {
		t.Fatalf("anchored at the proof's own last header: %v", err)
	}
	other := newChain(t, 7, func(int64) []val { return newVals(4, 10) }, plain("test"), none)
	otherReg := *reg
	otherReg.Validators = nil
	for _, x := range other.vals[1].Validators {
		var cv ledger.ChildValidator
		copy(cv.Key[:], x.PubKey.Bytes())
		cv.Power = x.VotingPower
		otherReg.Validators = append(otherReg.Validators, cv)
	}
	swapped := headerBytes(t, c, 4, 5)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	for name, x := range map[string]struct {
		link json.RawMessage
		an   *ledger.LightAnchor
		reg  *ledger.RegisterChild
	}{
		"a header missing":                  {link(headerBytes(t, c, 4, 4)), an, reg},
		"headers out of order":              {link(swapped), an, reg},
		"another header anchored":           {link(headerBytes(t, c, 4, 5)), an3, reg},
		"registered with other validators":  {link(headerBytes(t, c, 4, 5)), an, &otherReg},
		"no consortium section":             {json.RawMessage(`{"headers":[]}`), an, reg},
		"an unknown field":                  {json.RawMessage(`{"consortium":null,"headers":[],"x":1}`), an, reg},
		"not JSON":                          {json.RawMessage(`[`), an, reg},
		"a light anchor that does not read": {link(headerBytes(t, c, 4, 5)), &ledger.LightAnchor{SignedHeader: []byte{1, 2}}, reg},
	} {
		if err := consortium.CheckAnchored(below, x.link, x.an, x.reg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzCheckAnchored: no link bytes make CheckAnchored panic.
func FuzzCheckAnchored(f *testing.F) {
	t := f
	a := newVals(1, 10)
	c := newChain(t, 7, func(int64) []val { return a }, plain("test"), none)
	below, v, reg, an := anchoredCase(t, c, 6)
	good, _ := json.Marshal(consortium.Anchored{Consortium: v, Headers: headerBytes(t, c, 4, 5)})
	f.Add(good)
	f.Add([]byte(`{"consortium":null,"headers":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		consortium.CheckAnchored(below, b, an, reg) //nolint:errcheck // must not panic
	})
}
