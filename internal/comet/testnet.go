package comet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/home"
)

// TestnetNode is one node of a testnet on one machine: its organisation,
// home, listen addresses and CometBFT node id.
type TestnetNode struct {
	Org, Home, API, P2P, RPC, NodeID string
}

// TestnetOptions say what WriteTestnet writes.
type TestnetOptions struct {
	// Init is the chain's genesis (chain id, region, rules); node0 is
	// written with it, the others are its clones.
	Init home.InitOptions
	// Orgs names the organisations, one validator each.
	Orgs []string
	// BasePort is the first CometBFT port: node i listens on BasePort+2i
	// (p2p) and BasePort+2i+1 (RPC); APIPort+i is its API.
	BasePort, APIPort int
	// TimeoutCommit is CometBFT's timeout_commit (0: its default).
	TimeoutCommit time.Duration
}

// WriteTestnet writes, under dir (new or empty), the homes of a consortium
// on one machine: dir/node0 (the chain authority's home) and its clones,
// each with its own validator and node keys, the same CometBFT genesis
// naming every validator, every other node as a persistent peer, its own
// loopback ports and engine.kind = "cometbft".
func WriteTestnet(dir string, o TestnetOptions) ([]TestnetNode, error) {
	if err := home.CheckEmpty(dir); err != nil {
		return nil, err
	}
	first, err := home.Init(filepath.Join(dir, "node0"), o.Init)
	if err != nil {
		return nil, err
	}
	homes := []*home.Home{first}
	for i := 1; i < len(o.Orgs); i++ {
		h, err := home.Clone(first, filepath.Join(dir, fmt.Sprintf("node%d", i)))
		if err != nil {
			return nil, err
		}
		homes = append(homes, h)
	}
	nodes := make([]TestnetNode, len(o.Orgs))
	for i, h := range homes {
		nodes[i] = TestnetNode{Org: o.Orgs[i], Home: h.Dir,
			API: fmt.Sprintf("127.0.0.1:%d", o.APIPort+i),
			P2P: fmt.Sprintf("127.0.0.1:%d", o.BasePort+2*i), RPC: fmt.Sprintf("127.0.0.1:%d", o.BasePort+2*i+1)}
	}
	// Keys first (each node's own), then the peers and the genesis that
	// name them all.
	vals := make([]Validator, len(homes))
	for i, h := range homes {
		if vals[i], err = InitNode(h, NodeOptions{Moniker: o.Orgs[i], P2P: nodes[i].P2P, RPC: nodes[i].RPC, Loopback: true, TimeoutCommit: o.TimeoutCommit}); err != nil {
			return nil, err
		}
		nodes[i].NodeID = vals[i].NodeID
	}
	// The genesis names the organisations and their validators.
	gv, err := GenesisValidators(vals)
	if err != nil {
		return nil, err
	}
	for i, h := range homes {
		if err := h.SetValidators(gv); err != nil {
			return nil, err
		}
		var peers []string
		for j := range homes {
			if j != i {
				peers = append(peers, vals[j].NodeID+"@"+nodes[j].P2P)
			}
		}
		if _, err := InitNode(h, NodeOptions{Moniker: o.Orgs[i], P2P: nodes[i].P2P, RPC: nodes[i].RPC, Peers: peers, Loopback: true, TimeoutCommit: o.TimeoutCommit}); err != nil {
			return nil, err
		}
		if err := WriteGenesis(h, vals); err != nil {
			return nil, err
		}
		if err := h.SetConfig(map[string]string{"listen": strconv.Quote(nodes[i].API), "kind": strconv.Quote("cometbft")}); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// FreePorts finds n consecutive loopback ports free now, below the
// kernel's ephemeral range: a port inside it can be taken between this
// check and the node's listen by any outgoing connection on the machine
// (a peer dialling, a test's HTTP client), which CI saw as "address
// already in use". Two callers racing for one run can still collide;
// the random base makes it rare.
func FreePorts(n int) (int, error) {
	hi := ephemeralLow() - n
	const lo = 10000
	if hi <= lo {
		return 0, errors.New("no loopback ports below the ephemeral range")
	}
	for try := 0; try < 100; try++ {
		base := lo + rand.IntN(hi-lo)
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no run of %d free loopback ports", n)
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default 32768 where it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 1024 {
				return v
			}
		}
	}
	return 32768
}
