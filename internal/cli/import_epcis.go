package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/epcis"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/supply"
)

// epcisImport is "import --format epcis": each object event of an EPCIS
// 2.0 document becomes a supply step (supply.FromEPCIS), signed with the
// --as custodian's key and submitted to --node, in document order. An
// event the ledger cannot hold, or refuses, is reported with its index
// and reason; the others go on.
type epcisImport struct {
	parties []string // ID=KEY
	to      string
}

func (o *epcisImport) run(e *env, nodeURL string, in io.Reader) error {
	if nodeURL == "" || e.as == "" {
		return fmt.Errorf("--format epcis: give --node URL and --as KEY (the custodian whose steps the document holds)")
	}
	ps := supply.Parties{Keys: map[string][32]byte{}}
	for _, p := range o.parties {
		id, k, ok := strings.Cut(p, "=")
		if !ok || id == "" {
			return fmt.Errorf("--party %q: ID=KEY (a destination's ID as the document writes it, a custodian's public key)", p)
		}
		key, err := parseKeyHex("--party "+id, k)
		if err != nil {
			return err
		}
		ps.Keys[id] = key
	}
	if o.to != "" {
		k, err := parseKeyHex("--to", o.to)
		if err != nil {
			return err
		}
		ps.To = k
	}
	events, err := epcis.Decode(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Minute)
	defer cancel()
	cl, st, err := e.signedOn(ctx, nodeURL, e.as)
	if err != nil {
		return err
	}
	accepted := 0
	var rejections []string
	for i, ev := range events {
		b, err := supply.FromEPCIS(ev, ps, i)
		if err == nil {
			tx := ledger.NewTx(b)
			tx.Sign(st.ChainID, cl.Key)
			var res *submitted
			if r, serr := cl.SubmitOne(ctx, tx.Bytes()); serr != nil {
				err = serr
			} else {
				res = &submitted{Tx: r.Tx, Height: r.Height}
				accepted++
				fmt.Fprintf(e.stdout, "event %d: %s of %d item(s): tx %s at height %d\n", i, b.Step, len(b.Items), res.Tx, res.Height)
			}
		}
		if err != nil {
			rejections = append(rejections, fmt.Sprintf("event %d: %v", i, err))
		}
	}
	fmt.Fprintf(e.stdout, "%d events: %d accepted, %d rejected\n", len(events), accepted, len(rejections))
	for _, r := range rejections {
		fmt.Fprintf(e.stdout, "  %s\n", r)
	}
	return nil
}
