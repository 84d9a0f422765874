package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/cometbft/cometbft/types"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/ledger"
)

// pendingEngine is a consortium engine whose next block is never
// committed.
type pendingEngine struct{ engine.Engine }

func (pendingEngine) ConsortiumProof(height uint64, tx []byte) (*consortium.Proof, error) {
	return nil, fmt.Errorf("%w (block %d)", consortium.ErrPending, height+1)
}

func (pendingEngine) LightBlock(h int64) (*types.SignedHeader, *types.ValidatorSet, error) {
	return nil, nil, fmt.Errorf("signed header %d is not committed yet", h)
}

// TestProofConsortium: a solo node's proof has no consortium section; a
// consortium node whose next block is not committed answers 425
// too_early, naming the field, with a Retry-After.
func TestProofConsortium(t *testing.T) {
	t.Parallel()
	f := serve(t, world)
	txs, err := blocks.Txs(f.n.DB, 1)
	if err != nil || len(txs) == 0 {
		t.Fatal(txs, err)
	}
	tx, err := ledger.DecodeTx(txs[0])
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/tx/" + tx.ID().String() + "/proof"
	r := f.call(t, "GET", path, f.token, "")
	var v map[string]json.RawMessage
	decodeOK(t, r, &v)
	if _, ok := v["consortium"]; ok || v["tx"] == nil {
		t.Fatalf("a solo node's proof: %s", r.body)
	}
	if _, _, err := consortium.ParseTxProof(r.body); err != nil {
		t.Fatalf("the solo proof does not parse as a proof file: %v", err)
	}

	f.n.Engine = pendingEngine{f.n.Engine}
	r = f.call(t, "GET", path, f.token, "")
	if r.status != http.StatusTooEarly || r.header.Get("Retry-After") != "1" ||
		!bytes.Contains(r.body, []byte(`"code":"too_early"`)) || !bytes.Contains(r.body, []byte(`"field":"consortium"`)) {
		t.Fatalf("pending: %d %v %s", r.status, r.header, r.body)
	}
}
