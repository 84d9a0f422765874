package lightclient_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted "github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/lightclient/lctest"
)

// carriedChain is a CometBFT chain whose block 3 holds a lone record the
// application accepted (0), one it refused (1), and a bundle of three
// records whose second was refused (2).
//
// Its keys come from seed, so that a fuzzing worker builds the chain its
// coordinator built.
func carriedChain(t testing.TB, chainID, seed string) (c *lctest.Chain, lone, refused []byte, recs [][]byte) {
	lone, refused = []byte("\x01lone record"), []byte("\x01refused record")
	recs = [][]byte{[]byte("\x01first"), []byte("\x01second"), []byte("\x01third")}
	bundle, err := lightclient.Bundle(recs)
	if err != nil {
		t.Fatal(err)
	}
	id := func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
	keys := make([]cmted.PrivKey, 4)
	for i := range keys {
		keys[i] = cmted.GenPrivKeyFromSecret([]byte(seed + string(rune('a'+i))))
	}
	c = lctest.NewChainOf(chainID, t0, 8, func(int64) []cmted.PrivKey { return keys }, func(h int64) lctest.Block {
		if h != 3 {
			return lctest.Block{}
		}
		return lctest.Block{Txs: types.Txs{lone, refused, bundle}, Results: []*abci.ExecTxResult{
			{Code: 0, Data: id(lone)}, {Code: 7, Log: "refused"}, {Code: 0, Data: lightclient.BundleResults([]uint32{0, 3, 0})}}}
	})
	return c, lone, refused, recs
}

func TestVerifyCarried(t *testing.T) {
	c, lone, refused, recs := carriedChain(t, "nanjing-9a8b7c6d", "one")
	id := func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
	other, _, _, _ := carriedChain(t, c.ChainID, "two") // same blocks, other validators: other hashes
	elsewhere, _, _, _ := carriedChain(t, "suzhou-01020304", "one")
	cases := []struct {
		name string
		tx   []byte
		c    func() *lightclient.Carried
		at   int64  // the height returned, if it verifies
		want string // else the error's text
	}{
		{"lone, the next header anchored", lone, func() *lightclient.Carried { return c.Carried(3, 0, -1, 4) }, 4, ""},
		{"lone, linked to 7", lone, func() *lightclient.Carried { return c.Carried(3, 0, -1, 7) }, 7, ""},
		{"a bundle's accepted record", recs[2], func() *lightclient.Carried { return c.Carried(3, 2, 2, 5) }, 5, ""},
		{"a bundle's refused record", recs[1], func() *lightclient.Carried { return c.Carried(3, 2, 1, 5) }, 0, "does not accept record 1"},
		{"another record than the bundle's", recs[0], func() *lightclient.Carried { return c.Carried(3, 2, 2, 5) }, 0, "is not the transaction"},
		{"a refused record, its result claimed accepted", refused, func() *lightclient.Carried {
			lc := c.Carried(3, 1, -1, 4)
			lc.ResultData = id(refused)
			return lc
		}, 0, "no accepting result"},
		{"another transaction", refused, func() *lightclient.Carried {
			lc := c.Carried(3, 0, -1, 4)
			lc.ResultData = id(refused)
			return lc
		}, 0, "not transaction 0"},
		{"the result's data not the id", lone, func() *lightclient.Carried {
			lc := c.Carried(3, 0, -1, 4)
			lc.ResultData = id(refused)
			return lc
		}, 0, "not the transaction's id"},
		{"another position", lone, func() *lightclient.Carried {
			lc := c.Carried(3, 0, -1, 4)
			lc.Index = 1
			return lc
		}, 0, "not transaction 1"},
		{"a position beyond the block", lone, func() *lightclient.Carried {
			lc := c.Carried(3, 0, -1, 4)
			lc.Index, lc.Total = 5, 3
			return lc
		}, 0, "position 5 of 3"},
		{"no links", lone, func() *lightclient.Carried {
			lc := c.Carried(3, 0, -1, 4)
			lc.Links = nil
			return lc
		}, 0, "1 to 32 linking headers"},
		{"a link skipped", lone, func() *lightclient.Carried {
			lc := c.Carried(3, 0, -1, 6)
			lc.Links = append(lc.Links[:1], lc.Links[2:]...)
			return lc
		}, 0, "link 2 does not follow block 4"},
		{"a link of another history", lone, func() *lightclient.Carried {
			lc := c.Carried(3, 0, -1, 5)
			lc.Links[1] = other.Carried(3, 0, -1, 5).Links[1]
			return lc
		}, 0, "link 2 does not follow block 4"},
		{"a header of another chain", lone, func() *lightclient.Carried {
			lc := c.Carried(3, 0, -1, 4)
			lc.Header = elsewhere.Carried(3, 0, -1, 4).Header
			return lc
		}, 0, `of CometBFT chain "suzhou-01020304"`},
		{"malformed header", lone, func() *lightclient.Carried {
			lc := c.Carried(3, 0, -1, 4)
			lc.Header = []byte{0xff, 0xff}
			return lc
		}, 0, "header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, hash, err := lightclient.VerifyCarried(c.ChainID, tc.tx, id(tc.tx), tc.c())
			if tc.want == "" {
				if err != nil || h != tc.at || !bytes.Equal(hash, c.Signed(tc.at).Hash()) {
					t.Fatalf("got %d %x %v, want header %d", h, hash, err, tc.at)
				}
				return
			}
			if err == nil || !errors.Is(err, lightclient.ErrCarried) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrCarried naming %q", err, tc.want)
			}
		})
	}
}

// FuzzVerifyCarried: no header bytes make VerifyCarried panic, and it
// accepts only block 3's header, whatever the links (the last link may
// be any header that names the one before: the caller compares it with
// the one it verified).
func FuzzVerifyCarried(f *testing.F) {
	c, lone, _, _ := carriedChain(f, "nanjing-9a8b7c6d", "one")
	good := c.Carried(3, 0, -1, 5)
	f.Add(good.Header, good.Links[0], good.Links[1])
	f.Fuzz(func(t *testing.T, header, l1, l2 []byte) {
		lc := *good
		lc.Header, lc.Links = header, [][]byte{l1, l2}
		s := sha256.Sum256(lone)
		if _, _, err := lightclient.VerifyCarried(c.ChainID, lone, s[:], &lc); err != nil {
			return
		}
		var p cmtproto.Header
		if err := p.Unmarshal(header); err != nil {
			t.Fatalf("accepted a header that does not decode: %v", err)
		}
		h, err := types.HeaderFromProto(&p)
		if err != nil || !bytes.Equal(h.Hash(), c.Signed(3).Hash()) {
			t.Fatalf("accepted header %v, not block 3's", err)
		}
	})
}
