package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
)

func nodeOptions() node.Options { return node.Options{} }

func (e *env) importCmd() *cobra.Command {
	var dir, nodeURL, format, spStart string
	var asJSON, quiet bool
	var pf pseudonymFlags
	var ep epcisImport
	c := &cobra.Command{
		Use:   "import --home DIR [--node URL [--as KEY [--pseudonym-key HEX] [--seal-ids]]] [--format ndjson|sociopatterns --start T|epcis] FILE",
		Short: "Load NDJSON records into the ledger, signed by the sites that record them",
		Long: `import reads NDJSON (one JSON object per line; FILE "-" is standard input)
and submits each record as a signed transaction, in file order:

  {"type":"site","site":"G1234/05","kind":"train_carriage","lat":30.59,"lon":114.30,"region":"420100","parent":"G1234"}
  {"type":"identity","id":"420100199001011234","aliases":["phone:13800000000","plate:鄂A12345"]}
  {"type":"visit","site":"G1234/05","person":"id:420100199001011234","in":"2020-01-20T08:00:00+08:00","out":"2020-01-20T12:00:00+08:00","via":"id_card"}
  {"type":"move","person":"id:...","from":"G1234/05","to":"taxi-1","depart":"...","arrive":"..."}
  {"type":"case","person":"id:...","status":"confirmed","onset":"2020-01-20","reported":"...","by":"hospital-1"}
  {"type":"tx","tx":"<base64 of a transaction signed elsewhere>"}

A site record creates the site's key in the home's keystore; the authority
signs sites and identities, each site signs its own visits, both sites sign
a move, the hospital signs a case. Persons become pseudonyms before anything
leaves this process; canonical ids are sealed into the authority's vault.

A site record may carry "key", the public key (64 hex digits, as "epiledger
keygen" prints it) of a site whose operator holds the private key: the site
is registered with it, and this home keeps no key for it.

A site operator or a hospital imports its own records with nothing but its
key file, from any directory (no home): --node URL --as site.key. The key
must hold the site or hospital role and be the registered key of the sites
its records name: it signs every record. On a chain whose genesis names a
VOPRF pseudonym key (every chain "epiledger init" makes), the persons'
references never leave this machine: each is blinded here, the node
evaluates the blinded elements (POST /v1/pseudonyms/oblivious), and its
proof is checked against --pseudonym-key HEX (pseudonyms.public_key in the
chain's genesis.json; without it, the key the node names, printed to
compare): a proof that does not verify stops the import before anything is
submitted. The node then holds no raw id of these persons in its vault.
With --seal-ids, or on a chain of HMAC pseudonyms, the node is sent the
references (POST /v1/pseudonyms), makes the pseudonyms and seals the ids
into its vault. Either way each reference counts against the key's daily
quota. A record of a site registered with another key is rejected
(wrong_signer); a site or identity record, which only the chain authority
signs, is rejected (authority_only): import those on the authority's home.

Without --node the import runs an engine in this process on the home's store
(no node may be running on it); with --node it submits to a running node.
It ends with the counts of accepted and rejected records and one line per
rejection (line number, code, field, reason); the exit code is 0 even with
rejections, 1 if the import could not run.

--format sociopatterns --start RFC3339 loads SocioPatterns face-to-face data
(lines "t i j": badges i and j met during [start+t-20s, start+t]): the
consecutive windows of a pair become one encounter, badge N becomes the
person id:N, and one device site (kind device, named after the file) is
registered to sign them. Rejections name the line where a meeting starts.

--format epcis --node URL --as CUSTODIAN.key [--party ID=KEY...] [--to KEY]
reads a GS1 EPCIS 2.0 JSON(-LD) document (an EPCISDocument or an
EPCISQueryDocument) and submits each object event as a supply step signed
by the custodian (docs/SUPPLY.md): ADD commissions (the ILMD's lot and
expiry), OBSERVE shipping ships to the destination party --party maps to a
custodian's key (else --to), receiving receives the shipment under the
same business transaction, other OBSERVEs are scans, DELETE destroying
destroys and other DELETEs consume. Items are the epcList's SGTINs and the
quantityList's LGTINs in units. Each event the ledger cannot hold or
refuses is reported with its index and reason.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sp *importer.SocioPatterns
			if format != "epcis" {
				var err error
				if sp, err = socioPatternsOptions(format, spStart, args[0]); err != nil {
					return err
				}
			}
			var in io.Reader = e.stdin
			var size int64 = -1
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				if st, err := f.Stat(); err == nil {
					size = st.Size()
				}
				in = f
			}
			if format == "epcis" {
				return ep.run(e, nodeURL, in)
			}
			im, closeSink, err := e.importer(dir, nodeURL, pf)
			if err != nil {
				return err
			}
			defer closeSink()
			im.Progress = e.progress(size, quiet)
			start := time.Now()
			var res *importer.Result
			if sp != nil {
				res, err = im.ImportSocioPatterns(in, *sp)
			} else {
				res, err = im.Import(in)
			}
			if im.Progress != nil {
				im.Progress(-1, 0)
			}
			if err != nil && res != nil && res.Lines > 0 {
				// What came before the failure is on the ledger: say so,
				// so that a rerun is understood (its records are replays).
				return withHint(err, "the import stopped there: of the %d lines before it, %d were accepted and %d rejected, and stay so; a rerun reports the accepted ones as replay",
					res.Lines, res.Accepted, res.Rejected)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(res)
			}
			el := time.Since(start)
			fmt.Fprintf(e.stdout, "%d lines: %d accepted, %d rejected in %s (%.0f records/s)\n", res.Lines, res.Accepted, res.Rejected,
				el.Round(time.Millisecond), float64(res.Accepted+res.Rejected)/el.Seconds())
			for _, r := range res.Rejections {
				fmt.Fprintf(e.stdout, "  %s\n", r)
			}
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&nodeURL, "node", "", "submit to the node at this URL (e.g. http://127.0.0.1:7070) instead of opening the store here")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	c.Flags().StringVar(&format, "format", "ndjson", "input format: ndjson, sociopatterns or epcis")
	c.Flags().StringArrayVar(&ep.parties, "party", nil, "with --format epcis: ID=KEY, a destination party's ID as the document writes it and its custodian's public key; repeat for each")
	c.Flags().StringVar(&ep.to, "to", "", "with --format epcis: the receiving custodian's key for shipments whose destination no --party names")
	c.Flags().StringVar(&spStart, "start", "", "with --format sociopatterns: the time t = 0 stands for (RFC 3339)")
	pf.add(c)
	return c
}

// importer returns the importer of an import command and what closes its
// sink. With --node and --as and no home at dir, the --as key signs
// every record and the node makes the pseudonyms (e.resolver: obliviously
// on a chain whose genesis names a VOPRF key, unless --seal-ids; else
// POST /v1/pseudonyms): a site operator or a hospital imports from a
// directory holding only its key. Otherwise the home's keys sign, its
// secret makes the pseudonyms, and the records go to the node at nodeURL
// or to the home's own store.
func (e *env) importer(dir, nodeURL string, pf pseudonymFlags) (*importer.Importer, func() error, error) {
	none := func() error { return nil }
	if _, err := home.Load(dir); err != nil && nodeURL != "" && e.as != "" {
		cl, err := e.nodeClient(dir, nodeURL)
		if err != nil {
			return nil, nil, err
		}
		// The key's role is checked before anything is read or sent.
		if _, err := cl.Status(e.ctx); err != nil {
			return nil, nil, withHint(err, "the administrator grants the key the site or hospital role: epiledger role grant --key PUBLIC_KEY --role site")
		}
		resolve, err := e.resolver(cl, pf)
		if err != nil {
			return nil, nil, err
		}
		pseudonyms := importer.ResolverFunc(func(refs []string) ([]ledger.PersonRef, error) { return resolve(e.ctx, refs) })
		return importer.NewWith(importer.KeySigner{Chain: cl.ChainID, Key: cl.Key}, pseudonyms, cl), none, nil
	}
	h, err := loadHome(dir)
	if err != nil && nodeURL != "" {
		return nil, nil, withHint(fmt.Errorf("no home at %s: with --node, a site or a hospital imports with its own key: add --as KEY", dir),
			"or pass the authority's --home DIR")
	}
	if err != nil {
		return nil, nil, err
	}
	if nodeURL != "" {
		cl, err := e.remote(h, nodeURL)
		if err != nil {
			return nil, nil, err
		}
		if _, err := cl.Status(e.ctx); err != nil {
			return nil, nil, withHint(err, "is the node running? start it with: epiledger node --home %s", dir)
		}
		return importer.New(h, cl), none, nil
	}
	n, err := e.openNode(h, nodeOptions())
	if err != nil {
		return nil, nil, err
	}
	return importer.New(h, importer.EngineSink{Node: n}), n.Close, nil
}

// progress returns a progress callback: a bar on a terminal, plain lines
// every few seconds otherwise. Called with bytes < 0 it finishes.
func (e *env) progress(size int64, quiet bool) func(int64, int) {
	if quiet {
		return nil
	}
	f, ok := e.stderr.(*os.File)
	if ok && term.IsTerminal(int(f.Fd())) && size > 0 {
		bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(f), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("importing"), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		return func(b int64, lines int) {
			if b < 0 {
				bar.Finish()
				return
			}
			bar.Set64(b)
		}
	}
	last := time.Now()
	return func(b int64, lines int) {
		if b < 0 || time.Since(last) < 5*time.Second {
			return
		}
		last = time.Now()
		if size > 0 {
			fmt.Fprintf(e.stderr, "importing: %d lines read (%.0f%%)\n", lines, 100*float64(b)/float64(size))
		} else {
			fmt.Fprintf(e.stderr, "importing: %d lines read\n", lines)
		}
	}
}
