package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/bench"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/privacy"
)

func (e *env) privacyCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "privacy",
		Short: "Private set union/intersection, committed visit records, a citizen's own exposure check",
		Long: `privacy answers questions about itineraries without anyone seeing them
(docs/PRIVACY.md has the protocols and the security model).

Which places did a group visit (union), or all of them (intersection)?
  The administrator (the authority) publishes the universe of places and starts
  a session; each participant's device answers with an encrypted vector split
  into shares that only other participants receive; the cloud multiplies the
  uploads; the administrator decrypts the product. They talk only through a
  node's API; the request and the result are recorded on the ledger.

    epiledger privacy run --op union --input itineraries.json     # all roles, temporary node

  or, role by role against a running node:
    epiledger privacy universe publish --home H --node URL --name city --places places.json
    epiledger privacy session start    --home H --node URL --universe city --op union --participants 3 --key admin.key
    epiledger privacy participant      --node URL --session ID --token TOKEN_i --visits mine.json   (each device)
    epiledger privacy cloud            --node URL --session ID --token CLOUD_TOKEN
    epiledger privacy session finish   --home H --node URL --session ID --key admin.key

Committed visits: a device commits every period (also when idle) and keeps the
opening; the authority anchors each period's Merkle root on the ledger; a
case's opening is checked against the product of its commitments.
    epiledger privacy device commit --node URL --state dev.json --universe city --period now --visits hour.json
    epiledger privacy anchor        --home H --node URL --universe city --period 2020-01-20T08:00:00Z
    epiledger privacy device open   --node URL --state dev.json --from T --to T > opening.json
    epiledger privacy verify-opening --home H --node URL --opening opening.json

Exposure check: the authority publishes risk visits as blinded tokens; a
device learns which of its own visits match, without revealing them.
    epiledger privacy risk  --home H --node URL --input risk.json
    epiledger privacy check --node URL --visits my-visits.json`,
	}
	c.AddCommand(e.privRunCmd(), e.privUniverseCmd(), e.privSessionCmd(), e.privParticipantCmd(), e.privCloudCmd(),
		e.privDeviceCmd(), e.privAnchorCmd(), e.privVerifyOpeningCmd(), e.privRiskCmd(), e.privCheckCmd())
	return c
}

// readInput decodes a JSON file ("-" is standard input) strictly into v.
// Errors name the file and the field, never the content.
func (e *env) readInput(flag, path string, v any) error {
	var r io.Reader
	if path == "-" {
		r = e.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field == "":
			return withHint(fmt.Errorf("%s: the file's JSON has the wrong shape", flag), "the format is in --help")
		case errors.As(err, &te):
			return withHint(fmt.Errorf("%s: %s: wrong JSON type", flag, te.Field), "the format is in --help")
		case errors.As(err, &se):
			return fmt.Errorf("%s: not JSON (syntax error at byte %d)", flag, se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return fmt.Errorf("%s: %s", flag, strings.TrimPrefix(err.Error(), "json: "))
		}
		return fmt.Errorf("%s: %v", flag, err)
	}
	return nil
}

// nodeFlag adds --node (required).
func nodeFlag(c *cobra.Command, dst *string) {
	c.Flags().StringVar(dst, "node", "", "URL of the node's API, e.g. http://127.0.0.1:7070 (required)")
	c.MarkFlagRequired("node")
}

// authority returns a client with the authority's token of the home.
func (e *env) authority(dir, nodeURL string) (*client.Client, error) {
	h, err := loadHome(dir)
	if err != nil {
		return nil, err
	}
	return e.remote(h, nodeURL)
}

// nodeErr adds a hint to errors that mean the node is unreachable.
func nodeErr(err error, nodeURL string) error {
	if err != nil && strings.Contains(err.Error(), "node at ") && !client.IsBadInput(err) {
		return withHint(err, "is the node running at %s? start one with: epiledger node --home DIR", nodeURL)
	}
	return err
}

func (e *env) privRunCmd() *cobra.Command {
	var op, input string
	var shares int
	var asJSON bool
	c := &cobra.Command{
		Use:   "run --op union|intersection --input FILE [--json]",
		Short: "Run every role of one union or intersection through a temporary node",
		Long: `run computes the union or intersection of several itineraries with the
multi-party protocol, every role through the API of a temporary node (created
in a temporary directory and removed afterwards): the administrator publishes
the places as a universe and starts a session, each participant and the cloud
run concurrently with their own session credentials, and the administrator
audits the cloud's product, decrypts it and publishes the result on the
ledger. Nobody but a participant's device sees its itinerary.

FILE ("-" is standard input) is JSON:
  {"places":["u1","u2","u3","u4"],
   "participants":[["u1","u3"],["u2"],["u3","u3"]]}
places is the universe (distinct names); each participant lists the places
it visited (repeats are fine; an empty list is fine).

The output lists the places in the result, in universe order; with --json:
  {"op":"union","result":["u1","u2","u3"],"places":4,"participants":3,...}
so it can be checked against a plain set computation.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := privacy.ParseOp(op)
			if err != nil {
				return fmt.Errorf("--op: %v", err)
			}
			var in struct {
				Places       []string   `json:"places"`
				Participants [][]string `json:"participants"`
			}
			if err := e.readInput("--input", input, &in); err != nil {
				return err
			}
			if len(in.Participants) == 0 {
				return errors.New("--input: participants: want at least one participant")
			}
			url, token, stop, err := api.TempNode(slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				return err
			}
			defer stop()
			rep, err := client.RunSetOp(e.ctx, client.New(url, token), o, in.Places, in.Participants, shares)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(map[string]any{"op": rep.Op, "result": rep.Result, "places": rep.Places, "participants": rep.Participants,
					"session": rep.Session, "result_tx": rep.Tx, "total_ms": ms(rep.Total), "cloud_ms": ms(rep.Cloud), "administrator_ms": ms(rep.Compute),
					"participant_max_ms": ms(maxDur(rep.Participant))})
			}
			fmt.Fprintf(e.stdout, "%s of %d participants over %d places: %d places\n", rep.Op, rep.Participants, rep.Places, len(rep.Result))
			for _, p := range rep.Result {
				fmt.Fprintf(e.stdout, "  %s\n", p)
			}
			fmt.Fprintf(e.stdout, "session %s, result on the ledger in tx %s (%.0f ms end to end)\n", rep.Session, rep.Tx, ms(rep.Total))
			return nil
		},
	}
	c.Flags().StringVar(&op, "op", "", `"union" (places anyone visited) or "intersection" (places everyone visited) (required)`)
	c.Flags().StringVar(&input, "input", "", "JSON file with the places and each participant's visits (required)")
	c.Flags().IntVar(&shares, "shares", 0, "split each vector into this many shares (2..n; default n, the seed's collusion bound)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.MarkFlagRequired("op")
	c.MarkFlagRequired("input")
	return c
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func maxDur(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

func (e *env) privUniverseCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "universe",
		Short: "Publish or show a universe of places (the order of every vector and commitment)",
	}
	var dir, nodeURL, name, places, period string
	pub := &cobra.Command{
		Use:   "publish --home DIR --node URL --name NAME --places FILE [--period 1h]",
		Short: "Publish a universe of places on the ledger (authority)",
		Long: `publish records a universe of places on the ledger (topic privacy/universe).
FILE is a JSON array of distinct place names (or {"places":[...]}). A universe
never changes: publish a new one under a new name. --period is how often
devices commit their visits in it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := e.authority(dir, nodeURL)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := e.readInput("--places", places, &raw); err != nil {
				return err
			}
			var ps struct {
				Places []string `json:"places"`
			}
			if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
				err = json.Unmarshal(raw, &ps.Places)
			} else {
				err = json.Unmarshal(raw, &ps)
			}
			if err != nil {
				return errors.New("--places: want a JSON array of place names")
			}
			info, err := cl.PublishUniverse(e.ctx, api.UniverseRequest{Name: name, Period: period, Places: ps.Places})
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "universe %s: %d places, period %s, digest %s\nrecorded in tx %s\n", info.Name, len(info.Places), info.Period, info.Digest, info.Tx)
			return nil
		},
	}
	homeFlag(pub, &dir)
	nodeFlag(pub, &nodeURL)
	pub.Flags().StringVar(&name, "name", "", "the universe's name (required)")
	pub.Flags().StringVar(&places, "places", "", "JSON file with the place names (required)")
	pub.Flags().StringVar(&period, "period", "1h", "commitment period (whole minutes)")
	pub.MarkFlagRequired("name")
	pub.MarkFlagRequired("places")

	var showNode, showName string
	show := &cobra.Command{
		Use:   "show --node URL --name NAME",
		Short: "Print a published universe as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := client.New(showNode, "").Universe(e.ctx, showName)
			if err != nil {
				return nodeErr(err, showNode)
			}
			d := u.Digest()
			return e.printJSON(map[string]any{"name": u.Name, "period": (time.Duration(u.Period) * time.Second).String(), "digest": hex.EncodeToString(d[:]), "places": u.Places})
		},
	}
	nodeFlag(show, &showNode)
	show.Flags().StringVar(&showName, "name", "", "the universe's name (required)")
	show.MarkFlagRequired("name")
	c.AddCommand(pub, show)
	return c
}

// loadOrCreateKey reads the administrator's key from path, or creates it
// (mode 0600) when create is set and the file does not exist.
func loadOrCreateKey(path string, create bool) (*privacy.SecretKey, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		sk, err := privacy.GenerateKey(nil)
		if err != nil {
			return nil, false, err
		}
		if err := os.WriteFile(path, []byte(hex.EncodeToString(sk.Bytes())+"\n"), 0o600); err != nil {
			return nil, false, fmt.Errorf("--key: %w", err)
		}
		return sk, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("--key: %w", err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, false, errors.New("--key: not a hex-encoded key")
	}
	sk, err := privacy.ParseSecretKey(raw)
	if err != nil {
		return nil, false, fmt.Errorf("--key: %w", err)
	}
	return sk, false, nil
}

func (e *env) privSessionCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "session",
		Short: "Start or finish a union/intersection session (administrator)",
	}
	var dir, nodeURL, universe, op, keyFile string
	var n, shares int
	start := &cobra.Command{
		Use:   "start --home DIR --node URL --universe NAME --op union|intersection --participants N --key FILE",
		Short: "Encrypt the identity, record the request on the ledger, issue credentials",
		Long: `start is the administrator's step 3: with its ElGamal key (--key; created,
mode 0600, if the file does not exist) it encrypts the identity afresh, proves
it, and asks the node to record the request on the ledger and issue one
bearer token per participant and one for the cloud. It prints JSON:
  {"session":"psu-...","tx":"...","participant_tokens":["psu_...",...],"cloud_token":"psu_..."}
Give token i to participant i's device and the cloud token to the cloud; each
opens only its own role in this session. Keep --key secret: it decrypts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := privacy.ParseOp(op)
			if err != nil {
				return fmt.Errorf("--op: %v", err)
			}
			cl, err := e.authority(dir, nodeURL)
			if err != nil {
				return err
			}
			sk, _, err := loadOrCreateKey(keyFile, true)
			if err != nil {
				return err
			}
			created, err := client.StartSession(e.ctx, cl, sk, universe, o, n, shares)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			return e.printJSON(created)
		},
	}
	homeFlag(start, &dir)
	nodeFlag(start, &nodeURL)
	start.Flags().StringVar(&universe, "universe", "", "the published universe of places (required)")
	start.Flags().StringVar(&op, "op", "", `"union" or "intersection" (required)`)
	start.Flags().IntVar(&n, "participants", 0, "number of participants (required)")
	start.Flags().IntVar(&shares, "shares", 0, "shares per vector (2..n; default n)")
	start.Flags().StringVar(&keyFile, "key", "", "the administrator's key file (created if missing) (required)")
	for _, f := range []string{"universe", "op", "participants", "key"} {
		start.MarkFlagRequired(f)
	}

	var fdir, fnode, session, fkey string
	var audit int
	var asJSON bool
	finish := &cobra.Command{
		Use:   "finish --home DIR --node URL --session ID --key FILE [--json]",
		Short: "Audit the cloud's product, decrypt it and publish the result",
		Long: `finish is the administrator's step 6: it waits for the cloud's product, checks
every upload's signature and recomputes the product at --audit places drawn
at random (0: every place), naming a tampered upload or the first wrong
place, decrypts it with --key and records the result on the ledger with the
digests of the uploads and of the product.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := e.authority(fdir, fnode)
			if err != nil {
				return err
			}
			sk, _, err := loadOrCreateKey(fkey, false)
			if err != nil {
				return err
			}
			res, err := client.FinishSession(e.ctx, cl, sk, session, audit)
			if err != nil {
				return nodeErr(err, fnode)
			}
			if asJSON {
				return e.printJSON(map[string]any{"op": res.Op, "session": res.Session, "result": res.Result, "result_tx": res.Tx})
			}
			fmt.Fprintf(e.stdout, "%s: %d places\n", res.Op, len(res.Result))
			for _, p := range res.Result {
				fmt.Fprintf(e.stdout, "  %s\n", p)
			}
			fmt.Fprintf(e.stdout, "recorded in tx %s\n", res.Tx)
			return nil
		},
	}
	homeFlag(finish, &fdir)
	nodeFlag(finish, &fnode)
	finish.Flags().StringVar(&session, "session", "", "the session id (required)")
	finish.Flags().StringVar(&fkey, "key", "", "the administrator's key file (required)")
	finish.Flags().IntVar(&audit, "audit", privacy.DefaultAudit, "places of the cloud's product to recompute (0: all)")
	finish.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	finish.MarkFlagRequired("session")
	finish.MarkFlagRequired("key")
	c.AddCommand(start, finish)
	return c
}

// tokenFlag adds --token, defaulting to $EPILEDGER_PRIVACY_TOKEN (which
// keeps it out of process listings).
func tokenFlag(c *cobra.Command, dst *string, who string) {
	c.Flags().StringVar(dst, "token", os.Getenv("EPILEDGER_PRIVACY_TOKEN"), "the "+who+"'s session token (env EPILEDGER_PRIVACY_TOKEN)")
}

func (e *env) privParticipantCmd() *cobra.Command {
	var nodeURL, session, token, visits string
	c := &cobra.Command{
		Use:   "participant --node URL --session ID --token TOKEN --visits FILE",
		Short: "Answer a session as one participant's device",
		Long: `participant plays one device (step 4): it checks the administrator's request
(the proof that Enc(e) encrypts the identity), joins with fresh keys, seals a
share of its answer to each other participant, multiplies the shares it
receives with the one it kept and uploads the signed product. It waits for
the others through the node. FILE is a JSON array of the places this device
visited, e.g. ["u1","u3"]; they never leave the device in the clear.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var vs []string
			if err := e.readInput("--visits", visits, &vs); err != nil {
				return err
			}
			if token == "" {
				return errors.New("--token: missing (or set EPILEDGER_PRIVACY_TOKEN)")
			}
			rep, err := client.Participate(e.ctx, client.New(nodeURL, "").As(token), session, vs)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "participant %d: uploaded (%d places, %d shares sent; %.1f ms of computation)\n", rep.Index, rep.Places, rep.Shares, ms(rep.Duration))
			return nil
		},
	}
	nodeFlag(c, &nodeURL)
	c.Flags().StringVar(&session, "session", "", "the session id (required)")
	tokenFlag(c, &token, "participant")
	c.Flags().StringVar(&visits, "visits", "", "JSON array of the places visited (required)")
	c.MarkFlagRequired("session")
	c.MarkFlagRequired("visits")
	return c
}

func (e *env) privCloudCmd() *cobra.Command {
	var nodeURL, session, token string
	c := &cobra.Command{
		Use:   "cloud --node URL --session ID --token TOKEN",
		Short: "Multiply a session's uploads as the cloud",
		Long: `cloud plays the cloud (step 5): it waits for every participant's upload,
checks each signature and element (naming a bad one) and posts the product.
It cannot decrypt anything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if token == "" {
				return errors.New("--token: missing (or set EPILEDGER_PRIVACY_TOKEN)")
			}
			d, err := client.RunCloud(e.ctx, client.New(nodeURL, "").As(token), session)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "cloud: product posted (%.1f ms of computation)\n", ms(d))
			return nil
		},
	}
	nodeFlag(c, &nodeURL)
	c.Flags().StringVar(&session, "session", "", "the session id (required)")
	tokenFlag(c, &token, "cloud")
	c.MarkFlagRequired("session")
	return c
}

// parsePeriod parses "now" (the current period's start) or an RFC 3339
// time.
func parsePeriod(flag, s string, u *privacy.Universe) (int64, error) {
	if s == "now" {
		t := time.Now().Unix()
		return t - t%u.Period, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("%s: want an RFC 3339 time (e.g. 2020-01-20T08:00:00Z) or \"now\"", flag)
	}
	if err := u.CheckPeriod(t.Unix()); err != nil {
		return 0, fmt.Errorf("%s: %v", flag, err)
	}
	return t.Unix(), nil
}

func (e *env) privDeviceCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "device",
		Short: "A device's committed visit records: commit a period, open a window",
		Long: `device keeps a device's visit commitments. The state file (--state) holds the
device's signing key and, for every committed period, the places and the
randomness r: it is the only way to open the commitments, so keep it on the
device and private.`,
	}
	var nodeURL, state, universe, period, visits string
	commit := &cobra.Command{
		Use:   "commit --node URL --state FILE --universe NAME --period T|now [--visits FILE]",
		Short: "Commit one period's visits (also an idle period) and upload the commitment",
		Long: `commit computes C = h^r * prod g_i^(v_i) over the universe's places (v_i = 1
for the places in --visits, a JSON array; without --visits the period was
idle and is committed all the same, with fresh r, so uploads say nothing about
movement), signs it with the device's key and uploads it. The state file is
created on first use.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl := client.New(nodeURL, "")
			u, err := cl.Universe(e.ctx, universe)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			p, err := parsePeriod("--period", period, u)
			if err != nil {
				return err
			}
			var vs []string
			if visits != "" {
				if err := e.readInput("--visits", visits, &vs); err != nil {
					return err
				}
			}
			dev, err := loadDevice(state, u)
			if err != nil {
				return err
			}
			rec, err := dev.Commit(u, privacy.NewGenerators(u.Digest(), len(u.Places)), p, vs, nil)
			if err != nil {
				return err
			}
			if err := cl.UploadCommitment(e.ctx, universe, rec); err != nil {
				return nodeErr(err, nodeURL)
			}
			if err := saveDevice(state, dev); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "committed period %s (%d places) as device %s\n", time.Unix(p, 0).UTC().Format(time.RFC3339), len(vs), base64.StdEncoding.EncodeToString(rec.Device))
			return nil
		},
	}
	nodeFlag(commit, &nodeURL)
	commit.Flags().StringVar(&state, "state", "", "the device's state file (created if missing) (required)")
	commit.Flags().StringVar(&universe, "universe", "", "the universe of places (required)")
	commit.Flags().StringVar(&period, "period", "now", `the period's start (RFC 3339) or "now"`)
	commit.Flags().StringVar(&visits, "visits", "", "JSON array of the places visited in the period")
	commit.MarkFlagRequired("state")
	commit.MarkFlagRequired("universe")

	var onode, ostate, from, to string
	open := &cobra.Command{
		Use:   "open --node URL --state FILE --from T --to T",
		Short: "Print the opening of the periods in [from, to) for the administrator",
		Long: `open prints, as JSON, what a person who became a case hands to the
administrator: the number of periods in which the device visited each place
and the sum of the periods' r. It reveals the counts, not the hours. Pass the
output to "epiledger privacy verify-opening".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl := client.New(onode, "")
			var d privacy.Device
			if err := e.readInput("--state", ostate, &d); err != nil {
				return err
			}
			u, err := cl.Universe(e.ctx, d.Universe)
			if err != nil {
				return nodeErr(err, onode)
			}
			f, err := parsePeriod("--from", from, u)
			if err != nil {
				return err
			}
			t, err := parsePeriod("--to", to, u)
			if err != nil {
				return err
			}
			req, err := client.OpeningRequest(&d, u, f, t)
			if err != nil {
				return err
			}
			return e.printJSON(req)
		},
	}
	nodeFlag(open, &onode)
	open.Flags().StringVar(&ostate, "state", "", "the device's state file (required)")
	open.Flags().StringVar(&from, "from", "", "first period (RFC 3339) (required)")
	open.Flags().StringVar(&to, "to", "", "end of the window, exclusive (RFC 3339) (required)")
	for _, f := range []string{"state", "from", "to"} {
		open.MarkFlagRequired(f)
	}
	c.AddCommand(commit, open)
	return c
}

func loadDevice(path string, u *privacy.Universe) (*privacy.Device, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return privacy.NewDevice(u, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	var d privacy.Device
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, errors.New("--state: not a device state file")
	}
	return &d, nil
}

func saveDevice(path string, d *privacy.Device) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	return os.Rename(tmp, path)
}

func (e *env) privAnchorCmd() *cobra.Command {
	var dir, nodeURL, universe, period string
	c := &cobra.Command{
		Use:   "anchor --home DIR --node URL --universe NAME --period T",
		Short: "Put a period's commitment root on the ledger (authority)",
		Long: `anchor closes a period (it must be over): the node stops taking uploads for
it, computes the RFC 6962 Merkle root of its commitments and records it on
the ledger (a commit_root transaction). From then on, any change to the stored
commitments of that period is detected.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := e.authority(dir, nodeURL)
			if err != nil {
				return err
			}
			u, err := cl.Universe(e.ctx, universe)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			p, err := parsePeriod("--period", period, u)
			if err != nil {
				return err
			}
			a, err := cl.Anchor(e.ctx, universe, p)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "period %s: %d commitments, root %s, tx %s\n", a.Period, a.Count, a.Root, a.Tx)
			return nil
		},
	}
	homeFlag(c, &dir)
	nodeFlag(c, &nodeURL)
	c.Flags().StringVar(&universe, "universe", "", "the universe (required)")
	c.Flags().StringVar(&period, "period", "", "the period's start (RFC 3339) (required)")
	c.MarkFlagRequired("universe")
	c.MarkFlagRequired("period")
	return c
}

func (e *env) privVerifyOpeningCmd() *cobra.Command {
	var dir, nodeURL, opening string
	var asJSON bool
	c := &cobra.Command{
		Use:   "verify-opening --home DIR --node URL --opening FILE [--json]",
		Short: "Check a case's opening against its anchored commitments (authority)",
		Long: `verify-opening multiplies the device's commitments of the window (each checked
against its period's root on the ledger) and compares the product with the
opening (from "epiledger privacy device open"). "match" proves the visit
counts; "mismatch" marks the device dishonest. Either verdict is recorded on
the ledger (topic privacy/opening) with the evidence, never the counts.
Exit status 2 on a mismatch.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := e.authority(dir, nodeURL)
			if err != nil {
				return err
			}
			var req api.OpeningRequest
			if err := e.readInput("--opening", opening, &req); err != nil {
				return err
			}
			rep, err := cl.VerifyOpening(e.ctx, req)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			if asJSON {
				if err := e.printJSON(rep); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(e.stdout, "%s: %d periods, %d without a commitment; recorded in tx %s\n", rep.Verdict, rep.Periods, len(rep.Missing), rep.Tx)
				if rep.Verdict != "match" {
					fmt.Fprintf(e.stdout, "the opening does not match the product of the device's commitments: the device is dishonest\n")
				}
			}
			if rep.Verdict != "match" {
				return &exitError{code: 2}
			}
			return nil
		},
	}
	homeFlag(c, &dir)
	nodeFlag(c, &nodeURL)
	c.Flags().StringVar(&opening, "opening", "", "the opening JSON (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.MarkFlagRequired("opening")
	return c
}

func (e *env) privRiskCmd() *cobra.Command {
	var dir, nodeURL, input string
	c := &cobra.Command{
		Use:   "risk --home DIR --node URL --input FILE",
		Short: "Publish the risk visits as blinded tokens (authority)",
		Long: `risk replaces the exposure check's risk visits. FILE is a JSON array of
presences, each expanded to the hour slots it overlaps:
  [{"site":"shop-1","in":"2020-01-20T13:00:00+08:00","out":"2020-01-20T14:30:00+08:00"}]
The node keeps only H(site, hour)^k under its secret key k; the version, count,
public key and digest of the tokens are recorded on the ledger.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := e.authority(dir, nodeURL)
			if err != nil {
				return err
			}
			var vs []api.RiskVisit
			if err := e.readInput("--input", input, &vs); err != nil {
				return err
			}
			info, err := cl.PublishRisk(e.ctx, vs)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "risk tokens version %d: %d tokens, digest %s, tx %s\n", info.Version, info.Count, info.Digest, info.Tx)
			return nil
		},
	}
	homeFlag(c, &dir)
	nodeFlag(c, &nodeURL)
	c.Flags().StringVar(&input, "input", "", "JSON array of risk presences (required)")
	c.MarkFlagRequired("input")
	return c
}

func (e *env) privCheckCmd() *cobra.Command {
	var dir, nodeURL, visits string
	var asJSON bool
	c := &cobra.Command{
		Use:   "check --node URL --visits FILE [--json]",
		Short: "Check your own visits against the risk visits, without revealing them",
		Long: `check plays a citizen's device: it downloads the risk tokens, blinds a token
for each hour of each of its visits with fresh secrets, has the node raise
them to its key (checking the node's proof that it used its published key),
unblinds them and compares. The node learns how many hours were checked,
not which; the device learns which of its own hours match, nothing more.
The node rate-limits checks per address.

FILE is a JSON array of presences:
  [{"site":"shop-1","in":"2020-01-20T14:05:00+08:00","out":"2020-01-20T14:40:00+08:00"}]

Matching hours are shown in the display zone of the home (--home), where
there is one, else in this machine's zone, which the output names.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var vs []api.RiskVisit
			if err := e.readInput("--visits", visits, &vs); err != nil {
				return err
			}
			var slots []privacy.Visit
			for i, v := range vs {
				in, err1 := time.Parse(time.RFC3339, v.In)
				out, err2 := time.Parse(time.RFC3339, v.Out)
				if err1 != nil || err2 != nil || out.Before(in) || v.Site == "" {
					return fmt.Errorf("--visits: [%d]: want a site and RFC 3339 times in <= out", i)
				}
				slots = append(slots, privacy.Slots(v.Site, in.Unix(), out.Unix())...)
			}
			ex, err := client.CheckExposure(e.ctx, client.New(nodeURL, ""), slots)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			if asJSON {
				return e.printJSON(ex)
			}
			if ex.Version == 0 {
				fmt.Fprintf(e.stdout, "no risk visits have been published yet: nothing to check your %d hours against\n", ex.Checked)
				return nil
			}
			loc, zone := checkLocation(dir)
			fmt.Fprintf(e.stdout, "checked %d hours against %d risk tokens (version %d): %d match%s\n", ex.Checked, ex.Tokens, ex.Version, len(ex.Matches), zone)
			for i, hit := range ex.Hits {
				if hit {
					fmt.Fprintf(e.stdout, "  %s @ %s\n", slots[i].Site, time.Unix(slots[i].Slot, 0).In(loc).Format(time.RFC3339))
				}
			}
			return nil
		},
	}
	homeFlag(c, &dir)
	c.Flags().Lookup("home").Usage = "a node home whose display zone (trace.display_offset) the times are shown in; without one, this machine's zone"
	nodeFlag(c, &nodeURL)
	c.Flags().StringVar(&visits, "visits", "", "JSON array of your presences (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.MarkFlagRequired("visits")
	return c
}

// checkLocation is the zone a citizen's matches are shown in: the display
// zone of the home in dir, where there is one; else this machine's, with a
// note naming it.
func checkLocation(dir string) (*time.Location, string) {
	if h, err := home.Load(dir); err == nil {
		return h.Config.Location(), ""
	}
	now := time.Now()
	name, _ := now.Zone()
	return time.Local, fmt.Sprintf(" (times in this machine's zone, %s %s)", name, now.Format("-07:00"))
}

func (e *env) benchPrivacyCmd() *cobra.Command {
	cfg := bench.DefaultPrivacyConfig()
	var asJSON, noAPI bool
	c := &cobra.Command{
		Use:   "privacy [--reps N] [--json]",
		Short: "Measure the privacy protocols: seed 003's two tables, a phone, the exposure check",
		Long: `bench privacy measures, on this machine:
  - seed 003's table 1: the time for one union computation against the
    number of places m (10..1000) with n = 20 participants, and table 2:
    against the number of participants n (2..100) with m = 50 places. "total"
    is every role on this machine, the n participants sharing its cores
    (real devices compute side by side); the other columns are one
    participant's own work, the cloud's product, and the administrator's
    request, audit of the cloud and decryption;
  - a phone-class participant on one core (GOMAXPROCS=1), n = 20, m = 1000,
    and a device's Pedersen commitment for one period;
  - the protocol end to end through a temporary node's API (session start
    to the result on the ledger), n = 20, m = 1000;
  - the exposure check against 10,000 risk tokens: the server's preparation,
    and a device checking 336 hours (two weeks) in memory and via the API.
Each figure is the median of --reps runs. Quote them with the machine line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.API = !noAPI
			cfg.Log = e.stderr
			res, err := bench.RunPrivacy(cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(res)
			}
			w := e.stdout
			fmt.Fprintf(w, "machine  %s\n\n", res.Machine)
			table := func(title string, rows []bench.SetOpRow) {
				fmt.Fprintf(w, "%s\n  %5s %5s %10s %12s %9s %14s\n", title, "n", "m", "total ms", "participant", "cloud", "administrator")
				for _, r := range rows {
					fmt.Fprintf(w, "  %5d %5d %10.1f %12.1f %9.1f %14.1f\n", r.N, r.M, r.Total, r.Participant, r.Cloud, r.Administrator)
				}
				fmt.Fprintln(w)
			}
			table(fmt.Sprintf("Table 1: one computation vs the number of places m (n = %d participants)", cfg.N), res.ByPlaces)
			table(fmt.Sprintf("Table 2: one computation vs the number of participants n (m = %d places)", cfg.M), res.ByParticipants)
			fmt.Fprintf(w, "phone-class participant, one core, n = %d, m = %d   %.1f ms (target < 100 ms)\n", res.Phone.N, res.Phone.M, res.Phone.Participant)
			fmt.Fprintf(w, "  one period's commitment, m = %d                    %.2f ms\n", res.Phone.M, res.Phone.Commit)
			fmt.Fprintf(w, "  an opening of the device's periods, checked       %.2f ms\n", res.Phone.Open)
			if cfg.API {
				fmt.Fprintf(w, "end to end through a node's API, n = %d, m = %d     %.0f ms (target < 1 s)\n", res.API.N, res.API.M, res.API.Total)
			}
			fmt.Fprintf(w, "exposure check, %d risk tokens\n", res.PSI.RiskTokens)
			fmt.Fprintf(w, "  server prepares the tokens                        %.0f ms\n", res.PSI.Prepare)
			fmt.Fprintf(w, "  device checks %d hours: blind %.1f ms, server %.1f ms, device %.1f ms\n", res.PSI.DeviceHours, res.PSI.Blind, res.PSI.Evaluate, res.PSI.Finish)
			if cfg.API {
				fmt.Fprintf(w, "  the same through the API (tokens downloaded)      %.0f ms\n", res.PSI.ThroughAPI)
			}
			return nil
		},
	}
	c.Flags().IntVar(&cfg.Reps, "reps", cfg.Reps, "runs per figure (the median is reported)")
	c.Flags().BoolVar(&noAPI, "no-api", false, "skip the measurements through a temporary node")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}
