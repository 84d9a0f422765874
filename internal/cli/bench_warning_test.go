package cli_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestBenchWarning: bench warning files the cards with and without rules
// and reports the rates and their ratio; bad sizes are refused.
func TestBenchWarning(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "bench", "warning", "--cards", "300", "--rules", "20", "--pairs", "1", "--districts", "4")
	if !regexp.MustCompile(`pair 1: no rule \d+ cards/s, 20 rules \d+ cards/s: \d+\.\d%`).MatchString(out) || !strings.Contains(out, "median ratio") {
		t.Errorf("bench warning:\n%s", out)
	}
	// Over days after a history: the days follow the cards in.
	out = mustRun(t, "bench", "warning", "--cards", "400", "--days", "4", "--history", "2", "--pairs", "1", "--districts", "2")
	if !strings.Contains(out, "400 report cards per run over 4 day(s) after 2 untimed day(s)") ||
		!regexp.MustCompile(`: \d+\.\d% \(\d+ alerts raised\)`).MatchString(out) {
		t.Errorf("bench warning --days:\n%s", out)
	}
	out = mustRun(t, "bench", "warning", "--hierarchy", "2")
	if !regexp.MustCompile(`the third card to its alert on the national chain \(3 levels up, each N2 confirming at once\): p50 \S+, p99 \S+`).MatchString(out) {
		t.Errorf("bench warning --hierarchy:\n%s", out)
	}
	if _, errs, code := run(t, "bench", "warning", "--cards", "0"); code == 0 || !strings.Contains(errs, "--cards") {
		t.Errorf("--cards 0: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "bench", "warning", "--days", "0"); code == 0 || !strings.Contains(errs, "--days") {
		t.Errorf("--days 0: exit %d %s", code, errs)
	}
}

// TestBenchSupply: bench supply files its workload (every step accepted,
// the first hospital's holdings checked) and reports the rates; 100
// rounds are 400 events and the 2 scans of counterfeits.
func TestBenchSupply(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "bench", "supply", "--events", "400", "--runs", "1")
	if !regexp.MustCompile(`run 1: \d+ events/s \(\d+ transactions/s\)`).MatchString(out) || !strings.Contains(out, "402 events (602 transactions)") {
		t.Errorf("bench supply:\n%s", out)
	}
	if _, errs, code := run(t, "bench", "supply", "--events", "5"); code == 0 || !strings.Contains(errs, "--events") {
		t.Errorf("--events 5: exit %d %s", code, errs)
	}
}

// TestBenchSupplyChecks: bench supply --checks times the public check of
// codes drawn from the workload (all four kinds) on the last run's chain
// and prints the latencies, the answers' steps and blocks and the target;
// --spread files an item's steps apart (more blocks per answer, not
// timed here: a tiny workload fits few blocks); --cold says the Merkle
// levels were not loaded. PostgreSQL is skipped here (--no-postgres):
// internal/bench's TestPostgresSupplyEqualsOurs runs it.
func TestBenchSupplyChecks(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "bench", "supply", "--events", "800", "--runs", "1", "--checks", "200", "--no-postgres", "--spread")
	for _, re := range []string{
		`run 1: \d+ events/s`,
		`public check: 200 codes of run 1's chain, drawn with seed 1: \d+ boxes, \d+ lots, [1-9]\d* scanned counterfeits, [1-9]\d* never named`,
		`answers +\d+\.\d steps from \d+\.\d blocks on average, 6 steps at most`,
		`proofs +the Merkle levels of \d+ blocks loaded first`,
		`PostgreSQL +skipped: --no-postgres`,
		`200 checks +p50 +p90 +p99 +max`,
		`epiledger: HTTP handler, proofs, JSON( +\S+ ms){4}`,
		`target +a public code check p99 under 10 ms: (met|NOT met)`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("bench supply --checks: no %q in\n%s", re, out)
		}
	}
	if out := mustRun(t, "bench", "supply", "--events", "400", "--runs", "1", "--checks", "20", "--no-postgres", "--cold", "--seed", "7"); !strings.Contains(out, "drawn with seed 7") ||
		!strings.Contains(out, "proofs       cold: ") {
		t.Errorf("bench supply --cold:\n%s", out)
	}
	if _, errs, code := run(t, "bench", "supply", "--checks", "-1"); code == 0 || !strings.Contains(errs, "--checks") {
		t.Errorf("--checks -1: exit %d %s", code, errs)
	}
}
