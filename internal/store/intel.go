package store

// Outbreak intelligence (issue 15, docs/REGIONS.md step 6), written by the
// state machine:
//
//	q time txid                   -> an intelligence entry: an admitted record's or a received digest's summary (state)
//	Q txid                        -> its time, to find it by id (state)
//	j height txid                 -> a confirmation made here, to relay (state)
//	J tag len(origin) origin txid -> seen: a record confirmed ('c'), broadcast ('b') or received ('r', 'R' broadcast) (state)
//
// A record itself stays in its block (TabTx, found through TabTxIndex).
const (
	TabIntel        = 'q'
	TabIntelID      = 'Q'
	TabIntelConfirm = 'j'
	TabIntelSeen    = 'J'
)

// IntelKey is the key of entry txid describing time t (Unix seconds).
func IntelKey(t int64, txid [32]byte) []byte { return key(TabIntel, u64(TimeKey(t)), txid[:]) }

// IntelRange bounds the entries describing a time in [from, to].
func IntelRange(from, to int64) (lo, hi []byte) {
	return key(TabIntel, u64(TimeKey(from))), key(TabIntel, u64(TimeKey(to)+1))
}

// IntelIDKey finds entry txid's time.
func IntelIDKey(txid [32]byte) []byte { return key(TabIntelID, txid[:]) }

// IntelConfirmKey is the key of confirmation txid, made in block height.
func IntelConfirmKey(height uint64, txid [32]byte) []byte {
	return key(TabIntelConfirm, u64(height), txid[:])
}

// IntelConfirmRange bounds the confirmations made from block height on.
func IntelConfirmRange(from uint64) (lo, hi []byte) {
	return key(TabIntelConfirm, u64(from)), []byte{TabIntelConfirm + 1}
}

// IntelSeenKey marks record of chain origin as seen in the way tag says.
func IntelSeenKey(tag byte, origin string, record [32]byte) []byte {
	return key(TabIntelSeen, []byte{tag, byte(len(origin))}, []byte(origin), record[:])
}

func init() {
	StateTables = append(StateTables, TabIntel, TabIntelID, TabIntelConfirm, TabIntelSeen)
	// A confirmation may follow its record in the same block.
	readBack[TabIntel], readBack[TabIntelID], readBack[TabIntelSeen] = true, true, true
}
