package blocks

import (
	"fmt"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// LostBlocksError says that the store holds less than its node
// acknowledged: blocks Have+1..Acked were committed, synced and their
// transactions acknowledged, and are gone (a damaged write-ahead log reads
// as a torn write, and Pebble drops the rest of it without an error).
type LostBlocksError struct {
	Have, Acked uint64
	File        string // the acked-head file
}

func (e *LostBlocksError) Error() string {
	missing := fmt.Sprintf("heights %d..%d are", e.Have+1, e.Acked)
	if e.Have+1 == e.Acked {
		missing = fmt.Sprintf("height %d is", e.Acked)
	}
	return fmt.Sprintf("the store holds blocks up to %d but %d were acknowledged (%s): %s missing (the write-ahead log was damaged?)",
		e.Have, e.Acked, e.File, missing)
}

// Is reports whether target is store.ErrCorrupt: lost blocks are damage.
func (e *LostBlocksError) Is(target error) bool { return target == store.ErrCorrupt }

// CheckAcked compares the store with the head its node last acknowledged
// (read from file): the store must hold that block, with that hash. A
// store that stops short is a *LostBlocksError; a block of another hash at
// that height is a *BadBlockError. A store past the acked head is fine:
// its last blocks were synced but the node stopped before acknowledging
// them.
func CheckAcked(r store.Reader, gen *state.Genesis, acked store.AckedHead, file string) error {
	head, err := ReadHead(r, gen)
	if err != nil {
		return err
	}
	if head.Height < acked.Height {
		return &LostBlocksError{Have: head.Height, Acked: acked.Height, File: file}
	}
	if acked.Height == 0 {
		return nil
	}
	h, err := Header(r, acked.Height)
	if err != nil {
		return err
	}
	if h.Hash() != ledger.Hash(acked.Hash) {
		return &BadBlockError{Height: acked.Height, Reason: fmt.Sprintf("its hash is not the one acknowledged (%s): the store was replaced or rewritten", file)}
	}
	return nil
}
