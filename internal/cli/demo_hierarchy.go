package cli

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/report"
)

// The Nanjing 2021 scenario of seed 002 sec. 5, the default of demo
// hierarchy.
//
//go:embed scenarios/nanjing-2021.ndjson
var nanjingScenario []byte

// Scenario is a hierarchy demo's first line: the chains (each region's,
// with its parent) and the actors (a key with a role on a chain).
type Scenario struct {
	Chains []ScenarioChain `json:"chains"`
	Actors []ScenarioActor `json:"actors"`
}

// ScenarioChain is one region's chain.
type ScenarioChain struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	Parent string `json:"parent"`
	Title  string `json:"title"`
}

// ScenarioActor holds a role on a chain.
type ScenarioActor struct {
	Name  string `json:"name"`
	Chain string `json:"chain"`
	Role  string `json:"role"`
	Title string `json:"title"`
}

// ScenarioStep is every later line: submit (a record by an N3, endorsed
// by the N2s named), confirm (an N2 confirms the record's entry on its
// chain), up (a chain's headers and confirmations go to its parent),
// broadcast (the national N1 broadcasts the record's entry), down (the
// broadcast goes from a chain to every region below), check (which chain
// holds what).
type ScenarioStep struct {
	Step      string             `json:"step"`
	Actor     string             `json:"actor"`
	Endorsers []string           `json:"endorsers"`
	From      string             `json:"from"`
	Note      string             `json:"note"`
	Record    *report.IntelInput `json:"record"`
}

const scenarioFormat = `The scenario (--scenario FILE, NDJSON): a first line naming the chains and
the actors, then one step per line:

  {"chains":[{"name":"national","region":"000000"},
             {"name":"jiangsu","region":"320000","parent":"national"}, ...],
   "actors":[{"name":"airport","chain":"nanjing","role":"n3"}, ...]}
  {"step":"submit","actor":"airport","endorsers":["nanjing-commission"],"record":{...}}
  {"step":"confirm","actor":"nanjing-commission"}
  {"step":"up","from":"nanjing"}
  {"step":"broadcast","actor":"nhc"}
  {"step":"down","from":"national"}
  {"step":"check"}

Each step may carry a "note" to print. The record is as for "epiledger
intel draft".`

func (e *env) demoHierarchyCmd() *cobra.Command {
	var scenario, keep string
	c := &cobra.Command{
		Use:   "hierarchy [--scenario FILE] [--keep DIR]",
		Short: "Run seed 002's Nanjing 2021 scenario on a temporary hierarchy of region chains",
		Long: `hierarchy starts one solo chain per region of the scenario on this machine
(the default: the nation, Jiangsu, Nanjing, Suzhou and Jiangning, four
levels), links each to its parent both ways, grants the actors their
roles, and plays the scenario: on 2021-07-20 routine tests of Lukou
airport staff find 9 positives; the airport's epidemic team (N3) submits
to the Nanjing chain; the Nanjing health commission (N2) endorses and
confirms; the summary goes up to the Jiangsu chain with the anchors, whose
N2 confirms; the national N1 verifies and broadcasts; the broadcast comes
down to every region. It prints, per step, which chain saw what and how
long it took.

` + scenarioFormat,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			src := nanjingScenario
			if scenario != "" {
				b, err := os.ReadFile(scenario)
				if err != nil {
					return fmt.Errorf("--scenario: %w", err)
				}
				src = b
			}
			sc, steps, err := parseScenario(src)
			if err != nil {
				return fmt.Errorf("--scenario: %w", err)
			}
			dir := keep
			if dir == "" {
				tmp, err := os.MkdirTemp("", "epiledger-hierarchy-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			} else if err := home.CheckEmpty(dir); err != nil {
				return fmt.Errorf("--keep: %w", err)
			}
			return e.demoHierarchy(dir, sc, steps)
		},
	}
	c.Flags().StringVar(&scenario, "scenario", "", "an NDJSON scenario (default: Nanjing 2021, seed 002 sec. 5)")
	c.Flags().StringVar(&keep, "keep", "", "keep the chains' homes and keys in this directory (new or empty)")
	return c
}

// parseScenario reads a scenario and checks its names: chains with
// regions one level below their parents, actors on known chains, steps
// naming known actors and chains.
func parseScenario(b []byte) (*Scenario, []ScenarioStep, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var s *Scenario
	var steps []ScenarioStep
	chains, actors := map[string]ScenarioChain{}, map[string]ScenarioActor{}
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if s == nil {
			s = &Scenario{}
			if err := dec.Decode(s); err != nil {
				return nil, nil, fmt.Errorf("line %d: the chains and actors: %w", line, err)
			}
			for _, c := range s.Chains {
				code, err := region.Parse(c.Region)
				if err != nil {
					return nil, nil, fmt.Errorf("line %d: chain %q: %w", line, c.Name, err)
				}
				if c.Name == "" || strings.ContainsAny(c.Name, " /\\") || chains[c.Name].Name != "" {
					return nil, nil, fmt.Errorf("line %d: chain %q: a name without spaces or slashes, once", line, c.Name)
				}
				if c.Parent != "" {
					p, ok := chains[c.Parent]
					if !ok {
						return nil, nil, fmt.Errorf("line %d: chain %q: its parent %q is not named before it", line, c.Name, c.Parent)
					}
					if up, ok := code.Parent(); !ok || string(up) != mustRegion(p.Region) {
						return nil, nil, fmt.Errorf("line %d: chain %q: region %s is not one level below %s", line, c.Name, c.Region, p.Region)
					}
				}
				chains[c.Name] = c
			}
			for _, a := range s.Actors {
				if _, ok := chains[a.Chain]; !ok || a.Name == "" || actors[a.Name].Name != "" {
					return nil, nil, fmt.Errorf("line %d: actor %q: a new name on a chain named above", line, a.Name)
				}
				actors[a.Name] = a
			}
			continue
		}
		var st ScenarioStep
		if err := dec.Decode(&st); err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		known := func(names ...string) error {
			for _, n := range names {
				if _, ok := actors[n]; !ok {
					return fmt.Errorf("line %d: %s: no actor %q", line, st.Step, n)
				}
			}
			return nil
		}
		var err error
		switch st.Step {
		case "submit":
			if err = known(append([]string{st.Actor}, st.Endorsers...)...); err == nil && st.Record == nil {
				err = fmt.Errorf("line %d: submit: no record", line)
			}
		case "confirm", "broadcast":
			err = known(st.Actor)
		case "up", "down":
			if c, ok := chains[st.From]; !ok || st.Step == "up" && c.Parent == "" {
				err = fmt.Errorf("line %d: %s: from %q: a chain named above (with a parent, for up)", line, st.Step, st.From)
			}
		case "check":
		default:
			err = fmt.Errorf("line %d: step %q: submit, confirm, up, broadcast, down or check", line, st.Step)
		}
		if err != nil {
			return nil, nil, err
		}
		steps = append(steps, st)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if s == nil || len(s.Chains) == 0 {
		return nil, nil, errors.New("no chains")
	}
	return s, steps, nil
}

func mustRegion(s string) string {
	c, err := region.Parse(s)
	if err != nil {
		return s
	}
	return string(c)
}

// hierarchyRun is a running demo hierarchy.
type hierarchyRun struct {
	e      *env
	dir    string
	sc     *Scenario
	urls   map[string]string
	homes  map[string]string
	keys   map[string]string
	chain  map[string]ScenarioChain
	actor  map[string]ScenarioActor
	record string // the record's id on its origin chain
	stops  []func()
}

// run runs the epiledger command args, its output kept for an error.
func (r *hierarchyRun) run(args ...string) (string, error) {
	var out, errb bytes.Buffer
	if code := Main(r.e.ctx, args, strings.NewReader(""), &out, &errb); code != 0 {
		return out.String(), fmt.Errorf("epiledger %s: %s%s", strings.Join(args, " "), out.String(), errb.String())
	}
	return out.String(), nil
}

func (e *env) demoHierarchy(dir string, sc *Scenario, steps []ScenarioStep) error {
	r := &hierarchyRun{e: e, dir: dir, sc: sc, urls: map[string]string{}, homes: map[string]string{}, keys: map[string]string{},
		chain: map[string]ScenarioChain{}, actor: map[string]ScenarioActor{}}
	defer func() {
		for i := len(r.stops) - 1; i >= 0; i-- {
			r.stops[i]()
		}
	}()
	start := time.Now()
	e.step("1. start a chain per region (solo, on this machine)")
	for _, c := range sc.Chains {
		r.chain[c.Name] = c
		if err := r.start(c); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%-10s region %-6s %s at %s\n", c.Name, shortRegion(c.Region), c.Title, r.urls[c.Name])
	}
	e.step("2. link each chain to its parent both ways; grant the relay and the actors")
	relayPub, err := r.keygen("relay")
	if err != nil {
		return err
	}
	for _, c := range sc.Chains {
		if err := r.grant(c.Name, relayPub, "relay", "relay"); err != nil {
			return err
		}
	}
	for _, c := range sc.Chains {
		if c.Parent == "" {
			continue
		}
		if _, err := r.run("child", "register", "--home", r.homes[c.Parent], "--node", r.urls[c.Parent], "--genesis", filepath.Join(r.homes[c.Name], "genesis.json")); err != nil {
			return err
		}
		if _, err := r.run("parent", "register", "--home", r.homes[c.Name], "--node", r.urls[c.Name], "--genesis", filepath.Join(r.homes[c.Parent], "genesis.json")); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s <-> %s\n", c.Name, c.Parent)
	}
	for _, a := range sc.Actors {
		r.actor[a.Name] = a
		pub, err := r.keygen(a.Name)
		if err != nil {
			return err
		}
		if err := r.grant(a.Chain, pub, a.Role, a.Title); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%-20s %s on %s\n", a.Name, a.Role, a.Chain)
	}
	fmt.Fprintf(e.stdout, "ready in %s\n", time.Since(start).Round(time.Millisecond))
	for i, st := range steps {
		e.step("%d. %s", i+3, stepTitle(st))
		if st.Note != "" {
			fmt.Fprintln(e.stdout, st.Note)
		}
		t0 := time.Now()
		if err := r.do(st); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "(%s)\n", time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

func stepTitle(st ScenarioStep) string {
	switch st.Step {
	case "submit":
		return "submit: " + st.Actor + ", endorsed by " + strings.Join(st.Endorsers, ", ")
	case "confirm", "broadcast":
		return st.Step + ": " + st.Actor
	case "up":
		return "up from " + st.From
	case "down":
		return "down from " + st.From
	}
	return st.Step
}

// start opens chain c's node in this process, serving its API on a
// loopback port.
func (r *hierarchyRun) start(c ScenarioChain) error {
	h, err := home.Init(filepath.Join(r.dir, c.Name), home.InitOptions{ChainID: c.Name, Region: mustRegion(c.Region)})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := node.Open(h, log, node.Options{Serving: true})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		n.Close()
		return err
	}
	handler, err := api.New(n, log)
	if err != nil {
		n.Close()
		return err
	}
	srv := api.Serve(ln, handler)
	r.stops = append(r.stops, func() { srv.Shutdown(10 * time.Second); n.Close() })
	r.homes[c.Name], r.urls[c.Name] = h.Dir, "http://"+ln.Addr().String()
	return nil
}

func (r *hierarchyRun) keygen(name string) (string, error) {
	r.keys[name] = filepath.Join(r.dir, "keys", name+".key")
	if err := os.MkdirAll(filepath.Dir(r.keys[name]), 0o700); err != nil {
		return "", err
	}
	out, err := r.run("keygen", "--out", r.keys[name])
	return strings.TrimSpace(out), err
}

func (r *hierarchyRun) grant(chain, pub, role, name string) error {
	_, err := r.run("role", "grant", "--home", r.homes[chain], "--node", r.urls[chain], "--key", pub, "--role", role, "--name", name)
	return err
}

func (r *hierarchyRun) do(st ScenarioStep) error {
	w := r.e.stdout
	switch st.Step {
	case "submit":
		a := r.actor[st.Actor]
		rec, err := json.Marshal(st.Record)
		if err != nil {
			return err
		}
		file := filepath.Join(r.dir, "record.json")
		if err := os.WriteFile(file, rec, 0o644); err != nil {
			return err
		}
		draft := filepath.Join(r.dir, "draft.json")
		if _, err := r.run("intel", "draft", file, "--key", r.keys[st.Actor], "--node", r.urls[a.Chain], "--out", draft); err != nil {
			return err
		}
		var out string
		for i, en := range st.Endorsers {
			next := filepath.Join(r.dir, fmt.Sprintf("draft-%d.json", i))
			if out, err = r.run("intel", "endorse", draft, "--key", r.keys[en], "--node", r.urls[a.Chain], "--out", next); err != nil {
				return err
			}
			draft = next
		}
		id := firstHash(out)
		if id == "" {
			return fmt.Errorf("submit: the record was not committed (does it ask for as many endorsements as it names endorsers?): %s", out)
		}
		r.record = id
		fmt.Fprintf(w, "%s holds record %s (level %s, %s)\n", a.Chain, id[:16], responseName(st.Record.Level), st.Record.Secrecy)
	case "confirm", "broadcast":
		a := r.actor[st.Actor]
		e, err := r.entry(a.Chain, st.Actor)
		if err != nil {
			return err
		}
		args := []string{"intel", "confirm", e.Tx, "--key", r.keys[st.Actor], "--node", r.urls[a.Chain]}
		if st.Step == "broadcast" {
			args = append(args, "--broadcast")
		}
		out, err := r.run(args...)
		if err != nil {
			return err
		}
		fmt.Fprint(w, out)
	case "up":
		return r.carry(st.From, r.chain[st.From].Parent)
	case "down":
		return r.down(st.From)
	case "check":
		return r.check()
	}
	return nil
}

// carry anchors from's head into to and carries its confirmations (or,
// downwards, broadcasts) across.
func (r *hierarchyRun) carry(from, to string) error {
	t0 := time.Now()
	if _, err := r.run("anchor", "relay", "--home", r.homes[from], "--node", r.urls[from], "--to", r.urls[to], "--relay-key", r.keys["relay"], "--once"); err != nil {
		return err
	}
	anchored := time.Since(t0)
	out, err := r.run("intel", "relay", "--node", r.urls[from], "--to", r.urls[to], "--relay-key", r.keys["relay"])
	if err != nil {
		return err
	}
	carried := 0
	fmt.Sscanf(lastLine(out), "%d carried", &carried)
	fmt.Fprintf(r.e.stdout, "%s -> %s: head anchored in %s, %d digest(s) carried in %s\n", from, to, anchored.Round(time.Millisecond), carried,
		(time.Since(t0) - anchored).Round(time.Millisecond))
	return nil
}

// down carries the broadcasts from chain from to each child, and on down.
func (r *hierarchyRun) down(from string) error {
	for _, c := range r.sc.Chains {
		if c.Parent == from {
			if err := r.carry(from, c.Name); err != nil {
				return err
			}
			if err := r.down(c.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// entries are the scenario record's entries on chain, as actor reads them.
func (r *hierarchyRun) entries(chain, actor string) ([]report.IntelView, error) {
	st, err := client.New(r.urls[chain], "").Health(r.e.ctx)
	if err != nil {
		return nil, err
	}
	k, err := home.LoadKeyFile(r.keys[actor])
	if err != nil {
		return nil, err
	}
	v, err := r.e.signedClient(r.urls[chain], k, st.ChainID).Intel(r.e.ctx, "1970-01-01T00:00:00Z", "", "", 0)
	if err != nil {
		return nil, err
	}
	var out []report.IntelView
	for _, x := range v.Intel {
		if x.Record == r.record {
			out = append(out, x)
		}
	}
	return out, nil
}

// entry is the scenario record's latest entry on chain.
func (r *hierarchyRun) entry(chain, actor string) (report.IntelView, error) {
	es, err := r.entries(chain, actor)
	if err != nil {
		return report.IntelView{}, err
	}
	if len(es) == 0 {
		return report.IntelView{}, fmt.Errorf("chain %s holds no entry of record %s yet", chain, r.record[:16])
	}
	return es[len(es)-1], nil
}

// check prints, per chain, what it holds of the record.
func (r *hierarchyRun) check() error {
	tw := tabwriter.NewWriter(r.e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHAIN\tREGION\tHOLDS\tFROM\tLEVEL\tCONFIRMED")
	holding := 0
	for _, c := range r.sc.Chains {
		es, err := r.entries(c.Name, "relay")
		if err != nil {
			return err
		}
		if len(es) > 0 {
			holding++
		}
		if len(es) == 0 {
			fmt.Fprintf(tw, "%s\t%s\tnothing\t-\t-\t-\n", c.Name, shortRegion(c.Region))
		}
		for _, e := range es {
			holds, from, confirmed := "the summary", e.From, "-"
			switch {
			case e.From == "":
				holds, from = "the record", "(submitted here)"
			case e.Broadcast:
				holds = "the broadcast"
			}
			if e.Digest != nil {
				confirmed = fmt.Sprint(e.Digest.Confirmed)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, shortRegion(c.Region), holds, from, e.Response, confirmed)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(r.e.stdout, "record %s is held on %d of %d chains\n", r.record[:16], holding, len(r.sc.Chains))
	return nil
}

func firstHash(s string) string {
	for _, f := range strings.Fields(s) {
		if len(f) == 64 && strings.Trim(f, "0123456789abcdef") == "" {
			return f
		}
	}
	return ""
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func responseName(level int) string {
	if level >= 1 && level <= 4 {
		return []string{"I", "II", "III", "IV"}[level-1]
	}
	return fmt.Sprint(level)
}
