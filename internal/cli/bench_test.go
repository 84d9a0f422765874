package cli_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestBenchSmall runs `epiledger bench` on a tiny city through the CLI:
// every figure is there, the with/without pairs are timed and their median
// reported, and --cpuprofile writes a profile. Stdout holds only the JSON,
// stderr the progress. Not a timing: the figures of a city this small say
// nothing.
func TestBenchSmall(t *testing.T) {
	t.Parallel()
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	args := []string{"bench", "--people", "300", "--days", "2", "--queries", "5", "--close-persons", "0", "--pairs", "2", "--resident", "--json", "--cpuprofile", prof}
	out, errs := runBench(t, args...)
	// 8 steps, one for the resident timeline, one for the second pair.
	checkBenchProgress(t, errs, 10)
	var res struct {
		Records     int       `json:"records"`
		Stored      int       `json:"stored_records"`
		Ingest      float64   `json:"ingest_records_per_sec"`
		Plain       float64   `json:"ingest_without_validation_records_per_sec"`
		Pairs       []float64 `json:"ingest_ratio_pairs"`
		Median      float64   `json:"ingest_ratio_median"`
		ContactsP99 float64   `json:"contacts_p99_ms"`
		Compacted   float64   `json:"compacted_table_bytes_per_record"`
		Resident    []float64 `json:"ingest_resident_ratio_pairs"`
		ResMedian   float64   `json:"ingest_resident_ratio_median"`
		Tables      []struct {
			Table string `json:"table"`
			Keys  int64  `json:"keys"`
			Disk  uint64 `json:"disk_bytes"`
		} `json:"tables"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Records == 0 || res.Ingest <= 0 || res.Plain <= 0 || res.ContactsP99 <= 0 || res.Compacted <= 0 {
		t.Errorf("missing figures: %+v", res)
	}
	// The bytes are per record the store holds: the city's, and the
	// latency steps' records (as many as the tx table's keys).
	for _, u := range res.Tables {
		if u.Table == "tx" && (res.Stored != int(u.Keys) || res.Stored <= res.Records) {
			t.Errorf("stored records %d, the tx table %d keys, the city %d records", res.Stored, u.Keys, res.Records)
		}
	}
	if len(res.Pairs) != 2 || res.Median <= 0 || res.Median < min(res.Pairs[0], res.Pairs[1]) || res.Median > max(res.Pairs[0], res.Pairs[1]) {
		t.Errorf("pairs %v, median %v", res.Pairs, res.Median)
	}
	// Where the bytes go: the signed transactions and the persons'
	// records among the tables, each with keys and bytes.
	tables := map[string]bool{}
	for _, u := range res.Tables {
		tables[u.Table] = u.Keys > 0 && u.Disk > 0
	}
	if !tables["tx"] || !tables["person"] || !tables["site-idx"] {
		t.Errorf("tables %+v, want tx, person and site-idx with keys and bytes", res.Tables)
	}
	if len(res.Resident) != 2 || res.ResMedian <= 0 {
		t.Errorf("resident timeline ratios %v, median %v", res.Resident, res.ResMedian)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("no CPU profile written: %v", err)
	}
}

// TestBenchTableOnce runs `epiledger bench` without --json: stdout holds
// the table, each of its lines exactly once; stderr holds one progress line
// per step (stderr is not a terminal), and no figure.
func TestBenchTableOnce(t *testing.T) {
	t.Parallel()
	args := []string{"bench", "--people", "300", "--days", "2", "--queries", "5", "--close-persons", "50", "--pairs", "2"}
	out, errs := runBench(t, args...)
	labels := []string{"machine ", "city ", "ed25519 verify, 1 core ", "ingest through the engine ", "ingest without validation ",
		"with/without, 2 pairs ", "commit latency at saturation ", "commit latency at half load ", "commit latency, one at a time ",
		"contacts, confirmed cases ", "contacts, random people ", "bytes on disk per record ", "the same, compacted in full ", "where a record's bytes go ", "window close "}
	// The tables' lines, indented under theirs, are as many as tables
	// hold at least 1% of the bytes: the signed transactions among them.
	var lines []string
	var tables []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(line, "  ") {
			tables = append(tables, strings.Fields(line)[0])
			continue
		}
		lines = append(lines, line)
	}
	if !slices.Contains(tables, "tx") || !slices.Contains(tables, "person") {
		t.Errorf("the tables' lines name %v, want tx and person among them:\n%s", tables, out)
	}
	if len(lines) != len(labels) {
		t.Errorf("stdout has %d lines, want %d:\n%s", len(lines), len(labels), out)
	}
	for _, l := range labels {
		n := 0
		for _, line := range lines {
			if strings.HasPrefix(line, l) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("stdout has %d lines starting %q, want 1:\n%s", n, l, out)
		}
	}
	// 8 steps, one for the second pair, one for the window close.
	checkBenchProgress(t, errs, 10)
}

// runBench runs the CLI with args, which must succeed, and returns its
// stdout and stderr.
func runBench(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errs, code := run(t, args...)
	if code != 0 {
		t.Fatalf("epiledger %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out, errs
}

// checkBenchProgress checks that stderr is exactly one plain progress line
// per step, 1 to steps, and holds no figure.
func checkBenchProgress(t *testing.T, stderr string, steps int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != steps {
		t.Fatalf("stderr has %d lines, want %d progress lines:\n%s", len(lines), steps, stderr)
	}
	for i, line := range lines {
		if want := fmt.Sprintf("bench: step %d of %d: ", i+1, steps); !strings.HasPrefix(line, want) {
			t.Errorf("stderr line %d is %q, want it to start %q", i+1, line, want)
		}
		for _, figure := range []string{"/s", " ms", "p50", "%"} {
			if strings.Contains(line, figure) {
				t.Errorf("stderr line %d holds a figure (%q): %s", i+1, figure, line)
			}
		}
	}
}

// TestBenchScaleSmall runs `epiledger bench scale` on two tiny cities
// through the CLI: stdout holds the table, a row per size in the order
// given with every figure positive, stderr one progress line per step,
// and --svg writes a plot that parses as XML. Not a timing: the figures
// of cities this small say nothing.
func TestBenchScaleSmall(t *testing.T) {
	t.Parallel()
	svg := filepath.Join(t.TempDir(), "scale.svg")
	out, errs := runBench(t, "bench", "scale", "--people", "30,60", "--days", "3", "--queries", "5", "--chains", "2", "--svg", svg)
	// Eight steps per size.
	checkBenchProgress(t, errs, 16)
	header := "people  days  records  ingest rec/s  bytes/record  compacted  timeline bytes/visit  contacts p99 ms  chain p99 ms"
	if !strings.Contains(out, header) {
		t.Errorf("no table header %q:\n%s", header, out)
	}
	var rows [][]string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 10 && (f[0] == "30" || f[0] == "60") {
			// The timeline's heap figure ("-" within the heap's noise)
			// and its own estimate in brackets.
			if f[6] == "-" {
				f[6] = "1"
			}
			f[7] = strings.Trim(f[7], "()")
			rows = append(rows, f)
		}
	}
	if len(rows) != 2 || rows[0][0] != "30" || rows[1][0] != "60" {
		t.Fatalf("want a row for 30 people, then one for 60:\n%s", out)
	}
	for _, row := range rows {
		if row[1] != "3" {
			t.Errorf("days %s, want 3: %v", row[1], row)
		}
		for i, s := range row[2:] {
			if v, err := strconv.ParseFloat(s, 64); err != nil || v <= 0 {
				t.Errorf("column %d of the row for %s people is %q, want a positive figure:\n%s", i+3, row[0], s, out)
			}
		}
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatalf("--svg: %v", err)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("--svg wrote no XML: %v\n%s", err, b)
		}
	}
	if !bytes.Contains(b, []byte("depth-3 chain p99")) {
		t.Errorf("the plot has no chain panel:\n%s", b)
	}
}

// TestBenchScaleIDsInStore: --ids-in-store loads the timeline with its
// record ids in the store, as trace.resident_ids = "store" does: its own
// estimate of bytes a visit is 24 less (an id past its entry's 8 bytes)
// than with ids in memory, on the same city.
func TestBenchScaleIDsInStore(t *testing.T) {
	t.Parallel()
	estimate := func(args ...string) float64 {
		out, _ := runBench(t, append([]string{"bench", "scale", "--people", "40", "--days", "3", "--queries", "2", "--chains", "1", "--json"}, args...)...)
		var res struct {
			Points []struct {
				Visits   int     `json:"timeline_visits"`
				Estimate float64 `json:"timeline_estimate_bytes_per_visit"`
			} `json:"sizes"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Points) != 1 || res.Points[0].Visits == 0 {
			t.Fatalf("bench scale --json %v: %v\n%s", args, err, out)
		}
		return res.Points[0].Estimate
	}
	mem, store := estimate(), estimate("--ids-in-store")
	// In memory, the 24 bytes of each id past the 8 its entry holds.
	if d := mem - store; d < 23 || d > 25 {
		t.Fatalf("estimate with ids in memory %.1f, in the store %.1f: want 24 bytes a visit apart", mem, store)
	}
}
