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

	cmted "github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/lightclient"
	"github.com/epiledger/epiledger/internal/lightclient/lctest"
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
		{strings.Replace(body("420102"), `"region"`, `"engine":"cometbft","region"`, 1), "validators"},
		{strings.Replace(body("420102"), `"region"`, `"engine":"raft","region"`, 1), "engine"},
		{strings.Replace(body("420102"), `"region"`, `"genesis_time":1600000000,"region"`, 1), "validators"},
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
	// The relay reads the proof of what it carries, and of nothing else.
	if status, rb, _ := f.signedCall(t, relay, "GET", "/v1/tx/"+tx2.ID().String()+"/proof", nil); status != 200 {
		t.Errorf("the relay reading an anchor's proof: %d %s", status, rb)
	}
	first, err := blocks.Txs(f.n.DB, 1)
	if err != nil || len(first) == 0 {
		t.Fatal(err)
	}
	other, err := ledger.DecodeTx(first[0])
	if err != nil {
		t.Fatal(err)
	}
	if status, rb, _ := f.signedCall(t, relay, "GET", "/v1/tx/"+other.ID().String()+"/proof", nil); status != 403 {
		t.Errorf("the relay reading a %s's proof: %d %s", other.Body.Kind(), status, rb)
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

// TestCometChild: a CometBFT child registered through the API, its signed
// headers anchored by a relay as light anchors and listed with what the
// parent keeps of them; forged ones refused naming their field.
func TestCometChild(t *testing.T) {
	f := serve(t, world)
	genesis := ledger.Hash{0xae}
	keys := lctest.Keys(3)
	c := lctest.NewChain(lightclient.ChainID("wuhan-qiaokou", genesis), time.Now().Add(-time.Minute).Truncate(time.Second).UTC(), 4,
		func(int64) []cmted.PrivKey { return keys })
	vals, _ := c.Genesis()
	var vs []string
	for _, v := range vals {
		vs = append(vs, fmt.Sprintf(`{"key":"%x","power":%d}`, v.Key, v.Power))
	}
	body := fmt.Sprintf(`{"chain_id":"wuhan-qiaokou","region":"420104","genesis":%q,"engine":"cometbft","validators":[%s],"genesis_time":%d}`,
		genesis, strings.Join(vs, ","), c.T0.Unix())
	if r := f.call(t, "POST", "/v1/children", f.token, strings.Replace(body, `"power":10`, `"power":0`, 1)); r.status != 400 || !strings.Contains(string(r.body), `"field":"validators.power"`) {
		t.Errorf("a validator without power: %d %s", r.status, r.body)
	}
	if r := f.call(t, "POST", "/v1/children", f.token, strings.Replace(body, `"validators":[`, `"validators":[{"key":"zz","power":1},`, 1)); r.status != 400 || !strings.Contains(string(r.body), `"field":"validators"`) {
		t.Errorf("a validator key that is not hex: %d %s", r.status, r.body)
	}
	if r := f.call(t, "POST", "/v1/children", f.token, body); r.status != 200 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	relay := f.grant(t, "relay")
	anchor := func(an lightclient.Anchor, trusted int64) (int, string) {
		tx := ledger.NewTx(&ledger.LightAnchor{ChainID: "wuhan-qiaokou", TrustedHeight: trusted, SignedHeader: an.SignedHeader,
			Validators: an.Validators, TrustedValidators: an.TrustedValidators})
		tx.Sign(f.h.Genesis.ChainID, relay)
		status, rb, _ := f.signedCall(t, relay, "POST", "/v1/tx", []byte(`{"tx":"`+base64.StdEncoding.EncodeToString(tx.Bytes())+`"}`))
		return status, string(rb)
	}
	if status, rb := anchor(c.Anchor(2, 0), 0); status != 200 {
		t.Fatalf("header 2: %d %s", status, rb)
	}
	for name, x := range map[string]struct {
		an      lightclient.Anchor
		trusted int64
		field   string
	}{
		"signed by one of three": {c.SignedBy(3, 2, keys[:1]), 2, "signed_header"},
		"forged by strangers":    {c.ForgedBy(4, 2, lctest.Keys(3), c.Vals(3)), 2, "trusted_height"},
		"a stale trusted set":    {c.ForgedBy(4, 2, lctest.Keys(3), lctest.SetOf(lctest.Keys(3))), 2, "trusted_validators"},
		"from an unknown height": {c.Anchor(4, 3), 3, "trusted_height"},
	} {
		if status, rb := anchor(x.an, x.trusted); status != 422 && status != 409 && status != 400 || !strings.Contains(rb, `"field":"`+x.field+`"`) {
			t.Errorf("%s: %d %s", name, status, rb)
		}
	}
	if status, rb := anchor(c.Anchor(4, 2), 2); status != 200 {
		t.Fatalf("header 4: %d %s", status, rb)
	}
	var list struct {
		Anchors []struct {
			Height                            uint64
			Hash                              string
			StateHash                         string `json:"state_hash"`
			NextValidatorsHash, LastBlockHash string
		}
		Child struct {
			Height   uint64
			CometBFT struct {
				ChainID        string `json:"chain_id"`
				TrustingPeriod int64  `json:"trusting_period"`
			}
		}
	}
	decodeOK(t, f.call(t, "GET", "/v1/children/wuhan-qiaokou/anchors", f.token, ""), &list)
	if len(list.Anchors) != 2 || list.Child.Height != 4 || list.Child.CometBFT.ChainID != c.ChainID || list.Child.CometBFT.TrustingPeriod != api.DefaultTrustingPeriod ||
		list.Anchors[1].Hash != hex.EncodeToString(c.Signed(4).Hash()) || list.Anchors[1].StateHash != hex.EncodeToString(lctest.AppHash(c.ChainID, 4)) {
		t.Errorf("anchors: %+v", list)
	}
	// A solo node has no light blocks.
	for path, want := range map[string]int{"/v1/light-blocks/1": 404, "/v1/light-blocks/0": 400, "/v1/light-blocks/x": 400, "/v1/light-blocks/1?full=1": 400} {
		if r := f.call(t, "GET", path, f.token, ""); r.status != want {
			t.Errorf("GET %s: %d %s, want %d", path, r.status, r.body, want)
		}
	}
}
