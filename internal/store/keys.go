package store

import "encoding/binary"

// Key layout. One leading byte names the table; integers are big-endian so
// that byte order is numeric order; times are Unix seconds with the sign bit
// flipped so that negative times sort first.
//
//	h height                   -> block header            (chain)
//	x height idx               -> transaction bytes, signers by number (chain; txform.go)
//	@ 1 number                 -> signer's key            (chain, node-local numbering)
//	m name                     -> chain metadata: head, genesis
//	t txid                     -> height idx              (state: replay, proofs)
//	s siteID                   -> site record             (state)
//	n siteNum                  -> siteID                  (state)
//	d siteNum                  -> longest presence, secs  (state)
//	a alias                    -> person                  (state)
//	p person time txid[:8]     -> presence                (state: trajectories)
//	i siteNum time txid[:8]    -> site presence           (state: contacts)
//	c person reported txid[:8] -> case                    (state)
//	C reported txid[:8]        -> person                  (state: case list)
//	g name                     -> counters                (state)
//	u topic 0 time txid[:8]    -> publication payload     (state)
//	k scheme 0 period txid[:8] -> commitment root, count  (state)
//	w windowEnd person         -> pending window marker   (state: validation)
//	T person                   -> person chain head, settled tail, moves (state)
//	B person seq               -> person block            (state: double chain)
//	l siteNum                  -> site chain head         (state: double chain)
//	L siteNum seq              -> site chain entry: txid  (state: double chain; hashed with its link)
//	D person windowEnd         -> validation decision     (state)
//	r txid                     -> decision key of a rejected record (state)
//	X correction id            -> correction              (state)
//	H target txid correction   -> correction history      (state)
//	o key                      -> role and name           (state: access)
//	A time txid[:8]            -> audit record (its tx)   (state: access)
//	v person                   -> sealed identity         (vault, not state)
//
// The chain tables are written by the engine; the state tables only by the
// state machine, whose writes are hashed into the state hash; the vault is
// node-local and never leaves the node.
const (
	TabHeader   = 'h'
	TabTx       = 'x'
	TabMeta     = 'm'
	TabTxIndex  = 't'
	TabSite     = 's'
	TabSiteNum  = 'n'
	TabSiteDur  = 'd'
	TabAlias    = 'a'
	TabPerson   = 'p'
	TabSiteIdx  = 'i'
	TabCase     = 'c'
	TabCaseList = 'C'
	TabCounter  = 'g'
	TabVault    = 'v'
	// TabReplay ('R', node-local) is in local.go: signatures of signed
	// API requests, by minute of their signed time. So is TabVaultLog
	// ('V', node-local): which key had the node seal which ids.
	TabPublish  = 'u'
	TabCommit   = 'k'
	TabPending  = 'w'
	TabPVal     = 'T'
	TabPBlock   = 'B'
	TabSHead    = 'l'
	TabSChain   = 'L'
	TabDecision = 'D'
	TabRejected = 'r'
	TabCorr     = 'X'
	TabCorrHist = 'H'
)

// TimeKey encodes a Unix time so that byte order is time order.
func TimeKey(t int64) uint64 { return uint64(t) ^ (1 << 63) }

// TimeFromKey reverses TimeKey.
func TimeFromKey(u uint64) int64 { return int64(u ^ (1 << 63)) }

func key(tab byte, parts ...[]byte) []byte {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 1, n)
	k[0] = tab
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// HeaderKey is the key of the header at height.
func HeaderKey(height uint64) []byte { return key(TabHeader, u64(height)) }

// TxKey is the key of transaction idx of the block at height.
func TxKey(height uint64, idx uint32) []byte { return key(TabTx, u64(height), u32(idx)) }

// TxPrefix bounds the transactions of one block.
func TxPrefix(height uint64) (lo, hi []byte) {
	return key(TabTx, u64(height)), key(TabTx, u64(height+1))
}

// MetaKey names chain metadata.
func MetaKey(name string) []byte { return key(TabMeta, []byte(name)) }

// TxIndexKey maps a tx id to its place on the chain.
func TxIndexKey(id [32]byte) []byte { return key(TabTxIndex, id[:]) }

// SiteKey maps a site id to its record.
func SiteKey(site string) []byte { return key(TabSite, []byte(site)) }

// SiteNumKey maps a site number to its id.
func SiteNumKey(num uint32) []byte { return key(TabSiteNum, u32(num)) }

// SiteDurKey holds the longest presence recorded at a site.
func SiteDurKey(num uint32) []byte { return key(TabSiteDur, u32(num)) }

// AliasKey maps an alias pseudonym to its person.
func AliasKey(alias [32]byte) []byte { return key(TabAlias, alias[:]) }

// PersonKey indexes a person's record by time.
func PersonKey(person [32]byte, t int64, txid [32]byte) []byte {
	return key(TabPerson, person[:], u64(TimeKey(t)), txid[:8])
}

// PersonRange bounds a person's records with time in [from, to].
func PersonRange(person [32]byte, from, to int64) (lo, hi []byte) {
	return key(TabPerson, person[:], u64(TimeKey(from))), key(TabPerson, person[:], u64(TimeKey(to)+1))
}

// PersonPrefix bounds all of a person's records (PersonKey).
func PersonPrefix(person [32]byte) (lo, hi []byte) {
	lo = key(TabPerson, person[:])
	return lo, PrefixEnd(lo)
}

// PersonKeyLen is the length of a PersonKey or EncounterKey.
const PersonKeyLen = 1 + 32 + 8 + 8

// KeyTime is the time of a PersonKey or EncounterKey (of PersonKeyLen).
func KeyTime(k []byte) int64 { return int64(binary.BigEndian.Uint64(k[33:41]) ^ (1 << 63)) }

// SiteIdxKey indexes a presence at a site by time.
func SiteIdxKey(num uint32, t int64, txid [32]byte) []byte {
	return key(TabSiteIdx, u32(num), u64(TimeKey(t)), txid[:8])
}

// SiteIdxRange bounds presences at a site with time in [from, to].
func SiteIdxRange(num uint32, from, to int64) (lo, hi []byte) {
	return key(TabSiteIdx, u32(num), u64(TimeKey(from))), key(TabSiteIdx, u32(num), u64(TimeKey(to)+1))
}

// CaseKey indexes a person's case reports.
func CaseKey(person [32]byte, reported int64, txid [32]byte) []byte {
	return key(TabCase, person[:], u64(TimeKey(reported)), txid[:8])
}

// CasePrefix bounds a person's case reports.
func CasePrefix(person [32]byte) (lo, hi []byte) {
	lo = key(TabCase, person[:])
	return lo, PrefixEnd(lo)
}

// CaseListKey lists all case reports by time.
func CaseListKey(reported int64, txid [32]byte) []byte {
	return key(TabCaseList, u64(TimeKey(reported)), txid[:8])
}

// CounterKey names a counter.
func CounterKey(name string) []byte { return key(TabCounter, []byte(name)) }

// VaultKey is the sealed raw identity of a person.
func VaultKey(person [32]byte) []byte { return key(TabVault, person[:]) }

// TablePrefix bounds a whole table.
func TablePrefix(tab byte) (lo, hi []byte) { return []byte{tab}, []byte{tab + 1} }

// PrefixEnd is the smallest key after every key with prefix p.
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// PublishKey indexes a publication by topic and block time.
func PublishKey(topic string, t int64, txid [32]byte) []byte {
	return key(TabPublish, []byte(topic), []byte{0}, u64(TimeKey(t)), txid[:8])
}

// PublishRange bounds a topic's publications.
func PublishRange(topic string) (lo, hi []byte) {
	lo = key(TabPublish, []byte(topic), []byte{0})
	return lo, PrefixEnd(lo)
}

// CommitKey indexes a commitment root by scheme and period.
func CommitKey(scheme string, period int64, txid [32]byte) []byte {
	return key(TabCommit, []byte(scheme), []byte{0}, u64(TimeKey(period)), txid[:8])
}

// CommitRange bounds a scheme's commitment roots for periods in [from, to].
func CommitRange(scheme string, from, to int64) (lo, hi []byte) {
	return key(TabCommit, []byte(scheme), []byte{0}, u64(TimeKey(from))), key(TabCommit, []byte(scheme), []byte{0}, u64(TimeKey(to)+1))
}

// PendingKey marks a person's window as holding undecided records: the
// form of stores written before the window log (TabWinLog). Such markers
// are still read and closed; no new ones are written.
func PendingKey(windowEnd int64, person [32]byte) []byte {
	return key(TabPending, u64(TimeKey(windowEnd)), person[:])
}

// TabWinLog is the window log: per block, the validation windows that
// block opened (a person's first record in a window), so that the open
// windows can be rebuilt at start-up without a marker per person and
// window:
//
//	W height -> (window end, person)*, sorted
//
// An entry is deleted once every window it names has closed.
const TabWinLog = 'W'

// WinLogKey is the window log entry of the block at height.
func WinLogKey(height uint64) []byte { return key(TabWinLog, u64(height)) }

// PersonBlockKey is person block seq of a person.
func PersonBlockKey(person [32]byte, seq uint64) []byte { return key(TabPBlock, person[:], u64(seq)) }

// PersonBlockPrefix bounds a person's blocks.
func PersonBlockPrefix(person [32]byte) (lo, hi []byte) {
	lo = key(TabPBlock, person[:])
	return lo, PrefixEnd(lo)
}

// SiteHeadKey is the head of a site's chain.
func SiteHeadKey(num uint32) []byte { return key(TabSHead, u32(num)) }

// SiteChainKey is entry seq of a site's chain.
func SiteChainKey(num uint32, seq uint64) []byte { return key(TabSChain, u32(num), u64(seq)) }

// SiteChainPrefix bounds a site's chain.
func SiteChainPrefix(num uint32) (lo, hi []byte) {
	lo = key(TabSChain, u32(num))
	return lo, PrefixEnd(lo)
}

// DecisionKey is the validation decision of a person's window.
func DecisionKey(person [32]byte, windowEnd int64) []byte {
	return key(TabDecision, person[:], u64(TimeKey(windowEnd)))
}

// DecisionRange bounds a person's decisions for windows ending in [from, to].
func DecisionRange(person [32]byte, from, to int64) (lo, hi []byte) {
	return key(TabDecision, person[:], u64(TimeKey(from))), key(TabDecision, person[:], u64(TimeKey(to)+1))
}

// RejectedKey points from a rejected record to its decision.
func RejectedKey(txid [32]byte) []byte { return key(TabRejected, txid[:]) }

// CorrectionKey is a correction by its transaction id.
func CorrectionKey(id [32]byte) []byte { return key(TabCorr, id[:]) }

// CorrectionHistKey lists a record's corrections.
func CorrectionHistKey(target, corr [32]byte) []byte { return key(TabCorrHist, target[:], corr[:]) }

// CorrectionHistPrefix bounds a record's corrections.
func CorrectionHistPrefix(target [32]byte) (lo, hi []byte) {
	lo = key(TabCorrHist, target[:])
	return lo, PrefixEnd(lo)
}

// PersonValKey is a person's validation state: the person chain's head,
// the settled chain's tail and the span of their movements.
func PersonValKey(person [32]byte) []byte { return key(TabPVal, person[:]) }

// StateTables are the tables the state machine writes (every one that the
// state hash covers); replaying the blocks into an empty store must
// reproduce them byte for byte.
var StateTables = []byte{TabTxIndex, TabSite, TabSiteNum, TabSiteDur, TabAlias, TabPerson, TabSiteIdx, TabCase,
	TabCaseList, TabCounter, TabPublish, TabCommit, TabPending, TabPVal, TabPBlock, TabSHead, TabSChain,
	TabDecision, TabRejected, TabCorr, TabCorrHist, TabEncounter, TabWinLog}

// TabEncounter indexes proximity encounters by person (issue 4):
//
//	e person start txid[:8]    -> encounter, with the other person (state)
//
// Each encounter is indexed under both of its persons.
const TabEncounter = 'e'

// EncounterKey indexes an encounter of a person by its start time.
func EncounterKey(person [32]byte, start int64, txid [32]byte) []byte {
	return key(TabEncounter, person[:], u64(TimeKey(start)), txid[:8])
}

// EncounterPrefix bounds all of a person's encounters.
func EncounterPrefix(person [32]byte) (lo, hi []byte) {
	lo = key(TabEncounter, person[:])
	return lo, PrefixEnd(lo)
}

// EncounterRange bounds a person's encounters starting in [from, to].
func EncounterRange(person [32]byte, from, to int64) (lo, hi []byte) {
	return key(TabEncounter, person[:], u64(TimeKey(from))), key(TabEncounter, person[:], u64(TimeKey(to)+1))
}

// Access tables.
const (
	TabRole  = 'o'
	TabAudit = 'A'
)

// RoleKey is the role granted to a key.
func RoleKey(k [32]byte) []byte { return key(TabRole, k[:]) }

// AuditKey indexes an audit record by block time.
func AuditKey(t int64, txid [32]byte) []byte { return key(TabAudit, u64(TimeKey(t)), txid[:8]) }

// AuditRange bounds audit records with block time in [from, to].
func AuditRange(from, to int64) (lo, hi []byte) {
	return key(TabAudit, u64(TimeKey(from))), key(TabAudit, u64(TimeKey(to)+1))
}

func init() { StateTables = append(StateTables, TabRole, TabAudit) }
