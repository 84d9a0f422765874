package comet

// SetTestPoison makes every node this process starts put p into each
// proposal it makes (a faulty proposer).
func SetTestPoison(p []byte) { testPoison = p }
