package store

// A parent chain's children (issue 15, docs/REGIONS.md), written by the
// state machine:
//
//	z chain id                      -> a registered child chain and its latest anchor (state)
//	Z len(chain id) chain id height -> an anchored header of that child (state)
const (
	TabChild  = 'z'
	TabAnchor = 'Z'
)

// ChildKey is the key of the child chain chainID.
func ChildKey(chainID string) []byte { return key(TabChild, []byte(chainID)) }

// ChildRange bounds every child chain.
func ChildRange() (lo, hi []byte) { return []byte{TabChild}, []byte{TabChild + 1} }

// AnchorKey is the key of child chainID's anchored header at height.
func AnchorKey(chainID string, height uint64) []byte {
	return key(TabAnchor, []byte{byte(len(chainID))}, []byte(chainID), u64(height))
}

// AnchorRange bounds child chainID's anchors from height from to to.
func AnchorRange(chainID string, from, to uint64) (lo, hi []byte) {
	lo = AnchorKey(chainID, from)
	if to == ^uint64(0) {
		return lo, PrefixEnd(key(TabAnchor, []byte{byte(len(chainID))}, []byte(chainID)))
	}
	return lo, AnchorKey(chainID, to+1)
}

func init() {
	StateTables = append(StateTables, TabChild, TabAnchor)
	// Two anchors of one child in one block: the second sees the first.
	readBack[TabChild], readBack[TabAnchor] = true, true
}
