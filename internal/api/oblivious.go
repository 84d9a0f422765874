package api

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/oprf"
)

// MaxOblivious is the most blinded elements one
// POST /v1/pseudonyms/oblivious may carry: as many as POST /v1/pseudonyms
// takes references, so that an importer's batches are the same. A full
// batch (base64, 47 bytes an element in JSON) fits SmallBody.
const MaxOblivious = MaxPseudonyms

// ObliviousRequest carries blinded elements (identity.Blind): each the
// standard base64, with padding, of a 32-byte ristretto255 element.
type ObliviousRequest struct {
	Blinded []string `json:"blinded"`
}

// ObliviousReply holds the node's evaluation of each blinded element, in
// request order (base64, 32 bytes each), one proof (base64, 64 bytes)
// that every one was made with the key of the chain's genesis
// (RFC 9497 VOPRF, batched DLEQ), and that key (hex, as the genesis
// names it; a site checks the proof against the key it trusts, not this
// one).
type ObliviousReply struct {
	Evaluated []string `json:"evaluated"`
	Proof     string   `json:"proof"`
	Key       string   `json:"key"`
}

// ObliviousRoute is the route of oblivious pseudonyms, as its audit
// records name it.
const ObliviousRoute = "POST /v1/pseudonyms/oblivious"

// DecodeOblivious decodes the body of POST /v1/pseudonyms/oblivious
// strictly (one JSON object, no unknown field, nothing after it) and
// returns its blinded elements, 1 to MaxOblivious of them, each a
// canonical base64 encoding (standard alphabet, padded, no stray bits) of
// a canonical, non-identity ristretto255 element. Anything else is a 400
// *Error naming the field, and the element's index ("blinded[17]"); no
// message repeats an element. On error it returns nil.
func DecodeOblivious(body []byte) ([][]byte, error) {
	var req ObliviousRequest
	if err := decode(&http.Request{Body: io.NopCloser(bytes.NewReader(body))}, &req); err != nil {
		return nil, err
	}
	if len(req.Blinded) == 0 {
		return nil, errf(http.StatusBadRequest, "invalid", "blinded", "required: 1 to %d blinded elements", MaxOblivious)
	}
	if len(req.Blinded) > MaxOblivious {
		return nil, errf(http.StatusBadRequest, "invalid", "blinded", "more than %d blinded elements in one request", MaxOblivious)
	}
	out := make([][]byte, len(req.Blinded))
	for i, s := range req.Blinded {
		field := fmt.Sprintf("blinded[%d]", i)
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil {
			return nil, errf(http.StatusBadRequest, "invalid", field, "not standard base64 (with padding)")
		}
		if err := oprf.CheckElement(b); err != nil {
			var msg string
			switch {
			case errors.Is(err, oprf.ErrLength):
				msg = fmt.Sprintf("%d bytes: a blinded element is %d", len(b), oprf.ElementSize)
			case errors.Is(err, oprf.ErrIdentity):
				msg = "the identity element, which no blinding gives"
			default:
				msg = "not a canonical ristretto255 encoding"
			}
			return nil, errf(http.StatusBadRequest, "invalid", field, "%s", msg)
		}
		out[i] = b
	}
	return out, nil
}

// oblivious evaluates the blinded elements of a site, a hospital or the
// administrator with the chain's VOPRF pseudonym key (issue 13, point 7):
// the caller blinded its references (identity.Blind), so the node learns
// neither the references nor their pseudonyms, and the caller checks the
// proof against the genesis's key, so the node cannot answer it with
// another key (which would make its pseudonyms match nobody else's and
// mark its records).
//
// The steps, each refusing before the next writes anything: the chain
// must name a VOPRF key (409 "not_oblivious" otherwise: its pseudonyms
// are HMAC pseudonyms); the body must decode (DecodeOblivious: a 400
// naming blinded or blinded[i]); a site's or a hospital's key must have
// quota left (a 429 naming blinded, idQuota). The quota is the one
// POST /v1/pseudonyms draws from, and here every element counts: the node
// cannot tell a repeated reference from a new one (each blinding of a
// reference is a fresh random element; that is the point), nor an "id:"
// reference from an alias. Then an audit record is committed to the
// ledger - the caller's key and role, the route, how many elements, the
// request's hash and signature; nothing about the references, which the
// node never sees - and only then are the elements evaluated (fail
// closed: no audit, no evaluation). Nothing goes into the vault: the node
// has no identifier to seal.
func (s *Server) oblivious(r *http.Request) (any, error) {
	pz := s.n.Pseud
	if pz == nil {
		return nil, &node.NotAuthorityError{Field: "blinded", What: "evaluate pseudonyms (the chain's pseudonym secret is on the chain authority's nodes)"}
	}
	pub := pz.PublicKey()
	if pub == nil {
		return nil, errf(http.StatusConflict, "not_oblivious", "",
			"this chain's genesis names no VOPRF pseudonym key: its pseudonyms are HMAC pseudonyms, which only the node computes (POST /v1/pseudonyms)")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	blinded, err := DecodeOblivious(body)
	if err != nil {
		return nil, err
	}
	p := principalOf(r)
	if p.writes() {
		if err := s.ids.take(p.Key, len(blinded), time.Now(), "blinded", "blinded elements",
			"each counts, as the node cannot tell a repeat, and distinct id: references sent to POST /v1/pseudonyms"); err != nil {
			return nil, err
		}
	}
	a := &ledger.Audit{Caller: p.Key, Role: p.Role, Case: "oblivious-pseudonyms", Purpose: fmt.Sprintf("evaluate %d blinded elements", len(blinded)),
		Route: ObliviousRoute, Request: p.Request, RequestSig: p.Signature, Time: p.Time}
	if _, err := s.commitAsAuthority(r, a); err != nil {
		return nil, fmt.Errorf("api: the audit record of an oblivious evaluation: %w", err)
	}
	evaluated, proof, err := pz.BlindEvaluate(blinded)
	if err != nil {
		return nil, fmt.Errorf("api: oblivious evaluation: %w", err)
	}
	out := ObliviousReply{Evaluated: make([]string, len(evaluated)), Proof: base64.StdEncoding.EncodeToString(proof), Key: hex.EncodeToString(pub.Bytes())}
	for i, e := range evaluated {
		out.Evaluated[i] = base64.StdEncoding.EncodeToString(e)
	}
	return out, nil
}

// PseudonymKey is the reply of GET /v1/pseudonyms/key: the node's
// genesis hash and chain id, the pseudonym scheme its genesis names
// (identity.OPRFScheme, or "hmac-sha256" for a genesis that names no key)
// and, for the VOPRF scheme, the public key (64 hex digits). A site
// compares them with the genesis it was given: a node is not its own
// witness.
type PseudonymKey struct {
	ChainID string `json:"chain_id"`
	Genesis string `json:"genesis"`
	Scheme  string `json:"scheme"`
	Key     string `json:"key,omitempty"`
}

// HMACScheme names the pseudonym scheme of a genesis that names no VOPRF
// key, in GET /v1/pseudonyms/key.
const HMACScheme = "hmac-sha256"

// pseudonymKey answers GET /v1/pseudonyms/key (public: the key is in the
// genesis, which is no secret).
func (s *Server) pseudonymKey(r *http.Request) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	g := s.n.Home.Genesis
	out := PseudonymKey{ChainID: g.ChainID, Genesis: g.Hash().String(), Scheme: HMACScheme}
	if k := g.PseudonymKey; k != nil {
		out.Scheme, out.Key = identity.OPRFScheme, hex.EncodeToString(k)
	}
	return out, nil
}
