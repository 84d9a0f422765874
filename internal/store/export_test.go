package store

// SetUnsortedCommit turns Batch's sort of its writes off or on, for
// BenchmarkCommitOrder's baseline.
func SetUnsortedCommit(off bool) { unsortedCommit = off }
