package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/consortium"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	regionpkg "github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/report"
)

// First reports straight from the doctor (issue 16, docs/WARNING.md):
// hospitals register their doctors, doctors file report cards, the
// hospital and the CDC review them; anyone reads the daily counts.

func (e *env) doctorCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Register a doctor's key for a hospital, or withdraw it (the hospital's key)",
		Long: `A doctor files report cards with a key of their own, which their hospital
registers (signed with the hospital's key, role hospital) for one of its
reporting units. The doctor holds the role doctor from the next block on;
withdrawn, the key files nothing more.`,
	}
	for _, revoke := range []bool{false, true} {
		var nodeURL, keyFile, doctor, unit string
		sub := &cobra.Command{
			Use:     "register --node URL --key HOSPITAL.key --doctor PUBLIC_KEY --unit UNIT",
			Short:   "Register a doctor's key for a reporting unit of the hospital",
			Example: `  epiledger doctor register --node http://127.0.0.1:7070 --key jinyintan.key --doctor 5be1...9a --unit 420106-jinyintan`,
			Args:    cobra.NoArgs,
		}
		if revoke {
			sub.Use, sub.Short = "revoke --node URL --key HOSPITAL.key --doctor PUBLIC_KEY", "Withdraw a doctor's key"
			sub.Example = `  epiledger doctor revoke --node http://127.0.0.1:7070 --key jinyintan.key --doctor 5be1...9a`
		}
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			k, err := hex.DecodeString(doctor)
			if err != nil || len(k) != 32 {
				return fmt.Errorf("--doctor: want the doctor's public key, 64 hex digits (epiledger keygen prints it)")
			}
			b := &ledger.RegisterDoctor{Key: [32]byte(k), Unit: unit, Revoke: revoke}
			res, err := e.signAndSubmit(nodeURL, keyFile, b)
			if err != nil {
				return err
			}
			what := "registered for " + unit
			if revoke {
				what = "withdrawn"
			}
			fmt.Fprintf(e.stdout, "doctor %s %s: tx %s at height %d\n", doctor[:16], what, res.Tx, res.Height)
			return nil
		}
		sub.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
		sub.Flags().StringVar(&keyFile, "key", "", "the hospital's key file (role hospital) (required)")
		sub.Flags().StringVar(&doctor, "doctor", "", "the doctor's public key, hex (required)")
		sub.MarkFlagRequired("node")
		sub.MarkFlagRequired("key")
		sub.MarkFlagRequired("doctor")
		if !revoke {
			sub.Flags().StringVar(&unit, "unit", "", "the hospital's reporting unit the doctor reports for (required)")
			sub.MarkFlagRequired("unit")
		}
		c.AddCommand(sub)
	}
	return c
}

// signAndSubmit builds body (checked as the ledger checks it), signs it
// with keyFile for the chain of nodeURL and waits for its block.
func (e *env) signAndSubmit(nodeURL, keyFile string, b ledger.Body) (*submitted, error) {
	tx, err := ledger.Build(b)
	if err != nil {
		return nil, flagErr(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	cl, st, err := e.signedOn(ctx, nodeURL, keyFile)
	if err != nil {
		return nil, err
	}
	tx.Sign(st.ChainID, cl.Key)
	res, err := cl.SubmitOne(ctx, tx.Bytes())
	if err != nil {
		return nil, nodeErr(err, nodeURL)
	}
	return &submitted{Tx: res.Tx, Height: res.Height}, nil
}

// submitted is a committed transaction.
type submitted struct {
	Tx     string
	Height uint64
}

// cardFlags are the flags that say what a card says.
type cardFlags struct {
	patient, disease, class, onset, sex, home, place string
	age                                              int
}

func (f *cardFlags) add(c *cobra.Command, required bool) {
	c.Flags().StringVar(&f.patient, "patient", "", "the patient: id:<ID number>, phone:<number> (turned into a pseudonym by the node, never sent on) or pn:<pseudonym>")
	c.Flags().StringVar(&f.disease, "disease", "", "the disease: "+strings.Join(ledger.Diseases, ", "))
	c.Flags().StringVar(&f.class, "class", "suspected", "the classification: suspected, clinical or confirmed")
	c.Flags().StringVar(&f.onset, "onset", "", "the onset date, YYYY-MM-DD")
	c.Flags().IntVar(&f.age, "age", -1, "the patient's age in years (kept as a five-year band); unknown if not given")
	c.Flags().StringVar(&f.sex, "sex", "u", "f, m or u (unknown)")
	c.Flags().StringVar(&f.home, "home", "", "the patient's home district, a six-digit GB/T 2260 code")
	c.Flags().StringVar(&f.place, "place", "", "where the patient lives (or was found), LAT,LON in degrees: kept to 0.01 degree (about 1 km),\nfor space-time cluster rules; none if not given (\"none\" takes it off in a review)")
	if required {
		for _, n := range []string{"patient", "disease", "onset", "home"} {
			c.MarkFlagRequired(n)
		}
	}
}

// fields are what the flags say, the patient made a pseudonym by cl.
func (f *cardFlags) fields(ctx context.Context, cl *client.Client) (ledger.CardFields, error) {
	out := ledger.CardFields{Disease: f.disease, Class: f.class, Onset: f.onset, Sex: f.sex, Home: f.home, AgeBand: ledger.AgeUnknown}
	switch {
	case f.age > 130:
		return out, fmt.Errorf("--age %d: want years, 0 to 130", f.age)
	case f.age >= 0:
		out.AgeBand = uint8(min(f.age/5, ledger.MaxAgeBand))
	}
	if f.place != "" && f.place != "none" {
		cell, err := parseCell(f.place)
		if err != nil {
			return out, fmt.Errorf("--place %q: %w", f.place, err)
		}
		out.Placed, out.Place = true, cell
	}
	if h, ok := strings.CutPrefix(f.patient, node.PseudonymRef); ok {
		ps, err := ledger.ParseHash(h)
		if err != nil {
			return out, fmt.Errorf("--patient: pn: and 64 hex digits")
		}
		out.Patient = ledger.Pseudonym(ps)
		return out, nil
	}
	refs, err := cl.Pseudonyms(ctx, []string{f.patient})
	if err != nil {
		return out, fmt.Errorf("--patient: %w", err)
	}
	if len(refs) != 1 || refs[0].Alias {
		return out, withHint(fmt.Errorf("--patient: the node gave no pseudonym of the patient's own id"), "name the patient by id:<ID number> or pn:<pseudonym>")
	}
	out.Patient = refs[0].Ref
	return out, nil
}

func (e *env) cardCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "card",
		Short: "Report cards: a doctor's first report, its reviews, and reading one (issue 16)",
		Long: `A doctor files a report card as soon as they suspect a case: it is on the
chain, counted and visible to the district CDC in the block that holds it,
with no review to wait for. The reporting hospital (its key) and the CDC
(investigators) then review it: verified, supplemented, revised or
discarded, each review a new signed version naming the one before. The
public counts (epiledger stats) follow every version.`,
	}
	c.AddCommand(e.cardReportCmd(), e.cardReviewCmd(), e.cardShowCmd())
	return c
}

func (e *env) cardReportCmd() *cobra.Command {
	var nodeURL, keyFile string
	var f cardFlags
	c := &cobra.Command{
		Use:   "report --node URL --key DOCTOR.key --patient REF --disease D --onset DATE --home CODE [--class C] [--age N] [--sex S] [--place LAT,LON]",
		Short: "File a report card (a doctor)",
		Example: `  epiledger card report --node http://127.0.0.1:7070 --key dr-zhang.key --patient id:420106196301012345 \
    --disease pneumonia-unknown --class suspected --onset 2019-12-27 --age 57 --sex m --home 420106 --place 30.62,114.26`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			cl, _, err := e.signedOn(ctx, nodeURL, keyFile)
			if err != nil {
				return err
			}
			fields, err := f.fields(ctx, cl)
			if err != nil {
				return err
			}
			res, err := e.signAndSubmit(nodeURL, keyFile, &ledger.ReportCard{CardFields: fields})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "card %s filed at height %d: %s, %s, home %s\n", res.Tx, res.Height, fields.Disease, fields.Class, fields.Home)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the doctor's key file, registered by the hospital (required)")
	c.MarkFlagRequired("node")
	c.MarkFlagRequired("key")
	f.add(c, true)
	return c
}

func (e *env) cardReviewCmd() *cobra.Command {
	var nodeURL, keyFile, action, reason string
	var f cardFlags
	c := &cobra.Command{
		Use:   "review CARD --node URL --key KEY --action A [--reason TEXT] [what changes]",
		Short: "Review a report card: verified, supplemented, revised or discarded (its hospital, the CDC)",
		Long: `review reads card CARD as it now stands (its latest version: the key
reads it, audited, so it needs --case and --purpose) and signs the next
version with --key: the reporting hospital's key or an investigator's.
--action verified confirms it as it is; discarded takes it out of the
counts; supplemented and revised change what it says: give the fields
that change (--class, --onset, --disease, --home, --place, --age, --sex,
--patient), the others stay. A change or discard says why (--reason, naming no
person).`,
		Example: `  epiledger card review 3f1c...e9 --node http://127.0.0.1:7070 --key cdc.key --case C-1 --purpose review \
    --action revised --class confirmed --reason "PCR positive"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ledger.ParseHash(args[0])
			if err != nil {
				return fmt.Errorf("CARD: %w", err)
			}
			if !slices.Contains(ledger.ReviewActions, action) {
				return fmt.Errorf("--action %q: verified, supplemented, revised or discarded", action)
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			cl, _, err := e.signedOn(ctx, nodeURL, keyFile)
			if err != nil {
				return err
			}
			cur, err := cl.Card(ctx, id.String())
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			prev, err := ledger.ParseHash(cur.Versions[len(cur.Versions)-1])
			if err != nil {
				return fmt.Errorf("the card's latest version: %w", err)
			}
			b := &ledger.CardReview{Card: id, Prev: prev, Action: action, Reason: reason}
			if b.Changes() {
				if b.Fields, err = f.changed(ctx, cmd, cl, cur); err != nil {
					return err
				}
			}
			res, err := e.signAndSubmit(nodeURL, keyFile, b)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "card %s %s: version %d, tx %s at height %d\n", args[0][:16], action, len(cur.Versions), res.Tx, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&keyFile, "key", "", "the reviewing key file: the reporting hospital's, or an investigator's (required)")
	c.Flags().StringVar(&action, "action", "", "verified, supplemented, revised or discarded (required)")
	c.Flags().StringVar(&reason, "reason", "", "why it changes or is discarded, naming no person")
	c.MarkFlagRequired("node")
	c.MarkFlagRequired("key")
	c.MarkFlagRequired("action")
	f.add(c, false)
	return c
}

// changed is cur's fields with those the flags set.
func (f *cardFlags) changed(ctx context.Context, cmd *cobra.Command, cl *client.Client, cur *report.CardView) (ledger.CardFields, error) {
	set := cmd.Flags().Changed
	g := *f
	for name, keep := range map[string]struct {
		p   *string
		cur string
	}{"disease": {&g.disease, cur.Disease}, "class": {&g.class, cur.Classification}, "onset": {&g.onset, cur.Onset},
		"sex": {&g.sex, cur.Sex}, "home": {&g.home, cur.Home}, "patient": {&g.patient, cur.Patient}, "place": {&g.place, cur.Place}} {
		if !set(name) {
			*keep.p = keep.cur
		}
	}
	out, err := g.fields(ctx, cl)
	if err != nil {
		return out, err
	}
	if !set("age") {
		out.AgeBand = report.AgeBandOf(cur.AgeBand)
	}
	return out, nil
}

func (e *env) cardShowCmd() *cobra.Command {
	var dir, nodeURL string
	var asJSON bool
	c := &cobra.Command{
		Use:   "show CARD --node URL --as KEY --case C --purpose P",
		Short: "A report card as it now stands, with its versions (the CDC; a hospital its own; audited)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := ledger.ParseHash(args[0]); err != nil {
				return fmt.Errorf("CARD: %w", err)
			}
			v, err := ask(e, dir, nodeURL, func(cl *client.Client) (*report.CardView, error) { return cl.Card(e.ctx, args[0]) })
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(v)
			}
			place := ""
			if v.Place != "" {
				place = ", place " + v.Place
			}
			fmt.Fprintf(e.stdout, "card %s: %s, %s, onset %s\npatient %s, age %s, sex %s, home %s%s\nreported %s by unit %s (doctor %s)\nstatus %s, %d version(s):\n",
				v.ID, v.Disease, v.Classification, v.Onset, v.Patient, v.AgeBand, v.Sex, v.Home, place, v.Reported, v.Unit, v.Doctor[:16], v.Status, len(v.Versions))
			for i, t := range v.Versions {
				fmt.Fprintf(e.stdout, "  %d  %s\n", i, t)
			}
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&nodeURL, "node", "", "ask the running node at this URL")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's format)")
	return c
}

// parseCell reads LAT,LON in degrees as its 0.01-degree cell.
func parseCell(s string) (ledger.Cell, error) {
	la, lo, ok := strings.Cut(s, ",")
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(la), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
	if !ok || err1 != nil || err2 != nil {
		return ledger.Cell{}, fmt.Errorf("want LAT,LON in degrees, e.g. 30.59,114.30")
	}
	return ledger.CellOf(lat, lon)
}

func (e *env) statsCmd() *cobra.Command {
	var nodeURL, region, disease, from, to string
	var csv bool
	c := &cobra.Command{
		Use:   "stats --node URL --disease D --from DATE --to DATE [--region CODE] [--csv]",
		Short: "The open statistics: a disease's cases reported per day, by classification (no login)",
		Long: `stats reads GET /v1/public/stats: the cases of --disease reported each day
(reporting days at +08:00) from --from to --to whose patients live in
--region (by default the chain's own; any GB/T 2260 code, summed over its
districts), by classification, with the running total. Counts only;
anyone may read them. "stats proof" gets one day's figures with the
proofs of their publications; "stats check" checks such a file offline.`,
		Example: `  epiledger stats --node http://127.0.0.1:7070 --disease pneumonia-unknown --from 2019-12-01 --to 2020-01-31`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			st, err := client.New(nodeURL, "").Stats(ctx, region, disease, from, to)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			if csv {
				_, err := e.stdout.Write(st.CSV())
				return err
			}
			fmt.Fprintf(e.stdout, "%s in %s, %s to %s: %d day(s) with reports\n", st.Disease, st.Region, st.From, st.To, len(st.Days))
			fmt.Fprintf(e.stdout, "%-10s  %9s  %8s  %9s  %5s  %10s\n", "DATE", "SUSPECTED", "CLINICAL", "CONFIRMED", "NEW", "CUMULATIVE")
			for _, d := range st.Days {
				fmt.Fprintf(e.stdout, "%-10s  %9d  %8d  %9d  %5d  %10d\n", d.Date, d.Suspected, d.Clinical, d.Confirmed, d.New, d.Cumulative)
			}
			return nil
		},
	}
	c.AddCommand(e.statsProofCmd(), e.statsCheckCmd())
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&disease, "disease", "", "the disease (required): "+strings.Join(ledger.Diseases, ", "))
	c.Flags().StringVar(&from, "from", "", "the first day, YYYY-MM-DD (required)")
	c.Flags().StringVar(&to, "to", "", "the last day, YYYY-MM-DD (required)")
	c.Flags().StringVar(&region, "region", "", "the region counted (default: the chain's)")
	c.Flags().BoolVar(&csv, "csv", false, "print CSV")
	for _, n := range []string{"node", "disease", "from", "to"} {
		c.MarkFlagRequired(n)
	}
	return c
}

func (e *env) statsProofCmd() *cobra.Command {
	var nodeURL, region, disease, date string
	c := &cobra.Command{
		Use:   "proof --node URL --disease D --date DATE [--region CODE] > FILE",
		Short: "One day's figures with the proofs of their publications (no login)",
		Long: `proof reads GET /v1/public/stats/proof: the figures of --disease on --date
in --region (by default the chain's), as the sum of its districts'
published buckets, each with its publication's inclusion proof and its
earlier versions (the node publishes a bucket that changed first). Check
the file offline with "epiledger stats check FILE".`,
		Example: `  epiledger stats proof --node http://127.0.0.1:7070 --disease pneumonia-unknown --date 2020-01-20 > day.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			cl := client.New(nodeURL, "")
			var p *api.StatsProof
			_, err := whenSigned(ctx, func() (*consortium.TxProof, error) {
				var err error
				p, err = cl.StatsProof(ctx, region, disease, date)
				return nil, err
			})
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			return e.printJSON(p)
		},
	}
	c.Flags().StringVar(&nodeURL, "node", "", "a node of the chain (required)")
	c.Flags().StringVar(&disease, "disease", "", "the disease (required)")
	c.Flags().StringVar(&date, "date", "", "the reporting day, YYYY-MM-DD (required)")
	c.Flags().StringVar(&region, "region", "", "the region counted (default: the chain's)")
	for _, n := range []string{"node", "disease", "date"} {
		c.MarkFlagRequired(n)
	}
	return c
}

func (e *env) statsCheckCmd() *cobra.Command {
	var genesis string
	c := &cobra.Command{
		Use:   "check FILE [--genesis COMETBFT_GENESIS]",
		Short: "Check a day's figures offline: each publication in its block, the sum",
		Long: `check reads a file of "epiledger stats proof" and checks, with nothing but
the file: each district bucket's publication is a leaf of its block (and,
with --genesis, signed by the consortium, as "tx check"), its figures,
disease, district, day and version are the file's, its history ends with
it; and the file's figures are the sum of the buckets. Then compare each
block it names with a header of that chain you trust. Exit status 0:
valid; 1: INVALID (or not checked).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			g, err := readConsortiumGenesis(genesis)
			if err != nil {
				return err
			}
			invalid := e.invalid
			var sp api.StatsProof
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&sp); err != nil {
				return invalid(fmt.Errorf("not a stats proof: %w", err))
			}
			day, err := ledgerDate(sp.Date)
			if err != nil {
				return invalid(err)
			}
			within, err := regionpkg.Parse(sp.Region)
			if err != nil {
				return invalid(fmt.Errorf("region: %w", err))
			}
			var sum [3]uint32
			for _, bk := range sp.Buckets {
				raw, err := json.Marshal(bk.Proof)
				if err != nil {
					return err
				}
				p, r, err := checkTxProof(raw, g)
				if err != nil {
					return e.invalid(fmt.Errorf("district %s: %w", bk.District, err))
				}
				t, err := ledger.DecodeTx(p.Tx)
				if err != nil {
					return invalid(err)
				}
				ps, ok := t.Body.(*ledger.PublishStats)
				switch {
				case !ok:
					return invalid(fmt.Errorf("district %s: the proven transaction is a %s, not a publication", bk.District, t.Body.Kind()))
				case ps.Disease != sp.Disease || ps.Region != bk.District || ps.Day != day || ps.Version != bk.Version:
					return invalid(fmt.Errorf("district %s: the publication is of %s, %s, day %d, version %d", bk.District, ps.Disease, ps.Region, ps.Day, ps.Version))
				case !regionpkg.Code(bk.District).Within(within):
					return invalid(fmt.Errorf("district %s is not within %s", bk.District, sp.Region))
				case len(bk.History) == 0 || bk.History[len(bk.History)-1].Tx != p.TxID.String() || int(bk.Version) != len(bk.History):
					return invalid(fmt.Errorf("district %s: the history does not end with the proven publication", bk.District))
				}
				sum[0], sum[1], sum[2] = sum[0]+ps.Suspected, sum[1]+ps.Clinical, sum[2]+ps.Confirmed
				fmt.Fprintf(e.stdout, "ok: district %s: %d suspected, %d clinical, %d confirmed (version %d of %d), publication %s in block %d (hash %s)\n",
					bk.District, ps.Suspected, ps.Clinical, ps.Confirmed, ps.Version, len(bk.History), p.TxID, p.Header.Height, p.Header.Hash())
				if r != nil {
					fmt.Fprintf(e.stdout, "ok: consortium %s signed block %d (%d of %d voting power)\n", r.ChainID, r.Height+1, r.Signed, r.Total)
				}
			}
			if sum != [3]uint32{sp.Suspected, sp.Clinical, sp.Confirmed} {
				return invalid(fmt.Errorf("the figures %d/%d/%d are not the buckets' sum %d/%d/%d", sp.Suspected, sp.Clinical, sp.Confirmed, sum[0], sum[1], sum[2]))
			}
			fmt.Fprintf(e.stdout, "ok: %s in %s on %s: %d suspected, %d clinical, %d confirmed, the sum of %d district bucket(s); compare each block with a header you trust\n",
				sp.Disease, sp.Region, sp.Date, sum[0], sum[1], sum[2], len(sp.Buckets))
			return nil
		},
	}
	c.Flags().StringVar(&genesis, "genesis", "", "the consortium's CometBFT genesis.json, for a consortium chain's proofs")
	return c
}

// ledgerDate is a YYYY-MM-DD date's day number.
func ledgerDate(s string) (uint32, error) {
	t, err := time.Parse(ledger.OnsetLayout, s)
	if err != nil {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return uint32(t.Unix() / 86400), nil
}
