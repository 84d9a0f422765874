package state

import (
	"os"
	"testing"
)

// TestMain makes every window close in this package's tests that finds its
// records in the window cache also read them from the store and fail on
// any difference: the cache may change speed, never a decision.
func TestMain(m *testing.M) {
	checkWindowCache = true
	os.Exit(m.Run())
}
