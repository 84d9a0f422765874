package oprf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// RFC 9380 Appendix K.3, expand_message_xmd(SHA-512) with
// DST = "QUUX-V01-CS02-with-expander-SHA512-256": all ten vectors, as in
// github.com/cfrg/draft-irtf-cfrg-hash-to-curve,
// poc/vectors/expand_message_xmd_SHA512_38.json at commit
// 664b13592116cecc9e52fb192dcde0ade36f904e (the RFC's source; the first
// three values also appear in other public implementations' tests).
func TestExpandMessageXMDSHA512(t *testing.T) {
	const dst = "QUUX-V01-CS02-with-expander-SHA512-256"
	q128 := "q128_" + strings.Repeat("q", 128)
	a512 := "a512_" + strings.Repeat("a", 512)
	vectors := []struct {
		msg     string
		n       int
		uniform string
	}{
		{"", 32, "" +
			"6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"},
		{"abc", 32, "" +
			"0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"},
		{"abcdef0123456789", 32, "" +
			"087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58"},
		{q128, 32, "" +
			"7336234ee9983902440f6bc35b348352013becd88938d2afec44311caf8356b3"},
		{a512, 32, "" +
			"57b5f7e766d5be68a6bfe1768e3c2b7f1228b3e4b3134956dd73a59b954c66f4"},
		{"", 128, "" +
			"41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921" +
			"b052b62eaed99b46f72f2ef4cc96bfaf254ebbbec091e1a3b9e4fb5e5b619d2e" +
			"0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7e" +
			"b00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961"},
		{"abc", 128, "" +
			"7f1dddd13c08b543f2e2037b14cefb255b44c83cc397c1786d975653e36a6b11" +
			"bdd7732d8b38adb4a0edc26a0cef4bb45217135456e58fbca1703cd6032cb134" +
			"7ee720b87972d63fbf232587043ed2901bce7f22610c0419751c065922b48843" +
			"1851041310ad659e4b23520e1772ab29dcdeb2002222a363f0c2b1c972b3efe1"},
		{"abcdef0123456789", 128, "" +
			"3f721f208e6199fe903545abc26c837ce59ac6fa45733f1baaf0222f8b7acb04" +
			"24814fcb5eecf6c1d38f06e9d0a6ccfbf85ae612ab8735dfdf9ce84c372a77c8" +
			"f9e1c1e952c3a61b7567dd0693016af51d2745822663d0c2367e3f4f0bed827f" +
			"eecc2aaf98c949b5ed0d35c3f1023d64ad1407924288d366ea159f46287e61ac"},
		{q128, 128, "" +
			"b799b045a58c8d2b4334cf54b78260b45eec544f9f2fb5bd12fb603eaee70db7" +
			"317bf807c406e26373922b7b8920fa29142703dd52bdf280084fb7ef69da78af" +
			"df80b3586395b433dc66cde048a258e476a561e9deba7060af40adf30c64249c" +
			"a7ddea79806ee5beb9a1422949471d267b21bc88e688e4014087a0b592b695ed"},
		{a512, 128, "" +
			"05b0bfef265dcee87654372777b7c44177e2ae4c13a27f103340d9cd11c86cb2" +
			"426ffcad5bd964080c2aee97f03be1ca18e30a1f14e27bc11ebbd650f305269c" +
			"c9fb1db08bf90bfc79b42a952b46daf810359e7bc36452684784a64952c343c5" +
			"2e5124cd1f71d474d5197fefc571a92929c9084ffe1112cf5eea5192ebff330b"},
	}
	for i, v := range vectors {
		got, err := expandMessageXMD([]byte(dst), v.n, []byte(v.msg))
		if err != nil {
			t.Fatalf("#%d: %v", i, err)
		}
		if hex.EncodeToString(got) != v.uniform {
			t.Errorf("#%d (msg %.8q, %d bytes): got %x, want %s", i, v.msg, v.n, got, v.uniform)
		}
		// The message may come in pieces: the result is that of the concatenation.
		if len(v.msg) > 2 {
			split, err := expandMessageXMD([]byte(dst), v.n, []byte(v.msg[:1]), nil, []byte(v.msg[1:]))
			if err != nil || !bytes.Equal(split, got) {
				t.Errorf("#%d: split message gives %x, %v", i, split, err)
			}
		}
	}
}

func TestExpandMessageXMDLimits(t *testing.T) {
	dst := []byte("QUUX-V01-CS02-with-expander-SHA512-256")
	for _, n := range []int{0, -1, 255*64 + 1, 1 << 16} {
		if _, err := expandMessageXMD(dst, n, nil); !errors.Is(err, ErrLength) {
			t.Errorf("len_in_bytes %d: err = %v, want ErrLength", n, err)
		}
	}
	if out, err := expandMessageXMD(dst, 255*64, nil); err != nil || len(out) != 255*64 {
		t.Errorf("len_in_bytes 255*64: %d bytes, %v", len(out), err)
	}
	if _, err := expandMessageXMD(make([]byte, 256), 64, nil); !errors.Is(err, ErrLength) {
		t.Errorf("256-byte DST: err = %v, want ErrLength", err)
	}
}

// RFC 9496 Appendix A.3: the one-way map from 64 uniform bytes, the last
// four inputs all mapping to the same element. Copied from
// github.com/oasisprotocol/curve25519-voi curve/ristretto_vectors_test.go
// (module version v0.0.0-20230904125328-1f23a7beb09a, from the draft that
// became RFC 9496); the seven outputs also appear in
// github.com/gtank/ristretto255 ristretto255_test.go, whose inputs are
// the SHA-512 hashes of seven sentences.
func TestMapToGroupRFC9496(t *testing.T) {
	same := "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f"
	vectors := []struct{ in, out string }{
		{"5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c1" +
			"4d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6",
			"3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46"},
		{"f116b34b8f17ceb56e8732a60d913dd10cce47a6d53bee9204be8b44f6678b27" +
			"0102a56902e2488c46120e9276cfe54638286b9e4b3cdb470b542d46c2068d38",
			"f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b"},
		{"8422e1bbdaab52938b81fd602effb6f89110e1e57208ad12d9ad767e2e25510c" +
			"27140775f9337088b982d83d7fcf0b2fa1edffe51952cbe7365e95c86eaf325c",
			"006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826"},
		{"ac22415129b61427bf464e17baee8db65940c233b98afce8d17c57beeb7876c2" +
			"150d15af1cb1fb824bbd14955f2b57d08d388aab431a391cfc33d5bafb5dbbaf",
			"f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a"},
		{"165d697a1ef3d5cf3c38565beefcf88c0f282b8e7dbd28544c483432f1cec767" +
			"5debea8ebb4e5fe7d6f6e5db15f15587ac4d4d4a1de7191e0c1ca6664abcc413",
			"ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179"},
		{"a836e6c9a9ca9f1e8d486273ad56a78c70cf18f0ce10abb1c7172ddd605d7fd2" +
			"979854f47ae1ccf204a33102095b4200e5befc0465accc263175485f0e17ea5c",
			"e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628"},
		{"2cdc11eaeb95daf01189417cdddbf95952993aa9cb9c640eb5058d09702c7462" +
			"2c9965a697a3b345ec24ee56335b556e677b30e6f90ac77d781064f866a3c982",
			"80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065"},
		{"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" +
			"1200000000000000000000000000000000000000000000000000000000000000", same},
		{"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" +
			"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", same},
		{"0000000000000000000000000000000000000000000000000000000000000080" +
			"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", same},
		{"0000000000000000000000000000000000000000000000000000000000000000" +
			"1200000000000000000000000000000000000000000000000000000000000080", same},
	}
	for i, v := range vectors {
		in, _ := hex.DecodeString(v.in)
		p, err := mapToGroup(in)
		if err != nil {
			t.Fatalf("#%d: %v", i, err)
		}
		if got := hex.EncodeToString(encodeElement(p)); got != v.out {
			t.Errorf("#%d: got %s, want %s", i, got, v.out)
		}
	}
	if _, err := mapToGroup(make([]byte, 63)); !errors.Is(err, ErrLength) {
		t.Errorf("63 bytes: err = %v, want ErrLength", err)
	}
}

// hash_to_ristretto255 itself (RFC 9380 Appendix B: expand_message_xmd
// then the map) has no published vectors of its own; the RFC 9497
// BlindedElement vectors exercise it under both modes' DSTs. This checks
// the composition and that the modes' tags differ.
func TestHashToGroupComposition(t *testing.T) {
	input := []byte("patient 1")
	for _, m := range []Mode{ModeOPRF, ModeVOPRF} {
		s := suiteOf(m)
		want := "HashToGroup-OPRFV1-" + string(rune(m)) + "-ristretto255-SHA512"
		if string(s.groupDST) != want {
			t.Fatalf("%v: DST %q, want %q", m, s.groupDST, want)
		}
		u, err := expandMessageXMD(s.groupDST, 64, input)
		if err != nil {
			t.Fatal(err)
		}
		p1, _ := mapToGroup(u)
		p2, err := s.hashToGroup(input)
		if err != nil || p1.Equal(p2) != 1 {
			t.Fatalf("%v: hashToGroup != map(expand_message_xmd): %v", m, err)
		}
	}
	a, _ := suiteOf(ModeOPRF).hashToGroup(input)
	b, _ := suiteOf(ModeVOPRF).hashToGroup(input)
	if a.Equal(b) == 1 {
		t.Fatal("the two modes hash an input to the same element")
	}
}
