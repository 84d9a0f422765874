package consortium_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/consortium"
)

// plain: block h holds a refused replay, then two accepted transactions.
func plain(chainID string) func(h int64) content {
	return func(h int64) content {
		return content{txs: [][]byte{signedTx(chainID, fmt.Sprint("r", h)), signedTx(chainID, fmt.Sprint("a", h)), signedTx(chainID, fmt.Sprint("b", h))},
			codes: []uint32{2, 0, 0}}
	}
}

func none(int64) int { return 0 }

// marshal is the proof file of tx at height h, built from c.
func marshal(t *testing.T, c *testChain, h int64, tx []byte) []byte {
	t.Helper()
	p, err := consortium.Build(c, c.genesisOf(t), h, tx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := consortium.ViewOf(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(consortium.TxProof{ProofView: blocks.ProofJSON(c.ours(t, h, tx)), Consortium: v}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func check(g *consortium.Genesis, file []byte) (*consortium.Report, error) {
	ours, p, err := consortium.ParseTxProof(file)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("no consortium section")
	}
	return consortium.Verify(g, ours, p)
}

// TestBuildAndVerify: proofs built from chains whose validators stay,
// sign in part, change a little and are replaced whole are checked from
// the genesis, through their JSON.
func TestBuildAndVerify(t *testing.T) {
	t.Parallel()
	a, b, d := newVals(4, 10), newVals(4, 10), newVals(3, 7)
	for _, tc := range []struct {
		name    string
		n, h    int64
		sets    func(h int64) []val
		absent  func(h int64) int
		signed  int64
		total   int64
		minSets int
	}{
		{"same validators", 6, 3, func(int64) []val { return a }, none, 40, 40, 1},
		{"in block 1", 3, 1, func(int64) []val { return a }, none, 40, 40, 1},
		{"one validator absent", 6, 4, func(int64) []val { return a }, func(h int64) int { return int(h % 2) }, 30, 40, 1},
		{"one validator replaced", 9, 7, func(h int64) []val {
			if h < 5 {
				return a
			}
			return append(append([]val{}, a[:3]...), b[0])
		}, none, 40, 40, 2},
		{"validators replaced whole, twice", 12, 10, func(h int64) []val {
			switch {
			case h < 4:
				return a
			case h < 8:
				return b
			}
			return d
		}, none, 21, 21, 3},
		{"power moved", 8, 6, func(h int64) []val {
			if h < 3 {
				return a
			}
			return []val{{a[0].key, 100}, a[1], a[2], a[3]}
		}, none, 130, 130, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newChain(t, tc.n, tc.sets, plain("test"), tc.absent)
			tx := c.content[tc.h].txs[2]
			r, err := check(c.genesisOf(t), marshal(t, c, tc.h, tx))
			if err != nil {
				t.Fatal(err)
			}
			if r.Height != tc.h || r.Index != 2 || r.Signed != tc.signed || r.Total != tc.total || r.Sets < tc.minSets {
				t.Fatalf("report %+v", r)
			}
		})
	}
}

// TestPending: without block H+1's commit, Build says so.
func TestPending(t *testing.T) {
	t.Parallel()
	a := newVals(4, 10)
	c := newChain(t, 3, func(int64) []val { return a }, plain("test"), none)
	delete(c.commits, 3)
	_, err := consortium.Build(c, c.genesisOf(t), 2, c.content[2].txs[1])
	if !errors.Is(err, consortium.ErrPending) {
		t.Fatalf("err = %v, want ErrPending", err)
	}
	if _, err := consortium.Build(c, c.genesisOf(t), 2, c.content[1].txs[1]); err == nil || errors.Is(err, consortium.ErrPending) {
		t.Fatalf("a transaction not in the block: %v", err)
	}
}

// TestPruned: a node that deleted the block of a transaction (a validator
// keeping its latest blocks only) says so, as ErrPruned; the transactions
// of the blocks it keeps are still proved, and their proofs verify.
func TestPruned(t *testing.T) {
	t.Parallel()
	a := newVals(4, 10)
	c := newChain(t, 5, func(int64) []val { return a }, plain("test"), none)
	c.base = 3
	for h := int64(1); h < 3; h++ {
		_, err := consortium.Build(c, c.genesisOf(t), h, c.content[h].txs[1])
		if !errors.Is(err, consortium.ErrPruned) || !strings.Contains(err.Error(), "from height 3") {
			t.Fatalf("block %d, pruned: %v, want ErrPruned from height 3", h, err)
		}
	}
	if r, err := check(c.genesisOf(t), marshal(t, c, 3, c.content[3].txs[1])); err != nil || r.Height != 3 {
		t.Fatalf("the proof of a kept block: %+v, %v", r, err)
	}
	delete(c.blocks, 4)
	if _, err := consortium.Build(c, c.genesisOf(t), 4, c.content[4].txs[1]); err == nil || errors.Is(err, consortium.ErrPruned) {
		t.Fatalf("a block missing above the base is not pruned: %v", err)
	}
}

// TestTampered: each change to a valid proof, or a proof checked against
// another consortium, is refused.
func TestTampered(t *testing.T) {
	t.Parallel()
	a, b := newVals(4, 10), newVals(4, 10)
	sets := func(h int64) []val {
		if h < 4 {
			return a
		}
		return b
	}
	c := newChain(t, 9, sets, plain("test"), none)
	const h = 7
	good := marshal(t, c, h, c.content[h].txs[1])
	g := c.genesisOf(t)
	if _, err := check(g, good); err != nil {
		t.Fatal(err)
	}
	// The refused transaction, its CometBFT proof, in a block of ours an
	// attacker wrote (our headers are not signed).
	refused := c.content[h].txs[0]
	pr, err := consortium.Build(c, g, h, refused)
	if err != nil {
		t.Fatal(err)
	}
	// Another consortium with the same chain id, other keys.
	other := newChain(t, 9, func(int64) []val { return b }, plain("test"), none)
	last := func(p *consortium.Proof) *types.SignedHeader { return p.Chain[len(p.Chain)-1].Signed }

	for _, tc := range []struct {
		name  string
		alter func(ours *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis)
	}{
		{"tx byte", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			o.Tx[len(o.Tx)-1] ^= 1
			return o, p, g
		}},
		{"refused tx, its own result", func(*blocks.Proof, *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			q := *pr
			return c.ours(t, h, refused), &q, g
		}},
		{"refused tx claimed accepted", func(*blocks.Proof, *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			q := *pr
			o := c.ours(t, h, refused)
			q.Result.Code, q.Result.Data = 0, o.TxID[:]
			return o, &q, g
		}},
		{"result code", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Result.Code = 7
			return o, p, g
		}},
		{"result data", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Result.Data = bytes.Repeat([]byte{1}, 32)
			return o, p, g
		}},
		{"result gas", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Result.GasUsed = 1
			return o, p, g
		}},
		{"tx index", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Index = 2
			return o, p, g
		}},
		{"tx proof index", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Index, p.TxProof.Index, p.ResultProof.Index = 2, 2, 2
			return o, p, g
		}},
		{"header time", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Header.Time = p.Header.Time.Add(1)
			return o, p, g
		}},
		{"header data hash", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Header.DataHash[0] ^= 1
			return o, p, g
		}},
		{"header of another height", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Header = &c.blocks[h-1].Header
			return o, p, g
		}},
		{"signed header app hash", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			last(p).AppHash[0] ^= 1
			return o, p, g
		}},
		{"signed header results hash", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			last(p).LastResultsHash[0] ^= 1
			return o, p, g
		}},
		{"first signature", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			last(p).Commit.Signatures[0].Signature[0] ^= 1
			return o, p, g
		}},
		{"last signature", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			s := last(p).Commit.Signatures
			s[len(s)-1].Signature[3] ^= 1
			return o, p, g
		}},
		{"a signature of the first hop", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Chain[0].Signed.Commit.Signatures[1].Signature[0] ^= 1
			return o, p, g
		}},
		{"half the power signed", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			s := last(p).Commit.Signatures
			s[2], s[3] = types.NewCommitSigAbsent(), types.NewCommitSigAbsent()
			return o, p, g
		}},
		{"validator power", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Chain[len(p.Chain)-1].Validators.Validators[0].VotingPower++
			return o, p, g
		}},
		{"proof chain id", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.ChainID = "other-01020304"
			return o, p, g
		}},
		{"genesis chain id", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			g2 := *g
			g2.ChainID = "other-01020304"
			p.ChainID = g2.ChainID
			return o, p, &g2
		}},
		{"another consortium's genesis", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			return o, p, other.genesisOf(t)
		}},
		{"another consortium's chain", func(*blocks.Proof, *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			tx := other.content[h].txs[1]
			q, err := consortium.Build(other, other.genesisOf(t), h, tx)
			if err != nil {
				t.Fatal(err)
			}
			return other.ours(t, h, tx), q, g
		}},
		{"the hop to the new validators dropped", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			for i, hop := range p.Chain {
				if !bytes.Equal(hop.Signed.ValidatorsHash, g.Validators.Hash()) {
					p.Chain = append(p.Chain[:i], p.Chain[i+1:]...)
					return o, p, g
				}
			}
			t.Fatal("no hop to the new validators")
			return nil, nil, nil
		}},
		{"H+1 dropped", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			p.Chain = p.Chain[:len(p.Chain)-1]
			return o, p, g
		}},
		{"hops reversed", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			for i, j := 0, len(p.Chain)-1; i < j; i, j = i+1, j-1 {
				p.Chain[i], p.Chain[j] = p.Chain[j], p.Chain[i]
			}
			return o, p, g
		}},
		{"our state hash", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			o.Header.StateHash[0] ^= 1
			return o, p, g
		}},
		{"our time", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			o.Header.Time++
			return o, p, g
		}},
		{"our height", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			o.Header.Height++
			return o, p, g
		}},
		{"our chain id", func(o *blocks.Proof, p *consortium.Proof) (*blocks.Proof, *consortium.Proof, *consortium.Genesis) {
			o.Header.ChainID = "tesT"
			return o, p, g
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Sequential: the cases share the chains (read only) and the
			// refused proof (copied).
			ours, p, err := consortium.ParseTxProof(good)
			if err != nil {
				t.Fatal(err)
			}
			ours, p, g2 := tc.alter(ours, p)
			v, err := consortium.ViewOf(p)
			if err != nil {
				t.Fatal(err)
			}
			file, err := json.Marshal(consortium.TxProof{ProofView: blocks.ProofJSON(ours), Consortium: v})
			if err != nil {
				t.Fatal(err)
			}
			if r, err := check(g2, file); err == nil {
				t.Fatalf("accepted: %+v", r)
			} else {
				t.Logf("refused: %v", err)
			}
		})
	}
}

// TestParseRefuses: the decoder refuses what is not a whole proof.
func TestParseRefuses(t *testing.T) {
	t.Parallel()
	a := newVals(4, 10)
	c := newChain(t, 3, func(int64) []val { return a }, plain("test"), none)
	good := marshal(t, c, 2, c.content[2].txs[1])
	for name, edit := range map[string]func(string) string{
		"unknown field":       func(s string) string { return strings.Replace(s, `"consortium": {`, `"consortium": {"extra": 1,`, 1) },
		"unknown field above": func(s string) string { return strings.Replace(s, `"tx": `, `"txx": 1, "tx": `, 1) },
		"trailing data":       func(s string) string { return s + "{}" },
		"other version": func(s string) string {
			return strings.Replace(s, consortium.Version, "epiledger/v2/consortium-proof", 1)
		},
		"no chain":  func(s string) string { return s[:strings.Index(s, `"chain": [`)] + `"chain": []}}` },
		"no header": func(s string) string { return strings.Replace(s, `"header": {`, `"header": null, "x": {`, 2) },
	} {
		if _, _, err := consortium.ParseTxProof([]byte(edit(string(good)))); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// TestKnownAnswer: the committed proof (testdata/proof.json, of a chain
// whose validators changed once) checks against the committed genesis:
// the format stays readable. Regenerate with EPILEDGER_WRITE_TESTDATA=1.
func TestKnownAnswer(t *testing.T) {
	t.Parallel()
	if os.Getenv("EPILEDGER_WRITE_TESTDATA") == "1" {
		a, b := newVals(4, 10), newVals(4, 10)
		c := newChain(t, 6, func(h int64) []val {
			if h < 3 {
				return a
			}
			return append(append([]val{}, a[:2]...), b[:2]...)
		}, plain("test"), func(h int64) int { return int(h % 2) })
		must(t, os.WriteFile(filepath.Join("testdata", "genesis.json"), c.genesis, 0o644))
		must(t, os.WriteFile(filepath.Join("testdata", "proof.json"), append(marshal(t, c, 4, c.content[4].txs[1]), '\n'), 0o644))
		// The fuzz seed: one validator, one transaction, compact (the
		// fuzzer minimises what it finds, and a large input is slow).
		one := newVals(1, 10)
		small := newChain(t, 2, func(int64) []val { return one }, func(h int64) content {
			return content{txs: [][]byte{signedTx("test", fmt.Sprint("s", h))}, codes: []uint32{0}}
		}, none)
		var compact bytes.Buffer
		must(t, json.Compact(&compact, marshal(t, small, 1, small.content[1].txs[0])))
		must(t, os.WriteFile(filepath.Join("testdata", "small-genesis.json"), small.genesis, 0o644))
		must(t, os.MkdirAll(filepath.Join("testdata", "fuzz", "FuzzParseTxProof"), 0o755))
		must(t, os.WriteFile(filepath.Join("testdata", "fuzz", "FuzzParseTxProof", "small"),
			[]byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", compact.Bytes())), 0o644))
	}
	gb, err := os.ReadFile(filepath.Join("testdata", "genesis.json"))
	must(t, err)
	pb, err := os.ReadFile(filepath.Join("testdata", "proof.json"))
	must(t, err)
	g, err := consortium.ParseGenesis(gb)
	must(t, err)
	r, err := check(g, pb)
	must(t, err)
	if r.Height != 4 || r.Sets != 2 || r.Signed != 30 || r.Total != 40 {
		t.Fatalf("report %+v", r)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
