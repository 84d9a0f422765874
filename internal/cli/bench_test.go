package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestBenchSmall runs `epiledger bench` on a tiny city through the CLI:
// every figure is there, the with/without pairs are timed and their median
// reported, and --cpuprofile writes a profile. Not a timing: the figures
// of a city this small say nothing.
func TestBenchSmall(t *testing.T) {
	t.Parallel()
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	out := mustRun(t, "bench", "--people", "300", "--days", "2", "--queries", "5", "--close-persons", "0", "--pairs", "2", "--resident", "--json", "--cpuprofile", prof)
	var res struct {
		Records     int       `json:"records"`
		Ingest      float64   `json:"ingest_records_per_sec"`
		Plain       float64   `json:"ingest_without_validation_records_per_sec"`
		Pairs       []float64 `json:"ingest_ratio_pairs"`
		Median      float64   `json:"ingest_ratio_median"`
		ContactsP99 float64   `json:"contacts_p99_ms"`
		Resident    []float64 `json:"ingest_resident_ratio_pairs"`
		ResMedian   float64   `json:"ingest_resident_ratio_median"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Records == 0 || res.Ingest <= 0 || res.Plain <= 0 || res.ContactsP99 <= 0 {
		t.Errorf("missing figures: %+v", res)
	}
	if len(res.Pairs) != 2 || res.Median <= 0 || res.Median < min(res.Pairs[0], res.Pairs[1]) || res.Median > max(res.Pairs[0], res.Pairs[1]) {
		t.Errorf("pairs %v, median %v", res.Pairs, res.Median)
	}
	if len(res.Resident) != 2 || res.ResMedian <= 0 {
		t.Errorf("resident timeline ratios %v, median %v", res.Resident, res.ResMedian)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("no CPU profile written: %v", err)
	}
}
