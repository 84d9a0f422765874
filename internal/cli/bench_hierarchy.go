package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	fp "path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
)

// benchHierarchyCmd measures anchoring latency level by level (issue 15).
func (e *env) benchHierarchyCmd() *cobra.Command {
	var records, rounds int
	var simulate string
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
a day per district.`,
		Example: `  epiledger bench hierarchy --records 500
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
			return e.benchHierarchy(dir, records)
		},
	}
	c.Flags().IntVar(&records, "records", 200, "records committed on the district, each relayed to the national chain")
	c.Flags().StringVar(&simulate, "simulate", "", "simulate a whole hierarchy: provinces, cities and districts in all, e.g. 4,16,64")
	c.Flags().IntVar(&rounds, "rounds", 10, "with --simulate: rounds of intelligence from every district")
	return c
}

func (e *env) benchHierarchy(dir string, records int) error {
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
		if err := r.start(c); err != nil {
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
	natBefore := storeBytes(homes["national"])
	fmt.Fprintf(e.stdout, "%d records on %s, each anchored up %d levels to %s\n", records, path[0], len(path)-1, path[len(path)-1])
	for k := 0; k < records; k++ {
		t0 := time.Now()
		if _, err := own[0].SubmitOne(ctx, benchRecord(homes["jiangan"], k)); err != nil {
			return fmt.Errorf("record %d: %w", k, err)
		}
		for i := 0; i+1 < len(path); i++ {
			if err := anchorHead(ctx, homes[path[i]], own[i], parent[i]); err != nil {
				return fmt.Errorf("record %d, %s -> %s: %w", k, path[i], path[i+1], err)
			}
			lat[i+1] = append(lat[i+1], time.Since(t0))
		}
		if (k+1)%50 == 0 {
			fmt.Fprintf(e.stderr, "%d/%d\n", k+1, records)
		}
	}
	natAfter := storeBytes(homes["national"])
	fmt.Fprintf(e.stdout, "%-28s %10s %10s\n", "submitted on jiangan ->", "p50", "p99")
	for i := 1; i < len(path); i++ {
		p50, p99 := percentiles(lat[i])
		fmt.Fprintf(e.stdout, "%-28s %10s %10s\n", "anchored on "+path[i], p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
	}
	fmt.Fprintf(e.stdout, "national chain: %d anchors, %.0f bytes on disk per anchor (tables and log, before compaction)\n",
		records, float64(natAfter-natBefore)/float64(records))
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

// anchorHead anchors child's head into parent, as anchor relay --once.
func anchorHead(ctx context.Context, h *home.Home, child, parent *client.Client) error {
	st, err := child.Status(ctx)
	if err != nil {
		return err
	}
	_, _, err = anchorBlock(ctx, h, child, parent, parent.ChainID, st.Height)
	return err
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
