package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/state"
)

// Report cards and the open statistics (issue 16, docs/WARNING.md).

// card plans GET /v1/cards/{id}: a report card as it now stands, with
// its versions, for the CDC (an investigator) or the hospital that
// reported it; audited as a read of the card's patient.
func (s *Server) card(r *http.Request) (reader, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	id, err := ledger.ParseHash(r.PathValue("id"))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "id", "want a report card's id, 64 hex digits")
	}
	var hospital *[32]byte
	if p := principalOf(r); p.Role == ledger.RoleHospital {
		hospital = &p.Key
	}
	return planned(s.rb.Card(id, hospital))
}

// writes reports whether p records for a site, hospital or doctor: a key
// bound to a quota of pseudonyms, told nothing of others' records.
func (p *Principal) writes() bool {
	return p.Role == ledger.RoleSite || p.Role == ledger.RoleHospital || p.Role == ledger.RoleDoctor
}

// rawReply is an answer that is not JSON: its content type and bytes.
type rawReply struct {
	contentType string
	body        []byte
}

// publicStats serves GET /v1/public/stats, with no login: a disease's
// cases reported per day in a region (this chain's by default), by
// classification, as JSON or (format=csv) CSV. Counts only.
func (s *Server) publicStats(r *http.Request) (any, error) {
	if err := onlyParams(r, "region", "disease", "from", "to", "format"); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	reg := q.Get("region")
	if reg == "" {
		reg = s.n.Home.Genesis.Region
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return nil, errf(http.StatusBadRequest, "invalid", "format", "json (the default) or csv")
	}
	st, err := s.rb.Stats(reg, q.Get("disease"), q.Get("from"), q.Get("to"))
	if err != nil {
		return nil, err
	}
	if format == "csv" {
		return &rawReply{contentType: "text/csv; charset=utf-8", body: st.CSV()}, nil
	}
	return st, nil
}

// rules serves GET /v1/rules: the warning rules, retired ones too.
func (s *Server) rules(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	rs, err := s.rb.Rules()
	if err != nil {
		return nil, err
	}
	return map[string]any{"rules": rs}, nil
}

// alerts serves GET /v1/alerts: the alerts raised here, the latest
// first, and how fast each region's were answered. Nothing personal.
func (s *Server) alerts(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	return s.rb.Alerts()
}

// StatsProof is GET /v1/public/stats/proof's answer: the day's figures of
// a disease in a region, as the sum of its districts' published buckets,
// each with its publication's inclusion proof and its earlier versions.
type StatsProof struct {
	Disease   string        `json:"disease"`
	Region    string        `json:"region"`
	Date      string        `json:"date"`
	Suspected uint32        `json:"suspected"`
	Clinical  uint32        `json:"clinical"`
	Confirmed uint32        `json:"confirmed"`
	Buckets   []BucketProof `json:"buckets"`
}

// BucketProof is one district's bucket: its latest publication, proven,
// and the versions before it.
type BucketProof struct {
	District string               `json:"district"`
	Version  uint32               `json:"version"`
	Proof    consortium.TxProof   `json:"proof"`
	History  []PublicationVersion `json:"history"`
}

// PublicationVersion is one version of a bucket's publication.
type PublicationVersion struct {
	Version   uint32 `json:"version"`
	Tx        string `json:"tx"`
	Suspected uint32 `json:"suspected"`
	Clinical  uint32 `json:"clinical"`
	Confirmed uint32 `json:"confirmed"`
	// Last is the transaction that had changed the bucket (a report or
	// a review).
	Last string `json:"last"`
}

// publicStatsProof serves GET /v1/public/stats/proof, with no login: the
// figures of one day, each district's bucket published first if it
// changed since its latest publication (a write that follows real
// changes only), with the publications' proofs.
func (s *Server) publicStatsProof(r *http.Request) (any, error) {
	if err := onlyParams(r, "region", "disease", "date"); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	reg := q.Get("region")
	if reg == "" {
		reg = s.n.Home.Genesis.Region
	}
	code, err := region.Parse(reg)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "region", "%v", err)
	}
	disease, date := q.Get("disease"), q.Get("date")
	if !slices.Contains(ledger.Diseases, disease) {
		return nil, errf(http.StatusBadRequest, "invalid", "disease", "one of %v", ledger.Diseases)
	}
	if err := ledger.CheckDate("date", date); err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "date", "a date, YYYY-MM-DD")
	}
	t, _ := time.Parse(ledger.OnsetLayout, date)
	day := uint32(t.Unix() / 86400)
	homes, err := state.HomesReporting(s.n.DB, disease, code, day)
	if err != nil {
		return nil, err
	}
	out := &StatsProof{Disease: disease, Region: string(code), Date: date, Buckets: []BucketProof{}}
	for _, home := range homes {
		pubs, err := s.n.PublishBucket(r.Context(), disease, home, day)
		if err != nil {
			return nil, err
		}
		if len(pubs) == 0 {
			continue
		}
		latest := pubs[len(pubs)-1]
		p, err := s.txProof(latest.Tx)
		if err != nil {
			return nil, err
		}
		b := BucketProof{District: home, Version: latest.Version, Proof: *p, History: []PublicationVersion{}}
		for _, v := range pubs {
			b.History = append(b.History, PublicationVersion{Version: v.Version, Tx: v.Tx.String(), Suspected: v.Suspected, Clinical: v.Clinical,
				Confirmed: v.Confirmed, Last: v.Last.String()})
		}
		out.Suspected += latest.Suspected
		out.Clinical += latest.Clinical
		out.Confirmed += latest.Confirmed
		out.Buckets = append(out.Buckets, b)
	}
	return out, nil
}
