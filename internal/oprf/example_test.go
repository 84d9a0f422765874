package oprf_test

import (
	"bytes"
	"fmt"

	"github.com/epiledger/epiledger/internal/oprf"
)

// A site obtains the pseudonym of an identifier from the node without
// showing it the identifier, and checks the node used the ledger's key.
func Example() {
	// Node: its key, derived from a secret; the public key is on the ledger.
	var secret [oprf.SeedSize]byte // in practice, from the node's key store
	sk, err := oprf.DeriveKeyPair(secret, []byte("epiledger pseudonyms v1"), oprf.ModeVOPRF)
	if err != nil {
		panic(err)
	}
	onLedger := sk.Public().Bytes()

	// Site: blind the identifier it read.
	id := []byte("national id 1234567")
	blind, blinded, err := oprf.BlindInput(nil, id, oprf.ModeVOPRF)
	if err != nil {
		panic(err)
	}

	// Node: evaluate (after its rate limit), with a proof.
	evaluated, proof, err := sk.BlindEvaluate(nil, [][]byte{blinded})
	if err != nil {
		panic(err)
	}

	// Site: check the proof against the ledger's key, and unblind.
	pub, err := oprf.ParsePublicKey(onLedger)
	if err != nil {
		panic(err)
	}
	out, err := oprf.FinalizeVerify(pub, [][]byte{id}, []*oprf.Blind{blind}, [][]byte{blinded}, evaluated, proof)
	if err != nil {
		panic(err)
	}

	// Node: the same pseudonym, computed directly.
	direct, err := sk.Evaluate(id)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(out[0]), bytes.Equal(out[0], direct))
	// Output: 64 true
}
