package report

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// The ledger's own records as every caller sees them: the audit trail,
// who holds which role, the corrections of a record and the reported
// cases (GET /v1/audit, /v1/roles, /v1/tx/{hash}/corrections, /v1/cases;
// epiledger audit list, role list, correct show, trace cases).

// AuditView is an audit record in JSON.
type AuditView struct {
	Tx        string `json:"tx"`
	Height    uint64 `json:"height"`
	Recorded  string `json:"recorded"`
	Caller    string `json:"caller"`
	Role      string `json:"role"`
	Name      string `json:"name,omitempty"`
	Case      string `json:"case"`
	Purpose   string `json:"purpose"`
	Route     string `json:"route"`
	Pseudonym string `json:"pseudonym,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Request   string `json:"request"`
	// Node is the node that served the read and signed this record: the
	// chain authority's ("chain authority") or a consortium member's
	// node, by the name its role node was granted under.
	Node string `json:"node"`
}

// Audits lists the audit records committed from from to to (as
// ParseWindow reads them, up to a century back from now), in ledger order.
func (b *Builder) Audits(from, to string) ([]AuditView, error) {
	loc := b.N.Home.Config.Location()
	w, err := ParseWindow(from, to, time.Now(), 100*365*24*time.Hour, loc)
	if err != nil {
		return nil, err
	}
	es, err := b.N.Query.Audits(w.From.Unix(), w.To.Unix())
	if err != nil {
		return nil, err
	}
	g := b.N.Home.Genesis
	out := []AuditView{}
	for _, e := range es {
		a := e.Audit
		v := AuditView{Tx: e.TxID.String(), Height: e.Height, Recorded: time.Unix(e.Block, 0).In(loc).Format(time.RFC3339),
			Caller: hex.EncodeToString(a.Caller[:]), Role: a.Role, Case: a.Case, Purpose: a.Purpose, Route: a.Route, Request: a.Request.String()}
		if _, name, err := state.RoleOf(b.N.DB, &g, a.Caller); err == nil {
			v.Name = name
		}
		if e.Signer == g.Authority {
			v.Node = "chain authority"
		} else if _, name, err := state.RoleOf(b.N.DB, &g, e.Signer); err == nil && name != "" {
			v.Node = name
		} else {
			v.Node = hex.EncodeToString(e.Signer[:8])
		}
		if a.Person != (ledger.Pseudonym{}) {
			v.Pseudonym = a.Person.String()
		}
		// A read of every record (the case list, a backup) has the
		// whole ledger as its window, ±ledger.MaxWindow: no time to
		// write, and the open side is left out.
		if a.From != 0 || a.To != 0 {
			if a.From > -ledger.MaxWindow {
				v.From = time.Unix(a.From, 0).In(loc).Format(time.RFC3339)
			}
			if a.To < ledger.MaxWindow {
				v.To = time.Unix(a.To, 0).In(loc).Format(time.RFC3339)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// RoleView is a key holding a role, in JSON: GET /v1/roles lists them.
// Height and Tx name the grant_role transaction that gave the role, and
// Granted its block's time; the chain authority holds every role from
// the genesis (height 0, no transaction).
type RoleView struct {
	Key     string `json:"key"`
	Role    string `json:"role"`
	Name    string `json:"name"`
	Height  uint64 `json:"height"`
	Tx      string `json:"tx,omitempty"`
	Granted string `json:"granted"`
}

// RoleAuthority is the role the chain authority holds: every role.
const RoleAuthority = "authority"

// RoleGrantee is the role of a key from another region reading under a
// national grant (docs/REGIONS.md step 8): the API has checked the grant
// and its scope before a report is built for it.
const RoleGrantee = "grantee"

// Roles lists who holds which role on the chain: the chain authority
// first, then every key granted a role and not revoked, in key order. A
// grant whose transaction the chain does not hold is an error (the state
// and the chain disagree).
func (b *Builder) Roles() ([]RoleView, error) {
	n, loc := b.N, b.N.Home.Config.Location()
	g := n.Home.Genesis
	out := []RoleView{{Key: hex.EncodeToString(g.Authority[:]), Role: RoleAuthority, Name: "chain authority (holds every role)",
		Granted: time.Unix(g.Time, 0).In(loc).Format(time.RFC3339)}}
	grants, err := state.Roles(n.DB)
	if err != nil {
		return nil, err
	}
	for _, gr := range grants {
		id := gr.TxID()
		height, _, err := blocks.Locate(n.DB, id)
		if err != nil {
			return nil, fmt.Errorf("role of %x: %w", gr.Key[:8], err)
		}
		hd, err := blocks.Header(n.DB, height)
		if err != nil {
			return nil, err
		}
		out = append(out, RoleView{Key: hex.EncodeToString(gr.Key[:]), Role: gr.Role, Name: gr.Name, Height: height, Tx: id.String(),
			Granted: time.Unix(0, hd.Time).In(loc).Format(time.RFC3339)})
	}
	return out, nil
}

// CorrectionView is a correction of a record, in JSON (GET
// /v1/tx/{hash}/corrections): what it does, why, and each party whose
// approval counts, named by what the genesis makes it.
type CorrectionView struct {
	ID       string `json:"id"`
	Action   string `json:"action"` // "annul" or "amend"
	In       string `json:"in,omitempty"`
	Out      string `json:"out,omitempty"`
	Site     string `json:"site,omitempty"`
	Reason   string `json:"reason"`
	Proposed uint64 `json:"proposed"`
	// Applied is the height it took effect at; 0 while pending.
	Applied   uint64      `json:"applied"`
	Quorum    int         `json:"quorum"`
	Approvals int         `json:"approvals"`
	Parties   []PartyView `json:"parties"`
}

// PartyView is a party whose approval of a correction counts.
type PartyView struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	Approved bool   `json:"approved"`
}

// Corrections lists the corrections proposed for the record tx, applied
// or pending, oldest first, each party named by what the genesis makes it.
func (b *Builder) Corrections(tx ledger.Hash) ([]CorrectionView, error) {
	cs, err := b.N.Query.CorrectionsOf(tx)
	if err != nil {
		return nil, err
	}
	rule, loc := &b.N.Home.Genesis.Corrections, b.N.Home.Config.Location()
	out := []CorrectionView{}
	for _, c := range cs {
		v := CorrectionView{ID: c.ID.String(), Action: "annul", Site: c.Site, Reason: c.Reason, Proposed: c.Proposed, Applied: c.Applied,
			Quorum: c.Quorum, Approvals: len(c.Approvals)}
		if c.Action == ledger.ActionAmend {
			v.Action = "amend"
			v.In, v.Out = time.Unix(c.In, 0).In(loc).Format(time.RFC3339), time.Unix(c.Out, 0).In(loc).Format(time.RFC3339)
		}
		for _, k := range c.Required {
			p := PartyView{Key: hex.EncodeToString(k[:]), Name: partyName(k, c.Regions, rule)}
			for _, a := range c.Approvals {
				p.Approved = p.Approved || a == k
			}
			v.Parties = append(v.Parties, p)
		}
		out = append(out, v)
	}
	return out, nil
}

// partyName names a required party of a correction of a record in regions:
// the authority of one or both regions, the administrator, or both roles
// when one key holds them.
func partyName(k [32]byte, regions [2]string, rule *state.CorrectionRule) string {
	var names []string
	var auth []string
	for i, r := range regions {
		if i == 1 && r == regions[0] {
			break
		}
		if a, ok := rule.AuthorityOf(r); ok && a == k {
			auth = append(auth, fmt.Sprintf("%q", r))
		}
	}
	switch len(auth) {
	case 1:
		names = append(names, "the authority of region "+auth[0])
	case 2:
		names = append(names, "the authority of regions "+auth[0]+" and "+auth[1])
	}
	if k == rule.Administrator {
		names = append(names, "the administrator")
	}
	if len(names) == 0 {
		return "a party of the genesis"
	}
	return strings.Join(names, " and ")
}

// CaseInfo is a case in the case list.
type CaseInfo struct {
	Person    string `json:"person"`
	Pseudonym string `json:"pseudonym"`
	Status    string `json:"status"`
	Onset     string `json:"onset,omitempty"`
	Reported  string `json:"reported"`
	By        string `json:"by"`
	Tx        string `json:"tx"`
}

// CasesReport is the case list.
type CasesReport struct {
	Cases []CaseInfo `json:"cases"`
}

// Cases checks a request for the case list (every case, or those whose
// latest report has status) and returns its read: every case's real id
// from the vault, audited as one read of every case.
func (b *Builder) Cases(status string) (*node.Read[*CasesReport], error) {
	if err := b.checkStatus(status); err != nil {
		return nil, err
	}
	subject := []node.Subject{{Route: "cases", From: -ledger.MaxWindow, To: ledger.MaxWindow}}
	return node.NewRead(b.N, subject, func(rc *node.Receipt) (*CasesReport, error) {
		cs, err := b.N.Query.Cases(status, -ledger.MaxWindow, ledger.MaxWindow)
		if err != nil {
			return nil, err
		}
		out := &CasesReport{Cases: []CaseInfo{}}
		for _, c := range cs {
			id, err := b.realID(rc, c.Person)
			if err != nil {
				return nil, err
			}
			out.Cases = append(out.Cases, CaseInfo{Person: id, Pseudonym: c.Person.String(), Status: c.Status, Onset: c.Onset,
				Reported: b.ts(c.Reported), By: c.By, Tx: c.TxID.String()})
		}
		return out, nil
	}), nil
}

// SiteView is a registered site, as administrators and auditors list
// them (GET /v1/sites).
type SiteView struct {
	Site   string  `json:"site"`
	Kind   string  `json:"kind"`
	Name   string  `json:"name,omitempty"`
	Region string  `json:"region,omitempty"`
	Parent string  `json:"parent,omitempty"`
	Lat    float64 `json:"lat"`
	Lon    float64 `json:"lon"`
	// Key is the key that signs the site's records (hex), if it has its
	// own.
	Key string `json:"key,omitempty"`
}

// MaxSitesListed bounds one listing of sites.
const MaxSitesListed = 20000

// Sites lists the registered sites of kind (every kind if ""), by id, at
// most MaxSitesListed (truncated says there were more). Homes and
// devices are left out: where a person lives, or which device is theirs,
// is personal data, and this list names no case and purpose.
func (b *Builder) Sites(kind string) (out []SiteView, truncated bool, err error) {
	if kind != "" && !b.vocabulary().KnownKind(kind) {
		return nil, false, fieldErr("kind", "unknown site kind")
	}
	if slices.Contains(investigate.DefaultPrivateKinds, kind) {
		return nil, false, fieldErr("kind", "homes and devices are not listed (personal data)")
	}
	lo, hi := store.TablePrefix(store.TabSite)
	out = []SiteView{}
	var derr error
	err = b.N.DB.Scan(lo, hi, func(_, v []byte) bool {
		s, err := state.DecodeSite(v)
		if err != nil {
			derr = err
			return false
		}
		if (kind != "" && s.Kind != kind) || slices.Contains(investigate.DefaultPrivateKinds, s.Kind) {
			return true
		}
		if len(out) == MaxSitesListed {
			truncated = true
			return false
		}
		sv := SiteView{Site: s.ID, Kind: s.Kind, Name: s.Name, Region: s.Region, Parent: s.Parent,
			Lat: float64(s.LatE6) / 1e6, Lon: float64(s.LonE6) / 1e6}
		if s.Key != ([32]byte{}) {
			sv.Key = hex.EncodeToString(s.Key[:])
		}
		out = append(out, sv)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, truncated, err
}
