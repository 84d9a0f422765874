package api_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
)

// TestPublicAttestations: anyone reads a content's attestations by its
// hash (no login), in block order with their proofs, the first named;
// a content no one attested is answered with none; a bad hash is a 400
// naming it; a key with no role cannot submit one, nor have one relayed.
func TestPublicAttestations(t *testing.T) {
	f := serve(t, world)
	chain := f.h.Genesis.ChainID
	newsroom, clinic := f.grant(t, "node"), f.grant(t, "hospital")
	_, nobody, _ := ed25519.GenerateKey(nil)
	rumour := ledger.Hash(sha256.Sum256([]byte("a SARS-like pneumonia in Wuhan")))
	attestation := func(by ed25519.PrivateKey, source string) *ledger.Attestation {
		return &ledger.Attestation{Content: rumour, Kind_: ledger.AttestNews, Source: source, Time: 1577698980, By: pubOf(by)}
	}
	first := f.submit(t, chain, newsroom, attestation(newsroom, "https://weibo.com/1234567890/4462468883439456"))
	// Two in one submission: their block order is the order sent.
	second, third := ledger.NewTx(attestation(clinic, "")), ledger.NewTx(attestation(nobody, ""))
	second.Sign(chain, clinic)
	third.Sign(chain, nobody)
	batch := func(txs ...*ledger.Tx) []byte {
		var s []string
		for _, tx := range txs {
			s = append(s, `"`+base64.StdEncoding.EncodeToString(tx.Bytes())+`"`)
		}
		return []byte(`{"txs":[` + strings.Join(s, ",") + `]}`)
	}
	var res struct {
		Results []api.TxResult `json:"results"`
	}
	status, body, _ := f.signedCall(t, clinic, "POST", "/v1/txs", batch(second, third))
	if status != 200 || json.Unmarshal(body, &res) != nil || len(res.Results) != 2 || res.Results[0].Error != nil ||
		res.Results[1].Error == nil || res.Results[1].Error.Code != "wrong_signer" {
		t.Fatalf("the clinic's, and one relayed for a key with no role: %d %s", status, body)
	}
	if status, body, _ := f.signedCall(t, nobody, "POST", "/v1/tx", []byte(`{"tx":"`+base64.StdEncoding.EncodeToString(third.Bytes())+`"}`)); status != 403 {
		t.Errorf("submitted by a key with no role: %d %s", status, body)
	}

	var a api.AttestationProof
	for _, path := range []string{"/v1/public/attestations/" + rumour.String(), "/v1/public/attestations/" + strings.ToUpper(rumour.String())} {
		r := f.call(t, "GET", path, "", "")
		a = api.AttestationProof{}
		if r.status != 200 || json.Unmarshal(r.body, &a) != nil || a.Content != rumour.String() || len(a.Attestations) != 2 || len(a.Proofs) != 2 || a.Truncated {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
	}
	if a.First == nil || *a.First != a.Attestations[0] || a.First.Tx != first.ID().String() || a.First.By.Key != hex.EncodeToString(newsroom.Public().(ed25519.PublicKey)) ||
		a.First.By.Role != "node" || a.First.Source != "https://weibo.com/1234567890/4462468883439456" || a.First.Kind != "news" {
		t.Errorf("the first: %+v", a.First)
	}
	if at := a.Attestations[1]; at.Tx != second.ID().String() || at.By.Role != "hospital" || at.Height < a.First.Height || at.Source != "" {
		t.Errorf("the second: %+v", at)
	}
	for i, p := range a.Proofs {
		if p.Tx != a.Attestations[i].Tx || p.Header.Height != a.Attestations[i].Height {
			t.Errorf("proof %d is of %s in block %d", i, p.Tx, p.Header.Height)
		}
	}
	// A content no one attested: answered, with none.
	r := f.call(t, "GET", "/v1/public/attestations/"+strings.Repeat("0", 64), "", "")
	var none report.ContentAttestations
	if r.status != 200 || json.Unmarshal(r.body, &none) != nil || none.First != nil || len(none.Attestations) != 0 || strings.Contains(string(r.body), `"first"`) {
		t.Errorf("a content no one attested: %d %s", r.status, r.body)
	}
	for _, bad := range []struct{ name, path, field string }{
		{"63 digits", "/v1/public/attestations/" + rumour.String()[1:], "hash"},
		{"65 digits", "/v1/public/attestations/" + rumour.String() + "0", "hash"},
		{"not hex", "/v1/public/attestations/" + strings.Repeat("g", 64), "hash"},
		{"oversized", "/v1/public/attestations/" + strings.Repeat("ab", 4096), "hash"},
		{"a parameter", "/v1/public/attestations/" + rumour.String() + "?x=1", "x"},
	} {
		r := f.call(t, "GET", bad.path, "", "")
		if r.status != 400 || !strings.Contains(string(r.body), `"field":"`+bad.field+`"`) || strings.Contains(string(r.body), "abab") {
			t.Errorf("%s: %d %s", bad.name, r.status, r.body)
		}
	}
}
