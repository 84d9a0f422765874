package oprf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
)

// RFC 9496 Appendix A.1: the encodings of 0*B .. 15*B. The first is the
// identity. As in github.com/gtank/ristretto255 ristretto255_test.go
// (commit 0b5e1eb0545a62c33d7187b4eab6b869b904a21f).
var generatorMultiples = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
	"6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
	"94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
	"da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
	"e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
	"f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
	"44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
	"903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
	"02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031",
	"20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f",
	"bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42",
	"e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460",
	"aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f",
	"46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e",
	"e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e",
}

// RFC 9496 Appendix A.2: encodings every decoder must reject. As in
// github.com/gtank/ristretto255 ristretto255_test.go (commit above) and,
// identically, curve25519-voi's curve/ristretto_vectors_test.go.
var badEncodings = []struct{ why, hex string }{
	{"non-canonical field encoding", "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
	{"non-canonical field encoding", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	{"non-canonical field encoding", "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	{"non-canonical field encoding", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	{"negative field element", "0100000000000000000000000000000000000000000000000000000000000000"},
	{"negative field element", "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	{"negative field element", "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20"},
	{"negative field element", "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562"},
	{"negative field element", "c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78"},
	{"negative field element", "47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24"},
	{"negative field element", "f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72"},
	{"negative field element", "87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309"},
	{"non-square x^2", "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371"},
	{"non-square x^2", "4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f"},
	{"non-square x^2", "de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b"},
	{"non-square x^2", "bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042"},
	{"non-square x^2", "2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08"},
	{"non-square x^2", "f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22"},
	{"non-square x^2", "8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731"},
	{"non-square x^2", "2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b"},
	{"negative xy", "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e"},
	{"negative xy", "a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220"},
	{"negative xy", "d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e"},
	{"negative xy", "8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32"},
	{"negative xy", "32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b"},
	{"negative xy", "227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165"},
	{"negative xy", "5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e"},
	{"negative xy", "445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b"},
	{"s = -1, so y = 0", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeElement(t *testing.T) {
	base := mustHex(t, generatorMultiples[1])
	type tc struct {
		name string
		in   []byte
		want error // nil: decodes, and re-encodes to the input
	}
	cases := []tc{
		{"empty", nil, ErrLength},
		{"31 bytes", base[:31], ErrLength},
		{"33 bytes", append(bytes.Clone(base), 0), ErrLength},
		{"64 bytes", append(bytes.Clone(base), base...), ErrLength},
		{"identity", make([]byte, 32), ErrIdentity},
	}
	for i, g := range generatorMultiples[1:] {
		cases = append(cases, tc{fmt.Sprintf("%d*B", i+1), mustHex(t, g), nil})
	}
	for _, b := range badEncodings {
		cases = append(cases, tc{b.why + " " + b.hex[:8], mustHex(t, b.hex), ErrEncoding})
	}
	for _, c := range cases {
		p, err := decodeElement(c.in)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if !bytes.Equal(encodeElement(p), c.in) {
				t.Errorf("%s: re-encodes to %x", c.name, encodeElement(p))
			}
			continue
		}
		if !errors.Is(err, c.want) || p != nil {
			t.Errorf("%s: got %v, %v; want %v", c.name, p, err, c.want)
		}
		// The public decoders and entry points refuse it alike.
		if _, err := ParsePublicKey(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: ParsePublicKey: %v, want %v", c.name, err, c.want)
		}
	}
}

// Bad elements are refused wherever they enter, with their position named.
func TestEntryPointsRefuseBadElements(t *testing.T) {
	sk, err := GenerateKey(nil, ModeVOPRF)
	if err != nil {
		t.Fatal(err)
	}
	blind, good, err := BlindInput(nil, []byte("x"), ModeVOPRF)
	if err != nil {
		t.Fatal(err)
	}
	evaluated, proof, err := sk.BlindEvaluate(nil, [][]byte{good})
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"identity":      make([]byte, 32),
		"non-canonical": mustHex(t, badEncodings[0].hex),
		"short":         good[:31],
	}
	for name, b := range bad {
		if _, _, err := sk.BlindEvaluate(nil, [][]byte{good, b}); err == nil {
			t.Errorf("BlindEvaluate accepted a %s element", name)
		} else if want := "blinded element 1: "; !bytes.HasPrefix([]byte(err.Error()), []byte(want)) {
			t.Errorf("BlindEvaluate error %q does not start with %q", err, want)
		}
		if _, err := Finalize([]byte("x"), blind, b); err == nil {
			t.Errorf("Finalize accepted a %s element", name)
		}
		if _, err := FinalizeVerify(sk.Public(), [][]byte{[]byte("x")}, []*Blind{blind}, [][]byte{good}, [][]byte{b}, proof); err == nil {
			t.Errorf("FinalizeVerify accepted a %s evaluated element", name)
		}
		if _, err := FinalizeVerify(sk.Public(), [][]byte{[]byte("x")}, []*Blind{blind}, [][]byte{b}, evaluated, proof); err == nil {
			t.Errorf("FinalizeVerify accepted a %s blinded element", name)
		}
	}
}

// L, the group order, little-endian.
const orderHex = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"

func TestDecodeScalars(t *testing.T) {
	order := mustHex(t, orderHex)
	orderMinus1 := bytes.Clone(order)
	orderMinus1[0]--
	orderPlus1 := bytes.Clone(order)
	orderPlus1[0]++
	high := bytes.Repeat([]byte{0xff}, 32)
	one := make([]byte, 32)
	one[0] = 1

	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrLength},
		{"31 bytes", one[:31], ErrLength},
		{"33 bytes", append(bytes.Clone(one), 0), ErrLength},
		{"zero", make([]byte, 32), ErrScalar},
		{"L", order, ErrScalar},
		{"L+1", orderPlus1, ErrScalar},
		{"2^256-1", high, ErrScalar},
		{"one", one, nil},
		{"L-1", orderMinus1, nil},
	}
	for _, c := range cases {
		for _, m := range []Mode{ModeOPRF, ModeVOPRF} {
			sk, err := ParsePrivateKey(m, c.in)
			if !errors.Is(err, c.want) || (c.want == nil && !bytes.Equal(sk.Bytes(), c.in)) {
				t.Errorf("ParsePrivateKey(%v, %s): %v, want %v", m, c.name, err, c.want)
			}
		}
		b, err := ParseBlind(c.in)
		if !errors.Is(err, c.want) || (c.want == nil && !bytes.Equal(b.Bytes(), c.in)) {
			t.Errorf("ParseBlind(%s): %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := ParsePrivateKey(Mode(2), one); !errors.Is(err, ErrMode) {
		t.Errorf("ParsePrivateKey(POPRF mode): %v, want ErrMode", err)
	}
}
