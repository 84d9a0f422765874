package blocks

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// Replay re-applies every block of src, in order, through a fresh state
// machine over dst (an empty store) and checks after each block that the
// state hash equals the one in the block's header. Since the state hash
// commits to every state write, a match proves that the state machine is
// deterministic on this chain and that src's blocks produce its recorded
// state; any transaction the machine now refuses is reported as a bad
// block. progress, if not nil, is called after each block.
func Replay(src store.Reader, dst *store.DB, gen *state.Genesis, progress func(height, head uint64)) (ledger.Hash, error) {
	head, err := ReadHead(src, gen)
	if err != nil {
		return ledger.Hash{}, err
	}
	m := state.New(dst, *gen)
	var stateHash ledger.Hash
	prev := Head{Hash: gen.Hash(), Time: gen.Time * 1e9}
	for h := uint64(1); h <= head.Height; h++ {
		bad := func(format string, args ...any) error {
			return &BadBlockError{Height: h, Reason: fmt.Sprintf(format, args...)}
		}
		hdr, err := Header(src, h)
		if err != nil {
			return stateHash, err
		}
		raws, err := Txs(src, h)
		if err != nil {
			return stateHash, err
		}
		txs := make([]*ledger.Tx, len(raws))
		for i, raw := range raws {
			if txs[i], err = ledger.DecodeTx(raw); err != nil {
				return stateHash, bad("transaction %d does not decode: %v", i, err)
			}
		}
		b := dst.NewBatch()
		built, err := Apply(m, b, prev, hdr.Time, Ordered{Txs: txs}, true)
		if err != nil {
			b.Discard()
			return stateHash, err
		}
		for i, err := range built.Results {
			if err != nil {
				b.Discard()
				return stateHash, bad("transaction %d is refused on replay: %v", i, err)
			}
		}
		next := built.Header.StateHash
		if next != hdr.StateHash {
			b.Discard()
			return stateHash, bad("replayed state hash %s differs from the header's %s", next.String()[:16], hdr.StateHash.String()[:16])
		}
		if built.Header.Hash() != hdr.Hash() {
			b.Discard()
			return stateHash, bad("the replayed block's header differs from the stored one")
		}
		if err := b.Commit(); err != nil {
			return stateHash, err
		}
		built.Committed()
		prev = Next(built.Header)
		stateHash = next
		if progress != nil {
			progress(h, head.Height)
		}
	}
	return stateHash, nil
}

// CompareState compares the state tables of two stores (the live one and
// a replay) and returns a *BadChainError naming the first key where they
// differ: any byte of any index, chain or decision altered in place.
func CompareState(a, b store.Reader) error {
	for _, tab := range store.StateTables {
		lo, hi := store.TablePrefix(tab)
		ka, va, err := collect(a, lo, hi)
		if err != nil {
			return err
		}
		kb, vb, err := collect(b, lo, hi)
		if err != nil {
			return err
		}
		for i := 0; i < len(ka) || i < len(kb); i++ {
			switch {
			case i >= len(ka):
				return &BadChainError{View: "state", Where: fmt.Sprintf("table %q key %x", tab, kb[i]), Reason: "missing from the store, the blocks produce it"}
			case i >= len(kb) || !bytes.Equal(ka[i], kb[i]):
				return &BadChainError{View: "state", Where: fmt.Sprintf("table %q key %x", tab, ka[i]), Reason: "in the store, the blocks do not produce it"}
			case !bytes.Equal(va[i], vb[i]) && !sameStored(a, tab, va[i], vb[i]):
				return &BadChainError{View: "state", Where: fmt.Sprintf("table %q key %x", tab, ka[i]), Reason: "value differs from what the blocks produce"}
			}
		}
	}
	return nil
}

// sameStored reports whether two stored values of table tab are the same
// state in two stored forms. A site chain entry is where its transaction
// is on the chain (12 bytes: height, index); in a store written before
// 2026-12-07 it is the txid and link (64), or for a while that day the
// txid (32). Two forms name the same entry when their txids agree, or
// when the transaction index of r (the live store, checked by verify
// against the blocks) puts the txid at the location. The links are
// checked by verify's site chain walk, not here.
func sameStored(r store.Reader, tab byte, a, b []byte) bool {
	if tab != store.TabSChain || len(a) == len(b) && len(a) == 12 {
		return false
	}
	if len(a) == 12 {
		a, b = b, a
	}
	switch {
	case len(a) != 32 && len(a) != 64:
		return false
	case len(b) == 32 || len(b) == 64:
		return bytes.Equal(a[:32], b[:32])
	case len(b) == 12:
		h, i, err := Locate(r, ledger.Hash(a[:32]))
		return err == nil && h == binary.BigEndian.Uint64(b) && i == binary.BigEndian.Uint32(b[8:])
	}
	return false
}

func collect(r store.Reader, lo, hi []byte) (keys, vals [][]byte, err error) {
	err = r.Scan(lo, hi, func(k, v []byte) bool {
		keys = append(keys, append([]byte(nil), k...))
		vals = append(vals, append([]byte(nil), v...))
		return true
	})
	return keys, vals, err
}
