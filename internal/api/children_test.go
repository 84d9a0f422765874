package api_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
)

// TestChildren: the administrator registers a child region's chain; its
// anchors, relayed as transactions, are listed; refused registrations and
// anchors name their field.
func TestChildren(t *testing.T) {
	f := serve(t, world)
	pub, childKey, _ := ed25519.GenerateKey(nil)
	genesis := ledger.Hash{0xab}
	body := func(region string) string {
		return fmt.Sprintf(`{"chain_id":"wuhan-jiangan","region":%q,"genesis":%q,"authority":%q}`, region, genesis, hex.EncodeToString(pub))
	}
	for _, c := range []struct{ body, field string }{
		{body("4202"), "region"},
		{body("nowhere"), "region"},
		{strings.Replace(body("420102"), `"genesis":"`, `"genesis":"zz`, 1), "genesis"},
		{strings.Replace(body("420102"), `"authority":"`, `"authority":"1`, 1), "authority"},
		{strings.Replace(body("420102"), `"region"`, `"engine":"cometbft","region"`, 1), "engine"},
	} {
		if r := f.call(t, "POST", "/v1/children", f.token, c.body); r.status < 400 || r.status >= 500 || !strings.Contains(string(r.body), `"field":"`+c.field+`"`) {
			t.Errorf("%s: %d %s", c.body, r.status, r.body)
		}
	}
	if r := f.call(t, "POST", "/v1/children", f.token, body("420102")); r.status != 200 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var list struct {
		Children []struct {
			ChainID, Region, Level, Hash string
			Height                       uint64
		}
	}
	decodeOK(t, f.call(t, "GET", "/v1/children", f.token, ""), &list)
	if len(list.Children) != 1 || list.Children[0].Level != "district" || list.Children[0].Height != 0 || list.Children[0].Hash != genesis.String() {
		t.Fatalf("children: %+v", list)
	}

	// The child's block 1, anchored through POST /v1/txs.
	h1 := ledger.Header{Version: 1, Height: 1, PrevHash: genesis, Time: time.Now().Add(-time.Minute).UnixNano(), ChainID: "wuhan-jiangan", Region: "420102"}
	tx := ledger.NewTx(ledger.AnchorOf(&h1))
	tx.Sign(f.h.Genesis.ChainID, childKey)
	submit := `{"txs":["` + base64.StdEncoding.EncodeToString(tx.Bytes()) + `"]}`
	if r := f.call(t, "POST", "/v1/txs", f.token, submit); r.status != 200 || strings.Contains(string(r.body), `"error"`) {
		t.Fatalf("anchor: %d %s", r.status, r.body)
	}
	var anchors struct {
		Anchors []struct {
			Height   uint64
			Hash, Tx string
		}
		Truncated bool
	}
	decodeOK(t, f.call(t, "GET", "/v1/children/wuhan-jiangan/anchors", f.token, ""), &anchors)
	if len(anchors.Anchors) != 1 || anchors.Anchors[0].Hash != h1.Hash().String() || anchors.Anchors[0].Tx != tx.ID().String() {
		t.Errorf("anchors: %+v", anchors)
	}
	for path, want := range map[string]int{
		"/v1/children/wuhan-hanyang/anchors":             404,
		"/v1/children/wuhan-jiangan/anchors?from=0":      400,
		"/v1/children/wuhan-jiangan/anchors?from=x":      400,
		"/v1/children/wuhan-jiangan/anchors?from=3&to=2": 400,
		"/v1/children/wuhan-jiangan/anchors?height=1":    400,
		"/v1/children/wuhan-jiangan/anchors?from=2":      200,
	} {
		if r := f.call(t, "GET", path, f.token, ""); r.status != want {
			t.Errorf("GET %s: %d %s, want %d", path, r.status, r.body, want)
		}
	}
	// A relay key submits; a site's key may not register.
	relay := f.grant(t, "relay")
	h2 := ledger.Header{Version: 1, Height: 2, PrevHash: h1.Hash(), Time: time.Now().UnixNano(), ChainID: "wuhan-jiangan", Region: "420102"}
	tx2 := ledger.NewTx(ledger.AnchorOf(&h2))
	tx2.Sign(f.h.Genesis.ChainID, childKey)
	if status, rb, _ := f.signedCall(t, relay, "POST", "/v1/txs", []byte(`{"txs":["`+base64.StdEncoding.EncodeToString(tx2.Bytes())+`"]}`)); status != 200 || strings.Contains(string(rb), `"error"`) {
		t.Errorf("the relay's anchor: %d %s", status, rb)
	}
	site := f.grant(t, "site")
	if status, rb, _ := f.signedCall(t, site, "POST", "/v1/children", []byte(body("420103"))); status != 403 {
		t.Errorf("a site registering a child: %d %s", status, rb)
	}
}

// TestParent: this chain's parent, registered and shown; refused when it
// is not the region above.
func TestParent(t *testing.T) {
	f := serve(t, world)
	pub, _, _ := ed25519.GenerateKey(nil)
	body := func(region string) string {
		return fmt.Sprintf(`{"chain_id":"hubei-1","region":%q,"genesis":%q,"authority":%q}`, region, ledger.Hash{0xcd}, hex.EncodeToString(pub))
	}
	if r := f.call(t, "GET", "/v1/parent", f.token, ""); r.status != 404 {
		t.Errorf("no parent yet: %d %s", r.status, r.body)
	}
	if r := f.call(t, "POST", "/v1/parent", f.token, body("43")); r.status < 400 || r.status >= 500 || !strings.Contains(string(r.body), `"field":"region"`) {
		t.Errorf("another province: %d %s", r.status, r.body)
	}
	if r := f.call(t, "POST", "/v1/parent", f.token, body("42")); r.status != 200 {
		t.Fatalf("register the parent: %d %s", r.status, r.body)
	}
	var p struct {
		ChainID       string `json:"chain_id"`
		Region, Level string
	}
	decodeOK(t, f.call(t, "GET", "/v1/parent", f.token, ""), &p)
	if p.ChainID != "hubei-1" || p.Region != "420000" || p.Level != "province" {
		t.Errorf("parent: %+v", p)
	}
	var list struct{ Children []json.RawMessage }
	decodeOK(t, f.call(t, "GET", "/v1/children", f.token, ""), &list)
	if len(list.Children) != 0 {
		t.Errorf("the parent listed among the children: %s", list.Children)
	}
}
