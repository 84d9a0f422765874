package store

// The consortium's validators (issue 13, point 6), written by the state
// machine:
//
//	O "set"                   -> the validator set: organisation, key, power (state)
//	Y change id               -> a proposed validator change and its approvals (state)
//	U height                  -> the validator updates decided in that block (state)
const (
	TabValSet     = 'O'
	TabValChange  = 'Y'
	TabValUpdates = 'U'
)

// ValidatorSetKey is the key of the validator set record (absent until
// the first decided change: the genesis names the set until then).
func ValidatorSetKey() []byte { return key(TabValSet, []byte("set")) }

// ValidatorChangeKey indexes a proposed validator change by its id.
func ValidatorChangeKey(id [32]byte) []byte { return key(TabValChange, id[:]) }

// ValidatorChangeRange bounds every validator change.
func ValidatorChangeRange() (lo, hi []byte) { return []byte{TabValChange}, []byte{TabValChange + 1} }

// ValidatorUpdatesKey indexes the updates decided in the block at height.
func ValidatorUpdatesKey(height uint64) []byte { return key(TabValUpdates, u64(height)) }

func init() {
	StateTables = append(StateTables, TabValSet, TabValChange, TabValUpdates)
	// A block reads back what it decided: a second change in the same
	// block sees the set the first one left.
	readBack[TabValSet], readBack[TabValChange], readBack[TabValUpdates] = true, true, true
}
