package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/comet"
	"github.com/epiledger/epiledger/internal/home"
)

func (e *env) testnetCmd() *cobra.Command {
	var dir, chainID, region, orgs string
	var validators, basePort, apiPort int
	var timeoutCommit time.Duration
	var start bool
	var authorities []string
	var admin string
	var quorum int
	c := &cobra.Command{
		Use:   "testnet --validators N --dir DIR [--start]",
		Short: "Write the homes of an N-validator CometBFT consortium on this machine (and run them)",
		Long: `testnet writes N node homes under DIR (DIR/node0 ... DIR/nodeN-1), one per
organisation, for a consortium on one machine: each home holds the same
epiledger genesis (chain id, region, rules) and the same CometBFT genesis
naming every validator with power 10, its own validator and node keys
(generated here, in its own cometbft/config), engine.kind = "cometbft",
and its own loopback ports: the API on --api-port + i, CometBFT's p2p on
--base-port + 2i and its RPC on --base-port + 2i + 1 (CometBFT's own
testnet gives every node the same ports: it assumes one host per node).
Every node lists the others as persistent peers. genesis.json names the
organisations and their validators too; --authority, --administrator and
--correction-quorum name the authorities who approve corrections and
validator changes (epiledger consortium propose), as for init.

node0 is the chain authority's home (epiledger init); on this one machine
every home holds the authority's keys (keys/), so that each node can write
the audit records of the reads it serves. In a real consortium each
organisation writes its own home on its own machine and only the
authority's nodes hold keys/.

With --start, testnet then runs every node as its own process
("epiledger node --home DIR/nodeI", logging to DIR/nodeI/node.log) until
Ctrl-C, and stops them all. Without it, start each yourself:

  epiledger node --home DIR/node0 &   (and so on for each node)

The consortium commits blocks once more than 2/3 of the voting power is
up: 3 of 4 validators. Every node serves the API, and the CLI, import and
investigations work against any of them (--node http://127.0.0.1:PORT).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return errors.New("--dir: required (a new or empty directory for the homes)")
			}
			if validators < 1 || validators > 64 {
				return errors.New("--validators: 1 to 64")
			}
			if basePort < 1024 || basePort+2*validators > 65535 || apiPort < 1024 || apiPort+validators > 65535 {
				return errors.New("--base-port and --api-port: from 1024, leaving room for every node's ports")
			}
			names := make([]string, validators)
			for i := range names {
				names[i] = fmt.Sprintf("org%d", i)
			}
			if orgs != "" {
				given := strings.Split(orgs, ",")
				if len(given) != validators {
					return fmt.Errorf("--orgs: %d names for %d validators", len(given), validators)
				}
				for i, n := range given {
					if n = strings.TrimSpace(n); n == "" || len(n) > 64 || strings.ContainsAny(n, " \t\n\"'") {
						return fmt.Errorf("--orgs: name %d must be 1 to 64 characters without spaces or quotes", i)
					}
					names[i] = strings.TrimSpace(n)
				}
			}
			init := home.InitOptions{ChainID: chainID, Region: region}
			if err := authorityOptions(&init, authorities, admin, quorum); err != nil {
				return err
			}
			nodes, err := comet.WriteTestnet(dir, comet.TestnetOptions{Init: init, Orgs: names, BasePort: basePort, APIPort: apiPort, TimeoutCommit: timeoutCommit})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %d node homes for chain %s under %s:\n", len(nodes), chainIDOf(dir), dir)
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ORG\tHOME\tAPI\tP2P\tNODE ID")
			for _, n := range nodes {
				fmt.Fprintf(tw, "%s\t%s\thttp://%s\t%s\t%s\n", n.Org, n.Home, n.API, n.P2P, n.NodeID)
			}
			tw.Flush()
			if !start {
				fmt.Fprintf(e.stdout, "start each node in its own terminal (or with &): epiledger node --home %s, and so on to %s\n", nodes[0].Home, nodes[len(nodes)-1].Home)
				return nil
			}
			return e.runTestnet(nodes)
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory for the homes (new or empty)")
	c.Flags().IntVar(&validators, "validators", 4, "number of validators (organisations)")
	c.Flags().StringVar(&orgs, "orgs", "", "comma-separated organisation names, one per validator (default org0, org1, ...)")
	c.Flags().StringVar(&chainID, "chain-id", "", "chain id (default: random)")
	c.Flags().StringVar(&region, "region", "000000", "region code of the chain (GB/T 2260)")
	c.Flags().IntVar(&basePort, "base-port", 26600, "first CometBFT port: node i uses base+2i (p2p) and base+2i+1 (RPC)")
	c.Flags().IntVar(&apiPort, "api-port", 7070, "first API port: node i serves on api-port+i")
	c.Flags().DurationVar(&timeoutCommit, "timeout-commit", 300*time.Millisecond, "CometBFT's timeout_commit: the pause after each block")
	c.Flags().BoolVar(&start, "start", false, "run every node as a separate process until Ctrl-C")
	authorityFlags(c, &authorities, &admin, &quorum)
	return c
}

func chainIDOf(dir string) string {
	h, err := home.Load(filepath.Join(dir, "node0"))
	if err != nil {
		return "?"
	}
	return h.Genesis.ChainID
}

// runTestnet runs every node as its own process until the command's
// context ends, then stops them (SIGTERM) and waits.
func (e *env) runTestnet(nodes []comet.TestnetNode) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			p.Wait()
		}
	}()
	for _, n := range nodes {
		logf, err := os.Create(filepath.Join(n.Home, "node.log"))
		if err != nil {
			return err
		}
		defer logf.Close()
		p := exec.Command(self, "node", "--home", n.Home)
		p.Stdout, p.Stderr = logf, logf
		if err := p.Start(); err != nil {
			return fmt.Errorf("start %s: %w", n.Org, err)
		}
		procs = append(procs, p)
		fmt.Fprintf(e.stdout, "%s: pid %d, API http://%s, log %s\n", n.Org, p.Process.Pid, n.API, filepath.Join(n.Home, "node.log"))
	}
	fmt.Fprintln(e.stdout, "running; Ctrl-C stops every node")
	<-e.ctx.Done()
	fmt.Fprintln(e.stdout, "stopping")
	return nil
}
