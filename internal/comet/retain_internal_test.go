package comet

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRetainHeight(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		height uint64
		retain int64
		want   int64
	}{
		{1, 0, 0},          // keeps every block
		{1000, 0, 0},       //
		{5, 10, 0},         // fewer blocks than it keeps
		{10, 10, 0},        //
		{11, 10, 2},        // blocks 2 to 11: ten
		{1000, 10, 991},    // blocks 991 to 1000
		{1000, 1000000, 0}, //
		{1 << 40, 10, 1<<40 - 9},
	} {
		if got := retainHeight(tc.height, tc.retain); got != tc.want {
			t.Errorf("retainHeight(%d, %d) = %d, want %d", tc.height, tc.retain, got, tc.want)
		}
	}
}

// TestTrimWAL: the oldest rotated files go while the rotated files hold
// more than the budget; the newest keep of them, the head and files that
// are not the WAL's stay, and indexes past 999 sort as numbers.
func TestTrimWAL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		files  map[string]int
		budget int64
		keep   int
		freed  int64
		left   []string
	}{
		{"over budget", map[string]int{"wal": 5, "wal.000": 10, "wal.001": 10, "wal.002": 10, "wal.003": 10, "wal.004": 10, "wal.005": 10},
			25, 2, 40, []string{"wal", "wal.004", "wal.005"}},
		{"within budget", map[string]int{"wal": 50, "wal.000": 10, "wal.001": 10},
			20, 1, 0, []string{"wal", "wal.000", "wal.001"}},
		{"the newest kept whatever their size", map[string]int{"wal": 5, "wal.000": 10, "wal.001": 100, "wal.002": 100},
			0, 2, 10, []string{"wal", "wal.001", "wal.002"}},
		{"indexes past 999", map[string]int{"wal": 1, "wal.999": 10, "wal.1000": 10, "wal.1001": 10},
			15, 1, 20, []string{"wal", "wal.1001"}},
		{"other files", map[string]int{"wal": 1, "wal.000": 10, "wal.001": 10, "wal.tmp": 10, "other.000": 10, "wal.00x": 10, "wal.01": 10, "xwal.000": 10},
			0, 1, 10, []string{"other.000", "wal", "wal.001", "wal.00x", "wal.01", "wal.tmp", "xwal.000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, n := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			freed, err := trimWAL(filepath.Join(dir, "wal"), tc.budget, tc.keep)
			if err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir(dir)
			var left []string
			for _, e := range ents {
				left = append(left, e.Name())
			}
			slices.Sort(left)
			if freed != tc.freed || !slices.Equal(left, tc.left) {
				t.Fatalf("freed %d, left %v; want %d, %v", freed, left, tc.freed, tc.left)
			}
		})
	}
	if _, err := trimWAL(filepath.Join(t.TempDir(), "none", "wal"), 0, 2); err == nil {
		t.Fatal("a WAL directory that is not there: no error")
	}
}
