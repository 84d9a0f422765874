package blocks_test

import "github.com/epiledger/epiledger/internal/ledger"

func decode(raw []byte) (ledger.Hash, error) {
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		return ledger.Hash{}, err
	}
	return tx.ID(), nil
}
