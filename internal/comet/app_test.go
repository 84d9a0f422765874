package comet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// TestCheckTxLeavesNoTrace: what the mempool's door admits (CheckTx, at
// any point: before the block, between FinalizeBlock and Commit, or
// after) changes nothing of the state a block leaves; two validators
// whose mempools saw the block's transactions at different moments reach
// the same application hash.
func TestCheckTxLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	first, err := home.Init(filepath.Join(dir, "a"), home.InitOptions{ChainID: "check", Region: "420100", Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	_, siteKey, _ := ed25519.GenerateKey(nil)
	var pub [32]byte
	copy(pub[:], siteKey.Public().(ed25519.PublicKey))
	reg := ledger.NewTx(&ledger.RegisterSite{Site: "s1", Kind_: "office", LatE6: 30500000, LonE6: 114300000, Region: "420100", Key: pub})
	reg.Sign(first.Genesis.ChainID, first.Authority())
	all := [][]byte{reg.Bytes()}
	base := time.Date(2020, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < 30; i++ {
		in := base.Add(time.Duration(i) * time.Hour)
		v := ledger.NewTx(&ledger.Visit{Site: "s1", Person: ledger.PersonRef{Ref: ledger.Pseudonym(sha256.Sum256([]byte(fmt.Sprintf("p%03d", i%10))))}, In: in.Unix(), Out: in.Add(30 * time.Minute).Unix()})
		v.Sign(first.Genesis.ChainID, siteKey)
		all = append(all, v.Bytes())
	}
	// Two months on: new persons and an old one, far past every window.
	for i := 0; i < 10; i++ {
		in := base.Add(60*24*time.Hour + time.Duration(i)*time.Minute)
		who := fmt.Sprintf("q%03d", i)
		if i == 0 {
			who = "p000"
		}
		v := ledger.NewTx(&ledger.Visit{Site: "s1", Person: ledger.PersonRef{Ref: ledger.Pseudonym(sha256.Sum256([]byte(who)))}, In: in.Unix(), Out: in.Add(30 * time.Minute).Unix()})
		v.Sign(first.Genesis.ChainID, siteKey)
		all = append(all, v.Bytes())
	}
	cap := struct{ Txs [][]byte }{all}
	blocks := [][][]byte{cap.Txs[:1], cap.Txs[1:11], cap.Txs[11:21], cap.Txs[21:31], {}, cap.Txs[31:36], cap.Txs[36:]}

	blockTime := func(b int) time.Time {
		if b >= 4 {
			return base.Add(62*24*time.Hour + time.Duration(b)*time.Minute)
		}
		return base.Add(time.Duration(b+40) * time.Hour)
	}
	run := func(name string, check func(app *App, step string, b int)) []byte {
		h, err := home.Clone(first, filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		app := openApp(t, h)
		var hash []byte
		for b, txs := range blocks {
			check(app, "before", b)
			res, err := app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: txs, Height: int64(b + 1), Time: blockTime(b)})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res.TxResults {
				if r.Code != 0 {
					t.Fatalf("%s: block %d tx %d refused: %s", name, b, i, r.Log)
				}
			}
			check(app, "between", b)
			if _, err := app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
				t.Fatal(err)
			}
			check(app, "after", b)
			hash = res.AppHash
		}
		check(app, "end", -1)
		return hash
	}
	checkAt := func(when string, which int) func(*App, string, int) {
		return func(app *App, step string, b int) {
			if step != when {
				return
			}
			for _, k := range []int{b, b + which, b + 2*which, b + 3*which} {
				if k >= len(blocks) {
					continue
				}
				for _, raw := range blocks[k] {
					app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
				}
			}
		}
	}
	want := run("none", func(*App, string, int) {})
	// CheckTx on another goroutine, all the while (the mempool has its
	// own connection to the application).
	var stop atomic.Bool
	var wg sync.WaitGroup
	concurrent := func(app *App, step string, b int) {
		if step == "end" {
			stop.Store(true)
			wg.Wait()
		}
		if step != "before" || b != 0 {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				for _, raw := range cap.Txs {
					app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
				}
			}
		}()
	}
	got := run("concurrent", concurrent)
	if !bytes.Equal(got, want) {
		t.Errorf("CheckTx concurrently: app hash %x, want %x", got, want)
	}
	for _, when := range []string{"before", "between", "after"} {
		for _, which := range []int{0, 1} {
			name := fmt.Sprintf("%s-%d", when, which)
			if got := run(name, checkAt(when, which)); !bytes.Equal(got, want) {
				t.Errorf("CheckTx %s the block (and of block+%d): app hash %x, want %x", when, which, got, want)
			}
		}
	}
}

// TestBundles: a bundle's records are applied one by one, in its order,
// each accepted or refused on its own; its result carries a code per
// record. A proposal holding a bundle with a bad signature, a repeated
// record or a malformed encoding is refused. At the door, a node checks
// a batch record by record (precheck) and admits the bundle of those it
// accepted as it is; records in a bundle from another node wait for it.
func TestBundles(t *testing.T) {
	h, err := home.Init(filepath.Join(t.TempDir(), "a"), home.InitOptions{ChainID: "bundles", Region: "420100", Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	app := openApp(t, h)
	chain := h.Genesis.ChainID
	_, siteKey, _ := ed25519.GenerateKey(nil)
	var pub [32]byte
	copy(pub[:], siteKey.Public().(ed25519.PublicKey))
	reg := ledger.NewTx(&ledger.RegisterSite{Site: "s1", Kind_: "office", LatE6: 30500000, LonE6: 114300000, Region: "420100", Key: pub})
	reg.Sign(chain, h.Authority())
	base := time.Date(2020, 3, 1, 8, 0, 0, 0, time.UTC)
	visit := func(i int, key ed25519.PrivateKey) *ledger.Tx {
		in := base.Add(time.Duration(i) * time.Hour)
		v := ledger.NewTx(&ledger.Visit{Site: "s1", Person: ledger.PersonRef{Ref: ledger.Pseudonym(sha256.Sum256([]byte(fmt.Sprint("p", i))))}, In: in.Unix(), Out: in.Add(30 * time.Minute).Unix()})
		v.Sign(chain, key)
		return v
	}
	bundle := func(txs ...*ledger.Tx) []byte {
		raws := make([][]byte, len(txs))
		for i, tx := range txs {
			raws[i] = tx.Bytes()
		}
		b, err := lightclient.Bundle(raws)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	height := int64(0)
	block := func(txs ...[]byte) []*abci.ExecTxResult {
		t.Helper()
		height++
		res, err := app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: txs, Height: height, Time: base.Add(48*time.Hour + time.Duration(height)*time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
		return res.TxResults
	}
	v := []*ledger.Tx{visit(0, siteKey), visit(1, siteKey), visit(2, siteKey), visit(3, siteKey)}
	block(reg.Bytes())
	res := block(bundle(v[0], v[1], v[2]))
	if res[0].Code != 0 || !bytes.Equal(res[0].Data, []byte{0, 0, 0}) {
		t.Fatalf("a bundle of three good records: code %d, data %v", res[0].Code, res[0].Data)
	}
	res = block(bundle(v[1], v[3]))
	if res[0].Code != 0 || !bytes.Equal(res[0].Data, []byte{byte(codes[state.CodeReplay]), 0}) {
		t.Fatalf("a replayed record and a new one: code %d, data %v, log %s", res[0].Code, res[0].Data, res[0].Log)
	}
	if got := app.Head(); got.Height != 3 {
		t.Fatalf("head %d", got.Height)
	}

	// Proposals.
	_, otherKey, _ := ed25519.GenerateKey(nil)
	badSig := visit(7, siteKey)
	badSig.Sigs[0].Sig[0] ^= 1
	repeated := append([]byte{lightclient.BundleMark, 0, 2}, append(lenPrefixed(v[0].Bytes()), lenPrefixed(v[0].Bytes())...)...)
	for _, tc := range []struct {
		name string
		txs  [][]byte
		want abci.ResponseProcessProposal_ProposalStatus
	}{
		{"good bundles", [][]byte{bundle(visit(5, siteKey), visit(6, siteKey)), visit(8, siteKey).Bytes()}, abci.ResponseProcessProposal_ACCEPT},
		{"a record signed by an unknown key (the block refuses it)", [][]byte{bundle(visit(5, siteKey), visit(9, otherKey))}, abci.ResponseProcessProposal_ACCEPT},
		{"a bad signature in a bundle", [][]byte{bundle(visit(5, siteKey), badSig)}, abci.ResponseProcessProposal_REJECT},
		{"a repeated record", [][]byte{repeated}, abci.ResponseProcessProposal_REJECT},
		{"a malformed bundle", [][]byte{{lightclient.BundleMark, 0, 2, 0}}, abci.ResponseProcessProposal_REJECT},
	} {
		r, err := app.ProcessProposal(context.Background(), &abci.RequestProcessProposal{Txs: tc.txs, Height: height + 1})
		if err != nil || r.Status != tc.want {
			t.Errorf("%s: %v %v, want %v", tc.name, r.Status, err, tc.want)
		}
	}

	// The door.
	peer := []*ledger.Tx{visit(10, siteKey), visit(11, siteKey)}
	if r, _ := app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: bundle(peer...), Type: abci.CheckTxType_New}); r.Code != 0 {
		t.Fatalf("another node's bundle: %s", r.Log)
	}
	if r, _ := app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: bundle(visit(12, siteKey), badSig), Type: abci.CheckTxType_New}); r.Code != codes[state.CodeBadSignature] {
		t.Fatalf("a bundle with a bad signature: code %d", r.Code)
	}
	batch := []*ledger.Tx{peer[1], visit(13, siteKey), v[2], visit(14, otherKey), visit(15, siteKey)}
	p, err := app.precheck(batch, make([]error, len(batch)))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Waiting[0] || p.Refused[0] != nil {
		t.Errorf("a record in another node's bundle: waiting %v, refused %v", p.Waiting[0], p.Refused[0])
	}
	if p.Refused[2] == nil || p.Refused[2].Code != state.CodeReplay {
		t.Errorf("a committed record: %v, want a replay", p.Refused[2])
	}
	if p.Refused[3] == nil {
		t.Error("a record signed by an unknown key passed the door")
	}
	if fmt.Sprint(p.Kept) != "[1 4]" || !bytes.Equal(p.Tx, bundle(batch[1], batch[4])) {
		t.Fatalf("kept %v", p.Kept)
	}
	if r, _ := app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: p.Tx, Type: abci.CheckTxType_New}); r.Code != 0 {
		t.Fatalf("the prechecked bundle: %s", r.Log)
	}
	// Submitted again (another node's API, or this one's): its records
	// wait for the bundle the mempool holds.
	if p2, _ := app.precheck(batch[1:2], []error{nil}); !p2.Waiting[0] || p2.Tx != nil {
		t.Errorf("a record prechecked before: %+v", p2)
	}
	res = block(bundle(peer...), p.Tx)
	if !bytes.Equal(res[0].Data, []byte{0, 0}) || !bytes.Equal(res[1].Data, []byte{0, 0}) {
		t.Fatalf("the block of both bundles: %v %v", res[0].Data, res[1].Data)
	}
	// A node a storage failure stopped takes nothing more at its door.
	app.mu.Lock()
	app.halt(errors.New("disk gone"))
	app.mu.Unlock()
	if _, err := app.precheck([]*ledger.Tx{visit(20, siteKey)}, []error{nil}); !errors.Is(err, engine.ErrHalted) {
		t.Errorf("precheck on a halted node: %v", err)
	}
}

func lenPrefixed(b []byte) []byte {
	return append([]byte{byte(len(b) >> 24), byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))}, b...)
}

// openApp opens the application over h's store, closed when the test ends.
func openApp(t *testing.T, h *home.Home) *App {
	t.Helper()
	db, err := store.Open(h.DataDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	app, err := NewApp(db, state.New(db, h.Genesis), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestBundleLen: a batch is cut into bundles of at most MaxBundle records
// and maxBundleBytes, in order; a record larger than that travels alone.
func TestBundleLen(t *testing.T) {
	of := func(sizes ...int) []submission {
		out := make([]submission, len(sizes))
		for i, n := range sizes {
			out[i].raw = make([]byte, n)
		}
		return out
	}
	many := make([]int, 600)
	for i := range many {
		many[i] = 200
	}
	for _, tc := range []struct {
		name  string
		items []submission
		want  []int
	}{
		{"one", of(100), []int{1}},
		{"600 small records", of(many...), []int{lightclient.MaxBundle, lightclient.MaxBundle, 600 - 2*lightclient.MaxBundle}},
		{"large records", of(200<<10, 200<<10, 200<<10, 10), []int{2, 2}},
		{"one larger than a bundle", of(10, 600<<10, 10), []int{1, 1, 1}},
	} {
		var got []int
		for items := tc.items; len(items) > 0; {
			n := bundleLen(items)
			got, items = append(got, n), items[n:]
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: bundles of %v, want %v", tc.name, got, tc.want)
		}
	}
}
