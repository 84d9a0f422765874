// Package cli is the epiledger command line: one cobra command per verb,
// each a thin layer over the node, importer, report and chain packages.
package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/node"
)

// env carries the streams and context of one invocation.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// caseRef and purpose go into the audit record of every read of
	// personal data (--case, --purpose; EPILEDGER_CASE, EPILEDGER_PURPOSE).
	caseRef, purpose string
	// as signs API requests with this key file instead of the operator's
	// token (--as).
	as string
}

// hintError is an error with a hint line for the user.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, format string, args ...any) error {
	return &hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// exitError sets the exit code without printing more (the command already
// printed what went wrong).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs the CLI with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	root := e.root()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	msg := err.Error()
	var fe *client.APIError
	if errors.As(err, &fe) {
		msg = strings.NewReplacer(api.HeaderCase, "--case", api.HeaderPurpose, "--purpose").Replace(msg)
	}
	fmt.Fprintf(stderr, "epiledger: error: %s\n", msg)
	var he *hintError
	var ae *client.APIError
	if errors.As(err, &he) {
		fmt.Fprintf(stderr, "epiledger: hint: %s\n", he.hint)
	} else if errors.As(err, &ae) && (ae.Body.Field == api.HeaderCase || ae.Body.Field == api.HeaderPurpose) {
		// Not the header's name: the flag that sets it.
		fmt.Fprintf(stderr, "epiledger: hint: a read of personal data is audited with its case and purpose: --case case-2020-0117 --purpose \"contact tracing\" (or EPILEDGER_CASE, EPILEDGER_PURPOSE)\n")
	} else if strings.Contains(err.Error(), "unknown command") {
		// The words so far name no command: their parent's help lists
		// the ones there are.
		words := firstWords(args)
		fmt.Fprintf(stderr, "epiledger: hint: run \"%s --help\"\n", strings.Join(append([]string{"epiledger"}, words[:max(len(words)-1, 0)]...), " "))
	} else if strings.Contains(err.Error(), "unknown flag") || strings.Contains(err.Error(), "required flag") {
		fmt.Fprintf(stderr, "epiledger: hint: run \"epiledger %s --help\"\n", strings.Join(firstWords(args), " "))
	}
	return 1
}

func firstWords(args []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		out = append(out, a)
	}
	if len(out) > 2 {
		out = out[:2]
	}
	return out
}

func (e *env) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "epiledger",
		Short: "A permissioned ledger for epidemic response",
		Long: `epiledger records who was where, signed by the sites that saw them, and lets
health authorities trace a confirmed case's trajectory and close contacts
within minutes, while persons appear on the ledger only as pseudonyms and
every record can be proven untampered.

Start with "epiledger demo", or:
  epiledger init   --home ./node
  epiledger sim    --people 10000 --days 14 --out city.ndjson
  epiledger import --home ./node city.ndjson
  epiledger trace cases    --home ./node --case case-2020-0117 --purpose "contact tracing"
  epiledger trace contacts --home ./node --case case-2020-0117 --purpose "contact tracing" --person id:<ID>
  epiledger verify --home ./node`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return e.checkAs(cmd)
		},
	}
	root.PersistentFlags().StringVar(&e.caseRef, "case", os.Getenv("EPILEDGER_CASE"), "the case a read of personal data is for (a case reference, never a person); goes into the audit record (env EPILEDGER_CASE)")
	root.PersistentFlags().StringVar(&e.as, "as", os.Getenv("EPILEDGER_AS"), "with --node: act as the holder of this key file (an investigator, an auditor, a site, a hospital, the administrator): it signs the requests, and no home is needed (env EPILEDGER_AS)")
	root.PersistentFlags().StringVar(&e.purpose, "purpose", os.Getenv("EPILEDGER_PURPOSE"), "why personal data is read (\"contact tracing\"); goes into the audit record (env EPILEDGER_PURPOSE)")
	root.AddCommand(e.initCmd(), e.nodeCmd(), e.importCmd(), e.traceCmd(), e.verifyCmd(), e.simCmd(), e.demoCmd(), e.txCmd(), e.benchCmd(), e.validateCmd(), e.correctCmd(), e.keygenCmd(), e.roleCmd(), e.auditCmd(), e.privacyCmd(), e.testnetCmd(), e.pseudonymCmd(), e.consortiumCmd(), e.backupCmd(), e.restoreCmd(), e.consoleCmd(), e.childCmd(), e.parentCmd(), e.anchorCmd(), e.intelCmd(), e.accessCmd(), e.doctorCmd(), e.cardCmd(), e.statsCmd(), e.ruleCmd(), e.alertCmd(), e.supplyCmd(), e.donateCmd(), e.attestCmd())
	groups(root)
	return root
}

// groups makes every command that only groups others (trace, validate,
// role, ...) refuse a word that names none of them, as the root does,
// rather than print its help and exit 0.
func groups(c *cobra.Command) {
	for _, sub := range c.Commands() {
		groups(sub)
	}
	if c.HasParent() && c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		}
	}
}

// homeFlag adds --home with its default.
func homeFlag(c *cobra.Command, dst *string) {
	def := os.Getenv("EPILEDGER_HOME")
	if def == "" {
		if h, err := os.UserHomeDir(); err == nil {
			def = filepath.Join(h, ".epiledger")
		}
	}
	c.Flags().StringVar(dst, "home", def, "node home directory (env EPILEDGER_HOME)")
}

// loadHome loads the home in dir. Where there is none, it says so and
// how to name the right one, and only then how to start a new chain.
func loadHome(dir string) (*home.Home, error) {
	h, err := home.Load(dir)
	if errors.Is(err, home.ErrNoHome) {
		return nil, withHint(fmt.Errorf("no home at %s: pass --home DIR (or set EPILEDGER_HOME)", dir),
			"to start a new chain there instead: epiledger init --home %s", dir)
	}
	return h, err
}

func (e *env) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}

// loggerAs is logger in a format: "text" (key=value) or "json" (one
// object per line, for a log collector).
func (e *env) loggerAs(level slog.Level, format string) (*slog.Logger, error) {
	o := &slog.HandlerOptions{Level: level}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(e.stderr, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: text or json", format)
}

// openNode opens the home's store in this process. A store another
// process holds is an error that says which: the node the home's
// node.json names, with the --node flag that reaches it, or (no record,
// or its process gone) some other process.
func (e *env) openNode(h *home.Home, opts node.Options) (*node.Node, error) {
	return e.openNodeLog(h, opts, e.logger(slog.LevelWarn))
}

// openNodeLog is openNode with the node's logger (a served node logs what
// its --verbose and --log-format ask; other commands only warnings).
func (e *env) openNodeLog(h *home.Home, opts node.Options, log *slog.Logger) (*node.Node, error) {
	n, err := node.Open(h, log, opts)
	if err != nil && (errors.Is(err, node.ErrLocked) || errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK)) {
		r, rerr := home.ReadRunning(h.Dir)
		if rerr == nil && r != nil && r.Alive() {
			return nil, &lockedError{err: err, msg: fmt.Sprintf("a node is running on this home (pid %d, listening on %s): add --node http://%s", r.PID, r.Listen, r.Listen)}
		}
		return nil, withHint(&lockedError{err: err, msg: fmt.Sprintf("the store of the home %s is locked by another process", h.Dir)},
			"stop that process, or if a node serves this home, add --node http://ADDR")
	}
	return n, err
}

// lockedError says who holds a home's store in place of the store's own
// error, which it wraps.
type lockedError struct {
	err error
	msg string
}

func (e *lockedError) Error() string { return e.msg }
func (e *lockedError) Unwrap() error { return e.err }

// remote returns a client of the node at url for the home h. With --as
// it signs every request with that key file and holds no token; without,
// it carries the operator's token (the chain authority). A key file that
// cannot be read is an error: the command must stop rather than run as
// anyone else.
// nodeClient returns the client of --node url for a command that only
// talks to the node. With --as it needs no home at all: the key signs,
// and the chain id is the home's if there is one, else the node's own
// (GET /v1/health); so an investigator or an auditor works from a
// directory holding only their key. Without --as, the home at dir gives
// the operator's token.
func (e *env) nodeClient(dir, url string) (*client.Client, error) {
	if e.as == "" {
		h, err := loadHome(dir)
		if err != nil {
			return nil, err
		}
		return e.remote(h, url)
	}
	if h, err := home.Load(dir); err == nil {
		return e.remote(h, url)
	}
	k, err := e.asKey()
	if err != nil {
		return nil, err
	}
	st, err := client.New(url, "").Health(e.ctx)
	if err != nil {
		return nil, withHint(fmt.Errorf("--node %s: %w", url, err), "is the node running? (epiledger node --home DIR --listen ADDR)")
	}
	return e.signedClient(url, k, st.ChainID), nil
}

func (e *env) remote(h *home.Home, url string) (*client.Client, error) {
	if e.as == "" {
		if h.Member() {
			// No operator token on a member's home: its node key signs
			// (the role node: the chain's status, not personal data).
			return e.signedClient(url, h.Signer(), h.Genesis.ChainID), nil
		}
		c := client.New(url, h.APIToken())
		c.Case, c.Purpose = e.caseRef, e.purpose
		return c, nil
	}
	k, err := e.asKey()
	if err != nil {
		return nil, err
	}
	return e.signedClient(url, k, h.Genesis.ChainID), nil
}

// asKey loads the --as key file; one that does not load stops the
// command (it never runs as anyone else).
func (e *env) asKey() (ed25519.PrivateKey, error) {
	k, err := home.LoadKeyFile(e.as)
	if err != nil {
		return nil, withHint(fmt.Errorf("--as: %w", err), "give the key file written by \"epiledger keygen --out FILE\" that the administrator granted a role")
	}
	return k, nil
}

// signedClient is a client of the node at url whose requests key signs
// for chainID, with --case and --purpose.
func (e *env) signedClient(url string, key ed25519.PrivateKey, chainID string) *client.Client {
	c := client.New(url, "")
	c.Case, c.Purpose = e.caseRef, e.purpose
	c.Key, c.ChainID = key, chainID
	return c
}

// checkAs refuses --as (or EPILEDGER_AS) where it would not sign: a
// command with --home and --node but no --node given opens the home and
// runs as its chain authority, so it stops. A command that never signs
// requests (no --home or no --node flag) refuses --as given on its command
// line and ignores EPILEDGER_AS.
func (e *env) checkAs(cmd *cobra.Command) error {
	if e.as == "" {
		return nil
	}
	name := "--as"
	if !cmd.Flags().Changed("as") {
		name = "EPILEDGER_AS"
	}
	node := cmd.Flags().Lookup("node")
	switch {
	case cmd.Annotations["signs"] != "":
		// It signs with --as and nothing else (epiledger console).
	case node != nil && cmd.Flags().Lookup("home") != nil:
		if v := node.Value.String(); v == "" || v == "[]" { // a string, or a list (trace's --node)
			return withHint(fmt.Errorf("%s signs requests to a node: without --node, %q would run on the home as its chain authority", name, cmd.CommandPath()),
				"add --node URL (e.g. --node http://127.0.0.1:7070)")
		}
	case cmd.Flags().Changed("as"):
		return withHint(fmt.Errorf("--as: %q does not sign requests with a key file", cmd.CommandPath()), "drop --as")
	}
	return nil
}

// ledger returns the client of what a node offers, for the commands a node
// serves, and the function that releases it. With --node it is that node
// (see nodeClient). Without, it is the same API served in this process on
// the home's store (client.NewInProcess), the caller being the home's chain
// authority with --case and --purpose: the same routes, checks, audit
// records, replies and errors, so each command is written once and answers
// alike both ways (issue 12, point 2). A home that a node serves is
// reached through that node (runningNode).
func (e *env) ledger(dir, url string) (*client.Client, func() error, error) {
	return e.ledgerWith(dir, url, nodeOptions())
}

// ledgerWith is ledger opening a local store with opts (a query that
// writes nothing, as tx proof, opens a stopped consortium home with
// NoEngine).
func (e *env) ledgerWith(dir, url string, opts node.Options) (*client.Client, func() error, error) {
	if url != "" {
		c, err := e.nodeClient(dir, url)
		return c, func() error { return nil }, err
	}
	h, err := loadHome(dir)
	if err != nil {
		return nil, nil, err
	}
	n, err := e.openNode(h, opts)
	if err != nil {
		// Only a store that is held, by the node its node.json names,
		// sends the command there: a node.json left behind (its process
		// gone, its port or its pid taken by another) is never trusted.
		var le *lockedError
		if errors.As(err, &le) {
			if c := e.runningNode(h); c != nil {
				return c, func() error { return nil }, nil
			}
		}
		return nil, nil, err
	}
	handler, err := api.New(n, e.logger(slog.LevelWarn))
	if err != nil {
		n.Close()
		return nil, nil, err
	}
	c := client.NewInProcess(handler)
	c.Key, c.ChainID = h.Signer(), h.Genesis.ChainID
	c.Case, c.Purpose = e.caseRef, e.purpose
	return c, n.Close, nil
}

// runningNode returns a client of the node that serves the home h, as
// its node.json names it, when that node answers for the home's chain
// (asked only once the home's store is found held by another process):
// the command then goes there, signed by the home's chain authority as it
// would run locally, and says so on stderr. Otherwise (no record, its
// process gone, no answer, another chain) it returns nil and the command
// opens the store itself, which names the node if it holds the store.
func (e *env) runningNode(h *home.Home) *client.Client {
	r, err := home.ReadRunning(h.Dir)
	if err != nil || r == nil || !r.Alive() {
		return nil
	}
	c := e.signedClient("http://"+r.Listen, h.Signer(), h.Genesis.ChainID)
	if st, err := c.Health(e.ctx); err != nil || st.ChainID != h.Genesis.ChainID {
		return nil
	}
	fmt.Fprintf(e.stderr, "epiledger: through the node running on this home (pid %d, http://%s)\n", r.PID, r.Listen)
	return c
}

// ask runs one request of a command on the ledger at dir or nodeURL (see
// ledger).
func ask[T any](e *env, dir, nodeURL string, request func(*client.Client) (T, error)) (T, error) {
	return askWith(e, dir, nodeURL, nodeOptions(), request)
}

func askWith[T any](e *env, dir, nodeURL string, opts node.Options, request func(*client.Client) (T, error)) (T, error) {
	var zero T
	cl, done, err := e.ledgerWith(dir, nodeURL, opts)
	if err != nil {
		return zero, err
	}
	defer done()
	return request(cl)
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (e *env) initCmd() *cobra.Command {
	var dir, chainID, region, admin, pseudonymSecret string
	var authorities []string
	var quorum int
	c := &cobra.Command{
		Use:   "init --home DIR",
		Short: "Create a node home: chain id, authority key pair, keystore, config",
		Long: `init creates a node home directory holding:
  genesis.json         chain id, region, authority public key, genesis time,
                       who may correct records, and the chain's rules
                       ("rules": presence limits, trajectory validation,
                       site kinds and case statuses), and the VOPRF
                       pseudonym key ("pseudonyms": the public key that
                       sites check the nodes' proofs against when they
                       obtain pseudonyms obliviously: epiledger pseudonym)
  keys/authority.key   the authority's Ed25519 key (signs sites and identities)
  keys/secret.key      the authority's secret (pseudonyms, identity vault, API token)
  keys/pseudonym.key   the pseudonym key shared by the regions of one country
                       (--pseudonym-secret; else secret.key makes them)
  keystore/            the signing keys of the sites this home registers
  config.toml          every setting with its default, commented
  data/                the ledger store (Pebble)
Keep keys/ private: whoever holds secret.key, or pseudonym.key where there
is one, can link pseudonyms to people.
DIR must be new or empty: init refuses a home (already initialised) and a
directory holding anything else, and then writes nothing.

genesis.json also fixes who may correct records: a correction of a record
needs the approvals of the authorities of its origin and destination
regions and of the system administrator (--authority, --administrator,
--correction-quorum).

The rules in genesis.json are the chain's consensus rules: every node of
the chain holds the same genesis, and its hash (block 1's previous hash)
commits to them. Edit them, if the defaults do not fit, before the first
block; after it, a genesis whose rules differ is another chain, and the
node refuses the store.

Chains made with the same --pseudonym-secret (a file of 64 hex digits, or
a key file of "epiledger keygen") give every person the same pseudonym,
and their genesis files name the same pseudonym key: a cross-region
investigation needs this to join a person's records on two regions'
chains. The national health authority makes the secret once and gives it
to each region's chain authority (docs/PRIVACY.md, section 5). The
identity vault and the API token stay keyed by each home's secret.key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := home.InitOptions{ChainID: chainID, Region: region}
			if err := authorityOptions(&o, authorities, admin, quorum); err != nil {
				return err
			}
			if pseudonymSecret != "" {
				s, err := home.ReadPseudonymSecret(pseudonymSecret)
				if err != nil {
					return withHint(fmt.Errorf("--pseudonym-secret: %w", err), "the national health authority makes the file once: epiledger keygen --out pseudonym.key")
				}
				o.PseudonymSecret = s
			}
			h, err := home.Init(dir, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "initialised %s\n  chain id   %s\n  region     %s\n  authority  %x\n  pseudonym key %x (sites pin it: --pseudonym-key)\nnext: epiledger node --home %s\n",
				dir, h.Genesis.ChainID, h.Genesis.Region, h.Genesis.Authority, h.Genesis.PseudonymKey, dir)
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&chainID, "chain-id", "", "chain id (default: epiledger-<random>)")
	c.Flags().StringVar(&region, "region", "000000", "administrative region code of this chain (e.g. 420100; a GB/T 2260 code is kept in its six-digit form: 3201 is 320100)")
	authorityFlags(c, &authorities, &admin, &quorum)
	c.Flags().StringVar(&pseudonymSecret, "pseudonym-secret", "", "FILE holding the pseudonym secret shared by the regions' chains (64 hex digits, or a key file of epiledger keygen): every chain made with it gives a person the same pseudonym")
	return c
}

// authorityFlags are init's and testnet's flags naming the authorities
// that approve corrections and validator changes.
func authorityFlags(c *cobra.Command, authorities *[]string, admin *string, quorum *int) {
	c.Flags().StringArrayVar(authorities, "authority", nil, "REGION=PUBLIC_KEY of a regional authority that approves corrections and validator changes (repeatable; the chain authority is the authority of --region unless given)")
	c.Flags().StringVar(admin, "administrator", "", "public key of the system administrator, who approves every correction (default: the chain authority)")
	c.Flags().IntVar(quorum, "correction-quorum", 0, "how many of a correction's required parties (origin authority, destination authority, administrator) must approve, and of a validator change's (every authority and the administrator); 0 = all")
}

// authorityOptions sets o's authorities, administrator and quorum from
// the flags of authorityFlags.
func authorityOptions(o *home.InitOptions, authorities []string, admin string, quorum int) error {
	o.Authorities, o.Quorum = map[string][32]byte{}, quorum
	for _, a := range authorities {
		reg, hexKey, ok := strings.Cut(a, "=")
		if !ok || reg == "" {
			return withHint(fmt.Errorf("--authority: want REGION=PUBLIC_KEY"), "create a key with: epiledger keygen --out region.key")
		}
		k, err := home.ParseKey(hexKey)
		if err != nil {
			return fmt.Errorf("--authority %s: %w", reg, err)
		}
		o.Authorities[reg] = k
	}
	if admin != "" {
		k, err := home.ParseKey(admin)
		if err != nil {
			return fmt.Errorf("--administrator: %w", err)
		}
		o.Administrator = k
	}
	return nil
}
