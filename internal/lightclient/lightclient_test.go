package lightclient_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	cmted "github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/lightclient/lctest"
)

var t0 = time.Date(2021, 7, 20, 0, 0, 0, 0, time.UTC)

func client(c *lctest.Chain) lightclient.Client {
	return lightclient.Client{ChainID: c.ChainID, TrustingPeriod: 14 * 24 * time.Hour, MaxClockDrift: 10 * time.Second}
}

// TestVerify follows a chain whose validators change entirely (A until
// height 4, then A and B at 5, then B from 6 on) and tries every way an
// anchor can lie.
func TestVerify(t *testing.T) {
	a, b := lctest.Keys(4), lctest.Keys(4)
	sets := lctest.Handover(a, b)
	c := lctest.NewChain("nanjing-9a8b7c6d", t0, 12, sets)
	other := lctest.NewChain("suzhou-01020304", t0, 12, sets)
	cl := client(c)
	vals, root := c.Genesis()
	set, err := lightclient.GenesisSet(vals)
	if err != nil || !bytes.Equal(set.Hash(), c.Vals(1).Hash()) {
		t.Fatalf("GenesisSet: %v", err)
	}
	now := c.Time(12).Add(time.Minute)
	verify := func(trusted lightclient.Consensus, an lightclient.Anchor) (lightclient.Consensus, error) {
		return lightclient.Verify(cl, trusted, an, now)
	}
	// Adjacent from the genesis, then non-adjacent within set A.
	c1, err := verify(root, c.Anchor(1, 0))
	if err != nil || c1.Height != 1 || !bytes.Equal(c1.BlockHash, c.Signed(1).Hash()) || !bytes.Equal(c1.AppHash, lctest.AppHash(c.ChainID, 1)) {
		t.Fatalf("header 1: %+v %v", c1, err)
	}
	c3, err := verify(c1, c.Anchor(3, 1))
	if err != nil || c3.Height != 3 || !bytes.Equal(c3.LastBlockHash, c.Signed(2).Hash()) {
		t.Fatalf("header 3 from 1: %+v %v", c3, err)
	}
	// From 3 to 8 the set changed entirely: A signed nothing of 8.
	if _, err := verify(c3, c.Anchor(8, 3)); !errors.Is(err, lightclient.ErrUntrusted) {
		t.Fatalf("header 8 from 3: %v, want ErrUntrusted", err)
	}
	// Through 5 (A and B both sign it: A holds half, over a third) it does.
	c5, err := verify(c3, c.Anchor(5, 3))
	if err != nil {
		t.Fatalf("header 5 from 3: %v", err)
	}
	c8, err := verify(c5, c.Anchor(8, 5))
	if err != nil || !bytes.Equal(c8.NextValidatorsHash, c.Vals(9).Hash()) {
		t.Fatalf("header 8 from 5: %v", err)
	}
	// Adjacent across the change: 5 named B next, so 6 verifies from 5.
	if _, err := verify(c5, c.Anchor(6, 5)); err != nil {
		t.Fatalf("header 6 from 5: %v", err)
	}

	for _, tc := range []struct {
		name    string
		trusted lightclient.Consensus
		anchor  lightclient.Anchor
		want    error
	}{
		{"signed by half of the set", c8, c.SignedBy(9, 8, b[:2]), lightclient.ErrInvalid},
		{"signed by two thirds exactly", c1, c.SignedBy(2, 1, nil), lightclient.ErrInvalid},
		{"signed by none", c8, c.SignedBy(10, 8, nil), lightclient.ErrUntrusted},
		{"another chain's header", c1, other.Anchor(2, 1), lightclient.ErrInvalid},
		{"another chain's header, non-adjacent", c1, other.Anchor(3, 1), lightclient.ErrInvalid},
		{"the old set signs after it left (stale)", c8, c.ForgedBy(10, 8, a, c.Vals(9)), lightclient.ErrUntrusted},
		{"the old set names itself the trusted set (stale)", c8, c.ForgedBy(10, 8, a, c.Vals(1)), lightclient.ErrTrustedSet},
		{"the old set, adjacent", c8, c.ForgedBy(9, 8, a, nil), lightclient.ErrInvalid},
		{"strangers sign", c8, c.ForgedBy(10, 8, lctest.Keys(4), c.Vals(9)), lightclient.ErrUntrusted},
		{"not above the trusted height", c8, c.Anchor(8, 7), lightclient.ErrInvalid},
		{"adjacent with trusted validators", c1, lightclient.Anchor{SignedHeader: c.Anchor(2, 1).SignedHeader, Validators: c.Anchor(2, 1).Validators, TrustedValidators: c.Anchor(3, 1).TrustedValidators}, lightclient.ErrMalformed},
		{"non-adjacent without trusted validators", c1, lightclient.Anchor{SignedHeader: c.Anchor(3, 1).SignedHeader, Validators: c.Anchor(3, 1).Validators}, lightclient.ErrMalformed},
		{"the validators of another height", c8, lightclient.Anchor{SignedHeader: c.Anchor(9, 8).SignedHeader, Validators: c.Anchor(2, 1).Validators}, lightclient.ErrInvalid},
		{"no header", c1, lightclient.Anchor{Validators: c.Anchor(2, 1).Validators}, lightclient.ErrMalformed},
		{"garbage header", c1, lightclient.Anchor{SignedHeader: []byte{0xff, 0xff, 0xff}, Validators: c.Anchor(2, 1).Validators}, lightclient.ErrMalformed},
		{"garbage validators", c1, lightclient.Anchor{SignedHeader: c.Anchor(2, 1).SignedHeader, Validators: []byte{0x0a, 0x02, 0x0a}}, lightclient.ErrMalformed},
	} {
		if _, err := verify(tc.trusted, tc.anchor); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	// Time: "now" is the parent's block time, never a clock.
	if _, err := lightclient.Verify(cl, c1, c.Anchor(2, 1), c.Time(2).Add(-11*time.Second)); !errors.Is(err, lightclient.ErrInvalid) {
		t.Errorf("a header from the parent's future: %v", err)
	}
	if _, err := lightclient.Verify(cl, c1, c.Anchor(2, 1), c.Time(1).Add(15*24*time.Hour)); !errors.Is(err, lightclient.ErrExpired) {
		t.Errorf("a trusted header older than the trusting period: %v", err)
	}
}

// TestGenesisSet refuses what CometBFT would not start with.
func TestGenesisSet(t *testing.T) {
	k := lctest.Keys(2)
	var v0, v1 lightclient.Validator
	copy(v0.Key[:], k[0].PubKey().Bytes())
	copy(v1.Key[:], k[1].PubKey().Bytes())
	v0.Power, v1.Power = 10, 10
	for name, vals := range map[string][]lightclient.Validator{
		"none":     nil,
		"a repeat": {v0, v0},
		"no power": {v0, {Key: v1.Key}},
	} {
		if _, err := lightclient.GenesisSet(vals); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := lightclient.GenesisSet([]lightclient.Validator{v0, v1}); err != nil {
		t.Fatal(err)
	}
}

// FuzzVerify: no input makes Verify panic, and whatever it accepts
// verifies again (it is a function of its inputs only).
func FuzzVerify(f *testing.F) {
	keys := lctest.Keys(1)
	c := lctest.NewChain("fuzz-00000000", t0, 4, func(int64) []cmted.PrivKey { return keys })
	_, root := c.Genesis()
	for _, an := range []lightclient.Anchor{c.Anchor(1, 0), c.Anchor(3, 0)} {
		f.Add(an.SignedHeader, an.Validators, an.TrustedValidators)
	}
	cl := client(c)
	now := c.Time(4)
	f.Fuzz(func(t *testing.T, sh, vals, trusted []byte) {
		an := lightclient.Anchor{SignedHeader: sh, Validators: vals, TrustedValidators: trusted}
		got, err := lightclient.Verify(cl, root, an, now)
		if err != nil {
			return
		}
		again, err := lightclient.Verify(cl, root, an, now)
		if err != nil || !bytes.Equal(again.BlockHash, got.BlockHash) {
			t.Fatalf("accepted once, then %v", err)
		}
	})
}
