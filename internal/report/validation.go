package report

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/blocks"
	"github.com/epiledger/epiledger/internal/feasibility"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
)

// resolveAny accepts a person reference ("id:...", an alias) or a
// pseudonym (64 hex digits).
func (b *Builder) resolveAny(ref string) (ledger.Pseudonym, error) {
	if !strings.Contains(ref, ":") {
		h, err := ledger.ParseHash(ref)
		if err != nil {
			return ledger.Pseudonym{}, &ndjson.FieldError{Field: "person", Msg: "must be a reference such as id:<canonical id> or phone:<number>, or a 64-hex-digit pseudonym"}
		}
		return ledger.Pseudonym(h), b.N.Seen("person", ledger.Pseudonym(h), ledger.Pseudonym(h))
	}
	return b.N.Resolve("person", ref)
}

// PersonChain checks a person-chain request and returns its read: the
// person's chain for the window, with every proof needed to check it
// offline.
func (b *Builder) PersonChain(q Query) (*node.Read[*blocks.PersonChainView], error) {
	if err := q.check(false, false); err != nil {
		return nil, err
	}
	w, err := b.window(q)
	if err != nil {
		return nil, err
	}
	p, err := b.resolveAny(q.Person)
	if err != nil {
		return nil, err
	}
	if w, err = PersonWindow(b.N, w, p); err != nil {
		return nil, err
	}
	return node.NewRead(b.N, subject("validate person-chain", p, w), func(rc *node.Receipt) (*blocks.PersonChainView, error) {
		return b.personChain(rc, p, w)
	}), nil
}

func (b *Builder) personChain(rc *node.Receipt, p ledger.Pseudonym, w Window) (*blocks.PersonChainView, error) {
	// The whole chain in one scan: its length is that of the blocks read.
	all, err := b.N.Query.PersonBlocks(p, math.MinInt64, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	for i, pb := range all {
		if pb.Seq != uint64(i) {
			return nil, fmt.Errorf("%w: person chain of %s: block %d at position %d", store.ErrCorrupt, p.String()[:16], pb.Seq, i)
		}
	}
	// The period's blocks: from the first whose window overlaps it to the
	// last, with every block between (a late record's block, sealed when
	// it arrived, may lie outside the period), and the blocks just before
	// and after them, by their headers, so that a verifier sees that none
	// of the period's is missing at either end.
	first, last := -1, -1
	for i, pb := range all {
		if blocks.InPeriod(pb.WindowStart, pb.WindowEnd, w.From.Unix(), w.To.Unix()) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	id, err := b.realID(rc, p)
	if err != nil {
		return nil, err
	}
	out := &blocks.PersonChainView{Person: id, Pseudonym: p.String(), From: b.ts(w.From.Unix()), To: b.ts(w.To.Unix()),
		Blocks: []blocks.PersonBlockView{}, Bindings: []blocks.ProofView{}, ChainLength: uint64(len(all))}
	header := func(pb *ledger.PersonBlock) *blocks.PersonBlockView {
		return &blocks.PersonBlockView{Seq: pb.Seq, Hash: pb.Hash().String(), WindowStart: pb.WindowStart, WindowEnd: pb.WindowEnd,
			Bytes: base64.StdEncoding.EncodeToString(pb.HeaderBytes()), Entries: []blocks.ProofView{}}
	}
	if first >= 0 {
		if first > 0 {
			out.Before = header(all[first-1])
		}
		if last+1 < len(all) {
			out.After = header(all[last+1])
		}
		all = all[first : last+1]
	} else {
		all = nil
	}
	prover := b.prover()
	aliases := map[ledger.Pseudonym]bool{}
	for _, pb := range all {
		if !blocks.InPeriod(pb.WindowStart, pb.WindowEnd, w.From.Unix(), w.To.Unix()) {
			out.Blocks = append(out.Blocks, *header(pb))
			continue
		}
		bv := blocks.PersonBlockView{Seq: pb.Seq, Hash: pb.Hash().String(), WindowStart: pb.WindowStart, WindowEnd: pb.WindowEnd,
			Bytes: base64.StdEncoding.EncodeToString(pb.Bytes()), Entries: []blocks.ProofView{}}
		for _, e := range pb.Entries {
			pr, err := prover.Prove(e)
			if err != nil {
				return nil, err
			}
			bv.Entries = append(bv.Entries, blocks.ProofJSON(pr))
			tx, err := ledger.DecodeTx(pr.Tx)
			if err != nil {
				return nil, err
			}
			if v, ok := tx.Body.(*ledger.Visit); ok && v.Person.Alias {
				aliases[v.Person.Ref] = true
			}
			if m, ok := tx.Body.(*ledger.Move); ok && m.Person.Alias {
				aliases[m.Person.Ref] = true
			}
		}
		out.Blocks = append(out.Blocks, bv)
	}
	seen := map[ledger.Hash]bool{}
	for _, a := range sortedPseudonyms(aliases) {
		txid, ok, err := b.N.Query.Binding(a)
		if err != nil {
			return nil, err
		}
		if !ok || seen[txid] {
			continue
		}
		seen[txid] = true
		pr, err := prover.Prove(txid)
		if err != nil {
			return nil, err
		}
		out.Bindings = append(out.Bindings, blocks.ProofJSON(pr))
	}
	if len(out.Blocks) == 0 {
		note, err := EmptyNote(b.N, p, w, "person block")
		if err != nil {
			return nil, err
		}
		out.Note = note + "; a person block is sealed only when its window closes (validate close)"
	}
	return out, nil
}

// DecisionView is a validation decision as reports show it.
type DecisionView struct {
	WindowStart     string   `json:"window_start"`
	WindowEnd       string   `json:"window_end"`
	Height          uint64   `json:"height"`
	Chain           []string `json:"chain"`
	Rejected        []string `json:"rejected"`
	Rival           []string `json:"rival"`
	Weight          int64    `json:"weight"`
	RivalWeight     int64    `json:"rival_weight"`
	Z               int64    `json:"z"`
	Q               float64  `json:"q"`
	Probability     float64  `json:"probability"`
	PersonBlock     uint64   `json:"person_block"`
	PersonBlockHash string   `json:"person_block_hash"`
}

// Decisions lists the person's validation decisions.
type Decisions struct {
	Person    string `json:"person"`
	Pseudonym string `json:"pseudonym"`
	From      string `json:"from"`
	To        string `json:"to"`
	WindowBasis
	Decisions []DecisionView `json:"decisions"`
}

// Decisions checks a decisions request and returns its read, the decisions report: for every window of the person in
// which the longest-chain rule rejected records, the winning chain, the
// rejected records, the best rival, z and the probability that the rival
// is the true story.
func (b *Builder) Decisions(q Query) (*node.Read[*Decisions], error) {
	if err := q.check(false, false); err != nil {
		return nil, err
	}
	w, err := b.window(q)
	if err != nil {
		return nil, err
	}
	p, err := b.resolveAny(q.Person)
	if err != nil {
		return nil, err
	}
	if w, err = PersonWindow(b.N, w, p); err != nil {
		return nil, err
	}
	return node.NewRead(b.N, subject("validate decisions", p, w), func(rc *node.Receipt) (*Decisions, error) {
		return b.decisions(rc, p, w)
	}), nil
}

func (b *Builder) decisions(rc *node.Receipt, p ledger.Pseudonym, w Window) (*Decisions, error) {
	ds, err := b.N.Query.Decisions(p, w.From.Unix(), w.To.Unix()+int64(b.N.Home.Genesis.Params.Validation.Window/time.Second))
	if err != nil {
		return nil, err
	}
	id, err := b.realID(rc, p)
	if err != nil {
		return nil, err
	}
	out := &Decisions{Person: id, Pseudonym: p.String(), From: b.ts(w.From.Unix()), To: b.ts(w.To.Unix()), WindowBasis: w.WindowBasis, Decisions: []DecisionView{}}
	for _, d := range ds {
		if d.WindowStart > w.To.Unix() {
			continue
		}
		out.Decisions = append(out.Decisions, b.decisionView(d))
	}
	return out, nil
}

func (b *Builder) decisionView(d *state.Decision) DecisionView {
	q := b.N.Home.Genesis.Params.Validation.Q
	hex := func(hs []ledger.Hash) []string {
		out := make([]string, len(hs))
		for i, h := range hs {
			out[i] = h.String()
		}
		return out
	}
	return DecisionView{WindowStart: b.ts(d.WindowStart), WindowEnd: b.ts(d.WindowEnd), Height: d.Height, Chain: hex(d.Chain),
		Rejected: hex(d.Rejected), Rival: hex(d.Rival), Weight: d.Weight, RivalWeight: d.RivalWeight, Z: d.Z, Q: q,
		Probability: feasibility.CatchUp(q, int(d.Z)), PersonBlock: d.PersonBlock, PersonBlockHash: d.PersonBlockH.String()}
}

// ProbabilityRow is one row of the catch-up table.
type ProbabilityRow struct {
	Z int     `json:"z"`
	P float64 `json:"p"`
}

// MaxProbabilityZ and MaxProbabilityRows bound a catch-up table: z in
// [0, MaxProbabilityZ], at most MaxProbabilityRows rows. A row costs about
// 20 sqrt(z) steps, so the largest table is about 60 million steps (50 to
// 120 ms on one core).
const (
	MaxProbabilityZ    = 100_000
	MaxProbabilityRows = 10_000
)

// ProbabilityTable computes eq. (4) for z in [from, to], which
// ParseProbability checks (a *record.FieldError otherwise). It stops with
// ctx's error once ctx is done.
func ProbabilityTable(ctx context.Context, q float64, from, to int) ([]ProbabilityRow, error) {
	if err := checkProbability(q, from, to); err != nil {
		return nil, err
	}
	out := make([]ProbabilityRow, 0, to-from+1)
	for z := from; z <= to; z++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out = append(out, ProbabilityRow{Z: z, P: feasibility.CatchUp(q, z)})
	}
	return out, nil
}
func sortedPseudonyms(m map[ledger.Pseudonym]bool) []ledger.Pseudonym {
	out := make([]ledger.Pseudonym, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && string(out[j][:]) < string(out[j-1][:]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// WriteDecisions prints decisions as text.
func WriteDecisions(w interface{ Write([]byte) (int, error) }, d *Decisions) {
	fmt.Fprintf(w, "Validation decisions for %s from %s to %s: %d\n%s", name(d.Person, d.Pseudonym), short(d.From), short(d.To), len(d.Decisions), d.WindowBasis.Line())
	if len(d.Decisions) == 0 {
		// A decision is kept only for a window where the longest-chain rule
		// had to choose: say so, lest none read as nothing checked.
		fmt.Fprintf(w, "No window of this period had records in conflict: every closed window kept all its records (an open window is decided when it closes; validate close)\n")
	}
	for _, x := range d.Decisions {
		fmt.Fprintf(w, "\nwindow %s to %s (decided at block %d, person block #%d %s…)\n", short(x.WindowStart), short(x.WindowEnd), x.Height, x.PersonBlock, x.PersonBlockHash[:12])
		fmt.Fprintf(w, "  winner: %d records, weight %d\n  rival:  %d records, weight %d\n  z = %d, P(rival is true) = %.7f at q = %g\n", len(x.Chain), x.Weight, len(x.Rival), x.RivalWeight, x.Z, x.Probability, x.Q)
		for _, r := range x.Rejected {
			fmt.Fprintf(w, "  rejected tx %s\n", r)
		}
	}
}

// ParseProbability parses --q and --z (the API's q and z): q a number
// in (0, 1), 0.1 when empty; z "N" or "N..M", 1..10 when empty, with
// 0 <= N <= M <= MaxProbabilityZ and at most MaxProbabilityRows rows. A
// bad value is a *record.FieldError naming q or z.
func ParseProbability(qs, zs string) (q float64, from, to int, err error) {
	q = 0.1
	if qs != "" {
		if q, err = strconv.ParseFloat(qs, 64); err != nil || !(q > 0 && q < 1) {
			return 0, 0, 0, &ndjson.FieldError{Field: "q", Msg: "must be a probability in (0, 1), e.g. 0.1"}
		}
	}
	from, to = 1, 10
	if zs != "" {
		a, b, found := strings.Cut(zs, "..")
		if !found {
			b = a
		}
		var err1, err2 error
		from, err1 = strconv.Atoi(a)
		to, err2 = strconv.Atoi(b)
		if err1 != nil || err2 != nil {
			return 0, 0, 0, &ndjson.FieldError{Field: "z", Msg: "must be N or N..M (whole numbers)"}
		}
	}
	if err := checkProbability(q, from, to); err != nil {
		return 0, 0, 0, err
	}
	return q, from, to, nil
}

func checkProbability(q float64, from, to int) error {
	switch {
	case !(q > 0 && q < 1):
		return &ndjson.FieldError{Field: "q", Msg: "must be a probability in (0, 1), e.g. 0.1"}
	case from < 0 || to < from || to > MaxProbabilityZ:
		return &ndjson.FieldError{Field: "z", Msg: fmt.Sprintf("must be N or N..M with 0 <= N <= M <= %d", MaxProbabilityZ)}
	case to-from >= MaxProbabilityRows:
		return &ndjson.FieldError{Field: "z", Msg: fmt.Sprintf("at most %d rows: N..M with M - N < %d", MaxProbabilityRows, MaxProbabilityRows)}
	}
	return nil
}
