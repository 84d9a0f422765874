package importer_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/report"
	"github.com/epiledger/epiledger/internal/testnode"
)

const sites = `{"type":"site","site":"office-1","kind":"office","lat":30.5,"lon":114.3,"region":"420100"}
{"type":"site","site":"shop-1","kind":"shop","lat":30.6,"lon":114.3,"region":"420100"}
{"type":"identity","id":"420100199001011234","aliases":["phone:13800000000"]}
{"type":"identity","id":"420100199202025678"}
`

// TestBadInput feeds every kind of bad line the issue names; each is
// refused with its line and reason, nothing of it is stored, and the rest
// of the import goes on.
func TestBadInput(t *testing.T) {
	t.Parallel()
	h, n := testnode.New(t)
	if res := testnode.Import(t, h, n, sites); res.Rejected != 0 {
		t.Fatalf("setup rejected: %v", res.Rejections)
	}
	officeKey, _ := h.Keys.Get("office-1")
	shopKey, _ := h.Keys.Get("shop-1")
	pseud := h.Pseudonymizer()
	ref := ledger.PersonRef{Ref: pseud.Person("420100199202025678")}
	// A visit at office-1 signed by shop-1's key: a site signing for another.
	forged := ledger.NewTx(&ledger.Visit{Site: "office-1", Person: ref, In: 1579500000, Out: 1579503600, Via: "face"})
	forged.Sign(h.Genesis.ChainID, shopKey)
	// A visit with a signature that does not verify.
	badSig := ledger.NewTx(&ledger.Visit{Site: "office-1", Person: ref, In: 1579510000, Out: 1579513600})
	badSig.Sign(h.Genesis.ChainID, officeKey)
	badSig.Sigs[0].Sig[0] ^= 0xff
	b64 := func(tx *ledger.Tx) string { return base64.StdEncoding.EncodeToString(tx.Bytes()) }

	lines := []struct {
		line  string
		code  string // "" = accepted
		field string
	}{
		{`{"type":"visit","site":"office-1","person":"id:420100199001011234","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T12:00:00+08:00","via":"staff_card"}`, "", ""},
		{`{"type":"visit","site":"office-1","person":"id:4201001990`, "invalid", ""},
		{`{"type":"visit","site":"nowhere","person":"id:420100199001011234","in":"2020-01-20T13:00:00+08:00","out":"2020-01-20T14:00:00+08:00"}`, "unknown_site", "site"},
		{`{"type":"visit","site":"shop-1","person":"phone:13999999999","in":"2020-01-20T13:00:00+08:00","out":"2020-01-20T14:00:00+08:00"}`, "unknown_person", "person"},
		{`{"type":"visit","site":"shop-1","person":"id:420100199001011234","in":"2020-01-20T15:00:00+08:00","out":"2020-01-20T14:00:00+08:00"}`, "invalid", "out"},
		{`{"type":"tx","tx":"` + b64(badSig) + `"}`, "bad_signature", "signature"},
		{`{"type":"visit","site":"office-1","person":"id:420100199001011234","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T12:00:00+08:00","via":"staff_card"}`, "replay", ""},
		{`{"type":"tx","tx":"` + b64(forged) + `"}`, "wrong_signer", "site"},
		{`{"type":"visit","site":"shop-1","person":"phone:13800000000","in":"2020-01-20T13:00:00+08:00","out":"2020-01-20T14:00:00+08:00","via":"payment"}`, "", ""},
		{`{"type":"visit","site":"shop-1","person":"id:420100199202025678","in":"2020-01-20T13:10:00+08:00","out":"2020-01-20T13:50:00+08:00","via":"face"}`, "", ""},
		{`{"type":"teleport"}`, "invalid", "type"},
		{`{"type":"tx","tx":"AAAA"}`, "invalid", "tx"},
	}
	var text strings.Builder
	for _, l := range lines {
		text.WriteString(l.line + "\n")
	}
	res := testnode.Import(t, h, n, text.String())
	got := map[int]string{}
	for _, r := range res.Rejections {
		got[r.Line] = r.Code + "/" + r.Field
		for _, secret := range []string{"420100199001011234", "13800000000", "13999999999", "420100199202025678"} {
			if strings.Contains(r.Msg, secret) {
				t.Errorf("line %d: the reason leaks an identifier: %q", r.Line, r.Msg)
			}
		}
	}
	accepted := 0
	for i, l := range lines {
		ln := i + 1
		if l.code == "" {
			accepted++
			if g, ok := got[ln]; ok {
				t.Errorf("line %d: rejected (%s), want accepted", ln, g)
			}
			continue
		}
		want := l.code + "/" + l.field
		if l.field == "" {
			want = l.code + "/"
		}
		if g := got[ln]; g != want && !(l.field == "" && strings.HasPrefix(g, l.code+"/")) {
			t.Errorf("line %d: got %q, want %q", ln, g, want)
		}
	}
	if res.Accepted != accepted || res.Rejected != len(lines)-accepted {
		t.Errorf("accepted %d rejected %d, want %d and %d", res.Accepted, res.Rejected, accepted, len(lines)-accepted)
	}
	// Nothing of the refused lines is stored: the trajectory holds the two
	// accepted visits and nothing else, and the contact is the one at the shop.
	b := &report.Builder{N: n, Now: nil}
	rt, err := b.Trajectory(report.Query{Person: "phone:13800000000", From: "2020-01-20", To: "2020-01-20"})
	tr, err := testnode.Perform(t, n, rt, err)
	if err != nil {
		t.Fatal(err)
	}
	var sitesSeen []string
	for _, e := range tr.Entries {
		sitesSeen = append(sitesSeen, e.Site)
	}
	if fmt.Sprint(sitesSeen) != "[office-1 shop-1]" {
		t.Errorf("trajectory sites = %v, want [office-1 shop-1]", sitesSeen)
	}
	if tr.Person != "id:420100199001011234" {
		t.Errorf("trajectory person = %q, want the real id from the vault", tr.Person)
	}
	rc, err := b.Contacts(report.Query{Person: "id:420100199001011234", From: "2020-01-20", To: "2020-01-20"})
	cs, err := testnode.Perform(t, n, rc, err)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Contacts) != 1 || cs.Contacts[0].Person != "id:420100199202025678" || cs.Contacts[0].Overlap != "40m0s" {
		t.Errorf("contacts = %+v", cs.Contacts)
	}
}
