package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	fp "path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/comet"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
)

// benchHierarchyCmd measures anchoring latency level by level (issue 15).
func (e *env) benchHierarchyCmd() *cobra.Command {
	var records, rounds int
	var simulate string
	var cometCity bool
	var timeoutCommit time.Duration
	c := &cobra.Command{
		Use:   "hierarchy [--records N] [--simulate P,C,D --rounds N]",
		Short: "Measure anchoring latency per level, district to national (solo chains on loopback)",
		Long: `hierarchy starts four solo chains in this process, each serving its API
on loopback (a district, its city, province and the national chain, linked
child to parent), then, --records times: commits a record on the
district, and relays the head up level by level as "epiledger anchor
relay" does (read the child's head over its API, sign the anchor, submit
it to the parent and wait for its commit). It prints, per level and for
the whole way up, the p50 and p99 of the time from the record's
submission on the district (its commit included) to its block being
anchored there, and the national chain's
bytes per anchor. Seed 002 reports 232 ms from an ordinary node to the
main chain; the goal here is district to national under 1 s at p99.

--simulate P,C,D instead starts a whole hierarchy in this process: one
national chain, P provinces, C cities and D districts (e.g. 4,16,64),
each a solo chain serving its API on loopback, with intelligence flowing:
each of --rounds rounds, every district submits an endorsed intelligence
record and confirms its digest, and each level anchors its head into its
parent and carries the digests up, its N2 confirming each (every digest
goes all the way up: the most the national chain can receive). It prints
the national chain's bytes on disk per anchor, per digest and per round,
and what a day makes at one anchor per province every 10 s and 24 records
a day per district.

--cometbft runs the city on CometBFT instead: three validators, each a
node process of this binary (epiledger testnet, --timeout-commit after
each block), the district's anchors committed there by consensus and the
city's signed headers relayed to the province as light anchors, verified
by CometBFT's light-client rules.`,
		Example: `  epiledger bench hierarchy --records 500
  epiledger bench hierarchy --records 200 --cometbft
  epiledger bench hierarchy --simulate 4,16,64 --rounds 10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if records < 1 || records > 100000 {
				return errors.New("--records: 1 to 100000")
			}
			if rounds < 1 || rounds > 10000 {
				return errors.New("--rounds: 1 to 10000")
			}
			var shape [3]int
			if simulate != "" {
				var err error
				if shape, err = simShape(simulate); err != nil {
					return err
				}
			}
			dir, err := os.MkdirTemp("", "epiledger-bench-hierarchy-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if simulate != "" {
				return e.benchHierarchySim(dir, shape, rounds)
			}
			if cometCity && timeoutCommit <= 0 {
				return errors.New("--timeout-commit: want a positive duration, e.g. 100ms")
			}
			return e.benchHierarchy(dir, records, cometCity, timeoutCommit)
		},
	}
	c.Flags().IntVar(&records, "records", 200, "records committed on the district, each relayed to the national chain")
	c.Flags().StringVar(&simulate, "simulate", "", "simulate a whole hierarchy: provinces, cities and districts in all, e.g. 4,16,64")
	c.Flags().IntVar(&rounds, "rounds", 10, "with --simulate: rounds of intelligence from every district")
	c.Flags().BoolVar(&cometCity, "cometbft", false, "run the city on CometBFT: three validators, each a node process")
	c.Flags().DurationVar(&timeoutCommit, "timeout-commit", 100*time.Millisecond, "with --cometbft: CometBFT's timeout_commit, the pause after each block")
	return c
}

func (e *env) benchHierarchy(dir string, records int, cometCity bool, timeoutCommit time.Duration) error {
	sc := &Scenario{Chains: []ScenarioChain{{Name: "national", Region: "000000"}, {Name: "hubei", Region: "420000", Parent: "national"},
		{Name: "wuhan", Region: "420100", Parent: "hubei"}, {Name: "jiangan", Region: "420102", Parent: "wuhan"}}}
	quiet := *e
	quiet.stdout = io.Discard
	r := &hierarchyRun{e: &quiet, dir: dir, sc: sc, urls: map[string]string{}, homes: map[string]string{}, keys: map[string]string{},
		chain: map[string]ScenarioChain{}, actor: map[string]ScenarioActor{}}
	defer func() {
		for i := len(r.stops) - 1; i >= 0; i-- {
			r.stops[i]()
		}
	}()
	relayPub, err := r.keygen("relay")
	if err != nil {
		return err
	}
	homes := map[string]*home.Home{}
	for _, c := range sc.Chains {
		r.chain[c.Name] = c
		start := r.start
		if cometCity && c.Name == "wuhan" {
			start = func(c ScenarioChain) error { return r.startComet(c, 3, timeoutCommit) }
		}
		if err := start(c); err != nil {
			return err
		}
		if err := r.grant(c.Name, relayPub, "relay", "relay"); err != nil {
			return err
		}
		if homes[c.Name], err = home.Load(r.homes[c.Name]); err != nil {
			return err
		}
		if c.Parent != "" {
			if _, err := r.run("child", "register", "--home", r.homes[c.Parent], "--node", r.urls[c.Parent], "--genesis", fp.Join(r.homes[c.Name], "genesis.json")); err != nil {
				return err
			}
		}
	}
	key, err := home.LoadKeyFile(r.keys["relay"])
	if err != nil {
		return err
	}
	// Level i relays chain path[i] into path[i+1].
	path := []string{"jiangan", "wuhan", "hubei", "national"}
	own, parent := make([]*client.Client, len(path)), make([]*client.Client, len(path))
	for i, name := range path {
		own[i] = client.New(r.urls[name], homes[name].APIToken())
		if i+1 < len(path) {
			parent[i] = client.New(r.urls[path[i+1]], "")
			parent[i].Key, parent[i].ChainID = key, homes[path[i+1]].Genesis.ChainID
		}
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Hour)
	defer cancel()
	lat := make([][]time.Duration, len(path)) // lat[i]: submitted on the district -> anchored on path[i]; lat[0] unused
	natBefore, provBefore := storeBytes(homes["national"]), storeBytes(homes["hubei"])
	engine := "solo chains"
	if cometCity {
		engine = fmt.Sprintf("the city on CometBFT (3 validators, timeout_commit %s), the others solo", timeoutCommit)
	}
	fmt.Fprintf(e.stdout, "%d records on %s, each anchored up %d levels to %s; %s\n", records, path[0], len(path)-1, path[len(path)-1], engine)
	for k := 0; k < records; k++ {
		t0 := time.Now()
		if _, err := own[0].SubmitOne(ctx, benchRecord(homes["jiangan"], k)); err != nil {
			return fmt.Errorf("record %d: %w", k, err)
		}
		for i := 0; i+1 < len(path); i++ {
			if err := r.anchorUp(ctx, homes[path[i]], own[i], parent[i], key); err != nil {
				return fmt.Errorf("record %d, %s -> %s: %w", k, path[i], path[i+1], err)
			}
			lat[i+1] = append(lat[i+1], time.Since(t0))
		}
		if (k+1)%50 == 0 {
			fmt.Fprintf(e.stderr, "%d/%d\n", k+1, records)
		}
	}
	natAfter, provAfter := storeBytes(homes["national"]), storeBytes(homes["hubei"])
	fmt.Fprintf(e.stdout, "%-28s %10s %10s\n", "submitted on jiangan ->", "p50", "p99")
	for i := 1; i < len(path); i++ {
		p50, p99 := percentiles(lat[i])
		fmt.Fprintf(e.stdout, "%-28s %10s %10s\n", "anchored on "+path[i], p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
	}
	fmt.Fprintf(e.stdout, "national chain: %d anchors, %.0f bytes on disk per anchor (tables and log, before compaction)\n",
		records, float64(natAfter-natBefore)/float64(records))
	kind := "anchor"
	if cometCity {
		kind = "light anchor (a CometBFT signed header with its validator set)"
	}
	fmt.Fprintf(e.stdout, "province chain: %.0f bytes on disk per %s of the city\n", float64(provAfter-provBefore)/float64(records), kind)
	return nil
}

// benchRecord is record k of the district: a role grant by its authority.
func benchRecord(h *home.Home, k int) []byte {
	var key [32]byte
	copy(key[:], fmt.Sprintf("bench hierarchy key %012d", k))
	tx := ledger.NewTx(&ledger.GrantRole{Key: key, Role: ledger.RoleAuditor, Name: fmt.Sprintf("auditor %d", k)})
	tx.Sign(h.Genesis.ChainID, h.Authority())
	return tx.Bytes()
}

// anchorUp anchors child's head into parent, as anchor relay --once: a
// solo chain's header signed by its authority, a CometBFT chain's signed
// header as a light anchor signed by key.
func (r *hierarchyRun) anchorUp(ctx context.Context, h *home.Home, child, parent *client.Client, key ed25519.PrivateKey) error {
	st, err := child.Status(ctx)
	if err != nil {
		return err
	}
	reg, ok, err := parent.Child(ctx, h.Genesis.ChainID)
	if err != nil {
		return err
	}
	if ok && reg.CometBFT != nil {
		return r.e.relayLight(ctx, h, child, parent, parent.ChainID, key, int64(reg.Height), int64(st.Height))
	}
	_, _, err = anchorBlock(ctx, h, child, parent, parent.ChainID, st.Height)
	return err
}

// startComet starts chain c as a CometBFT consortium of n validators,
// each a node process of this binary (epiledger testnet's homes), and
// waits until node 0 answers; c's home is node 0's.
func (r *hierarchyRun) startComet(c ScenarioChain, n int, timeoutCommit time.Duration) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	base, err := comet.FreePorts(3 * n)
	if err != nil {
		return err
	}
	dir := fp.Join(r.dir, c.Name)
	if _, err := r.run("testnet", "--validators", strconv.Itoa(n), "--dir", dir, "--chain-id", c.Name, "--region", mustRegion(c.Region),
		"--base-port", strconv.Itoa(base), "--api-port", strconv.Itoa(base+2*n), "--timeout-commit", timeoutCommit.String()); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		home := fp.Join(dir, fmt.Sprintf("node%d", i))
		logf, err := os.Create(fp.Join(home, "node.log"))
		if err != nil {
			return err
		}
		cmd := exec.Command(exe, "node", "--home", home)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			return fmt.Errorf("starting %s: %w", home, err)
		}
		r.stops = append(r.stops, func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			logf.Close()
		})
	}
	r.homes[c.Name], r.urls[c.Name] = fp.Join(dir, "node0"), fmt.Sprintf("http://127.0.0.1:%d", base+2*n)
	ctx, cancel := context.WithTimeout(r.e.ctx, 2*time.Minute)
	defer cancel()
	cl := client.New(r.urls[c.Name], "")
	for {
		st, err := cl.Health(ctx)
		if err == nil && st.Height >= 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the CometBFT chain %s did not start (its nodes log to %s/node*/node.log): %v", c.Name, dir, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0, 0
	}
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

// storeBytes is the size of a home's store directory.
func storeBytes(h *home.Home) int64 {
	var n int64
	fp.WalkDir(h.DataDir(), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
