package client

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/identity"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/oprf"
)

// Pseudonyms asks the node for the ledger form of each person reference
// (POST /v1/pseudonyms; the caller needs the site, hospital or
// administrator role), in order, in requests of at most
// api.MaxPseudonyms. The node seals the canonical id of each "id:"
// reference into its vault. A malformed reference is an *APIError naming
// refs[i] of the request that carried it (references are checked before
// they are sent: see identity.CheckRef).
func (c *Client) Pseudonyms(ctx context.Context, refs []string) ([]ledger.PersonRef, error) {
	out := make([]ledger.PersonRef, 0, len(refs))
	for lo := 0; lo < len(refs); lo += api.MaxPseudonyms {
		batch := refs[lo:min(lo+api.MaxPseudonyms, len(refs))]
		var rep api.PseudonymsReply
		if err := c.do(ctx, "POST", "/v1/pseudonyms", api.PseudonymsRequest{Refs: batch}, &rep); err != nil {
			return nil, err
		}
		if len(rep.Pseudonyms) != len(batch) {
			return nil, fmt.Errorf("node answered %d pseudonyms for %d references", len(rep.Pseudonyms), len(batch))
		}
		for i, p := range rep.Pseudonyms {
			h, err := ledger.ParseHash(p.Pseudonym)
			if err != nil {
				return nil, fmt.Errorf("node answered a malformed pseudonym for reference %d", lo+i)
			}
			out = append(out, ledger.PersonRef{Ref: ledger.Pseudonym(h), Alias: p.Alias})
		}
	}
	return out, nil
}

// Oblivious obtains the pseudonyms of person references from a node
// without sending them (POST /v1/pseudonyms/oblivious, issue 13, point
// 7): it blinds each reference (identity.Blind), sends only the blinded
// elements, checks the node's proof against Key - the VOPRF key the
// chain's genesis names, as the caller trusts it, never as the node
// reports it in the same breath - and unblinds. A proof that does not
// verify fails the whole call with an error wrapping identity.ErrProof,
// and nothing is returned (fail closed). The node seals nothing into its
// vault: it never sees an identifier.
//
// Every blinded element costs the caller's key one unit of its quota, so
// Oblivious blinds each distinct reference once per call and remembers,
// in memory only, the pseudonyms it obtained: a reference costs one unit
// per Oblivious value. Not safe for concurrent use.
type Oblivious struct {
	C   *Client
	Key *oprf.PublicKey

	known map[string]ledger.PersonRef
}

// Pseudonyms returns the ledger form of each reference (as
// identity.CheckRef returned it), in order, asking the node for those it
// does not remember, in requests of at most api.MaxOblivious elements.
func (o *Oblivious) Pseudonyms(ctx context.Context, refs []string) ([]ledger.PersonRef, error) {
	if o.Key == nil {
		return nil, fmt.Errorf("%w: no pseudonym key to check the node's proofs against", identity.ErrProof)
	}
	if o.known == nil {
		o.known = map[string]ledger.PersonRef{}
	}
	var ask []string
	asked := map[string]bool{}
	for _, r := range refs {
		if _, ok := o.known[r]; !ok && !asked[r] {
			asked[r] = true
			ask = append(ask, r)
		}
	}
	for lo := 0; lo < len(ask); lo += api.MaxOblivious {
		batch := ask[lo:min(lo+api.MaxOblivious, len(ask))]
		ps, err := o.evaluate(ctx, batch)
		if err != nil {
			return nil, err
		}
		for i, r := range batch {
			o.known[r] = ps[i]
		}
	}
	out := make([]ledger.PersonRef, len(refs))
	for i, r := range refs {
		out[i] = o.known[r]
	}
	return out, nil
}

// evaluate sends one batch and checks the answer.
func (o *Oblivious) evaluate(ctx context.Context, refs []string) ([]ledger.PersonRef, error) {
	b, err := identity.Blind(refs)
	if err != nil {
		return nil, err
	}
	req := api.ObliviousRequest{Blinded: make([]string, len(refs))}
	for i, e := range b.Elements() {
		req.Blinded[i] = base64.StdEncoding.EncodeToString(e)
	}
	var rep api.ObliviousReply
	if err := o.C.do(ctx, "POST", "/v1/pseudonyms/oblivious", req, &rep); err != nil {
		return nil, err
	}
	if len(rep.Evaluated) != len(refs) {
		return nil, fmt.Errorf("%w: the node answered %d elements for %d", identity.ErrProof, len(rep.Evaluated), len(refs))
	}
	evaluated := make([][]byte, len(rep.Evaluated))
	for i, s := range rep.Evaluated {
		if evaluated[i], err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, fmt.Errorf("%w: evaluated element %d is not base64", identity.ErrProof, i)
		}
	}
	proof, err := base64.StdEncoding.DecodeString(rep.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: the proof is not base64", identity.ErrProof)
	}
	return b.Finalize(o.Key, evaluated, proof)
}

// PseudonymKey asks the node which pseudonym scheme and key its genesis
// names (GET /v1/pseudonyms/key, public).
func (c *Client) PseudonymKey(ctx context.Context) (*api.PseudonymKey, error) {
	var k api.PseudonymKey
	return &k, c.do(ctx, "GET", "/v1/pseudonyms/key", nil, &k)
}
