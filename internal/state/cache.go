package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/epiledger/epiledger/internal/detect"
	"github.com/epiledger/epiledger/internal/feasibility"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// The machine keeps in memory what the write path reads for nearly every
// record, so that applying a block reads the store only when it must. The
// caches hold committed values only (a block's own writes live in its
// overlays until Committed merges them), and a miss falls back to the
// store, so they change speed, never results.

// txFilter is a Bloom filter over the ids of committed transactions: the
// replay check asks it first and reads the store only on "maybe". Tx ids
// are SHA-256 outputs, so their bytes are the hash values.
type txFilter struct {
	bits  []uint64
	n, k  int
	count int
}

func newTxFilter(capacity int) *txFilter {
	m := max(capacity*10, 1<<16) // ~1% false positives with k = 7
	return &txFilter{bits: make([]uint64, (m+63)/64), n: m, k: 7}
}

func (f *txFilter) idx(id *ledger.Hash, i int) int {
	h1 := binary.LittleEndian.Uint64(id[0:8])
	h2 := binary.LittleEndian.Uint64(id[8:16]) | 1
	return int((h1 + uint64(i)*h2) % uint64(f.n))
}

func (f *txFilter) add(id *ledger.Hash) {
	for i := 0; i < f.k; i++ {
		j := f.idx(id, i)
		f.bits[j/64] |= 1 << (j % 64)
	}
	f.count++
}

func (f *txFilter) mayContain(id *ledger.Hash) bool {
	for i := 0; i < f.k; i++ {
		j := f.idx(id, i)
		if f.bits[j/64]&(1<<(j%64)) == 0 {
			return false
		}
	}
	return true
}

// full reports whether the filter holds more than it was sized for.
func (f *txFilter) full() bool { return f.count*10 > f.n }

// maxCached bounds each cache; past it the cache starts over (a miss only
// costs a read).
const maxCached = 1 << 21

// caches are the machine's committed-state caches. Only the goroutine that
// applies blocks uses them.
type caches struct {
	mu     sync.Mutex
	filter *txFilter
	// buckets are committed daily counts (report cards), by key: the
	// warning rules read a district's last days for every card. past and
	// bounds are what blocks read of days before their own (the rules'
	// series, EARS C1/C2 bounds): valid until a block counts a card on a
	// day before its own (pastChanged), which drops them all.
	buckets map[string]DayCount
	// bucketsFrom, if not 0, is a day from which buckets holds every
	// bucket there is (a miss is an empty bucket, not a read): two days
	// after the first block this process committed (or after the cache
	// last started over), as no chain counts a day after tomorrow.
	bucketsFrom uint32
	// alerts are committed alerts, by id, as blocks wrote them: a
	// district's alert gathers cards block after block.
	alerts map[ledger.Hash]Alert
	past   map[seriesKey][]uint32
	bounds map[boundKey]detect.Value
	least  map[boundKey]uint32 // leastAlarm's, valid as past is
	vals   map[ledger.Pseudonym]personVal
	// open is the set of open validation windows, exactly: rebuilt from
	// the window log at the first block (loadOpenWindows), then kept by
	// merge. Which windows are open is state (the decisions and the
	// window log depend on it, as the state hash requires). Windows this
	// process opened also hold their records, so that closing them need
	// not read the records back (see windowRecords).
	open map[winKey]openWindow
	// minEnd is at most the least window end in open (a lower bound: it
	// is exact after each close), so that a block with nothing to close
	// does not look through open.
	minEnd int64
	// logs are the live window-log entries: block height -> the latest
	// window end the entry names. An entry goes once that window closed.
	logs map[uint64]int64
	// noWin are the persons a correction touched: a correction rewrites
	// records in place, so their windows are always read from the store.
	noWin map[ledger.Pseudonym]bool
	// valsComplete says vals holds every person's stored validation state
	// (loaded whole, kept by merge): a miss is then an empty state. It
	// turns false for good if vals ever fills (misses then read).
	valsComplete, valsLoaded bool
	aliases                  map[ledger.Pseudonym]ledger.Pseudonym
	dur                      map[uint32]int64
}

// loadFilter builds the tx filter from the store (once, or when it fills).
func (m *Machine) loadFilter(r store.Reader) error {
	if m.c.filter != nil && !m.c.filter.full() {
		return nil
	}
	lo, hi := store.TablePrefix(store.TabTxIndex)
	var ids []ledger.Hash
	if err := r.Scan(lo, hi, func(k, _ []byte) bool {
		ids = append(ids, ledger.Hash(k[1:33]))
		return true
	}); err != nil {
		return err
	}
	f := newTxFilter(2*len(ids) + 1<<20)
	for i := range ids {
		f.add(&ids[i])
	}
	m.c.filter = f
	return nil
}

func resetIfFull[K comparable, V any](mp map[K]V) map[K]V {
	if len(mp) >= maxCached {
		return map[K]V{}
	}
	return mp
}

// resetValsIfFull starts the validation-state cache over when it is full;
// it no longer holds every person then, so misses read the store. The
// caller holds c.mu.
func (c *caches) resetValsIfFull() {
	if len(c.vals) >= maxCached {
		c.vals, c.valsComplete = map[ledger.Pseudonym]personVal{}, false
	}
}

// merge makes a committed block's values visible to the caches.
func (m *Machine) merge(blk *Block) {
	c := &m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range blk.txids {
		c.filter.add(&blk.txids[i])
	}
	c.resetValsIfFull()
	for p, v := range blk.vals {
		c.vals[p] = v
	}
	c.dur = resetIfFull(c.dur)
	for n, d := range blk.dur {
		c.dur[n] = d
	}
	if c.buckets = resetIfFull(c.buckets); c.buckets == nil || len(c.buckets) == 0 {
		c.buckets, c.bucketsFrom = map[string]DayCount{}, DayOf(blk.now)+2
	}
	for k, d := range blk.buckets {
		c.buckets[k] = d
	}
	if c.alerts = resetIfFull(c.alerts); c.alerts == nil {
		c.alerts = map[ledger.Hash]Alert{}
	}
	for id, a := range blk.alerts {
		c.alerts[id] = *a
	}
	if blk.pastChanged || c.past == nil {
		c.past, c.bounds, c.least = map[seriesKey][]uint32{}, map[boundKey]detect.Value{}, map[boundKey]uint32{}
	}
	c.past, c.bounds, c.least = resetIfFull(c.past), resetIfFull(c.bounds), resetIfFull(c.least)
	for k, v := range blk.past {
		c.past[k] = v
	}
	for k, v := range blk.bounds {
		c.bounds[k] = v
	}
	for k, v := range blk.least {
		c.least[k] = v
	}
	for k, w := range blk.open {
		c.open[k] = w
	}
	for _, k := range blk.closed {
		delete(c.open, k)
	}
	if blk.closedAll {
		c.minEnd = blk.nextMinEnd
	}
	for _, k := range blk.opened {
		c.minEnd = min(c.minEnd, k.end)
	}
	for _, h := range blk.logsDone {
		delete(c.logs, h)
	}
	if len(blk.opened) > 0 {
		c.logs[blk.height] = blk.logEnd
	}
	if len(blk.noWin) > 0 {
		for p := range blk.noWin {
			c.noWin[p] = true
		}
		for k, w := range c.open {
			if w.cached && blk.noWin[k.person] {
				c.open[k] = openWindow{}
			}
		}
	}
}

// loadOpenWindows rebuilds the open windows from the store, once: the windows
// the window log names that end after closedUntil (every window ending at
// or before it was closed by then), and the per-window markers of stores
// written before the log.
func (m *Machine) loadOpenWindows(r store.Reader, closedUntil int64) error {
	if m.c.open != nil {
		return nil
	}
	open := map[winKey]openWindow{}
	logs := map[uint64]int64{}
	minEnd := int64(maxTime)
	var bad error
	lo, hi := store.TablePrefix(store.TabPending)
	if err := r.Scan(lo, hi, func(k, _ []byte) bool {
		wk, ok := parseWinKey(k)
		if !ok {
			bad = fmt.Errorf("%w: pending marker", store.ErrCorrupt)
			return false
		}
		open[wk] = openWindow{legacy: true}
		minEnd = min(minEnd, wk.end)
		return true
	}); err != nil {
		return err
	}
	lo, hi = store.TablePrefix(store.TabWinLog)
	if err := r.Scan(lo, hi, func(k, v []byte) bool {
		if len(k) != 1+8 || len(v) == 0 || len(v)%(8+32) != 0 {
			bad = fmt.Errorf("%w: window log entry", store.ErrCorrupt)
			return false
		}
		var last int64
		for ; len(v) > 0; v = v[40:] {
			wk := winKey{end: int64(binary.BigEndian.Uint64(v))}
			copy(wk.person[:], v[8:40])
			last = max(last, wk.end)
			if wk.end > closedUntil {
				open[wk] = openWindow{}
				minEnd = min(minEnd, wk.end)
			}
		}
		logs[binary.BigEndian.Uint64(k[1:])] = last
		return true
	}); err != nil {
		return err
	}
	if bad != nil {
		return bad
	}
	m.c.open, m.c.logs, m.c.minEnd = open, logs, minEnd
	m.c.noWin = map[ledger.Pseudonym]bool{}
	return nil
}

// encodeWinLog is a window log entry: the windows, sorted.
func encodeWinLog(ks []winKey) []byte {
	slices.SortFunc(ks, cmpWinKey)
	b := make([]byte, 0, len(ks)*40)
	for _, k := range ks {
		b = binary.BigEndian.AppendUint64(b, uint64(k.end))
		b = append(b, k.person[:]...)
	}
	return b
}

func cmpWinKey(a, b winKey) int {
	if a.end != b.end {
		return cmp.Compare(a.end, b.end)
	}
	return bytes.Compare(a.person[:], b.person[:])
}

// PendingWindows is the number of person windows open (not yet decided)
// in the committed state.
func (m *Machine) PendingWindows() int {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	return len(m.c.open)
}

// Pending reports whether the committed state holds the window of person
// p ending at end open (records not yet decided).
func (m *Machine) Pending(end int64, p ledger.Pseudonym) bool {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	_, ok := m.c.open[winKey{end: end, person: p}]
	return ok
}

// loadVals fills the validation-state cache from the store, once, so that
// a person met for the first time costs no read.
func (m *Machine) loadVals(r store.Reader) error {
	if m.c.valsLoaded {
		return nil
	}
	m.c.valsLoaded = true
	lo, hi := store.TablePrefix(store.TabPVal)
	vals := map[ledger.Pseudonym]personVal{}
	var derr error
	if err := r.Scan(lo, hi, func(k, v []byte) bool {
		if len(k) != 1+32 {
			derr = fmt.Errorf("%w: validation state key", store.ErrCorrupt)
			return false
		}
		var h personVal
		if h, derr = decodePersonVal(v); derr != nil {
			return false
		}
		vals[ledger.Pseudonym(k[1:])] = h
		return len(vals) < maxCached
	}); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	m.c.vals = vals
	m.c.valsComplete = len(vals) < maxCached
	return nil
}

// winKey names a person's validation window by its end.
type winKey struct {
	end    int64
	person ledger.Pseudonym
}

func (k winKey) storeKey() []byte { return store.PendingKey(k.end, k.person) }

func parseWinKey(k []byte) (winKey, bool) {
	if len(k) != 1+8+32 || k[0] != store.TabPending {
		return winKey{}, false
	}
	wk := winKey{end: store.TimeFromKey(binary.BigEndian.Uint64(k[1:9]))}
	copy(wk.person[:], k[9:])
	return wk, true
}

// openWindow is a pending window in memory. When cached, recs are all
// its visible records: the entry started with the record that opened the
// window, and every later record of the window joined it.
type openWindow struct {
	recs   []winRec
	cached bool
	// legacy says the window has a per-window marker in the store (written
	// before the window log), which its close deletes.
	legacy bool
}

// winRec is a record of an open window and what validation sees of it.
type winRec struct {
	pr  Presence
	rec feasibility.Rec
}

// maxCachedWindows bounds the windows that hold their records; past it
// new windows are read back from the store when they close.
const maxCachedWindows = 1 << 20

// committedWindow returns the committed window k, if it is open.
func (m *Machine) committedWindow(k winKey) (openWindow, bool) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	w, ok := m.c.open[k]
	return w, ok
}

// mayCacheWindow reports whether a new window of p may hold its records
// when the block already opened n.
func (m *Machine) mayCacheWindow(p ledger.Pseudonym, n int) bool {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	return !m.c.noWin[p] && len(m.c.open)+n < maxCachedWindows
}

// openWindow returns window k as the block sees it, if it is open.
func (blk *Block) openWindow(k winKey) (openWindow, bool) {
	if w, ok := blk.open[k]; ok {
		return w, true
	}
	return blk.m.committedWindow(k)
}

// windowRecords returns the records of window k when the cache holds
// them; ok is false when the store must be read instead.
func (blk *Block) windowRecords(k winKey) ([]winRec, bool) {
	w, ok := blk.openWindow(k)
	if !ok || !w.cached || blk.noWin[k.person] {
		return nil, false
	}
	return w.recs, true
}

func (m *Machine) cachedAlias(a ledger.Pseudonym) (ledger.Pseudonym, bool) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	p, ok := m.c.aliases[a]
	return p, ok
}

// cacheAlias remembers a committed alias binding. Bindings never change
// person (a rebinding to another is refused), so a cached one stays right.
func (m *Machine) cacheAlias(a, p ledger.Pseudonym) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	m.c.aliases = resetIfFull(m.c.aliases)
	m.c.aliases[a] = p
}
