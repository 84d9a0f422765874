package comet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/epiledger/epiledger/internal/bench"
	"github.com/epiledger/epiledger/internal/cli"
)

// TestBenchConsortium runs `epiledger bench consortium` on a tiny city:
// four validator processes (this test binary as the CLI), every record
// committed, the validators agreeing at the end, every figure present.
// Each request goes to every validator (--to-all), so that the same
// batch reaches each node by its API and by gossip. It asserts no speed:
// that is for the benchmark's readers.
func TestBenchConsortium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four validator processes")
	}
	t.Setenv("EPILEDGER_BENCH_NODE", os.Args[0])
	var out, errb bytes.Buffer
	prof := filepath.Join(t.TempDir(), "cpu")
	args := []string{"bench", "consortium", "--validators", "4", "--people", "60", "--days", "1", "--half", "1s", "--singles", "5", "--timeout-commit", "50ms", "--to-all", "--retain-blocks", "10", "--json", "--cpuprofile", prof}
	if code := cli.Main(context.Background(), args, nil, &out, &errb); code != 0 {
		t.Fatalf("bench consortium: exit %d\n%s%s", code, out.String(), errb.String())
	}
	var res bench.ConsortiumResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !res.SameState || res.StateHash == "" || res.Validators != 4 || !res.ToAll || res.RetainBlocks != 10 {
		t.Errorf("validators: %+v", res)
	}
	if res.Records == 0 || res.SetupRecords == 0 || res.SetupRecords >= res.Records || res.Blocks == 0 {
		t.Errorf("records and blocks: %+v", res)
	}
	// Each validator wrote its own CPU profile (gzipped protobuf) when it
	// stopped.
	for i := 0; i < 4; i++ {
		b, err := os.ReadFile(fmt.Sprintf("%s.node%d", prof, i))
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("node%d's CPU profile: %v (%d bytes)", i, err, len(b))
		}
	}
	for name, v := range map[string]float64{"consortium rate": res.CommitPerSec, "latency p50": res.LoadP50, "half-load p99": res.HalfP99,
		"disk": res.DiskPerRecord, "CometBFT's disk": res.CometBFTPerRecord, "solo rate": res.SoloPerSec, "solo single p99": res.SoloSingleP99,
		"compacted disk": res.CompactedPerRecord, "compacted store": res.CompactedStorePerRecord, "CometBFT's compacted block store": res.CompactedCometBFTParts.BlockStore,
		"CometBFT's WAL": res.CometBFTParts.WAL} {
		if !(v > 0) {
			t.Errorf("%s: %v", name, v)
		}
	}
	// CometBFT's parts add up to its share, before and after compaction.
	for _, c := range []struct {
		parts bench.CometBFTDisk
		total float64
	}{{res.CometBFTParts, res.CometBFTPerRecord}, {res.CompactedCometBFTParts, res.CompactedCometBFTPerRecord}} {
		if sum := c.parts.BlockStore + c.parts.State + c.parts.WAL + c.parts.Other; math.Abs(sum-c.total) > 1e-6 || c.parts.Other < 0 {
			t.Errorf("CometBFT's parts %+v add up to %v, not %v", c.parts, sum, c.total)
		}
	}
}
