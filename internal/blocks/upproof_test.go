package blocks_test

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
)

// single is the proof of tx alone in block height of chain: a one-leaf
// tree, whose root is the leaf's hash.
func single(tx *ledger.Tx, chain, region string, height uint64, prev ledger.Hash) *blocks.Proof {
	h := &ledger.Header{Version: 1, Height: height, PrevHash: prev, MerkleRoot: ledger.LeafHash(tx.Bytes()), Time: int64(height) * 1e9,
		ChainID: chain, Region: region, NumTxs: 1, TxBytes: uint64(len(tx.Bytes()))}
	return &blocks.Proof{TxID: tx.ID(), Tx: tx.Bytes(), Index: 0, Size: 1, Header: h}
}

func signed(b ledger.Body, chain string, k ed25519.PrivateKey) *ledger.Tx {
	tx := ledger.NewTx(b)
	tx.Sign(chain, k)
	return tx
}

// TestCheckUp: a district record proven to its city, and each way the
// proof can lie.
func TestCheckUp(t *testing.T) {
	_, cityKey, _ := ed25519.GenerateKey(nil)
	_, districtKey, _ := ed25519.GenerateKey(nil)
	_, otherKey, _ := ed25519.GenerateKey(nil)
	var districtPub [32]byte
	copy(districtPub[:], districtKey.Public().(ed25519.PublicKey))
	var cityPub [32]byte
	copy(cityPub[:], cityKey.Public().(ed25519.PublicKey))

	build := func(anchorKey, registerKey ed25519.PrivateKey, extra int) *blocks.UpProof {
		rec := single(signed(&ledger.GrantRole{Key: [32]byte{1}, Role: "auditor", Name: "x"}, "jiangan-1", districtKey), "jiangan-1", "420102", 5, ledger.Hash{9})
		var link blocks.UpLink
		cur := rec.Header
		for i := 0; i < extra; i++ {
			h := &ledger.Header{Version: 1, Height: cur.Height + 1, PrevHash: cur.Hash(), Time: cur.Time + 1e9, ChainID: cur.ChainID, Region: cur.Region}
			link.Headers = append(link.Headers, h)
			cur = h
		}
		link.Register = single(signed(&ledger.RegisterChild{ChainID: "jiangan-1", Region: "420102", Engine: ledger.EngineSolo, Authority: districtPub}, "wuhan-1", registerKey),
			"wuhan-1", "420100", 2, ledger.Hash{7})
		link.Anchor = single(signed(ledger.AnchorOf(cur), "wuhan-1", anchorKey), "wuhan-1", "420100", 3, link.Register.Header.Hash())
		return &blocks.UpProof{Record: rec, Links: []blocks.UpLink{link}}
	}
	for _, extra := range []int{0, 2} {
		top, err := build(districtKey, cityKey, extra).CheckUp(cityPub, nil)
		if err != nil || top.ChainID != "wuhan-1" || top.Height != 3 {
			t.Errorf("a true proof with %d headers between: %v %v", extra, top, err)
		}
		// Through JSON and back, the same.
		v, err := blocks.UpProofJSON(build(districtKey, cityKey, extra)).UpProof()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.CheckUp(cityPub, nil); err != nil {
			t.Errorf("through JSON: %v", err)
		}
	}
	for _, c := range []struct {
		name string
		p    *blocks.UpProof
		root [32]byte
		want string
	}{
		{"the anchor signed by another key", build(otherKey, cityKey, 0), cityPub, "not signed by the key the registration names"},
		{"the registration signed by another key", build(districtKey, otherKey, 0), cityPub, "not signed by the authority"},
		{"another root", build(districtKey, cityKey, 0), districtPub, "not signed by the authority"},
		{"a header between that does not link", func() *blocks.UpProof {
			p := build(districtKey, cityKey, 2)
			p.Links[0].Headers[0].PrevHash = ledger.Hash{1}
			return p
		}(), cityPub, "does not follow"},
		{"the record's header changed", func() *blocks.UpProof {
			p := build(districtKey, cityKey, 0)
			p.Record.Header.StateHash = ledger.Hash{1}
			return p
		}(), cityPub, "not the header proven below"},
		{"no link", func() *blocks.UpProof { p := build(districtKey, cityKey, 0); p.Links = nil; return p }(), cityPub, "no link"},
	} {
		if _, err := c.p.CheckUp(c.root, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzCheckUp: whatever JSON a proof up the hierarchy arrives as, reading
// and checking it returns an error or a header, never a panic.
func FuzzCheckUp(f *testing.F) {
	_, k, _ := ed25519.GenerateKey(nil)
	var pub [32]byte
	copy(pub[:], k.Public().(ed25519.PublicKey))
	rec := single(signed(&ledger.GrantRole{Key: [32]byte{1}, Role: "auditor", Name: "x"}, "c", k), "c", "420102", 1, ledger.Hash{})
	reg := single(signed(&ledger.RegisterChild{ChainID: "c", Region: "420102", Engine: ledger.EngineSolo, Authority: pub}, "p", k), "p", "420100", 1, ledger.Hash{})
	anc := single(signed(ledger.AnchorOf(rec.Header), "p", k), "p", "420100", 2, reg.Header.Hash())
	seed, _ := json.Marshal(blocks.UpProofJSON(&blocks.UpProof{Record: rec, Links: []blocks.UpLink{{Anchor: anc, Register: reg}}}))
	f.Add(seed)
	f.Add([]byte(`{"record":{},"links":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v blocks.UpProofView
		if json.Unmarshal(b, &v) != nil {
			return
		}
		p, err := v.UpProof()
		if err != nil {
			return
		}
		if top, err := p.CheckUp(pub, nil); err == nil && top == nil {
			t.Fatal("no error and no top header")
		}
	})
}
