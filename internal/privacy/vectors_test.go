package privacy

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.txt")

// knownAnswers pins every derivation a stored or published value depends
// on (the Pedersen generators of a universe, a visit's point, a risk
// token, the upload-signing and share-key contexts), so that a change to a
// label or an encoding cannot pass unnoticed: commitments already on the
// ledger and risk tokens already published would stop matching.
func knownAnswers() string {
	var b strings.Builder
	u := sha256.Sum256([]byte("epiledger test universe"))
	gs := NewGenerators(u, 3)
	fmt.Fprintf(&b, "pedersen h       %x\n", encodeElement(&gs.h))
	for i := range gs.g {
		fmt.Fprintf(&b, "pedersen g[%d]    %x\n", i, encodeElement(&gs.g[i]))
	}
	v := Visit{Site: "shop-1", Slot: 1579478400}
	fmt.Fprintf(&b, "psi visit point  %x\n", encodeElement(v.point()))
	k, _ := scalar.NewFromBytesModOrder(append([]byte{7}, make([]byte, 31)...))
	rk := riskKey(k)
	fmt.Fprintf(&b, "psi key 7 public %x\n", rk.Public())
	fmt.Fprintf(&b, "psi key 7 token  %x\n", rk.Tokens([]Visit{v}))
	p := &Params{Session: "known-answer-1", Op: Union, Universe: u, Places: 3, Participants: 2, Shares: 2}
	fmt.Fprintf(&b, "share context    %x\n", shareAD(p, 0, 1))
	beta := make([]scalar.Scalar, 1)
	expandMask(p, 0, 1, make([]byte, 32), beta)
	fmt.Fprintf(&b, "mask 0->1 seed 0 %x\n", encodeScalar(&beta[0]))
	fmt.Fprintf(&b, "upload message   %x\n", sha256.Sum256(uploadMessage(p, 1, []byte("vector"))))
	return b.String()
}

func TestKnownAnswers(t *testing.T) {
	t.Parallel()
	got := knownAnswers()
	if *update {
		if err := os.WriteFile("testdata/vectors.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("derivations changed (run go test -run KnownAnswers -update only if that is intended):\ngot:\n%s\nwant:\n%s", got, want)
	}
	// Cross-check with RFC 9496, appendix A.1: the public key of the
	// secret 7 is 7 * B.
	if !strings.Contains(got, "psi key 7 public 44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d") {
		t.Error("7 * B differs from RFC 9496's vector")
	}
	if strings.Contains(got, hex.EncodeToString(make([]byte, 32))) {
		t.Error("an identity among the derived elements")
	}
}
