package cli

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/home"
)

func (e *env) nodeCmd() *cobra.Command {
	var dir, listen, engineKind, cpuProfile, logFormat string
	var verbose bool
	c := &cobra.Command{
		Use:   "node --home DIR [--listen ADDR] [--engine solo|cometbft]",
		Short: "Run a node (solo engine, or a consortium's validator on CometBFT) and serve the HTTP API under /v1",
		Long: `node runs one node. With the solo engine (the embedded default) it decides
the blocks alone: it batches admitted transactions into blocks (as soon as
the previous block is durable, or when a block is full, at the latest every
engine.block_interval, default 200ms) and commits each block durably before
acknowledging it. With --engine cometbft (or engine.kind = "cometbft" in
config.toml) it is one validator of a consortium: CometBFT v0.38 orders the
transactions, more than 2/3 of the validators' voting power commits each
block, and every validator applies it with the same state machine; the
home's cometbft/ directory (written by epiledger testnet) holds its
CometBFT config, keys and genesis. A transaction is acknowledged once its
block is committed and durable on this node. Either way it serves the HTTP
API:

  GET  /v1/health                 status, height, head hash, state hash (public)
  GET  /v1/status                 the same                       (any role)
  GET  /v1/openapi.json           this API as an OpenAPI 3.1 document (public)
  POST /v1/txs    {"txs":[b64]}   submit signed transactions, results in order
                                          (site, hospital, doctor, administrator)
  POST /v1/tx     {"tx":b64}      submit one and wait for its block (the same)
  POST /v1/pseudonyms {"refs"}    the pseudonyms of persons to record, sealing
                                  new ids into the vault; quota per key
                                          (site, hospital, doctor, administrator)
  POST /v1/pseudonyms/oblivious {"blinded"}  the same without the references:
                                  blinded elements, evaluated with a proof;
                                  audited, same quota     (the same roles)
  GET  /v1/pseudonyms/key         the chain's pseudonym scheme and key (public)
  GET  /v1/public/stats          cases per day of ?disease=&from=&to=[&region=]
                                  [&format=csv], by classification (public)
  GET  /v1/public/stats/proof     one day's figures, published and proven (public)
  GET  /v1/public/supply/01/{gtin}/{ai}/{value}  an item's provenance and signals, proven (public)
  GET  /v1/public/supply/00/{sscc}  a logistic unit's (a pallet's), with what it holds (public)
  GET  /v1/public/needs           ?gtin=: hospitals' needs against charities' allocations, flags (public)
  GET  /v1/public/donations/{id}  a donation's path from pledge to delivery, proven (public)
  GET  /v1/public/donations       ?charity=|hospital=|gtin=: public totals and the donations counted (public)
  GET  /v1/public/attestations/{hash}  a content's attestations, the first its first publisher, proven (public)
  GET  /v1/tx/{hash}              a stored transaction
  GET  /v1/tx/{hash}/proof        its RFC 6962 inclusion proof
  GET  /v1/tx/{hash}/corrections  the corrections proposed for it
  GET  /v1/consortium/validators the validator set and its proposed changes
  GET  /v1/blocks/{height}        a block header
                                  (these five: investigator, auditor, administrator)
  POST /v1/trace/trajectory       {"person","from","to"}           (investigator)
  POST /v1/trace/contacts         {"person","from","to","min_overlap"} (investigator)
  POST /v1/trace/chain|sources|clusters|follow-up   investigations (investigator)
  GET  /v1/cases[?status=]        reported cases                   (investigator)
  GET  /v1/cards/{id}             a report card and its versions
                                           (investigator; a hospital its own)
  GET  /v1/rules                  the warning rules        (readers, n3, n2, n1)
  GET  /v1/alerts                 the alerts, response times (the same)
  GET  /v1/persons/{ref}/chain    a person chain with proofs       (investigator)
  POST /v1/validate/decisions     longest-chain decisions          (investigator)
  POST /v1/trace/risk-sites       publishable risk sites           (any role)
  GET  /v1/validate/probability   the rival chain's probability    (any role)
  GET  /v1/verify                 re-check the whole chain, one at a time
                                                  (auditor, administrator)
  GET  /v1/audit                  the audit trail        (auditor, administrator)
  GET  /v1/roles                  who holds which role   (auditor, administrator)
  GET  /v1/sites[?kind=]          registered sites, not homes (auditor, administrator)
  POST /v1/children               register a child region's chain  (administrator)
  GET  /v1/children               the child chains and their latest anchors
  GET  /v1/children/{chain}/anchors  a child's (or the parent's) anchored headers
  POST /v1/parent                 register this chain's parent     (administrator)
  GET  /v1/parent                 the parent and its latest anchor
  GET  /v1/light-blocks/{height}  a CometBFT chain's signed header, for relays
  GET  /v1/intel                  outbreak intelligence (details as secrecy allows)
  GET  /v1/intel/confirmations    confirmations made here, for relays
  GET  /v1/intel/{tx}             one intelligence record (?grant=ID: a reader from another region)
  GET  /v1/grants                 the national grants held here
  POST /v1/intel/policy           N2 endorsements a record needs   (administrator)
                                  (these three: investigator, auditor, administrator, relay)
  POST /v1/roles                  grant a role to a key            (administrator)
  POST /v1/validate/close         advance the validation clock     (administrator)
  PUT  /v1/vault                  sealed identities                (administrator)
  POST /v1/backup                 a copy of the store (epiledger backup)
                                                          (administrator)
  GET  /v1/public/risk-sites      risk sites as GeoJSON            (public)
  GET  /v1/console/challenge      a console login's challenge      (public)
  POST /v1/console/login          a signed challenge: a one-time URL (any role's key)
  GET  /v1/console/session        the console session's role and CSRF token
  POST /v1/console/logout         end it                 (the console's cookie)
  /v1/privacy/...                 set union/intersection, commitments, exposure
                                  check (docs/PRIVACY.md)

GET /metrics serves Prometheus's metrics, no personal data
(docs/OPERATIONS.md). GET / serves the console (epiledger console).

Every call but /v1/health and the privacy protocols' device routes is a
signed request by a key the administrator registered with a role (see
"epiledger role --help"; docs/API.md says who may call each route), or
carries the operator's bearer token (derived from the home's secret: the
chain authority, which holds every role). Every read of personal data first
commits an audit record (Epiledger-Case and Epiledger-Purpose headers).
Stop the node with Ctrl-C (SIGINT) or SIGTERM: it commits what it admitted,
then exits.

While it serves, the node holds the home's store and records itself in
HOME/node.json (pid, listen address, start time; removed when it stops
cleanly): a command run on the home without --node then says
"a node is running on this home (pid N, listening on ADDR): add --node http://ADDR".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log, err := e.loggerAs(level, logFormat)
			if err != nil {
				return err
			}
			h, err := loadHome(dir)
			if err != nil {
				return err
			}
			if listen == "" {
				listen = h.Config.Node.Listen
			}
			opts := nodeOptions()
			opts.Resident, opts.Trees = h.Config.Trace.Resident, true
			opts.ResidentIDsInStore = h.Config.Trace.ResidentIDs == "store"
			opts.Engine, opts.Serving = engineKind, true
			if engineKind != "" && engineKind != "solo" && engineKind != "cometbft" {
				return fmt.Errorf("--engine: solo or cometbft")
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			n, err := e.openNodeLog(h, opts, log)
			if err != nil {
				return err
			}
			defer n.Close()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen %s: %w", listen, err)
			}
			handler, err := api.New(n, log)
			if err != nil {
				return err
			}
			// The home says which node serves it, so that a command run on
			// the home without --node can say where to go instead.
			if err := h.WriteRunning(home.Running{PID: os.Getpid(), Listen: reachable(ln.Addr()), Started: time.Now().Format(time.RFC3339)}); err != nil {
				log.Warn("could not record the running node in the home", "err", err)
			}
			defer h.RemoveRunning(os.Getpid())
			head := n.Engine.Head()
			log.Info("node started", "chain_id", h.Genesis.ChainID, "engine", engineName(h, engineKind), "height", head.Height, "listen", ln.Addr().String())
			fmt.Fprintf(e.stdout, "listening on http://%s\n", ln.Addr())
			srv := api.Serve(ln, handler)
			select {
			case <-e.ctx.Done():
			case err := <-srv.Done():
				return err
			}
			log.Info("shutting down")
			return srv.Shutdown(10 * time.Second)
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&listen, "listen", "", "address to serve the API on (default: node.listen in config.toml)")
	c.Flags().StringVar(&engineKind, "engine", "", "solo or cometbft (default: engine.kind in config.toml, solo)")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "log at debug level: the engine's and CometBFT's steps too (every request is logged at info: id, route, role, status, duration; never bodies or paths)")
	c.Flags().StringVar(&logFormat, "log-format", "text", "text (key=value) or json (one object per line, for a log collector)")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile from start to a clean stop to this file (read it with go tool pprof)")
	return c
}

// reachable is the address a client on this machine reaches a listener
// on: a wildcard host (all interfaces) becomes the loopback address.
func reachable(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok || !ta.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port))
}

func engineName(h *home.Home, flag string) string {
	if flag != "" {
		return flag
	}
	return h.Config.Engine.Kind
}
