package client

import (
	"context"
	"fmt"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/ledger"
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
