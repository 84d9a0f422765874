package blocks

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// BadChainError names the first place where a site chain or a person chain
// fails verification.
type BadChainError struct {
	View   string // "site chain" or "person chain"
	Where  string // the site id, or the person pseudonym (short)
	Seq    uint64 // entry or person block number
	Reason string
}

func (e *BadChainError) Error() string {
	return fmt.Sprintf("%s of %s, entry %d: %s", e.View, e.Where, e.Seq, e.Reason)
}

// siteCursor follows one site chain while the blocks are walked.
type siteCursor struct {
	id   string
	seq  uint64
	link ledger.Hash
}

// siteChains checks, as the blocks are walked in order, that every visit
// and move is the next entry of its sites' chains with the right link.
type siteChains struct {
	r       store.Reader
	cursors map[string]*siteCursor
	nums    map[string]uint32
}

func newSiteChains(r store.Reader) *siteChains {
	return &siteChains{r: r, cursors: map[string]*siteCursor{}, nums: map[string]uint32{}}
}

func (sc *siteChains) num(id string) (uint32, error) {
	if n, ok := sc.nums[id]; ok {
		return n, nil
	}
	v, ok, err := sc.r.Get(store.SiteKey(id))
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, &BadChainError{View: "site chain", Where: fmt.Sprintf("%q", id), Reason: "a record names a site the state does not hold"}
	}
	s, err := state.DecodeSite(v)
	if err != nil {
		return 0, &BadChainError{View: "site chain", Where: fmt.Sprintf("%q", id), Reason: "the site record is damaged"}
	}
	sc.nums[id] = s.Num
	return s.Num, nil
}

// next checks the next entry of site id's chain against txid, the
// transaction at (height, idx).
func (sc *siteChains) next(id string, txid ledger.Hash, height uint64, idx uint32) error {
	num, err := sc.num(id)
	if err != nil {
		return err
	}
	c := sc.cursors[id]
	if c == nil {
		c = &siteCursor{id: id}
		sc.cursors[id] = c
	}
	bad := func(reason string) error {
		return &BadChainError{View: "site chain", Where: fmt.Sprintf("%q", id), Seq: c.seq, Reason: reason}
	}
	v, ok, err := sc.r.Get(store.SiteChainKey(num, c.seq))
	if err != nil {
		return err
	}
	if !ok {
		return bad("entry missing")
	}
	// An entry is where its transaction is (height, index: 12 bytes); a
	// store written before 2026-12-07 keeps its txid and link (64), or
	// for a while that day its txid alone (32). The links are recomputed
	// here either way, and the last must match the head (finish).
	switch len(v) {
	case 12:
		if h, i := binary.BigEndian.Uint64(v), binary.BigEndian.Uint32(v[8:]); h != height || i != idx {
			return bad(fmt.Sprintf("names transaction %d of block %d, the blocks say %d of %d", i, h, idx, height))
		}
	case 32, 64:
		if !bytes.Equal(v[:32], txid[:]) {
			return bad(fmt.Sprintf("holds transaction %x…, the blocks say %s…", v[:8], txid.String()[:16]))
		}
	default:
		return bad("entry damaged")
	}
	link := ledger.SiteLink(c.link, txid)
	if len(v) == 64 && !bytes.Equal(v[32:], link[:]) {
		return bad("link hash does not match")
	}
	c.link = link
	c.seq++
	return nil
}

// tx feeds one block transaction, transaction idx of block height.
func (sc *siteChains) tx(tx *ledger.Tx, height uint64, idx uint32) error {
	switch b := tx.Body.(type) {
	case *ledger.Visit:
		return sc.next(b.Site, tx.ID(), height, idx)
	case *ledger.Move:
		if err := sc.next(b.From, tx.ID(), height, idx); err != nil {
			return err
		}
		return sc.next(b.To, tx.ID(), height, idx)
	}
	return nil
}

// finish checks every stored head against what the blocks gave, and that
// no entry lies past a head.
func (sc *siteChains) finish() error {
	lo, hi := store.TablePrefix(store.TabSHead)
	heads := map[uint32][]byte{}
	if err := sc.r.Scan(lo, hi, func(k, v []byte) bool {
		heads[binary.BigEndian.Uint32(k[1:])] = append([]byte(nil), v...)
		return true
	}); err != nil {
		return err
	}
	byNum := map[uint32]*siteCursor{}
	for id, c := range sc.cursors {
		byNum[sc.nums[id]] = c
	}
	for num, c := range byNum {
		h, ok := heads[num]
		bad := func(reason string) error {
			return &BadChainError{View: "site chain", Where: fmt.Sprintf("%q", c.id), Seq: c.seq, Reason: reason}
		}
		if !ok || len(h) != 40 {
			return bad("head missing or damaged")
		}
		if binary.BigEndian.Uint64(h) != c.seq || !bytes.Equal(h[8:], c.link[:]) {
			return bad("head does not match the chain")
		}
		if _, ok, err := sc.r.Get(store.SiteChainKey(num, c.seq)); err != nil {
			return err
		} else if ok {
			return bad("an entry lies past the head")
		}
		delete(heads, num)
	}
	for num := range heads {
		return &BadChainError{View: "site chain", Where: fmt.Sprintf("site number %d", num), Reason: "a head for a chain no block writes"}
	}
	return nil
}

// verifyPersonChains walks every person chain: the person blocks of each
// person, in order, must be numbered from 0 without gaps, link each to the
// one before, match their entries' roots and name only transactions on the
// chain; the chain head kept in the person's validation state must name
// the last block (the rest of that state is derived, and checked by
// replay). Once ctx is done it stops with ctx's error.
func verifyPersonChains(ctx context.Context, r store.Reader) (persons, blocks uint64, err error) {
	type tip struct {
		seq     uint64
		hash    ledger.Hash
		lastEnd int64
	}
	tips := map[ledger.Pseudonym]*tip{}
	var order []ledger.Pseudonym
	lo, hi := store.TablePrefix(store.TabPBlock)
	var bad error
	if err := r.Scan(lo, hi, func(k, v []byte) bool {
		var p ledger.Pseudonym
		copy(p[:], k[1:33])
		seq := binary.BigEndian.Uint64(k[33:])
		t := tips[p]
		if t == nil {
			t = &tip{}
			tips[p] = t
			order = append(order, p)
		}
		fail := func(reason string) bool {
			bad = &BadChainError{View: "person chain", Where: p.Short(), Seq: seq, Reason: reason}
			return false
		}
		if blocks%4096 == 0 && ctx.Err() != nil {
			bad = ctx.Err()
			return false
		}
		if seq != t.seq {
			return fail(fmt.Sprintf("person block %d follows block %d", seq, int64(t.seq)-1))
		}
		pb, err := ledger.DecodePersonBlock(v)
		if err != nil {
			return fail(err.Error())
		}
		if pb.Person != p || pb.Seq != seq {
			return fail("person block belongs elsewhere")
		}
		if err := pb.Check(t.hash); err != nil {
			return fail(err.Error())
		}
		for i, e := range pb.Entries {
			if _, _, err := Locate(r, e); err != nil {
				return fail(fmt.Sprintf("entry %d is not a transaction on the chain", i))
			}
		}
		t.seq, t.hash, t.lastEnd = seq+1, pb.Hash(), max(t.lastEnd, pb.WindowEnd)
		blocks++
		return true
	}); err != nil {
		return persons, blocks, err
	}
	if bad != nil {
		return persons, blocks, bad
	}
	// Every chain head must name its chain's last block, and every chain
	// must have its head.
	vlo, vhi := store.TablePrefix(store.TabPVal)
	if err := r.Scan(vlo, vhi, func(k, v []byte) bool {
		var p ledger.Pseudonym
		copy(p[:], k[1:])
		h, err := state.DecodePersonHead(v)
		t := tips[p]
		switch {
		case err != nil:
			bad = &BadChainError{View: "person chain", Where: p.Short(), Reason: "head damaged"}
		case t == nil && h.Seq != 0:
			bad = &BadChainError{View: "person chain", Where: p.Short(), Seq: h.Seq, Reason: "head names person blocks that are not stored"}
		case t != nil && (h.Seq != t.seq || h.Hash != t.hash || h.ClosedEnd != t.lastEnd):
			bad = &BadChainError{View: "person chain", Where: p.Short(), Seq: h.Seq, Reason: "head does not name the last person block"}
		}
		if t != nil {
			delete(tips, p)
			persons++
		}
		return bad == nil
	}); err != nil {
		return persons, blocks, err
	}
	if bad != nil {
		return persons, blocks, bad
	}
	for _, p := range order {
		if tips[p] != nil {
			return persons, blocks, &BadChainError{View: "person chain", Where: p.Short(), Seq: tips[p].seq, Reason: "person blocks without a chain head"}
		}
	}
	return persons, blocks, nil
}
