package chain

import (
	"bytes"
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

// next checks the next entry of site id's chain against txid.
func (sc *siteChains) next(id string, txid ledger.Hash) error {
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
	if len(v) != 64 {
		return bad("entry damaged")
	}
	if !bytes.Equal(v[:32], txid[:]) {
		return bad(fmt.Sprintf("holds transaction %x…, the blocks say %s…", v[:8], txid.String()[:16]))
	}
	link := ledger.SiteLink(c.link, txid)
	if !bytes.Equal(v[32:], link[:]) {
		return bad("link hash does not match")
	}
	c.link = link
	c.seq++
	return nil
}

// tx feeds one block transaction.
func (sc *siteChains) tx(tx *ledger.Tx) error {
	switch b := tx.Body.(type) {
	case *ledger.Visit:
		return sc.next(b.Site, tx.ID())
	case *ledger.Move:
		if err := sc.next(b.From, tx.ID()); err != nil {
			return err
		}
		return sc.next(b.To, tx.ID())
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

// verifyPersonChains walks every person chain: each person block decodes,
// links to the one before, its entries match its root and are transactions
// on the chain, and the head names the last block.
func verifyPersonChains(r store.Reader) (persons, blocks uint64, err error) {
	lo, hi := store.TablePrefix(store.TabPHead)
	type headRec struct {
		p ledger.Pseudonym
		v []byte
	}
	var heads []headRec
	if err := r.Scan(lo, hi, func(k, v []byte) bool {
		var p ledger.Pseudonym
		copy(p[:], k[1:])
		heads = append(heads, headRec{p, append([]byte(nil), v...)})
		return true
	}); err != nil {
		return 0, 0, err
	}
	for _, hr := range heads {
		who := hr.p.Short()
		head, herr := state.DecodePersonHead(hr.v)
		if herr != nil {
			return persons, blocks, &BadChainError{View: "person chain", Where: who, Reason: "head damaged"}
		}
		var prev ledger.Hash
		var lastEnd int64
		for seq := uint64(0); seq < head.Seq; seq++ {
			bad := func(reason string) error {
				return &BadChainError{View: "person chain", Where: who, Seq: seq, Reason: reason}
			}
			v, ok, err := r.Get(store.PersonBlockKey(hr.p, seq))
			if err != nil {
				return persons, blocks, err
			}
			if !ok {
				return persons, blocks, bad("person block missing")
			}
			pb, err := ledger.DecodePersonBlock(v)
			if err != nil {
				return persons, blocks, bad(err.Error())
			}
			if pb.Person != hr.p || pb.Seq != seq {
				return persons, blocks, bad("person block belongs elsewhere")
			}
			if err := pb.Check(prev); err != nil {
				return persons, blocks, bad(err.Error())
			}
			for i, e := range pb.Entries {
				if _, _, err := Locate(r, e); err != nil {
					return persons, blocks, bad(fmt.Sprintf("entry %d is not a transaction on the chain", i))
				}
			}
			prev, lastEnd = pb.Hash(), max(lastEnd, pb.WindowEnd)
			blocks++
		}
		if head.Seq > 0 && head.ClosedEnd != lastEnd {
			return persons, blocks, &BadChainError{View: "person chain", Where: who, Seq: head.Seq, Reason: "head's last closed window does not match the person blocks"}
		}
		if prev != head.Hash {
			return persons, blocks, &BadChainError{View: "person chain", Where: who, Seq: head.Seq, Reason: "head does not name the last person block"}
		}
		if _, ok, err := r.Get(store.PersonBlockKey(hr.p, head.Seq)); err != nil {
			return persons, blocks, err
		} else if ok {
			return persons, blocks, &BadChainError{View: "person chain", Where: who, Seq: head.Seq, Reason: "a person block lies past the head"}
		}
		persons++
	}
	return persons, blocks, nil
}
