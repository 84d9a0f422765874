package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
)

// The public checks (supply check, attest check) read an answer from a
// node or from a file, and check each transaction it lists with nothing
// but its proof.

// fetchAnswer is the answer get reads from the node at nodeURL (no
// login), as JSON, also written to save when given, so that it can be
// checked again offline (--file).
func (e *env) fetchAnswer(nodeURL, save string, get func(context.Context, *client.Client) (any, error)) ([]byte, error) {
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	v, err := get(ctx, client.New(nodeURL, ""))
	if err != nil {
		return nil, nodeErr(err, nodeURL)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if save != "" {
		if err := os.WriteFile(save, raw, 0o644); err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// decodeAnswer decodes raw into v, refusing a field the answer does not
// have: what is checked is exactly what was read.
func decodeAnswer(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// provenTx checks the proof of the n-th transaction (a what) an answer
// lists as tx in block height: a leaf of its block (with g, signed by the
// consortium, whose report it prints) that decodes. Its error is
// e.invalid's: the answer does not hold.
func (e *env) provenTx(what string, n int, proof consortium.TxProof, tx string, height uint64, g *consortium.Genesis) (*blocks.Proof, *ledger.Tx, error) {
	raw, err := json.Marshal(proof)
	if err != nil {
		return nil, nil, err
	}
	p, r, err := checkTxProof(raw, g)
	if err != nil {
		return nil, nil, e.invalid(fmt.Errorf("%s %d: %w", what, n, err))
	}
	t, err := ledger.DecodeTx(p.Tx)
	if err != nil {
		return nil, nil, e.invalid(fmt.Errorf("%s %d: %w", what, n, err))
	}
	if p.TxID.String() != tx || p.Header.Height != height {
		return nil, nil, e.invalid(fmt.Errorf("%s %d: the proof is of transaction %s in block %d, the answer says %s in block %d", what, n, p.TxID, p.Header.Height, tx, height))
	}
	if r != nil {
		fmt.Fprintf(e.stdout, "ok: consortium %s signed block %d (%d of %d voting power)\n", r.ChainID, r.Height+1, r.Signed, r.Total)
	}
	return p, t, nil
}
