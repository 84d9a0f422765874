package api

import "net/http"

// MaxPseudonyms is the most references one POST /v1/pseudonyms may carry.
// With references of at most 128 bytes (record.MaxRefLen), even escaped,
// a full batch fits the route's body limit (MediumBody).
const MaxPseudonyms = 1000

// PseudonymsRequest carries person references ("id:...", "phone:...").
type PseudonymsRequest struct {
	Refs []string `json:"refs"`
}

// Pseudonym is the ledger form of one reference: its pseudonym (64 hex
// digits) and whether it is an alias (bound to a person by an identity
// record) rather than a canonical id.
type Pseudonym struct {
	Pseudonym string `json:"pseudonym"`
	Alias     bool   `json:"alias"`
}

// PseudonymsReply holds one Pseudonym per reference, in request order.
type PseudonymsReply struct {
	Pseudonyms []Pseudonym `json:"pseudonyms"`
}

// pseudonyms answers the pseudonyms of the references a site or a
// hospital is about to record, so that it needs no secret of the
// authority's (issue 12): the node computes them with its home's secret
// and seals each canonical id it does not hold yet into its vault. The
// answer is a function of the references alone (not of the ledger), so it
// tells the caller nothing about anyone but what it sent, and a pseudonym
// is of use only to those who read the ledger. A malformed reference is a
// 400 naming refs[i]; no message repeats a reference (nor does the log:
// serve logs no bodies).
func (s *Server) pseudonyms(r *http.Request) (any, error) {
	var req PseudonymsRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if len(req.Refs) == 0 {
		return nil, errf(http.StatusBadRequest, "invalid", "refs", "required: 1 to %d person references", MaxPseudonyms)
	}
	if len(req.Refs) > MaxPseudonyms {
		return nil, errf(http.StatusBadRequest, "invalid", "refs", "more than %d references in one request", MaxPseudonyms)
	}
	ps, err := s.n.Pseudonyms("refs", req.Refs)
	if err != nil {
		return nil, err
	}
	out := PseudonymsReply{Pseudonyms: make([]Pseudonym, len(ps))}
	for i, p := range ps {
		out.Pseudonyms[i] = Pseudonym{Pseudonym: p.Ref.String(), Alias: p.Alias}
	}
	return out, nil
}
