package home

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenesisPseudonymKey (issue 13, point 7): a new home's genesis names
// the VOPRF key its secret derives, under the genesis hash, and its
// pseudonymizer is of that scheme; a genesis whose key the secret does not
// derive, of an unknown scheme or with a malformed key does not load
// (fail closed); one without "pseudonyms" (HMACPseudonyms, or any written
// before) loads with HMAC pseudonyms and the hash it had.
func TestGenesisPseudonymKey(t *testing.T) {
	t.Parallel()
	h, err := Init(filepath.Join(t.TempDir(), "h"), InitOptions{ChainID: "c", Region: "420100"})
	if err != nil {
		t.Fatal(err)
	}
	pub := h.Pseudonymizer().PublicKey()
	if pub == nil || len(h.Genesis.PseudonymKey) != 32 || !bytes.Equal(pub.Bytes(), h.Genesis.PseudonymKey) {
		t.Fatalf("a new home: key %x, pseudonymizer %v", h.Genesis.PseudonymKey, pub)
	}
	withoutKey := h.Genesis
	withoutKey.PseudonymKey = nil
	if withoutKey.Hash() == h.Genesis.Hash() {
		t.Error("the pseudonym key is not under the genesis hash")
	}
	other, err := Init(filepath.Join(t.TempDir(), "o"), InitOptions{ChainID: "c", Region: "420100"})
	if err != nil {
		t.Fatal(err)
	}

	edit := func(t *testing.T, f func(g map[string]any)) string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "h")
		c, err := Clone(h, dir)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(c.Dir, "genesis.json")
		b, _ := os.ReadFile(p)
		var g map[string]any
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		f(g)
		b, _ = json.Marshal(g)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return c.Dir
	}
	set := func(field, v string) func(map[string]any) {
		return func(g map[string]any) { g["pseudonyms"].(map[string]any)[field] = v }
	}
	for _, c := range []struct {
		name, want string
		f          func(map[string]any)
	}{
		{"another_homes_key", "does not derive the genesis's pseudonym key", set("public_key", hex.EncodeToString(other.Genesis.PseudonymKey))},
		{"unknown_scheme", `pseudonyms.scheme "voprf-p256-sha256/v1"`, set("scheme", "voprf-p256-sha256/v1")},
		{"short_key", "pseudonyms.public_key must be 64 hex digits", set("public_key", "abcd")},
		{"identity_key", "pseudonyms.public_key", set("public_key", strings.Repeat("00", 32))},
		{"non_canonical_key", "pseudonyms.public_key", set("public_key", strings.Repeat("ff", 32))},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Load(edit(t, c.f)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want %q", err, c.want)
			}
		})
	}

	// Without "pseudonyms": HMAC pseudonyms and the hash without the key.
	l, err := Load(edit(t, func(g map[string]any) { delete(g, "pseudonyms") }))
	if err != nil {
		t.Fatal(err)
	}
	if l.Genesis.PseudonymKey != nil || l.Pseudonymizer().PublicKey() != nil || l.Genesis.Hash() != withoutKey.Hash() {
		t.Errorf("a genesis without pseudonyms: key %x, hash %s (want %s)", l.Genesis.PseudonymKey, l.Genesis.Hash(), withoutKey.Hash())
	}
	if l.Pseudonymizer().Person("1") == h.Pseudonymizer().Person("1") {
		t.Error("the HMAC and VOPRF homes of one secret give the same pseudonym")
	}
	hm, err := Init(filepath.Join(t.TempDir(), "hm"), InitOptions{ChainID: "c", HMACPseudonyms: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(hm.Dir, "genesis.json")); bytes.Contains(b, []byte("pseudonyms")) || hm.Genesis.PseudonymKey != nil {
		t.Errorf("HMACPseudonyms wrote a key: %s", b)
	}
}
