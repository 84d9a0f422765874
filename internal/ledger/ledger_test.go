package ledger

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
)

func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
}

func sampleTxs() []*Tx {
	ref := PersonRef{Ref: Pseudonym{1, 2, 3}, Alias: true}
	var aliases []Pseudonym
	for i := byte(1); i <= 3; i++ {
		aliases = append(aliases, Pseudonym{i})
	}
	bodies := []Body{
		&RegisterSite{Site: "G1234/05", Kind_: "train_carriage", Name: "G1234 car 5", LatE6: 30590000, LonE6: 114300000, Region: "420100", Parent: "G1234", Key: [32]byte{9}},
		&BindIdentity{Person: Pseudonym{7}, Aliases: aliases},
		&Visit{Site: "G1234/05", Person: ref, In: 1579478400, Out: 1579492800, Via: "id_card", Role: "staff"},
		&Move{Person: PersonRef{Ref: Pseudonym{4}}, From: "a", To: "b", Depart: 10, Arrive: 20, Via: "plate"},
		&Case{Person: ref, Status: "confirmed", Onset: "2020-01-20", Reported: 1579572000, By: "hospital-1"},
		&Publish{Topic: "privacy/result", Payload: []byte(`{"op":"union","result":["u1"]}`)},
		&CommitRoot{Scheme: "places-v1", Period: 1579478400, Count: 20, Root: Hash{5}},
		&CloseWindows{Until: 1579600000},
		&Correction{Target: Hash{1}, Action: ActionAmend, In: 10, Out: 20, Site: "s", Reason: "lent card"},
		&Approval{Correction: Hash{2}},
		&ValidatorChange{Org: "transport", Key: [32]byte{7}, Power: 10, Reason: "joins"},
		&RegisterSite{Site: "G1234", Kind_: "train", LatE6: 30590000, LonE6: 114300000, Key: [32]byte{8}, Route: &Route{30610000, 114420000, 31250000, 121460000}},
		&Encounter{Device: "tag-7", A: PersonRef{Ref: Pseudonym{1}}, B: ref, Start: 1579478400, Duration: 140, DistanceCM: 150},
	}
	bodies = append(bodies, &GrantRole{Key: [32]byte{3}, Role: RoleInvestigator, Name: "CDC Wuhan 17"},
		&Audit{Caller: [32]byte{3}, Role: RoleInvestigator, Case: "case-2020-0117", Purpose: "contact tracing", Route: "POST /v1/trace/contacts",
			Person: Pseudonym{4}, From: 1, To: 2, Request: Hash{5}, Time: 1579500000},
		&RegisterChild{ChainID: "wuhan-jiangan", Region: "420102", Genesis: Hash{6}, Engine: EngineSolo, Authority: [32]byte{7}},
		&RegisterParent{RegisterChild{ChainID: "hubei-1", Region: "420000", Genesis: Hash{6}, Engine: EngineSolo, Authority: [32]byte{7}}},
		AnchorOf(&Header{Version: 1, Height: 12, PrevHash: Hash{8}, MerkleRoot: Hash{9}, Time: 1579500000e9, ChainID: "wuhan-jiangan",
			Region: "420102", NumTxs: 3, TxBytes: 900, StateHash: Hash{10}}),
		&AccessRequest{Scope: sampleScope(), Reason: "the Lukou cluster reaches Yangzhou"},
		&AccessGrant{Request: Hash{11}, Grantee: [32]byte{12}, Scope: sampleScope(), Expires: 1579600000},
		&IntelSummary{From: "nanjing-1", Header: []byte{1, 2}, Tx: []byte{3}, Index: 1, Size: 2, Path: []Hash{{15}}, Links: [][]byte{{4}, {5, 6}}},
		&IntelSummaryBFT{From: "nanjing-1", Tx: []byte{3}, Header: []byte{1, 2}, Index: 1, Total: 3, TxPath: []Hash{{15}, {16}},
			Bundle: []byte{0xB5, 0, 2}, Member: 1, ResultData: []byte{0, 0}, ResultPath: []Hash{{17}}, Links: [][]byte{{4}}},
		&AccessRevoke{Grant: Hash{18}, Reason: "the investigation is closed"},
		&RegisterDoctor{Key: [32]byte{19}, Unit: "320115-jiangning-hospital"},
		&ReportCard{CardFields: sampleCard()},
		&ReportCard{CardFields: placed(Cell{3059, 11430}, true)},
		&CardReview{Card: Hash{20}, Prev: Hash{20}, Action: ReviewVerified},
		&CardReview{Card: Hash{20}, Prev: Hash{21}, Action: ReviewRevised, Reason: "laboratory result", Fields: sampleCard()},
		&WarningRule{Name: "pneumonia-3-in-7", Disease: "pneumonia-unknown", Method: RuleThreshold, Cases: 3, Days: 7, Level: 2, Active: true},
		spaceTime(2000),
		&AlertAction{Alert: Hash{23}, Action: AlertVerify, Assignee: [32]byte{24}, Note: "to the Jianghan CDC"},
		&PublishStats{Disease: "pneumonia-unknown", Region: "420106", Day: 18281, Suspected: 2, Confirmed: 1, Version: 1, Last: Hash{25}},
		&SupplyEvent{Step: StepCommission, Items: []SupplyItem{{GTIN: "10614141073464", Serial: "2017", Lot: "L1", Qty: 1},
			{GTIN: "10614141073464", Lot: "L1", Qty: 5000}}, Time: 1579500000, Expiry: "2025-01-31", Standard: "GB 19083-2010", Certificate: "国械注准20203140001"},
		&SupplyEvent{Step: StepShip, Items: []SupplyItem{{GTIN: "10614141073464", Lot: "L1", Qty: 3000}}, Time: 1579500001, To: [32]byte{26}},
		&SupplyEvent{Step: StepReceive, Time: 1579500002, Offer: Hash{27}},
		&SupplyNeed{GTIN: "10614141073464", Units: 100000, Urgency: "critical", FeverClinic: true, Time: 1579500003},
		&DonationPledge{Charity: [32]byte{28}, Name: "A well-wisher", Amount: 100_000, Goods: []Goods{{GTIN: "10614141073464", Units: 5000}},
			Purpose: "N95 for fever clinics", Time: 1579500004, Nonce: 7},
		&DonationStep{Step: DonationAllocate, Pledge: Hash{29}, Shipment: Hash{30}, Time: 1579500005},
		&Attestation{Content: Hash{28}, Kind_: AttestNews, Source: "https://weibo.com/1234567890/4462468883439456", Time: 1577808000, By: [32]byte{29}})
	var out []*Tx
	for i, b := range bodies {
		t := NewTx(b)
		for s := 0; s < b.Signers(); s++ {
			t.Sign("test-chain", key(byte(i*2+s+1)))
		}
		out = append(out, t)
	}
	return out
}

func sampleCard() CardFields {
	return CardFields{Disease: "pneumonia-unknown", Class: "suspected", Onset: "2020-01-18", Patient: Pseudonym{22}, AgeBand: 11, Sex: "f", Home: "420102"}
}

func sampleScope() AccessScope {
	return AccessScope{Chains: []string{"yangzhou-1"}, Reads: []string{"intel", "trace"}, Records: []Hash{{13}},
		Dimensions: []string{"epidemic"}, Persons: []Pseudonym{{14}}, From: 1579478400, To: 1579600000}
}

func TestTxRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tx := range sampleTxs() {
		t.Run(tx.Body.Kind().String(), func(t *testing.T) {
			raw := tx.Bytes()
			got, err := DecodeTx(raw)
			if err != nil {
				t.Fatalf("DecodeTx: %v", err)
			}
			if !bytes.Equal(got.Bytes(), raw) {
				t.Fatal("decode then encode changed the bytes")
			}
			if got.ID() != tx.ID() {
				t.Fatal("id changed")
			}
			if err := got.VerifySigs("test-chain"); err != nil {
				t.Fatalf("VerifySigs: %v", err)
			}
			if err := got.VerifySigs("other-chain"); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("signature verified on another chain: %v", err)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	visit := sampleTxs()[2].Bytes()
	bind := sampleTxs()[1]
	// Aliases out of order are not canonical.
	b := bind.Body.(*BindIdentity)
	unsorted := NewTx(&BindIdentity{Person: b.Person, Aliases: []Pseudonym{b.Aliases[1], b.Aliases[0]}})
	unsorted.Sign("c", key(1))
	badFlag := append([]byte(nil), visit...)
	// The alias flag of a visit sits after version, kind, length, site string and ref.
	flagAt := 1 + 1 + 4 + 2 + len("G1234/05") + 32
	badFlag[flagAt] = 2
	cases := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"version", append([]byte{2}, visit[1:]...)},
		{"kind", append([]byte{1, 99}, visit[2:]...)},
		{"trailing byte", append(append([]byte(nil), visit...), 0)},
		{"truncated", visit[:len(visit)-1]},
		{"missing signature", append(append([]byte(nil), visit[:len(visit)-97]...), 0)},
		{"unsorted aliases", unsorted.Bytes()},
		{"alias flag 2", badFlag},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if tx, err := DecodeTx(c.in); err == nil || tx != nil || !errors.Is(err, ErrNonCanonical) {
				t.Fatalf("DecodeTx = %v, %v; want nil, ErrNonCanonical", tx, err)
			}
		})
	}
}

func TestVerifyAllNamesBadOnes(t *testing.T) {
	t.Parallel()
	var txs []*Tx
	for i := 0; i < 200; i++ {
		tx := NewTx(&Visit{Site: "s", Person: PersonRef{Ref: Pseudonym{byte(i)}}, In: int64(i), Out: int64(i + 1)})
		tx.Sign("c", key(byte(i%7+1)))
		txs = append(txs, tx)
	}
	bad := map[int]bool{3: true, 64: true, 199: true}
	for i := range bad {
		txs[i].Sigs[0].Sig[10] ^= 1
	}
	errs := VerifyAll("c", txs)
	for i, err := range errs {
		if bad[i] != (err != nil) {
			t.Errorf("tx %d: err = %v, bad = %v", i, err, bad[i])
		}
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	h := &Header{Version: BlockVersion, Height: 7, PrevHash: Hash{1}, MerkleRoot: Hash{2}, Time: 123456789, ChainID: "c", Region: "420100", NumTxs: 3, TxBytes: 99, StateHash: Hash{3}}
	got, err := DecodeHeader(h.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if *got != *h || got.Hash() != h.Hash() {
		t.Fatalf("round trip: got %+v", got)
	}
	if _, err := DecodeHeader(append(h.Bytes(), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

// TestMerkle checks roots against transparency-dev's RFC 6962 hasher built
// by a different method (its compact range) and every inclusion path
// against its verifier, for every size up to 70.
func TestMerkle(t *testing.T) {
	t.Parallel()
	if MerkleRoot(nil) != Hash(rfc6962.DefaultHasher.EmptyRoot()) {
		t.Fatal("empty root")
	}
	for n := 1; n <= 70; n++ {
		var txs [][]byte
		var leaves []Hash
		for i := 0; i < n; i++ {
			txs = append(txs, []byte(fmt.Sprintf("tx %d", i)))
			leaves = append(leaves, LeafHash(txs[i]))
		}
		root := MerkleRoot(leaves)
		if want := referenceRoot(leaves); root != want {
			t.Fatalf("n=%d: root %x, reference %x", n, root, want)
		}
		for i := 0; i < n; i++ {
			path, err := InclusionPath(i, leaves)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(txs[i], uint64(i), uint64(n), path, root); err != nil {
				t.Fatalf("n=%d i=%d: %v", n, i, err)
			}
			if err := VerifyInclusion([]byte("other"), uint64(i), uint64(n), path, root); err == nil {
				t.Fatalf("n=%d i=%d: proof verified for other bytes", n, i)
			}
		}
	}
}

// TestMerkleTree: the tree kept whole gives the root and every audit
// path that MerkleRoot and InclusionPath give, for every size up to 70
// and around powers of two up to 300, and every leaf, and refuses leaves
// out of range; a path built from the tree of a leaf's 2^k neighbours
// and the tree above them (Above) is the same path, for every k.
func TestMerkleTree(t *testing.T) {
	t.Parallel()
	var leaves []Hash
	for n := 1; n <= 300; n++ {
		leaves = append(leaves, LeafHash([]byte(fmt.Sprintf("tx %d", n))))
		if n > 70 && !slices.Contains([]int{127, 128, 129, 255, 256, 257, 300}, n) {
			continue
		}
		tr := NewMerkleTree(slices.Clone(leaves))
		if tr.Size() != n || tr.Root() != MerkleRoot(leaves) {
			t.Fatalf("n=%d: size %d, root %x, MerkleRoot %x", n, tr.Size(), tr.Root(), MerkleRoot(leaves))
		}
		for i := range n {
			got, err := tr.Path(i)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := InclusionPath(i, leaves)
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d i=%d: path %x, InclusionPath %x", n, i, got, want)
			}
			// Above(k): the path among the leaf's 2^k, then the path
			// above them.
			for k := 1; k < tr.Levels(); k++ {
				lo := i >> k << k
				below, _ := NewMerkleTree(slices.Clone(leaves[lo:min(lo+1<<k, n)])).Path(i - lo)
				above, _ := tr.Above(k).Path(i >> k)
				if got := append(below, above...); !slices.Equal(got, want) || tr.Above(k).Root() != tr.Root() {
					t.Fatalf("n=%d k=%d i=%d: path %x, InclusionPath %x", n, k, i, got, want)
				}
			}
		}
		for _, i := range []int{-1, n} {
			if _, err := tr.Path(i); err == nil {
				t.Fatalf("n=%d: leaf %d accepted", n, i)
			}
		}
	}
}

// referenceRoot is RFC 6962's MTH written as the stack-based fold, a
// different algorithm from the recursive split.
func referenceRoot(leaves []Hash) Hash {
	type node struct {
		h     []byte
		level int
	}
	var st []node
	for i, l := range leaves {
		st = append(st, node{l[:], 0})
		for j := i + 1; j%2 == 0; j /= 2 {
			a, b := st[len(st)-2], st[len(st)-1]
			st = append(st[:len(st)-2], node{rfc6962.DefaultHasher.HashChildren(a.h, b.h), a.level + 1})
		}
	}
	for len(st) > 1 {
		a, b := st[len(st)-2], st[len(st)-1]
		st = append(st[:len(st)-2], node{rfc6962.DefaultHasher.HashChildren(a.h, b.h), a.level + 1})
	}
	return Hash(st[0].h)
}

// FuzzDecodeTx: whatever decodes re-encodes to exactly the input
// (canonical), and a failed decode returns nothing usable.
func FuzzDecodeTx(f *testing.F) {
	for _, tx := range sampleTxs() {
		f.Add(tx.Bytes())
		if len(tx.Sigs) > 1 {
			one := *tx
			one.Sigs, one.raw = tx.Sigs[:1], nil
			f.Add(one.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// DecodePartial (a pledge awaiting its charity's signature) reads
		// the same envelopes and those with fewer signatures, no others.
		partial, perr := DecodePartial(b)
		tx, err := DecodeTx(b)
		if err == nil && (perr != nil || partial.ID() != tx.ID()) {
			t.Fatal("a whole transaction DecodePartial does not read as DecodeTx does")
		}
		if perr == nil && (len(partial.Sigs) == 0 || len(partial.Sigs) > partial.Body.Signers() || !bytes.Equal(partial.Bytes(), b)) {
			t.Fatal("DecodePartial read an envelope it must refuse, or not canonically")
		}
		if err != nil {
			if tx != nil {
				t.Fatal("error with a transaction")
			}
			return
		}
		if !bytes.Equal(tx.Bytes(), b) {
			t.Fatal("not canonical: re-encoding differs")
		}
		re := NewTx(tx.Body)
		re.Sigs = tx.Sigs
		if !bytes.Equal(re.Bytes(), b) {
			t.Fatal("body re-encoding differs")
		}
	})
}

// FuzzDecodeHeader: canonical round trip for headers.
func FuzzDecodeHeader(f *testing.F) {
	f.Add((&Header{Version: 1, Height: 1, ChainID: "c"}).Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			return
		}
		if !bytes.Equal(h.Bytes(), b) {
			t.Fatal("not canonical")
		}
	})
}

// FuzzDecodePersonBlock: what decodes re-encodes to exactly the input,
// as a whole block and as a header alone.
func FuzzDecodePersonBlock(f *testing.F) {
	pb := &PersonBlock{Version: PersonBlockVersion, Person: Pseudonym{1}, Seq: 3, WindowStart: 10, WindowEnd: 20,
		PrevHash: Hash{2}, Count: 2, Height: 7, Entries: []Hash{{3}, {4}}}
	pb.EntryRoot = EntriesRoot(pb.Entries)
	f.Add(pb.Bytes())
	f.Add(pb.HeaderBytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := DecodePersonBlockHeader(b); err != nil {
			if h != nil {
				t.Fatal("error with a header")
			}
		} else if !bytes.Equal(h.HeaderBytes(), b) || h.Entries != nil {
			t.Fatal("header not canonical")
		}
		got, err := DecodePersonBlock(b)
		if err != nil {
			if got != nil {
				t.Fatal("error with a block")
			}
			return
		}
		if !bytes.Equal(got.Bytes(), b) {
			t.Fatal("not canonical")
		}
	})
}

// TestHashesMatchRFC6962: the leaf hash, written here without
// allocating, equals transparency-dev's RFC 6962 leaf hash for every
// length around the stack buffer's size.
func TestHashesMatchRFC6962(t *testing.T) {
	t.Parallel()
	data := make([]byte, 1100)
	for i := range data {
		data[i] = byte(i*7 + 3)
	}
	for _, n := range []int{0, 1, 31, 32, 33, 200, 509, 510, 511, 512, 513, 1024, 1100} {
		want := rfc6962.DefaultHasher.HashLeaf(data[:n])
		if got := LeafHash(data[:n]); !bytes.Equal(got[:], want) {
			t.Errorf("LeafHash of %d bytes = %x, want %x", n, got, want)
		}
	}
	a, b := LeafHash([]byte("a")), LeafHash([]byte("b"))
	if got, want := hashChildren(&a, &b), rfc6962.DefaultHasher.HashChildren(a[:], b[:]); !bytes.Equal(got[:], want) {
		t.Errorf("hashChildren = %x, want %x", got, want)
	}
}

// TestAnchorCarriesHeader: an anchor gives back the header it was made
// of, with the same hash.
func TestAnchorCarriesHeader(t *testing.T) {
	h := Header{Version: 1, Height: 7, PrevHash: Hash{1}, MerkleRoot: Hash{2}, Time: 1579500000123456789, ChainID: "wuhan-jiangan",
		Region: "420102", NumTxs: 4, TxBytes: 1234, StateHash: Hash{3}}
	got := AnchorOf(&h).Header()
	if got != h || got.Hash() != h.Hash() {
		t.Errorf("anchor's header %+v, want %+v", got, h)
	}
}
