package store

// Outbreak intelligence (issue 15, docs/REGIONS.md step 6), written by the
// state machine:
//
//	q time txid -> an admitted intelligence record's summary (state)
//
// The record itself stays in its block (TabTx, found through TabTxIndex).
const TabIntel = 'q'

// IntelKey is the key of the record txid describing time t (Unix seconds).
func IntelKey(t int64, txid [32]byte) []byte { return key(TabIntel, u64(TimeKey(t)), txid[:]) }

// IntelRange bounds the records describing a time in [from, to].
func IntelRange(from, to int64) (lo, hi []byte) {
	return key(TabIntel, u64(TimeKey(from))), key(TabIntel, u64(TimeKey(to)+1))
}

func init() { StateTables = append(StateTables, TabIntel) }
