package home

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// TestSharedPseudonymSecret (issue 15): homes of two regions' chains
// initialised with the same PseudonymSecret give a person the same
// pseudonym, under the same genesis pseudonym key, though their own
// secrets (vault, API token) differ; homes without one, or with
// different ones, do not. The secret is in keys/pseudonym.key, which a
// clone keeps.
func TestSharedPseudonymSecret(t *testing.T) {
	t.Parallel()
	shared := bytes.Repeat([]byte{0x15}, 32)
	other := bytes.Repeat([]byte{0x16}, 32)
	for _, c := range []struct {
		name   string
		a, b   []byte
		hmac   bool
		shared bool
	}{
		{"same_secret", shared, shared, false, true},
		{"same_secret_hmac", shared, shared, true, true},
		{"different_secrets", shared, other, false, false},
		{"one_without", shared, nil, false, false},
		{"none", nil, nil, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, err := Init(filepath.Join(t.TempDir(), "wuhan"), InitOptions{ChainID: "hubei-wuhan", Region: "420100", PseudonymSecret: c.a, HMACPseudonyms: c.hmac})
			if err != nil {
				t.Fatal(err)
			}
			b, err := Init(filepath.Join(t.TempDir(), "nanjing"), InitOptions{ChainID: "jiangsu-nanjing", Region: "320100", PseudonymSecret: c.b, HMACPseudonyms: c.hmac})
			if err != nil {
				t.Fatal(err)
			}
			samePerson := a.Pseudonymizer().Person("420100199001011234") == b.Pseudonymizer().Person("420100199001011234")
			if samePhone := a.Pseudonymizer().Of("phone:13800000000") == b.Pseudonymizer().Of("phone:13800000000"); samePhone != samePerson {
				t.Errorf("same pseudonym of an id %v, of a phone %v", samePerson, samePhone)
			}
			sameKey := bytes.Equal(a.Genesis.PseudonymKey, b.Genesis.PseudonymKey)
			if samePerson != c.shared || (!c.hmac && sameKey != c.shared) {
				t.Errorf("same pseudonym %v, same genesis key %v (%x, %x); want %v", samePerson, sameKey, a.Genesis.PseudonymKey, b.Genesis.PseudonymKey, c.shared)
			}
			if a.Pseudonymizer().Person("1") == a.Pseudonymizer().Person("2") {
				t.Error("two people have one pseudonym")
			}
			if a.APIToken() == b.APIToken() || bytes.Equal(a.secret, b.secret) {
				t.Error("the homes share their secret.key")
			}
			for _, h := range []*Home{a, b} {
				want := h == a && c.a != nil || h == b && c.b != nil
				st, err := os.Stat(filepath.Join(h.Dir, "keys", PseudonymKeyFile))
				if (err == nil) != want || err == nil && st.Mode().Perm() != 0o600 {
					t.Errorf("%s: keys/pseudonym.key: %v %v, want it: %v (mode 0600)", h.Dir, st, err, want)
				}
			}
			cl, err := Clone(a, filepath.Join(t.TempDir(), "clone"))
			if err != nil {
				t.Fatal(err)
			}
			if cl.Pseudonymizer().Person("1") != a.Pseudonymizer().Person("1") {
				t.Error("a clone's pseudonyms differ")
			}
		})
	}
}

// TestPseudonymKeyFileFailsClosed: a home whose keys/pseudonym.key does
// not read, or does not derive the genesis's pseudonym key, does not
// load; nor does a member's home holding one; nor does Init take a
// secret that is not 32 bytes.
func TestPseudonymKeyFileFailsClosed(t *testing.T) {
	t.Parallel()
	h, err := Init(filepath.Join(t.TempDir(), "h"), InitOptions{ChainID: "c", Region: "420100", PseudonymSecret: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Init(filepath.Join(t.TempDir(), "p"), InitOptions{ChainID: "c", Region: "420100"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, content, want string
		src                 *Home
	}{
		{"not_hex", "not hex\n", "pseudonym.key: want 32 hex-encoded bytes", h},
		{"short", strings.Repeat("ab", 31) + "\n", "pseudonym.key: want 32 hex-encoded bytes", h},
		{"empty", "", "pseudonym.key: want 32 hex-encoded bytes", h},
		{"another_secret", strings.Repeat("02", 32) + "\n", "keys/pseudonym.key does not derive the genesis's pseudonym key", h},
		{"added_to_a_home_without_one", strings.Repeat("01", 32) + "\n", "keys/pseudonym.key does not derive the genesis's pseudonym key", plain},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cl, err := Clone(c.src, filepath.Join(t.TempDir(), "h"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(cl.Dir, "keys", PseudonymKeyFile), []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(cl.Dir); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want %q", err, c.want)
			}
		})
	}
	t.Run("member_home", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "m")
		if _, err := NodeKey(dir); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"genesis.json", "config.toml", filepath.Join("keys", PseudonymKeyFile)} {
			b, err := os.ReadFile(filepath.Join(h.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "keys/ holds both pseudonym.key and node.key") {
			t.Fatalf("Load: %v", err)
		}
	})
	t.Run("init_short_secret", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "s")
		if _, err := Init(dir, InitOptions{PseudonymSecret: make([]byte, 31)}); err == nil || !strings.Contains(err.Error(), "pseudonym secret") {
			t.Fatalf("Init: %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused init wrote %s: %v", dir, err)
		}
	})
}

// TestReadPseudonymSecret: the file of --pseudonym-secret holds 64 hex
// digits or a key file of keygen (its seed); nothing else.
func TestReadPseudonymSecret(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	keyFile := filepath.Join(d, "keygen.key")
	if _, err := GenerateKeyFile(keyFile, false); err != nil {
		t.Fatal(err)
	}
	kf, err := LoadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, path string
		want       []byte // nil: an error
	}{
		{"hex", write("hex", strings.Repeat("0a", 32)), bytes.Repeat([]byte{10}, 32)},
		{"hex_with_whitespace", write("ws", "  "+strings.Repeat("0A", 32)+"\n\n"), bytes.Repeat([]byte{10}, 32)},
		{"keygen_file", keyFile, kf.Seed()},
		{"hex_33_bytes", write("long", strings.Repeat("0a", 33)), nil},
		{"hex_31_bytes", write("short", strings.Repeat("0a", 31)), nil},
		{"odd_digits", write("odd", strings.Repeat("0a", 31)+"0"), nil},
		{"empty", write("empty", ""), nil},
		{"bad_json", write("json", `{"seed":`), nil},
		{"json_short_seed", write("jshort", `{"seed":"abcd"}`), nil},
		{"missing", filepath.Join(d, "nope"), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadPseudonymSecret(c.path)
			if c.want == nil {
				if err == nil || !strings.Contains(err.Error(), c.path) {
					t.Fatalf("got %x, %v; want an error naming %s", got, err, c.path)
				}
				return
			}
			if err != nil || !bytes.Equal(got, c.want) {
				t.Fatalf("got %x, %v; want %x", got, err, c.want)
			}
		})
	}
}
