package blocks_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/testnode"
)

// world writes a small world in several imports, so that it spans blocks.
func world(t *testing.T) (*home.Home, *node.Node, int) {
	h, n := testnode.New(t)
	var b strings.Builder
	for s := 0; s < 5; s++ {
		fmt.Fprintf(&b, `{"type":"site","site":"s%d","kind":"shop","lat":30.%d,"lon":114.3}`+"\n", s, s)
	}
	for p := 0; p < 20; p++ {
		fmt.Fprintf(&b, `{"type":"identity","id":"P%03d","aliases":["phone:1%03d"]}`+"\n", p, p)
	}
	testnode.Import(t, h, n, b.String())
	total := 25
	base := time.Date(2020, 1, 20, 8, 0, 0, 0, time.UTC)
	for round := 0; round < 4; round++ {
		b.Reset()
		for p := 0; p < 20; p++ {
			in := base.Add(time.Duration(round*24+p%5) * time.Hour)
			fmt.Fprintf(&b, `{"type":"visit","site":"s%d","person":"phone:1%03d","in":"%s","out":"%s"}`+"\n",
				(p+round)%5, p, in.Format(time.RFC3339), in.Add(40*time.Minute).Format(time.RFC3339))
		}
		if res := testnode.Import(t, h, n, b.String()); res.Rejected != 0 {
			t.Fatalf("rejected: %v", res.Rejections)
		}
		total += 20
	}
	return h, n, total
}

func TestVerifyReplayProofs(t *testing.T) {
	t.Parallel()
	h, n, total := world(t)
	g := h.Genesis
	rep, err := blocks.Verify(n.DB, &g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Txs != uint64(total) || rep.Blocks < 5 {
		t.Fatalf("verify: %d txs in %d blocks, want %d txs in >= 5 blocks", rep.Txs, rep.Blocks, total)
	}
	// Replaying every block into an empty store reproduces every state hash.
	dst, err := store.Open(filepath.Join(t.TempDir(), "replay"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	final, err := blocks.Replay(n.DB, dst, &g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if final != n.Engine.Head().StateHash {
		t.Fatalf("replayed state %s, head %s", final, n.Engine.Head().StateHash)
	}
	// Every transaction has a proof that checks offline, also after a JSON
	// round trip, and fails for altered bytes.
	for height := uint64(1); height <= rep.Blocks; height++ {
		raws, err := blocks.Txs(n.DB, height)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range raws {
			tx, _ := decode(raw)
			p, err := blocks.Prove(n.DB, tx)
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(blocks.ProofJSON(p))
			var v blocks.ProofView
			json.Unmarshal(js, &v)
			p2, err := v.Proof()
			if err != nil {
				t.Fatal(err)
			}
			if err := p2.Check(); err != nil {
				t.Fatalf("block %d: %v", height, err)
			}
			p2.Tx = append([]byte(nil), p2.Tx...)
			p2.Tx[len(p2.Tx)-1] ^= 1
			if p2.Check() == nil {
				t.Fatal("proof checks with an altered signature byte")
			}
		}
	}
}

// TestVerifyFindsTampering flips a byte at a random position of a stored
// transaction or header and expects verify to name that block.
func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	h, n, _ := world(t)
	g := h.Genesis
	head := n.Engine.Head().Height
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 60; trial++ {
		height := 1 + rng.Uint64N(head)
		var key, old []byte
		if trial%2 == 0 {
			// The stored form: packed, its signers by number (store.SetTx).
			raws, _ := blocks.Txs(n.DB, height)
			i := rng.IntN(len(raws))
			key = store.TxKey(height, uint32(i))
			old, _, _ = n.DB.Get(key)
		} else {
			key = store.HeaderKey(height)
			old, _, _ = n.DB.Get(key)
		}
		bad := append([]byte(nil), old...)
		bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
		put(t, n.DB, key, bad)
		_, err := blocks.Verify(n.DB, &g, nil)
		var be *blocks.BadBlockError
		if !errors.As(err, &be) {
			t.Fatalf("trial %d: tampering block %d not found: %v", trial, height, err)
		}
		// A header change may surface as the next block's broken link.
		if be.Height != height && !(trial%2 == 1 && be.Height == height+1) {
			t.Fatalf("trial %d: tampered block %d, verify names %d (%s)", trial, height, be.Height, be.Reason)
		}
		put(t, n.DB, key, old)
	}
	if _, err := blocks.Verify(n.DB, &g, nil); err != nil {
		t.Fatalf("after restoring: %v", err)
	}
}

func put(t *testing.T, db *store.DB, k, v []byte) {
	t.Helper()
	b := db.NewBatch()
	if err := b.Set(k, v); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

var _ = state.Params{}

// TestVerifyFindsDoubleChainTampering flips a byte at a random position of
// a stored site chain entry or head, or person block or head, and expects
// verify to name that site or person.
func TestVerifyFindsDoubleChainTampering(t *testing.T) {
	t.Parallel()
	h, n, _ := world(t)
	g := h.Genesis
	rep, err := blocks.Verify(n.DB, &g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.SiteChains == 0 || rep.PersonBlocks == 0 {
		t.Fatalf("nothing to tamper with: %+v", rep)
	}
	tables := []struct {
		tab  byte
		view string
	}{{store.TabSChain, "site chain"}, {store.TabSHead, "site chain"}, {store.TabPBlock, "person chain"}, {store.TabPVal, "person chain"}}
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 40; trial++ {
		tb := tables[trial%len(tables)]
		lo, hi := store.TablePrefix(tb.tab)
		var keys [][]byte
		n.DB.Scan(lo, hi, func(k, v []byte) bool { keys = append(keys, append([]byte(nil), k...)); return true })
		key := keys[rng.IntN(len(keys))]
		old, _, _ := n.DB.Get(key)
		bad := append([]byte(nil), old...)
		at := rng.IntN(len(bad))
		if tb.tab == store.TabPVal {
			// Only the chain head at its front is the person chain's; the
			// derived rest is checked by replay (TestReplayFindsStateTampering).
			at = rng.IntN(48)
		}
		bad[at] ^= byte(1 + rng.IntN(255))
		put(t, n.DB, key, bad)
		_, err := blocks.Verify(n.DB, &g, nil)
		var be *blocks.BadChainError
		if !errors.As(err, &be) || be.View != tb.view {
			t.Fatalf("trial %d: tampered %s key %x, verify says %v", trial, tb.view, key, err)
		}
		// It names the site (by its number's id) or the person tampered with.
		if tb.view == "person chain" && be.Where != fmt.Sprintf("%x", key[1:9]) {
			t.Fatalf("trial %d: tampered person %x, verify names %s", trial, key[1:9], be.Where)
		}
		put(t, n.DB, key, old)
	}
	if _, err := blocks.Verify(n.DB, &g, nil); err != nil {
		t.Fatalf("after restoring: %v", err)
	}
}

// TestReplayFindsStateTampering: a byte altered in any state table (an
// index, a validation state, a decision...) is found by replaying the
// blocks and comparing, and the report names the table.
func TestReplayFindsStateTampering(t *testing.T) {
	t.Parallel()
	h, n, _ := world(t)
	g := h.Genesis
	rng := rand.New(rand.NewPCG(9, 10))
	for trial, tab := range []byte{store.TabPerson, store.TabSiteIdx, store.TabPVal, store.TabAlias, store.TabTxIndex, store.TabSiteDur} {
		lo, hi := store.TablePrefix(tab)
		var keys [][]byte
		n.DB.Scan(lo, hi, func(k, v []byte) bool { keys = append(keys, append([]byte(nil), k...)); return true })
		if len(keys) == 0 {
			t.Fatalf("table %q is empty", tab)
		}
		key := keys[rng.IntN(len(keys))]
		old, _, _ := n.DB.Get(key)
		bad := append([]byte(nil), old...)
		bad[rng.IntN(len(bad))] ^= 0x40
		put(t, n.DB, key, bad)
		dst, err := store.Open(filepath.Join(t.TempDir(), fmt.Sprint("replay", trial)), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := blocks.Replay(n.DB, dst, &g, nil); err != nil {
			t.Fatal(err)
		}
		err = blocks.CompareState(n.DB, dst)
		dst.Close()
		var be *blocks.BadChainError
		if !errors.As(err, &be) || be.View != "state" || !strings.Contains(be.Where, fmt.Sprintf("table %q", tab)) {
			t.Fatalf("tampered table %q: %v", tab, err)
		}
		put(t, n.DB, key, old)
	}
}

// TestVerifyReadsOldSiteChainEntries: a store written before site chain
// entries became locations (each entry txid||link, 64 bytes, or for a
// while its txid, 32) still verifies and matches its replay, and a txid
// or link altered in it is found.
func TestVerifyReadsOldSiteChainEntries(t *testing.T) {
	t.Parallel()
	h, n, _ := world(t)
	g := h.Genesis
	// Each location's txid, from the transaction index.
	at := map[[12]byte]ledger.Hash{}
	lo, hi := store.TablePrefix(store.TabTxIndex)
	n.DB.Scan(lo, hi, func(k, v []byte) bool {
		at[[12]byte(v)] = ledger.Hash(k[1:])
		return true
	})
	lo, hi = store.TablePrefix(store.TabSChain)
	var keys, vals [][]byte
	if err := n.DB.Scan(lo, hi, func(k, v []byte) bool {
		keys = append(keys, append([]byte(nil), k...))
		vals = append(vals, append([]byte(nil), v...))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) < 2 {
		t.Fatalf("%d site chain entries", len(keys))
	}
	// Rewrite each entry in an old form, 64 and 32 bytes in turn: its
	// link follows from the one before in its site's chain (the key's
	// site number, bytes 1..5).
	links := map[string]ledger.Hash{}
	for i, k := range keys {
		txid, ok := at[[12]byte(vals[i])]
		if len(vals[i]) != 12 || !ok {
			t.Fatalf("entry %x: %x, want a transaction's location", k, vals[i])
		}
		site := string(k[1:5])
		l := ledger.SiteLink(links[site], txid)
		links[site] = l
		old := append(txid[:], l[:]...)
		if i%2 == 1 {
			old = txid[:]
		}
		put(t, n.DB, k, old)
	}
	if _, err := blocks.Verify(n.DB, &g, nil); err != nil {
		t.Fatalf("old-form store: %v", err)
	}
	dst, err := store.Open(filepath.Join(t.TempDir(), "replay"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := blocks.Replay(n.DB, dst, &g, nil); err != nil {
		t.Fatal(err)
	}
	if err := blocks.CompareState(n.DB, dst); err != nil {
		t.Fatalf("old-form store against its replay: %v", err)
	}
	// An old link altered (not the head's), or a txid, breaks the chain.
	for _, c := range []struct{ entry, at int }{{0, 40}, {0, 3}, {1, 5}} {
		k := keys[c.entry]
		old, _, _ := n.DB.Get(k)
		bad := append([]byte(nil), old...)
		bad[c.at] ^= 1
		put(t, n.DB, k, bad)
		_, err = blocks.Verify(n.DB, &g, nil)
		var be *blocks.BadChainError
		if !errors.As(err, &be) || be.View != "site chain" {
			t.Fatalf("entry %d byte %d altered: verify says %v", c.entry, c.at, err)
		}
		put(t, n.DB, k, old)
	}
}

// TestVerifyFindsSignerTampering: a stored transaction names its signer
// by number (store.SetTx); a number changed to one the store does not
// hold, or to another signer's, is found and the block named.
func TestVerifyFindsSignerTampering(t *testing.T) {
	t.Parallel()
	h, n, _ := world(t)
	g := h.Genesis
	head := n.Engine.Head().Height
	for _, num := range []uint32{0xffffffff, 1, 2} {
		for height := uint64(1); height <= head; height += max(1, head/4) {
			key := store.TxKey(height, 0)
			old, ok, err := n.DB.Get(key)
			if err != nil || !ok || old[0] != 0xff {
				t.Fatalf("block %d: stored tx %x… (%v, %v), want the packed form", height, old[:min(8, len(old))], ok, err)
			}
			at := 1 + 6 + int(binary.BigEndian.Uint32(old[3:7])) + 1
			if binary.BigEndian.Uint32(old[at:]) == num {
				continue
			}
			bad := append([]byte(nil), old...)
			binary.BigEndian.PutUint32(bad[at:], num)
			put(t, n.DB, key, bad)
			_, err = blocks.Verify(n.DB, &g, nil)
			var be *blocks.BadBlockError
			if !errors.As(err, &be) || be.Height != height {
				t.Fatalf("signer %d in block %d: verify says %v", num, height, err)
			}
			put(t, n.DB, key, old)
		}
	}
	if _, err := blocks.Verify(n.DB, &g, nil); err != nil {
		t.Fatalf("after restoring: %v", err)
	}
}
